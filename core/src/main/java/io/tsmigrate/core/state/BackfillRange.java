package io.tsmigrate.core.state;

import io.tsmigrate.core.catalog.TableRef;
import io.tsmigrate.core.time.TimeRange;

/**
 * One range of one table as stored in {@code backfill_range}: the rows of {@code range}, copied in
 * one target transaction. {@code id} is -1 for a range copied outside the stored ones (repair).
 */
public record BackfillRange(long id, TableRef table, int seq, TimeRange range, long estimatedRows) {

    /** A range that is not one of the stored ones (copied again by repair). */
    public static BackfillRange unstored(TableRef table, TimeRange range) {
        return new BackfillRange(-1, table, 0, range, 0);
    }

    @Override
    public String toString() {
        return table + " " + range;
    }
}
