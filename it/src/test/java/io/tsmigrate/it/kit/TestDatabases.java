package io.tsmigrate.it.kit;

import io.tsmigrate.core.connect.ConnectionSpec;
import io.tsmigrate.core.connect.PgConnector;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ThreadLocalRandom;

/**
 * A test class's own pair of databases: one on the source server and one on the target server
 * (with the timescaledb extension), created fresh for the class and dropped after it. Small SQL
 * helpers keep tests about outcomes rather than JDBC plumbing.
 */
public final class TestDatabases implements AutoCloseable {

    private final TestServers servers;
    private final ConnectionSpec source;
    private final ConnectionSpec target;
    private final List<ConnectionSpec> extra = new ArrayList<>();

    TestDatabases(TestServers servers, String owner) {
        this.servers = servers;
        String name = databaseName(owner);
        this.source = servers.createSourceDatabase(name);
        this.target = servers.createTargetDatabase(name, true);
    }

    public TestServers servers() {
        return servers;
    }

    /** The source superuser's login to this class's source database. */
    public ConnectionSpec source() {
        return source;
    }

    /** The target superuser's login to this class's target database. */
    public ConnectionSpec target() {
        return target;
    }

    /** The source database's URI with its password, as a user would pass it to tsmigrate. */
    public String sourceUri() {
        return uri(source);
    }

    /** The target database's URI with its password. */
    public String targetUri() {
        return uri(target);
    }

    /** One more, empty target database (dropped with the others), with or without timescaledb. */
    public ConnectionSpec newTargetDatabase(String purpose, boolean timescaledb) {
        ConnectionSpec spec = servers.createTargetDatabase(databaseName(purpose), timescaledb);
        extra.add(spec);
        return spec;
    }

    /** One more, empty source database in a server encoding such as {@code LATIN1} (dropped with the others). */
    public ConnectionSpec newSourceDatabase(String purpose, String encoding) {
        ConnectionSpec spec = servers.createSourceDatabase(databaseName(purpose), encoding);
        extra.add(spec);
        return spec;
    }

    /** One more, empty source database (dropped with the others). */
    public ConnectionSpec newSourceDatabase(String purpose) {
        ConnectionSpec spec = servers.createSourceDatabase(databaseName(purpose));
        extra.add(spec);
        return spec;
    }

    /** Runs statements on the source, each in its own implicit transaction. */
    public void source(String... statements) {
        execute(source, statements);
    }

    /** Runs statements on the target. */
    public void target(String... statements) {
        execute(target, statements);
    }

    public static void execute(ConnectionSpec spec, String... statements) {
        try (Connection c = PgConnector.open(spec); Statement st = c.createStatement()) {
            for (String sql : statements) {
                st.execute(sql);
            }
        } catch (SQLException e) {
            throw new IllegalStateException(e.getMessage(), e);
        }
    }

    /** The first column of the first row, as a long. */
    public static long queryLong(ConnectionSpec spec, String sql) {
        List<List<String>> rows = rows(spec, sql);
        return Long.parseLong(rows.get(0).get(0));
    }

    /** The first column of the first row, as text (null when SQL NULL). */
    public static String queryString(ConnectionSpec spec, String sql) {
        return rows(spec, sql).get(0).get(0);
    }

    /** Every row, every column as its text form (null for SQL NULL). */
    public static List<List<String>> rows(ConnectionSpec spec, String sql) {
        try (Connection c = PgConnector.open(spec); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery(sql)) {
            ResultSetMetaData meta = rs.getMetaData();
            List<List<String>> out = new ArrayList<>();
            while (rs.next()) {
                List<String> row = new ArrayList<>();
                for (int i = 1; i <= meta.getColumnCount(); i++) {
                    row.add(rs.getString(i));
                }
                out.add(row);
            }
            return out;
        } catch (SQLException e) {
            throw new IllegalStateException(sql + ": " + e.getMessage(), e);
        }
    }

    /** A plain pgjdbc DataSource for a login, as an application would configure its pool (named "application"). */
    public static javax.sql.DataSource dataSource(ConnectionSpec spec) {
        return io.tsmigrate.core.connect.PgConnector.dataSource(spec, "application");
    }

    /** {@code postgres://user:password@host:port/db} for any login on the suite's servers. */
    public static String uri(ConnectionSpec spec) {
        List<String> tls = new ArrayList<>();
        spec.setting("sslmode").ifPresent(m -> tls.add("sslmode=" + m));
        spec.setting("sslrootcert").ifPresent(r -> tls.add("sslrootcert=" + encode(r)));
        return tls.isEmpty() ? uri(spec, "") : uri(spec, String.join("&", tls));
    }

    /** The URI with these settings ({@code a=b&c=d}) in place of its TLS settings; empty for none. */
    public static String uri(ConnectionSpec spec, String settings) {
        ConnectionSpec.Endpoint endpoint = spec.endpoints().get(0);
        return "postgres://" + encode(spec.user()) + spec.password().map(p -> ":" + encode(p)).orElse("") + "@" + endpoint
                + "/" + encode(spec.database()) + (settings.isEmpty() ? "" : "?" + settings);
    }

    private static String encode(String part) {
        return java.net.URLEncoder.encode(part, java.nio.charset.StandardCharsets.UTF_8).replace("+", "%20");
    }

    private static String databaseName(String owner) {
        String base = owner.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9]+", "_");
        if (base.length() > 40) {
            base = base.substring(0, 40);
        }
        return "t_" + base + "_" + Integer.toString(ThreadLocalRandom.current().nextInt(1 << 20, 1 << 24), 36);
    }

    @Override
    public void close() {
        for (ConnectionSpec spec : extra) {
            servers.dropDatabase(spec);
        }
        servers.dropDatabase(source);
        servers.dropDatabase(target);
    }
}
