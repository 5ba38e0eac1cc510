package io.tsmigrate.dualwrite;

import java.io.IOException;
import java.util.List;
import java.sql.SQLException;
import java.util.concurrent.atomic.AtomicInteger;
import javax.sql.DataSource;

/**
 * One of the two databases as a dual-write secondary sees it: its pool, its journal of the
 * transactions it missed, and whether writes meant for it currently go to that journal (they do
 * from its first failure until the journal is replayed, so that order holds). Thread-safe.
 */
final class Side {

    final String name;
    final DataSource dataSource;
    final Journal journal;
    private final Object lock = new Object();
    private volatile boolean diverted;
    private final AtomicInteger openJournalTransactions = new AtomicInteger();

    /** @param name {@code source} or {@code target} */
    Side(String name, DataSource dataSource, Journal journal) throws IOException {
        this.name = name;
        this.dataSource = dataSource;
        this.journal = journal;
        // A journal left by an earlier run (damaged or not) is replayed before writes go direct again.
        Journal.Contents left = journal == null ? null : Journal.scan(journal.file());
        this.diverted = left != null && (!left.entries().isEmpty() || !left.damages().isEmpty());
    }

    boolean diverted() {
        return diverted;
    }

    /** Whether writes go to this side directly now (no journal to follow); {@link #beginDirect} decides for a transaction. */
    boolean direct() {
        return !diverted || journal == null;
    }

    /** Whether a new transaction writes to this side directly; if not, end it with {@link #endJournalTransaction}. */
    boolean beginDirect() {
        synchronized (lock) {
            if (!diverted || journal == null) {
                return true;
            }
            openJournalTransactions.incrementAndGet();
            return false;
        }
    }

    /** A direct transaction whose write failed here continues on the journal. */
    void joinJournal() {
        openJournalTransactions.incrementAndGet();
    }

    void endJournalTransaction() {
        openJournalTransactions.decrementAndGet();
    }

    /** @return whether this call diverted the side (it was direct before) */
    boolean divert() {
        synchronized (lock) {
            boolean was = diverted;
            diverted = journal != null;
            return !was && diverted;
        }
    }

    long pending() {
        return diverted ? Math.max(1, openJournalTransactions.get()) : 0;
    }

    void append(List<Write> writes, Journal.Origin origin) throws SQLException {
        try {
            journal.append(writes, origin);
        } catch (IOException e) {
            throw new SQLException("tsmigrate dual-write: the primary committed, but the journal " + journal.file()
                    + " cannot be written: " + e.getMessage(), "58030", e);
        }
    }

    /** Replays the journal on a connection to this side; returns to direct writes once caught up. */
    JournalReplayer.Outcome replay(java.sql.Connection c) throws SQLException, IOException {
        JournalReplayer.Outcome outcome = JournalReplayer.replay(journal.file(), c);
        if (outcome.complete()) {
            synchronized (lock) {
                if (openJournalTransactions.get() == 0 && JournalReplayer.caughtUp(journal.file(), c)) {
                    diverted = false;
                }
            }
        }
        return outcome;
    }
}
