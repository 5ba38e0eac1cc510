package io.tsmigrate.dualwrite;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.net.InetAddress;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Instant;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import javax.sql.DataSource;

/**
 * One dual-writing process, what all connections of one {@link DualWriteDataSource} (or one
 * {@link TransactionMirror}) share: the two {@link Side}s and which of them is the primary, the
 * lossless mode's {@link Intents}, the writer's row ({@link WriterRow}), shadow reads, the counters,
 * and one background thread that checks the secondary's health, replays journals, has the intents
 * whose commit ended in doubt resolved, flushes shadow-read results and follows the primary that
 * {@code tsmigrate cutover} sets. Thread-safe.
 */
final class DualWriter implements AutoCloseable {

    private static final System.Logger LOG = System.getLogger(DualWriter.class.getName());

    /** Which side is primary for a connection, fixed when the application borrows it. */
    record Roles(Side primary, Side secondary) {
    }

    private final Side source;
    private final Side target;
    private final DualWriteConfig config;
    private final WriterRow row;
    private final ShadowReads shadow;
    private final Counters counters = new Counters();
    private final PooledSessions sessions = new PooledSessions();
    private final ComputedWrites computedWrites = new ComputedWrites();
    private final ScheduledExecutorService scheduler;
    private final Intents intents;
    private volatile boolean targetIsPrimary;
    private final AtomicBoolean registered = new AtomicBoolean();
    /** One check at a time; an explicit check waits for a running one and then runs its own (it must see what is now). */
    private final java.util.concurrent.locks.ReentrantLock checking = new java.util.concurrent.locks.ReentrantLock();
    private boolean stateTables;
    /** The sides whose {@code tsmigrate.journal_applied} this process has made sure of (lossless mode). */
    private final Set<Side> ensured = ConcurrentHashMap.newKeySet();
    private String lastDamage;
    private String lastReplayProblem;
    private boolean owedJournal;

    DualWriter(DataSource sourceDs, DataSource targetDs, DualWriteConfig config) throws IOException {
        this.config = config;
        boolean journal = config.policy() == FailurePolicy.JOURNAL;
        this.source = new Side("source", sourceDs, journal ? Journal.open(config.journalDirectory(), config.writerName(), "source") : null);
        this.target = new Side("target", targetDs, journal ? Journal.open(config.journalDirectory(), config.writerName(), "target") : null);
        this.row = new WriterRow(config.writerName(), config.application(), host(), Instant.now(),
                journal ? config.journalDirectory().toAbsolutePath().toString() : null);
        this.shadow = new ShadowReads(config.shadowReadShare(), this::openSecondaryForShadow, config.writerName());
        this.intents = new Intents(config, source, target, counters);
        this.scheduler = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "tsmigrate-dualwrite-" + config.writerName());
            t.setDaemon(true);
            return t;
        });
        long interval = config.healthCheckInterval().toMillis();
        Future<?> first = scheduler.submit(this::tick);
        scheduler.scheduleWithFixedDelay(this::tick, interval, interval, TimeUnit.MILLISECONDS);
        awaitFirstCheck(first, interval);
    }

    /**
     * Waits, up to one health-check interval, for the first check: a writer started after cutover
     * then takes the target as primary from its first connection, and shadow reads know from the
     * first read whether the backfill is done. A target that does not answer in time does not hold
     * the application back: the check goes on in the background.
     */
    private static void awaitFirstCheck(Future<?> first, long millis) {
        try {
            first.get(millis, TimeUnit.MILLISECONDS);
        } catch (TimeoutException | ExecutionException e) {
            LOG.log(Level.DEBUG, "tsmigrate dual-write: the first check goes on in the background");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Resolves the intents an earlier run of this writer left, once (see {@link Intents#recover}).
     *
     * @throws SQLException when the primary of those intents cannot be asked yet
     */
    void recover() throws SQLException {
        intents.recover();
    }

    DualWriteConfig config() {
        return config;
    }

    ShadowReads shadow() {
        return shadow;
    }

    Counters counters() {
        return counters;
    }

    boolean lossless() {
        return config.lossless();
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

    /** Query shapes whose values each side computes for itself, for tsmigrate.computed_write. */
    ComputedWrites computedWrites() {
        return computedWrites;
    }

    /** Session settings per physical connection, on both sides. */
    PooledSessions sessions() {
        return sessions;
    }

    /** The lossless mode's intents of this writer. */
    Intents intents() {
        return intents;
    }

    /**
     * Makes sure, once per side, that the side can record applied intents (after cutover the source
     * is the secondary, and gets the library's few tables then).
     */
    void ensureStateTables(Side side, Connection c) throws SQLException {
        if (ensured.contains(side)) {
            return;
        }
        synchronized (ensured) { // one session creates them; CREATE ... IF NOT EXISTS races with itself
            if (!ensured.contains(side)) {
                StateTables.ensure(c);
                ensured.add(side);
            }
        }
    }

    void divert(Side side, SQLException cause) {
        counters.failure();
        if (side.divert()) {
            String why = "55P03".equals(cause.getSQLState()) ? ": a repeated transaction waited " + TransactionMirror.LOCK_TIMEOUT
                    + " for a lock another transaction holds there (at a cutover: one still finishing on the old primary)"
                    : " failed (" + cause.getMessage() + ")";
            LOG.log(Level.WARNING, "tsmigrate dual-write: the " + side.name + why + "; writes for it go to the journal "
                    + side.journal.file() + " until it is back");
        }
    }

    /** Appends a committed transaction the side missed to its journal, under its intent's identity when it has one. */
    void journal(Side side, List<Write> writes, Journal.Origin origin) throws SQLException {
        if (origin != null) {
            intents.forwarded(side, origin);
        }
        if (!writes.isEmpty()) {
            side.append(writes, origin);
            counters.journaled();
        }
    }

    void journal(Side side, List<Write> writes) throws SQLException {
        journal(side, writes, null);
    }

    /** The first successful direct write registers the writer (once). */
    void wroteDirectly() {
        counters.mirrored();
        if (registered.compareAndSet(false, true)) {
            try (Connection own = target.dataSource.getConnection()) {
                row.register(own, targetIsPrimary ? "target" : "source");
            } catch (SQLException e) {
                registered.set(false);
                LOG.log(Level.WARNING, "tsmigrate dual-write: cannot register the writer: " + e.getMessage());
            }
        }
    }

    /**
     * {@link #wroteDirectly} for a caller that must not block: counts the write and returns true
     * when the writer is registered; else false, and the caller runs {@link #wroteDirectly} where it may block.
     */
    boolean wroteDirectlyIfRegistered() {
        if (!registered.get()) {
            return false;
        }
        counters.mirrored();
        return true;
    }

    /** Registers now, once; false when the target cannot be reached (registration is tried again at the next direct write). */
    boolean registerNow() {
        if (registered.get()) {
            return true;
        }
        try (Connection own = target.dataSource.getConnection()) {
            row.register(own, targetIsPrimary ? "target" : "source");
            registered.set(true);
            return true;
        } catch (SQLException e) {
            LOG.log(Level.WARNING, "tsmigrate dual-write: cannot register the writer: " + e.getMessage());
            return false;
        }
    }

    /**
     * What this writer owes the sides: journal entries (at least one per diverted side) and intents
     * whose COMMIT ended in doubt. Intents of commits under way are not owed: they resolve within the
     * commit (counting them would make cutover wait on a busy writer for nothing).
     */
    long owed() {
        return source.pending() + target.pending() + intents.inDoubt();
    }

    private void tick() {
        checking.lock();
        try {
            try {
                recover();
            } catch (SQLException e) {
                LOG.log(Level.DEBUG, "tsmigrate dual-write: intents of an earlier run: " + e.getMessage());
                return;
            }
            intents.resolveDoubts((side, writes, origin) -> {
                divert(side, new SQLException("the primary's commit ended in doubt and did commit"));
                journal(side, writes, origin);
            });
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
                    row.heartbeat(c, owed());
                }
                if (config.shadowReadShare() > 0) {
                    if (!stateTables) {
                        StateTables.ensure(c);
                        stateTables = true;
                    }
                    shadow.flush(c, config.writerName());
                }
                computedWrites.flush(c, config.writerName());
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
            counters.replayed(outcome.applied());
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
            // Once per cause, not at every check: a journal that never replays must say why.
            String problem = "tsmigrate dual-write: the journal of the " + side.name + " cannot be replayed yet: " + e.getMessage();
            if (!problem.equals(lastReplayProblem)) {
                LOG.log(Level.WARNING, problem);
                lastReplayProblem = problem;
            }
        }
    }

    /**
     * Reads the primary {@code tsmigrate cutover} asks for and swaps roles, once no journal is owed
     * to either side (a journal is replayed to the side it was written for). New connections get the
     * new roles; connections already borrowed finish on the old primary.
     */
    private void followPrimary(Connection c) throws SQLException {
        Optional<WriterRow.Wanted> wanted = WriterRow.wanted(c);
        if (wanted.isEmpty()) {
            return;
        }
        shadow.backfillComplete(wanted.get().backfillDone());
        boolean wantTarget = wanted.get().primary().filter("target"::equals).isPresent();
        if (wantTarget == targetIsPrimary || source.diverted() || target.diverted() || intents.inDoubt() > 0) {
            return;
        }
        targetIsPrimary = wantTarget;
        LOG.log(Level.INFO, "tsmigrate dual-write: the " + (wantTarget ? "target" : "source") + " is now the primary");
        rolesSwapped.forEach(Runnable::run);
        if (registered.get()) {
            row.switched(c, wantTarget ? "target" : "source");
        }
    }

    /** Listeners told, on the background check's thread, right after the roles swapped. */
    private final java.util.List<Runnable> rolesSwapped = new java.util.concurrent.CopyOnWriteArrayList<>();

    void onRolesSwapped(Runnable listener) {
        rolesSwapped.add(listener);
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
        return counters.snapshot(source.diverted() || target.diverted(), targetIsPrimary, owed(), shadow);
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
        intents.close();
        for (Side side : List.of(source, target)) {
            if (side.journal != null) {
                side.journal.close();
            }
        }
        // Said so that status tells this clean stop from a kill (after which intents may be left to resolve),
        // also by a run that never wrote directly: it may have resolved what a killed run of its name left.
        // Not while the target is known to be down: closing must not wait for its connection timeout.
        if (target.diverted()) {
            return;
        }
        try (Connection c = target.dataSource.getConnection()) {
            if (StateTables.writerTableExists(c)) {
                row.stopped(c, owed());
            }
        } catch (SQLException e) {
            LOG.log(Level.DEBUG, "tsmigrate dual-write: cannot record the writer's stop: " + e.getMessage());
        }
    }
}
