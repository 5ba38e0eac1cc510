package io.tsmigrate.it;

import com.fasterxml.jackson.databind.JsonNode;
import io.tsmigrate.core.backfill.BackfillOptions;
import io.tsmigrate.core.catalog.TableRef;
import io.tsmigrate.core.connect.ConnectionSpec;
import io.tsmigrate.core.json.Json;
import io.tsmigrate.core.verify.Verifier;
import io.tsmigrate.core.verify.VerifyOptions;
import io.tsmigrate.core.verify.VerifyResult;
import io.tsmigrate.it.kit.PgServersExtension;
import io.tsmigrate.it.kit.TestDatabases;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.List;
import java.util.Optional;

import static io.tsmigrate.it.kit.TestDatabases.queryLong;
import static org.assertj.core.api.Assertions.assertThat;

/** {@code tsmigrate verify} finds every kind of difference exactly, and repairs it. */
@ExtendWith(PgServersExtension.class)
class VerifyIT {

    static final String T = "2026-11-11 00:00:00+00";

    @BeforeAll
    static void createSource(TestDatabases db) {
        db.source(
                "CREATE TABLE readings (id bigint, time timestamptz NOT NULL, device_id int, v float8, label text, "
                        + "PRIMARY KEY (id, time))",
                "INSERT INTO readings SELECT g, timestamptz '2026-11-01' + g * interval '7 seconds', g % 40, g / 9.0, "
                        + "CASE WHEN g % 5 = 0 THEN NULL WHEN g % 5 = 1 THEN '' ELSE 'l' || g END FROM generate_series(1, 120000) g",
                "CREATE INDEX ON readings (time)",
                "CREATE TABLE logs (time timestamptz NOT NULL, line text, meta json)",
                "INSERT INTO logs SELECT timestamptz '2026-11-01' + g * interval '1 minute', 'line ' || g, ('{\"n\": ' || g || '}')::json "
                        + "FROM generate_series(1, 10000) g",
                "CREATE TABLE customers (id serial PRIMARY KEY, name text NOT NULL, balance numeric(12,2))",
                "INSERT INTO customers (name, balance) SELECT 'customer ' || g, g * 1.5 FROM generate_series(1, 50000) g",
                "CREATE TABLE tags (tag text, weight int)",
                "INSERT INTO tags SELECT 't' || (g % 100), g FROM generate_series(1, 1000) g",
                "ANALYZE");
    }

    private static ConnectionSpec migrated(TestDatabases db, String name) {
        ConnectionSpec target = db.newTargetDatabase(name, true);
        Fixtures.migrateSchema(db.source(), target, "1 day", "readings", "logs");
        assertThat(BackfillIT.backfill(db.source(), target, BackfillOptions.builder().until(T)
                .maxRangeRows(10_000).maxAttempts(3).workerName("verify-it").build()).complete()).isTrue();
        return target;
    }

    private static VerifyResult verify(TestDatabases db, ConnectionSpec target, boolean repair, int maxRows) {
        return Verifier.run(db.source(), target, VerifyOptions.builder().repair(repair).maxRows(maxRows).build(), line -> { });
    }

    private static VerifyResult.TableVerdict table(VerifyResult r, String name) {
        return r.tables().stream().filter(t -> t.table().equals(TableRef.parse(name))).findFirst().orElseThrow();
    }

    @Test
    void equalSidesMatchAndExitZero(TestDatabases db) throws Exception {
        ConnectionSpec target = migrated(db, "verify_equal");
        Cli.Result r = Cli.run("verify", "--source", db.sourceUri(), "--target", TestDatabases.uri(target), "--json");
        assertThat(r.exitCode()).as(r.toString()).isZero();
        JsonNode json = Json.mapper().readTree(r.out());
        assertThat(json.get("match").asBoolean()).isTrue();
        VerifyResult result = verify(db, target, false, 10);
        assertThat(table(result, "readings").verdict()).isEqualTo(VerifyResult.Verdict.MATCH);
        assertThat(table(result, "readings").method()).isEqualTo("hash_record_extended");
        assertThat(table(result, "readings").sourceRows()).isEqualTo(queryLong(db.source(), "SELECT count(*) FROM readings WHERE time < '" + T + "'"));
        // json has no hash function: the row text digest takes over.
        assertThat(table(result, "logs").method()).isEqualTo("row text");
        assertThat(table(result, "logs").verdict()).isEqualTo(VerifyResult.Verdict.MATCH);
        assertThat(table(result, "customers").verdict()).isEqualTo(VerifyResult.Verdict.MATCH);
        assertThat(table(result, "tags").verdict()).isEqualTo(VerifyResult.Verdict.MATCH);
        assertThat(queryLong(target, "SELECT count(*) FROM tsmigrate.verification_range WHERE run_id = " + result.runId()
                + " AND verdict = 'match'")).isGreaterThan(10);
    }

    @Test
    void findsEachDifferenceExactlyAndRepairsThem(TestDatabases db) {
        ConnectionSpec target = migrated(db, "verify_diff");
        TestDatabases.execute(target,
                // A row deleted (day 2), a row added (day 3), values changed in several ways (days 4 to 8).
                "DELETE FROM readings WHERE id = 30000",
                "INSERT INTO readings VALUES (999999, '2026-11-03 01:02:03+00', 1, 1, 'only on target')",
                "UPDATE readings SET label = '' WHERE id = 50000",                    // NULL -> empty string
                "UPDATE readings SET v = v + 1e-12 WHERE id = 60001",                 // float precision
                "UPDATE readings SET time = time + interval '1 microsecond', label = 'x' WHERE id = 70002", // sub-millisecond time
                "UPDATE readings SET label = E'tab\\there \"quote\" ''apostrophe'' é ✓', device_id = 7 WHERE id = 80003",
                "UPDATE customers SET balance = balance + 0.01 WHERE id = 12345",
                "DELETE FROM tags WHERE weight = 500");
        VerifyResult r = verify(db, target, false, 100);
        assertThat(r.match()).isFalse();
        VerifyResult.TableVerdict readings = table(r, "readings");
        assertThat(readings.verdict()).isEqualTo(VerifyResult.Verdict.DIFFERS);
        // The changed time is part of the key: it shows as one missing and one extra row.
        assertThat(readings.missing()).isEqualTo(2);
        assertThat(readings.extra()).isEqualTo(2);
        assertThat(readings.changed()).isEqualTo(3);
        assertThat(readings.rangesDiffering()).isGreaterThanOrEqualTo(4);
        List<String> shown = r.differences().stream().map(d -> d.kind() + " " + d.table() + " " + d.key() + " " + d.columns()).toList();
        assertThat(shown).contains(
                "missing public.readings id='30000', time='2026-11-03 10:20:00+00' []",
                "extra public.readings id='999999', time='2026-11-03 01:02:03+00' []",
                "changed public.readings id='50000', time='2026-11-05 01:13:20+00' [label]",
                "changed public.readings id='60001', time='2026-11-05 20:40:07+00' [v]",
                "changed public.readings id='80003', time='2026-11-07 11:33:41+00' [device_id, label]",
                "changed public.customers id='12345' [balance]");
        VerifyResult.Difference nullVsEmpty = r.differences().stream().filter(d -> d.key().startsWith("id='50000'")).findFirst().orElseThrow();
        assertThat(nullVsEmpty.sourceValues()).containsExactly("NULL");
        assertThat(nullVsEmpty.targetValues()).containsExactly("''");
        assertThat(table(r, "tags").missing()).isEqualTo(1);
        assertThat(r.differenceCount()).isEqualTo(2 + 2 + 3 + 1 + 1);

        VerifyResult capped = verify(db, target, false, 2);
        assertThat(capped.differences()).hasSize(2);
        assertThat(capped.differenceCount()).isEqualTo(r.differenceCount());

        VerifyResult repaired = verify(db, target, true, 100);
        assertThat(repaired.match()).isTrue();
        assertThat(table(repaired, "readings").verdict()).isEqualTo(VerifyResult.Verdict.REPAIRED);
        assertThat(table(repaired, "customers").verdict()).isEqualTo(VerifyResult.Verdict.REPAIRED);
        VerifyResult after = verify(db, target, false, 100);
        assertThat(after.match()).isTrue();
        assertThat(after.differenceCount()).isZero();
    }

    @Test
    void pastTComparesTheDualWrittenRowsAndFindsOneThatReachedOneSideOnly(TestDatabases db) {
        ConnectionSpec target = migrated(db, "verify_past_t");
        // Dual-writes after T: rows on both sides, one that the target never got (a crashed
        // application), and one written a moment ago, maybe still on its way.
        String dualWritten = "INSERT INTO readings SELECT 2000000 + g, timestamptz '2026-11-12' + g * interval '1 minute', 1, g, 'dw' "
                + "FROM generate_series(1, 3000) g";
        TestDatabases.execute(db.source(), dualWritten, "INSERT INTO readings VALUES (2999999, now(), 1, 1, 'in flight')");
        TestDatabases.execute(target, dualWritten, "DELETE FROM readings WHERE id = 2001234");

        VerifyResult upToT = verify(db, target, false, 10);
        assertThat(upToT.match()).as("past T is not compared by default").isTrue();
        assertThat(table(upToT, "readings").note()).startsWith("past T (" + T + ") dual-writes are still arriving");

        Cli.Result past = Cli.run("verify", "--source", db.sourceUri(), "--target", TestDatabases.uri(target), "--past-t=10m");
        assertThat(past.exitCode()).as(past.toString()).isEqualTo(5);
        assertThat(past.out()).contains("missing  public.readings id='2001234', time='2026-11-12 20:34:00+00'")
                .doesNotContain("2999999");
        assertThat(Cli.run("verify", "--source", db.sourceUri(), "--target", TestDatabases.uri(target), "--past-t", "--until", T)
                .err()).contains("--past-t extends the check past T; it does not go with --until or --estimate.");

        VerifyResult repaired = Verifier.run(db.source(), target, VerifyOptions.builder().repair(true)
                .tables(List.of(TableRef.parse("readings"))).maxRows(10)
                .pastT(Optional.of(java.time.Instant.now().minus(java.time.Duration.ofMinutes(10)))).build(), line -> { });
        assertThat(repaired.match()).as(String.valueOf(repaired)).isTrue();
        assertThat(table(repaired, "readings").verdict()).isEqualTo(VerifyResult.Verdict.REPAIRED);
        assertThat(table(repaired, "readings").scope()).doesNotEndWith(T + ")");
        assertThat(queryLong(target, "SELECT count(*) FROM readings WHERE id = 2001234")).isEqualTo(1);
        assertThat(queryLong(target, "SELECT count(*) FROM readings WHERE id = 2999999")).isZero();
        TestDatabases.execute(db.source(), "DELETE FROM readings WHERE id > 2000000");
    }

    @Test
    void exitsFiveWithDifferencesAndReportsSequencesBehind(TestDatabases db) {
        ConnectionSpec target = migrated(db, "verify_cli");
        TestDatabases.execute(target, "DELETE FROM customers WHERE id = 7", "SELECT setval('customers_id_seq', 10)");
        Cli.Result r = Cli.run("verify", "--source", db.sourceUri(), "--target", TestDatabases.uri(target));
        assertThat(r.exitCode()).as(r.toString()).isEqualTo(5);
        assertThat(r.out()).containsPattern("differs +public.customers whole table: 50,000 rows on the source, 49,999 on the target")
                .contains("missing  public.customers id='7'")
                .contains("behind   sequence public.customers_id_seq: 10 on the target, 50000 on the source")
                .contains("differences found (exact check");
        Cli.Result estimate = Cli.run("verify", "--source", db.sourceUri(), "--target", TestDatabases.uri(target), "--estimate");
        // The estimate cannot see one deleted row of 50,000 (within its tolerance); it must see the untouched table as equal.
        assertThat(estimate.out()).containsPattern("match +public.readings whole table \\(estimate\\)");
        assertThat(estimate.exitCode()).as(estimate.toString()).isZero();
    }

    @Test
    void ctrlCStopsTheCheckAndRecordsItsRunAsFailed(TestDatabases db) throws Exception {
        ConnectionSpec target = migrated(db, "verify_ctrl_c");
        try (CliProcess p = CliProcess.start(List.of("verify", "--source", db.sourceUri(), "--target", TestDatabases.uri(target),
                "--max-rate", "2000"))) {
            // 120,000 rows at 2,000 a second: the check would take a minute.
            io.tsmigrate.servers.Await.until("the check to be comparing", () -> {
                assertThat(p.isAlive()).as(p.output()).isTrue();
                return queryLong(target, "SELECT count(*) FROM tsmigrate.verification_run WHERE finished_at IS NULL") == 1;
            });
            p.interrupt();
            assertThat(p.waitFor(30)).as("stopped soon after Ctrl-C").isTrue();
            p.close();
            assertThat(p.exitValue()).as(p.output()).isEqualTo(130);
            assertThat(p.output()).contains("tsmigrate: interrupted: the check stopped before it finished");
        }
        assertThat(TestDatabases.queryString(target, "SELECT verdict FROM tsmigrate.verification_run ORDER BY id DESC LIMIT 1"))
                .isEqualTo("failed");
        assertThat(queryLong(target, "SELECT count(*) FROM tsmigrate.verification_run WHERE finished_at IS NULL"))
                .as("no run left running").isZero();
    }
}
