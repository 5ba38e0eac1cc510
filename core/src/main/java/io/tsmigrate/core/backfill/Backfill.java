package io.tsmigrate.core.backfill;

import io.tsmigrate.core.throttle.RateLimiter;
import io.tsmigrate.core.throttle.RecordedThrottle;
import io.tsmigrate.core.throttle.Throttle;

import io.tsmigrate.core.state.BackfillRanges;
import io.tsmigrate.core.TsmigrateException;
import io.tsmigrate.core.TsmigrateException.Kind;
import io.tsmigrate.core.catalog.Catalog;
import io.tsmigrate.core.catalog.CatalogReader;
import io.tsmigrate.core.catalog.TableRef;
import io.tsmigrate.core.connect.ConnectionSpec;
import io.tsmigrate.core.connect.PgConnector;
import io.tsmigrate.core.connect.PgErrors;
import io.tsmigrate.core.plan.Plan;
import io.tsmigrate.core.plan.PlanChecker;
import io.tsmigrate.core.time.TimePoint;
import io.tsmigrate.core.time.TimeType;
import io.tsmigrate.core.state.PlanStore;
import io.tsmigrate.core.state.SourceSlots;
import io.tsmigrate.core.state.StateSchema;
import io.tsmigrate.core.state.Steps;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Runbook step 6: copies each hypertable's history {@code [from, T)} from the source into the
 * target, range by range, each range one target transaction (DELETE what dual-writing put there,
 * COPY the source's rows, mark it done), so that a crash at any moment leaves nothing to clean
 * up and a re-run resumes with the ranges not done. The ranges live in the target's state; any
 * number of processes on any number of machines can run it at once. At the end, re-enables the
 * compression policies that the schema step paused (6e).
 */
public final class Backfill {

    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(Backfill.class);

    private Backfill() {
    }

    /**
     * Runs the backfill until every range is done or given up.
     *
     * @param stop set it to stop at the next range boundary (Ctrl-C)
     * @throws TsmigrateException USAGE for a bad T, bound or table; NOT_READY when the schema step has
     *                            not run; the result says when ranges failed
     */
    public static BackfillResult run(ConnectionSpec sourceSpec, ConnectionSpec targetSpec, BackfillOptions options,
                                     BackfillListener listener, AtomicBoolean stop) {
        if (options.maxSourceConnections().isEmpty()) {
            return runWithin(sourceSpec, targetSpec, options, listener, stop);
        }
        // The cap holds across every process of the migration: this one takes what slots are free (one for
        // the planning connection, which the workers reuse, or which watches the load) and starts as many workers.
        int cap = options.maxSourceConnections().get();
        int watch = options.watchesLoad() ? 1 : 0;
        try (SourceSlots slots = SourceSlots.take(targetSpec, cap, options.workers() + watch, 1 + watch, stop, listener::note)) {
            if (slots.count() == 0) {
                throw interruptedBeforeCopying();
            }
            return runWithin(sourceSpec, targetSpec, options.withWorkers(slots.count() - watch), listener, stop);
        } catch (SQLException e) {
            throw PgErrors.failure("take a slot of --max-source-connections", targetSpec, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw interruptedBeforeCopying();
        }
    }

    private static TsmigrateException interruptedBeforeCopying() {
        return new TsmigrateException(Kind.INTERRUPTED, "interrupted while waiting for a source connection; nothing was copied.");
    }

    private static BackfillResult runWithin(ConnectionSpec sourceSpec, ConnectionSpec targetSpec, BackfillOptions options,
                                            BackfillListener listener, AtomicBoolean stop) {
        Instant started = Instant.now();
        Map<TableRef, TableCopy> tables = new LinkedHashMap<>();
        Map<TableRef, TimePoint> untils = new LinkedHashMap<>();
        Instant runStart;
        // The planning connection to the source is the throttle's afterwards when there are load limits: one
        // connection less to open and close, so that --max-source-connections holds at every instant.
        boolean watchesLoad = options.watchesLoad();
        Connection source = PgConnector.open(sourceSpec);
        boolean handedOver = false;
        try (Connection target = PgConnector.open(targetSpec)) {
            LOG.debug("connected at {} ms", Duration.between(started, Instant.now()).toMillis());
            Plan plan = plan(target);
            LOG.debug("plan loaded at {} ms", Duration.between(started, Instant.now()).toMillis());
            Catalog catalog = CatalogReader.read(source, plan.hypertables().stream().map(Plan.Hypertable::table).toList());
            LOG.debug("catalog read at {} ms", Duration.between(started, Instant.now()).toMillis());
            List<String> differences = PlanChecker.differences(plan, catalog);
            if (!differences.isEmpty()) {
                throw new TsmigrateException(Kind.NOT_READY, "the plan no longer matches the source: "
                        + String.join("; ", differences) + "; re-run tsmigrate plan and tsmigrate schema.");
            }
            StateSchema.ensure(target);
            requireSourceIsPrimary(target, "the backfill");
            // The run's start by the target's clock, which also stamps the attempts: no skew between them.
            try (java.sql.Statement st = target.createStatement(); java.sql.ResultSet rs = st.executeQuery("SELECT clock_timestamp()")) {
                rs.next();
                runStart = rs.getTimestamp(1).toInstant();
            }
            List<Plan.Hypertable> selected = select(plan, options.tables());
            if (options.until().isPresent()) {
                List<String> types = selected.stream().map(h -> catalog.table(h.table()).flatMap(t -> t.column(h.timeColumn()))
                        .map(Catalog.Column::typeName).orElse("")).distinct().toList();
                if (types.size() > 1) {
                    throw TsmigrateException.usage("--until is one value, but the selected tables have time columns of "
                            + types.size() + " types (" + String.join(", ", types) + "); backfill each group with --table, or "
                            + "store a T per group with tsmigrate completion-point --set.");
                }
            }
            Bounds bounds = new Bounds(source, target, options);
            for (Plan.Hypertable h : selected) {
                tables.put(h.table(), TableCopy.prepare(source, target, h, timeType(catalog, h), options.directCompress()));
            }
            // Only once every table is known to be ready (and its path allowed): nothing is recorded for a refused run.
            for (TableCopy copy : tables.values()) {
                untils.put(copy.table(), bounds.makeRanges(copy, Bounds.density(source, copy)));
            }
            LOG.debug("ranges made at {} ms", Duration.between(started, Instant.now()).toMillis());
            new Steps(target).event("backfill", "info", "backfill started for " + tables.keySet(), null);
            listener.started(totals(target, new ArrayList<>(tables.keySet())));
            if (watchesLoad && !source.getAutoCommit()) {
                source.rollback();
                source.setAutoCommit(true);
            }
            handedOver = watchesLoad;
        } catch (SQLException e) {
            throw PgErrors.failure("prepare the backfill", targetSpec, e);
        } finally {
            if (!handedOver) {
                PgConnector.closeQuietly(source);
            }
        }

        LOG.debug("backfill prepared in {} ms", Duration.between(started, Instant.now()).toMillis());
        RunMeter meter = new RunMeter(listener);
        Instant copying = Instant.now();
        runWorkers(watchesLoad ? source : null, sourceSpec, targetSpec, options, meter, stop, tables, runStart);
        LOG.debug("workers copied for {} ms", Duration.between(copying, Instant.now()).toMillis());

        try (Connection target = PgConnector.openPatiently(targetSpec, options.maxAttempts())) {
            List<TableRef> order = new ArrayList<>(tables.keySet());
            List<BackfillRanges.Counts> counts = BackfillRanges.counts(target, order);
            List<String> notes = new ArrayList<>();
            List<BackfillResult.TableResult> results = new ArrayList<>();
            boolean complete = true;
            for (BackfillRanges.Counts c : counts) {
                TableCopy copy = tables.get(c.table());
                boolean done = c.done() == c.ranges();
                complete &= done;
                if (copy.compresses()) {
                    notes.add(c.table() + " was copied " + (copy.path().direct() ? "straight into the columnstore: " : "into the rowstore: ")
                            + copy.path().why());
                }
                long decompressed = copy.decompressed().sum();
                if (decompressed > 0) {
                    notes.add("decompressed " + decompressed + " compressed chunk(s) of " + c.table() + " that ranges overlapped; "
                            + (options.compress() ? "--compress compresses them again" : "its compression policy compresses them "
                            + "again when it runs (or re-run with --compress)"));
                }
                if (done) {
                    notes.addAll(Compression.finish(target, copy.plan(), options.compress()));
                }
                results.add(new BackfillResult.TableResult(c.table(), untils.get(c.table()), c.ranges(), c.done(),
                        c.failed(), c.rows(), meter.rows(c.table()), copy.format(), copy.path()));
            }
            notes.forEach(listener::note);
            List<String> failures = BackfillRanges.failures(target, order);
            Steps steps = new Steps(target);
            steps.event("backfill", complete ? "info" : "error", complete ? "backfill complete"
                    : "backfill incomplete: " + failures.size() + " range(s) failed", failures.isEmpty() ? null : failures);
            long rows = results.stream().mapToLong(BackfillResult.TableResult::rowsThisRun).sum();
            return new BackfillResult(complete, results, rows, meter.bytes(), Duration.between(started, Instant.now()), failures, notes);
        } catch (SQLException e) {
            throw PgErrors.failure("read the backfill's state", targetSpec, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new TsmigrateException(Kind.INTERRUPTED, "interrupted; the ranges done so far are kept, re-run to finish.");
        }
    }

    private static void runWorkers(Connection loadWatch, ConnectionSpec sourceSpec, ConnectionSpec targetSpec, BackfillOptions options,
                                   BackfillListener counting, AtomicBoolean stop, Map<TableRef, TableCopy> tables,
                                   Instant runStart) {
        try (RecordedThrottle recorded = RecordedThrottle.open(loadWatch, sourceSpec, targetSpec, options.maxLoad(), options.criticalLoad(),
                options.maxRate().map(MaxRate::perSecond), options.maxRate().map(MaxRate::bytes).orElse(false), true, options.workerName(),
                counting::note)) {
            runWorkers(sourceSpec, targetSpec, options, counting, stop, tables, runStart,
                    Optional.of(recorded.throttle()));
        }
    }

    private static void runWorkers(ConnectionSpec sourceSpec, ConnectionSpec targetSpec, BackfillOptions options,
                                   BackfillListener counting, AtomicBoolean stop, Map<TableRef, TableCopy> tables,
                                   Instant runStart, Optional<Throttle> throttle) {
        RateLimiter limiter = throttle.map(Throttle::limiter)
                .orElse(options.maxRate().map(r -> new RateLimiter(r.perSecond())).orElse(null));
        BackfillWorker.Shared shared = BackfillWorker.Shared.of(sourceSpec, targetSpec, tables, new ArrayList<>(tables.keySet()),
                limiter, options.maxRate().map(MaxRate::bytes).orElse(false), options.maxAttempts(), counting, stop, runStart,
                throttle);
        AtomicInteger counter = new AtomicInteger();
        ExecutorService pool = Executors.newFixedThreadPool(options.workers(), r -> {
            Thread t = new Thread(r, "tsmigrate-backfill-" + counter.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        List<BackfillWorker> workers = new ArrayList<>();
        try {
            for (int i = 1; i <= options.workers(); i++) {
                BackfillWorker worker = new BackfillWorker(options.workerName() + "-" + i, shared);
                workers.add(worker);
                pool.submit(worker);
            }
            pool.shutdown();
            while (!pool.awaitTermination(100, TimeUnit.MILLISECONDS)) {
                if (stop.get()) {
                    // Asked to stop (Ctrl-C): the ranges in hand roll back now, instead of running to
                    // their end (a range of a million rows, throttled, can take minutes).
                    workers.forEach(BackfillWorker::abort);
                    pool.shutdownNow();
                    pool.awaitTermination(10, TimeUnit.SECONDS);
                    break;
                }
            }
        } catch (InterruptedException e) {
            stop.set(true);
            workers.forEach(BackfillWorker::abort);
            pool.shutdownNow();
            Thread.currentThread().interrupt();
        }
    }

    /** The plan's hypertables whose backfill is not complete, each with its ranges done of all ("x (3/7 ranges done)"). */
    private static Plan plan(Connection target) throws SQLException {
        return PlanStore.load(target).orElseThrow(() -> new TsmigrateException(Kind.NOT_READY,
                "the target has no migration plan in its state; run tsmigrate schema first."));
    }

    private static TimeType timeType(Catalog catalog, Plan.Hypertable h) {
        Catalog.Table table = catalog.table(h.table()).orElseThrow();
        return PlanChecker.timeType(table, table.column(h.timeColumn()).orElseThrow()).orElseThrow();
    }

    /**
     * How a backfill with these options would copy each selected table, without copying or
     * recording anything: the COPY format, the path (rowstore or columnstore, and why), the ranges
     * already recorded and done.
     */
    public record Route(TableRef table, String format, DirectCompression.Path path, int ranges, int rangesDone) {
    }

    /**
     * {@code backfill --dry-run}.
     *
     * @throws TsmigrateException NOT_READY without a plan or a table; USAGE for an unknown table, or
     *                            {@code --direct-compress on} where it cannot be
     */
    public static List<Route> dryRun(ConnectionSpec sourceSpec, ConnectionSpec targetSpec, BackfillOptions options) {
        try (Connection source = PgConnector.open(sourceSpec); Connection target = PgConnector.open(targetSpec)) {
            Plan plan = plan(target);
            List<Plan.Hypertable> selected = select(plan, options.tables());
            Catalog catalog = CatalogReader.read(source, selected.stream().map(Plan.Hypertable::table).toList());
            Map<TableRef, BackfillRanges.Counts> counts = new LinkedHashMap<>();
            if (StateSchema.exists(target)) {
                BackfillRanges.counts(target, selected.stream().map(Plan.Hypertable::table).toList()).forEach(c -> counts.put(c.table(), c));
            }
            List<Route> out = new ArrayList<>();
            for (Plan.Hypertable h : selected) {
                TableCopy copy = TableCopy.prepare(source, target, h, timeType(catalog, h), options.directCompress());
                BackfillRanges.Counts c = counts.get(h.table());
                out.add(new Route(h.table(), copy.format(), copy.path(), c == null ? 0 : c.ranges(), c == null ? 0 : c.done()));
            }
            return out;
        } catch (SQLException e) {
            throw PgErrors.failure("look at the backfill's tables", targetSpec, e);
        }
    }

    public static List<String> incomplete(Connection target, Plan plan) throws SQLException {
        return BackfillRanges.incomplete(target, plan.hypertables().stream().map(Plan.Hypertable::table).toList());
    }

    /**
     * Backfill and repair copy the source over the target: never once cutover made the target the
     * primary, when the source is only a backup and the target may hold writes it lacks.
     *
     * @throws TsmigrateException NOT_READY naming {@code action}
     */
    public static void requireSourceIsPrimary(Connection target, String action) throws SQLException {
        if ("target".equals(StateSchema.primary(target))) {
            throw new TsmigrateException(Kind.NOT_READY, "the target is the primary since cutover: " + action + " would copy the "
                    + "source, now only a backup, over it and lose what only the target holds; run tsmigrate cutover --rollback "
                    + "first if the source must be the primary again.");
        }
    }

    private static List<Plan.Hypertable> select(Plan plan, List<TableRef> wanted) {
        if (wanted.isEmpty()) {
            if (plan.hypertables().isEmpty()) {
                throw new TsmigrateException(Kind.NOT_READY, "the plan has no hypertables, so there is nothing to backfill.");
            }
            return plan.hypertables();
        }
        List<Plan.Hypertable> out = new ArrayList<>();
        for (TableRef t : wanted) {
            out.add(plan.hypertable(t).orElseThrow(() -> TsmigrateException.usage("table " + t + " is not a hypertable of the "
                    + "plan (" + String.join(", ", plan.hypertables().stream().map(h -> h.table().toString()).toList())
                    + "); only hypertables are backfilled, plain tables were copied by tsmigrate schema.")));
        }
        return out;
    }

    private static List<BackfillListener.TableTotals> totals(Connection target, List<TableRef> tables) throws SQLException {
        List<BackfillListener.TableTotals> out = new ArrayList<>();
        for (BackfillRanges.Counts c : BackfillRanges.counts(target, tables)) {
            out.add(new BackfillListener.TableTotals(c.table(), c.ranges(), c.done(), c.estimatedRows(), c.rows()));
        }
        return out;
    }
}
