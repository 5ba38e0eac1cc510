package io.tsmigrate.it;

import io.tsmigrate.core.backfill.Backfill;
import io.tsmigrate.core.backfill.BackfillListener;
import io.tsmigrate.core.backfill.BackfillOptions;
import io.tsmigrate.core.backfill.BackfillResult;
import io.tsmigrate.core.backfill.MaxRate;
import io.tsmigrate.core.connect.ConnectionSpec;
import io.tsmigrate.servers.Await;
import io.tsmigrate.it.kit.PgServersExtension;
import io.tsmigrate.it.kit.TestDatabases;
import io.tsmigrate.it.kit.TestServers;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import static io.tsmigrate.it.Fixtures.assertRangesIdentical;
import static io.tsmigrate.it.Fixtures.checksum;
import static io.tsmigrate.it.kit.TestDatabases.queryLong;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** The backfill survives what production does to it: killed processes, terminated backends, a restarted server. */
@ExtendWith(PgServersExtension.class)
class BackfillFaultsIT {

    static final String T = "2026-11-11 00:00:00+00";
    static final String BEFORE_T = "time < '" + T + "'";

    @BeforeAll
    static void createSource(TestDatabases db) {
        db.source("CREATE TABLE metrics (time timestamptz NOT NULL, device_id int, cpu float8, note text)",
                "INSERT INTO metrics SELECT timestamptz '2026-11-01' + g * interval '8 seconds', g % 50, g / 7.0, "
                        + "CASE WHEN g % 10 = 0 THEN NULL ELSE 'n' || g END FROM generate_series(0, 120000) g",
                "CREATE INDEX ON metrics (time)", "ANALYZE");
    }

    @Test
    void finishesWithIdenticalDataAfterTheProcessIsKilledAgainAndAgain(TestDatabases db) throws Exception {
        ConnectionSpec target = db.newTargetDatabase("faults_kill", true);
        Fixtures.migrateSchema(db.source(), target, "1 day", "metrics");
        List<String> args = List.of("backfill", "--source", db.sourceUri(), "--target", TestDatabases.uri(target), "--until", T,
                "--workers", "2", "--max-range-rows", "4000");
        List<String> slow = new ArrayList<>(args);
        slow.addAll(List.of("--max-rate", "25000"));
        for (int k = 1; k <= 3; k++) {
            int kill = k;
            long doneBefore = doneRanges(target);
            long lastAttempt = queryLong(target, "SELECT coalesce(max(id), 0) FROM tsmigrate.backfill_attempt");
            try (CliProcess p = CliProcess.start(slow)) {
                // Killed only once this run has finished a range and is inside the next one's COPY:
                // how long the JVM takes to get there depends on the machine, not on the test.
                Await.until("run " + kill + " to finish a range and be copying another", () -> {
                    assertThat(p.isAlive()).as("run " + kill + " still running (it exited before it could be killed)").isTrue();
                    return doneRanges(target) > doneBefore
                            && queryLong(target, "SELECT count(*) FROM tsmigrate.backfill_attempt WHERE outcome IS NULL AND id > " + lastAttempt) > 0
                            && queryLong(target, "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                    + "AND state = 'active' AND query LIKE 'COPY %'") > 0;
                });
                p.kill(); // SIGKILL: no shutdown hook, transactions cut mid-COPY
                assertThat(p.exitValue()).as("killed, not finished").isNotZero();
            }
        }
        assertThat(doneRanges(target)).as("ranges left for the last run")
                .isLessThan(queryLong(target, "SELECT count(*) FROM tsmigrate.backfill_range"));
        assertThat(doneRanges(target)).as("some ranges finished before the kills").isGreaterThanOrEqualTo(3);
        assertThat(queryLong(target, "SELECT count(*) FROM tsmigrate.backfill_attempt WHERE outcome IS NULL"))
                .as("attempts cut short by a kill").isPositive();
        Cli.Result last = Cli.run(args.toArray(String[]::new));
        assertThat(last.exitCode()).as(last.toString()).isZero();
        assertThat(checksum(target, "metrics", "true")).isEqualTo(checksum(db.source(), "metrics", BEFORE_T));
        assertRangesIdentical(db.source(), target, "metrics", "time", "timestamptz");
    }

    @Test
    void ctrlCStopsTheRangesInHandAtOnceAndARerunFinishes(TestDatabases db) throws Exception {
        ConnectionSpec target = db.newTargetDatabase("faults_ctrl_c", true);
        Fixtures.migrateSchema(db.source(), target, "1 day", "metrics");
        List<String> args = List.of("backfill", "--source", db.sourceUri(), "--target", TestDatabases.uri(target), "--until", T,
                "--workers", "2");
        List<String> slow = new ArrayList<>(args);
        slow.addAll(List.of("--max-rate", "200")); // a day's range (10,800 rows) would take about a minute
        try (CliProcess p = CliProcess.start(slow)) {
            Await.until("a range's COPY under way", () -> {
                assertThat(p.isAlive()).as("backfill still running: " + p.output()).isTrue();
                return queryLong(target, "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                        + "AND state = 'active' AND query LIKE 'COPY %'") > 0;
            });
            p.interrupt();
            // Far less than the minute the range in hand needed: it was rolled back, not finished.
            assertThat(p.waitFor(20)).as("stopped soon after Ctrl-C").isTrue();
            p.close();
            assertThat(p.exitValue()).as(p.output()).isEqualTo(130);
            assertThat(p.output()).contains("tsmigrate: stopping backfill (Ctrl-C)")
                    .contains("tsmigrate: interrupted: the ranges in progress rolled back");
        }
        assertThat(doneRanges(target)).as("no range finished in the minute it needed").isZero();
        assertThat(queryLong(target, "SELECT count(*) FROM tsmigrate.backfill_range WHERE state = 'failed'")).isZero();
        assertThat(queryLong(target, "SELECT count(*) FROM tsmigrate.backfill_attempt WHERE outcome = 'stopped'")).isPositive();
        assertThat(queryLong(target, "SELECT count(*) FROM metrics")).as("nothing half-copied").isZero();

        Cli.Result rerun = Cli.run(args.toArray(String[]::new));
        assertThat(rerun.exitCode()).as(rerun.toString()).isZero();
        assertThat(checksum(target, "metrics", "true")).isEqualTo(checksum(db.source(), "metrics", BEFORE_T));
    }

    /**
     * --max-rate holds the copy to at most the rate given (plus the one-second burst the limiter
     * allows): checked as a lower bound on the time taken, which a loaded machine can only lengthen.
     */
    @Test
    void maxRateLimitsRowsAndBytesPerSecond(TestDatabases db) {
        for (String rate : List.of("30000", "1MB/s")) {
            ConnectionSpec target = db.newTargetDatabase("faults_rate_" + rate.replaceAll("\\W", ""), true);
            Fixtures.migrateSchema(db.source(), target, "1 day", "metrics");
            MaxRate limit = MaxRate.parse(rate);
            BackfillResult r = Backfill.run(db.source(), target, BackfillOptions.builder().until(T).maxRate(Optional.of(limit))
                    .maxAttempts(3).workerName("rate").build(), BackfillListener.NONE, new AtomicBoolean());
            assertThat(r.complete()).isTrue();
            double amount = limit.bytes() ? r.bytes() : r.rows();
            double fastestAllowed = amount / limit.perSecond() - 1.0;
            assertThat(fastestAllowed).as("enough to copy for the limit to matter").isGreaterThan(1.5);
            assertThat(r.elapsed().toMillis() / 1000.0).as(rate + ": " + (long) amount + (limit.bytes() ? " bytes" : " rows"))
                    .isGreaterThanOrEqualTo(fastestAllowed);
            assertThat(checksum(target, "metrics", "true")).isEqualTo(checksum(db.source(), "metrics", BEFORE_T));
        }
    }

    @Test
    void retriesRangesWhoseSourceOrTargetBackendIsTerminated(TestDatabases db) throws Exception {
        ConnectionSpec target = db.newTargetDatabase("faults_terminate", true);
        Fixtures.migrateSchema(db.source(), target, "1 day", "metrics");
        BackfillOptions options = BackfillOptions.builder().until(T).workers(1).maxRangeRows(30_000)
                .maxRate(Optional.of(MaxRate.parse("30000"))).workerName("terminated").build();
        CompletableFuture<BackfillResult> run = CompletableFuture.supplyAsync(() ->
                Backfill.run(db.source(), target, options, BackfillListener.NONE, new AtomicBoolean()));
        // A paced copy reads a piece at once and waits between pieces with no transaction open: its source
        // connection is cut wherever it is (its last statement a piece's COPY or its COMMIT).
        terminate(db.source(), "the backfill's source connection", "application_name = 'tsmigrate' "
                + "AND (query LIKE 'COPY (SELECT%' OR query = 'COMMIT')");
        Await.until("a retry after the terminated source COPY", () -> queryLong(target, "SELECT count(*) FROM tsmigrate.backfill_attempt WHERE outcome = 'retry'") >= 1);
        terminate(target, "a backend running COPY \"public\".\"metrics\"", "state IN ('active', 'idle in transaction') "
                + "AND query LIKE 'COPY \"public\".\"metrics\"%'");
        BackfillResult result = run.get(120, TimeUnit.SECONDS);
        assertThat(result.complete()).isTrue();
        assertThat(queryLong(target, "SELECT count(*) FROM tsmigrate.backfill_attempt WHERE outcome = 'retry'")).isGreaterThanOrEqualTo(2);
        assertThat(checksum(target, "metrics", "true")).isEqualTo(checksum(db.source(), "metrics", BEFORE_T));
        assertRangesIdentical(db.source(), target, "metrics", "time", "timestamptz");
    }

    @Test
    void survivesATargetServerRestart(TestDatabases db, TestServers servers) throws Exception {
        assumeTrue(servers.pair().isPresent(), "needs a server the suite may restart");
        ConnectionSpec target = db.newTargetDatabase("faults_restart", true);
        Fixtures.migrateSchema(db.source(), target, "1 day", "metrics");
        BackfillOptions options = BackfillOptions.builder().until(T).maxRangeRows(5_000)
                .maxRate(Optional.of(MaxRate.parse("30000"))).maxAttempts(8).workerName("restart").build();
        CompletableFuture<BackfillResult> run = CompletableFuture.supplyAsync(() ->
                Backfill.run(db.source(), target, options, BackfillListener.NONE, new AtomicBoolean()));
        Await.until("three ranges done and a COPY under way", () -> doneRanges(target) >= 3 && queryLong(target,
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND state = 'active' AND query LIKE 'COPY %'") > 0);
        long all = queryLong(target, "SELECT count(*) FROM tsmigrate.backfill_range");
        assertThat(doneRanges(target)).as("ranges left when the server goes down").isLessThan(all);
        servers.pair().get().target().kill(); // immediate shutdown: every session, the COPY in flight with them, is cut
        assertThat(run).as("the backfill is still running while the target is down").isNotDone();
        servers.pair().get().target().restart();
        BackfillResult result = run.get(180, TimeUnit.SECONDS);
        assertThat(result.complete()).as(String.valueOf(result.failures())).isTrue();
        assertThat(queryLong(target, "SELECT count(*) FROM (SELECT range_id FROM tsmigrate.backfill_attempt GROUP BY range_id "
                + "HAVING count(*) > 1) again")).as("the range cut by the restart was attempted again").isPositive();
        assertThat(checksum(target, "metrics", "true")).isEqualTo(checksum(db.source(), "metrics", BEFORE_T));
        assertRangesIdentical(db.source(), target, "metrics", "time", "timestamptz");
    }

    private static long doneRanges(ConnectionSpec target) {
        return queryLong(target, "SELECT count(*) FROM tsmigrate.backfill_range WHERE state = 'done'");
    }

    /** Terminates the backends of {@code server}'s database that match {@code condition}, once one does. */
    private static void terminate(ConnectionSpec server, String what, String condition) {
        Await.until(what + " to terminate", () -> queryLong(server, "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                + "WHERE pid <> pg_backend_pid() AND datname = current_database() AND (" + condition + ")") > 0);
    }
}
