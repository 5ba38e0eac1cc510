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

    /** Up to T (or {@code until}) only. */
    public VerifyOptions(boolean estimate, boolean repair, List<TableRef> tables, Optional<String> from,
                         Optional<String> until, int workers, Optional<MaxRate> maxRate, int maxRows, Clock clock) {
        this(estimate, repair, tables, from, until, workers, maxRate, maxRows, clock, Optional.empty());
    }

    /** Without load limits. */
    public VerifyOptions(boolean estimate, boolean repair, List<TableRef> tables, Optional<String> from,
                         Optional<String> until, int workers, Optional<MaxRate> maxRate, int maxRows, Clock clock,
                         Optional<Instant> pastT) {
        this(estimate, repair, tables, from, until, workers, maxRate, maxRows, clock, pastT, LoadLimits.NONE, LoadLimits.NONE);
    }
}
