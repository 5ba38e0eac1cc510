package io.tsmigrate.it;

import io.tsmigrate.core.connect.ConnectionSpec;
import io.tsmigrate.servers.Await;
import io.tsmigrate.it.kit.PgServersExtension;
import io.tsmigrate.it.kit.TestDatabases;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Timestamp;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import static io.tsmigrate.it.Fixtures.assertRangesIdentical;
import static io.tsmigrate.it.Fixtures.checksum;
import static io.tsmigrate.it.kit.TestDatabases.queryLong;
import static org.assertj.core.api.Assertions.assertThat;

/** The backfill yields to the source's own load: it pauses while the source is busy and resumes by itself. */
@ExtendWith(PgServersExtension.class)
class BackfillThrottleIT {

    static final String T = "2026-11-11 00:00:00+00";

    @Test
    void pausesWhileTheSourceHasTooManyBusySessionsAndResumesWhenTheyEnd(TestDatabases db) throws Exception {
        ConnectionSpec source = db.newSourceDatabase("throttle");
        ConnectionSpec target = db.newTargetDatabase("throttle", true);
        metrics(source, target, 40000);
        try (BusySessions busy = BusySessions.start(source, 3)) {
            List<String> args = List.of("backfill", "--source", TestDatabases.uri(source), "--target", TestDatabases.uri(target),
                    "--until", T, "--max-range-rows", "5000", "--worker-name", "throttled", "--critical-load", "active-sessions=3");
            try (CliProcess p = CliProcess.start(args)) {
                Await.until("the backfill pauses", () -> {
                    assertThat(p.isAlive()).as(p.output()).isTrue();
                    return queryLong(target, "SELECT count(*) FROM tsmigrate.throttle WHERE process = 'throttled' AND paused") == 1;
                });
                assertThat(TestDatabases.queryString(target, "SELECT reason FROM tsmigrate.throttle WHERE process = 'throttled'"))
                        .isEqualTo("paused: active sessions 3 >= 3 (--critical-load)");
                // Two more checks while paused (state, not time): nothing copied meanwhile.
                for (int check = 0; check < 2; check++) {
                    Timestamp last = checkedAt(target);
                    Await.until("the throttle checks again", () -> checkedAt(target).after(last));
                    assertThat(queryLong(target, "SELECT count(*) FROM tsmigrate.throttle WHERE process = 'throttled' AND paused"))
                            .isEqualTo(1);
                }
                assertThat(queryLong(target, "SELECT count(*) FROM tsmigrate.backfill_range WHERE state = 'done'")).isZero();
                assertThat(queryLong(target, "SELECT count(*) FROM metrics")).isZero();
                Cli.Result status = Cli.run("status", "--target", TestDatabases.uri(target));
                assertThat(status.out()).contains("throttle of throttled: PAUSED").contains("paused: active sessions 3 >= 3");

                TestDatabases.execute(source, "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE application_name = 'busy'");
                assertThat(p.waitFor(300)).isTrue();
                assertThat(p.exitValue()).as(p.output()).isZero();
                assertThat(p.output()).contains("throttle: paused: active sessions 3 >= 3").contains("throttle: ");
            }
        }
        assertThat(checksum(target, "metrics", "true")).isEqualTo(checksum(source, "metrics", "time < '" + T + "'"));
        assertRangesIdentical(source, target, "metrics", "time", "timestamptz");
        assertThat(queryLong(target, "SELECT count(*) FROM tsmigrate.throttle")).as("the record ends with the run").isZero();
    }

    @Test
    void theOperatorsMaxLoadSlowsARunThatWatchesTheLoadAndOneThatDoesNotSaysSo(TestDatabases db) throws Exception {
        ConnectionSpec source = db.newSourceDatabase("throttle_maxload");
        ConnectionSpec target = db.newTargetDatabase("throttle_maxload", true);
        metrics(source, target, 40000);
        String tgt = TestDatabases.uri(target);
        List<CliProcess> processes = new ArrayList<>();
        try (BusySessions busy = BusySessions.start(source, 3)) {
            // "watching" watches the source's load (a critical limit it never reaches); "blind" does not.
            processes.add(CliProcess.start(List.of("backfill", "--source", TestDatabases.uri(source), "--target", tgt, "--until", T,
                    "--max-range-rows", "2000", "--max-rate", "2000", "--worker-name", "watching", "--critical-load",
                    "active-sessions=100")));
            processes.add(CliProcess.start(List.of("backfill", "--source", TestDatabases.uri(source), "--target", tgt, "--until", T,
                    "--max-range-rows", "2000", "--max-rate", "2000", "--worker-name", "blind")));
            Await.until("both throttles check", () -> queryLong(target, "SELECT count(*) FROM tsmigrate.throttle") == 2);
            Cli.Result bad = Cli.run("throttle", "--max-load", "cpu=2", "--target", tgt);
            assertThat(bad.exitCode()).as(bad.toString()).isEqualTo(2);
            assertThat(bad.err()).contains("unknown signal \"cpu\"");
            Cli.Result badRate = Cli.run("throttle", "--rate", "fast", "--target", tgt);
            assertThat(badRate.exitCode()).as(badRate.toString()).isEqualTo(2);
            assertThat(badRate.err()).contains("--rate \"fast\" is not a rate");
            assertThat(Cli.run("throttle", "--target", tgt).out()).as("nothing set by bad input")
                    .contains("pace: as each backfill was started (no tsmigrate throttle setting)");
            Cli.Result set = Cli.run("throttle", "--max-load", "active-sessions=2", "--target", tgt);
            assertThat(set.exitCode()).as(set.toString()).isZero();
            assertThat(set.out()).contains("pace: slowed while the source is past --max-load active-sessions=2 (set by ");
            Await.until("the watching run slows down past the operator's limit", () -> queryLong(target, "SELECT count(*) FROM "
                    + "tsmigrate.throttle WHERE process = 'watching' AND reason LIKE '%active sessions 3 >= 2 (--max-load%'") == 1);
            Await.until("the blind run says it cannot follow", () -> queryLong(target, "SELECT count(*) FROM tsmigrate.throttle "
                    + "WHERE process = 'blind' AND reason LIKE 'not following tsmigrate throttle --max-load: this run was started "
                    + "without --max-load or --critical-load%'") == 1);
            assertThat(Cli.run("status", "--target", tgt).out()).contains("not following tsmigrate throttle --max-load");
            TestDatabases.execute(source, "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE application_name = 'busy'");
            assertThat(Cli.run("throttle", "--resume", "--target", tgt).exitCode()).isZero();
            for (CliProcess p : processes) {
                assertThat(p.waitFor(300)).as(p.output()).isTrue();
                assertThat(p.exitValue()).as(p.output()).isZero();
            }
        } finally {
            for (CliProcess p : processes) {
                p.close();
            }
        }
        assertThat(checksum(target, "metrics", "true")).isEqualTo(checksum(source, "metrics", "time < '" + T + "'"));
    }

    @Test
    void throttlePauseStopsTwoProcessesAndResumeFinishesThem(TestDatabases db) throws Exception {
        ConnectionSpec source = db.newSourceDatabase("throttle_cmd");
        ConnectionSpec target = db.newTargetDatabase("throttle_cmd", true);
        metrics(source, target, 60000);
        String tgt = TestDatabases.uri(target);
        List<CliProcess> processes = new ArrayList<>();
        try {
            for (String name : List.of("one", "two")) {
                processes.add(CliProcess.start(List.of("backfill", "--source", TestDatabases.uri(source), "--target", tgt, "--until", T,
                        "--max-range-rows", "2000", "--max-rate", "2000", "--worker-name", name)));
            }
            Await.until("both processes copy", () -> queryLong(target, "SELECT count(DISTINCT split_part(worker, '-', 1)) "
                    + "FROM tsmigrate.backfill_range WHERE state = 'done'") == 2);
            // A byte rate from the operator: both processes, started with a rate in rows, pace bytes until --resume.
            Cli.Result bytes = Cli.run("throttle", "--rate", "64kB/s", "--target", tgt);
            assertThat(bytes.exitCode()).as(bytes.toString()).isZero();
            assertThat(bytes.out()).contains("pace: at most 64.0 kB/s (set by ");
            Await.until("both throttles pace bytes", () -> queryLong(target, "SELECT count(*) FROM tsmigrate.throttle WHERE "
                    + "bytes_per_second > 0 AND rows_per_second IS NULL AND reason LIKE 'set by tsmigrate throttle --rate%'") == 2);
            assertThat(Cli.run("status", "--target", tgt).out()).contains("throttle of one: 64.0 kB/s (set by tsmigrate throttle --rate");
            Cli.Result paused = Cli.run("throttle", "--pause", "--target", tgt);
            assertThat(paused.exitCode()).as(paused.toString()).isZero();
            assertThat(paused.out()).contains("pace: paused (set by ");
            Await.until("both throttles pause", () -> {
                processes.forEach(p -> assertThat(p.isAlive()).as("still copying when paused: " + p.output()).isTrue());
                return queryLong(target, "SELECT count(*) FROM tsmigrate.throttle WHERE paused "
                        + "AND reason LIKE 'paused by tsmigrate throttle --pause%'") == 2;
            });
            // A range in progress when the pause came finishes; after that, nothing moves for two more checks.
            Await.until("ranges in progress end", () -> queryLong(target, "SELECT count(*) FROM tsmigrate.backfill_attempt "
                    + "WHERE outcome IS NULL") == 0);
            long done = queryLong(target, "SELECT count(*) FROM tsmigrate.backfill_range WHERE state = 'done'");
            for (int check = 0; check < 2; check++) {
                Timestamp last = Timestamp.valueOf(TestDatabases.queryString(target, "SELECT max(updated_at)::timestamp FROM "
                        + "tsmigrate.throttle"));
                Await.until("the throttles check again", () -> Timestamp.valueOf(TestDatabases.queryString(target,
                        "SELECT min(updated_at)::timestamp FROM tsmigrate.throttle")).after(last));
            }
            assertThat(queryLong(target, "SELECT count(*) FROM tsmigrate.backfill_range WHERE state = 'done'")).isEqualTo(done);
            assertThat(queryLong(target, "SELECT count(*) FROM tsmigrate.backfill_range")).as("ranges left").isGreaterThan(done);
            Cli.Result resumed = Cli.run("throttle", "--resume", "--target", tgt, "--json");
            assertThat(resumed.out()).containsPattern("\"paused\" ?: ?false");
            for (CliProcess p : processes) {
                assertThat(p.waitFor(300)).isTrue();
                assertThat(p.exitValue()).as(p.output()).isZero();
                assertThat(p.output()).contains("throttle: paused by tsmigrate throttle --pause");
            }
        } finally {
            for (CliProcess p : processes) {
                p.close();
            }
        }
        assertThat(checksum(target, "metrics", "true")).isEqualTo(checksum(source, "metrics", "time < '" + T + "'"));
    }

    /** A metrics table of {@code rows} rows ten seconds apart on the source, a hypertable on the target. */
    /**
     * The exact verify reads every row of the source too, so it follows the same throttle: started while
     * the operator has paused the migration, it reads nothing of the table until --resume (its throttle
     * recorded in the state as paused, over two of its checks), then finishes with a match; its
     * --max-load watches the source like the backfill's.
     */
    @Test
    void verifyFollowsTheOperatorsPauseFromItsFirstCheck(TestDatabases db) throws Exception {
        ConnectionSpec source = db.newSourceDatabase("throttle_verify");
        ConnectionSpec target = db.newTargetDatabase("throttle_verify", true);
        metrics(source, target, 30000);
        String src = TestDatabases.uri(source);
        String tgt = TestDatabases.uri(target);
        Cli.Result copied = Cli.run("backfill", "--source", src, "--target", tgt, "--until", T);
        assertThat(copied.exitCode()).as(copied.toString()).isZero();
        assertThat(Cli.run("throttle", "--pause", "--target", tgt).exitCode()).isZero();
        String read = "SELECT coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0) FROM pg_stat_user_tables WHERE relname = 'metrics'";
        try (CliProcess p = CliProcess.start(List.of("verify", "--source", src, "--target", tgt, "--max-load", "probe-latency=50x"))) {
            Await.until("the verify's throttle pauses", () -> {
                assertThat(p.isAlive()).as("verify still running: " + p.output()).isTrue();
                return queryLong(target, "SELECT count(*) FROM tsmigrate.throttle WHERE process LIKE 'verify-%' AND paused") == 1;
            });
            long before = queryLong(source, read);
            for (int check = 0; check < 2; check++) {
                Timestamp last = verifyCheckedAt(target);
                Await.until("the verify's throttle checks again", () -> verifyCheckedAt(target).after(last));
            }
            assertThat(p.isAlive()).as(p.output()).isTrue();
            assertThat(queryLong(source, read)).as("rows of metrics read while paused").isEqualTo(before);
            assertThat(Cli.run("throttle", "--resume", "--target", tgt).exitCode()).isZero();
            assertThat(p.waitFor(300)).isTrue();
            p.close();
            assertThat(p.exitValue()).as(p.output()).isZero();
            assertThat(p.output()).contains("verify: throttle: paused by tsmigrate throttle --pause").contains("match");
            // Its sessions' statistics reach the server as they end: waited for, not assumed.
            Await.until("the verify's reads of the table in the source's statistics", () -> queryLong(source, read) > before);
        }
        assertThat(queryLong(target, "SELECT count(*) FROM tsmigrate.throttle WHERE process LIKE 'verify-%'")).as("record removed").isZero();
    }

    private static Timestamp verifyCheckedAt(ConnectionSpec target) {
        return Timestamp.valueOf(TestDatabases.queryString(target, "SELECT updated_at::timestamp FROM tsmigrate.throttle "
                + "WHERE process LIKE 'verify-%'"));
    }

    /**
     * --max-source-connections holds across processes: two backfills with a cap of 3 and two workers each
     * run together with 3 source connections between them (the second gets the one slot left), never
     * more, sampled on the source while they run; a third process finds no slot and waits, saying so,
     * until the others are done. The data ends identical.
     */
    @Test
    void theSourceConnectionCapHoldsAcrossProcesses(TestDatabases db) throws Exception {
        ConnectionSpec source = db.newSourceDatabase("throttle_cap");
        ConnectionSpec target = db.newTargetDatabase("throttle_cap", true);
        metrics(source, target, 60000);
        String src = TestDatabases.uri(source);
        String tgt = TestDatabases.uri(target);
        String ours = "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'tsmigrate' "
                + "AND pid <> pg_backend_pid()";
        List<CliProcess> processes = new ArrayList<>();
        long most = 0;
        try {
            for (String name : List.of("first", "second", "third")) {
                processes.add(CliProcess.start(List.of("backfill", "--source", src, "--target", tgt, "--until", T, "--workers", "2",
                        "--max-source-connections", "3", "--max-range-rows", "2000", "--max-rate", "3000", "--worker-name", name)));
                if (!name.equals("third")) {
                    CliProcess started = processes.get(processes.size() - 1);
                    Await.until(name + " copying", () -> {
                        assertThat(started.isAlive()).as(started.output()).isTrue();
                        return queryLong(target, "SELECT count(*) FROM tsmigrate.backfill_attempt WHERE worker LIKE '" + name + "-%'") > 0;
                    });
                }
            }
            CliProcess third = processes.get(2);
            Await.until("the third process waiting for a slot", () -> third.output().contains("waiting for a source connection: "
                    + "the 3 that --max-source-connections allows are in use by other processes of this migration"));
            while (processes.stream().anyMatch(CliProcess::isAlive)) {
                most = Math.max(most, queryLong(source, ours));
                Thread.sleep(20); // sampling while they run, not waiting for an outcome
            }
            for (CliProcess p : processes) {
                p.close();
                assertThat(p.exitValue()).as(p.output()).isZero();
            }
        } finally {
            for (CliProcess p : processes) {
                p.close();
            }
        }
        assertThat(most).as("source connections of the three processes at once").isPositive().isLessThanOrEqualTo(3);
        assertThat(queryLong(target, "SELECT count(DISTINCT split_part(worker, '-', 1)) FROM tsmigrate.backfill_attempt "
                + "WHERE worker NOT LIKE 'third-%'")).as("the first two copied side by side").isEqualTo(2);
        assertThat(checksum(target, "metrics", "true")).isEqualTo(checksum(source, "metrics", "time < '" + T + "'"));
    }

    @Test
    void aSlowCopyReadsEachRangeInShortSnapshotsIntoOneTargetTransaction(TestDatabases db) throws Exception {
        ConnectionSpec source = db.newSourceDatabase("throttle_pieces");
        ConnectionSpec target = db.newTargetDatabase("throttle_pieces", true);
        metrics(source, target, 20000);
        // Three ranges from --from (8,640, 8,640 and 2,720 rows; a range open at its start is read whole); at 2,000
        // rows/s each is read in pieces of about 2,000 rows, every piece a COPY in a transaction of its own on the
        // source, read at once and paced between pieces, so no snapshot lasts the range's seconds (the next test
        // shows that none is open while the copy waits). The COPYs are counted as the source counts the table's scans.
        String until = "2026-11-03 12:00:00+00";
        String scans = "SELECT coalesce(seq_scan, 0) + coalesce(idx_scan, 0) FROM pg_stat_user_tables WHERE relname = 'metrics'";
        long scansBefore = queryLong(source, scans);
        try (CliProcess p = CliProcess.start(List.of("backfill", "--source", TestDatabases.uri(source), "--target",
                TestDatabases.uri(target), "--from", "2026-11-01 00:00:00+00", "--until", until, "--max-rate", "2000",
                "--worker-name", "pieces"))) {
            assertThat(p.waitFor(300)).as(p.output()).isTrue();
            assertThat(p.exitValue()).as(p.output()).isZero();
        }
        long ranges = queryLong(target, "SELECT count(*) FROM tsmigrate.backfill_range WHERE state = 'done'");
        assertThat(ranges).isEqualTo(3);
        // The backfill's backends have ended, so their counts have reached the statistics.
        Await.until("the source's statistics count the backfill's reads", () -> queryLong(source, scans) - scansBefore >= ranges + 3);
        assertThat(queryLong(target, "SELECT count(*) FROM tsmigrate.backfill_attempt WHERE worker LIKE 'pieces-%'"))
                .as("one target transaction (attempt) per range").isEqualTo(ranges);
        assertRangesIdentical(source, target, "metrics", "time", "timestamptz");
        assertThat(checksum(target, "metrics", "true")).isEqualTo(checksum(source, "metrics", "time < '" + until + "'"));
    }

    @Test
    void aPacedCopyHoldsNoSnapshotOnTheSourceWhileTheTargetMakesItWait(TestDatabases db) throws Exception {
        ConnectionSpec source = db.newSourceDatabase("throttle_wait");
        ConnectionSpec target = db.newTargetDatabase("throttle_wait", true);
        metrics(source, target, 20000);
        String until = "2026-11-03 00:00:00+00";
        // Another transaction on the target creates the chunk of 2 November and stays open, as a dual-write or
        // another range's transaction does: the copy into that day waits for it on the target.
        try (Connection blocker = TestDatabases.dataSource(target).getConnection(); Statement st = blocker.createStatement()) {
            blocker.setAutoCommit(false);
            st.execute("INSERT INTO metrics VALUES ('2026-11-02 12:00:00.5+00', -1, 0)");
            try (CliProcess p = CliProcess.start(List.of("backfill", "--source", TestDatabases.uri(source), "--target",
                    TestDatabases.uri(target), "--from", "2026-11-02 00:00:00+00", "--until", until, "--max-rate", "100000",
                    "--workers", "1"))) {
                Await.until("the copy waits on the target", () -> queryLong(target, "SELECT count(*) FROM pg_stat_activity "
                        + "WHERE application_name = 'tsmigrate' AND wait_event_type = 'Lock'") > 0);
                assertThat(TestDatabases.rows(source, "SELECT state, now() - xact_start, query FROM pg_stat_activity "
                        + "WHERE application_name = 'tsmigrate' AND xact_start IS NOT NULL AND pid <> pg_backend_pid()"))
                        .as("tsmigrate's transactions on the source while the target makes the copy wait").isEmpty();
                blocker.rollback();
                assertThat(p.waitFor(300)).as(p.output()).isTrue();
                assertThat(p.exitValue()).as(p.output()).isZero();
            }
        }
        assertRangesIdentical(source, target, "metrics", "time", "timestamptz");
        assertThat(checksum(target, "metrics", "true")).isEqualTo(checksum(source, "metrics",
                "time >= '2026-11-02 00:00:00+00' AND time < '" + until + "'"));
    }

    private static void metrics(ConnectionSpec source, ConnectionSpec target, int rows) {
        TestDatabases.execute(source, "CREATE TABLE metrics (time timestamptz NOT NULL, device_id int, cpu float8)",
                "INSERT INTO metrics SELECT timestamptz '2026-11-01' + g * interval '10 seconds', g % 20, g / 3.0 "
                        + "FROM generate_series(0, " + rows + ") g", "ANALYZE");
        Fixtures.migrateSchema(source, target, "1 day", "metrics");
    }

    /** Sessions of another application ("busy") running a statement on the source until closed. */
    private static final class BusySessions implements AutoCloseable {
        private final ConnectionSpec source;
        private final List<Connection> connections = new ArrayList<>();
        private final ExecutorService sleepers;

        private BusySessions(ConnectionSpec source, int n) {
            this.source = source;
            this.sleepers = Executors.newFixedThreadPool(n);
        }

        /** Starts {@code n} of them and returns once the source shows them running. */
        static BusySessions start(ConnectionSpec source, int n) throws SQLException {
            BusySessions busy = new BusySessions(source, n);
            for (int i = 0; i < n; i++) {
                java.util.Properties props = new java.util.Properties();
                props.putAll(source.jdbc().properties());
                props.setProperty("ApplicationName", "busy");
                Connection c = java.sql.DriverManager.getConnection(source.jdbc().url(), props);
                busy.connections.add(c);
                busy.sleepers.submit(() -> {
                    try (Statement st = c.createStatement()) {
                        st.execute("SELECT pg_sleep(600)");
                    }
                    return null;
                });
            }
            Await.until(n + " busy sessions on the source", () -> busySessions(source) == n);
            return busy;
        }

        /** Ends their statements (also when a test did already) and closes them. */
        @Override
        public void close() throws Exception {
            TestDatabases.execute(source, "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE application_name = 'busy'");
            sleepers.shutdownNow();
            sleepers.awaitTermination(60, TimeUnit.SECONDS);
            for (Connection c : connections) {
                c.close();
            }
        }
    }

    private static long busySessions(ConnectionSpec source) {
        return queryLong(source, "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'busy' AND state = 'active'");
    }

    private static Timestamp checkedAt(ConnectionSpec target) {
        return Timestamp.valueOf(TestDatabases.queryString(target, "SELECT updated_at::timestamp FROM tsmigrate.throttle "
                + "WHERE process = 'throttled'"));
    }
}
