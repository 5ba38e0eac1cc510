package io.tsmigrate.dualwrite;

import java.io.IOException;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import javax.sql.DataSource;

/**
 * Dual-write for a process that sees each committed transaction as SQL text rather than JDBC calls
 * (the wire-protocol proxy): it repeats the transaction on the secondary, or journals it, with the
 * same sides, journal, writer registration, health checks and primary-following as
 * {@link DualWriteDataSource}. One instance per process; one {@link Session} per client
 * connection. Thread-safe.
 */
public final class TransactionMirror implements AutoCloseable {

    /** One write as the primary ran it: a statement with its values inlined, or a COPY FROM STDIN with its data. */
    public record Op(String sql, byte[] copyData) {

        public static Op sql(String sql) {
            return new Op(sql, null);
        }

        public static Op copy(String sql, byte[] data) {
            return new Op(sql, data);
        }

        Write write() {
            return new Write(sql, List.of(), copyData);
        }
    }

    /** What became of a committed transaction on the secondary. */
    public enum Outcome { APPLIED, JOURNALED, FAILED }

    private final DualWriter writer;

    public TransactionMirror(DataSource source, DataSource target, DualWriteConfig config) throws IOException {
        this.writer = new DualWriter(source, target, config);
    }

    /** Registers the writer now (it otherwise registers at its first direct write); false when the target is not reachable. */
    public boolean register() {
        return writer.registerNow();
    }

    public boolean targetIsPrimary() {
        return writer.targetIsPrimary();
    }

    public DualWriteStats stats() {
        return writer.stats();
    }

    /** Runs the background check now: replays what is owed, follows the primary, flushes shadow reads. */
    public void checkNow() {
        writer.checkNow();
    }

    /**
     * A client connection's view: the roles as they were when it opened, and its own connection to
     * the secondary.
     *
     * @param prelude statements run on each new connection to the secondary before its first
     *                transaction (the client's session settings, such as {@code SET TimeZone})
     */
    public Session session(List<String> prelude) {
        return new Session(writer.roles(), List.copyOf(prelude));
    }

    @Override
    public void close() {
        writer.close();
    }

    /** Not thread-safe: one client connection's transactions, in order. */
    public final class Session implements AutoCloseable {
        private final DualWriter.Roles roles;
        private final List<String> prelude;
        private Connection connection;

        private Session(DualWriter.Roles roles, List<String> prelude) {
            this.roles = roles;
            this.prelude = prelude;
        }

        /** Whether this session's primary is the target. */
        public boolean targetIsPrimary() {
            return roles.primary().name.equals("target");
        }

        /**
         * Repeats a transaction the primary committed on the secondary, in one transaction; when the
         * secondary is diverted or fails, the transaction goes to its journal (policy JOURNAL) and
         * later ones follow it until the journal is replayed. Blocks; call off any event loop.
         */
        public Outcome apply(List<Op> ops) {
            if (ops.isEmpty()) {
                return Outcome.APPLIED;
            }
            List<Write> writes = new ArrayList<>(ops.size());
            ops.forEach(op -> writes.add(op.write()));
            Side side = roles.secondary();
            if (!side.beginDirect()) {
                return journal(side, writes, true);
            }
            try {
                if (connection == null) {
                    connection = side.dataSource.getConnection();
                    try (java.sql.Statement st = connection.createStatement()) {
                        for (String p : prelude) {
                            st.execute(p);
                        }
                    }
                    connection.setAutoCommit(false);
                }
                for (Write w : batched(writes)) {
                    JournalReplayer.apply(connection, w);
                }
                connection.commit();
                writer.wroteDirectly();
                return Outcome.APPLIED;
            } catch (SQLException e) {
                closeConnection();
                if (writer.config().policy() == FailurePolicy.JOURNAL) {
                    writer.divert(side, e);
                    side.joinJournal();
                    return journal(side, writes, true);
                }
                writer.counters().failure();
                return Outcome.FAILED;
            }
        }

        /**
         * Consecutive statements joined into one string: the driver sends them in one round trip
         * (one Sync), and the transaction's writes reach the secondary in two (its statements, its commit).
         */
        private static List<Write> batched(List<Write> writes) {
            List<Write> out = new ArrayList<>();
            StringBuilder run = new StringBuilder();
            for (Write w : writes) {
                if (w.isCopy() || !w.parameterSets().isEmpty()) {
                    if (run.length() > 0) {
                        out.add(Write.sql(run.toString()));
                        run.setLength(0);
                    }
                    out.add(w);
                } else {
                    // A newline first: a statement may end in a -- comment.
                    run.append(run.length() == 0 ? "" : "\n;\n").append(w.sql());
                }
            }
            if (run.length() > 0) {
                out.add(Write.sql(run.toString()));
            }
            return out;
        }

        private Outcome journal(Side side, List<Write> writes, boolean joined) {
            // The replayer runs entries of many sessions on one connection: the session's settings hold for its entry only.
            List<Write> entry = new ArrayList<>();
            prelude.forEach(p -> entry.add(Write.sql(p.replaceFirst("^(?i)SET\\s+(?!LOCAL\\b)", "SET LOCAL "))));
            entry.addAll(writes);
            try {
                writer.journal(side, entry);
                return Outcome.JOURNALED;
            } catch (SQLException e) {
                writer.counters().failure();
                return Outcome.FAILED;
            } finally {
                if (joined) {
                    side.endJournalTransaction();
                }
            }
        }

        private void closeConnection() {
            Quietly.close(connection);
            connection = null;
        }

        @Override
        public void close() {
            closeConnection();
        }
    }
}
