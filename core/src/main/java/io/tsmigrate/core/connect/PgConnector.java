package io.tsmigrate.core.connect;

import io.tsmigrate.core.TsmigrateException;
import io.tsmigrate.core.TsmigrateException.Kind;

import java.net.ConnectException;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Optional;

/**
 * Opens JDBC connections for a {@link ConnectionSpec} and turns a failed login into one sentence
 * that names the server, keeps the server's reason and says what to do.
 *
 * <p>Every session is set up alike on both sides ({@code TimeZone=UTC}, {@code DateStyle=ISO},
 * {@code extra_float_digits=3}, {@code bytea_output=hex}, {@code IntervalStyle=postgres}), so that
 * the text form of a value is the same on the source and the target whatever their settings.
 */
public final class PgConnector {

    /** The session settings every tsmigrate session runs with; text forms depend on them. */
    public static final String SESSION_SETTINGS = "SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'; "
            + "SET extra_float_digits = 3; SET bytea_output = 'hex'; SET IntervalStyle = 'postgres'";

    private PgConnector() {
    }

    /**
     * Opens a connection; the caller closes it.
     *
     * @throws TsmigrateException of kind CONNECTION when the server cannot be reached or refuses
     */
    public static Connection open(ConnectionSpec spec) {
        ConnectionSpec.JdbcSettings jdbc = spec.jdbc();
        Connection connection;
        try {
            connection = DriverManager.getConnection(jdbc.url(), jdbc.properties());
        } catch (SQLException e) {
            throw new TsmigrateException(Kind.CONNECTION, explain(spec, e), e);
        }
        try (Statement st = connection.createStatement()) {
            st.execute(SESSION_SETTINGS);
            return connection;
        } catch (SQLException e) {
            closeQuietly(connection);
            throw new TsmigrateException(Kind.CONNECTION,
                    "cannot set up a session on the " + spec.label() + " (" + spec.describe() + "): " + e.getMessage() + ".", e);
        }
    }

    /**
     * Opens a connection, waiting out transient failures (a server restarting, connections
     * dropped) with backoff for up to {@code attempts} tries.
     */
    public static Connection openPatiently(ConnectionSpec spec, int attempts) throws InterruptedException {
        for (int attempt = 1; ; attempt++) {
            try {
                return open(spec);
            } catch (TsmigrateException e) {
                if (attempt >= attempts || !PgErrors.isTransient(e)) {
                    throw e;
                }
                Thread.sleep(Math.min(15_000L, 500L << Math.min(attempt - 1, 5)));
            }
        }
    }

    /** One sentence for a failed login: what happened, the server's words, what to do. */
    static String explain(ConnectionSpec spec, SQLException e) {
        String where = spec.label() + " (" + spec.describe() + ")";
        String state = Optional.ofNullable(e.getSQLState()).orElse("");
        String server = PgErrors.message(e);
        Throwable cause = rootCause(e);
        if (cause instanceof UnknownHostException) {
            return "cannot connect to the " + where + ": unknown host \"" + cause.getMessage()
                    + "\"; check the host name in the connection string.";
        }
        if (cause instanceof ConnectException) {
            return "cannot connect to the " + where + ": connection refused; check the host and port, "
                    + "and that the server is running and accepts TCP/IP connections.";
        }
        if (cause instanceof SocketTimeoutException) {
            return "cannot connect to the " + where + ": timed out; check the host, the port and any firewall "
                    + "in between (connect_timeout sets the wait).";
        }
        if (cause instanceof SocketException && cause.getMessage() != null
                && cause.getMessage().startsWith("cannot connect to the server's socket")) {
            return "cannot connect to the " + where + ": no server is listening on that Unix socket; "
                    + "check the socket directory and port, and that the server is running.";
        }
        String tls = tlsProblem(e);
        if (tls != null) {
            String mode = spec.setting("sslmode").orElse("prefer");
            return "cannot connect to the " + where + ": " + tls + " (sslmode=" + mode
                    + spec.setting("sslrootcert").map(r -> ", sslrootcert=" + r).orElse("") + "); "
                    + (tls.contains("host name") ? "connect with a host name the certificate names, or use sslmode=verify-ca."
                    : "give sslrootcert the CA certificate that signed the server's, or check that the server's certificate is current.");
        }
        switch (state) {
            case "28P01":
                return "cannot log in to the " + where + ": " + server
                        + "; check the user name and password in the connection string.";
            case "28000":
                if (server.contains("certificate")) {
                    return "cannot log in to the " + where + ": " + server + "; give sslcert and sslkey a client certificate "
                            + "signed by a CA the server trusts (its ssl_ca_file), whose common name is the user name.";
                }
                if (server.contains("pg_hba.conf")) {
                    return "cannot log in to the " + where + ": " + server
                            + "; add a pg_hba.conf entry for this client, or connect with sslmode=require "
                            + "if the server only accepts SSL connections.";
                }
                return "cannot log in to the " + where + ": " + server + "; check the user name.";
            case "3D000":
                return "cannot connect to the " + where + ": database \"" + spec.database()
                        + "\" does not exist; create it (createdb) or fix the database name in the connection string.";
            case "08004":
                if (server.contains("SSL")) {
                    return "cannot connect to the " + where + ": the server does not accept SSL but the "
                            + "connection string requires it; use sslmode=prefer or enable SSL on the server.";
                }
                break;
            case "53300":
                return "cannot connect to the " + where + ": " + server
                        + "; close idle sessions or raise max_connections.";
            case "57P03":
                return "cannot connect to the " + where + ": " + server + "; wait for the server and try again.";
            default:
                break;
        }
        return "cannot connect to the " + where + ": " + server
                + (state.isEmpty() ? "" : " (SQLSTATE " + state + ")") + "; check the connection string.";
    }

    /** What failed in verifying the server's certificate, or null when the failure was not about TLS. */
    private static String tlsProblem(SQLException e) {
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            String m = String.valueOf(t.getMessage());
            if (m.contains("could not be verified by hostnameverifier") || m.contains("hostname") && m.contains("verif")) {
                return "the server's certificate is not for the host name connected to";
            }
            if (t instanceof java.security.cert.CertPathValidatorException || t instanceof java.security.cert.CertificateException
                    || m.contains("PKIX path")) {
                return "the server's certificate is not signed by a trusted CA";
            }
            if (t instanceof javax.net.ssl.SSLException) {
                return "the TLS handshake failed (" + m + ")";
            }
        }
        return null;
    }

    private static Throwable rootCause(Throwable t) {
        Throwable cause = t;
        while (cause.getCause() != null && cause.getCause() != cause) {
            cause = cause.getCause();
        }
        return cause;
    }

    /**
     * A pool-less pgjdbc DataSource with every setting of the URI (TLS, Unix sockets, timeouts), for
     * code that hands connections out (the dual-write library, the proxy) rather than opening them here.
     *
     * @param applicationName what its connections are called in {@code pg_stat_activity}
     * @throws IllegalArgumentException when the driver refuses a setting of the URI
     */
    public static javax.sql.DataSource dataSource(ConnectionSpec spec, String applicationName) {
        ConnectionSpec.JdbcSettings jdbc = spec.jdbc();
        org.postgresql.ds.PGSimpleDataSource ds = new org.postgresql.ds.PGSimpleDataSource();
        ds.setURL(jdbc.url());
        try {
            for (String name : jdbc.properties().stringPropertyNames()) {
                ds.setProperty(name, jdbc.properties().getProperty(name));
            }
            ds.setProperty("ApplicationName", applicationName);
        } catch (SQLException e) {
            throw new IllegalArgumentException("the " + spec.label() + " URI has a setting the driver refuses: " + e.getMessage(), e);
        }
        return ds;
    }

    public static void closeQuietly(AutoCloseable closeable) {
        if (closeable == null) {
            return;
        }
        try {
            closeable.close();
        } catch (Exception ignored) {
            // Closing after a failure: the first error is the one worth reporting.
        }
    }
}
