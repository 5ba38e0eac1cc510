package io.tsmigrate.core.backfill;

import io.tsmigrate.core.catalog.TableRef;

import java.util.List;

/**
 * Told what the backfill does, for progress displays. Called from worker threads: implementations
 * must be thread-safe and quick.
 */
public interface BackfillListener {

    /** What is left to do per table when the workers start. */
    record TableTotals(TableRef table, int ranges, int rangesDone, long estimatedRows, long rowsDone) {
    }

    default void started(List<TableTotals> totals) {
    }

    /** Rows passed to the target for a range still in its transaction (may yet be rolled back). */
    default void rowsMoving(TableRef table, long rows) {
    }

    /** A range committed. */
    default void rangeDone(TableRef table, long rows, long bytes) {
    }

    /** A range attempt failed; {@code willRetry} when it is transient and attempts remain. */
    default void rangeFailed(TableRef table, String range, String error, boolean willRetry) {
    }

    /** A line worth telling (policies resumed, chunks compressed, ...). */
    default void note(String message) {
    }

    BackfillListener NONE = new BackfillListener() {
    };
}
