package io.tsmigrate.core.backfill;

import io.tsmigrate.core.catalog.TableRef;
import io.tsmigrate.core.throttle.LoadLimits;

import java.time.Clock;
import java.util.List;
import java.util.Optional;

/**
 * How to backfill.
 *
 * @param until        T for the selected tables; else the stored completion point of each group
 * @param from         the earliest time to copy; else everything before T
 * @param tables       the hypertables to backfill; empty for every one in the plan
 * @param workers      parallel workers, each with one source and one target connection
 * @param maxRangeRows split ranges whose estimated rows exceed this
 * @param maxRate      cap on rows or bytes per second across all workers
 * @param maxAttempts  attempts per range on transient errors before it is marked failed
 * @param compress     compress finished chunks at the end, as the compression policy would
 * @param workerName   prefix for worker names in the state (host and pid by default)
 * @param maxLoad      slow down when the source's signals reach these limits
 * @param criticalLoad pause when they reach these
 * @param maxSourceConnections the most source connections open at once across every process of the
 *                     migration (slots in the state): workers beyond the free slots do not start
 * @param directCompress whether ranges go straight into the columnstore where the target and the table allow
 */
public record BackfillOptions(Optional<String> until, Optional<String> from, List<TableRef> tables, int workers,
                              long maxRangeRows, Optional<MaxRate> maxRate, int maxAttempts, boolean compress,
                              String workerName, Clock clock, LoadLimits maxLoad, LoadLimits criticalLoad,
                              Optional<Integer> maxSourceConnections, DirectCompression.Mode directCompress) {

    /** Workers of a backfill or a verify when none are asked for: each holds one connection to each side. */
    public static final int DEFAULT_WORKERS = 2;
    public static final long DEFAULT_MAX_RANGE_ROWS = 1_000_000;
    public static final int DEFAULT_MAX_ATTEMPTS = 5;

    /** Options with every default: name only what differs ({@code BackfillOptions.builder().until(t).workers(4).build()}). */
    public static Builder builder() {
        return new Builder();
    }

    /** Named settings with defaults; {@link #build} checks them. */
    public static final class Builder {
        private Optional<String> until = Optional.empty();
        private Optional<String> from = Optional.empty();
        private List<TableRef> tables = List.of();
        private int workers = DEFAULT_WORKERS;
        private long maxRangeRows = DEFAULT_MAX_RANGE_ROWS;
        private Optional<MaxRate> maxRate = Optional.empty();
        private int maxAttempts = DEFAULT_MAX_ATTEMPTS;
        private boolean compress;
        private String workerName = "backfill";
        private Clock clock = Clock.systemUTC();
        private LoadLimits maxLoad = LoadLimits.NONE;
        private LoadLimits criticalLoad = LoadLimits.NONE;
        private Optional<Integer> maxSourceConnections = Optional.empty();
        private DirectCompression.Mode directCompress = DirectCompression.Mode.AUTO;

        private Builder() {
        }

        /** T as given (null: the stored completion point of each group). */
        public Builder until(String v) { until = Optional.ofNullable(v); return this; }
        public Builder from(String v) { from = Optional.ofNullable(v); return this; }
        public Builder tables(List<TableRef> v) { tables = v; return this; }
        public Builder workers(int v) { workers = v; return this; }
        public Builder maxRangeRows(long v) { maxRangeRows = v; return this; }
        public Builder maxRate(Optional<MaxRate> v) { maxRate = v; return this; }
        public Builder maxAttempts(int v) { maxAttempts = v; return this; }
        public Builder compress(boolean v) { compress = v; return this; }
        public Builder workerName(String v) { workerName = v; return this; }
        public Builder clock(Clock v) { clock = v; return this; }
        public Builder maxLoad(LoadLimits v) { maxLoad = v; return this; }
        public Builder criticalLoad(LoadLimits v) { criticalLoad = v; return this; }
        public Builder maxSourceConnections(Optional<Integer> v) { maxSourceConnections = v; return this; }
        public Builder directCompress(DirectCompression.Mode v) { directCompress = v; return this; }

        public BackfillOptions build() {
            return new BackfillOptions(until, from, tables, workers, maxRangeRows, maxRate, maxAttempts, compress, workerName, clock,
                    maxLoad, criticalLoad, maxSourceConnections, directCompress);
        }
    }

    /** The same with another number of workers. */
    public BackfillOptions withWorkers(int n) {
        return new BackfillOptions(until, from, tables, n, maxRangeRows, maxRate, maxAttempts, compress, workerName, clock, maxLoad,
                criticalLoad, maxSourceConnections, directCompress);
    }

    /** Whether a connection watches the source's load (one more source connection). */
    public boolean watchesLoad() {
        return maxLoad.any() || criticalLoad.any();
    }

    public BackfillOptions {
        tables = List.copyOf(tables);
        if ((maxLoad.any() || criticalLoad.any()) && maxRate.filter(MaxRate::bytes).isPresent()) {
            throw io.tsmigrate.core.TsmigrateException.usage("--max-load and --critical-load pace rows: give --max-rate in rows "
                    + "per second (50000), not bytes, with them.");
        }
        if (workers < 1) {
            throw new IllegalArgumentException("workers must be at least 1, got " + workers);
        }
        if (maxRangeRows < 1) {
            throw new IllegalArgumentException("maxRangeRows must be at least 1, got " + maxRangeRows);
        }
        if (maxAttempts < 1) {
            throw new IllegalArgumentException("maxAttempts must be at least 1, got " + maxAttempts);
        }
    }
}
