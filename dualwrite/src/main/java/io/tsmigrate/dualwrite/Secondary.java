package io.tsmigrate.dualwrite;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.net.InetAddress;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;
import javax.sql.DataSource;

/**
 * What all connections of one {@link DualWriteDataSource} share: the two {@link Side}s and which of
 * them is the primary, the writer's registration and heartbeat in {@code tsmigrate.writer}, shadow
 * reads, and one background thread that checks the secondary's health, replays journals, flushes
 * shadow-read results and follows the primary that {@code tsmigrate cutover} sets. Thread-safe.
 */
final class Secondary implements AutoCloseable {

    private static final System.Logger LOG = System.getLogger(Secondary.class.getName());

    /** Which side is primary for a connection, fixed when the application borrows it. */
    record Roles(Side primary, Side secondary) {
    }

    private final Side source;
    private final Side target;
    private final DualWriteConfig config;
    private final ShadowReads shadow;
    private final ScheduledExecutorService scheduler;
    private volatile boolean targetIsPrimary;
    private final AtomicBoolean registered = new AtomicBoolean();
    /** One check at a time; an explicit check waits for a running one and then runs its own (it must see what is now). */
    private final java.util.concurrent.locks.ReentrantLock checking = new java.util.concurrent.locks.ReentrantLock();
    private boolean stateTables;
    private String lastDamage;
    private boolean owedJournal;
    private final Instant began = Instant.now();
    final LongAdder mirrored = new LongAdder();
    final LongAdder journaled = new LongAdder();
    final LongAdder replayed = new LongAdder();
    final LongAdder failures = new LongAdder();
    final LongAdder countMismatches = new LongAdder();

    Secondary(DataSource sourceDs, DataSource targetDs, DualWriteConfig config) throws IOException {
        this.config = config;
        boolean journal = config.policy() == FailurePolicy.JOURNAL;
        this.source = new Side("source", sourceDs, journal ? Journal.open(config.journalDirectory(), config.writerName(), "source") : null);
        this.target = new Side("target", targetDs, journal ? Journal.open(config.journalDirectory(), config.writerName(), "target") : null);
        this.shadow = new ShadowReads(config.shadowReadShare(), this::openSecondaryForShadow, config.writerName());
        this.scheduler = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "tsmigrate-dualwrite-" + config.writerName());
            t.setDaemon(true);
            return t;
        });
        scheduler.scheduleWithFixedDelay(this::tick, 0, config.healthCheckInterval().toMillis(), TimeUnit.MILLISECONDS);
    }

    DualWriteConfig config() {
        return config;
    }

    ShadowReads shadow() {
        return shadow;
    }

    Roles roles() {
        return targetIsPrimary ? new Roles(target, source) : new Roles(source, target);
    }

    private Connection openSecondaryForShadow() {
        try {
            return roles().secondary().dataSource.getConnection();
        } catch (SQLException e) {
            throw new IllegalStateException(e.getMessage(), e);
        }
    }

    void divert(Side side, SQLException cause) {
        failures.increment();
        if (side.divert()) {
            LOG.log(Level.WARNING, "tsmigrate dual-write: the " + side.name + " failed (" + cause.getMessage()
                    + "); writes for it go to the journal " + side.journal.file() + " until it is back");
        }
    }

    void journal(Side side, List<Write> writes) throws SQLException {
        if (!writes.isEmpty()) {
            side.append(writes);
            journaled.increment();
        }
    }

    /** The first successful direct write registers the writer (once). */
    void wroteDirectly() {
        mirrored.increment();
        if (registered.compareAndSet(false, true)) {
            try (Connection own = target.dataSource.getConnection()) {
                register(own);
            } catch (SQLException e) {
                registered.set(false);
                LOG.log(Level.WARNING, "tsmigrate dual-write: cannot register the writer: " + e.getMessage());
            }
        }
    }

    /** Registers now, once; false when the target cannot be reached (registration is tried again at the next direct write). */
    boolean registerNow() {
        if (registered.get()) {
            return true;
        }
        try (Connection own = target.dataSource.getConnection()) {
            register(own);
            registered.set(true);
            return true;
        } catch (SQLException e) {
            LOG.log(Level.WARNING, "tsmigrate dual-write: cannot register the writer: " + e.getMessage());
            return false;
        }
    }

    private void register(Connection c) throws SQLException {
        StateTables.ensure(c);
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO tsmigrate.writer (name, application, host, pid, started_at, "
                + "primary_side) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET last_seen = now()")) {
            ps.setString(1, config.writerName());
            ps.setString(2, config.application());
            ps.setString(3, host());
            ps.setLong(4, ProcessHandle.current().pid());
            ps.setTimestamp(5, Timestamp.from(began));
            ps.setString(6, targetIsPrimary ? "target" : "source");
            ps.executeUpdate();
        }
    }

    private void tick() {
        checking.lock();
        try {
            // A writer restarted with a journal owed reports it (and that it is paid) even before it
            // writes directly again.
            owedJournal |= source.diverted() || target.diverted();
            for (Side side : List.of(source, target)) {
                if (side.diverted()) {
                    replay(side);
                }
            }
            try (Connection c = target.dataSource.getConnection()) {
                followPrimary(c);
                if (registered.get() || owedJournal) {
                    try (PreparedStatement ps = c.prepareStatement("UPDATE tsmigrate.writer SET last_seen = now(), journal_pending = ? "
                            + "WHERE name = ?")) {
                        ps.setLong(1, source.pending() + target.pending());
                        ps.setString(2, config.writerName());
                        ps.executeUpdate();
                    }
                }
                if (config.shadowReadShare() > 0) {
                    if (!stateTables) {
                        StateTables.ensure(c);
                        stateTables = true;
                    }
                    shadow.flush(c, config.writerName());
                }
            }
        } catch (SQLException | RuntimeException e) {
            LOG.log(Level.DEBUG, "tsmigrate dual-write: background check: " + e.getMessage());
        } finally {
            checking.unlock();
        }
    }

    private void replay(Side side) {
        try (Connection c = side.dataSource.getConnection()) {
            JournalReplayer.Outcome outcome = side.replay(c);
            replayed.add(outcome.applied());
            if (outcome.stoppedAt().isPresent()) {
                String damage = outcome.stoppedAt().get();
                if (!damage.equals(lastDamage)) {
                    LOG.log(Level.ERROR, "tsmigrate dual-write: " + damage + "; the entries after it are not replayed and the "
                            + "writer keeps journaling: restore the file, or run tsmigrate replay --skip-damaged to skip that entry");
                    lastDamage = damage;
                }
            } else if (!outcome.failures().isEmpty()) {
                LOG.log(Level.ERROR, "tsmigrate dual-write: journal entries failed on the " + side.name + ": " + outcome.failures()
                        + "; writes stay on the journal: fix the cause, then run tsmigrate replay");
            } else if (!side.diverted()) {
                LOG.log(Level.INFO, "tsmigrate dual-write: the " + side.name + " is back and its journal is replayed");
            }
        } catch (SQLException | IOException e) {
            LOG.log(Level.DEBUG, "tsmigrate dual-write: the " + side.name + " is not reachable yet: " + e.getMessage());
        }
    }

    /**
     * Reads the primary {@code tsmigrate cutover} asks for and swaps roles, once no journal is owed
     * to either side (a journal is replayed to the side it was written for). New connections get the
     * new roles; connections already borrowed finish on the old primary.
     */
    private void followPrimary(Connection c) throws SQLException {
        String wanted = null;
        boolean backfillDone = false;
        try (Statement st = c.createStatement()) {
            try (ResultSet rs = st.executeQuery("SELECT (SELECT value FROM tsmigrate.meta WHERE key = 'primary'), "
                    + "(SELECT count(*) > 0 AND bool_and(state = 'done') FROM tsmigrate.backfill_range)")) {
                if (rs.next()) {
                    wanted = rs.getString(1);
                    backfillDone = rs.getBoolean(2);
                }
            }
        } catch (SQLException e) {
            return; // no migration state on the target yet
        }
        shadow.backfillComplete(backfillDone);
        boolean wantTarget = "target".equals(wanted);
        if (wantTarget == targetIsPrimary || source.diverted() || target.diverted()) {
            return;
        }
        targetIsPrimary = wantTarget;
        LOG.log(Level.INFO, "tsmigrate dual-write: the " + (wantTarget ? "target" : "source") + " is now the primary");
        if (registered.get()) {
            try (PreparedStatement ps = c.prepareStatement("UPDATE tsmigrate.writer SET primary_side = ?, switched_at = now() "
                    + "WHERE name = ?")) {
                ps.setString(1, wantTarget ? "target" : "source");
                ps.setString(2, config.writerName());
                ps.executeUpdate();
            }
        }
    }

    /** Runs the background check now (tests, and before shutdown). */
    void checkNow() {
        shadow.drain();
        tick();
    }

    boolean targetIsPrimary() {
        return targetIsPrimary;
    }

    DualWriteStats stats() {
        return new DualWriteStats(mirrored.sum(), journaled.sum(), replayed.sum(), failures.sum(), countMismatches.sum(),
                source.diverted() || target.diverted(), targetIsPrimary, shadow.dropped());
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
        shadow.close();
        for (Side side : List.of(source, target)) {
            if (side.journal != null) {
                side.journal.close();
            }
        }
    }
}
