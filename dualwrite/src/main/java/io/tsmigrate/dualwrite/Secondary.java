package io.tsmigrate.dualwrite;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.net.InetAddress;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import javax.sql.DataSource;

/**
 * The secondary side of a {@link DualWriteDataSource}, shared by all its connections: whether
 * writes go to it directly or to the journal, the journal itself, the health check that notices
 * when the secondary is back and replays the journal before direct writes resume (so that order
 * holds), and the writer's registration and heartbeat in {@code tsmigrate.writer}. Thread-safe.
 */
final class Secondary implements AutoCloseable {

    private static final System.Logger LOG = System.getLogger(Secondary.class.getName());

    private final DataSource dataSource;
    private final DualWriteConfig config;
    private final Journal journal;
    private final ScheduledExecutorService scheduler;
    private final Object modeLock = new Object();
    private volatile boolean diverted;
    private final AtomicInteger openJournalTransactions = new AtomicInteger();
    private final AtomicBoolean registered = new AtomicBoolean();
    private final AtomicBoolean checking = new AtomicBoolean();
    private final Instant began = Instant.now();
    final LongAdder mirrored = new LongAdder();
    final LongAdder journaled = new LongAdder();
    final LongAdder replayed = new LongAdder();
    final LongAdder failures = new LongAdder();
    final LongAdder countMismatches = new LongAdder();

    Secondary(DataSource dataSource, DualWriteConfig config) throws IOException {
        this.dataSource = dataSource;
        this.config = config;
        this.journal = config.policy() == FailurePolicy.JOURNAL ? Journal.open(config.journalDirectory(), config.writerName()) : null;
        this.scheduler = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "tsmigrate-dualwrite-" + config.writerName());
            t.setDaemon(true);
            return t;
        });
        // A journal left by an earlier run of this writer is replayed before writes go direct again.
        if (journal != null && !Journal.read(journal.file()).isEmpty()) {
            diverted = true;
        }
        scheduler.scheduleWithFixedDelay(this::tick, 0, config.healthCheckInterval().toMillis(), TimeUnit.MILLISECONDS);
    }

    Connection open() throws SQLException {
        return dataSource.getConnection();
    }

    DualWriteConfig config() {
        return config;
    }

    /**
     * How a new transaction writes: directly to the secondary, or (while diverted) to the journal;
     * a journal transaction must be ended with {@link #endJournalTransaction()}.
     */
    boolean beginDirect() {
        synchronized (modeLock) {
            if (!diverted || journal == null) {
                return true;
            }
            openJournalTransactions.incrementAndGet();
            return false;
        }
    }

    /** A direct transaction whose secondary failed continues on the journal. */
    void joinJournal() {
        openJournalTransactions.incrementAndGet();
    }

    void endJournalTransaction() {
        openJournalTransactions.decrementAndGet();
    }

    /** A write failed on the secondary: later transactions go to the journal until it is back. */
    void divert(SQLException cause) {
        failures.increment();
        if (journal != null && !diverted) {
            LOG.log(Level.WARNING, "tsmigrate dual-write: the secondary failed (" + cause.getMessage()
                    + "); writes go to the journal " + journal.file() + " until it is back");
            diverted = true;
        }
    }

    /** Appends a committed transaction the secondary did not get; forced to disk before returning. */
    void journal(List<Write> writes) throws SQLException {
        if (writes.isEmpty()) {
            return;
        }
        try {
            journal.append(writes);
            journaled.increment();
        } catch (IOException e) {
            throw new SQLException("tsmigrate dual-write: the primary committed, but the journal " + journal.file()
                    + " cannot be written: " + e.getMessage(), "58030", e);
        }
    }

    /** The first successful direct write registers the writer (once). */
    void wroteDirectly() {
        mirrored.increment();
        if (registered.compareAndSet(false, true)) {
            try {
                register();
            } catch (SQLException e) {
                registered.set(false);
                LOG.log(Level.WARNING, "tsmigrate dual-write: cannot register the writer: " + e.getMessage());
            }
        }
    }

    private void register() throws SQLException {
        // Its own connection, outside the application's transaction: registration must not depend on it.
        try (Connection own = open()) {
            StateTables.ensure(own);
            try (PreparedStatement ps = own.prepareStatement("INSERT INTO tsmigrate.writer (name, application, host, pid, started_at) "
                    + "VALUES (?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET last_seen = now()")) {
                ps.setString(1, config.writerName());
                ps.setString(2, config.application());
                ps.setString(3, host());
                ps.setLong(4, ProcessHandle.current().pid());
                ps.setTimestamp(5, Timestamp.from(began));
                ps.executeUpdate();
            }
        }
    }

    private void tick() {
        if (!checking.compareAndSet(false, true)) {
            return;
        }
        try (Connection c = open()) {
            try (Statement st = c.createStatement()) {
                st.execute("SELECT 1");
            }
            if (diverted) {
                replay(c);
            }
            if (registered.get()) {
                try (PreparedStatement ps = c.prepareStatement("UPDATE tsmigrate.writer SET last_seen = now(), journal_pending = ? WHERE name = ?")) {
                    ps.setLong(1, diverted ? Math.max(1, openJournalTransactions.get()) : 0);
                    ps.setString(2, config.writerName());
                    ps.executeUpdate();
                }
            }
        } catch (SQLException | IOException | RuntimeException e) {
            LOG.log(Level.DEBUG, "tsmigrate dual-write: the secondary is not reachable yet: " + e.getMessage());
        } finally {
            checking.set(false);
        }
    }

    /** Replays the journal; once it is caught up and no journal transaction is open, writes go direct again. */
    private void replay(Connection c) throws SQLException, IOException {
        JournalReplayer.Outcome outcome = JournalReplayer.replay(journal.file(), c);
        replayed.add(outcome.applied());
        if (!outcome.failures().isEmpty()) {
            LOG.log(Level.ERROR, "tsmigrate dual-write: journal entries failed on the secondary: " + outcome.failures()
                    + "; writes stay on the journal: fix the cause, then run tsmigrate replay");
            return;
        }
        synchronized (modeLock) {
            if (openJournalTransactions.get() == 0 && JournalReplayer.caughtUp(journal.file(), c)) {
                diverted = false;
                LOG.log(Level.INFO, "tsmigrate dual-write: the secondary is back and the journal is replayed; writing directly again");
            }
        }
    }

    /** Runs a health check now (tests and shutdown use it). */
    void checkNow() {
        tick();
    }

    DualWriteStats stats() {
        return new DualWriteStats(mirrored.sum(), journaled.sum(), replayed.sum(), failures.sum(), countMismatches.sum(), diverted);
    }

    private static String host() {
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            return "unknown";
        }
    }

    @Override
    public void close() {
        scheduler.shutdownNow();
        if (journal != null) {
            journal.close();
        }
    }
}
