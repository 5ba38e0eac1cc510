package io.tsmigrate.core.verify;

import io.tsmigrate.core.backfill.MaxRate;
import io.tsmigrate.core.catalog.TableRef;
import io.tsmigrate.core.throttle.LoadLimits;

import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * How to verify.
 *
 * @param estimate  the runbook's fast check (ANALYZE and reltuples) instead of the exact one
 * @param repair    re-copy what differs through the backfill's transactional path, then check again
 * @param tables    only these tables; empty for every table of the migration
 * @param from      hypertables: check from this time on
 * @param until     hypertables: check up to this time (default: T of the table's group)
 * @param workers   checks running at once on each side
 * @param maxRate   cap on rows per second read on each side
 * @param maxRows   differences listed at most (their counts are always complete)
 * @param pastT     hypertables: also compare the rows past T, which only dual-writes put on the
 *                  target, up to this instant (rows newer than it may still be on their way). Finds
 *                  a write that reached one side only, such as one a crashed application lost.
 * @param maxLoad   slow the reads of the source down while its signals reach these (as backfill's --max-load)
 * @param criticalLoad pause them, between ranges, while its signals reach these
 */
public record VerifyOptions(boolean estimate, boolean repair, List<TableRef> tables, Optional<String> from,
                            Optional<String> until, int workers, Optional<MaxRate> maxRate, int maxRows, Clock clock,
                            Optional<Instant> pastT, LoadLimits maxLoad, LoadLimits criticalLoad) {
    public VerifyOptions {
        tables = List.copyOf(tables);
        if (workers < 1) {
            throw new IllegalArgumentException("workers must be at least 1, got " + workers);
        }
        if (pastT.isPresent() && until.isPresent()) {
            throw new IllegalArgumentException("pastT extends the check past T; it does not go with until");
        }
    }

    /** Whether a connection watches the source's load (one more source connection). */
    public boolean watchesLoad() {
        return maxLoad.any() || criticalLoad.any();
    }

    /** The exact check of every table up to T with every default: name only what differs. */
    public static Builder builder() {
        return new Builder();
    }

    /** Named settings with defaults; {@link #build} checks them. */
    public static final class Builder {
        private boolean estimate;
        private boolean repair;
        private List<TableRef> tables = List.of();
        private Optional<String> from = Optional.empty();
        private Optional<String> until = Optional.empty();
        private int workers = io.tsmigrate.core.backfill.BackfillOptions.DEFAULT_WORKERS;
        private Optional<MaxRate> maxRate = Optional.empty();
        private int maxRows = 20;
        private Clock clock = Clock.systemUTC();
        private Optional<Instant> pastT = Optional.empty();
        private LoadLimits maxLoad = LoadLimits.NONE;
        private LoadLimits criticalLoad = LoadLimits.NONE;

        private Builder() {
        }

        public Builder estimate(boolean v) { estimate = v; return this; }
        public Builder repair(boolean v) { repair = v; return this; }
        public Builder tables(List<TableRef> v) { tables = v; return this; }
        public Builder from(String v) { from = Optional.ofNullable(v); return this; }
        public Builder until(String v) { until = Optional.ofNullable(v); return this; }
        public Builder workers(int v) { workers = v; return this; }
        public Builder maxRate(Optional<MaxRate> v) { maxRate = v; return this; }
        public Builder maxRows(int v) { maxRows = v; return this; }
        public Builder clock(Clock v) { clock = v; return this; }
        public Builder pastT(Optional<Instant> v) { pastT = v; return this; }
        public Builder maxLoad(LoadLimits v) { maxLoad = v; return this; }
        public Builder criticalLoad(LoadLimits v) { criticalLoad = v; return this; }

        public VerifyOptions build() {
            return new VerifyOptions(estimate, repair, tables, from, until, workers, maxRate, maxRows, clock, pastT, maxLoad, criticalLoad);
        }
    }
}
