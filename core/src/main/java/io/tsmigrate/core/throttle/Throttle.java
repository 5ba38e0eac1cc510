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

    /**
     * What the throttle decided last: paused, or a rate ({@code perSecond}, empty for none) in rows,
     * or in bytes when {@code bytes}.
     */
    public record State(boolean paused, Optional<Double> perSecond, boolean bytes, String reason) {
    }

    /**
     * What an operator set for the whole migration ({@code tsmigrate throttle}), overriding the
     * options: paused, or a cap in rows or in bytes per second (at most one of them), and limits on
     * the source's load in place of {@code --max-load} (followed by a run that watches the load).
     */
    public record Setting(boolean paused, Optional<Double> rowsPerSecond, Optional<Double> bytesPerSecond, Optional<LoadLimits> maxLoad,
                          String setBy) {
    }

    /** Told after every check, on the throttle's thread. */
    public interface Listener {
        /** @param changed whether the state differs from the one before (a line worth logging) */
        void checked(State state, boolean changed);
    }

    /** Probes of the baseline, before the copy starts, and their spacing. */
    private static final int BASELINE_PROBES = 9;
    private static final java.time.Duration BASELINE_SPACING = java.time.Duration.ofMillis(200);
    /** Where a copy paced by {@code --max-load} starts, before it has seen how much the source takes. */
    static final double START_ROWS_PER_SECOND = 10_000;
    /** The same for a copy paced in bytes. */
    static final double START_BYTES_PER_SECOND = 1 << 20;
    private static final int CALM_CHECKS = 3;
    /** Below this share of the rate first measured, crawling would hold a range's snapshot open for long: pause instead. */
    private static final double FLOOR_SHARE = 1.0 / 32;
    private static final double MIN_FLOOR = 500;
    private static final double MIN_FLOOR_BYTES = 64 << 10;

    private final LoadLimits maxLoad;
    private final LoadLimits criticalLoad;
    private final Optional<Double> cap;
    /** Whether {@code cap} counts bytes (--max-rate 20MB/s); the unit the run starts with. */
    private final boolean capInBytes;
    /** Whether the caller reports bytes and can be paced by them (a backfill; a verify counts rows only). */
    private final boolean pacesBytes;
    private final RateLimiter limiter;
    private final Connection source;
    private final Listener changes;
    private final LongAdder rows = new LongAdder();
    private final LongAdder bytes = new LongAdder();
    private final Object gate = new Object();
    private final AtomicBoolean closed = new AtomicBoolean();
    private final Thread thread;
    private final double baselineMillis;
    private volatile State state;
    private volatile Optional<Setting> override = Optional.empty();
    private int calm;
    private long lastMoved;
    private long lastAt = System.nanoTime();
    private double measured;
    /** The rate at which the source first reached {@code maxLoad}; 0 while slow start lasts. */
    private double ceiling;

    /**
     * @param cap     the most rows (or bytes, with {@code capInBytes}) per second ({@code --max-rate}), if any
     * @param pacesBytes whether the caller reports bytes through {@link #moved} and paces them when
     *                {@link #limitsBytes} says so; an operator's byte rate applies only then
     * @param source  a connection of the throttle's own to the source (closed with it); null when there are no
     *                load limits to check (the throttle then only follows the operator's setting)
     * @param changes told after every check
     */
    public Throttle(LoadLimits maxLoad, LoadLimits criticalLoad, Optional<Double> cap, boolean capInBytes, boolean pacesBytes,
                    Connection source, Listener changes) throws SQLException {
        this.maxLoad = maxLoad;
        this.criticalLoad = criticalLoad;
        this.cap = cap;
        this.capInBytes = capInBytes && cap.isPresent();
        this.pacesBytes = pacesBytes;
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
            this.state = new State(false, Optional.of(start(this.capInBytes, cap)), this.capInBytes, "starting gently under --max-load");
        } else {
            this.state = new State(false, cap, this.capInBytes, cap.isPresent() ? "--max-rate" : "no limit reached");
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

    /** Rows (and their bytes, when the caller counts them) the workers moved, for the rate the throttle measures. */
    public void moved(long n, long b) {
        rows.add(n);
        bytes.add(b);
    }

    /** Whether {@link #limiter} counts bytes now (else rows): an operator's rate may change the unit while the run goes. */
    public boolean limitsBytes() {
        return state.bytes();
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

    synchronized void check() {
        SourceSignals s = new SourceSignals(0, 0, Optional.empty()); // no limits: nothing is reached
        if (source != null) {
            try {
                s = SourceSignals.read(source);
            } catch (SQLException e) {
                return; // the workers meet the same failure and retry; nothing to decide on
            }
        }
        Optional<Setting> o = override;
        // The unit and the cap: the operator's rate when set (a byte rate only where bytes are paced), else the run's own.
        Optional<Double> opBytes = o.flatMap(Setting::bytesPerSecond).filter(b -> pacesBytes);
        Optional<Double> opRows = o.flatMap(Setting::rowsPerSecond);
        boolean unit = opBytes.isPresent() || (opRows.isEmpty() && capInBytes);
        Optional<Double> cap = opBytes.or(() -> opRows).or(() -> this.cap);
        State was = state;
        State before = was;
        if (unit != before.bytes()) {
            // Rates in the other unit say nothing about this one: the pace starts again, gently under --max-load.
            before = new State(before.paused(), maxLoad.any() ? Optional.of(start(unit, cap)) : Optional.empty(), unit,
                    before.reason());
            ceiling = 0;
            measured = 0;
            calm = 0;
            lastMoved = unit ? bytes.sum() : rows.sum();
        }
        long now = System.nanoTime();
        long total = unit ? bytes.sum() : rows.sum();
        double recent = (total - lastMoved) / Math.max(1e-3, (now - lastAt) / 1e9);
        lastMoved = total;
        lastAt = now;
        if (recent > 0 && measured == 0) {
            measured = recent;
        }
        Optional<String> critical = criticalLoad.reached(s, baselineMillis);
        // The operator's --max-load replaces the run's own where the run watches the source's load.
        LoadLimits limits = source == null ? maxLoad : o.flatMap(Setting::maxLoad).orElse(maxLoad);
        Optional<String> high = limits.reached(s, baselineMillis);
        boolean unwatched = source == null && o.flatMap(Setting::maxLoad).isPresent();
        State next;
        if (o.isPresent() && o.get().paused()) {
            next = new State(true, before.perSecond(), unit, "paused by tsmigrate throttle --pause (" + o.get().setBy() + ")");
            calm = 0;
        } else if (cap.isPresent() && before.perSecond().map(r -> r > cap.get()).orElse(true) && !before.paused()
                && critical.isEmpty()) {
            next = new State(false, cap, unit, opBytes.or(() -> opRows).isPresent()
                    ? "set by tsmigrate throttle --rate (" + o.get().setBy() + ")" : "--max-rate");
        } else if (critical.isPresent()) {
            next = new State(true, before.perSecond(), unit, "paused: " + critical.get() + " (--critical-load)");
            calm = 0;
        } else if (high.isPresent()) {
            double base = before.perSecond().orElse(recent > 0 ? recent : measured);
            if (ceiling == 0) {
                ceiling = base; // slow start ends: the source's limit is about here
            }
            double floor = Math.max(unit ? MIN_FLOOR_BYTES : MIN_FLOOR, ceiling * FLOOR_SHARE);
            if (base > 0 && base / 2 < floor) {
                // Halving again would crawl through a range, its source snapshot open all the while:
                // pause between ranges until the source is back under --max-load.
                next = new State(true, Optional.of(floor), unit, "paused: " + high.get() + " (--max-load; the rate would fall below "
                        + rate(floor, unit) + ")");
            } else {
                Optional<Double> halved = base > 0 ? Optional.of(base / 2) : before.perSecond();
                next = new State(false, halved, unit, "slowed: " + high.get() + " (--max-load)");
            }
            calm = 0;
        } else if (before.paused()) {
            next = new State(false, before.perSecond().map(r -> cap.map(c -> Math.min(c, r)).orElse(r)).or(() -> cap), unit,
                    o.isPresent() ? "resumed by tsmigrate throttle (" + o.get().setBy() + ")" : "resumed: the source is back under its limits");
        } else if (limits.any() && ceiling == 0 && before.perSecond().isPresent() && !before.perSecond().equals(cap)) {
            // Slow start: doubled at every calm check; once the workers cannot take what the rate allows, no limit is left.
            double r = before.perSecond().get();
            Optional<Double> rate = cap.isPresent() ? Optional.of(Math.min(cap.get(), r * 2))
                    : recent > 0 && recent < r / 2 ? Optional.empty() : Optional.of(r * 2);
            next = new State(false, rate, unit, rate.isPresent() ? "starting gently: the source is under --max-load"
                    : "no limit reached: the copy runs as fast as it can under --max-load");
            calm = 0;
        } else if (before.perSecond().isPresent() && !before.perSecond().equals(cap) && ++calm >= CALM_CHECKS) {
            double step = Math.max(1, (ceiling > 0 ? ceiling / 20 : measured > 0 ? measured / 10 : before.perSecond().get() / 10));
            double up = before.perSecond().get() + step;
            Optional<Double> rate = cap.isPresent() ? Optional.of(Math.min(cap.get(), up))
                    : ceiling == 0 && measured > 0 && up >= measured * 2 ? Optional.empty() : Optional.of(up);
            next = new State(false, rate, unit, "speeding up: under --max-load for " + calm + " checks");
            calm = 0;
        } else if (before != was) {
            next = before; // the unit changed, and no limit has a say yet
        } else if (unwatched && !before.reason().startsWith(UNWATCHED)) {
            next = new State(before.paused(), before.perSecond(), unit, UNWATCHED + before.reason());
        } else if (!unwatched && before.reason().startsWith(UNWATCHED)) {
            next = new State(before.paused(), before.perSecond(), unit, before.reason().substring(UNWATCHED.length()));
        } else {
            changes.checked(before, false);
            return;
        }
        limiter.setRate(next.perSecond().orElse(Double.POSITIVE_INFINITY));
        state = next;
        synchronized (gate) {
            gate.notifyAll();
        }
        changes.checked(next, next.paused() != was.paused() || !next.perSecond().equals(was.perSecond()) || next.bytes() != was.bytes());
    }

    /** Said once by a run that cannot follow the operator's --max-load. */
    private static final String UNWATCHED = "not following tsmigrate throttle --max-load: this run was started without --max-load or "
            + "--critical-load, so it does not watch the source's load (restart it with one); ";

    /** Where a copy paced by {@code --max-load} starts, in the unit given, at most the cap. */
    private static double start(boolean bytes, Optional<Double> cap) {
        return Math.min(bytes ? START_BYTES_PER_SECOND : START_ROWS_PER_SECOND, cap.orElse(Double.POSITIVE_INFINITY));
    }

    /** One line for logs and progress: "paused: ...", "3,000 rows/s (slowed: ...)", "20.0 MB/s (--max-rate)". */
    public static String describe(State s) {
        return s.paused() ? s.reason() : s.perSecond().map(r -> rate(r, s.bytes()) + " (" + s.reason() + ")")
                .orElse("no limit (" + s.reason() + ")");
    }

    /** A rate for people: "3,000 rows/s", "20.0 MB/s". */
    public static String rate(double perSecond, boolean bytes) {
        return bytes ? Human.bytes((long) perSecond) + "/s" : Human.rate(perSecond).replace("/s", " rows/s");
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
