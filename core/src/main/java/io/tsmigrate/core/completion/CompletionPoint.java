package io.tsmigrate.core.completion;

import io.tsmigrate.core.Human;
import io.tsmigrate.core.TsmigrateException;
import io.tsmigrate.core.TsmigrateException.Kind;
import io.tsmigrate.core.catalog.Catalog;
import io.tsmigrate.core.catalog.CatalogReader;
import io.tsmigrate.core.catalog.TableRef;
import io.tsmigrate.core.connect.ConnectionSpec;
import io.tsmigrate.core.connect.PgConnector;
import io.tsmigrate.core.connect.PgErrors;
import io.tsmigrate.core.time.EpochUnit;
import io.tsmigrate.core.plan.Plan;
import io.tsmigrate.core.plan.PlanChecker;
import io.tsmigrate.core.time.TimeType;
import io.tsmigrate.core.time.TimeAxis;
import io.tsmigrate.core.time.TimePoint;
import io.tsmigrate.core.state.CompletionPoints;
import io.tsmigrate.core.state.Writers;
import io.tsmigrate.core.state.PlanStore;
import io.tsmigrate.core.state.StateSchema;
import io.tsmigrate.core.time.TimeInput;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Runbook step 5, from facts: the missing-writes range ends when the last writer began
 * dual-writing (from {@code tsmigrate.writer}, or given); late-arriving data starts at now minus the
 * maximum lateness; a clock-skew margin shrinks the range between them from both ends. T is
 * proposed per time-type group as the end of that consistency range, rounded down to the minute (to
 * the second while the range holds no whole minute; to midnight for date columns), expressed in the group's type; a T given with {@code --at} must lie in
 * the range.
 */
public final class CompletionPoint {

    /** How to decide. */
    public record Options(Optional<Instant> dualWriteStartedAt, Duration maxLateness, Duration clockSkew,
                          Optional<EpochUnit> timeUnit, Map<TimeType, String> at, boolean set, java.time.Clock clock) {
    }

    private CompletionPoint() {
    }

    /** The consistency range is still empty (NOT_READY): it opens at {@link #opens()}, and T can be computed then. */
    public static final class RangeNotOpen extends TsmigrateException {
        private final transient Instant opens;

        RangeNotOpen(Instant opens, String message) {
            super(Kind.NOT_READY, message);
            this.opens = opens;
        }

        public Instant opens() {
            return opens;
        }
    }

    /**
     * @throws TsmigrateException NOT_READY when no writer registered or the range is still empty
     *                            (saying when it opens); USAGE for a T outside the range
     */
    public static CompletionPointResult compute(ConnectionSpec sourceSpec, ConnectionSpec targetSpec, Options options) {
        try (Connection target = PgConnector.open(targetSpec); Connection source = PgConnector.open(sourceSpec)) {
            Plan plan = PlanStore.load(target).orElseThrow(() -> new TsmigrateException(Kind.NOT_READY,
                    "the target has no migration plan in its state; run tsmigrate schema first."));
            Catalog catalog = CatalogReader.read(source, plan.hypertables().stream().map(Plan.Hypertable::table).toList());
            // What the user typed is checked before the migration's state: bad input is named first.
            Map<TimeType, List<Plan.Hypertable>> groups = timeTypes(catalog, plan);
            for (Map.Entry<TimeType, String> given : options.at().entrySet()) {
                if (!groups.containsKey(given.getKey())) {
                    throw TsmigrateException.usage("--at names the " + given.getKey().label() + " group, but no hypertable has a "
                            + given.getKey().label() + " time column (groups: " + String.join(", ", groups.keySet().stream().map(TimeType::label).toList()) + ").");
                }
                TimeInput.point(target, given.getValue(), given.getKey(), "--at " + given.getKey().label());
            }
            List<CompletionPointResult.WriterSeen> writers = writers(target);
            Instant now = options.clock().instant();
            Instant lastStart;
            String basis;
            if (options.dualWriteStartedAt().isPresent()) {
                lastStart = options.dualWriteStartedAt().get();
                if (lastStart.isAfter(now)) {
                    throw TsmigrateException.usage("--dual-write-started-at " + lastStart + " is in the future.");
                }
                basis = "--dual-write-started-at";
            } else if (!writers.isEmpty()) {
                lastStart = writers.stream().map(CompletionPointResult.WriterSeen::startedAt).max(Instant::compareTo).orElseThrow();
                basis = writers.size() + " registered writer(s); the last began dual-writing at " + lastStart;
            } else {
                throw new TsmigrateException(Kind.NOT_READY, "no writer has registered in tsmigrate.writer yet: start your "
                        + "application in dual-write mode (see README: Dual-write), or pass --dual-write-started-at.");
            }
            Instant rangeStart = lastStart.plus(options.clockSkew());
            Instant rangeEnd = now.minus(options.maxLateness()).minus(options.clockSkew());
            if (!rangeEnd.isAfter(rangeStart)) {
                Instant opens = rangeStart.plus(options.maxLateness()).plus(options.clockSkew());
                throw new RangeNotOpen(opens, "the consistency range is still empty: the last writer began "
                        + "dual-writing at " + lastStart + ", so with a maximum lateness of " + Human.duration(options.maxLateness())
                        + " and a clock-skew margin of " + Human.duration(options.clockSkew()) + " it opens at "
                        + opens.truncatedTo(ChronoUnit.SECONDS) + " (in " + Human.duration(Duration.between(now, opens))
                        + "); run tsmigrate completion-point again then.");
            }
            List<CompletionPointResult.Group> out = new ArrayList<>();
            for (Map.Entry<TimeType, List<Plan.Hypertable>> g : groups.entrySet()) {
                out.add(group(g.getKey(), g.getValue(), rangeStart, rangeEnd, options, target));
            }
            if (options.set()) {
                StateSchema.ensure(target);
                for (CompletionPointResult.Group g : out) {
                    if (g.value().isEmpty()) {
                        continue;
                    }
                    Map<String, Object> detail = new LinkedHashMap<>();
                    detail.put("basis", basis);
                    detail.put("range_start", rangeStart.toString());
                    detail.put("range_end", rangeEnd.toString());
                    CompletionPoints.set(target, g.value().get(), detail);
                }
            }
            return new CompletionPointResult(lastStart, basis, writers, options.maxLateness(), options.clockSkew(), rangeStart,
                    rangeEnd, List.copyOf(out), options.set());
        } catch (SQLException e) {
            throw PgErrors.failure("compute the completion point", targetSpec, e);
        }
    }

    /** The plan's hypertables grouped by the type of their time column: each group has its own T. */
    public static Map<TimeType, List<Plan.Hypertable>> timeTypes(ConnectionSpec sourceSpec, Plan plan) {
        try (Connection source = PgConnector.open(sourceSpec)) {
            return timeTypes(CatalogReader.read(source, plan.hypertables().stream().map(Plan.Hypertable::table).toList()), plan);
        } catch (SQLException e) {
            throw PgErrors.failure("read the catalog", sourceSpec, e);
        }
    }

    private static Map<TimeType, List<Plan.Hypertable>> timeTypes(Catalog catalog, Plan plan) {
        Map<TimeType, List<Plan.Hypertable>> groups = new EnumMap<>(TimeType.class);
        for (Plan.Hypertable h : plan.hypertables()) {
            Catalog.Table table = catalog.table(h.table()).orElseThrow();
            TimeType type = PlanChecker.timeType(table, table.column(h.timeColumn()).orElseThrow()).orElseThrow();
            groups.computeIfAbsent(type, k -> new ArrayList<>()).add(h);
        }
        return groups;
    }

    private static CompletionPointResult.Group group(TimeType type, List<Plan.Hypertable> tables, Instant start, Instant end,
                                                     Options options, Connection target) throws SQLException {
        List<TableRef> refs = tables.stream().map(Plan.Hypertable::table).toList();
        Optional<EpochUnit> unit = type.isInteger() ? unit(tables, options) : Optional.empty();
        if (options.at().containsKey(type)) {
            TimePoint value = TimeInput.point(target, options.at().get(type), type, "--at " + type.label());
            Optional<Instant> at = value.instant(unit);
            if (at.isPresent() && (at.get().isBefore(start) || at.get().isAfter(end))) {
                throw TsmigrateException.usage("T " + value + " for the " + type.label() + " group is outside the consistency range ["
                        + start.truncatedTo(ChronoUnit.SECONDS) + ", " + end.truncatedTo(ChronoUnit.SECONDS) + "]: "
                        + (at.get().isBefore(start) ? "before it, rows some writer wrote only to the source would be missed"
                        : "after it, late-arriving rows written only to the source would be missed") + ".");
            }
            return new CompletionPointResult.Group(type, refs, Optional.of(value), at, at.isPresent() ? "given with --at, inside the consistency range"
                    : "given with --at (its unit is unknown, so it was not checked against the range)");
        }
        if (type.isInteger() && unit.isEmpty()) {
            throw TsmigrateException.usage("the " + type.label() + " tables (" + String.join(", ", refs.stream().map(Object::toString).toList())
                    + ") hold integer time of unknown unit: pass --time-unit epoch_s|epoch_ms|epoch_us|epoch_ns, or --at "
                    + type.label() + "=VALUE.");
        }
        // A round T is easier to read and to type again; a range too young to hold a whole minute
        // gets a whole second rather than a wait.
        ChronoUnit grain = type == TimeType.DATE ? ChronoUnit.DAYS
                : !end.truncatedTo(ChronoUnit.MINUTES).isBefore(start) ? ChronoUnit.MINUTES : ChronoUnit.SECONDS;
        Instant t = end.truncatedTo(grain);
        if (t.isBefore(start)) {
            Instant next = type == TimeType.DATE
                    ? start.atOffset(ZoneOffset.UTC).toLocalDate().plusDays(1).atStartOfDay().toInstant(ZoneOffset.UTC)
                    : start.truncatedTo(ChronoUnit.SECONDS).plus(Duration.ofSeconds(1));
            return new CompletionPointResult.Group(type, refs, Optional.empty(), Optional.empty(), "no T yet: the consistency "
                    + "range holds no " + (type == TimeType.DATE ? "midnight" : "whole second") + "; it will from "
                    + next.plus(options.maxLateness()).plus(options.clockSkew()));
        }
        TimePoint value = new TimePoint(type, new TimeAxis(type).position(t, unit).orElseThrow());
        return new CompletionPointResult.Group(type, refs, Optional.of(value), Optional.of(t), "the end of the consistency range, rounded down to the "
                + (grain == ChronoUnit.DAYS ? "day" : grain == ChronoUnit.MINUTES ? "minute" : "second (the range holds no whole minute yet)"));
    }

    private static Optional<EpochUnit> unit(List<Plan.Hypertable> tables, Options options) {
        if (options.timeUnit().isPresent()) {
            return options.timeUnit();
        }
        List<EpochUnit> units = tables.stream().map(Plan.Hypertable::timeUnit).flatMap(Optional::stream).distinct().toList();
        return units.size() == 1 && tables.stream().allMatch(h -> h.timeUnit().isPresent()) ? Optional.of(units.get(0)) : Optional.empty();
    }

    /** The registered writers, or none when no writer has met the target yet. */
    public static List<CompletionPointResult.WriterSeen> writers(Connection target) throws SQLException {
        return Writers.all(target).stream().map(w -> new CompletionPointResult.WriterSeen(w.name(), w.startedAt(), w.lastSeen(), w.journalPending())).toList();
    }
}
