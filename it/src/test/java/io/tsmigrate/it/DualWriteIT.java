package io.tsmigrate.it;

import io.tsmigrate.core.connect.ConnectionSpec;
import io.tsmigrate.dualwrite.DualWriteDataSource;
import io.tsmigrate.dualwrite.FailurePolicy;
import io.tsmigrate.dualwrite.Journal;
import io.tsmigrate.servers.Await;
import io.tsmigrate.it.kit.PgServersExtension;
import io.tsmigrate.it.kit.TestDatabases;
import io.tsmigrate.it.kit.TestServers;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.postgresql.PGConnection;

import java.io.BufferedReader;
import java.io.ByteArrayInputStream;
import java.io.InputStreamReader;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Savepoint;
import java.sql.Statement;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import static io.tsmigrate.it.Fixtures.checksum;
import static io.tsmigrate.it.kit.TestDatabases.queryLong;
import static io.tsmigrate.it.kit.TestDatabases.queryString;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** An application writing through {@link DualWriteDataSource}: both databases end identical, whatever happens. */
@ExtendWith(PgServersExtension.class)
class DualWriteIT {

    static final String SCHEMA = "CREATE TABLE accounts (id bigint PRIMARY KEY, owner text, balance numeric(12,2), "
            + "opened timestamptz, token uuid, photo bytea)";
    static final String EVENTS = "CREATE TABLE events (time timestamptz NOT NULL, account bigint, kind text, amount numeric)";

    private final TestDatabases db;
    private ConnectionSpec source;
    private ConnectionSpec target;
    private Path journal;

    DualWriteIT(TestDatabases db) {
        this.db = db;
    }

    @BeforeEach
    void createSides() throws Exception {
        source = db.newSourceDatabase("dw_source");
        target = db.newTargetDatabase("dw_target", false);
        TestDatabases.execute(source, SCHEMA, EVENTS);
        TestDatabases.execute(target, SCHEMA, EVENTS);
        journal = Files.createTempDirectory("dw-journal");
    }

    @AfterEach
    void removeJournal() throws Exception {
        io.tsmigrate.servers.PgServer.deleteTree(journal);
    }

    private DualWriteDataSource dataSource(FailurePolicy policy) {
        return dataSource(policy, "writer-" + UUID.randomUUID());
    }

    private DualWriteDataSource dataSource(FailurePolicy policy, String writer) {
        return DualWriteDataSource.builder().primary(TestDatabases.dataSource(source)).secondary(TestDatabases.dataSource(target))
                .failurePolicy(policy).journalDirectory(journal).application("dualwrite-it").writerName(writer)
                .healthCheckInterval(Duration.ofMillis(200)).build();
    }

    private void assertIdentical() {
        for (String table : List.of("accounts", "events")) {
            assertThat(checksum(target, table, "true")).as(table).isEqualTo(checksum(source, table, "true"));
        }
    }

    @Test
    void mirrorsEveryKindOfWriteAndOnlyCommittedTransactions() throws Exception {
        try (DualWriteDataSource ds = dataSource(FailurePolicy.JOURNAL); Connection c = ds.getConnection()) {
            try (Statement st = c.createStatement()) {
                st.executeUpdate("INSERT INTO accounts (id, owner, balance) VALUES (1, 'plain statement', 10.50)");
                try (java.sql.ResultSet rs = st.executeQuery("SELECT count(*) FROM accounts")) {
                    assertThat(rs.next()).isTrue();
                    assertThat(rs.getLong(1)).as("the read runs on the primary, in this transaction's view").isEqualTo(1);
                }
            }
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO accounts VALUES (?, ?, ?, ?, ?, ?)")) {
                for (int i = 2; i <= 6; i++) {
                    ps.setLong(1, i);
                    ps.setString(2, i % 2 == 0 ? null : "prepared " + i);
                    ps.setBigDecimal(3, new BigDecimal("1.25").multiply(BigDecimal.valueOf(i)));
                    ps.setTimestamp(4, Timestamp.from(Instant.parse("2026-11-01T00:00:00.123456Z").plusSeconds(i)));
                    ps.setObject(5, UUID.nameUUIDFromBytes(new byte[] {(byte) i}));
                    ps.setBytes(6, new byte[] {1, 2, (byte) i});
                    assertThat(ps.executeUpdate()).isEqualTo(1);
                }
            }
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO events VALUES (?, ?, ?, ?)")) {
                for (int i = 0; i < 1000; i++) {
                    ps.setObject(1, java.time.OffsetDateTime.parse("2026-11-01T00:00:00Z").plusSeconds(i));
                    ps.setLong(2, i % 6 + 1);
                    ps.setString(3, "batch");
                    ps.setInt(4, i);
                    ps.addBatch();
                }
                assertThat(ps.executeBatch()).hasSize(1000);
            }
            try (Statement st = c.createStatement()) {
                st.addBatch("UPDATE accounts SET balance = balance + 1 WHERE id = 2");
                st.addBatch("DELETE FROM accounts WHERE id = 3");
                st.executeBatch();
                assertThat(st.executeUpdate("UPDATE events SET kind = 'updated' WHERE amount < 10")).isEqualTo(10);
                st.execute("WITH moved AS (DELETE FROM events WHERE amount >= 990 RETURNING *) INSERT INTO events "
                        + "SELECT time, account, 'moved', amount FROM moved");
            }
            String csv = "2026-11-02 00:00:00+00,1,copied,1.5\n2026-11-02 00:00:01+00,2,copied,2.5\n";
            long copied = c.unwrap(PGConnection.class).getCopyAPI().copyIn("COPY events FROM STDIN (FORMAT csv)",
                    new ByteArrayInputStream(csv.getBytes(StandardCharsets.UTF_8)));
            assertThat(copied).isEqualTo(2);

            c.setAutoCommit(false);
            try (Statement st = c.createStatement()) {
                st.executeUpdate("INSERT INTO accounts (id, owner) VALUES (100, 'rolled back')");
                c.rollback();
                st.executeUpdate("INSERT INTO accounts (id, owner) VALUES (101, 'committed')");
                Savepoint sp = c.setSavepoint();
                st.executeUpdate("INSERT INTO accounts (id, owner) VALUES (102, 'after savepoint, rolled back')");
                c.rollback(sp);
                st.executeUpdate("INSERT INTO accounts (id, owner) VALUES (103, 'after savepoint, kept')");
                c.commit();
                st.execute("CREATE TABLE created_in_transaction (id int)");
                st.execute("INSERT INTO created_in_transaction VALUES (1)");
                c.commit();
            }
            c.setAutoCommit(true);
            assertThat(ds.stats().diverted()).isFalse();
            assertThat(ds.stats().countMismatches()).isZero();
        }
        assertIdentical();
        assertThat(queryLong(target, "SELECT count(*) FROM accounts WHERE id IN (100, 102)")).isZero();
        assertThat(queryLong(target, "SELECT count(*) FROM accounts WHERE id IN (101, 103)")).isEqualTo(2);
        assertThat(queryLong(target, "SELECT count(*) FROM created_in_transaction")).isEqualTo(1);
        assertThat(queryLong(target, "SELECT count(*) FROM tsmigrate.writer WHERE application = 'dualwrite-it' "
                + "AND started_at <= now() AND last_seen >= started_at")).isEqualTo(1);
    }

    @Test
    void aStringThatReadsFirstAndThenWritesIsMirrored() throws Exception {
        // One string of several statements: its first does not decide (a read first used to keep the write off the secondary).
        try (DualWriteDataSource ds = dataSource(FailurePolicy.JOURNAL); Connection c = ds.getConnection(); Statement st = c.createStatement()) {
            st.execute("SELECT count(*) FROM accounts; INSERT INTO accounts (id, owner) VALUES (8, 'after a read; in one string')");
        }
        String q = "SELECT id, owner FROM accounts WHERE id = 8";
        assertThat(TestDatabases.rows(target, q)).isEqualTo(TestDatabases.rows(source, q)).hasSize(1);
    }

    @Test
    void readsAndSideEffectFreeSelectsStayOnThePrimary() throws Exception {
        TestDatabases.execute(source, "CREATE SEQUENCE ids");
        TestDatabases.execute(target, "CREATE SEQUENCE ids");
        TestDatabases.execute(source, "INSERT INTO accounts (id, owner) VALUES (7, 'locked')");
        TestDatabases.execute(target, "INSERT INTO accounts (id, owner) VALUES (7, 'locked')");
        try (DualWriteDataSource ds = dataSource(FailurePolicy.JOURNAL); Connection c = ds.getConnection(); Statement st = c.createStatement()) {
            c.setAutoCommit(false);
            st.executeQuery("SELECT nextval('ids')").close();
            st.executeQuery("SELECT * FROM accounts FOR UPDATE").close();
            // While the transaction is open: the row lock is held on the primary only.
            assertThat(queryLong(source, "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    + "AND state = 'idle in transaction' AND backend_xid IS NOT NULL"))
                    .as("the row locks are held on the primary").isEqualTo(1);
            assertThat(queryLong(target, "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    + "AND state = 'idle in transaction'")).as("no transaction opened on the secondary for reads").isZero();
            c.commit();
            c.setAutoCommit(true);
            // nextval ran once, on the primary: the secondary's sequence was never called.
            assertThat(queryLong(source, "SELECT last_value FROM ids")).isEqualTo(1);
            assertThat(queryString(target, "SELECT is_called::text FROM ids")).isEqualTo("false");
            st.executeQuery("/* tsmigrate:write */ SELECT setval('ids', 42)").close();
        }
        assertThat(queryLong(source, "SELECT last_value FROM ids")).isEqualTo(42);
        assertThat(queryLong(target, "SELECT last_value FROM ids")).as("a marked SELECT is mirrored").isEqualTo(42);
    }

    @Test
    void journalsWhileTheTargetIsDownAndReplaysInOrderWhenItIsBack(TestServers servers) throws Exception {
        assumeTrue(servers.pair().isPresent(), "needs a target server the suite may stop");
        try (DualWriteDataSource ds = dataSource(FailurePolicy.JOURNAL)) {
            write(ds, 0, 200);
            servers.pair().get().target().stop();
            try {
                // The application keeps writing, a transaction at a time, until a dozen went to the journal.
                int[] batch = {200};
                Await.until("transactions journaled while the target is down", () -> {
                    try {
                        write(ds, batch[0], batch[0] + 50);
                    } catch (SQLException e) {
                        throw new IllegalStateException("a write failed with the journal policy: " + e.getMessage(), e);
                    }
                    batch[0] += 50;
                    return ds.stats().journaled() > 10;
                });
                assertThat(ds.stats().diverted()).isTrue();
            } finally {
                servers.pair().get().target().restart();
            }
            // Writes go on while the health check notices the target and replays the journal.
            write(ds, 100_000, 100_050);
            Await.until("the journal replayed", () -> !ds.stats().diverted());
            assertThat(ds.stats().replayed()).isEqualTo(ds.stats().journaled());
            write(ds, 200_000, 200_020);
        }
        assertIdentical();
        assertThat(queryLong(target, "SELECT count(*) FROM events")).isEqualTo(queryLong(source, "SELECT count(*) FROM events"));
    }

    /** A transaction of inserts, an update and a delete, the way an application would write. */
    private static void write(DualWriteDataSource ds, int from, int to) throws SQLException {
        try (Connection c = ds.getConnection()) {
            c.setAutoCommit(false);
            // The application sends its values: now() or random() would differ between the two sides.
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO events VALUES (?, ?, 'write', ?)")) {
                for (int i = from; i < to; i++) {
                    ps.setTimestamp(1, Timestamp.from(Instant.parse("2026-11-01T00:00:00Z").plusMillis(i)));
                    ps.setLong(2, i % 7);
                    ps.setInt(3, i);
                    ps.addBatch();
                }
                ps.executeBatch();
            }
            try (Statement st = c.createStatement()) {
                st.executeUpdate("UPDATE events SET kind = 'touched' WHERE amount = " + from);
                st.executeUpdate("DELETE FROM events WHERE amount = " + (from + 1));
            }
            c.commit();
        }
    }

    @Test
    void replayCommandAppliesAJournalOnceEvenWhenRunTwice(TestServers servers) throws Exception {
        assumeTrue(servers.pair().isPresent(), "needs a target server the suite may stop");
        try (DualWriteDataSource ds = dataSource(FailurePolicy.JOURNAL)) {
            write(ds, 0, 10);
            servers.pair().get().target().stop();
            try {
                write(ds, 10, 20);
                write(ds, 20, 30);
            } finally {
                // The application stops before the target is back: its journal waits for tsmigrate replay.
                ds.close();
                servers.pair().get().target().restart();
            }
        }
        Cli.Result first = Cli.run("replay", "--target", TestDatabases.uri(target), "--journal", journal.toString());
        assertThat(first.exitCode()).as(first.toString()).isZero();
        assertThat(first.out()).containsPattern("2 entries, 2 applied now, 0 applied before, 0 failed");
        Cli.Result second = Cli.run("replay", "--target", TestDatabases.uri(target), "--journal", journal.toString());
        assertThat(second.out()).containsPattern("2 entries, 0 applied now, 2 applied before, 0 failed");
        assertIdentical();
    }

    @Test
    void aDamagedJournalEntryStopsReplayCountsAsPendingAndIsSkippedOnlyByDecision(TestServers servers) throws Exception {
        assumeTrue(servers.pair().isPresent(), "needs a target server the suite may stop");
        String writer = "writer-" + UUID.randomUUID();
        try (DualWriteDataSource ds = dataSource(FailurePolicy.JOURNAL, writer)) {
            write(ds, 0, 10);
            servers.pair().get().target().stop();
            try {
                write(ds, 10, 20);
                write(ds, 20, 30);
                write(ds, 30, 40);
            } finally {
                ds.close();
                servers.pair().get().target().restart();
            }
        }
        Path file = journal.resolve(writer + "-target.journal");
        long second = Journal.scan(file).entries().get(1).offset();
        byte[] bytes = Files.readAllBytes(file);
        bytes[(int) second + 40] ^= 0x5A; // inside the second entry's payload
        Files.write(file, bytes);
        String sourceRows = checksum(source, "events", "true");

        Cli.Result stopped = Cli.run("replay", "--target", TestDatabases.uri(target), "--journal", journal.toString());
        assertThat(stopped.exitCode()).as(stopped.toString()).isEqualTo(6);
        assertThat(stopped.err()).startsWith("tsmigrate: journal " + file + " is damaged at byte " + second + " (entry 2, ")
                .contains("run tsmigrate replay again with --skip-damaged").doesNotContain("Exception");
        assertThat(stopped.out()).contains("3 entries, 1 applied now, 0 applied before, 0 failed");
        assertThat(queryLong(target, "SELECT count(*) FROM events WHERE amount >= 20")).as("nothing after the damage applied").isZero();
        assertThat(queryLong(target, "SELECT count(*) FROM events WHERE amount >= 10 AND amount < 20")).isEqualTo(9);

        // The application comes back with its damaged journal: it owes the target, and cutover sees it.
        try (DualWriteDataSource ds = dataSource(FailurePolicy.JOURNAL, writer)) {
            Await.until("the writer to report its pending journal", () ->
                    queryLong(target, "SELECT journal_pending FROM tsmigrate.writer WHERE name = '" + writer + "'") > 0);
            try (Connection c = io.tsmigrate.core.connect.PgConnector.open(target)) {
                io.tsmigrate.core.state.StateSchema.ensure(c);
                io.tsmigrate.core.state.PlanStore.save(c, new io.tsmigrate.core.plan.Plan(io.tsmigrate.core.plan.Plan.VERSION, List.of()),
                        "dualwrite-it"); // a migration of plain tables only: cutover's checks apply
            }
            Cli.Result cutover = Cli.run("cutover", "--dry-run", "--source", TestDatabases.uri(source), "--target", TestDatabases.uri(target));
            assertThat(cutover.exitCode()).as(cutover.toString()).isEqualTo(4);
            assertThat(cutover.out()).contains("writers with journal entries not yet replayed: " + writer);

            Cli.Result skipped = Cli.run("replay", "--target", TestDatabases.uri(target), "--journal", journal.toString(), "--skip-damaged");
            assertThat(skipped.exitCode()).as(skipped.toString()).isZero();
            assertThat(skipped.out()).contains("1 applied now, 1 applied before, 0 failed")
                    .contains("skipped journal " + file + " is damaged at byte " + second);
            assertThat(queryString(target, "SELECT file_offset || ' ' || seq FROM tsmigrate.journal_skipped")).isEqualTo(second + " 2");
            Await.until("the writer to pass the skipped record and owe nothing", () ->
                    queryLong(target, "SELECT journal_pending FROM tsmigrate.writer WHERE name = '" + writer + "'") == 0);
        }
        assertThat(queryLong(target, "SELECT count(*) FROM events WHERE amount >= 30")).isEqualTo(9);
        assertThat(queryLong(target, "SELECT count(*) FROM events WHERE amount >= 20 AND amount < 30"))
                .as("the skipped transaction is the only one missing").isZero();
        assertThat(checksum(source, "events", "true")).isEqualTo(sourceRows);
    }

    /**
     * Writes whose values each side computes for itself (a DEFAULT now() left to the INSERT, now() in an
     * UPDATE) are found once per query shape, from the primary's catalog asked inside the application's
     * transaction without disturbing it, and recorded in the state, where status and verify read them.
     */
    @Test
    void writesWhoseValuesEachSideComputesAreRecordedOncePerShape() throws Exception {
        try (Connection c = io.tsmigrate.core.connect.PgConnector.open(target)) {
            io.tsmigrate.core.state.StateSchema.ensure(c); // as tsmigrate schema leaves it
        }
        String stamped = "CREATE TABLE stamped (id bigint PRIMARY KEY, at timestamptz NOT NULL DEFAULT now())";
        TestDatabases.execute(source, stamped);
        TestDatabases.execute(target, stamped);
        try (DualWriteDataSource ds = dataSource(FailurePolicy.JOURNAL, "computed-it"); Connection c = ds.getConnection()) {
            c.setAutoCommit(false);
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO stamped (id) VALUES (?)")) {
                for (long id = 1; id <= 3; id++) {
                    ps.setLong(1, id);
                    ps.executeUpdate();
                }
            }
            try (Statement st = c.createStatement()) {
                st.executeUpdate("INSERT INTO accounts (id, owner) VALUES (1, 'kept')");
                st.executeUpdate("UPDATE accounts SET opened = now() WHERE id = 1");
            }
            c.commit();
            ds.checkSecondaryNow();
        }
        assertThat(TestDatabases.rows(target, "SELECT shape, table_name, reason FROM tsmigrate.computed_write WHERE writer = 'computed-it' "
                + "ORDER BY shape")).containsExactly(
                List.of("INSERT INTO stamped (id) VALUES (?)", "public.stamped", "column at (now()) left to its default"),
                List.of("UPDATE accounts SET opened = now() WHERE id = ?", "public.accounts", "now() in the statement"));
        assertThat(queryLong(target, "SELECT count(*) FROM stamped")).isEqualTo(3);
        assertThat(queryString(source, "SELECT owner FROM accounts WHERE id = 1")).isEqualTo("kept");
        Cli.Result status = Cli.run("status", "--target", TestDatabases.uri(target));
        assertThat(status.out()).containsPattern("public\\.stamped +computed-it: column at \\(now\\(\\)\\) left to its default");
    }

    @Test
    void failPolicyThrowsAndLogPolicyCounts(TestServers servers) throws Exception {
        TestDatabases.execute(target, "ALTER TABLE accounts ADD CONSTRAINT small CHECK (id < 1000)");
        try (DualWriteDataSource ds = dataSource(FailurePolicy.FAIL); Connection c = ds.getConnection(); Statement st = c.createStatement()) {
            assertThatThrownBy(() -> st.executeUpdate("INSERT INTO accounts (id) VALUES (5000)"))
                    .isInstanceOf(SQLException.class).hasMessageContaining("succeeded on the primary but failed on the secondary");
        }
        try (DualWriteDataSource ds = dataSource(FailurePolicy.LOG); Connection c = ds.getConnection(); Statement st = c.createStatement()) {
            st.executeUpdate("INSERT INTO accounts (id) VALUES (5001)");
            assertThat(ds.stats().secondaryFailures()).isEqualTo(1);
        }
        assertThat(queryLong(source, "SELECT count(*) FROM accounts WHERE id >= 5000")).isEqualTo(2);
        assertThat(queryLong(target, "SELECT count(*) FROM accounts WHERE id >= 5000")).isZero();
    }

    /**
     * The journal is durable before a write returns: an application whose target is unreachable
     * commits 50 writes (each journaled), is killed with SIGKILL, and {@code tsmigrate replay} brings
     * every one of them to the target.
     */
    @Test
    void everyJournaledWriteSurvivesAKilledApplicationAndReplays() throws Exception {
        ConnectionSpec.Endpoint endpoint = target.endpoints().get(0);
        // The target as the application sees it: a port where nothing listens.
        String unreachable = TestDatabases.uri(target).replace(":" + endpoint.port() + "/", ":1/");
        assertThat(unreachable).isNotEqualTo(TestDatabases.uri(target));
        // A journal directory the library creates itself: private, as the rows in it are.
        Path dir = journal.resolve("app").resolve("journal");
        Process app = new ProcessBuilder("java", "-cp", System.getProperty("java.class.path"), KilledApp.class.getName(),
                TestDatabases.uri(source), unreachable, dir.toString(), "journaled", "50").redirectErrorStream(true).start();
        try (BufferedReader out = new BufferedReader(new InputStreamReader(app.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = out.readLine()) != null && !line.startsWith("JOURNALED")) {
                // wait until every write returned
            }
            assertThat(line).as("the application wrote and journaled").isEqualTo("JOURNALED 50 50");
            app.destroyForcibly(); // SIGKILL: no close, no flush, no shutdown hook
            assertThat(app.waitFor(10, TimeUnit.SECONDS)).isTrue();
        }
        assertThat(queryLong(source, "SELECT count(*) FROM accounts WHERE owner = 'journaled'")).isEqualTo(50);
        assertThat(queryLong(target, "SELECT count(*) FROM accounts WHERE owner = 'journaled'")).isZero();
        assertThat(java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(dir))).isEqualTo("rwx------");
        try (var files = Files.list(dir)) {
            List<Path> all = files.toList();
            assertThat(all).isNotEmpty();
            for (Path f : all) {
                assertThat(java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(f))).as(f.toString())
                        .isEqualTo("rw-------");
            }
        }

        Cli.Result replay = Cli.run("replay", "--target", TestDatabases.uri(target), "--journal", dir.toString());
        assertThat(replay.exitCode()).as(replay.toString()).isZero();
        assertThat(replay.out()).containsPattern("50 entries, 50 applied now, 0 applied before, 0 failed");
        assertIdentical();
    }

    /**
     * A writer that owes the target a journal does not take the target as primary, even when the
     * state asks for it: it would read from a side that lacks its own writes. It follows once the
     * journal is replayed.
     */
    @Test
    void aWriterOwingAJournalDoesNotSwitchPrimaryUntilItIsReplayed() throws Exception {
        try (Connection t = io.tsmigrate.core.connect.PgConnector.open(target)) {
            io.tsmigrate.core.state.StateSchema.ensure(t);
        }
        TestDatabases.execute(target, "ALTER TABLE accounts ADD CONSTRAINT not_yet CHECK (owner <> 'owed')");
        try (DualWriteDataSource ds = dataSource(FailurePolicy.JOURNAL)) {
            try (Connection c = ds.getConnection(); Statement st = c.createStatement()) {
                st.executeUpdate("INSERT INTO accounts (id, owner) VALUES (1, 'owed')");
            }
            assertThat(ds.stats().diverted()).as("the target refused the write: journaled").isTrue();
            try (Connection t = io.tsmigrate.core.connect.PgConnector.open(target)) {
                io.tsmigrate.core.state.StateSchema.setPrimary(t, "target");
            }
            ds.checkSecondaryNow();
            ds.checkSecondaryNow();
            assertThat(ds.stats().diverted()).as("the entry still fails on the target").isTrue();
            assertThat(ds.targetIsPrimary()).as("no switch while a journal is owed").isFalse();
            try (Connection c = ds.getConnection(); Statement st = c.createStatement();
                 java.sql.ResultSet rs = st.executeQuery("SELECT current_setting('port')")) {
                rs.next();
                assertThat(rs.getInt(1)).as("reads stay on the source").isEqualTo(source.endpoints().get(0).port());
            }

            TestDatabases.execute(target, "ALTER TABLE accounts DROP CONSTRAINT not_yet");
            Await.until("the journal replayed and the switch followed", () -> {
                ds.checkSecondaryNow();
                return ds.targetIsPrimary();
            });
            assertThat(ds.stats().diverted()).isFalse();
        }
        assertIdentical();
    }

    /**
     * After cutover the source is the backup: what it missed while unreachable is journaled for it,
     * survives the application's SIGKILL, and {@code tsmigrate replay --source} brings it there.
     */
    @Test
    void afterCutoverTheSourcesJournalSurvivesAKilledApplicationAndReplaysWithSource() throws Exception {
        try (Connection t = io.tsmigrate.core.connect.PgConnector.open(target)) {
            io.tsmigrate.core.state.StateSchema.ensure(t);
            io.tsmigrate.core.state.StateSchema.setPrimary(t, "target");
        }
        ConnectionSpec.Endpoint endpoint = source.endpoints().get(0);
        String unreachable = TestDatabases.uri(source).replace(":" + endpoint.port() + "/", ":1/");
        assertThat(unreachable).isNotEqualTo(TestDatabases.uri(source));
        // An existing journal directory others may read: used, with a warning, and its files still private.
        Files.setPosixFilePermissions(journal, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
        Process app = new ProcessBuilder("java", "-cp", System.getProperty("java.class.path"), KilledApp.class.getName(),
                unreachable, TestDatabases.uri(target), journal.toString(), "journaled", "30", "after-cutover")
                .redirectErrorStream(true).start();
        try (BufferedReader out = new BufferedReader(new InputStreamReader(app.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            StringBuilder seen = new StringBuilder();
            while ((line = out.readLine()) != null && !line.startsWith("JOURNALED")) {
                seen.append(line).append('\n');
            }
            assertThat(line).as(seen.toString()).isEqualTo("JOURNALED 30 30");
            assertThat(seen.toString()).contains("the journal directory " + journal + " may be read by other users (rwxr-xr-x)");
            app.destroyForcibly();
            assertThat(app.waitFor(10, TimeUnit.SECONDS)).isTrue();
        }
        try (var files = Files.list(journal)) {
            assertThat(files.filter(f -> f.toString().endsWith(".journal")).map(f -> {
                try {
                    return java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(f));
                } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            })).isNotEmpty().allMatch("rw-------"::equals);
        }
        assertThat(queryLong(target, "SELECT count(*) FROM accounts WHERE owner = 'journaled'")).isEqualTo(30);
        assertThat(queryLong(source, "SELECT count(*) FROM accounts WHERE owner = 'journaled'")).isZero();
        try (var files = Files.list(journal)) {
            assertThat(files.map(p -> p.getFileName().toString())).as("the journal is the source's")
                    .anyMatch(name -> name.endsWith("-source.journal"));
        }

        Cli.Result replay = Cli.run("replay", "--source", TestDatabases.uri(source), "--target", TestDatabases.uri(target),
                "--journal", journal.toString());
        assertThat(replay.exitCode()).as(replay.toString()).isZero();
        assertThat(replay.out()).containsPattern("30 entries, 30 applied now, 0 applied before, 0 failed");
        assertIdentical();
    }

    @Test
    void aKilledApplicationLeavesNoHalfTransactionOnTheTarget() throws Exception {
        Process app = new ProcessBuilder("java", "-cp", System.getProperty("java.class.path"), KilledApp.class.getName(),
                TestDatabases.uri(source), TestDatabases.uri(target), journal.toString()).redirectErrorStream(true).start();
        try (BufferedReader out = new BufferedReader(new InputStreamReader(app.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = out.readLine()) != null && !line.equals("IN_TRANSACTION")) {
                // wait until the transaction has written to both sides
            }
            assertThat(line).isEqualTo("IN_TRANSACTION");
            assertThat(queryLong(target, "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    + "AND state = 'idle in transaction'")).isEqualTo(1);
            app.destroyForcibly();
            assertThat(app.waitFor(10, TimeUnit.SECONDS)).isTrue();
        }
        // The killed application's sessions end (its transactions roll back) once the servers see the sockets close.
        Await.until("the killed application's target session to end", () -> queryLong(target, "SELECT count(*) FROM pg_stat_activity "
                + "WHERE datname = current_database() AND state = 'idle in transaction'") == 0);
        Await.until("the killed application's source session to end", () -> queryLong(source, "SELECT count(*) FROM pg_stat_activity "
                + "WHERE datname = current_database() AND state = 'idle in transaction'") == 0);
        assertThat(queryLong(target, "SELECT count(*) FROM accounts WHERE owner = 'half transaction'")).isZero();
        assertThat(queryLong(source, "SELECT count(*) FROM accounts WHERE owner = 'half transaction'")).isZero();
    }
}
