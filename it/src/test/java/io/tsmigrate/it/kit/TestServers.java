package io.tsmigrate.it.kit;

import io.tsmigrate.servers.ServerPair;
import io.tsmigrate.core.connect.ConnectionSpec;
import io.tsmigrate.core.connect.PgConnector;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Map;
import java.util.Optional;

/**
 * The servers a test suite runs against: a {@link ServerPair} started for the suite (with TLS on,
 * and every database's login using {@code sslmode=verify-full} with the pair's authority), or existing
 * servers named by {@code TSMIGRATE_TEST_SOURCE} and {@code TSMIGRATE_TEST_TARGET} (superuser
 * URIs of a maintenance database; the target must have TimescaleDB preloaded).
 */
public final class TestServers implements AutoCloseable {

    public static final String SOURCE_VARIABLE = "TSMIGRATE_TEST_SOURCE";
    public static final String TARGET_VARIABLE = "TSMIGRATE_TEST_TARGET";

    private final Optional<ServerPair> started;
    private final ConnectionSpec sourceAdmin;
    private final ConnectionSpec targetAdmin;

    private TestServers(Optional<ServerPair> started, ConnectionSpec sourceAdmin, ConnectionSpec targetAdmin) {
        this.started = started;
        this.sourceAdmin = sourceAdmin;
        this.targetAdmin = targetAdmin;
    }

    /** Connects to the servers the environment names, or starts a pair. */
    public static TestServers fromEnvironment(Map<String, String> environment) {
        String source = environment.get(SOURCE_VARIABLE);
        String target = environment.get(TARGET_VARIABLE);
        if (source != null && target != null) {
            return new TestServers(Optional.empty(), ConnectionSpec.parse(source, "source"),
                    ConnectionSpec.parse(target, "target"));
        }
        ServerPair pair = ServerPair.start(Path.of(System.getProperty("java.io.tmpdir")));
        try {
            // TLS as managed services ask for it: every test's connections (tsmigrate's, the library's,
            // the proxy's, pg_dump's and psql's) verify the server's certificate and name.
            String tls = "?sslmode=verify-full&sslrootcert=" + pair.enableTls();
            return new TestServers(Optional.of(pair), ConnectionSpec.parse(pair.source().uri("postgres") + tls, "source"),
                    ConnectionSpec.parse(pair.target().uri("postgres") + tls, "target"));
        } catch (RuntimeException e) {
            pair.close();
            throw e;
        }
    }

    /** The started pair, when this suite started its own servers (fault tests need it). */
    public Optional<ServerPair> pair() {
        return started;
    }

    public ConnectionSpec sourceAdmin() {
        return sourceAdmin;
    }

    public ConnectionSpec targetAdmin() {
        return targetAdmin;
    }

    /** Creates a database on the source server; returns the superuser's login to it. */
    public ConnectionSpec createSourceDatabase(String name) {
        execute(sourceAdmin, "CREATE DATABASE " + quote(name));
        return sourceAdmin.withDatabase(name);
    }

    /**
     * Creates a database in another server encoding (such as {@code LATIN1}) on the source server,
     * with the C locale, which every encoding accepts.
     */
    public ConnectionSpec createSourceDatabase(String name, String encoding) {
        execute(sourceAdmin, "CREATE DATABASE " + quote(name) + " ENCODING '" + encoding.replace("'", "''")
                + "' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0");
        return sourceAdmin.withDatabase(name);
    }

    /**
     * Creates a database on the target server, with the timescaledb extension when asked (as a
     * managed service's database has it); returns the superuser's login to it.
     */
    public ConnectionSpec createTargetDatabase(String name, boolean timescaledb) {
        execute(targetAdmin, "CREATE DATABASE " + quote(name));
        ConnectionSpec spec = targetAdmin.withDatabase(name);
        if (timescaledb) {
            execute(spec, "CREATE EXTENSION IF NOT EXISTS timescaledb");
        }
        return spec;
    }

    /** Drops a database on the server of {@code spec}, closing its sessions first. */
    public void dropDatabase(ConnectionSpec spec) {
        ConnectionSpec admin = spec.label().equals("source") ? sourceAdmin : targetAdmin;
        execute(admin, "DROP DATABASE IF EXISTS " + quote(spec.database()) + " WITH (FORCE)");
    }

    static void execute(ConnectionSpec spec, String sql) {
        try (Connection c = PgConnector.open(spec); Statement st = c.createStatement()) {
            st.execute(sql);
        } catch (SQLException e) {
            throw new IllegalStateException(sql + ": " + e.getMessage(), e);
        }
    }

    static String quote(String identifier) {
        return "\"" + identifier.replace("\"", "\"\"") + "\"";
    }

    @Override
    public void close() {
        started.ifPresent(ServerPair::close);
    }
}
