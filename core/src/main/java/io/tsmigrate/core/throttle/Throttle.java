package io.tsmigrate.core.throttle;

import io.tsmigrate.core.Human;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;

/**
 * Paces one process's copy by the source's own signals, checked about once a second. With
 * {@code maxLoad} the copy starts gently ({@link #START_ROWS_PER_SECOND}) and doubles its rate at
 * every calm check (slow start) until the source first reaches the limit; from then on, past
 * {@code maxLoad} the rate is halved (multiplicative decrease), and under it for a few checks in a
 * row it grows by a twentieth of the rate at which the limit was first reached (additive increase),
 * up to the cap. A copy that starts at full speed hits a busy source hardest in its first seconds,
 * before the first check can slow it. Past {@code criticalLoad} the copy pauses until the signals
 * are back under it. The workers ask
 * {@link #awaitOpen} before each range and take rows through {@link #limiter}. Each change is said
 * (with its reason) to the listener and recorded by the caller.
 */
public final class Throttle implements AutoCloseable {

    /** What the throttle decided last. */
    public record State(boolean paused, Optional<Double> rowsPerSecond, String reason) {
    }

    /** What an operator set for the whole migration ({@code tsmigrate throttle}), overriding the options. */
    public record Setting(boolean paused, Optional<Double> rowsPerSecond, String setBy) {
    }

    /** Told after every check, on the throttle's thread. */
    public interface Listener {
        /** @param changed whether the state differs from the one before (a line worth logging) */
        void checked(State state, boolean changed);
    }

    /** Probes of the baseline, before the copy starts, and their spacing. */
    private static final int BASELINE_PROBES = 9;
    private static final java.time.Duration BASELINE_SPACING = java.time.Duration.ofMillis(200);
    /**
     * One probe per check: what moves under load is the tail of the probe's latency, and the median of
     * a few probes hides it (tried: the copy then ran at full speed under --max-load probe-latency=1.2x).
     */
    private static final int CHECK_PROBES = 1;
    /** Where a copy paced by {@code --max-load} starts, before it has seen how much the source takes. */
    static final double START_ROWS_PER_SECOND = 10_000;
    private static final int CALM_CHECKS = 3;
    /** Below this share of the rate first measured, crawling would hold a range's snapshot open for long: pause instead. */
    private static final double FLOOR_SHARE = 1.0 / 32;
    private static final double MIN_FLOOR = 500;

    private final LoadLimits maxLoad;
    private final LoadLimits criticalLoad;
    private final Optional<Double> cap;
    private final RateLimiter limiter;
    private final Connection source;
    private final Listener changes;
    private final LongAdder rows = new LongAdder();
    private final Object gate = new Object();
    private final AtomicBoolean closed = new AtomicBoolean();
    private final Thread thread;
    private final double baselineMillis;
    private volatile State state;
    private volatile Optional<Setting> override = Optional.empty();
    private int calm;
    private long lastRows;
    private long lastAt = System.nanoTime();
    private double measured;
    /** The rate at which the source first reached {@code maxLoad}; 0 while slow start lasts. */
    private double ceiling;

    /**
     * @param cap     the most rows per second ({@code --max-rate} in rows), if any
     * @param source  a connection of the throttle's own to the source (closed with it); null when there are no
     *                load limits to check (the throttle then only follows the operator's setting)
     * @param changes told after every check
     */
    public Throttle(LoadLimits maxLoad, LoadLimits criticalLoad, Optional<Double> cap, Connection source, Listener changes)
            throws SQLException {
        this.maxLoad = maxLoad;
        this.criticalLoad = criticalLoad;
        this.cap = cap;
        this.source = source;
        this.changes = changes;
        this.limiter = new RateLimiter(cap.orElse(Double.POSITIVE_INFINITY));
        List<Double> probes = new ArrayList<>();
        for (int i = 0; source != null && i < BASELINE_PROBES; i++) {
            if (i > 0) {
                // Spaced as the checks' probes are (roughly): a probe right after another finds its backend
                // awake and answers several times faster than one a while later, and a baseline of those
                // would make every later probe look slow.
                SourceSignals.pause(BASELINE_SPACING);
            }
            probes.add(SourceSignals.probe(source));
        }
        probes.sort(Double::compare);
        this.baselineMillis = probes.isEmpty() ? 0 : Math.max(0.05, probes.get(BASELINE_PROBES / 2));
        if (maxLoad.any()) {
            double start = Math.min(START_ROWS_PER_SECOND, cap.orElse(Double.POSITIVE_INFINITY));
            this.state = new State(false, Optional.of(start), "starting gently under --max-load");
        } else {
            this.state = new State(false, cap, cap.isPresent() ? "--max-rate" : "no limit reached");
        }
        this.thread = new Thread(this::loop, "tsmigrate-throttle");
        thread.setDaemon(true);
    }

    /** Starts checking; the first check runs at once, so a copy that should pause never starts a range. */
    public Throttle start() {
        check();
        thread.start();
        return this;
    }

    public RateLimiter limiter() {
        return limiter;
    }

    public State state() {
        return state;
    }

    /** The operator's setting, read by the caller from the migration's state; applied at the next check. */
    public void override(Optional<Setting> o) {
        this.override = o;
    }

    /** Rows the workers moved, for the rate the throttle measures. */
    public void moved(long n) {
        rows.add(n);
    }

    /**
     * Blocks while the copy is paused.
     *
     * @return false when {@code stop} was set while waiting
     */
    public boolean awaitOpen(AtomicBoolean stop) throws InterruptedException {
        synchronized (gate) {
            while (state.paused() && !stop.get() && !closed.get()) {
                gate.wait(250);
            }
        }
        return !stop.get();
    }

    private void loop() {
        while (!closed.get()) {
            try {
                Thread.sleep(1000);
            } catch (InterruptedException e) {
                return;
            }
            check();
        }
    }

    private synchronized void check() {
        SourceSignals s = new SourceSignals(0, 0, Optional.empty()); // no limits: nothing is reached
        if (source != null) {
            try {
                s = SourceSignals.read(source, CHECK_PROBES, java.time.Duration.ZERO);
            } catch (SQLException e) {
                return; // the workers meet the same failure and retry; nothing to decide on
            }
        }
        long now = System.nanoTime();
        long total = rows.sum();
        double recent = (total - lastRows) / Math.max(1e-3, (now - lastAt) / 1e9);
        lastRows = total;
        lastAt = now;
        if (recent > 0 && measured == 0) {
            measured = recent;
        }
        Optional<String> critical = criticalLoad.reached(s, baselineMillis);
        Optional<String> high = maxLoad.reached(s, baselineMillis);
        Optional<Setting> o = override;
        Optional<Double> cap = o.flatMap(Setting::rowsPerSecond).or(() -> this.cap);
        State before = state;
        State next;
        if (o.isPresent() && o.get().paused()) {
            next = new State(true, before.rowsPerSecond(), "paused by tsmigrate throttle --pause (" + o.get().setBy() + ")");
            calm = 0;
        } else if (cap.isPresent() && before.rowsPerSecond().map(r -> r > cap.get()).orElse(true) && !before.paused()
                && critical.isEmpty()) {
            next = new State(false, cap, o.flatMap(Setting::rowsPerSecond).isPresent()
                    ? "set by tsmigrate throttle --rate (" + o.get().setBy() + ")" : "--max-rate");
        } else if (critical.isPresent()) {
            next = new State(true, before.rowsPerSecond(), "paused: " + critical.get() + " (--critical-load)");
            calm = 0;
        } else if (high.isPresent()) {
            double base = before.rowsPerSecond().orElse(recent > 0 ? recent : measured);
            if (ceiling == 0) {
                ceiling = base; // slow start ends: the source's limit is about here
            }
            double floor = Math.max(MIN_FLOOR, ceiling * FLOOR_SHARE);
            if (base > 0 && base / 2 < floor) {
                // Halving again would crawl through a range, its source snapshot open all the while:
                // pause between ranges until the source is back under --max-load.
                next = new State(true, Optional.of(floor), "paused: " + high.get() + " (--max-load; the rate would fall below "
                        + Human.rate(floor).replace("/s", " rows/s") + ")");
            } else {
                Optional<Double> halved = base > 0 ? Optional.of(base / 2) : before.rowsPerSecond();
                next = new State(false, halved, "slowed: " + high.get() + " (--max-load)");
            }
            calm = 0;
        } else if (before.paused()) {
            next = new State(false, before.rowsPerSecond().map(r -> cap.map(c -> Math.min(c, r)).orElse(r)).or(() -> cap),
                    o.isPresent() ? "resumed by tsmigrate throttle (" + o.get().setBy() + ")" : "resumed: the source is back under its limits");
        } else if (maxLoad.any() && ceiling == 0 && before.rowsPerSecond().isPresent() && !before.rowsPerSecond().equals(cap)) {
            // Slow start: doubled at every calm check; once the workers cannot take what the rate allows, no limit is left.
            double r = before.rowsPerSecond().get();
            Optional<Double> rate = cap.isPresent() ? Optional.of(Math.min(cap.get(), r * 2))
                    : recent > 0 && recent < r / 2 ? Optional.empty() : Optional.of(r * 2);
            next = new State(false, rate, rate.isPresent() ? "starting gently: the source is under --max-load"
                    : "no limit reached: the copy runs as fast as it can under --max-load");
            calm = 0;
        } else if (before.rowsPerSecond().isPresent() && !before.rowsPerSecond().equals(cap) && ++calm >= CALM_CHECKS) {
            double step = Math.max(1, (ceiling > 0 ? ceiling / 20 : measured > 0 ? measured / 10 : before.rowsPerSecond().get() / 10));
            double up = before.rowsPerSecond().get() + step;
            Optional<Double> rate = cap.isPresent() ? Optional.of(Math.min(cap.get(), up))
                    : ceiling == 0 && measured > 0 && up >= measured * 2 ? Optional.empty() : Optional.of(up);
            next = new State(false, rate, "speeding up: under --max-load for " + calm + " checks");
            calm = 0;
        } else {
            changes.checked(before, false);
            return;
        }
        limiter.setRate(next.rowsPerSecond().orElse(Double.POSITIVE_INFINITY));
        state = next;
        synchronized (gate) {
            gate.notifyAll();
        }
        changes.checked(next, next.paused() != before.paused() || !next.rowsPerSecond().equals(before.rowsPerSecond()));
    }

    /** One line for logs and progress: "paused: ...", "3,000 rows/s: slowed: ...". */
    public static String describe(State s) {
        return s.paused() ? s.reason() : s.rowsPerSecond().map(r -> Human.rate(r).replace("/s", " rows/s") + " (" + s.reason() + ")")
                .orElse("no limit (" + s.reason() + ")");
    }

    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            thread.interrupt();
            synchronized (gate) {
                gate.notifyAll();
            }
            try {
                thread.join(5000);
                if (source != null) {
                    source.close();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (SQLException ignored) {
                // Closing on the way out.
            }
        }
    }
}
