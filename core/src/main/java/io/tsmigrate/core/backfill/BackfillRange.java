package io.tsmigrate.core.backfill;

import io.tsmigrate.core.catalog.TableRef;

/**
 * One range of one table: rows with {@code start <= time < end}, copied in one target
 * transaction. Bounds are literals of the time column's type.
 */
record BackfillRange(long id, TableRef table, int seq, String start, String end, long estimatedRows) {

    @Override
    public String toString() {
        return table + " [" + start + ", " + end + ")";
    }
}
