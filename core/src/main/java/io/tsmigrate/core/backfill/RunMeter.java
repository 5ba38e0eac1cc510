package io.tsmigrate.core.backfill;

import io.tsmigrate.core.catalog.TableRef;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/** Counts what one run committed, and passes every event on to the caller's listener. Thread-safe. */
final class RunMeter implements BackfillListener {

    private final BackfillListener next;
    private final Map<TableRef, LongAdder> rows = new ConcurrentHashMap<>();
    private final LongAdder bytes = new LongAdder();

    RunMeter(BackfillListener next) {
        this.next = next;
    }

    long rows(TableRef table) {
        LongAdder adder = rows.get(table);
        return adder == null ? 0 : adder.sum();
    }

    long bytes() {
        return bytes.sum();
    }

    @Override
    public void started(List<TableTotals> totals) {
        next.started(totals);
    }

    @Override
    public void rowsMoving(TableRef table, long n) {
        next.rowsMoving(table, n);
    }

    @Override
    public void rangeDone(TableRef table, long n, long b) {
        rows.computeIfAbsent(table, k -> new LongAdder()).add(n);
        bytes.add(b);
        next.rangeDone(table, n, b);
    }

    @Override
    public void rangeFailed(TableRef table, String range, String error, boolean willRetry) {
        next.rangeFailed(table, range, error, willRetry);
    }

    @Override
    public void note(String message) {
        next.note(message);
    }
}
