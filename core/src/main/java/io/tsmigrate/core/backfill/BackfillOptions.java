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

    /** Without limits on the source's load. */
    public BackfillOptions(Optional<String> until, Optional<String> from, List<TableRef> tables, int workers, long maxRangeRows,
                           Optional<MaxRate> maxRate, int maxAttempts, boolean compress, String workerName, Clock clock) {
        this(until, from, tables, workers, maxRangeRows, maxRate, maxAttempts, compress, workerName, clock, LoadLimits.NONE,
                LoadLimits.NONE);
    }

    /** Without a cap on source connections. */
    public BackfillOptions(Optional<String> until, Optional<String> from, List<TableRef> tables, int workers, long maxRangeRows,
                           Optional<MaxRate> maxRate, int maxAttempts, boolean compress, String workerName, Clock clock,
                           LoadLimits maxLoad, LoadLimits criticalLoad) {
        this(until, from, tables, workers, maxRangeRows, maxRate, maxAttempts, compress, workerName, clock, maxLoad, criticalLoad,
                Optional.empty());
    }

    /** Direct compression where the target and the table allow it. */
    public BackfillOptions(Optional<String> until, Optional<String> from, List<TableRef> tables, int workers, long maxRangeRows,
                           Optional<MaxRate> maxRate, int maxAttempts, boolean compress, String workerName, Clock clock,
                           LoadLimits maxLoad, LoadLimits criticalLoad, Optional<Integer> maxSourceConnections) {
        this(until, from, tables, workers, maxRangeRows, maxRate, maxAttempts, compress, workerName, clock, maxLoad, criticalLoad,
                maxSourceConnections, DirectCompression.Mode.AUTO);
    }

    /** The same with another choice of path. */
    public BackfillOptions withDirectCompress(DirectCompression.Mode mode) {
        return new BackfillOptions(until, from, tables, workers, maxRangeRows, maxRate, maxAttempts, compress, workerName, clock, maxLoad,
                criticalLoad, maxSourceConnections, mode);
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
