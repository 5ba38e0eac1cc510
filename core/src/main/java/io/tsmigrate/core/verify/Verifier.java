package io.tsmigrate.core.verify;

import io.tsmigrate.core.TsmigrateException;
import io.tsmigrate.core.TsmigrateException.Kind;
import io.tsmigrate.core.ProcessNames;
import io.tsmigrate.core.backfill.Backfill;
import io.tsmigrate.core.backfill.Recopy;
import io.tsmigrate.core.backfill.MaxRate;
import io.tsmigrate.core.time.TimeAxis;
import io.tsmigrate.core.catalog.Catalog;
import io.tsmigrate.core.catalog.CatalogReader;
import io.tsmigrate.core.catalog.TableRef;
import io.tsmigrate.core.state.BackfillRanges;
import io.tsmigrate.core.completion.Until;
import io.tsmigrate.core.state.ComputedWriteRecords;
import io.tsmigrate.core.connect.ConnectionSpec;
import io.tsmigrate.core.connect.PgConnector;
import io.tsmigrate.core.connect.PgErrors;
import io.tsmigrate.core.throttle.RateLimiter;
import io.tsmigrate.core.throttle.RecordedThrottle;
import io.tsmigrate.core.plan.Plan;
import io.tsmigrate.core.plan.PlanChecker;
import io.tsmigrate.core.time.TimeType;
import io.tsmigrate.core.state.PlanStore;
import io.tsmigrate.core.state.StateSchema;
import io.tsmigrate.core.state.VerificationRuns;
import io.tsmigrate.core.time.TimePoint;
import io.tsmigrate.core.time.TimeRange;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;

/**
 * Runbook step 7, exactly: for every hypertable, per range up to T, and for every plain table,
 * whole, a row count and an order-independent checksum on both sides in parallel; a part that
 * differs is narrowed down to the rows that differ. Optionally repairs through the backfill's
 * transactional path and checks again. Results go to {@code tsmigrate.verification_*}.
 */
public final class Verifier {

    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(Verifier.class);

    private Verifier() {
    }

    /**
     * @param progress told one line per table as it is checked
     * @throws TsmigrateException NOT_READY without a plan or a T; USAGE for a table not in the migration
     */
    public static VerifyResult run(ConnectionSpec sourceSpec, ConnectionSpec targetSpec, VerifyOptions options,
                                   Consumer<String> progress) {
        return run(sourceSpec, targetSpec, options, progress, new java.util.concurrent.atomic.AtomicBoolean());
    }

    /**
     * @param stop set from another thread (Ctrl-C): the check stops at the next range, its run is
     *             recorded as failed, and TsmigrateException INTERRUPTED is thrown
     */
    public static VerifyResult run(ConnectionSpec sourceSpec, ConnectionSpec targetSpec, VerifyOptions options,
                                   Consumer<String> progress, java.util.concurrent.atomic.AtomicBoolean stop) {
        Instant started = Instant.now();
        try (Connection source = PgConnector.open(sourceSpec); Connection target = PgConnector.open(targetSpec)) {
            LOG.debug("connected at {} ms", Duration.between(started, Instant.now()).toMillis());
            if (options.repair()) {
                Backfill.requireSourceIsPrimary(target, "--repair");
            }
            Plan plan = PlanStore.load(target).orElseThrow(() -> new TsmigrateException(Kind.NOT_READY,
                    "the target has no migration plan in its state; run tsmigrate schema (and backfill) first."));
            // With --table, only those tables (and the plan's) are read: a database of many tables costs nothing.
            Catalog catalog = options.tables().isEmpty() ? CatalogReader.read(source)
                    : CatalogReader.read(source, java.util.stream.Stream.concat(options.tables().stream(),
                    plan.hypertables().stream().map(Plan.Hypertable::table)).distinct().toList());
            List<String> differences = PlanChecker.differences(plan, catalog);
            if (!differences.isEmpty()) {
                throw new TsmigrateException(Kind.NOT_READY, "the plan no longer matches the source: " + String.join("; ", differences) + ".");
            }
            Map<TableRef, Optional<Plan.Hypertable>> tables = tables(catalog, plan, target, options.tables());
            LOG.debug("catalog read at {} ms", Duration.between(started, Instant.now()).toMillis());
            StateSchema.ensure(target);
            // Every window is decided before the run is recorded: bad input, or no T yet, leaves no run behind.
            Map<TableRef, TimeRange> windows = new LinkedHashMap<>();
            if (!options.estimate()) {
                for (Optional<Plan.Hypertable> h : tables.values()) {
                    if (h.isPresent()) {
                        windows.put(h.get().table(), window(target, h.get(), timeType(catalog, h.get()), options));
                    }
                }
            }
            VerificationRuns store = VerificationRuns.start(target, options.estimate() ? "estimate" : "exact");
            try {
                return check(sourceSpec, targetSpec, source, target, options, catalog, plan, tables, windows, store, progress, started,
                        stop);
            } catch (SQLException | RuntimeException e) {
                // A run that died says so: status must never show it running forever.
                store.fail(target, e);
                throw e;
            }
        } catch (SQLException e) {
            throw PgErrors.failure("verify", targetSpec, e);
        }
    }

    /**
     * Why some differences may be by design: for each table that differs, the writes into it whose
     * values each side computes for itself, as the writers recorded them.
     */
    private static List<String> computedWrites(Connection target, List<VerifyResult.TableVerdict> verdicts) throws SQLException {
        List<String> out = new ArrayList<>();
        List<ComputedWriteRecords.ComputedWrite> writes = ComputedWriteRecords.all(target);
        for (VerifyResult.TableVerdict v : verdicts) {
            if (v.verdict() != VerifyResult.Verdict.DIFFERS) {
                continue;
            }
            String table = v.table().schema() + "." + v.table().name();
            for (ComputedWriteRecords.ComputedWrite w : writes) {
                if (w.table().filter(table::equals).isPresent()) {
                    out.add(v.table() + ": writer " + w.writer() + " writes it with values each side computes for itself (" + w.reason()
                            + ") in " + w.shape() + ": the rows it wrote differ between the sides by design; send the value from the "
                            + "application, or name the column under accept_differences in the plan (verify then leaves it out)");
                }
            }
        }
        return out;
    }

    private static TimeType timeType(Catalog catalog, Plan.Hypertable h) {
        Catalog.Table table = catalog.table(h.table()).orElseThrow();
        return PlanChecker.timeType(table, table.column(h.timeColumn()).orElseThrow()).orElseThrow();
    }

    /** What to compare of one hypertable: from {@code --from} (or the beginning) up to {@code --until} or T. */
    private static TimeRange window(Connection target, Plan.Hypertable h, TimeType type, VerifyOptions options) throws SQLException {
        TimePoint until = Until.resolve(target, type, options.until(), BackfillRanges.until(target, h.table()), "there is no "
                + "completion point T for " + h.table() + " (no backfill ran and none is stored); pass --until, or store one "
                + "with tsmigrate completion-point --set.");
        return Until.window(target, until, options.from(), options.until().isPresent() ? "--until" : "T =", h.table(), "check");
    }

    private static VerifyResult check(ConnectionSpec sourceSpec, ConnectionSpec targetSpec, Connection source, Connection target,
                                      VerifyOptions options, Catalog catalog, Plan plan, Map<TableRef, Optional<Plan.Hypertable>> tables,
                                      Map<TableRef, TimeRange> windows, VerificationRuns store, Consumer<String> progress, Instant started,
                                      java.util.concurrent.atomic.AtomicBoolean stop)
            throws SQLException {
        List<VerifyResult.TableVerdict> verdicts = new ArrayList<>();
        List<String> notes = new ArrayList<>();
        Differences found = new Differences(options.maxRows());
        if (options.estimate()) {
            for (Map.Entry<TableRef, Optional<Plan.Hypertable>> t : tables.entrySet()) {
                VerifyResult.TableVerdict v = Estimator.estimate(source, target, t.getKey(), t.getValue().isPresent());
                progress.accept(t.getKey() + ": " + v.verdict().name().toLowerCase());
                verdicts.add(v);
                store.add(new VerificationRuns.Checked(t.getKey(), Optional.empty(), v.sourceRows(), v.targetRows(), null, null,
                        v.verdict().name().toLowerCase()));
            }
            notes.add("estimates include rows past T that dual-writes added; use the exact check (the default) before cutover");
        } else {
            // The pools start with this thread's connections (idle while they work); results are
            // written to the state once the pools are done with them.
            // Like the backfill, the exact check reads every row of the source: the same throttle on its
            // load (--max-load, --critical-load), which tsmigrate throttle can pause or re-pace.
            Connection loadWatch = options.watchesLoad() ? PgConnector.open(sourceSpec) : null;
            try (RecordedThrottle recorded = RecordedThrottle.open(loadWatch, sourceSpec, targetSpec, options.maxLoad(),
                    options.criticalLoad(), options.maxRate().map(MaxRate::perSecond), false, false, "verify-" + ProcessNames.current(),
                    progress);
                 SidePool sourcePool = new SidePool(sourceSpec, options.workers(), Optional.of(recorded.throttle()),
                         recorded.throttle().limiter(), source, stop);
                 SidePool targetPool = new SidePool(targetSpec, options.workers(), Optional.empty(),
                         options.maxRate().map(r -> new RateLimiter(r.perSecond())).orElse(null), target, stop)) {
                Exact exact = new Exact(source, target, sourcePool, targetPool, options, plan, store, found, progress, stop);
                for (Map.Entry<TableRef, Optional<Plan.Hypertable>> t : tables.entrySet()) {
                    List<String> key = catalog.table(t.getKey()).flatMap(Catalog.Table::primaryKey)
                            .map(Catalog.Constraint::columns).orElse(List.of());
                    if (t.getValue().isPresent()) {
                        Plan.Hypertable h = t.getValue().get();
                        verdicts.add(exact.hypertable(h, timeType(catalog, h), key, windows.get(h.table())));
                    } else {
                        verdicts.add(exact.plain(t.getKey(), key));
                    }
                }
            }
            store.flush(target);
        }
        LOG.debug("tables checked at {} ms", Duration.between(started, Instant.now()).toMillis());
        List<VerifyResult.SequenceVerdict> sequences = options.tables().isEmpty() ? Sequences.compare(source, target) : List.of();
        sequences.stream().filter(VerifyResult.SequenceVerdict::behind).forEach(s -> notes.add("sequence " + s.sequence()
                + " is behind on the target (" + s.target() + " < " + s.source() + "): after cutover it would hand out ids that "
                + "exist; tsmigrate cutover --advance-sequences moves it"));
        boolean match = verdicts.stream().allMatch(v -> v.verdict() == VerifyResult.Verdict.MATCH
                || v.verdict() == VerifyResult.Verdict.REPAIRED);
        if (!match) {
            notes.addAll(computedWrites(target, verdicts));
        }
        VerifyResult result = new VerifyResult(match, options.estimate() ? "estimate" : "exact", store.runId(), List.copyOf(verdicts),
                found.listed(), found.total(), sequences, List.copyOf(notes), Duration.between(started, Instant.now()));
        // Cutover trusts only a run that checked every table over its whole span.
        boolean whole = options.tables().isEmpty() && options.from().isEmpty() && options.until().isEmpty();
        Map<String, Object> summary = new LinkedHashMap<>();
        summary.put("whole", whole);
        summary.put("tables", result.tables().size());
        summary.put("differences", result.differenceCount());
        summary.put("sequences_behind", sequences.stream().filter(VerifyResult.SequenceVerdict::behind).count());
        store.finish(target, match ? "match" : "differs", summary);
        return result;
    }

    private static VerificationRuns.Checked checked(TableRef table, Optional<TimeRange> range, Digest source, Digest target,
                                                    boolean same) {
        return new VerificationRuns.Checked(table, range, source.rows(), target.rows(), source.toString(), target.toString(),
                same ? "match" : "differs");
    }

    /** The tables to check: the plan's hypertables and every plain table both sides have. */
    private static Map<TableRef, Optional<Plan.Hypertable>> tables(Catalog catalog, Plan plan, Connection target,
                                                                   List<TableRef> wanted) throws SQLException {
        Map<TableRef, Optional<Plan.Hypertable>> all = new LinkedHashMap<>();
        plan.hypertables().forEach(h -> all.put(h.table(), Optional.of(h)));
        java.util.Set<TableRef> onTarget = targetTables(target);
        for (Catalog.Table t : catalog.tables().values()) {
            if (t.isPartition() || all.containsKey(t.ref()) || isInsideHypertable(catalog, plan, t) || !onTarget.contains(t.ref())) {
                continue;
            }
            all.put(t.ref(), Optional.empty());
        }
        if (wanted.isEmpty()) {
            return all;
        }
        Map<TableRef, Optional<Plan.Hypertable>> out = new LinkedHashMap<>();
        for (TableRef t : wanted) {
            if (!all.containsKey(t)) {
                throw TsmigrateException.usage("table " + t + " is not part of the migration (not on both sides); check the name.");
            }
            out.put(t, all.get(t));
        }
        return out;
    }

    private static boolean isInsideHypertable(Catalog catalog, Plan plan, Catalog.Table t) {
        return t.inheritsFrom().stream().anyMatch(p -> plan.hypertable(p).isPresent());
    }

    private static java.util.Set<TableRef> targetTables(Connection target) throws SQLException {
        java.util.Set<TableRef> out = new java.util.HashSet<>();
        try (PreparedStatement ps = target.prepareStatement("SELECT n.nspname, c.relname FROM pg_class c "
                + "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p')");
             ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                out.add(new TableRef(rs.getString(1), rs.getString(2)));
            }
        }
        return out;
    }

    /** The exact check of one table at a time, sharing the pools of both sides. */
    private record Exact(Connection source, Connection target, SidePool sourcePool, SidePool targetPool, VerifyOptions options,
                         Plan plan, VerificationRuns store, Differences found, Consumer<String> progress, java.util.concurrent.atomic.AtomicBoolean stop) {

        /** What a table's verdict says of the columns the plan accepts as different, if any. */
        private String leftOut(TableRef table) {
            List<String> columns = plan.acceptedColumns(table);
            return columns.isEmpty() ? "" : "; not compared: " + String.join(", ", columns) + " (accept_differences in the plan: "
                    + "each side computes them)";
        }

        /** Ctrl-C: stop at this range; the pools' close cancels what is still running on both sides. */
        private void stopIfAsked() {
            if (stop.get()) {
                throw new TsmigrateException(Kind.INTERRUPTED, "interrupted: the check stopped before it finished, and its run is "
                        + "recorded as failed; run tsmigrate verify again.");
            }
        }

        VerifyResult.TableVerdict hypertable(Plan.Hypertable h, TimeType type, List<String> key, TimeRange window) throws SQLException {
            TimeAxis axis = new TimeAxis(type);
            long until = window.end();
            List<TimeRange> ranges = new ArrayList<>(ranges(h, type, window));
            // Past T, up to the settled instant: ranges over what only dual-writes put on the target.
            long end = until;
            Optional<Long> settled = options.pastT().flatMap(at -> axis.position(at, h.timeUnit()));
            if (settled.isPresent() && settled.get() > until) {
                ranges.addAll(Recopy.ranges(source, target, h, new TimeRange(type, until, settled.get()), 1_000_000));
                end = settled.get();
            }
            String endText = axis.literal(end);
            TableDigest digest = TableDigest.prepare(source, target, h.table(), key, plan.acceptedColumns(h.table()));
            LOG.debug("{}: {} ranges, digest by {}", h.table(), ranges.size(), digest.method());
            String column = TableRef.quote(h.timeColumn());
            CompletableFuture<Accounting.Counts> counts = sourcePool.submit(c -> Accounting.count(c, h.table(), column,
                    new TimeRange(type, ranges.get(0).start(), ranges.get(ranges.size() - 1).end())));
            List<CompletableFuture<Map<Long, Digest>>> sides = new ArrayList<>();
            for (TimeRange r : ranges) {
                String where = r.where(column);
                sides.add(sourcePool.digest(digest.digestSql(where), false));
                sides.add(targetPool.digest(digest.digestSql(where), false));
            }
            long before = found.total();
            long missing0 = found.missing();
            long extra0 = found.extra();
            long changed0 = found.changed();
            long sourceRows = 0;
            long targetRows = 0;
            int differing = 0;
            List<TimeRange> repairs = new ArrayList<>();
            for (int i = 0; i < ranges.size(); i++) {
                TimeRange r = ranges.get(i);
                stopIfAsked();
                Digest s = SidePool.join(sides.get(2 * i)).getOrDefault(0L, Digest.EMPTY);
                Digest t = SidePool.join(sides.get(2 * i + 1)).getOrDefault(0L, Digest.EMPTY);
                sourceRows += s.rows();
                targetRows += t.rows();
                String where = r.where(column);
                boolean same = s.equals(t) || (digest.recordHash() && s.rows() == t.rows() && sameByText(digest, where));
                store.add(checked(h.table(), Optional.of(r), s, t, same));
                if (!same) {
                    differing++;
                    repairs.add(r);
                    new Narrower(digest, sourcePool, targetPool, found).byTime(axis, h.timeColumn(), where, r.start(), r.end(), 0);
                }
            }
            Accounting accounting = Accounting.of(SidePool.join(counts), sourceRows);
            VerifyResult.Verdict verdict = differing == 0 && accounting.complete() ? VerifyResult.Verdict.MATCH : VerifyResult.Verdict.DIFFERS;
            String note = end == until ? "past T (" + window.endLiteral() + ") dual-writes are still arriving: those rows are not compared"
                    : "past T (" + window.endLiteral() + "), the rows dual-writes put on both sides up to " + endText + " compared too; newer ones "
                    + "may still be on their way";
            if (differing > 0 && options.repair()) {
                for (TimeRange r : repairs) {
                    Recopy.range(sourcePool.spec(), targetPool.spec(), h, r);
                }
                boolean fixed = repairs.stream().allMatch(r -> {
                    String where = r.where(column);
                    return SidePool.join(sourcePool.digest(digest.digestSql(where), false))
                            .equals(SidePool.join(targetPool.digest(digest.digestSql(where), false)));
                });
                verdict = fixed && accounting.complete() ? VerifyResult.Verdict.REPAIRED : VerifyResult.Verdict.DIFFERS;
                note = "copied " + repairs.size() + " range(s) again; " + (fixed ? "they match now" : "they still differ");
            }
            if (!accounting.complete()) {
                note = accounting.problem(h.timeColumn()) + "; " + note;
            }
            note += leftOut(h.table());
            progress.accept(h.table() + ": " + ranges.size() + " range(s), " + differing + " differing"
                    + (found.total() > before ? ", " + (found.total() - before) + " row(s) differ" : "")
                    + (accounting.complete() ? "" : ", " + accounting.problem(h.timeColumn())));
            return new VerifyResult.TableVerdict(h.table(), true, "[" + (window.start() == TimeAxis.LOWEST ? "start" : window.startLiteral()) + ", " + endText + ")",
                    ranges.size(), differing, sourceRows, targetRows, found.missing() - missing0 + accounting.nullTime(),
                    found.extra() - extra0, found.changed() - changed0, verdict, digest.method(), note, Optional.of(accounting));
        }

        VerifyResult.TableVerdict plain(TableRef table, List<String> key) throws SQLException {
            stopIfAsked();
            TableDigest digest = TableDigest.prepare(source, target, table, key, plan.acceptedColumns(table));
            CompletableFuture<Map<Long, Digest>> sf = sourcePool.digest(digest.digestSql("true"), false);
            CompletableFuture<Map<Long, Digest>> tf = targetPool.digest(digest.digestSql("true"), false);
            Digest s = SidePool.join(sf).getOrDefault(0L, Digest.EMPTY);
            Digest t = SidePool.join(tf).getOrDefault(0L, Digest.EMPTY);
            long missing0 = found.missing();
            long extra0 = found.extra();
            long changed0 = found.changed();
            boolean same = s.equals(t) || (digest.recordHash() && s.rows() == t.rows() && sameByText(digest, "true"));
            store.add(checked(table, Optional.empty(), s, t, same));
            VerifyResult.Verdict verdict = same ? VerifyResult.Verdict.MATCH : VerifyResult.Verdict.DIFFERS;
            String note = "plain table, copied by tsmigrate schema and kept current by dual-writes";
            if (!same) {
                new Narrower(digest, sourcePool, targetPool, found).byHash("true", 1, 0);
                if (options.repair()) {
                    Recopy.table(sourcePool.spec(), targetPool.spec(), table);
                    boolean fixed = SidePool.join(sourcePool.digest(digest.digestSql("true"), false))
                            .equals(SidePool.join(targetPool.digest(digest.digestSql("true"), false)));
                    verdict = fixed ? VerifyResult.Verdict.REPAIRED : VerifyResult.Verdict.DIFFERS;
                    note = "copied again; " + (fixed ? "it matches now" : "it still differs");
                }
            }
            progress.accept(table + ": " + (same ? "match" : "differs"));
            note += leftOut(table);
            return new VerifyResult.TableVerdict(table, false, "whole table", 1, same ? 0 : 1, s.rows(), t.rows(),
                    found.missing() - missing0, found.extra() - extra0, found.changed() - changed0, verdict, digest.method(), note,
                    Optional.empty());
        }

        /** The fast hashes of a range differ: the text digest, identical across versions, decides. */
        private boolean sameByText(TableDigest digest, String where) {
            TableDigest text = digest.byText();
            return SidePool.join(sourcePool.digest(text.digestSql(where), false))
                    .equals(SidePool.join(targetPool.digest(text.digestSql(where), false)));
        }

        private List<TimeRange> ranges(Plan.Hypertable h, TimeType type, TimeRange window) throws SQLException {
            List<TimeRange> stored = BackfillRanges.stored(target, h.table(), type);
            boolean storedFits = !stored.isEmpty() && window.start() == TimeAxis.LOWEST
                    && stored.get(stored.size() - 1).end() == window.end();
            if (storedFits) {
                return stored;
            }
            return Recopy.ranges(source, target, h, window, 1_000_000);
        }
    }
}
