package io.tsmigrate.it;

import com.fasterxml.jackson.databind.JsonNode;
import io.tsmigrate.core.connect.ConnectionSpec;
import io.tsmigrate.core.json.Json;
import io.tsmigrate.core.migrate.Migration;
import io.tsmigrate.servers.Await;
import io.tsmigrate.it.kit.PgServersExtension;
import io.tsmigrate.it.kit.TestDatabases;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BooleanSupplier;

import static io.tsmigrate.it.Fixtures.assertRangesIdentical;
import static io.tsmigrate.it.Fixtures.checksum;
import static io.tsmigrate.it.kit.TestDatabases.queryLong;
import static io.tsmigrate.it.kit.TestDatabases.queryString;
import static io.tsmigrate.it.kit.TestDatabases.rows;
import static org.assertj.core.api.Assertions.assertThat;

/** {@code tsmigrate migrate} runs the whole method, resumes after being killed at any step, and {@code status} tells where it stands. */
@ExtendWith(PgServersExtension.class)
class MigrateIT {

    /** Dual-writing "began" two hours ago: with a minute of lateness, T is about an hour ago, after every source row. */
    private static final String STARTED = Instant.now().minus(2, ChronoUnit.HOURS).truncatedTo(ChronoUnit.SECONDS).toString();

    @BeforeAll
    static void createSource(TestDatabases db) {
        db.source("CREATE TABLE sites (id serial PRIMARY KEY, name text NOT NULL)",
                "INSERT INTO sites (name) SELECT 'site ' || g FROM generate_series(1, 40) g",
                "CREATE TABLE metrics (time timestamptz NOT NULL, site_id int NOT NULL REFERENCES sites (id), cpu float8, note text)",
                "INSERT INTO metrics SELECT timestamptz '2026-11-01' + g * interval '8 seconds', 1 + g % 40, g / 7.0, "
                        + "CASE WHEN g % 10 = 0 THEN NULL ELSE 'n' || g END FROM generate_series(0, 59999) g",
                "CREATE INDEX ON metrics (time)", "ANALYZE");
    }

    private static List<String> args(TestDatabases db, ConnectionSpec target, Path dir, String... extra) {
        List<String> args = new ArrayList<>(List.of("migrate", "--source", db.sourceUri(), "--target", TestDatabases.uri(target),
                "--plan", dir.resolve("plan.yaml").toString(), "--include", "public.metrics", "--dual-write-started-at", STARTED,
                "--max-lateness", "1m", "--max-range-rows", "5000", "--cutover"));
        args.addAll(List.of(extra));
        return args;
    }

    /** The end state every run must reach, however often it was interrupted. */
    private static void assertMigrated(TestDatabases db, ConnectionSpec target) {
        assertThat(queryLong(target, "SELECT count(*) FROM tsmigrate.step WHERE name LIKE 'migrate.%' AND status = 'done'"))
                .isEqualTo(Migration.STEPS.size());
        assertThat(queryString(target, "SELECT value FROM tsmigrate.meta WHERE key = 'primary'")).isEqualTo("target");
        assertThat(queryString(target, "SELECT count(*) FROM timescaledb_information.hypertables WHERE hypertable_name = 'metrics'"))
                .isEqualTo("1");
        assertThat(checksum(target, "metrics", "true")).isEqualTo(checksum(db.source(), "metrics", "true"));
        assertThat(checksum(target, "sites", "true")).isEqualTo(checksum(db.source(), "sites", "true"));
        assertThat(assertRangesIdentical(db.source(), target, "metrics", "time", "timestamptz")).isGreaterThan(5);
        assertThat(queryString(target, "SELECT verdict FROM tsmigrate.verification_run WHERE mode = 'exact' "
                + "ORDER BY finished_at DESC NULLS LAST LIMIT 1")).isEqualTo("match");
        // No target sequence is behind the source's: cutover would have refused or moved it.
        assertThat(queryLong(target, "SELECT last_value FROM sites_id_seq"))
                .isGreaterThanOrEqualTo(queryLong(db.source(), "SELECT last_value FROM sites_id_seq"));
    }

    @Test
    void runsEveryStepThenARerunFindsThemDone(TestDatabases db, @TempDir Path dir) throws Exception {
        ConnectionSpec target = db.newTargetDatabase("migrate_all", true);
        List<String> withoutCutover = args(db, target, dir, "--report", dir.resolve("report.html").toString());
        withoutCutover.remove("--cutover");
        Cli.Result first = Cli.run(withoutCutover.toArray(String[]::new));
        assertThat(first.exitCode()).as(first.toString()).isZero();
        assertThat(first.out()).containsPattern("backfill +done").containsPattern("cutover +skipped")
                .contains("match     public.metrics");
        assertThat(queryString(target, "SELECT value FROM tsmigrate.meta WHERE key = 'primary'")).isNotEqualTo("target");
        String report = java.nio.file.Files.readString(dir.resolve("report.html"));
        Path probe = java.nio.file.Files.createFile(dir.resolve("probe"));
        assertThat(java.nio.file.Files.getPosixFilePermissions(dir.resolve("report.html"))).as("the report follows the umask")
                .isEqualTo(java.nio.file.Files.getPosixFilePermissions(probe));
        assertThat(report).contains("<svg id=\"backfill-throughput\"").doesNotContain("No backfill range has finished yet");
        assertThat(report.substring(report.indexOf("<svg id=\"backfill-throughput\""))).contains("<polyline").contains("public.metrics");

        // The application keeps inserting sites on the source after the dump: the switch must move the
        // target's sequence past the source's (assertMigrated checks it), or the next insert collides.
        db.source("SELECT setval('sites_id_seq', 400)");
        try {
            Cli.Result cutover = Cli.run(args(db, target, dir).toArray(String[]::new));
            assertThat(cutover.exitCode()).as(cutover.toString()).isZero();
            assertThat(cutover.out()).containsPattern("backfill +already done").containsPattern("cutover +done")
                    .contains("The target is the primary.");
            assertMigrated(db, target);
        } finally {
            db.source("SELECT setval('sites_id_seq', 40)");
        }

        long runs = queryLong(target, "SELECT count(*) FROM tsmigrate.verification_run");
        Cli.Result again = Cli.run(args(db, target, dir).toArray(String[]::new));
        assertThat(again.exitCode()).as(again.toString()).isZero();
        assertThat(again.out()).containsPattern("backfill +already done").containsPattern("verify +already done")
                .containsPattern("cutover +already done");
        assertThat(queryLong(target, "SELECT count(*) FROM tsmigrate.verification_run")).isEqualTo(runs);
        assertMigrated(db, target);
    }

    /**
     * The roles the plan names under writer_roles get grant-writer's privileges before migrate waits
     * for writers (and nothing more); a role that does not exist stops the run with one sentence.
     */
    @Test
    void grantsTheWriterRolesThePlanNamesAndStopsOnOneThatDoesNotExist(TestDatabases db, @TempDir Path dir) throws Exception {
        TestDatabases.execute(db.servers().targetAdmin(), "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = "
                + "'migrate_writer') THEN CREATE ROLE migrate_writer LOGIN; END IF; END $$");
        ConnectionSpec target = db.newTargetDatabase("migrate_roles", true);
        List<String> args = new ArrayList<>(args(db, target, dir));
        int at = args.indexOf("--dual-write-started-at");
        args.remove(at + 1);
        args.remove(at);
        Cli.Result planned = Cli.run("plan", "--source", db.sourceUri(), "--include", "public.metrics", "--plan",
                dir.resolve("plan.yaml").toString());
        assertThat(planned.exitCode()).as(planned.toString()).isZero();
        String yaml = Files.readString(dir.resolve("plan.yaml"));
        assertThat(yaml).contains("writer_roles: []");
        Files.writeString(dir.resolve("plan.yaml"), yaml.replace("writer_roles: []", "writer_roles: [migrate_writer]"));

        Cli.Result r = Cli.run(args.toArray(String[]::new));
        assertThat(r.exitCode()).as(r.toString()).isEqualTo(4);
        assertThat(r.out()).containsPattern("writer-roles +done .* granted migrate_writer what a dual-writing application needs").containsPattern("dual-write +stopped");
        assertThat(rows(target, "SELECT has_table_privilege('migrate_writer', 'tsmigrate.meta', 'SELECT'), "
                + "has_table_privilege('migrate_writer', 'tsmigrate.meta', 'UPDATE'), "
                + "has_table_privilege('migrate_writer', 'tsmigrate.writer', 'INSERT')")).containsExactly(List.of("t", "f", "t"));

        ConnectionSpec other = db.newTargetDatabase("migrate_roles_missing", true);
        Files.writeString(dir.resolve("plan.yaml"), yaml.replace("writer_roles: []", "writer_roles: [no_such_writer]"));
        List<String> otherArgs = new ArrayList<>(args);
        otherArgs.set(otherArgs.indexOf(TestDatabases.uri(target)), TestDatabases.uri(other));
        Cli.Result missing = Cli.run(otherArgs.toArray(String[]::new));
        assertThat(missing.exitCode()).as(missing.toString()).isEqualTo(2);
        assertThat(missing.err()).contains("there is no role \"no_such_writer\" on the target").contains("(writer_roles in the plan file)");
        assertThat(queryString(other, "SELECT status FROM tsmigrate.step WHERE name = 'migrate.writer-roles'")).isEqualTo("failed");
    }

    @Test
    void stopsAndSaysWhatToDoWhenNoApplicationDualWrites(TestDatabases db, @TempDir Path dir) {
        ConnectionSpec target = db.newTargetDatabase("migrate_nowriter", true);
        List<String> args = new ArrayList<>(args(db, target, dir));
        int at = args.indexOf("--dual-write-started-at");
        args.remove(at + 1);
        args.remove(at);
        Cli.Result r = Cli.run(args.toArray(String[]::new));
        assertThat(r.exitCode()).as(r.toString()).isEqualTo(4);
        assertThat(r.err()).contains("tsmigrate: stopped: start your application in dual-write mode now (see README: Dual-write)");
        assertThat(r.out()).containsPattern("schema +done").containsPattern("dual-write +stopped");
        assertThat(queryString(target, "SELECT status FROM tsmigrate.step WHERE name = 'migrate.dual-write'")).isEqualTo("failed");
        assertThat(queryLong(target, "SELECT count(*) FROM tsmigrate.backfill_range")).isZero();
    }

    @Test
    void findsAWriteThatReachedTheSourceOnlyPastTAndRepairsIt(TestDatabases db, @TempDir Path dir) throws Exception {
        ConnectionSpec target = db.newTargetDatabase("migrate_lost_write", true);
        // With a second of lateness and of clock skew, T is the minute that began at most 2 s ago, and
        // verify compares up to 2 s ago. A row at T is past T, backfilled by no one: a dual-write the
        // application committed on the source, then crashed before the target's commit.
        List<String> args = new ArrayList<>(args(db, target, dir, "--clock-skew", "1s"));
        args.set(args.indexOf("--max-lateness") + 1, "1s");
        // T must not move to the next minute before the run computes it: start early in a minute, with
        // half a minute for doctor, plan and schema on a loaded machine.
        Await.until("the first half of a minute", java.time.Duration.ofSeconds(70),
                () -> Instant.now().minusSeconds(2).getEpochSecond() % 60 < 30);
        TestDatabases.execute(db.source(), "INSERT INTO metrics VALUES (date_trunc('minute', now() - interval '2 seconds'), 7, 0.5, 'lost')");
        try {
            Cli.Result first = Cli.run(args.toArray(String[]::new));
            assertThat(first.exitCode()).as(first.toString()).isEqualTo(5);
            assertThat(first.err()).contains("1 row(s) differ").contains("run tsmigrate migrate --repair");
            assertThat(first.out()).containsPattern("missing +public.metrics .*'lost'");
            assertThat(queryString(target, "SELECT value FROM tsmigrate.meta WHERE key = 'primary'")).isNotEqualTo("target");

            args.add("--repair");
            Cli.Result repaired = Cli.run(args.toArray(String[]::new));
            assertThat(repaired.exitCode()).as(repaired.toString()).isZero();
            assertThat(queryLong(target, "SELECT count(*) FROM metrics WHERE note = 'lost'")).isEqualTo(1);
            assertMigrated(db, target);
        } finally {
            TestDatabases.execute(db.source(), "DELETE FROM metrics WHERE note = 'lost'");
        }
    }

    /**
     * Killed (SIGKILL, no clean-up of any kind) inside each step (held there by the run's test hook,
     * so the kill cannot land after the step finished), or during the backfill with ranges done and
     * ranges left; a re-run ends where an uninterrupted run does.
     */
    @ParameterizedTest
    @ValueSource(strings = {"doctor", "plan", "schema", "writer-roles", "dual-write", "completion-point", "backfill", "compression",
        "constraints", "verify", "compare-load", "cutover"})
    void resumesAfterBeingKilledAtEachStep(String step, TestDatabases db, @TempDir Path dir) throws Exception {
        ConnectionSpec target = db.newTargetDatabase("migrate_kill_" + step.replace('-', '_'), true);
        List<String> args = args(db, target, dir, "--max-rate", "15000");
        String output;
        if (step.equals("backfill")) {
            output = killAt(step, aRangeDone(target), List.of(), args);
            assertThat(queryLong(target, "SELECT count(*) FROM tsmigrate.backfill_range WHERE state <> 'done'"))
                    .as("ranges left when killed").isPositive();
        } else {
            Path paused = dir.resolve("paused");
            output = killAt(step, () -> java.nio.file.Files.exists(paused), List.of("-Dtsmigrate.migrate.test.pause-in=" + step,
                    "-Dtsmigrate.migrate.test.pause-file=" + paused), args);
        }
        assertThat(output).contains("migrate: " + step + " ...");
        // The doctor is recorded only once it passed; every other step is recorded as running when it starts.
        assertThat(stepStatus(target, step)).as("migrate." + step + " when killed").isEqualTo(step.equals("doctor") ? null : "running");

        Cli.Result rerun = Cli.run(args(db, target, dir).toArray(String[]::new));
        assertThat(rerun.exitCode()).as(output + "\n" + rerun).isZero();
        assertMigrated(db, target);
    }

    @Test
    void ctrlCDuringTheBackfillStopsAtOnceAndARerunFinishes(TestDatabases db, @TempDir Path dir) throws Exception {
        ConnectionSpec target = db.newTargetDatabase("migrate_ctrl_c", true);
        try (CliProcess p = CliProcess.start(args(db, target, dir, "--max-rate", "50"))) { // a range of 5,000 rows takes about 100 s
            Await.until("a backfill COPY under way", () -> {
                assertThat(p.isAlive()).as(p.output()).isTrue();
                return p.printed("migrate: backfill ...") && queryLong(target, "SELECT count(*) FROM pg_stat_activity "
                        + "WHERE datname = current_database() AND state = 'active' AND query LIKE 'COPY %'") > 0;
            });
            p.interrupt();
            assertThat(p.waitFor(30)).as("stopped soon after Ctrl-C: " + p.output()).isTrue();
            p.close();
            assertThat(p.exitValue()).as(p.output()).isEqualTo(130);
            assertThat(p.output()).contains("tsmigrate: stopping migrate (Ctrl-C)")
                    .contains("tsmigrate: stopped: interrupted: run tsmigrate migrate again to continue where it stopped.");
        }
        assertThat(queryString(target, "SELECT status FROM tsmigrate.step WHERE name = 'migrate.backfill'")).isNotEqualTo("done");

        Cli.Result rerun = Cli.run(args(db, target, dir).toArray(String[]::new));
        assertThat(rerun.exitCode()).as(rerun.toString()).isZero();
        assertMigrated(db, target);
    }

    @Test
    void statusTellsWhereAHalfDoneMigrationStands(TestDatabases db, @TempDir Path dir) throws Exception {
        ConnectionSpec target = db.newTargetDatabase("migrate_status", true);
        Cli.Result before = Cli.run("status", "--target", TestDatabases.uri(target));
        assertThat(before.exitCode()).isZero();
        assertThat(before.out()).startsWith("Phase:    not started: the target holds no tsmigrate state");

        killAt("backfill", aRangeDone(target), List.of(), args(db, target, dir, "--max-rate", "8000"));
        long done = queryLong(target, "SELECT count(*) FROM tsmigrate.backfill_range WHERE state = 'done'");
        long all = queryLong(target, "SELECT count(*) FROM tsmigrate.backfill_range");
        assertThat(done).as("ranges done when killed").isBetween(1L, all - 1);

        Cli.Result text = Cli.run("status", "--target", TestDatabases.uri(target));
        assertThat(text.exitCode()).as(text.toString()).isZero();
        assertThat(text.out()).contains("Phase:    backfill: " + done + " of " + all + " ranges done")
                .containsPattern("migrate.backfill +running").containsPattern("migrate.schema +done")
                .containsPattern("public.metrics +" + done + "/" + all + " ranges")
                .contains("Writers: none registered").containsPattern("timestamptz +T = ");

        Cli.Result json = Cli.run("status", "--target", TestDatabases.uri(target), "--json");
        JsonNode s = Json.mapper().readTree(json.out());
        assertThat(s.get("phase").asText()).startsWith("backfill:");
        assertThat(s.get("primary").asText()).isEqualTo("source");
        JsonNode table = s.get("tables").get(0);
        assertThat(table.get("table").asText()).isEqualTo("public.metrics");
        assertThat(table.get("ranges_done").asLong()).isEqualTo(done);
        assertThat(table.get("rows_done").asLong()).isEqualTo(queryLong(target, "SELECT count(*) FROM metrics"));
        assertThat(table.get("rows_per_second").asDouble()).isPositive();
        assertThat(table.get("eta_seconds").isNull()).isFalse();
        assertThat(s.get("completion_points").get(0).get("time_type").asText()).isEqualTo("timestamptz");

        // --watch --json: one whole document per line, each a fresh read, until Ctrl-C.
        try (CliProcess watch = CliProcess.start(List.of("status", "--target", TestDatabases.uri(target), "--watch", "1s", "--json"))) {
            Await.until("two refreshes", () -> watch.output().lines().count() >= 2);
            watch.interrupt();
            assertThat(watch.waitFor(30)).as(watch.output()).isTrue();
            assertThat(watch.exitValue()).as(watch.output()).isEqualTo(130);
            List<String> lines = watch.output().lines().toList();
            assertThat(lines.size()).as(watch.output()).isGreaterThanOrEqualTo(2);
            JsonNode first = Json.mapper().readTree(lines.get(0));
            JsonNode second = Json.mapper().readTree(lines.get(1));
            for (JsonNode doc : List.of(first, second)) {
                assertThat(doc.get("phase").asText()).startsWith("backfill:");
                assertThat(doc.get("tables").get(0).get("ranges_done").asLong()).isEqualTo(done);
            }
            assertThat(second.get("at").asText()).as("a fresh read each time").isNotEqualTo(first.get("at").asText());
        }

        // A writer last heard from ten minutes ago is flagged: it would follow no cutover.
        TestDatabases.execute(target, "INSERT INTO tsmigrate.writer (name, application, host, started_at, last_seen) "
                + "VALUES ('gone-app', 'shop', 'h1', now() - interval '1 hour', now() - interval '10 minutes')");
        Cli.Result silent = Cli.run("status", "--target", TestDatabases.uri(target));
        assertThat(silent.out()).containsPattern("gone-app +shop on h1, .* last seen 10m0\\ds ago, NOT HEARD FROM since then");
        JsonNode silentJson = Json.mapper().readTree(Cli.run("status", "--target", TestDatabases.uri(target), "--json").out());
        assertThat(silentJson.get("writers").get(0).get("silent").asBoolean()).isTrue();
        TestDatabases.execute(target, "DELETE FROM tsmigrate.writer WHERE name = 'gone-app'");

        // Minutes later, with no worker heard from since the kill: the backfill is stalled, not running.
        TestDatabases.execute(target, "UPDATE tsmigrate.backfill_worker SET heartbeat = heartbeat - interval '5 minutes'",
                "UPDATE tsmigrate.backfill_range SET finished_at = finished_at - interval '5 minutes', "
                        + "started_at = started_at - interval '5 minutes' WHERE finished_at IS NOT NULL");
        Cli.Result stalled = Cli.run("status", "--target", TestDatabases.uri(target));
        assertThat(stalled.out()).containsPattern("public.metrics +" + done + "/" + all + " ranges.*stalled since .*, no worker "
                + "running: run tsmigrate backfill to resume").doesNotContain("ETA");
        JsonNode stalledJson = Json.mapper().readTree(Cli.run("status", "--target", TestDatabases.uri(target), "--json").out());
        assertThat(stalledJson.get("tables").get(0).get("stalled_since").isNull()).isFalse();
        assertThat(stalledJson.get("tables").get(0).get("eta_seconds").isNull()).isTrue();

        Cli.Result finish = Cli.run(args(db, target, dir).toArray(String[]::new));
        assertThat(finish.exitCode()).as(finish.toString()).isZero();
        Cli.Result after = Cli.run("status", "--target", TestDatabases.uri(target));
        assertThat(after.out()).startsWith("Phase:    cut over: the target is the primary");
    }

    /** What the state says of {@code migrate.<step>}: null when it has no record (or there is no state yet). */
    private static String stepStatus(ConnectionSpec target, String step) {
        if (queryString(target, "SELECT to_regclass('tsmigrate.step')::text") == null) {
            return null;
        }
        List<List<String>> rows = TestDatabases.rows(target, "SELECT status FROM tsmigrate.step WHERE name = 'migrate." + step + "'");
        return rows.isEmpty() ? null : rows.get(0).get(0);
    }

    private static BooleanSupplier aRangeDone(ConnectionSpec target) {
        return () -> queryLong(target, "SELECT count(*) FROM tsmigrate.backfill_range WHERE state = 'done'") > 0;
    }

    /**
     * Runs migrate in its own process and kills it (SIGKILL) once the step has started and
     * {@code ready} holds; returns what it printed. Fails if the process ends before that.
     */
    private static String killAt(String step, BooleanSupplier ready, List<String> jvmOptions, List<String> args) throws Exception {
        try (CliProcess p = CliProcess.start(jvmOptions, args)) {
            Await.until(step + " under way", () -> {
                assertThat(p.isAlive()).as("migrate still running at " + step + ":\n" + p.output()).isTrue();
                return p.printed("migrate: " + step + " ...") && ready.getAsBoolean();
            });
            p.kill();
            assertThat(p.exitValue()).as("killed, not finished").isNotZero();
            return p.output();
        }
    }
}
