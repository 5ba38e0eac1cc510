package io.tsmigrate.core.backfill;

import io.tsmigrate.core.catalog.TableRef;
import io.tsmigrate.core.time.TimePoint;

import java.time.Duration;
import java.util.List;

/**
 * What {@code tsmigrate backfill} achieved.
 *
 * @param complete  every range of the selected tables is done
 * @param failures  each failed range with its bounds, error, SQLSTATE and attempts
 * @param notes     policies resumed, chunks compressed, ...
 */
public record BackfillResult(boolean complete, List<TableResult> tables, long rows, long bytes, Duration elapsed,
                             List<String> failures, List<String> notes) {

    /** One table: the completion point, its ranges, and what this run copied. */
    public record TableResult(TableRef table, TimePoint until, int ranges, int rangesDone, int rangesFailed,
                              long rowsDone, long rowsThisRun, String format, DirectCompression.Path path) {
    }

    public double rowsPerSecond() {
        double seconds = elapsed.toNanos() / 1e9;
        return seconds > 0 ? rows / seconds : 0;
    }
}
