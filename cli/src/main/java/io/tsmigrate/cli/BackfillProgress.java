package io.tsmigrate.cli;

import io.tsmigrate.core.Human;
import io.tsmigrate.core.backfill.BackfillListener;
import io.tsmigrate.core.catalog.TableRef;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;

import java.io.PrintStream;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Shows the backfill's progress: on a terminal, a progress bar per table and one overall (rows,
 * rate, ETA) on stderr; otherwise a log line at a fixed period. Rows of a range count as they
 * stream and are taken back if the range's transaction rolls back. Thread-safe.
 */
final class BackfillProgress implements BackfillListener, AutoCloseable {

    private static final long LOG_PERIOD_NANOS = 10_000_000_000L;

    private final boolean terminal;
    private final PrintWriter log;
    private final Map<TableRef, ProgressBar> bars = new LinkedHashMap<>();
    private ProgressBar overall;
    private final AtomicLong rows = new AtomicLong();
    private final AtomicLong bytes = new AtomicLong();
    private final Map<TableRef, AtomicLong> tableRows = new HashMap<>();
    private long estimated;
    private long startNanos = System.nanoTime();
    private long startRows;
    private long lastLog = System.nanoTime();
    private final ThreadLocal<Map<TableRef, Long>> inFlight = ThreadLocal.withInitial(HashMap::new);

    BackfillProgress(boolean terminal, PrintWriter log) {
        this.terminal = terminal;
        this.log = log;
    }

    @Override
    public synchronized void started(List<TableTotals> totals) {
        estimated = totals.stream().mapToLong(t -> Math.max(t.estimatedRows(), t.rowsDone())).sum();
        for (TableTotals t : totals) {
            tableRows.put(t.table(), new AtomicLong(t.rowsDone()));
        }
        rows.set(totals.stream().mapToLong(TableTotals::rowsDone).sum());
        // The rate counts this run's rows from the moment the workers start.
        startRows = rows.get();
        startNanos = System.nanoTime();
        lastLog = startNanos;
        if (terminal) {
            for (TableTotals t : totals) {
                bars.put(t.table(), bar(t.table().toString(), Math.max(t.estimatedRows(), t.rowsDone()), t.rowsDone()));
            }
            if (totals.size() > 1) {
                overall = bar("all tables", estimated, rows.get());
            }
        } else {
            log.printf("backfill: %d table(s), %s ranges, about %s rows to copy%n", totals.size(),
                    Human.count(totals.stream().mapToLong(t -> t.ranges() - t.rangesDone()).sum()),
                    Human.count(Math.max(0, estimated - rows.get())));
            log.flush();
        }
    }

    private static ProgressBar bar(String name, long max, long done) {
        return new ProgressBarBuilder().setTaskName(name).setInitialMax(Math.max(max, 1)).setUnit(" rows", 1)
                .showSpeed().setUpdateIntervalMillis(500).setConsumer(new ConsoleProgressBarConsumer(System.err))
                .startsFrom(done, Duration.ZERO).build();
    }

    @Override
    public void rowsMoving(TableRef table, long n) {
        inFlight.get().merge(table, n, Long::sum);
        step(table, n);
    }

    @Override
    public void rangeDone(TableRef table, long n, long b) {
        long counted = inFlight.get().getOrDefault(table, 0L);
        inFlight.get().remove(table);
        // COPY's own count is exact; the streamed count also saw the binary header and trailer.
        step(table, n - counted);
        bytes.addAndGet(b);
        maybeLog();
    }

    @Override
    public void rangeFailed(TableRef table, String range, String error, boolean willRetry) {
        long counted = inFlight.get().getOrDefault(table, 0L);
        inFlight.get().remove(table);
        step(table, -counted);
        message(table + " " + range + ": " + error + (willRetry ? " (retrying)" : " (giving up on this range)"));
    }

    @Override
    public void note(String message) {
        message(message);
    }

    private void step(TableRef table, long n) {
        if (n == 0) {
            return;
        }
        rows.addAndGet(n);
        AtomicLong t = tableRows.get(table);
        if (t != null) {
            t.addAndGet(n);
        }
        if (terminal) {
            synchronized (this) {
                ProgressBar bar = bars.get(table);
                if (bar != null) {
                    if (bar.getCurrent() + n > bar.getMax()) {
                        bar.maxHint(bar.getCurrent() + n);
                    }
                    bar.stepBy(n);
                }
                if (overall != null) {
                    if (overall.getCurrent() + n > overall.getMax()) {
                        overall.maxHint(overall.getCurrent() + n);
                    }
                    overall.stepBy(n);
                }
            }
        }
    }

    private synchronized void maybeLog() {
        long now = System.nanoTime();
        if (terminal || now - lastLog < LOG_PERIOD_NANOS) {
            return;
        }
        lastLog = now;
        double seconds = (now - startNanos) / 1e9;
        long done = rows.get();
        double rate = seconds > 0 ? (done - startRows) / seconds : 0;
        long left = Math.max(0, estimated - done);
        log.printf("backfill: %s of about %s rows, %s, %s, ETA %s%n", Human.count(done), Human.count(estimated),
                Human.bytes(bytes.get()), Human.rate(rate), rate > 0 ? Human.duration(Duration.ofSeconds((long) (left / rate))) : "unknown");
        log.flush();
    }

    private synchronized void message(String text) {
        if (terminal) {
            PrintStream err = System.err;
            err.println();
            err.println(text);
        } else {
            log.println("backfill: " + text);
            log.flush();
        }
    }

    /** Ends the bars (the result is printed after them); safe to call again. */
    @Override
    public synchronized void close() {
        bars.values().forEach(ProgressBar::close);
        bars.clear();
        if (overall != null) {
            overall.close();
            overall = null;
        }
    }
}
