package io.tsmigrate.it;

import io.tsmigrate.core.TsmigrateException;
import io.tsmigrate.core.backfill.Backfill;
import io.tsmigrate.core.backfill.BackfillListener;
import io.tsmigrate.core.backfill.BackfillOptions;
import io.tsmigrate.core.backfill.BackfillResult;
import io.tsmigrate.core.catalog.TableRef;
import io.tsmigrate.core.connect.ConnectionSpec;
import io.tsmigrate.servers.Await;
import io.tsmigrate.it.kit.PgServersExtension;
import io.tsmigrate.it.kit.TestDatabases;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

import static io.tsmigrate.it.Fixtures.assertRangesIdentical;
import static io.tsmigrate.it.Fixtures.checksum;
import static io.tsmigrate.it.kit.TestDatabases.queryLong;
import static io.tsmigrate.it.kit.TestDatabases.rows;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** {@code tsmigrate backfill}: what lands on the target, exactly once, for each kind of table. */
@ExtendWith(PgServersExtension.class)
class BackfillIT {

    static final String T = "2026-11-11 00:00:00+00";

    @BeforeAll
    static void createSource(TestDatabases db) {
        db.source(
                "CREATE TYPE mood AS ENUM ('calm', 'busy')",
                "CREATE TABLE metrics (time timestamptz NOT NULL, device_id int, cpu float8, note text)",
                "INSERT INTO metrics SELECT timestamptz '2026-11-01' + g * interval '10 seconds', g % 50, g / 7.0, "
                        + "CASE WHEN g % 10 = 0 THEN NULL ELSE 'n' || g END FROM generate_series(0, 100000) g",
                // Rows exactly on day boundaries (range bounds) and exactly at T.
                "INSERT INTO metrics VALUES ('2026-11-05 00:00:00+00', -1, 0, 'bound'), ('" + T + "', -2, 0, 'at T'), "
                        + "('2026-11-10 23:59:59.999999+00', -3, 0, 'just before T')",
                "CREATE INDEX ON metrics (time)",
                "CREATE TABLE ticks (ts_ms bigint NOT NULL, symbol text, price numeric(12,4), mood mood)",
                "INSERT INTO ticks SELECT 1762000000000 + g * 1000, 's' || (g % 7), g / 3.0, "
                        + "CASE WHEN g % 2 = 0 THEN 'calm'::mood ELSE 'busy'::mood END FROM generate_series(0, 20000) g",
                "CREATE TABLE events (time timestamptz NOT NULL, kind text, doubled int GENERATED ALWAYS AS (length(kind) * 2) STORED) "
                        + "PARTITION BY RANGE (time)",
                "CREATE TABLE events_a PARTITION OF events FOR VALUES FROM ('2026-01-01') TO ('2026-11-06')",
                "CREATE TABLE events_b PARTITION OF events FOR VALUES FROM ('2026-11-06') TO ('2027-01-01')",
                "INSERT INTO events (time, kind) SELECT timestamptz '2026-11-01' + g * interval '1 minute', 'k' || (g % 13) "
                        + "FROM generate_series(0, 20000) g",
                "CREATE TABLE trig (time timestamptz NOT NULL, v int)",
                "INSERT INTO trig SELECT timestamptz '2026-11-01' + g * interval '1 minute', g FROM generate_series(0, 5000) g",
                "ANALYZE");
    }

    private static BackfillOptions options(String until, String... tables) {
        return BackfillOptions.builder().until(until).tables(List.of(tables).stream().map(TableRef::parse).toList())
                .maxRangeRows(20_000).workerName("test").build();
    }

    static BackfillResult backfill(ConnectionSpec source, ConnectionSpec target, BackfillOptions options) {
        return Backfill.run(source, target, options, BackfillListener.NONE, new AtomicBoolean());
    }

    @Test
    void copiesEveryRowBeforeTExactlyOnceAndNothingFromT(TestDatabases db) {
        ConnectionSpec target = db.newTargetDatabase("bf_basic", true);
        Fixtures.migrateSchema(db.source(), target, "1 day", "metrics");
        BackfillResult r = backfill(db.source(), target, options(T, "metrics"));
        assertThat(r.complete()).isTrue();
        assertThat(r.tables().get(0).format()).isEqualTo("binary");
        long expected = queryLong(db.source(), "SELECT count(*) FROM metrics WHERE time < '" + T + "'");
        assertThat(r.rows()).isEqualTo(expected);
        assertThat(queryLong(target, "SELECT count(*) FROM metrics")).isEqualTo(expected);
        assertThat(checksum(target, "metrics", "true")).isEqualTo(checksum(db.source(), "metrics", "time < '" + T + "'"));
        assertThat(queryLong(target, "SELECT count(*) FROM metrics WHERE note IN ('bound', 'just before T')")).isEqualTo(2);
        assertThat(queryLong(target, "SELECT count(*) FROM metrics WHERE note = 'at T'")).isZero();
        // Ranges follow the chunks (one day) and are split under the row budget (20,000 rows).
        int ranges = assertRangesIdentical(db.source(), target, "metrics", "time", "timestamptz");
        assertThat(ranges).isGreaterThanOrEqualTo(10);
        assertThat(queryLong(target, "SELECT max(estimated_rows) FROM tsmigrate.backfill_range")).isLessThanOrEqualTo(20_000);
        assertThat(rows(target, "SELECT range_start FROM tsmigrate.backfill_range ORDER BY seq LIMIT 1"))
                .containsExactly(List.of("-infinity"));

        // A second run finds nothing left to do.
        BackfillResult again = backfill(db.source(), target, options(T, "metrics"));
        assertThat(again.complete()).isTrue();
        assertThat(again.rows()).isZero();
        assertThat(queryLong(target, "SELECT count(*) FROM metrics")).isEqualTo(expected);
    }

    @Test
    void replacesDualWrittenRowsWithoutDuplicatesAndKeepsRowsFromT(TestDatabases db) {
        ConnectionSpec target = db.newTargetDatabase("bf_dualwritten", true);
        Fixtures.migrateSchema(db.source(), target, "1 day", "metrics");
        // Dual-writing already put these in: one row also on the source (inside a range), one row the
        // source no longer has (deleted there after being dual-written), and rows at and after T.
        TestDatabases.execute(target,
                "INSERT INTO metrics SELECT * FROM (VALUES (timestamptz '2026-11-03 00:00:10+00', 1, 0.0::float8, 'stale copy')) v",
                "INSERT INTO metrics VALUES ('2026-11-04 12:00:00+00', 999, 1, 'gone from source')",
                "INSERT INTO metrics VALUES ('" + T + "', -2, 0, 'at T'), ('2026-11-12 00:00:00+00', 7, 7, 'after T')");
        BackfillResult r = backfill(db.source(), target, options(T, "metrics"));
        assertThat(r.complete()).isTrue();
        assertThat(checksum(target, "metrics", "time < '" + T + "'")).isEqualTo(checksum(db.source(), "metrics", "time < '" + T + "'"));
        assertThat(queryLong(target, "SELECT count(*) FROM metrics WHERE note = 'gone from source'")).isZero();
        assertThat(queryLong(target, "SELECT count(*) FROM metrics WHERE time >= '" + T + "'")).isEqualTo(2);
    }

    @Test
    void copiesIntegerTimeInItsOwnUnitsAndFallsBackToTextForUserTypes(TestDatabases db) {
        ConnectionSpec target = db.newTargetDatabase("bf_integer", true);
        Fixtures.migrateSchema(db.source(), target, "3600000", "ticks");
        BackfillResult r = backfill(db.source(), target, options("1762010000000", "ticks"));
        assertThat(r.complete()).isTrue();
        assertThat(r.tables().get(0).format()).isEqualTo("text");
        assertThat(checksum(target, "ticks", "true")).isEqualTo(checksum(db.source(), "ticks", "ts_ms < 1762010000000"));
        assertRangesIdentical(db.source(), target, "ticks", "ts_ms", "bigint");
        List<List<String>> bounds = rows(target, "SELECT range_start, range_end FROM tsmigrate.backfill_range ORDER BY seq");
        assertThat(bounds.get(0).get(0)).isEqualTo(Long.toString(Long.MIN_VALUE));
        assertThat(bounds.get(1).get(0)).isEqualTo("1762002000000"); // the first chunk boundary: a multiple of 3,600,000
        assertThat(bounds.get(bounds.size() - 1).get(1)).isEqualTo("1762010000000");
    }

    @Test
    void backfillsAPartitionedTableIntoOneHypertableAndLetsTheTargetComputeGeneratedColumns(TestDatabases db) {
        ConnectionSpec target = db.newTargetDatabase("bf_partitioned", true);
        Fixtures.migrateSchema(db.source(), target, "1 day", "events");
        assertThat(backfill(db.source(), target, options(T, "events")).complete()).isTrue();
        assertThat(checksum(target, "events", "true")).isEqualTo(checksum(db.source(), "events", "time < '" + T + "'"));
        assertThat(queryLong(target, "SELECT count(*) FROM events WHERE doubled <> length(kind) * 2")).isZero();
    }

    @Test
    void keepsTargetTriggersFromFiringForBackfilledRows(TestDatabases db) {
        ConnectionSpec target = db.newTargetDatabase("bf_trigger", true);
        Fixtures.migrateSchema(db.source(), target, "1 day", "trig");
        TestDatabases.execute(target,
                "CREATE FUNCTION bump() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.v := NEW.v + 1000000; RETURN NEW; END $$",
                "CREATE TRIGGER trig_bump BEFORE INSERT ON trig FOR EACH ROW EXECUTE FUNCTION bump()");
        assertThat(backfill(db.source(), target, options(T, "trig")).complete()).isTrue();
        assertThat(checksum(target, "trig", "true")).isEqualTo(checksum(db.source(), "trig", "time < '" + T + "'"));
        // Dual-writes still fire it.
        TestDatabases.execute(target, "INSERT INTO trig VALUES ('2026-11-20', 1)");
        assertThat(queryLong(target, "SELECT v FROM trig WHERE time = '2026-11-20'")).isEqualTo(1_000_001);
    }

    @Test
    void twoBackfillsOnOneMigrationDoEveryRangeOnce(TestDatabases db) throws Exception {
        ConnectionSpec target = db.newTargetDatabase("bf_two", true);
        Fixtures.migrateSchema(db.source(), target, "1 day", "metrics");
        BackfillOptions one = BackfillOptions.builder().until(T).maxRangeRows(5_000).workerName("first").build();
        BackfillOptions two = BackfillOptions.builder().until(T).maxRangeRows(5_000).workerName("second").build();
        var first = java.util.concurrent.CompletableFuture.supplyAsync(() -> backfill(db.source(), target, one));
        var second = java.util.concurrent.CompletableFuture.supplyAsync(() -> backfill(db.source(), target, two));
        BackfillResult a = first.get();
        BackfillResult b = second.get();
        assertThat(a.complete()).isTrue();
        assertThat(b.complete()).isTrue();
        long expected = queryLong(db.source(), "SELECT count(*) FROM metrics WHERE time < '" + T + "'");
        assertThat(a.rows() + b.rows()).isEqualTo(expected);
        assertThat(queryLong(target, "SELECT count(*) FROM metrics")).isEqualTo(expected);
        assertThat(queryLong(target, "SELECT count(*) FROM (SELECT range_id FROM tsmigrate.backfill_attempt WHERE outcome = 'done' "
                + "GROUP BY range_id HAVING count(*) > 1) x")).isZero();
        assertThat(queryLong(target, "SELECT count(DISTINCT split_part(worker, '-', 1)) FROM tsmigrate.backfill_range")).isEqualTo(2);
        assertRangesIdentical(db.source(), target, "metrics", "time", "timestamptz");
    }

    @Test
    void refusesBadInput(TestDatabases db) {
        ConnectionSpec target = db.newTargetDatabase("bf_bad", true);
        assertThatThrownBy(() -> backfill(db.source(), target, options(T, "metrics")))
                .isInstanceOf(TsmigrateException.class)
                .hasMessage("the target has no migration plan in its state; run tsmigrate schema first.");
        Fixtures.migrateSchema(db.source(), target, "1 day", "metrics");
        assertThatThrownBy(() -> backfill(db.source(), target, options("2999-01-01 00:00:00+00", "metrics")))
                .hasMessageStartingWith("T = 2999-01-01 00:00:00+00 is in the future");
        assertThatThrownBy(() -> backfill(db.source(), target, options(T, "ticks")))
                .hasMessageStartingWith("table public.ticks is not a hypertable of the plan (public.metrics)");
        assertThatThrownBy(() -> backfill(db.source(), target, options("next tuesday", "metrics")))
                .hasMessageStartingWith("--until \"next tuesday\" is not a timestamp with time zone value");
        assertThatThrownBy(() -> backfill(db.source(), target, options(null, "metrics")))
                .hasMessage("there is no completion point T for timestamptz tables such as public.metrics; compute and store "
                        + "one with tsmigrate completion-point --set, or pass --until.");
        assertThat(backfill(db.source(), target, options(T, "metrics")).complete()).isTrue();
        assertThatThrownBy(() -> backfill(db.source(), target, options("2026-11-05 00:00:00+00", "metrics")))
                .hasMessageStartingWith("the ranges of public.metrics were made up to T = " + T + ", and T 2026-11-05 00:00:00+00 is earlier");
        TestDatabases.execute(target, "DROP TABLE metrics");
        assertThatThrownBy(() -> backfill(db.source(), target, options(T, "metrics")))
                .hasMessage("table public.metrics does not exist on the target; run tsmigrate schema first.");
    }

    /**
     * --max-source-connections caps everything the backfill opens on the source (workers, planning,
     * the throttle's probe), sampled from the source's own pg_stat_activity for the whole run.
     */
    @Test
    void neverOpensMoreSourceConnectionsThanAllowed(TestDatabases db) throws Exception {
        ConnectionSpec target = db.newTargetDatabase("bf_capped", true);
        Fixtures.migrateSchema(db.source(), target, "1 day", "metrics");
        // The backfill's sessions: not this sampling query's (its closed sessions may linger for a moment).
        String others = "SELECT pid, state, left(query, 60) FROM pg_stat_activity WHERE datname = current_database() "
                + "AND backend_type = 'client backend' AND query NOT LIKE 'SELECT pid, state, left(query, 60)%'";
        // The sessions of the tests before end once their backends have seen the sockets close (a leak would wait here for good).
        Await.until("the source's sessions of earlier tests to end", () -> TestDatabases.rows(db.source(), others).isEmpty());
        long most = 0;
        String detail = "";
        try (CliProcess p = CliProcess.start(List.of("backfill", "--source", db.sourceUri(), "--target", TestDatabases.uri(target),
                "--until", T, "--workers", "4", "--max-source-connections", "2", "--max-range-rows", "5000", "--max-rate", "40000",
                "--max-load", "active-sessions=50"))) {
            while (p.isAlive()) {
                List<List<String>> now = TestDatabases.rows(db.source(), others);
                if (now.size() > most) {
                    most = now.size();
                    detail = now.toString();
                }
            }
            p.close();
            assertThat(p.exitValue()).as(p.output()).isZero();
        }
        assertThat(most).as("source connections at the busiest moment: " + detail).isEqualTo(2);
        assertThat(checksum(target, "metrics", "true")).isEqualTo(checksum(db.source(), "metrics", "time < '" + T + "'"));
    }

    @Test
    void aPermanentErrorFailsOnlyItsRangesAndExitsIncomplete(TestDatabases db) throws Exception {
        ConnectionSpec target = db.newTargetDatabase("bf_permanent", true);
        Fixtures.migrateSchema(db.source(), target, "1 day", "metrics");
        // Rows of 2026-11-03 break a rule the target has and the source has not: those ranges fail for good.
        TestDatabases.execute(target, "ALTER TABLE metrics ADD CONSTRAINT no_third CHECK (time < '2026-11-03' OR time >= '2026-11-04')");
        Cli.Result r = Cli.run("backfill", "--source", db.sourceUri(), "--target", TestDatabases.uri(target), "--until", T,
                "--max-range-rows", "1000000", "--max-attempts", "2");
        assertThat(r.exitCode()).as(r.toString()).isEqualTo(6);
        assertThat(r.out()).as(String.valueOf(rows(target, "SELECT range_id, worker, outcome, sqlstate, error FROM tsmigrate.backfill_attempt "
                + "WHERE outcome <> 'done' ORDER BY id"))).containsPattern("public.metrics +\\d+/\\d+ ranges done, 1 failed")
                .contains("failed: public.metrics [2026-11-03 00:00:00+00, 2026-11-04 00:00:00+00): new row for relation")
                .contains("(SQLSTATE 23514) after 1 attempt(s)");
        assertThat(r.err()).contains("tsmigrate: the backfill is incomplete: 1 range(s) failed; re-run tsmigrate backfill to retry them.");
        assertThat(queryLong(target, "SELECT count(*) FROM metrics WHERE time >= '2026-11-03' AND time < '2026-11-04'")).isZero();
        assertThat(queryLong(target, "SELECT count(*) FROM metrics")).isPositive();

        TestDatabases.execute(target, "ALTER TABLE metrics DROP CONSTRAINT no_third");
        Cli.Result again = Cli.run("backfill", "--source", db.sourceUri(), "--target", TestDatabases.uri(target), "--until", T, "--json");
        assertThat(again.exitCode()).as(again.toString()).isZero();
        com.fasterxml.jackson.databind.JsonNode json = io.tsmigrate.core.json.Json.mapper().readTree(again.out());
        assertThat(json.get("complete").asBoolean()).isTrue();
        assertThat(json.at("/tables/0/ranges_failed").asInt()).isZero();
        assertThat(json.get("rows").asLong())
                .isEqualTo(queryLong(db.source(), "SELECT count(*) FROM metrics WHERE time >= '2026-11-03' AND time < '2026-11-04'"));
        assertThat(again.err()).containsPattern("^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ backfill: 1 table\\(s\\), 1 ranges");
        assertThat(checksum(target, "metrics", "true")).isEqualTo(checksum(db.source(), "metrics", "time < '" + T + "'"));
    }

    @Test
    void movingTLaterAddsOnlyTheNewRanges(TestDatabases db) {
        ConnectionSpec target = db.newTargetDatabase("bf_later", true);
        Fixtures.migrateSchema(db.source(), target, "1 day", "metrics");
        assertThat(backfill(db.source(), target, options("2026-11-06 00:00:00+00", "metrics")).complete()).isTrue();
        long before = queryLong(target, "SELECT count(*) FROM tsmigrate.backfill_range");
        BackfillResult later = backfill(db.source(), target, options(T, "metrics"));
        assertThat(later.rows()).isEqualTo(queryLong(db.source(), "SELECT count(*) FROM metrics WHERE time >= '2026-11-06' AND time < '" + T + "'"));
        assertThat(queryLong(target, "SELECT count(*) FROM tsmigrate.backfill_range")).isGreaterThan(before);
        assertThat(checksum(target, "metrics", "true")).isEqualTo(checksum(db.source(), "metrics", "time < '" + T + "'"));
    }
}
