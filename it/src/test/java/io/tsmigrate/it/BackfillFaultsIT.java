package io.tsmigrate.it;

import io.tsmigrate.core.backfill.Backfill;
import io.tsmigrate.core.backfill.BackfillListener;
import io.tsmigrate.core.backfill.BackfillOptions;
import io.tsmigrate.core.backfill.BackfillResult;
import io.tsmigrate.core.backfill.MaxRate;
import io.tsmigrate.core.connect.ConnectionSpec;
import io.tsmigrate.testkit.PgServersExtension;
import io.tsmigrate.testkit.TestDatabases;
import io.tsmigrate.testkit.TestServers;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import static io.tsmigrate.it.Fixtures.assertRangesIdentical;
import static io.tsmigrate.it.Fixtures.checksum;
import static io.tsmigrate.testkit.TestDatabases.queryLong;
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
        List<String> args = List.of("java", "-cp", Fixtures.CLI_JAR.toString(), "io.tsmigrate.cli.Main", "backfill",
                "--source", db.sourceUri(), "--target", TestDatabases.uri(target), "--until", T,
                "--workers", "2", "--max-range-rows", "4000");
        for (int kill = 0; kill < 3; kill++) {
            List<String> slow = new ArrayList<>(args);
            slow.addAll(List.of("--max-rate", "25000"));
            Process p = new ProcessBuilder(slow).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            Thread.sleep(ThreadLocalRandom.current().nextLong(900, 2200));
            p.destroyForcibly(); // SIGKILL: no shutdown hook, transactions cut mid-COPY
            assertThat(p.waitFor(10, TimeUnit.SECONDS)).isTrue();
        }
        long doneBeforeLastRun = queryLong(target, "SELECT count(*) FROM tsmigrate.backfill_range WHERE state = 'done'");
        assertThat(doneBeforeLastRun).as("some ranges finished before the kills").isPositive();
        assertThat(queryLong(target, "SELECT count(*) FROM tsmigrate.backfill_attempt WHERE outcome IS NULL"))
                .as("attempts cut short by a kill").isPositive();
        Process last = new ProcessBuilder(args).redirectErrorStream(true).start();
        String output = new String(last.getInputStream().readAllBytes());
        assertThat(last.waitFor(120, TimeUnit.SECONDS)).isTrue();
        assertThat(last.exitValue()).as(output).isZero();
        assertThat(checksum(target, "metrics", "true")).isEqualTo(checksum(db.source(), "metrics", BEFORE_T));
        assertRangesIdentical(db.source(), target, "metrics", "time", "timestamptz");
    }

    @Test
    void retriesRangesWhoseSourceOrTargetBackendIsTerminated(TestDatabases db) throws Exception {
        ConnectionSpec target = db.newTargetDatabase("faults_terminate", true);
        Fixtures.migrateSchema(db.source(), target, "1 day", "metrics");
        BackfillOptions options = new BackfillOptions(Optional.of(T), Optional.empty(), List.of(), 1, 30_000,
                Optional.of(MaxRate.parse("30000")), 5, false, "terminated", Clock.systemUTC());
        CompletableFuture<BackfillResult> run = CompletableFuture.supplyAsync(() ->
                Backfill.run(db.source(), target, options, BackfillListener.NONE, new AtomicBoolean()));
        assertThat(terminateCopy(db.source(), "COPY (SELECT")).as("a source COPY was terminated").isTrue();
        waitFor(() -> queryLong(target, "SELECT count(*) FROM tsmigrate.backfill_attempt WHERE outcome = 'retry'") >= 1);
        assertThat(terminateCopy(target, "COPY \"public\".\"metrics\"")).as("a target COPY was terminated").isTrue();
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
        BackfillOptions options = new BackfillOptions(Optional.of(T), Optional.empty(), List.of(), 2, 5_000,
                Optional.of(MaxRate.parse("30000")), 8, false, "restart", Clock.systemUTC());
        CompletableFuture<BackfillResult> run = CompletableFuture.supplyAsync(() ->
                Backfill.run(db.source(), target, options, BackfillListener.NONE, new AtomicBoolean()));
        waitFor(() -> queryLong(target, "SELECT count(*) FROM tsmigrate.backfill_range WHERE state = 'done'") >= 3);
        servers.pair().get().target().kill();
        Thread.sleep(1500);
        servers.pair().get().target().restart();
        BackfillResult result = run.get(180, TimeUnit.SECONDS);
        assertThat(result.complete()).as(String.valueOf(result.failures())).isTrue();
        assertThat(checksum(target, "metrics", "true")).isEqualTo(checksum(db.source(), "metrics", BEFORE_T));
        assertRangesIdentical(db.source(), target, "metrics", "time", "timestamptz");
    }

    /** Terminates the first backend running a query that starts with {@code prefix}; false if none appeared in 30 s. */
    private static boolean terminateCopy(ConnectionSpec server, String prefix) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < deadline) {
            long terminated = queryLong(server, "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE pid <> "
                    + "pg_backend_pid() AND state IN ('active', 'idle in transaction') AND query LIKE '" + prefix.replace("'", "''") + "%' "
                    + "AND datname = current_database()");
            if (terminated > 0) {
                return true;
            }
            Thread.sleep(50);
        }
        return false;
    }

    private static void waitFor(java.util.function.BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("condition not met in 60 s");
            }
            Thread.sleep(100);
        }
    }
}
