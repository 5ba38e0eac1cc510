package io.tsmigrate.core.throttle;

import io.tsmigrate.core.Human;
import io.tsmigrate.core.TsmigrateException;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * Limits on the source's own load signals, in the style of gh-ost's {@code --max-load}:
 * {@code probe-latency=2x} (a trivial query takes twice as long as before the copy started),
 * {@code active-sessions=20} (sessions of others running a statement), {@code replica-lag=30s}
 * (the most a standby of the source is behind in replay). Any limit reached counts.
 */
public record LoadLimits(Optional<Double> probeLatencyFactor, OptionalInt activeSessions, Optional<Duration> replicaLag) {

    public static final LoadLimits NONE = new LoadLimits(Optional.empty(), OptionalInt.empty(), Optional.empty());

    public boolean any() {
        return probeLatencyFactor.isPresent() || activeSessions.isPresent() || replicaLag.isPresent();
    }

    /**
     * @throws TsmigrateException a usage error naming {@code flag} for anything but name=value pairs of known signals
     */
    public static LoadLimits parse(String flag, String text) {
        Optional<Double> factor = Optional.empty();
        OptionalInt sessions = OptionalInt.empty();
        Optional<Duration> lag = Optional.empty();
        for (String part : text.split(",")) {
            String[] kv = part.strip().split("=", 2);
            String name = kv[0].strip().toLowerCase(Locale.ROOT);
            String value = kv.length == 2 ? kv[1].strip() : "";
            try {
                switch (name) {
                    case "probe-latency" -> {
                        double f = Double.parseDouble(value.replaceFirst("(?i)x$", ""));
                        if (!(f > 1.0)) {
                            throw new NumberFormatException();
                        }
                        factor = Optional.of(f);
                    }
                    case "active-sessions" -> {
                        int n = Integer.parseInt(value);
                        if (n < 1) {
                            throw new NumberFormatException();
                        }
                        sessions = OptionalInt.of(n);
                    }
                    case "replica-lag" -> lag = Optional.of(Human.parseDuration(value, flag + " replica-lag"));
                    default -> throw TsmigrateException.usage(flag + " \"" + text + "\": unknown signal \"" + kv[0].strip()
                            + "\"; use probe-latency=2x, active-sessions=20 and replica-lag=30s, separated by commas.");
                }
            } catch (NumberFormatException e) {
                throw TsmigrateException.usage(flag + " \"" + text + "\": " + name + " needs " + (name.equals("probe-latency")
                        ? "a factor above 1 (2x)" : "a whole number of at least 1") + ", not \"" + value + "\".");
            }
        }
        return new LoadLimits(factor, sessions, lag);
    }

    /** The limits the signals reach or pass, as one phrase ("active sessions 25 >= 20"); empty when none. */
    public Optional<String> reached(SourceSignals s, double baselineMillis) {
        List<String> out = new ArrayList<>();
        probeLatencyFactor.ifPresent(f -> {
            if (s.probeMillis() >= f * baselineMillis) {
                out.add(String.format(Locale.ROOT, "probe latency %.2f ms >= %.1fx the %.2f ms before the copy", s.probeMillis(), f,
                        baselineMillis));
            }
        });
        activeSessions.ifPresent(n -> {
            if (s.activeSessions() >= n) {
                out.add("active sessions " + s.activeSessions() + " >= " + n);
            }
        });
        replicaLag.ifPresent(max -> s.replicaLag().filter(l -> l.compareTo(max) >= 0)
                .ifPresent(l -> out.add("replica lag " + Human.duration(l) + " >= " + Human.duration(max))));
        return out.isEmpty() ? Optional.empty() : Optional.of(String.join(", ", out));
    }

    @Override
    public String toString() {
        List<String> out = new ArrayList<>();
        probeLatencyFactor.ifPresent(f -> out.add("probe-latency=" + f + "x"));
        activeSessions.ifPresent(n -> out.add("active-sessions=" + n));
        replicaLag.ifPresent(d -> out.add("replica-lag=" + Human.duration(d)));
        return String.join(",", out);
    }
}
