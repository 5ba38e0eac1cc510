package io.tsmigrate.core.plan;

import io.tsmigrate.core.time.EpochUnit;
import io.tsmigrate.core.catalog.TableRef;

import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * The contract every later step follows: which tables become hypertables and how. Written to and
 * read from {@code tsmigrate-plan.yaml} by {@link PlanFile}; kept in the target's state by the
 * schema step. Tables not listed are plain tables: pg_dump copies their rows.
 */
public record Plan(int version, List<Hypertable> hypertables, List<String> writerRoles, List<AcceptedDifference> acceptedDifferences) {

    public static final int VERSION = 1;

    /**
     * @param writerRoles         the target roles of dual-writing applications: {@code migrate} gives each
     *                            what {@code tsmigrate grant-writer} gives (none when absent, as in plans
     *                            stored before the key existed)
     * @param acceptedDifferences columns whose values each side computes for itself and that verify
     *                            therefore leaves out (none when absent)
     */
    public Plan {
        hypertables = List.copyOf(hypertables);
        writerRoles = writerRoles == null ? List.of() : List.copyOf(writerRoles);
        acceptedDifferences = acceptedDifferences == null ? List.of() : List.copyOf(acceptedDifferences);
    }

    /** A plan that names no writer roles. */
    public Plan(int version, List<Hypertable> hypertables) {
        this(version, hypertables, List.of());
    }

    /** A plan that accepts no differences. */
    public Plan(int version, List<Hypertable> hypertables, List<String> writerRoles) {
        this(version, hypertables, writerRoles, List.of());
    }

    /**
     * Columns of a table whose values differ between the sides by design (a {@code DEFAULT now()}
     * that each side computes for the rows dual-writing stores): {@code verify} compares the table
     * without them and says so. Never a column of the primary key: rows are matched by it.
     */
    public record AcceptedDifference(TableRef table, List<String> columns) {
        public AcceptedDifference {
            columns = List.copyOf(columns);
        }
    }

    /** The columns of {@code table} verify leaves out; empty when none. */
    public List<String> acceptedColumns(TableRef table) {
        return acceptedDifferences.stream().filter(a -> a.table().equals(table)).flatMap(a -> a.columns().stream()).toList();
    }

    /**
     * One table to become a hypertable.
     *
     * @param timeUnit    for an integer time column: the epoch unit its values count, if known
     * @param extendKeys  add the time column to primary keys and unique constraints that lack it
     */
    public record Hypertable(TableRef table, String timeColumn, ChunkInterval chunkInterval,
                             Optional<EpochUnit> timeUnit, Compression compression, boolean extendKeys) {
        public Hypertable {
            Objects.requireNonNull(table, "table");
            Objects.requireNonNull(timeColumn, "timeColumn");
            Objects.requireNonNull(chunkInterval, "chunkInterval");
            Objects.requireNonNull(timeUnit, "timeUnit");
            Objects.requireNonNull(compression, "compression");
        }
    }

    /**
     * Compression settings for a hypertable (they need a TimescaleDB with the timescale license).
     *
     * @param orderBy entries such as {@code time DESC}
     * @param after   compress chunks older than this (the compression policy), e.g. {@code 7 days}
     */
    public record Compression(boolean enabled, List<String> segmentBy, List<String> orderBy, Optional<ChunkInterval> after) {
        public Compression {
            segmentBy = List.copyOf(segmentBy);
            orderBy = List.copyOf(orderBy);
        }

        public static Compression off() {
            return new Compression(false, List.of(), List.of(), Optional.empty());
        }
    }

    public Optional<Hypertable> hypertable(TableRef table) {
        return hypertables.stream().filter(h -> h.table().equals(table)).findFirst();
    }
}
