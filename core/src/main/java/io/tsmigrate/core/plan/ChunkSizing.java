package io.tsmigrate.core.plan;

import io.tsmigrate.core.time.TimeValues;
import io.tsmigrate.core.time.EpochUnit;
import io.tsmigrate.core.time.TimeType;
import io.tsmigrate.core.Human;
import io.tsmigrate.core.catalog.Catalog.ColumnStats;
import io.tsmigrate.core.catalog.Catalog.Table;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * Recommends a chunk interval so that one chunk with its indexes fits in about 25% of the target's
 * memory (TimescaleDB's guidance), from the source table's rows per day and bytes per row, clamped
 * to between an hour and 30 days and rounded down to a round interval.
 */
final class ChunkSizing {

    /** Where the memory figure came from, for the explanation. */
    record Memory(long bytes, String source) {
    }

    /** A recommended interval and the one line that explains it. */
    record Recommendation(ChunkInterval interval, String explanation) {
    }

    static final Duration MIN = Duration.ofHours(1);
    static final Duration MAX = Duration.ofDays(30);
    static final Duration DEFAULT = Duration.ofDays(7);
    private static final List<Duration> ROUND = List.of(Duration.ofHours(1), Duration.ofHours(2), Duration.ofHours(3),
            Duration.ofHours(4), Duration.ofHours(6), Duration.ofHours(8), Duration.ofHours(12), Duration.ofDays(1),
            Duration.ofDays(2), Duration.ofDays(3), Duration.ofDays(7), Duration.ofDays(14), Duration.ofDays(30));

    private ChunkSizing() {
    }

    static Recommendation recommend(Table table, TimeColumns.Choice time, Memory memory) {
        long budget = memory.bytes() / 4;
        String fit = "one chunk with its indexes fits in 25% of " + Human.bytes(memory.bytes()) + " (" + memory.source() + ")";
        Optional<ColumnStats> stats = time.column().stats();
        Optional<String> low = stats.flatMap(ColumnStats::lowestBound);
        Optional<String> high = stats.flatMap(ColumnStats::highestBound);
        double rows = table.estimatedRows();
        double bytesPerRow = table.bytesPerRow();

        if (time.type().isInteger() && time.unit().isEmpty()) {
            Optional<Long> lo = low.flatMap(TimeColumns::asLong);
            Optional<Long> hi = high.flatMap(TimeColumns::asLong);
            if (lo.isEmpty() || hi.isEmpty() || hi.get() <= lo.get() || table.totalBytes() <= 0) {
                return new Recommendation(ChunkInterval.ofUnits(1_000_000),
                        "1000000 units: the column's unit is unknown and it has no statistics; set the interval yourself");
            }
            long span = hi.get() - lo.get();
            long units = Math.max(1, (long) (span * Math.min(1.0, (double) budget / table.totalBytes())));
            return new Recommendation(ChunkInterval.ofUnits(units), units + " units: the unit is unknown, so the value "
                    + "range " + lo.get() + " to " + hi.get() + " is split so that " + fit);
        }

        Optional<Instant> from = low.flatMap(v -> TimeValues.toInstant(v, time.type(), time.unit()));
        Optional<Instant> to = high.flatMap(v -> TimeValues.toInstant(v, time.type(), time.unit()));
        Duration chosen;
        String reason;
        if (from.isEmpty() || to.isEmpty() || rows <= 0 || bytesPerRow <= 0 || !to.get().isAfter(from.get())) {
            chosen = DEFAULT;
            reason = "no statistics on the source (run ANALYZE there for a sized recommendation), so TimescaleDB's default";
        } else {
            double days = Math.max(Duration.between(from.get(), to.get()).toSeconds() / 86_400.0, 1.0 / 24);
            double rowsPerDay = rows / days;
            double bytesPerDay = rowsPerDay * bytesPerRow;
            Duration ideal = Duration.ofSeconds((long) Math.min(budget / bytesPerDay * 86_400, MAX.toSeconds() * 10.0));
            chosen = round(ideal);
            reason = "about " + Human.count((long) rowsPerDay) + " rows/day x " + Math.round(bytesPerRow)
                    + " B/row with indexes = " + Human.bytes((long) bytesPerDay) + "/day; " + fit
                    + (ideal.compareTo(MAX) > 0 ? " (capped at 30 days)" : ideal.compareTo(MIN) < 0 ? " (at least 1 hour)" : "");
        }
        long micros = chosen.toNanos() / 1000;
        if (time.type().isInteger()) {
            EpochUnit unit = time.unit().orElseThrow();
            long units = chosen.toSeconds() * unit.perSecond();
            return new Recommendation(ChunkInterval.ofUnits(units),
                    units + " (" + ChunkInterval.ofMicros(micros) + " in " + unit.label() + "): " + reason);
        }
        if (time.type() == TimeType.DATE && chosen.compareTo(Duration.ofDays(1)) < 0) {
            chosen = Duration.ofDays(1);
            micros = chosen.toNanos() / 1000;
            reason += " (a date column needs at least 1 day)";
        }
        return new Recommendation(ChunkInterval.ofMicros(micros), ChunkInterval.ofMicros(micros) + ": " + reason);
    }

    /** The largest round interval not above {@code ideal}, within [1 hour, 30 days]. */
    static Duration round(Duration ideal) {
        Duration best = MIN;
        for (Duration d : ROUND) {
            if (d.compareTo(ideal) <= 0) {
                best = d;
            }
        }
        return best;
    }
}
