package io.tsmigrate.cli;

import io.tsmigrate.core.Human;
import io.tsmigrate.core.backfill.BackfillListener;
import io.tsmigrate.core.catalog.TableRef;
import me.tongfei.progressbar.InteractiveConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressState;

import java.io.PrintWriter;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Shows the backfill's progress on stderr, as {@link ProgressOptions} chose: bars (a line per
 * table and one overall, redrawn in place, human numbers, elapsed and ETA labelled, 100% when a
 * table is done; notes shown on the overall line and repeated below the bars at the end), log lines
 * with an ISO timestamp at a fixed interval, or nothing. Rows of a range count as they stream and
 * are taken back if the range's transaction rolls back. Thread-safe.
 */
final class BackfillProgress implements BackfillListener, AutoCloseable {

    private static final String GREEN = "\033[32m";
    private static final String RESET = "\033[0m";

    private final ProgressOptions.Mode mode;
    private final long logIntervalNanos;
    private final boolean color;
    private final PrintWriter log;
    private final Map<TableRef, ProgressBar> bars = new LinkedHashMap<>();
    private final Map<TableRef, AtomicLong> rangesLeft = new HashMap<>();
    private final List<String> notes = new ArrayList<>();
    private ProgressBar overall;
    private final AtomicLong rows = new AtomicLong();
    private final AtomicLong bytes = new AtomicLong();
    private long estimated;
    private long startNanos = System.nanoTime();
    private long startRows;
    private long lastLog = System.nanoTime();
    private final ThreadLocal<Map<TableRef, Long>> inFlight = ThreadLocal.withInitial(HashMap::new);

    BackfillProgress(ProgressOptions.Mode mode, Duration logInterval, boolean color, PrintWriter log) {
        this.mode = mode;
        this.logIntervalNanos = logInterval.toNanos();
        this.color = color;
        this.log = log;
    }

    @Override
    public synchronized void started(List<TableTotals> totals) {
        estimated = totals.stream().mapToLong(t -> Math.max(t.estimatedRows(), t.rowsDone())).sum();
        for (TableTotals t : totals) {
            rangesLeft.put(t.table(), new AtomicLong(t.ranges() - t.rangesDone()));
        }
        rows.set(totals.stream().mapToLong(TableTotals::rowsDone).sum());
        // The rate counts this run's rows from the moment the workers start.
        startRows = rows.get();
        startNanos = System.nanoTime();
        lastLog = startNanos;
        if (mode == ProgressOptions.Mode.BAR) {
            int width = totals.stream().mapToInt(t -> t.table().toString().length()).max().orElse(10);
            for (TableTotals t : totals) {
                ProgressBar bar = bar(t.table().toString(), width, Math.max(t.estimatedRows(), t.rowsDone()), t.rowsDone());
                bars.put(t.table(), bar);
                if (t.ranges() == t.rangesDone()) {
                    finish(bar);
                }
            }
            if (totals.size() > 1) {
                overall = bar("all tables", width, estimated, rows.get());
            }
        } else if (mode == ProgressOptions.Mode.LOG) {
            say(String.format("backfill: %d table(s), %s ranges, about %s rows to copy", totals.size(),
                    Human.count(totals.stream().mapToLong(t -> t.ranges() - t.rangesDone()).sum()),
                    Human.count(Math.max(0, estimated - rows.get()))));
        }
    }

    private ProgressBar bar(String name, int width, long max, long done) {
        return new ProgressBarBuilder().setTaskName(name).setInitialMax(Math.max(max, 1)).setUpdateIntervalMillis(500)
                .setRenderer((state, maxLength) -> render(state, width, maxLength))
                .setConsumer(new InteractiveConsoleProgressBarConsumer(System.err))
                .startsFrom(done, Duration.ZERO).build();
    }

    /**
     * {@code public.metrics  45% [####......] 1.23 M/2.70 M rows 245 k/s elapsed 0:05 ETA 0:06}: the bar takes
     * what the terminal's width leaves (at least 10), and goes when even that does not fit.
     */
    private String render(ProgressState s, int nameWidth, int maxLength) {
        long current = s.getCurrent();
        long max = Math.max(1, s.getMax());
        double fraction = Math.min(1.0, (double) current / max);
        double seconds = s.getElapsedAfterStart().toMillis() / 1000.0;
        double rate = seconds > 0 ? (current - s.getStart()) / seconds : 0;
        String eta = current >= max ? "done" : rate > 0 ? "ETA " + clock(Duration.ofSeconds((long) ((max - current) / rate))) : "ETA ?";
        String head = String.format("%-" + nameWidth + "s %3d%% ", s.getTaskName(), (int) Math.floor(fraction * 100));
        String tail = Human.compact(current) + "/" + Human.compact(max) + " rows " + Human.compact(rate) + "/s elapsed "
                + clock(s.getTotalElapsed()) + " " + eta + (s.getExtraMessage().isEmpty() ? "" : "  " + s.getExtraMessage());
        int room = maxLength - head.length() - tail.length() - 3;
        if (room < 10) {
            return head + tail;
        }
        int barWidth = Math.min(40, room);
        int filled = (int) Math.round(fraction * barWidth);
        String bar = "#".repeat(filled) + ".".repeat(barWidth - filled);
        return head + "[" + (color ? GREEN + bar + RESET : bar) + "] " + tail;
    }

    private static String clock(Duration d) {
        long s = Math.max(0, d.getSeconds());
        return s >= 3600 ? String.format("%d:%02d:%02d", s / 3600, (s % 3600) / 60, s % 60) : String.format("%d:%02d", s / 60, s % 60);
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
        AtomicLong left = rangesLeft.get(table);
        if (left != null && left.decrementAndGet() == 0 && mode == ProgressOptions.Mode.BAR) {
            synchronized (this) {
                ProgressBar bar = bars.get(table);
                if (bar != null) {
                    finish(bar);
                }
                if (overall != null && rangesLeft.values().stream().allMatch(l -> l.get() <= 0)) {
                    finish(overall);
                }
            }
        }
        maybeLog();
    }

    /** A table (or all of them) is done: its bar ends at 100% whatever the estimate was. */
    private static void finish(ProgressBar bar) {
        bar.maxHint(bar.getCurrent());
        bar.refresh();
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
        if (mode == ProgressOptions.Mode.BAR) {
            synchronized (this) {
                stepBar(bars.get(table), n);
                stepBar(overall, n);
            }
        }
    }

    private static void stepBar(ProgressBar bar, long n) {
        if (bar == null) {
            return;
        }
        if (bar.getCurrent() + n > bar.getMax()) {
            bar.maxHint(bar.getCurrent() + n);
        }
        bar.stepBy(n);
    }

    private synchronized void maybeLog() {
        long now = System.nanoTime();
        if (mode != ProgressOptions.Mode.LOG || now - lastLog < logIntervalNanos) {
            return;
        }
        lastLog = now;
        double seconds = (now - startNanos) / 1e9;
        long done = rows.get();
        double rate = seconds > 0 ? (done - startRows) / seconds : 0;
        long left = Math.max(0, estimated - done);
        say(String.format("backfill: %s of about %s rows (%d%%), %s, %s rows/s, ETA %s", Human.compact(done), Human.compact(estimated),
                estimated > 0 ? Math.min(100, done * 100 / estimated) : 100, Human.bytes(bytes.get()), Human.compact(rate),
                rate > 0 ? Human.duration(Duration.ofSeconds((long) (left / rate))) : "unknown"));
    }

    private synchronized void message(String text) {
        switch (mode) {
            case BAR -> {
                // A line printed under live bars would push them out of place: the note shows on the
                // overall line (or the only table's) and all notes follow the bars at the end.
                notes.add(text);
                ProgressBar where = overall != null ? overall : bars.values().stream().findFirst().orElse(null);
                if (where != null) {
                    where.setExtraMessage(text.length() > 60 ? text.substring(0, 57) + "..." : text);
                } else {
                    say("backfill: " + text);
                }
            }
            case LOG -> say("backfill: " + text);
            case NONE -> notes.add(text);
        }
    }

    /** One line on stderr, stamped with the time (UTC, ISO-8601). */
    private void say(String line) {
        log.println(Instant.now().truncatedTo(ChronoUnit.SECONDS) + " " + line);
        log.flush();
    }

    /** Ends the bars, then repeats the notes they showed (the result is printed after them); safe to call again. */
    @Override
    public synchronized void close() {
        boolean hadBars = !bars.isEmpty();
        bars.values().forEach(ProgressBar::close);
        bars.clear();
        if (overall != null) {
            overall.close();
            overall = null;
        }
        if (hadBars) {
            for (String note : notes) {
                say("backfill: " + note);
            }
            notes.clear();
        }
    }
}
