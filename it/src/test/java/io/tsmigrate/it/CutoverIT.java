package io.tsmigrate.it;

import com.fasterxml.jackson.databind.JsonNode;
import io.tsmigrate.core.backfill.BackfillOptions;
import io.tsmigrate.core.connect.ConnectionSpec;
import io.tsmigrate.core.json.Json;
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
import java.sql.Statement;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
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
        assertThat(BackfillIT.backfill(source, target, BackfillOptions.builder().until(until).maxRangeRows(100_000)
                .maxAttempts(3).workerName("co").build()).complete()).isTrue();
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
        // Repaired with a check of that table only: what cutover needs now is a check of every table, not another repair.
        Cli.Result repaired = cli("verify", "--table", "public.events", "--repair");
        assertThat(repaired.exitCode()).as(repaired.toString()).isZero();
        assertThat(cli("cutover").out()).containsPattern("failed +verification +a verification \\(.*\\) found differences, and a later "
                + "check of part of the data \\(.*\\) matched: run tsmigrate verify, of every table, to confirm the whole");
        assertThat(cli("verify").exitCode()).isZero();
        assertThat(cli("cutover", "--dry-run").out()).containsPattern("ok +verification");
        // status lists the verifications, newest first, with their verdicts and summaries in words.
        Cli.Result status = Cli.run("status", "--target", TestDatabases.uri(target));
        String verifications = status.out().substring(status.out().indexOf("Verifications (newest first):"));
        assertThat(verifications).containsPattern("#\\d+ +exact +match +\\S+Z .*")
                .containsPattern("#\\d+ +exact +differs ").doesNotContain("{");
        assertThat(verifications.indexOf("match")).as("newest first").isLessThan(verifications.indexOf("differs"));
        assertThat(TestDatabases.queryString(target, "SELECT value FROM tsmigrate.meta WHERE key = 'primary'")).isEqualTo("source");
    }

    /**
     * Three threads of an application, each borrowing a connection per transaction from the
     * DataSource as a pool hands them out; every transaction inserts two rows, updates one, and reads
     * back what it wrote, and records which server answered its read ({@code current_setting('port')}):
     * the evidence that the target serves first after the switch comes from the servers, not from the
     * library's own flag.
     */
    @Test
    void anApplicationKeepsWritingThroughCutoverAndRollbackAndNothingIsLostOrDoubled() throws Exception {
        AtomicLong written = new AtomicLong();
        AtomicBoolean stop = new AtomicBoolean();
        Map<Integer, AtomicLong> servedBy = new ConcurrentHashMap<>();
        int sourcePort = port(source);
        int targetPort = port(target);
        try (DualWriteDataSource app = application(0)) {
            List<CompletableFuture<Void>> writing = new java.util.ArrayList<>();
            for (int thread = 0; thread < WRITERS; thread++) {
                long firstId = 1_000_000L + thread * 10_000_000L;
                writing.add(CompletableFuture.runAsync(() -> keepWriting(app, firstId, written, servedBy, stop)));
            }
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
            assertThat(count(servedBy, targetPort)).as("reads before the switch, on the source only").isZero();
            Cli.Result cut = cli("cutover", "--advance-sequences", "1000", "--wait", "20s");
            assertThat(cut.exitCode()).as(cut.toString()).isZero();
            assertThat(cut.out()).contains("The target is the primary now.").contains("primary target");
            // Transactions that borrowed their connection before the switch finish on the source (one per thread at most).
            long sourceAtCutover = count(servedBy, sourcePort);
            Await.until("transactions served by the target", () -> count(servedBy, targetPort) > 30);
            assertThat(count(servedBy, sourcePort)).as("source reads after the switch").isLessThanOrEqualTo(sourceAtCutover + WRITERS);
            // From now on the source is the backup: nothing copies it over the target.
            Cli.Result repair = cli("verify", "--repair");
            assertThat(repair.exitCode()).as(repair.toString()).isEqualTo(4);
            assertThat(repair.err()).contains("the target is the primary since cutover: --repair would copy the source, now only "
                    + "a backup, over it and lose what only the target holds");
            Cli.Result again = cli("backfill", "--until", t.toString());
            assertThat(again.exitCode()).as(again.toString()).isEqualTo(4);
            assertThat(again.err()).contains("the target is the primary since cutover: the backfill would copy the source");
            assertThat(queryLong(target, "SELECT last_value FROM order_no")).isEqualTo(1105);
            Cli.Result back = cli("cutover", "--rollback", "--wait", "20s");
            assertThat(back.exitCode()).as(back.toString()).isZero();
            long targetAtRollback = count(servedBy, targetPort);
            long sourceAtRollback = count(servedBy, sourcePort);
            Await.until("transactions served by the source again", () -> count(servedBy, sourcePort) > sourceAtRollback + 30);
            assertThat(count(servedBy, targetPort)).as("target reads after the rollback").isLessThanOrEqualTo(targetAtRollback + WRITERS);
            stop.set(true);
            CompletableFuture.allOf(writing.toArray(CompletableFuture[]::new)).get(30, TimeUnit.SECONDS);
            assertThat(app.stats().diverted()).isFalse();
        }
        assertThat(checksum(target, "events", "true")).isEqualTo(checksum(source, "events", "true"));
        assertThat(queryLong(source, "SELECT count(*) FROM events WHERE id > 1000000")).isEqualTo(2 * written.get());
        assertThat(queryLong(source, "SELECT count(*) FROM events WHERE id > 1000000 AND v < 0")).isEqualTo(written.get());
    }

    /**
     * A transaction open across the switch finishes where it began (the old primary) and still
     * reaches both sides; the application's next connection starts on the new primary, and so does the
     * first connection of an application started after the switch.
     */
    @Test
    void aTransactionOpenAcrossTheSwitchFinishesOnTheOldPrimaryAndReachesBothSides() throws Exception {
        backfill();
        assertThat(cli("verify").exitCode()).isZero();
        int sourcePort = port(source);
        int targetPort = port(target);
        try (DualWriteDataSource app = application(0)) {
            try (Connection open = app.getConnection()) {
                open.setAutoCommit(false);
                insertAndReadPort(open, 5_000_001L, sourcePort);
                Cli.Result cut = cli("cutover", "--advance-sequences", "1000", "--wait", "20s");
                assertThat(cut.exitCode()).as(cut.toString()).isZero();
                assertThat(app.targetIsPrimary()).isTrue();
                insertAndReadPort(open, 5_000_002L, sourcePort);
                open.commit();
            }
            try (Connection next = app.getConnection()) {
                next.setAutoCommit(false);
                insertAndReadPort(next, 5_000_003L, targetPort);
                next.commit();
            }
            assertThat(app.stats().diverted()).isFalse();
        }
        // An application started after the switch writes to the target first from its first connection,
        // not from its first background check (a long interval here: the check must not be what decides).
        try (DualWriteDataSource late = DualWriteDataSource.builder().primary(TestDatabases.dataSource(source))
                .secondary(TestDatabases.dataSource(target)).journalDirectory(journal).application("cutover-it")
                .writerName("late-" + UUID.randomUUID()).healthCheckInterval(Duration.ofMinutes(5)).build();
             Connection first = late.getConnection()) {
            first.setAutoCommit(false);
            insertAndReadPort(first, 5_000_004L, targetPort);
            first.commit();
        }
        for (ConnectionSpec side : List.of(source, target)) {
            assertThat(queryLong(side, "SELECT count(*) FROM events WHERE id BETWEEN 5000001 AND 5000004")).as(side.label()).isEqualTo(4);
        }
        assertThat(checksum(target, "events", "true")).isEqualTo(checksum(source, "events", "true"));
    }

    /** Inserts a row on the connection and checks which server answers a read in the same transaction. */
    private static void insertAndReadPort(Connection c, long id, int expectedPort) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO events VALUES (?, ?, 1, 1.0)")) {
            ps.setLong(1, id);
            ps.setTimestamp(2, Timestamp.from(Instant.parse("2026-11-20T00:00:00Z").plusSeconds(id % 1000)));
            ps.executeUpdate();
        }
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT current_setting('port')::int, "
                + "(SELECT count(*) FROM events WHERE id = " + id + ")")) {
            rs.next();
            assertThat(rs.getInt(1)).as("the server that answered").isEqualTo(expectedPort);
            assertThat(rs.getLong(2)).as("the transaction sees its own row").isEqualTo(1);
        }
    }

    private static final int WRITERS = 3;

    private static int port(ConnectionSpec spec) {
        return Integer.parseInt(TestDatabases.queryString(spec, "SELECT current_setting('port')"));
    }

    private static long count(Map<Integer, AtomicLong> servedBy, int port) {
        AtomicLong n = servedBy.get(port);
        return n == null ? 0 : n.get();
    }

    /**
     * A transaction at a time on a connection borrowed for it: two rows inserted (values the
     * application chooses), one of them updated, both read back on the same connection (a read must
     * see its own transaction's writes), and the port of the server that answered counted.
     */
    private static void keepWriting(DualWriteDataSource app, long firstId, AtomicLong written, Map<Integer, AtomicLong> servedBy,
                                    AtomicBoolean stop) {
        long id = firstId;
        while (!stop.get()) {
            try (Connection c = app.getConnection()) {
                c.setAutoCommit(false);
                long first = ++id;
                long second = ++id;
                try (PreparedStatement ps = c.prepareStatement("INSERT INTO events VALUES (?, ?, ?, ?)")) {
                    for (long row : new long[] {first, second}) {
                        ps.setLong(1, row);
                        // Rows carry the time they are written at, as live data does.
                        ps.setTimestamp(2, Timestamp.from(Instant.now()));
                        ps.setInt(3, (int) (row % 10));
                        ps.setDouble(4, row / 7.0);
                        ps.addBatch();
                    }
                    ps.executeBatch();
                }
                try (PreparedStatement ps = c.prepareStatement("UPDATE events SET v = -v WHERE id = ?")) {
                    ps.setLong(1, second);
                    assertThat(ps.executeUpdate()).isEqualTo(1);
                }
                try (PreparedStatement ps = c.prepareStatement("SELECT count(*) FILTER (WHERE v < 0), count(*), "
                        + "current_setting('port')::int FROM events WHERE id IN (?, ?)")) {
                    ps.setLong(1, first);
                    ps.setLong(2, second);
                    try (java.sql.ResultSet rs = ps.executeQuery()) {
                        rs.next();
                        assertThat(rs.getLong(1) + "/" + rs.getLong(2)).as("the transaction reads its own writes").isEqualTo("1/2");
                        servedBy.computeIfAbsent(rs.getInt(3), p -> new AtomicLong()).incrementAndGet();
                    }
                }
                c.commit();
                written.incrementAndGet();
                Thread.sleep(10);
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
        assertThat(TestDatabases.rows(target, "SELECT calls, compared, mismatches, expected_mismatches, dropped FROM tsmigrate.shadow_read "
                + "WHERE shape LIKE 'SELECT count(*), sum(v) FROM events%'")).containsExactly(List.of("30", "30", "3", "0", "0"));
    }

    /**
     * Before the backfill the target lacks history, so a difference is expected and counted apart; a
     * result the application stopped reading early is not compared (its digest would be partial);
     * after the backfill the same reads are compared as real.
     */
    @Test
    void shadowReadsBeforeTheBackfillAreExpectedToDifferAndPartlyReadResultsAreNotCompared() throws Exception {
        try (DualWriteDataSource app = application(1.0); Connection c = app.getConnection()) {
            app.flushShadowReads(); // the first check learns that the backfill is not complete
            readCounts(c, 5);
            for (int device = 0; device < 5; device++) {
                try (PreparedStatement ps = c.prepareStatement("SELECT id FROM events WHERE device = ? ORDER BY id")) {
                    ps.setInt(1, device);
                    try (ResultSet rs = ps.executeQuery()) {
                        assertThat(rs.next()).isTrue(); // the first of 5,000 rows, then the application stops reading
                    }
                }
            }
            app.flushShadowReads();
            assertThat(shadow("SELECT count(*), sum(v)%")).containsExactly(List.of("5", "5", "0", "5"));
            assertThat(shadow("SELECT id FROM events%")).as("results read in part are not compared").isEmpty();

            backfill();
            app.flushShadowReads(); // learns that the backfill is complete
            readCounts(c, 5);
            app.flushShadowReads();
            assertThat(shadow("SELECT count(*), sum(v)%")).containsExactly(List.of("10", "10", "0", "5"));
        }
    }

    /**
     * A secondary that cannot keep up never slows the application: with the target's table locked,
     * every read of the application still returns, the shadow queue fills, and what does not fit
     * is dropped and counted (in the stats and in tsmigrate.shadow_read).
     */
    @Test
    void aFullShadowQueueDropsReadsAndNeverWaits() throws Exception {
        backfill();
        int reads = 1300;
        try (DualWriteDataSource app = application(1.0); Connection c = app.getConnection();
             Connection lock = io.tsmigrate.core.connect.PgConnector.open(target)) {
            app.flushShadowReads();
            lock.setAutoCommit(false);
            try (Statement st = lock.createStatement()) {
                st.execute("LOCK TABLE events IN ACCESS EXCLUSIVE MODE");
            }
            try (PreparedStatement ps = c.prepareStatement("SELECT v FROM events WHERE id = ?")) {
                for (int i = 1; i <= reads; i++) {
                    ps.setLong(1, i);
                    try (ResultSet rs = ps.executeQuery()) {
                        assertThat(rs.next()).isTrue();
                        assertThat(rs.next()).isFalse();
                    }
                }
            }
            // Every read returned while the target's table was still locked.
            long dropped = app.stats().shadowDropped();
            assertThat(dropped).as("reads beyond the queue's 1,000 and the one waiting on the lock").isGreaterThanOrEqualTo(reads - 1001);
            lock.rollback();
            app.flushShadowReads();
            assertThat(shadow("(dropped: queue full)")).containsExactly(List.of("0", "0", "0", "0"));
            assertThat(TestDatabases.queryLong(target, "SELECT dropped FROM tsmigrate.shadow_read WHERE shape = '(dropped: queue full)'"))
                    .isEqualTo(dropped);
            assertThat(shadow("SELECT v FROM events%")).containsExactly(List.of(String.valueOf(reads - dropped),
                    String.valueOf(reads - dropped), "0", "0"));
        }
    }

    /**
     * compare-load judges latency by --max-slowdown and says so in --json: the target answers every
     * read of {@code events} after 10 ms (a view that sleeps once per query, in place of the table),
     * the source in well under a millisecond; a dropped index was not slow enough to stand out from
     * the noise of a loaded machine.
     */
    @Test
    void compareLoadJudgesTheSlowdownAndReportsItAsJson() throws Exception {
        backfill();
        TestDatabases.execute(target, "ALTER TABLE events RENAME TO events_rows",
                "CREATE FUNCTION slow_down() RETURNS boolean LANGUAGE plpgsql STABLE AS 'BEGIN PERFORM pg_sleep(0.01); RETURN true; END'",
                "CREATE VIEW events AS SELECT * FROM events_rows WHERE slow_down()");
        assertThat(TestDatabases.rows(target, "EXPLAIN SELECT v FROM events WHERE id = 1").toString())
                .as("the sleep runs once per query").contains("One-Time Filter");
        try (DualWriteDataSource app = application(1.0); Connection c = app.getConnection()) {
            app.flushShadowReads();
            try (PreparedStatement ps = c.prepareStatement("SELECT v FROM events WHERE id = ?")) {
                for (int i = 1; i <= 200; i++) {
                    ps.setLong(1, i * 200L);
                    try (ResultSet rs = ps.executeQuery()) {
                        assertThat(rs.next()).isTrue();
                        assertThat(rs.next()).isFalse();
                    }
                }
            }
            app.flushShadowReads();
        }
        Cli.Result slow = cli("compare-load", "--json");
        assertThat(slow.exitCode()).as(slow.toString()).isEqualTo(5);
        JsonNode report = Json.mapper().readTree(slow.out());
        assertThat(report.get("max_slowdown").asDouble()).isEqualTo(1.5);
        JsonNode shape = report.get("shapes").get(0);
        assertThat(shape.get("shape").asText()).isEqualTo("SELECT v FROM events WHERE id = ?");
        assertThat(shape.get("compared").asLong()).isEqualTo(200);
        assertThat(shape.get("mismatches").asLong()).isZero();
        assertThat(shape.get("judged").asBoolean()).isTrue();
        double ratio = shape.get("p95_ratio").asDouble();
        assertThat(ratio).as("the target sleeps 10 ms per read, the source looks one row up").isGreaterThan(1.5);
        assertThat(report.get("problems").get(0).asText()).contains("SELECT v FROM events WHERE id = ?");

        Cli.Result tolerant = cli("compare-load", "--json", "--max-slowdown", String.valueOf(Math.ceil(ratio) + 1));
        assertThat(tolerant.exitCode()).as(tolerant.toString()).isZero();
        assertThat(Json.mapper().readTree(tolerant.out()).get("problems").size()).isZero();
    }

    private static void readCounts(Connection c, int times) throws SQLException {
        for (int device = 0; device < times; device++) {
            try (PreparedStatement ps = c.prepareStatement("SELECT count(*), sum(v) FROM events WHERE device = ?")) {
                ps.setInt(1, device);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        rs.getLong(1);
                    }
                }
            }
        }
    }

    /** calls, compared, mismatches, expected mismatches of the shapes that match. */
    private List<List<String>> shadow(String shapeLike) {
        return TestDatabases.rows(target, "SELECT calls, compared, mismatches, expected_mismatches FROM tsmigrate.shadow_read "
                + "WHERE shape LIKE '" + shapeLike.replace("'", "''") + "'");
    }
}
