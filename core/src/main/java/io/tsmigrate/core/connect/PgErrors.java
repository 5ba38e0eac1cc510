package io.tsmigrate.core.connect;

import io.tsmigrate.core.TsmigrateException;
import io.tsmigrate.core.TsmigrateException.Kind;

import java.sql.SQLException;
import java.util.Optional;
import java.util.Set;

/**
 * Decides, in one place, what a server error means: whether it is transient (the connection
 * dropped, the server is shutting down, a serialization failure or deadlock) and worth a retry, or
 * fatal; and how to tell the user, keeping the server's SQLSTATE and message.
 */
public final class PgErrors {

    /** SQLSTATEs worth retrying besides connection exceptions (class 08). */
    private static final Set<String> TRANSIENT = Set.of(
            "57P01", // admin_shutdown (pg_terminate_backend, server stopping)
            "57P02", // crash_shutdown
            "57P03", // cannot_connect_now
            "40001", // serialization_failure
            "40P01", // deadlock_detected
            "53300", // too_many_connections
            "55P03"  // lock_not_available
    );

    private PgErrors() {
    }

    /** Whether retrying the same work on a new connection may succeed. */
    public static boolean isTransient(Throwable e) {
        // The server's SQLSTATE decides when there is one: a constraint violation stays permanent
        // even when pgjdbc also saw the socket fail while the server was rejecting the COPY.
        String state = sqlState(e);
        if (!state.isEmpty()) {
            return state.startsWith("08") || TRANSIENT.contains(state);
        }
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof java.io.IOException) {
                return true;
            }
        }
        return false;
    }

    /** The SQLSTATE of the first SQLException in the chain, or empty. */
    public static String sqlState(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof SQLException s && s.getSQLState() != null) {
                return s.getSQLState();
            }
        }
        return "";
    }

    /** The server's message without the severity prefix and detail lines, passwords redacted. */
    public static String message(SQLException e) {
        String message = Optional.ofNullable(e.getMessage()).orElse(e.getClass().getSimpleName());
        int newline = message.indexOf('\n');
        if (newline > 0) {
            message = message.substring(0, newline);
        }
        message = message.replaceFirst("^(FATAL|ERROR|PANIC):\\s+", "").strip();
        if (message.endsWith(".")) {
            message = message.substring(0, message.length() - 1);
        }
        return ConnectionSpec.redact(message);
    }

    /**
     * A failure while doing {@code what} on {@code spec}'s server, as one sentence with the
     * server's message and SQLSTATE.
     */
    public static TsmigrateException failure(String what, ConnectionSpec spec, SQLException e) {
        String state = sqlState(e);
        Kind kind = state.startsWith("08") ? Kind.CONNECTION : Kind.FAILED;
        return new TsmigrateException(kind, "cannot " + what + " on the " + spec.label() + " (" + spec.describe() + "): "
                + message(e) + (state.isEmpty() ? "" : " (SQLSTATE " + state + ")") + ".", e);
    }
}
