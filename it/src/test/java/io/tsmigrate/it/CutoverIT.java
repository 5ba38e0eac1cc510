package io.tsmigrate.it;

import io.tsmigrate.core.backfill.BackfillOptions;
import io.tsmigrate.core.connect.ConnectionSpec;
import io.tsmigrate.dualwrite.DualWriteDataSource;
import io.tsmigrate.servers.Await;
import io.tsmigrate.it.kit.PgServersExtension;
import io.tsmigrate.it.kit.TestDatabases;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import static io.tsmigrate.it.Fixtures.checksum;
import static io.tsmigrate.it.kit.TestDatabases.queryLong;
import static org.assertj.core.api.Assertions.assertThat;

/** Shadow reads, {@code compare-load} and {@code cutover} with an application running through them. */
@ExtendWith(PgServersExtension.class)
class CutoverIT {

    static final String T = "2026-11-11 00:00:00+00";

    private final TestDatabases db;
    private ConnectionSpec source;
    private ConnectionSpec target;
    private Path journal;

    CutoverIT(TestDatabases db) {
        this.db = db;
    }

    @BeforeEach
    void migrate() throws Exception {
        source = db.newSourceDatabase("co_source");
        target = db.newTargetDatabase("co_target", true);
        TestDatabases.execute(source, "CREATE TABLE events (id bigint, time timestamptz NOT NULL, device int, v float8, "
                        + "PRIMARY KEY (id, time))",
                "INSERT INTO events SELECT g, timestamptz '2026-11-01' + g * interval '10 seconds', g % 10, g / 3.0 "
                        + "FROM generate_series(1, 50000) g",
                "CREATE SEQUENCE order_no START 100", "SELECT nextval('order_no')", "ANALYZE");
        Fixtures.migrateSchema(source, target, "1 day", "events");
        // The source hands out more order numbers after the schema was copied: the target's sequence falls behind.
        TestDatabases.execute(source, "SELECT nextval('order_no') FROM generate_series(1, 5)");
        journal = Files.createTempDirectory("co-journal");
    }

    @AfterEach
    void removeJournal() throws Exception {
        try (var files = Files.walk(journal)) {
            for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }

    private DualWriteDataSource application(double shadowShare) {
        return DualWriteDataSource.builder().primary(TestDatabases.dataSource(source)).secondary(TestDatabases.dataSource(target))
                .journalDirectory(journal).application("cutover-it").writerName("app-" + UUID.randomUUID())
                .healthCheckInterval(Duration.ofMillis(200)).shadowReadShare(shadowShare).build();
    }

    private void backfill() {
        backfill(T);
    }

    private void backfill(String until) {
        assertThat(BackfillIT.backfill(source, target, new BackfillOptions(Optional.of(until), Optional.empty(), List.of(), 2, 100_000,
                Optional.empty(), 3, false, "co", Clock.systemUTC())).complete()).isTrue();
    }

    private Cli.Result cli(String... args) {
        List<String> all = new java.util.ArrayList<>(List.of(args));
        all.addAll(List.of("--source", TestDatabases.uri(source), "--target", TestDatabases.uri(target)));
        return Cli.run(all.toArray(String[]::new));
    }

    @Test
    void refusesToCutOverUntilVerifiedAndNamesWhatIsMissing() {
        Cli.Result early = cli("cutover");
        assertThat(early.exitCode()).isEqualTo(4);
        assertThat(early.out()).containsPattern("failed +backfill +the backfill is not complete for public.events \\(0/0 ranges done\\)")
                .containsPattern("failed +verification +no exact verification of every table has run \\(a run with --table, "
                        + "--from or --until does not count\\): run tsmigrate verify");
        assertThat(early.err()).startsWith("tsmigrate: cannot cut over: the backfill is not complete");
        backfill();
        // A check of one table proves nothing about the others.
        assertThat(cli("verify", "--table", "public.events").exitCode()).isZero();
        Cli.Result unverified = cli("cutover");
        assertThat(unverified.exitCode()).isEqualTo(4);
        assertThat(unverified.out()).containsPattern("ok +backfill").containsPattern("failed +verification +no exact verification "
                + "of every table has run");
        // A whole check that passed does not outweigh a later one of a single table that found differences.
        assertThat(cli("verify").exitCode()).isZero();
        TestDatabases.execute(target, "DELETE FROM events WHERE id = (SELECT min(id) FROM events)");
        assertThat(cli("verify", "--table", "public.events").exitCode()).isEqualTo(5);
        assertThat(cli("cutover").out()).containsPattern("failed +verification +the last verification \\(.*\\) found differences");
        assertThat(TestDatabases.queryString(target, "SELECT value FROM tsmigrate.meta WHERE key = 'primary'")).isEqualTo("source");
    }

    @Test
    void anApplicationKeepsWritingThroughCutoverAndRollbackAndNothingIsLostOrDoubled() throws Exception {
        AtomicLong written = new AtomicLong();
        AtomicBoolean stop = new AtomicBoolean();
        try (DualWriteDataSource app = application(0)) {
            CompletableFuture<Void> writing = CompletableFuture.runAsync(() -> keepWriting(app, written, stop));
            Await.until("the application to write", () -> written.get() > 20);
            // T just after the writer began dual-writing (runbook step 5, with no late data): rows
            // before it come from the backfill, rows from it on from the dual-writes.
            Instant began = Instant.parse(TestDatabases.queryString(target, "SELECT to_char(max(started_at) AT TIME ZONE 'UTC', "
                    + "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') FROM tsmigrate.writer"));
            Instant t = began.plusSeconds(1);
            Await.until("the clock to pass T", () -> Instant.now().isAfter(t.plusMillis(200)));
            backfill(t.toString());
            assertThat(cli("verify").exitCode()).isZero();
            Cli.Result dry = cli("cutover", "--dry-run");
            assertThat(dry.out()).contains("Dry run: the source is the primary; nothing changed.");
            Cli.Result cut = cli("cutover", "--advance-sequences", "1000", "--wait", "20s");
            assertThat(cut.exitCode()).as(cut.toString()).isZero();
            assertThat(cut.out()).contains("The target is the primary now.").contains("primary target");
            assertThat(app.targetIsPrimary()).isTrue();
            // From now on the source is the backup: nothing copies it over the target.
            Cli.Result repair = cli("verify", "--repair");
            assertThat(repair.exitCode()).as(repair.toString()).isEqualTo(4);
            assertThat(repair.err()).contains("the target is the primary since cutover: --repair would copy the source, now only "
                    + "a backup, over it and lose what only the target holds");
            Cli.Result again = cli("backfill", "--until", t.toString());
            assertThat(again.exitCode()).as(again.toString()).isEqualTo(4);
            assertThat(again.err()).contains("the target is the primary since cutover: the backfill would copy the source");
            assertThat(queryLong(target, "SELECT last_value FROM order_no")).isEqualTo(1105);
            long atCutover = written.get();
            Await.until("writes after the cutover", () -> written.get() > atCutover + 20);
            Cli.Result back = cli("cutover", "--rollback", "--wait", "20s");
            assertThat(back.exitCode()).as(back.toString()).isZero();
            assertThat(app.targetIsPrimary()).isFalse();
            long atRollback = written.get();
            Await.until("writes after the rollback", () -> written.get() > atRollback + 20);
            stop.set(true);
            writing.get(30, TimeUnit.SECONDS);
            assertThat(app.stats().diverted()).isFalse();
        }
        assertThat(checksum(target, "events", "true")).isEqualTo(checksum(source, "events", "true"));
        assertThat(queryLong(source, "SELECT count(*) FROM events WHERE id > 1000000")).isEqualTo(written.get());
    }

    /** Each write a transaction of its own, with values the application chooses. */
    private static void keepWriting(DualWriteDataSource app, AtomicLong written, AtomicBoolean stop) {
        long id = 1_000_000;
        while (!stop.get()) {
            try (Connection c = app.getConnection()) {
                c.setAutoCommit(false);
                try (PreparedStatement ps = c.prepareStatement("INSERT INTO events VALUES (?, ?, ?, ?)")) {
                    ps.setLong(1, ++id);
                    // Rows carry the time they are written at, as live data does.
                    ps.setTimestamp(2, Timestamp.from(Instant.now()));
                    ps.setInt(3, (int) (id % 10));
                    ps.setDouble(4, id / 7.0);
                    ps.executeUpdate();
                }
                c.commit();
                written.incrementAndGet();
                Thread.sleep(20);
            } catch (SQLException | InterruptedException e) {
                throw new IllegalStateException("the application's write failed: " + e.getMessage(), e);
            }
        }
    }

    @Test
    void refusesWhileASequenceIsBehindOrTheLastVerificationIsTooOld() {
        backfill();
        assertThat(cli("verify").exitCode()).isZero();
        Cli.Result behind = cli("cutover");
        assertThat(behind.exitCode()).as(behind.toString()).isEqualTo(4);
        assertThat(behind.out()).containsPattern("failed +sequences +1 target sequence\\(s\\) are behind the source \\(public.order_no "
                + "100 < 105\\): pass --advance-sequences N");
        assertThat(TestDatabases.queryString(target, "SELECT value FROM tsmigrate.meta WHERE key = 'primary'")).isEqualTo("source");

        Await.until("the verification to be more than a second old", () -> TestDatabases.queryLong(target, "SELECT count(*) FROM "
                + "tsmigrate.verification_run WHERE finished_at < now() - interval '1 second'") > 0);
        Cli.Result stale = cli("cutover", "--advance-sequences", "10", "--max-verify-age", "1s");
        assertThat(stale.exitCode()).as(stale.toString()).isEqualTo(4);
        assertThat(stale.out()).containsPattern("failed +verification +the last verification that passed is from .*, older than "
                + "--max-verify-age");
        assertThat(TestDatabases.queryLong(target, "SELECT last_value FROM order_no")).as("nothing changed on a refusal").isEqualTo(100);

        Cli.Result cut = cli("cutover", "--advance-sequences", "10");
        assertThat(cut.exitCode()).as(cut.toString()).isZero();
        assertThat(TestDatabases.queryLong(target, "SELECT last_value FROM order_no")).isEqualTo(115);
        assertThat(TestDatabases.queryString(target, "SELECT value FROM tsmigrate.meta WHERE key = 'primary'")).isEqualTo("target");
    }

    @Test
    void shadowReadsReportARealDifferenceWithItsQueryShape() throws Exception {
        backfill();
        TestDatabases.execute(target, "INSERT INTO events VALUES (999999, '2026-11-02 00:00:00+00', 3, 0)");
        try (DualWriteDataSource app = application(1.0); Connection c = app.getConnection()) {
            app.flushShadowReads(); // the first check learns that the backfill is complete
            for (int device = 0; device < 30; device++) {
                try (PreparedStatement ps = c.prepareStatement("SELECT count(*), sum(v) FROM events WHERE device = ? AND time < '2026-11-05'")) {
                    ps.setInt(1, device % 10);
                    try (ResultSet rs = ps.executeQuery()) {
                        while (rs.next()) {
                            rs.getLong(1);
                        }
                    }
                }
            }
            app.flushShadowReads();
        }
        Cli.Result r = cli("compare-load", "--min-samples", "1000");
        assertThat(r.exitCode()).as(r.toString()).isEqualTo(5);
        assertThat(r.out()).containsPattern("\\s+30\\s+3\\s+0\\s+.*select count\\(\\*\\), sum\\(v\\) from events where device = \\?"
                .replace("select", "SELECT").replace("from", "FROM").replace("where", "WHERE").replace("count", "count"))
                .contains("problem: 3 result mismatch(es) for SELECT count(*), sum(v) FROM events WHERE device = ? AND time < ?");
        assertThat(r.out()).contains("e.g. SELECT count(*), sum(v) FROM events WHERE device = ? AND time < '2026-11-05' with [3]");
    }
}
