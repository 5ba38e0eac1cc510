package io.tsmigrate.core.plan;

import java.time.Clock;
import java.util.List;
import java.util.Optional;

/**
 * How to choose hypertables.
 *
 * @param minSizeBytes  tables smaller than this are not chosen unless included
 * @param include       patterns of tables to choose whatever their size
 * @param exclude       patterns of tables never to choose
 * @param targetMemory  the target's memory for chunk sizing; else 4 x its shared_buffers, else 8 GB
 * @param clock         what "now" is (for recent data and future times)
 */
public record PlanOptions(long minSizeBytes, List<TablePattern> include, List<TablePattern> exclude,
                          Optional<Long> targetMemory, Clock clock) {

    public static final long DEFAULT_MIN_SIZE = 1L << 30;
    static final long DEFAULT_MEMORY = 8L << 30;

    public PlanOptions {
        include = List.copyOf(include);
        exclude = List.copyOf(exclude);
        if (minSizeBytes < 0) {
            throw new IllegalArgumentException("minSizeBytes must not be negative: " + minSizeBytes);
        }
    }
}
