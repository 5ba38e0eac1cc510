package io.tsmigrate.it;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.tsmigrate.core.connect.ConnectionSpec;
import io.tsmigrate.core.connect.PgConnector;
import io.tsmigrate.dualwrite.DualWriteDataSource;
import io.tsmigrate.dualwrite.DualWriteStats;
import io.tsmigrate.it.kit.PgServersExtension;
import io.tsmigrate.it.kit.TestDatabases;
import io.tsmigrate.servers.Await;
import io.tsmigrate.servers.PgServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.postgresql.PGConnection;

import java.io.StringReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import static io.tsmigrate.it.Fixtures.checksum;
import static io.tsmigrate.it.kit.TestDatabases.queryLong;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The dual-write library as the README sets it up: behind the application's two HikariCP pools,
 * used by several threads at once, with every kind of write it promises to mirror (batches,
 * {@code MERGE}, {@code CALL}, {@code DO}, {@code SET LOCAL}, {@code copyIn} from a {@code Reader}),
 * and the target's connections cut in the middle of it.
 */
@ExtendWith(PgServersExtension.class)
class DualWritePoolIT {

    private static final String SCHEMA = "CREATE TABLE readings (id bigint PRIMARY KEY, time timestamptz NOT NULL, v float8, "
            + "kind text NOT NULL)";
    private static final String PROCEDURE = "CREATE PROCEDURE add_reading(p_id bigint, p_v float8) LANGUAGE sql AS "
            + "$$ INSERT INTO readings VALUES (p_id, timestamptz '2026-11-01 00:00:00+00' + p_id * interval '1 second', p_v, 'call') $$";
    private static final int THREADS = 4;
    private static final int KINDS = 6;

    private final TestDatabases db;

    DualWritePoolIT(TestDatabases db) {
        this.db = db;
    }

    private static HikariDataSource pool(ConnectionSpec spec, String name) {
        return pool(spec, name, THREADS);
    }

    private static HikariDataSource pool(ConnectionSpec spec, String name, int size) {
        HikariConfig config = new HikariConfig();
        config.setDataSource(PgConnector.dataSource(spec, name));
        config.setPoolName(name);
        config.setMaximumPoolSize(size);
        config.setConnectionTimeout(30_000);
        return new HikariDataSource(config);
    }

    @Test
    void severalThreadsWriteEveryKindOfStatementThroughTwoPoolsAndTheSidesEndIdentical() throws Exception {
        ConnectionSpec source = db.newSourceDatabase("pool_source");
        ConnectionSpec target = db.newTargetDatabase("pool_target", false);
        TestDatabases.execute(source, SCHEMA, PROCEDURE);
        TestDatabases.execute(target, SCHEMA, PROCEDURE);
        Path journal = Files.createTempDirectory("pool-journal");
        AtomicLong rows = new AtomicLong();
        AtomicLong transactions = new AtomicLong();
        AtomicBoolean stop = new AtomicBoolean();
        try (HikariDataSource sourcePool = pool(source, "pool-it-source"); HikariDataSource targetPool = pool(target, "pool-it-target");
             DualWriteDataSource app = DualWriteDataSource.builder().primary(sourcePool).secondary(targetPool)
                     .journalDirectory(journal).application("pool-it").healthCheckInterval(Duration.ofMillis(200)).build()) {
            List<CompletableFuture<Void>> threads = new ArrayList<>();
            for (int t = 0; t < THREADS; t++) {
                long firstId = 1L + t * 10_000_000L;
                threads.add(CompletableFuture.runAsync(() -> write(app, firstId, rows, transactions, stop)));
            }
            Await.until("every kind of write, several times", () -> transactions.get() > 10L * KINDS * THREADS);
            // The target's pooled connections are cut: writes go to the journal until the pool reconnects.
            long killed = queryLong(target, "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    + "WHERE application_name = 'pool-it-target'");
            assertThat(killed).as("the target pool's connections").isPositive();
            long atKill = transactions.get();
            Await.until("writes after the cut", () -> transactions.get() > atKill + 10L * KINDS);
            stop.set(true);
            CompletableFuture.allOf(threads.toArray(CompletableFuture[]::new)).get(60, TimeUnit.SECONDS);

            Await.until("the journal replayed", () -> {
                app.checkSecondaryNow();
                return !app.stats().diverted();
            });
            DualWriteStats stats = app.stats();
            assertThat(stats.secondaryFailures()).as("the cut was noticed").isPositive();
            assertThat(stats.replayed()).as("and what it missed replayed").isEqualTo(stats.journaled()).isPositive();
            assertThat(stats.countMismatches()).isZero();
            // The writer's background check borrows a connection of either pool for a moment (health, heartbeat,
            // replay): a connection the application did not give back stays borrowed for good.
            Await.until("every connection given back to both pools", () -> sourcePool.getHikariPoolMXBean().getActiveConnections() == 0
                    && targetPool.getHikariPoolMXBean().getActiveConnections() == 0);
        } finally {
            PgServer.deleteTree(journal);
        }
        assertThat(queryLong(source, "SELECT count(*) FROM readings")).isEqualTo(rows.get());
        assertThat(checksum(target, "readings", "true")).isEqualTo(checksum(source, "readings", "true"));
        for (String kind : List.of("batch", "tokyo", "merged", "call", "do", "copy")) {
            assertThat(queryLong(source, "SELECT count(*) FROM readings WHERE kind = '" + kind + "'")).as(kind).isPositive();
        }
        // SET LOCAL reached the target's transaction: the zone-less literal means 09:00 in Tokyo on both sides.
        assertThat(queryLong(target, "SELECT count(*) FROM readings WHERE kind = 'tokyo' "
                + "AND extract(hour FROM time AT TIME ZONE 'UTC') <> 0")).isZero();
    }

    /** One thread of the application: a transaction of each kind in turn, each on a connection borrowed for it. */
    private static void write(DualWriteDataSource app, long firstId, AtomicLong rows, AtomicLong transactions, AtomicBoolean stop) {
        long id = firstId;
        for (int n = 0; !stop.get(); n++) {
            long base = id;
            id += 10;
            try (Connection c = app.getConnection()) {
                long added = switch (n % KINDS) {
                    case 0 -> {
                        try (PreparedStatement ps = c.prepareStatement("INSERT INTO readings VALUES (?, timestamptz "
                                + "'2026-11-01 00:00:00+00' + ? * interval '1 second', ?, 'batch')")) {
                            for (long i = base; i < base + 3; i++) {
                                ps.setLong(1, i);
                                ps.setLong(2, i);
                                ps.setDouble(3, i / 3.0);
                                ps.addBatch();
                            }
                            ps.executeBatch();
                        }
                        yield 3;
                    }
                    case 1 -> {
                        c.setAutoCommit(false);
                        try (Statement st = c.createStatement()) {
                            st.execute("SET LOCAL TIME ZONE 'Asia/Tokyo'");
                            st.executeUpdate("INSERT INTO readings VALUES (" + base + ", '2026-11-02 09:00:00', 1, 'tokyo')");
                            st.executeUpdate("UPDATE readings SET v = v * 2 WHERE id = " + base);
                        }
                        c.commit();
                        yield 1;
                    }
                    case 2 -> {
                        try (Statement st = c.createStatement()) {
                            String merge = "MERGE INTO readings r USING (VALUES (" + base + "::bigint)) AS s(id) ON r.id = s.id "
                                    + "WHEN MATCHED THEN UPDATE SET v = r.v + 1 WHEN NOT MATCHED THEN INSERT VALUES "
                                    + "(s.id, timestamptz '2026-11-03 00:00:00+00', 0, 'merged')";
                            st.executeUpdate(merge);
                            st.executeUpdate(merge);
                        }
                        yield 1;
                    }
                    case 3 -> {
                        try (PreparedStatement ps = c.prepareStatement("CALL add_reading(?, ?)")) {
                            ps.setLong(1, base);
                            ps.setDouble(2, 0.5);
                            ps.execute();
                        }
                        yield 1;
                    }
                    case 4 -> {
                        try (Statement st = c.createStatement()) {
                            st.execute("DO $$ BEGIN INSERT INTO readings VALUES (" + base + ", timestamptz '2026-11-04 00:00:00+00', "
                                    + "4, 'do'); END $$");
                        }
                        yield 1;
                    }
                    default -> {
                        StringBuilder csv = new StringBuilder();
                        for (long i = base; i < base + 5; i++) {
                            csv.append(i).append(",2026-11-05 00:00:00+00,").append(i).append(",copy\n");
                        }
                        long copied = c.unwrap(PGConnection.class).getCopyAPI().copyIn("COPY readings FROM STDIN (FORMAT csv)",
                                new StringReader(csv.toString()));
                        assertThat(copied).isEqualTo(5);
                        yield 5;
                    }
                };
                rows.addAndGet(added);
                transactions.incrementAndGet();
            } catch (SQLException | java.io.IOException e) {
                throw new IllegalStateException("the application's write failed: " + e.getMessage(), e);
            }
        }
    }

    /**
     * A session setting made on one pooled connection ({@code SET TimeZone}: a literal timestamp without
     * a zone means another instant under it) holds for every later borrower of that connection, on
     * the target too: whichever of the target pool's connections it is paired with, in the journal
     * while the target's connections are cut (a replayer serves every session on one connection), after
     * a transaction that changed it rolled back, and no longer after DISCARD ALL. (The target's pool has
     * a third connection: the one the shadow reads keep.)
     */
    @Test
    void sessionSettingsFollowEachPooledConnectionToTheTargetAndIntoTheJournal() throws Exception {
        ConnectionSpec source = db.newSourceDatabase("pool_zone_source");
        ConnectionSpec target = db.newTargetDatabase("pool_zone_target", false);
        TestDatabases.execute(source, SCHEMA);
        TestDatabases.execute(target, SCHEMA);
        Path journal = Files.createTempDirectory("pool-journal");
        long[] id = {0};
        try (HikariDataSource sourcePool = pool(source, "zone-it-source", 2); HikariDataSource targetPool = pool(target, "zone-it-target", 3);
             DualWriteDataSource app = DualWriteDataSource.builder().primary(sourcePool).secondary(targetPool)
                     .journalDirectory(journal).application("zone-it").writerName("zone-it").shadowReadShare(1.0)
                     .healthCheckInterval(Duration.ofMillis(200)).build()) {
            try (Connection a = app.getConnection(); Connection b = app.getConnection(); Statement st = a.createStatement()) {
                st.execute("SET TimeZone = 'Asia/Tokyo'");
                // A shadow read runs under the session's zone on the secondary too (its own connection, which no
                // write has brought to any zone yet): the same text, compared equal.
                try (java.sql.ResultSet rs = st.executeQuery("SELECT timestamptz '2026-01-01 00:00:00+00' AS at")) {
                    assertThat(rs.next()).isTrue();
                    assertThat(rs.getString(1)).endsWith("+09");
                    assertThat(rs.next()).as("read to the end: only a whole result is compared").isFalse();
                }
                zoneless(a, ++id[0], "tokyo");
                zoneless(b, ++id[0], "default");
            }
            app.flushShadowReads();
            assertThat(TestDatabases.rows(target, "SELECT compared, mismatches + expected_mismatches FROM tsmigrate.shadow_read "
                    + "WHERE writer = 'zone-it' AND shape = 'SELECT timestamptz ? AS at'")).containsExactly(List.of("1", "0"));
            pairs(app, id, 6);
            // The target's pooled connections are cut: what follows goes to the journal until the pool reconnects.
            long cut = queryLong(target, "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = 'zone-it-target'");
            assertThat(cut).as("the target pool's connections").isPositive();
            pairs(app, id, 6);
            assertThat(app.stats().journaled()).as("transactions journaled after the cut").isPositive();
            Await.until("the journal replayed", () -> {
                app.checkSecondaryNow();
                return !app.stats().diverted();
            });
            pairs(app, id, 4);
            // A transaction that changes the zone and rolls back leaves the session's zone as it was; DISCARD ALL drops it.
            try (Connection a = app.getConnection(); Connection b = app.getConnection()) {
                Connection tokyo = zone(a).equals("Asia/Tokyo") ? a : b;
                tokyo.setAutoCommit(false);
                try (Statement st = tokyo.createStatement()) {
                    st.execute("SET TimeZone = 'America/New_York'");
                    zoneless(tokyo, ++id[0], "rolled-back");
                }
                tokyo.rollback();
                tokyo.setAutoCommit(true);
                zoneless(tokyo, ++id[0], "after-rollback");
                try (Statement st = tokyo.createStatement()) {
                    st.execute("DISCARD ALL");
                }
                zoneless(tokyo, ++id[0], "after-discard");
            }
            pairs(app, id, 4);
            assertThat(app.stats().countMismatches()).isZero();
        } finally {
            PgServer.deleteTree(journal);
        }
        assertThat(queryLong(source, "SELECT count(DISTINCT extract(hour FROM time AT TIME ZONE 'UTC')) FROM readings"))
                .as("rows written under two zones at least").isGreaterThanOrEqualTo(2);
        assertThat(queryLong(source, "SELECT count(*) FROM readings WHERE kind = 'rolled-back'")).isZero();
        assertThat(queryLong(source, "SELECT count(*) FROM readings")).isEqualTo(id[0] - 1);
        assertThat(TestDatabases.rows(target, "SELECT id, kind, time FROM readings ORDER BY id"))
                .isEqualTo(TestDatabases.rows(source, "SELECT id, kind, time FROM readings ORDER BY id"));
        assertThat(checksum(target, "readings", "true")).isEqualTo(checksum(source, "readings", "true"));
    }

    /** Rounds of both pooled connections borrowed at once, written and given back in changing orders, so that they pair differently with the target's. */
    private static void pairs(DualWriteDataSource app, long[] id, int rounds) throws SQLException {
        for (int round = 0; round < rounds; round++) {
            Connection a = app.getConnection();
            Connection b = app.getConnection();
            Connection first = round % 2 == 0 ? a : b;
            Connection second = first == a ? b : a;
            zoneless(first, ++id[0], "round");
            zoneless(second, ++id[0], "round");
            for (Connection c : round % 3 == 0 ? List.of(second, first) : List.of(first, second)) {
                c.close();
            }
        }
    }

    private static void zoneless(Connection c, long id, String kind) throws SQLException {
        try (Statement st = c.createStatement()) {
            st.executeUpdate("INSERT INTO readings VALUES (" + id + ", '2026-11-01 09:00:00', " + id + ", '" + kind + "')");
        }
    }

    private static String zone(Connection c) throws SQLException {
        try (Statement st = c.createStatement(); java.sql.ResultSet rs = st.executeQuery("SHOW TimeZone")) {
            rs.next();
            return rs.getString(1);
        }
    }
}
