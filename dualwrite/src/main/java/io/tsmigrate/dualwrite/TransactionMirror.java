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

    /**
     * How long a repeated transaction waits for a row lock on the secondary before it goes to the
     * journal instead. A wait that spans both servers is a deadlock neither can see: at a cutover,
     * while some sessions still finish on the old primary, a transaction repeated there waits for the
     * lock of one of them, whose client may wait for the ReadyForQuery the proxy holds until that
     * repetition is done (pgbench, one thread for many connections, does). The journal breaks the
     * cycle; the transaction reaches the side when the journal is replayed, in order.
     */
    static final String LOCK_TIMEOUT = "5s";

    /** What a connection to the secondary runs before its first transaction, after the session's settings. */
    public static String secondarySession() {
        return "SET lock_timeout = '" + LOCK_TIMEOUT + "'";
    }

    /**
     * Statements as one string: the simple query protocol runs them in one round trip, and in an
     * explicit transaction an error skips the rest and leaves the transaction to roll back. A COPY
     * FROM STDIN among them asks for its data when it runs, in order.
     */
    public static String joined(List<String> statements) {
        StringBuilder out = new StringBuilder();
        statements.forEach(sql -> appendStatement(out, sql));
        return out.toString();
    }

    /** Appends a statement to others: a newline before the semicolon, as a statement may end in a -- comment. */
    private static StringBuilder appendStatement(StringBuilder run, String sql) {
        return run.append(run.length() == 0 ? "" : "\n;\n").append(sql);
    }

    /**
     * A transaction's intent (lossless mode): on disk before the primary's COMMIT is sent. Give it
     * to {@link Session#apply(List, Intent)} once the primary committed, or to
     * {@link Session#abandon}/{@link Session#doubt} when it did not or the answer was lost.
     */
    public static final class Intent {
        private final Side owedTo;
        private final IntentLog.Intent intent;
        private final List<Write> writes;
        private final long xid;

        private Intent(Side owedTo, IntentLog.Intent intent, List<Write> writes, long xid) {
            this.owedTo = owedTo;
            this.intent = intent;
            this.writes = writes;
            this.xid = xid;
        }
    }

    /** Whether this mirror runs in lossless mode: the proxy then writes an intent before each COMMIT that follows writes. */
    public boolean lossless() {
        return writer.lossless();
    }

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

    /**
     * Examines a committed write once per query shape: when each side computes some of its values for
     * itself, records it (added to {@code tsmigrate.computed_write} at the next background check, for
     * status, compare-load and verify) and returns the line to log; else null.
     */
    public String examineWrite(String sql, ComputedValues.Catalog catalog) {
        String reason = writer.computedWrites().examine(sql, catalog);
        return reason == null ? null : ComputedWrites.warning("tsmigrate proxy", QueryShape.of(sql), reason);
    }

    /**
     * Runs {@code listener} right after a cutover or its rollback swapped the roles (on the background
     * check's thread: it must not block). Sessions that opened before keep their roles until they move.
     */
    public void onRolesSwapped(Runnable listener) {
        writer.onRolesSwapped(listener);
    }

    /** Whether {@link #examineWrite} would look nothing up for this statement (its text or its shape was seen already). */
    public boolean examined(String sql) {
        return writer.computedWrites().examined(sql);
    }

    /** Query shapes whose values each side computes for itself, with why. */
    public java.util.Map<String, String> computedValues() {
        return writer.computedWrites().found();
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

    /** One read being shadowed: the primary's rows are digested as they pass, the secondary's later, off the caller's thread. */
    public final class ShadowRead {
        private final String sql;
        private final List<String> settings;
        private final boolean primaryIsTarget;
        private final RowDigest digest = new RowDigest();
        private final long start = System.nanoTime();

        private ShadowRead(String sql, List<String> settings, boolean primaryIsTarget) {
            this.sql = sql;
            this.settings = List.copyOf(settings);
            this.primaryIsTarget = primaryIsTarget;
        }

        /** A row of the primary's result, its values in text form (null for SQL NULL). */
        public void row(String[] values) {
            digest.add(values);
        }

        /** The primary said the read completed: its result is whole, and the secondary's is compared with it. */
        public void completed() {
            writer.shadow().submit(sql, null, settings, digest, System.nanoTime() - start, primaryIsTarget);
        }
    }

    /** Not thread-safe: one client connection's transactions, in order. */
    public final class Session implements AutoCloseable {
        private final DualWriter.Roles roles;
        private List<String> prelude;
        private Connection connection;

        private Session(DualWriter.Roles roles, List<String> prelude) {
            this.roles = roles;
            this.prelude = prelude;
        }

        /**
         * Replaces the statements a new connection to the secondary runs first, which each journal
         * entry also starts with (made local): for settings learnt once the session's primary answered.
         */
        public void prelude(List<String> prelude) {
            this.prelude = List.copyOf(prelude);
        }

        /** Whether this session's primary is the target. */
        public boolean targetIsPrimary() {
            return roles.primary().name.equals("target");
        }

        /**
         * Whether to shadow the next read: the configured share of reads ({@code --shadow-read-share}).
         * Cheap; ask before reading anything of a read's messages.
         */
        public boolean sampleRead() {
            return writer.shadow().sample();
        }

        /**
         * Starts shadowing a read the client sent: give it the primary's rows as they reach the
         * client, then {@link ShadowRead#completed()} once the server said the read completed. Null
         * when the read cannot be compared (it changes something or depends on the session).
         *
         * @param sql      the read, its values (if it had any) written in as literals
         * @param settings the session's settings on the primary (SET statements)
         */
        public ShadowRead shadowRead(String sql, List<String> settings) {
            return ShadowReads.comparable(sql) ? new ShadowRead(sql, settings, targetIsPrimary()) : null;
        }

        /**
         * Repeats a transaction the primary committed on the secondary, in one transaction; when the
         * secondary is diverted or fails, the transaction goes to its journal (policy JOURNAL) and
         * later ones follow it until the journal is replayed. Blocks; call off any event loop.
         */
        public Outcome apply(List<Op> ops) {
            return apply(ops, null);
        }

        /**
         * Writes the intent of a transaction whose writes are {@code ops} and whose id on the primary
         * is {@code xid}, durably; call before the primary's COMMIT is sent. Blocks; call off any event loop.
         *
         * @throws java.io.UncheckedIOException when it cannot be written: the transaction must not commit
         */
        public Intent intend(List<Op> ops, long xid) {
            List<Write> entry = withSettings(writes(ops));
            try {
                Intent intent = new Intent(roles.secondary(), writer.intents().intend(roles.secondary(), entry, xid), entry, xid);
                TestHook.reached(TestHook.BEFORE_COMMIT);
                return intent;
            } catch (SQLException e) {
                throw new java.io.UncheckedIOException(e.getMessage(), new IOException(e));
            }
        }

        /** The primary did not commit the intent's transaction (its COMMIT failed, or it rolled back). */
        public void abandon(Intent intent) {
            writer.intents().resolved(intent.owedTo, intent.intent);
        }

        /** The primary's answer to the COMMIT was lost: the background check asks the primary what became of it. */
        public void doubt(Intent intent) {
            writer.intents().doubt(intent.owedTo, intent.intent, intent.writes, intent.xid);
        }

        /**
         * Repeats a committed transaction on the secondary (see {@link #apply(List)}); with its intent,
         * the secondary records the intent's identity in the same transaction, and the intent is
         * resolved once the secondary or its journal has the transaction.
         */
        public Outcome apply(List<Op> ops, Intent intent) {
            Outcome outcome = applyOnce(ops, intent);
            if (intent != null && outcome != Outcome.FAILED) {
                writer.intents().resolved(intent.owedTo, intent.intent);
            }
            return outcome;
        }

        private Outcome applyOnce(List<Op> ops, Intent intent) {
            if (ops.isEmpty()) {
                return Outcome.APPLIED;
            }
            List<Write> writes = writes(ops);
            Side side = roles.secondary();
            Journal.Origin origin = intent == null ? null : intent.intent.origin();
            if (!side.beginDirect()) {
                return journal(side, writes, true, origin);
            }
            try {
                if (connection == null) {
                    connection = side.dataSource.getConnection();
                    try (java.sql.Statement st = connection.createStatement()) {
                        for (String p : prelude) {
                            st.execute(p);
                        }
                        st.execute(secondarySession());
                    }
                    if (writer.lossless()) {
                        writer.ensureStateTables(side, connection); // before its first transaction: DDL commits on its own
                    }
                    connection.setAutoCommit(false);
                }
                // Without an intent to claim, the COMMIT joins the last statements: one round trip.
                for (Write w : batched(writes, origin == null)) {
                    JournalReplayer.apply(connection, w);
                }
                if (origin != null) {
                    JournalReplayer.claim(connection, origin.journal(), origin.seq());
                    TestHook.reached(TestHook.BETWEEN_COMMITS);
                }
                connection.commit(); // sends nothing when the COMMIT went with the statements
                writer.wroteDirectly();
                return Outcome.APPLIED;
            } catch (SQLException e) {
                closeConnection();
                return failed(writes, origin, e);
            }
        }

        /** The secondary refused a transaction or failed: it is diverted, and the transaction journaled (policy JOURNAL). */
        private Outcome failed(List<Write> writes, Journal.Origin origin, SQLException cause) {
            Side side = roles.secondary();
            if (writer.config().policy() == FailurePolicy.JOURNAL) {
                writer.divert(side, cause);
                side.joinJournal();
                return journal(side, writes, true, origin);
            }
            writer.counters().failure();
            return Outcome.FAILED;
        }

        // ---- for a caller that repeats transactions on a connection of its own, one at a time (the
        // proxy, on its event loop): beginDirect, then the secondary runs the ops between BEGIN and COMMIT
        // (joined; a new connection's first transaction also runs the session's settings and
        // secondarySession()), then applied or failed.
        // It may send a transaction's writes ahead, in an open transaction, before the primary's
        // COMMIT (likelyDirect): beginDirect still decides at the commit, and when it says no, the
        // writes sent ahead are rolled back and the transaction journaled.

        /**
         * Whether a transaction begun now would go to the secondary directly: a hint for sending its
         * writes ahead while the primary's transaction is open ({@link #beginDirect} still decides at
         * its commit). Does not block.
         */
        public boolean likelyDirect() {
            return roles.secondary().direct();
        }

        /** Whether the next transaction goes to the secondary directly; when not, give it to {@link #journal(List)}. Does not block. */
        public boolean beginDirect() {
            return roles.secondary().beginDirect();
        }

        /** Journals a transaction that {@link #beginDirect} did not send to the secondary. Blocks. */
        public Outcome journal(List<Op> ops) {
            return journal(roles.secondary(), writes(ops), true, null);
        }

        /** The secondary committed a direct transaction: counts it; false when the writer must register first (then call {@link #applied()}). Does not block. */
        public boolean appliedWithoutBlocking() {
            return writer.wroteDirectlyIfRegistered();
        }

        /** The secondary committed a direct transaction: counts it, and registers the writer if it is not yet. Blocks. */
        public void applied() {
            writer.wroteDirectly();
        }

        /** The secondary refused a direct transaction, or its connection failed: diverts the secondary and journals the transaction. Blocks. */
        public Outcome failed(List<Op> ops, SQLException cause) {
            return failed(writes(ops), null, cause);
        }

        /**
         * Consecutive statements joined into one string: the driver sends them in one round trip
         * (one Sync). With {@code commit}, a COMMIT ends the last of them when it is not a COPY: a
         * transaction of statements then reaches the secondary in one round trip, not two.
         */
        private static List<Write> batched(List<Write> writes, boolean commit) {
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
                    appendStatement(run, w.sql());
                }
            }
            if (run.length() > 0) {
                out.add(Write.sql((commit ? appendStatement(run, "COMMIT") : run).toString()));
            }
            return out;
        }

        private static List<Write> writes(List<Op> ops) {
            List<Write> writes = new ArrayList<>(ops.size());
            ops.forEach(op -> writes.add(op.write()));
            return writes;
        }

        /**
         * The writes preceded by the session's settings, its settings and its own SETs made local: a
         * replayer runs entries of many sessions on one connection, where a session SET would stay
         * for the entries after it.
         */
        private List<Write> withSettings(List<Write> writes) {
            List<Write> entry = new ArrayList<>();
            prelude.forEach(p -> entry.add(Write.sql(SessionSettings.local(p))));
            writes.forEach(w -> entry.add(!w.isCopy() && SessionSettings.isSessionSet(w.sql()) ? Write.sql(SessionSettings.local(w.sql())) : w));
            return entry;
        }

        private Outcome journal(Side side, List<Write> writes, boolean joined, Journal.Origin origin) {
            List<Write> entry = withSettings(writes);
            try {
                writer.journal(side, entry, origin);
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
