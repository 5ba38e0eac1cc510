package io.tsmigrate.core.backfill;

import io.tsmigrate.core.state.BackfillRanges;
import io.tsmigrate.core.time.TimeAxis;
import io.tsmigrate.core.TsmigrateException;
import io.tsmigrate.core.completion.Until;
import io.tsmigrate.core.connect.Transactions;
import io.tsmigrate.core.time.EpochUnit;
import io.tsmigrate.core.time.TimeType;
import io.tsmigrate.core.time.TimePoint;
import io.tsmigrate.core.time.TimeRange;

import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Decides each table's {@code [from, T)} and makes its ranges (runbook 6a): T from {@code --until} or
 * the stored completion point of the table's time-type group, refused when it lies in the future;
 * ranges made once, and extended (never shrunk) when a later run has a later T.
 */
final class Bounds {

    private final Connection source;
    private final Connection target;
    private final BackfillOptions options;

    Bounds(Connection source, Connection target, BackfillOptions options) {
        this.source = source;
        this.target = target;
        this.options = options;
    }

    /** Makes or extends the table's ranges; returns T. */
    TimePoint makeRanges(TableCopy copy, RangePlanner.Density density) throws SQLException {
        TimeType type = copy.axis().type();
        Optional<EpochUnit> unit = copy.plan().timeUnit();
        TimePoint until = Until.resolve(target, type, options.until(), Optional.empty(), "there is no completion point T for "
                + type.label() + " tables such as " + copy.table() + "; compute and store one with tsmigrate completion-point --set, "
                + "or pass --until.");
        refuseFuture(until, unit);
        refuseBeforeLastWriter(until, unit);
        TimeRange window = Until.window(target, until, options.from(), "T =", copy.table(), "copy");
        return Transactions.inTransaction(target, t -> {
            BackfillRanges.lockTable(t, copy.table());
            Optional<BackfillRanges.TableBounds> existing = BackfillRanges.bounds(t, copy.table());
            long start = window.start();
            long tableStart = window.start();
            if (existing.isPresent()) {
                TimePoint previous = existing.get().until();
                if (previous.equals(until)) {
                    return until;
                }
                if (until.isBefore(previous)) {
                    throw TsmigrateException.usage("the ranges of " + copy.table() + " were made up to T = " + previous
                            + ", and T " + until + " is earlier; T can only move later (rows up to the old T may already be copied).");
                }
                start = previous.position();
                tableStart = existing.get().span().start();
            }
            List<RangePlanner.Span> spans = RangePlanner.plan(start, until.position(), copy.chunkInterval(), density, options.maxRangeRows());
            List<TimeRange> ranges = new ArrayList<>();
            List<Long> estimates = new ArrayList<>();
            for (RangePlanner.Span s : spans) {
                ranges.add(new TimeRange(type, s.start(), s.end()));
                estimates.add(s.estimatedRows());
            }
            BackfillRanges.append(t, copy.table(), copy.plan().timeColumn(), new TimeRange(type, tableStart, until.position()),
                    ranges, estimates);
            return until;
        });
    }

    /** How the table's rows spread over time, from the source's statistics (per partition for a partitioned table). */
    static RangePlanner.Density density(Connection source, TableCopy copy) throws SQLException {
        List<RangePlanner.Density.Part> parts = new ArrayList<>();
        // pg_partition_tree lists nothing for a table that is not partitioned: then the table is its own leaf.
        try (PreparedStatement ps = source.prepareStatement("WITH leaves AS (SELECT relid FROM pg_partition_tree(to_regclass(?)) "
                + "WHERE isleaf) SELECT c.reltuples, s.histogram_bounds::text::text[] FROM pg_class c "
                + "JOIN pg_namespace n ON n.oid = c.relnamespace LEFT JOIN pg_stats s ON s.schemaname = n.nspname "
                + "AND s.tablename = c.relname AND s.attname = ? AND NOT s.inherited "
                + "WHERE c.oid IN (SELECT relid FROM leaves) OR (c.oid = to_regclass(?) AND NOT EXISTS (SELECT 1 FROM leaves))")) {
            ps.setString(1, copy.table().quoted());
            ps.setString(2, copy.plan().timeColumn());
            ps.setString(3, copy.table().quoted());
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    double rows = rs.getDouble(1);
                    Array array = rs.getArray(2);
                    if (array == null || rows <= 0) {
                        continue;
                    }
                    List<Long> bounds = new ArrayList<>();
                    for (Object o : (Object[]) array.getArray()) {
                        TimeAxis.positionOf(String.valueOf(o), copy.axis().type()).ifPresent(bounds::add);
                    }
                    parts.add(new RangePlanner.Density.Part(bounds, rows));
                }
            }
        }
        return new RangePlanner.Density(parts);
    }

    private void refuseFuture(TimePoint until, Optional<EpochUnit> unit) {
        Optional<Instant> at = until.instant(unit);
        Instant now = options.clock().instant();
        if (at.isPresent() && at.get().isAfter(now)) {
            throw TsmigrateException.usage("T = " + until + " is in the future (now is " + now + "): rows written after now "
                    + "but before T would be deleted from the target and not copied; choose a T in the consistency range, "
                    + "before now minus the latest late-arriving data (tsmigrate completion-point proposes one).");
        }
    }

    /** T before the last writer began dual-writing would leave that writer's earlier rows on the source only. */
    private void refuseBeforeLastWriter(TimePoint until, Optional<EpochUnit> unit) throws SQLException {
        Optional<Instant> at = until.instant(unit);
        Optional<Instant> lastStart = io.tsmigrate.core.completion.CompletionPoint.writers(target).stream()
                .map(io.tsmigrate.core.completion.CompletionPointResult.WriterSeen::startedAt).max(Instant::compareTo);
        if (at.isPresent() && lastStart.isPresent() && at.get().isBefore(lastStart.get())) {
            throw TsmigrateException.usage("T = " + until + " is before the last writer began dual-writing (" + lastStart.get()
                    + "): rows written between them reached only the source and would be missing on the target; choose a T "
                    + "in the consistency range (tsmigrate completion-point).");
        }
    }
}
