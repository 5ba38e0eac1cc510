package io.tsmigrate.dualwrite;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.sql.SQLException;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * The lossless mode's intents for one writer: the intent log of each side, the resolution of what
 * an earlier run of the writer left (once, before this run's first write), and the intents whose
 * primary COMMIT ended in doubt, resolved by asking the primary. Without the journal policy there
 * is nothing to resolve; without lossless mode no intent is written. Thread-safe.
 */
final class Intents implements AutoCloseable {

    private static final System.Logger LOG = System.getLogger(Intents.class.getName());
    /** How long recovery waits for a transaction of the stopped writer that the primary still has in progress. */
    private static final Duration RECOVERY_PATIENCE = Duration.ofSeconds(30);

    /** Where a committed transaction that a side missed goes: that side's journal. */
    @FunctionalInterface
    interface Owed {
        void journal(Side side, List<Write> writes, Journal.Origin origin) throws SQLException;
    }

    /** An intent whose primary COMMIT ended in doubt (the connection broke). */
    private record Doubt(Side owedTo, IntentLog.Intent intent, List<Write> writes, long xid) {
    }

    private final DualWriteConfig config;
    private final Side source;
    private final Side target;
    private final Counters counters;
    private final Map<Side, IntentLog> logs = new HashMap<>();
    private final Queue<Doubt> doubts = new ConcurrentLinkedQueue<>();
    private volatile boolean recovered;
    /** Deletes the rows of applied intents whose segments are gone, off the writers' threads. */
    private final java.util.concurrent.ExecutorService pruner = java.util.concurrent.Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "tsmigrate-dualwrite-prune");
        t.setDaemon(true);
        return t;
    });
    private volatile boolean pruneRefused;

    Intents(DualWriteConfig config, Side source, Side target, Counters counters) throws IOException {
        this.config = config;
        this.source = source;
        this.target = target;
        this.counters = counters;
        if (config.policy() == FailurePolicy.JOURNAL) {
            // Intents an earlier run left are resolved before anything of this run goes to either side.
            try {
                recover();
            } catch (SQLException e) {
                LOG.log(Level.WARNING, "tsmigrate dual-write: intents of an earlier run are not resolved yet (" + e.getMessage()
                        + "); connections wait for that");
            }
        } else {
            recovered = true;
        }
        if (config.lossless()) {
            logs.put(source, IntentLog.open(config.journalDirectory(), config.writerName(), "source", s -> prune(source, s)));
            logs.put(target, IntentLog.open(config.journalDirectory(), config.writerName(), "target", s -> prune(target, s)));
        }
    }

    /**
     * Resolves the intents an earlier run of this writer left, once; a connection is handed out only
     * after that, so that what they owe reaches each side before this run's writes.
     *
     * @throws SQLException when the primary of those intents cannot be asked yet
     */
    void recover() throws SQLException {
        if (recovered) {
            return;
        }
        synchronized (this) {
            if (recovered) {
                return;
            }
            try {
                for (Side side : List.of(source, target)) {
                    IntentRecovery.Result r = IntentRecovery.recover(config.journalDirectory(), config.writerName(), side,
                            other(side).dataSource, RECOVERY_PATIENCE);
                    counters.recovered(r.forwarded(), r.discarded());
                }
            } catch (IOException e) {
                throw new SQLException("tsmigrate dual-write: cannot resolve the intents in " + config.journalDirectory() + ": "
                        + e.getMessage(), "58030", e);
            }
            recovered = true;
        }
    }

    private Side other(Side side) {
        return side == source ? target : source;
    }

    /**
     * Writes a transaction's intent, owed to {@code side}, durably; call before the primary's COMMIT.
     *
     * @throws SQLException when it cannot be written: the transaction must not commit
     */
    IntentLog.Intent intend(Side side, List<Write> writes, long xid) throws SQLException {
        try {
            return logs.get(side).append(writes, xid);
        } catch (IOException e) {
            throw new SQLException("tsmigrate dual-write: the intent log in " + config.journalDirectory() + " cannot be written ("
                    + e.getMessage() + "); the transaction is rolled back, not committed", "58030", e);
        }
    }

    /**
     * An intent goes to the side's journal (its COMMIT there failed or is in doubt, or the side is
     * diverted): its entry is applied under the intent's identity later, so its segment's rows stay.
     * Call before {@link #resolved}.
     */
    void forwarded(Side side, Journal.Origin origin) {
        IntentLog log = logs.get(side);
        if (log != null) {
            log.forwarded(origin.journal());
        }
    }

    /**
     * Deletes the side's records of the intents of a segment that is gone: nothing can apply them
     * again. A role without the right (granted by {@code tsmigrate grant-writer} since it prunes) is
     * said once; the rows then stay, which costs room and nothing else.
     */
    private void prune(Side side, String segment) {
        if (pruneRefused || side.diverted()) {
            return; // a side that is down keeps the records: nothing waits for its connection timeout
        }
        try {
            pruner.execute(() -> {
                try (java.sql.Connection c = side.dataSource.getConnection();
                     java.sql.PreparedStatement ps = c.prepareStatement("DELETE FROM tsmigrate.journal_applied WHERE journal = ?")) {
                    ps.setString(1, segment);
                    ps.executeUpdate();
                } catch (SQLException e) {
                    if ("42501".equals(e.getSQLState())) {
                        pruneRefused = true;
                        LOG.log(Level.WARNING, "tsmigrate dual-write: cannot delete applied intents' records from tsmigrate.journal_applied "
                                + "on the " + side.name + " (" + e.getMessage() + "); they stay (run tsmigrate grant-writer again to "
                                + "let the writer's role prune them)");
                    } else {
                        LOG.log(Level.DEBUG, "tsmigrate dual-write: pruning tsmigrate.journal_applied: " + e.getMessage());
                    }
                }
            });
        } catch (java.util.concurrent.RejectedExecutionException e) {
            // Closing: the rows stay, harmless.
        }
    }

    /** The secondary has the intent's transaction, or the primary did not commit it. */
    void resolved(Side side, IntentLog.Intent intent) {
        logs.get(side).done(intent);
    }

    /** The primary's COMMIT of an intent's transaction ended in doubt: {@link #resolveDoubts} asks the primary later. */
    void doubt(Side side, IntentLog.Intent intent, List<Write> writes, long xid) {
        doubts.add(new Doubt(side, intent, List.copyOf(writes), xid));
    }

    /** How many intents wait for the primary to say whether their COMMIT happened. */
    int inDoubt() {
        return doubts.size();
    }

    /**
     * Asks the primary about each intent whose COMMIT ended in doubt, in order: a committed one goes
     * to {@code owed}; an aborted one is done with. Stops at the first the primary cannot answer yet.
     */
    void resolveDoubts(Owed owed) {
        for (Doubt d; (d = doubts.peek()) != null; ) {
            String status;
            try {
                status = IntentRecovery.status(other(d.owedTo()).dataSource, d.xid());
            } catch (SQLException e) {
                return; // the primary is not back yet
            }
            if ("in progress".equals(status)) {
                return;
            }
            if ("committed".equals(status)) {
                try {
                    owed.journal(d.owedTo(), d.writes(), d.intent().origin());
                } catch (SQLException e) {
                    LOG.log(Level.ERROR, "tsmigrate dual-write: " + e.getMessage() + "; the intent stays for the next start");
                    return;
                }
            }
            doubts.poll();
            resolved(d.owedTo(), d.intent());
        }
    }

    @Override
    public void close() {
        logs.values().forEach(IntentLog::close); // deletes the segments that are done, pruning their rows
        pruner.shutdown();
        try {
            if (!pruner.awaitTermination(10, java.util.concurrent.TimeUnit.SECONDS)) {
                pruner.shutdownNow();
            }
        } catch (InterruptedException e) {
            pruner.shutdownNow();
            Thread.currentThread().interrupt();
        }
    }
}
