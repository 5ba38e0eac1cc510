package io.tsmigrate.core.connect;

import java.sql.Connection;
import java.sql.SQLException;

/**
 * One transaction on a connection: commit when the work returns, roll back when it throws, and the
 * connection's auto-commit mode as it was, either way. The one place for the idiom, so that no path
 * leaves a connection inside an open transaction (holding its locks) or in the wrong mode.
 */
public final class Transactions {

    /** Work on the connection that may fail with an SQLException. */
    @FunctionalInterface
    public interface Work<T> {
        T run(Connection c) throws SQLException;
    }

    /** Work that may also be interrupted (a COPY, a wait). */
    @FunctionalInterface
    public interface InterruptibleWork<T> {
        T run(Connection c) throws SQLException, InterruptedException;
    }

    private Transactions() {
    }

    public static <T> T inTransaction(Connection c, Work<T> work) throws SQLException {
        try {
            return inTransactionInterruptibly(c, work::run);
        } catch (InterruptedException e) {
            throw new IllegalStateException("unreachable: the work cannot be interrupted", e);
        }
    }

    public static <T> T inTransactionInterruptibly(Connection c, InterruptibleWork<T> work) throws SQLException, InterruptedException {
        boolean autoCommit = c.getAutoCommit();
        c.setAutoCommit(false);
        try {
            T result = work.run(c);
            c.commit();
            return result;
        } catch (SQLException | RuntimeException | InterruptedException | Error e) {
            try {
                c.rollback();
            } catch (SQLException lost) {
                e.addSuppressed(lost); // the connection is likely gone; the first failure is the one to report
            }
            throw e;
        } finally {
            if (!c.isClosed()) {
                c.setAutoCommit(autoCommit);
            }
        }
    }
}
