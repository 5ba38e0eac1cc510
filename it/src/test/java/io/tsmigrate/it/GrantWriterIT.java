package io.tsmigrate.it;

import io.tsmigrate.core.connect.ConnectionSpec;
import io.tsmigrate.core.connect.PgConnector;
import io.tsmigrate.dualwrite.DualWriteDataSource;
import io.tsmigrate.it.kit.PgServersExtension;
import io.tsmigrate.it.kit.TestDatabases;
import io.tsmigrate.servers.Await;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;

import static io.tsmigrate.it.Fixtures.checksum;
import static io.tsmigrate.it.kit.TestDatabases.queryLong;
import static io.tsmigrate.it.kit.TestDatabases.queryString;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Least privilege: an application role set up with {@code tsmigrate grant-writer} dual-writes,
 * registers, replays its journal and records shadow reads through the library (and mirrors and
 * registers through the proxy), and the server
 * refuses it everything else in the state (switching the primary, another writer's row, ranges).
 */
@ExtendWith(PgServersExtension.class)
class GrantWriterIT {

    private static final String ROLE = "app_writer";
    private static final String PASSWORD = "app-writer-Secret-3";

    @Test
    void anApplicationRoleDualWritesButCannotSwitchThePrimaryOrTouchOthersRows(TestDatabases db, @TempDir Path dir) throws Exception {
        ConnectionSpec source = db.newSourceDatabase("grant_source");
        ConnectionSpec target = db.newTargetDatabase("grant_target", true);
        String schema = "CREATE TABLE accounts (id bigint PRIMARY KEY, owner text, balance numeric)";
        TestDatabases.execute(source, schema);
        TestDatabases.execute(target, schema);
        TestDatabases.execute(db.servers().targetAdmin(), "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '" + ROLE
                + "') THEN CREATE ROLE " + ROLE + " LOGIN PASSWORD '" + PASSWORD + "'; END IF; END $$");
        // Its own tables, as on the source; the state is what grant-writer is for.
        TestDatabases.execute(target, "GRANT SELECT, INSERT, UPDATE, DELETE ON accounts TO " + ROLE);

        Cli.Result granted = Cli.run("grant-writer", ROLE, "--target", TestDatabases.uri(target));
        assertThat(granted.exitCode()).as(granted.toString()).isZero();
        assertThat(granted.out()).contains("GRANT SELECT, INSERT, UPDATE ON tsmigrate.writer TO " + ROLE);
        assertThat(Cli.run("grant-writer", ROLE, "--target", TestDatabases.uri(target)).exitCode()).as("again: nothing changes").isZero();
        Cli.Result nobody = Cli.run("grant-writer", "no_such_role", "--target", TestDatabases.uri(target));
        assertThat(nobody.exitCode()).isEqualTo(2);
        assertThat(nobody.err()).hasLineCount(1).startsWith("tsmigrate: there is no role \"no_such_role\" on the target");
        Cli.Result self = Cli.run("grant-writer", target.user(), "--target", TestDatabases.uri(target));
        assertThat(self.exitCode()).isEqualTo(2);
        assertThat(self.err()).contains("is the role tsmigrate runs as");

        ConnectionSpec asApp = ConnectionSpec.parse("postgres://" + ROLE + ":" + PASSWORD + "@127.0.0.1:" + target.endpoints().get(0).port()
                + "/" + target.database(), "target");
        try (DualWriteDataSource app = DualWriteDataSource.builder().primary(TestDatabases.dataSource(source))
                .secondary(PgConnector.dataSource(asApp, "app-writer")).journalDirectory(dir.resolve("journal"))
                .application("grant-it").writerName("least-privilege").healthCheckInterval(Duration.ofMillis(200))
                .shadowReadShare(1.0).build()) {
            try (Connection c = app.getConnection()) {
                write(c, 1, 20);
                // The target's session of the application is cut: the rest is journaled, then replayed as the role.
                TestDatabases.execute(target, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '" + ROLE + "'");
                write(c, 21, 40);
            }
            assertThat(app.stats().journaled()).isPositive();
            Await.until("the journal replayed by the application's role", () -> {
                app.checkSecondaryNow();
                return !app.stats().diverted() && app.stats().replayed() > 0;
            });
            try (Connection c = app.getConnection(); Statement st = c.createStatement(); ResultSet rs = st.executeQuery(
                    "SELECT count(*) FROM accounts WHERE balance > 0")) {
                while (rs.next()) {
                    assertThat(rs.getLong(1)).isEqualTo(40);
                }
            }
            app.flushShadowReads();
            assertThat(app.stats().secondaryFailures()).isPositive();
        }
        // The proxy, logging in to the target as the same role, mirrors and registers as well.
        try (io.tsmigrate.proxy.ProxyServer proxy = io.tsmigrate.proxy.ProxyServer.start(new io.tsmigrate.proxy.ProxyServer.Config(
                "127.0.0.1", 0, source, asApp, io.tsmigrate.proxy.ProxyServer.AuthMode.TRUST, java.util.Optional.empty(),
                new io.tsmigrate.dualwrite.DualWriteConfig(io.tsmigrate.dualwrite.FailurePolicy.JOURNAL, dir.resolve("proxy-journal"),
                        "least-privilege-proxy", "grant-it-proxy", Duration.ofMillis(200), 0),
                Duration.ofSeconds(5), java.util.Optional.empty(), java.util.Optional.empty()));
             Connection c = java.sql.DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + proxy.address().getPort() + "/"
                     + source.database() + "?user=app&sslmode=disable")) {
            write(c, 41, 50);
            proxy.checkNow();
        }
        assertThat(checksum(target, "accounts", "true")).isEqualTo(checksum(source, "accounts", "true"));
        assertThat(queryLong(target, "SELECT count(*) FROM accounts")).isEqualTo(50);
        assertThat(queryString(target, "SELECT db_role FROM tsmigrate.writer WHERE name = 'least-privilege-proxy'")).isEqualTo(ROLE);
        assertThat(queryString(target, "SELECT db_role FROM tsmigrate.writer WHERE name = 'least-privilege'")).isEqualTo(ROLE);
        assertThat(queryLong(target, "SELECT count(*) FROM tsmigrate.journal_applied")).isPositive();
        assertThat(queryLong(target, "SELECT count(*) FROM tsmigrate.shadow_read WHERE writer = 'least-privilege'")).isPositive();

        // Another writer, registered by the migration's role.
        TestDatabases.execute(target, "INSERT INTO tsmigrate.writer (name, started_at) VALUES ('someone-else', now())");
        try (Connection c = PgConnector.open(asApp); Statement st = c.createStatement()) {
            assertRefused(st, "UPDATE tsmigrate.meta SET value = 'target' WHERE key = 'primary'");
            assertRefused(st, "INSERT INTO tsmigrate.meta (key, value) VALUES ('anything', 'x')");
            assertRefused(st, "UPDATE tsmigrate.backfill_range SET state = 'done'");
            assertRefused(st, "UPDATE tsmigrate.verification_run SET verdict = 'match'");
            assertRefused(st, "INSERT INTO tsmigrate.writer (name, started_at, db_role) VALUES ('forged', now(), 'postgres')");
            assertThat(st.executeUpdate("UPDATE tsmigrate.writer SET journal_pending = 0, primary_side = 'target' "
                    + "WHERE name = 'someone-else'")).as("another writer's row is not even visible").isZero();
            try (ResultSet rs = st.executeQuery("SELECT string_agg(name, ',' ORDER BY name) FROM tsmigrate.writer")) {
                rs.next();
                assertThat(rs.getString(1)).as("its own rows only (the library's and the proxy's)")
                        .isEqualTo("least-privilege,least-privilege-proxy");
            }
        }
        assertThat(queryString(target, "SELECT value FROM tsmigrate.meta WHERE key = 'primary'")).isEqualTo("source");
        assertThat(queryString(target, "SELECT primary_side FROM tsmigrate.writer WHERE name = 'someone-else'")).isEqualTo("source");
        // doctor names the writer that dual-writes as the migration's own role, and only that one.
        Cli.Result doctor = Cli.run("doctor", "--source", TestDatabases.uri(source), "--target", TestDatabases.uri(target));
        assertThat(doctor.out()).containsPattern("warning +writer roles +the writer\\(s\\) someone-else dual-write as "
                + target.user() + ", the role tsmigrate runs as").doesNotContain("least-privilege dual-write");
    }

    private static void write(Connection c, int from, int to) throws SQLException {
        try (Statement st = c.createStatement()) {
            for (int i = from; i <= to; i++) {
                st.executeUpdate("INSERT INTO accounts VALUES (" + i + ", 'owner " + i + "', " + i + ".5)");
            }
        }
    }

    private static void assertRefused(Statement st, String sql) {
        assertThatThrownBy(() -> st.executeUpdate(sql)).as(sql).isInstanceOf(SQLException.class)
                .satisfies(e -> assertThat(((SQLException) e).getSQLState()).as(sql + ": " + e.getMessage()).isEqualTo("42501"));
    }
}
