package io.tsmigrate.it;

import com.fasterxml.jackson.databind.JsonNode;
import io.tsmigrate.core.backfill.BackfillOptions;
import io.tsmigrate.core.connect.ConnectionSpec;
import io.tsmigrate.core.json.Json;
import io.tsmigrate.it.kit.PgServersExtension;
import io.tsmigrate.it.kit.TestDatabases;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static io.tsmigrate.it.Fixtures.checksum;
import static io.tsmigrate.it.kit.TestDatabases.queryLong;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Every source row is accounted for: an exact verify cannot say "match" while rows are missing,
 * and names, encodings and time input that no other fixture has go through every step.
 */
@ExtendWith(PgServersExtension.class)
class AccountingIT {

    static final String T = "2026-11-11 00:00:00+00";

    /** 1,000 rows before T (one every 10 minutes from 2026-11-04), 100 past it. */
    private static void createMetrics(TestDatabases db, String table) {
        db.source("CREATE TABLE " + table + " (time timestamptz, device int, v float8)",
                "INSERT INTO " + table + " SELECT timestamptz '2026-11-04' + g * interval '10 minutes', g % 7, g / 3.0 "
                        + "FROM generate_series(0, 999) g",
                "INSERT INTO " + table + " SELECT timestamptz '" + T + "' + g * interval '1 minute', 1, 0 FROM generate_series(0, 99) g",
                "ANALYZE " + table);
    }

    private static ConnectionSpec migrated(TestDatabases db, String table) {
        ConnectionSpec target = db.newTargetDatabase(table, true);
        Fixtures.migrateSchema(db.source(), target, "1 day", table);
        assertThat(BackfillIT.backfill(db.source(), target, BackfillOptions.builder().until(T)
                .maxRangeRows(100_000).maxAttempts(3).workerName("accounting").build()).complete()).isTrue();
        return target;
    }

    private static Cli.Result cli(TestDatabases db, ConnectionSpec target, String... args) {
        List<String> all = new java.util.ArrayList<>(List.of(args));
        all.addAll(List.of("--source", db.sourceUri(), "--target", TestDatabases.uri(target)));
        return Cli.run(all.toArray(String[]::new));
    }

    @Test
    void rowsWithANullTimeAreMissingOnTheTargetNotAMatch(TestDatabases db, @TempDir Path dir) throws Exception {
        createMetrics(db, "nulltime");
        ConnectionSpec target = migrated(db, "nulltime");
        // Rows without a time arrive after the plan was made (the plan itself refuses them, below).
        db.source("INSERT INTO nulltime SELECT NULL, g, 0 FROM generate_series(1, 50) g");

        Cli.Result r = cli(db, target, "verify");
        assertThat(r.exitCode()).as(r.toString()).isEqualTo(5);
        assertThat(r.out()).contains("source rows: 1,150 = 1,000 checked + 100 past the checked span (not compared) + 0 before it "
                + "+ 50 with a NULL time")
                .contains("50 source row(s) have a NULL time: no hypertable can hold them, so they are missing on the target")
                .containsPattern("differs +public.nulltime");
        JsonNode json = Json.mapper().readTree(cli(db, target, "verify", "--json").out());
        JsonNode table = json.get("tables").get(0);
        assertThat(table.get("missing").asLong()).isEqualTo(50);
        assertThat(table.get("accounting").get("null_time").asLong()).isEqualTo(50);
        assertThat(table.get("accounting").get("unaccounted").asLong()).isZero();

        Cli.Result cutover = cli(db, target, "cutover", "--dry-run");
        assertThat(cutover.exitCode()).as(cutover.toString()).isEqualTo(4);
        assertThat(cutover.out()).containsPattern("failed +verification");

        Path plan = dir.resolve("plan.yaml");
        Files.writeString(plan, "version: 1\nhypertables:\n  - table: public.nulltime\n    time_column: time\n"
                + "    chunk_interval: \"1 day\"\n");
        Cli.Result check = Cli.run("plan", "--check", "--plan", plan.toString(), "--source", db.sourceUri());
        assertThat(check.exitCode()).as(check.toString()).isEqualTo(2);
        assertThat(check.err()).isEqualTo("tsmigrate: " + plan + " line 4: public.nulltime has 50 rows whose time is NULL, and "
                + "a hypertable cannot hold them: give them a time (or delete them) on the source, or remove the table from the "
                + "plan to keep it plain; fix the plan file or write a new one with tsmigrate plan.\n");
    }

    @Test
    void rowsBeforeFromAndPastTAreCountedAndTheSumIsTheSourcesCount(TestDatabases db) throws Exception {
        createMetrics(db, "windows");
        ConnectionSpec target = migrated(db, "windows");
        long before = queryLong(db.source(), "SELECT count(*) FROM windows WHERE time < '2026-11-08'");
        Cli.Result r = cli(db, target, "verify", "--from", "2026-11-08 00:00:00+00", "--json");
        assertThat(r.exitCode()).as(r.toString()).isZero();
        JsonNode a = Json.mapper().readTree(r.out()).get("tables").get(0).get("accounting");
        assertThat(a.get("source_rows").asLong()).isEqualTo(1100);
        assertThat(a.get("before_start").asLong()).isEqualTo(before).isPositive();
        assertThat(a.get("past_end").asLong()).isEqualTo(100);
        assertThat(a.get("checked").asLong()).isEqualTo(1000 - before);
        assertThat(a.get("null_time").asLong()).isZero();

        // Past T compared too: the rows only dual-writes put there are missing on this target.
        Cli.Result past = cli(db, target, "verify", "--past-t=1s");
        assertThat(past.exitCode()).as(past.toString()).isEqualTo(5);
        assertThat(past.out()).contains("source rows: 1,100 = 1,100 checked + 0 past the checked span (not compared)")
                .contains("100 missing on the target");
    }

    @Test
    void verifyRefusesBadTimesLikeBackfillAndLeavesNoRunBehind(TestDatabases db) {
        createMetrics(db, "badtimes");
        ConnectionSpec target = migrated(db, "badtimes");
        long runs = queryLong(target, "SELECT count(*) FROM tsmigrate.verification_run");
        String[][] cases = {
            {"--until", "xyz"}, {"--from", "xyz"}, {"--until", "12345x"}, {"--until", "infinity"},
            {"--from", "2026-11-09", "--until", "2026-11-08"}, {"--from", "2026-11-11 00:00:00+00"},
        };
        for (String[] args : cases) {
            String[] all = new String[args.length + 1];
            all[0] = "verify";
            System.arraycopy(args, 0, all, 1, args.length);
            Cli.Result r = cli(db, target, all);
            assertThat(r.exitCode()).as(r.toString()).isEqualTo(2);
            assertThat(r.err()).as(r.toString()).startsWith("tsmigrate: --").doesNotContain("internal error").hasLineCount(1);
            List<String> backfillArgs = new java.util.ArrayList<>(List.of("backfill"));
            backfillArgs.addAll(List.of(args));
            if (!backfillArgs.contains("--until")) {
                backfillArgs.addAll(List.of("--until", T)); // backfill has no stored T here: give the one it ran with
            }
            Cli.Result backfill = cli(db, target, backfillArgs.toArray(String[]::new));
            assertThat(backfill.exitCode()).as("backfill " + List.of(args) + ": " + backfill).isEqualTo(2);
        }
        assertThat(cli(db, target, "verify", "--from", "2026-11-11 00:00:00+00").err())
                .isEqualTo("tsmigrate: --from 2026-11-11 00:00:00+00 is not before T = 2026-11-11 00:00:00+00 for public.badtimes; "
                        + "the range to check is empty.\n");
        assertThat(queryLong(target, "SELECT count(*) FROM tsmigrate.verification_run")).as("runs stored").isEqualTo(runs);

        ConnectionSpec noT = db.newTargetDatabase("badtimes_no_t", true);
        Fixtures.migrateSchema(db.source(), noT, "1 day", "badtimes");
        Cli.Result early = cli(db, noT, "verify");
        assertThat(early.exitCode()).as(early.toString()).isEqualTo(4);
        assertThat(early.err()).startsWith("tsmigrate: there is no completion point T for public.badtimes");
        assertThat(queryLong(noT, "SELECT count(*) FROM tsmigrate.verification_run")).isZero();
        assertThat(queryLong(target, "SELECT count(*) FROM tsmigrate.verification_run WHERE finished_at IS NULL"))
                .as("runs left running").isZero();
    }

    @Test
    void compareLoadSaysWhenThereIsNothingToCompare(TestDatabases db) {
        ConnectionSpec empty = db.newTargetDatabase("load_empty", true);
        Cli.Result none = Cli.run("compare-load", "--target", TestDatabases.uri(empty));
        assertThat(none.exitCode()).as(none.toString()).isEqualTo(4);
        assertThat(none.err()).startsWith("tsmigrate: the target holds no tsmigrate state");
        assertThat(none.out()).isEmpty();

        createMetrics(db, "loadless");
        ConnectionSpec target = migrated(db, "loadless");
        TestDatabases.execute(target, "CREATE TABLE IF NOT EXISTS tsmigrate.shadow_read (writer text NOT NULL, shape text NOT NULL, "
                + "calls bigint NOT NULL, compared bigint NOT NULL, mismatches bigint NOT NULL, expected_mismatches bigint NOT NULL, "
                + "dropped bigint NOT NULL, example text, source_micros bigint[] NOT NULL, target_micros bigint[] NOT NULL, "
                + "updated_at timestamptz NOT NULL, PRIMARY KEY (writer, shape))");
        Cli.Result noReads = Cli.run("compare-load", "--target", TestDatabases.uri(target));
        assertThat(noReads.exitCode()).as(noReads.toString()).isEqualTo(4);
        assertThat(noReads.err()).startsWith("tsmigrate: no shadow reads were recorded, so nothing was compared");

        // Two shapes: one with enough samples and equal latency, one slow on the target but with 3 samples only.
        long[] fast = new long[320];
        fast[80] = 100;
        long[] slowSource = new long[320];
        slowSource[80] = 3;
        long[] slowTarget = new long[320];
        slowTarget[120] = 3;
        TestDatabases.execute(target, "INSERT INTO tsmigrate.shadow_read VALUES ('w', 'SELECT a FROM t WHERE id = ?', 100, 100, 0, 0, "
                + "0, NULL, '" + array(fast) + "', '" + array(fast) + "', now()), ('w', 'SELECT b FROM u', 3, 3, 0, 0, 0, NULL, '"
                + array(slowSource) + "', '" + array(slowTarget) + "', now())");
        Cli.Result judged = Cli.run("compare-load", "--target", TestDatabases.uri(target));
        assertThat(judged.exitCode()).as(judged.toString()).isZero();
        assertThat(judged.out()).contains("latency not judged: 3 comparison(s), fewer than --min-samples 20")
                .endsWith("the target answers like the source (1 of 2 shape(s) had too few comparisons for their latency to be judged)\n");
        Cli.Result strict = Cli.run("compare-load", "--target", TestDatabases.uri(target), "--min-samples", "3");
        assertThat(strict.exitCode()).as(strict.toString()).isEqualTo(5);
        assertThat(strict.out()).contains("problem: the target's p95 is");
    }

    private static String array(long[] values) {
        return "{" + String.join(",", java.util.Arrays.stream(values).mapToObj(Long::toString).toList()) + "}";
    }

    @Test
    void aLatin1SourceWithANonAsciiTableNameGoesThroughEveryStep(TestDatabases db, @TempDir Path dir) {
        ConnectionSpec source = db.newSourceDatabase("latin1", "LATIN1");
        TestDatabases.execute(source, "CREATE TABLE \"mesures_été\" (\"temps\" timestamptz NOT NULL, \"capteur\" text, v float8)",
                "INSERT INTO \"mesures_été\" SELECT timestamptz '2026-11-04' + g * interval '10 minutes', 'capteur ' || "
                        + "CASE WHEN g % 2 = 0 THEN 'à' ELSE 'ü' END, g FROM generate_series(0, 999) g",
                "CREATE TABLE \"référence\" (id int PRIMARY KEY, nom text)",
                "INSERT INTO \"référence\" VALUES (1, 'Genève'), (2, 'Zürich')", "ANALYZE");
        assertThat(TestDatabases.queryString(source, "SHOW server_encoding")).isEqualTo("LATIN1");
        ConnectionSpec target = db.newTargetDatabase("latin1_target", true);
        String src = TestDatabases.uri(source);
        String tgt = TestDatabases.uri(target);
        String plan = dir.resolve("plan.yaml").toString();

        Cli.Result planned = Cli.run("plan", "--source", src, "--target", tgt, "-o", plan, "--include", "public.mesures_été");
        assertThat(planned.exitCode()).as(planned.toString()).isZero();
        Cli.Result check = Cli.run("plan", "--check", "--plan", plan, "--source", src);
        assertThat(check.exitCode()).as(check.toString()).isZero();
        Cli.Result schema = Cli.run("schema", "--source", src, "--target", tgt, "--plan", plan, "--skip-roles");
        assertThat(schema.exitCode()).as(schema.toString()).isZero();
        assertThat(queryLong(target, "SELECT count(*) FROM \"mesures_été\"")).as("the dump left the hypertable's rows out").isZero();
        assertThat(queryLong(target, "SELECT count(*) FROM timescaledb_information.hypertables "
                + "WHERE hypertable_name = 'mesures_été'")).isEqualTo(1);
        Cli.Result backfill = Cli.run("backfill", "--source", src, "--target", tgt, "--until", T);
        assertThat(backfill.exitCode()).as(backfill.toString()).isZero();
        Cli.Result verify = Cli.run("verify", "--source", src, "--target", tgt);
        assertThat(verify.exitCode()).as(verify.toString()).isZero();
        assertThat(checksum(target, "\"mesures_été\"", "true")).isEqualTo(checksum(source, "\"mesures_été\"", "true"));
        assertThat(checksum(target, "\"référence\"", "true")).isEqualTo(checksum(source, "\"référence\"", "true"));
    }

    @Test
    void aTimeColumnNamedWithASpaceAndQuotesMakesAPlanItsOwnReaderAccepts(TestDatabases db, @TempDir Path dir) throws Exception {
        db.source("CREATE TABLE \"Sensor \"\"Data\"\"\" (\"Time Col\" timestamptz NOT NULL, \"Device.Id\" int, v float8)",
                "INSERT INTO \"Sensor \"\"Data\"\"\" SELECT timestamptz '2026-11-04' + g * interval '10 minutes', g % 5, g "
                        + "FROM generate_series(0, 999) g", "ANALYZE");
        ConnectionSpec target = db.newTargetDatabase("spaced", true);
        String plan = dir.resolve("plan.yaml").toString();
        Cli.Result planned = Cli.run("plan", "--source", db.sourceUri(), "-o", plan, "--include", "public.\"Sensor \"\"Data\"\"\"");
        assertThat(planned.exitCode()).as(planned.toString()).isZero();
        assertThat(Files.readString(Path.of(plan), StandardCharsets.UTF_8)).contains("time_column: \"Time Col\"")
                .contains("order_by: [\"\\\"Time Col\\\" DESC\"]");
        Cli.Result check = Cli.run("plan", "--check", "--plan", plan, "--source", db.sourceUri());
        assertThat(check.exitCode()).as(check.toString()).isZero();

        for (String[] step : List.of(new String[] {"schema", "--plan", plan, "--skip-roles"}, new String[] {"backfill", "--until", T},
                new String[] {"verify"})) {
            Cli.Result r = cli(db, target, step);
            assertThat(r.exitCode()).as(step[0] + ": " + r).isZero();
        }
        assertThat(checksum(target, "\"Sensor \"\"Data\"\"\"", "true")).isEqualTo(checksum(db.source(), "\"Sensor \"\"Data\"\"\"", "true"));
    }
}
