package io.tsmigrate.core.time;

import java.util.Arrays;
import java.util.Locale;
import java.util.Optional;

/** The unit of an integer time column counted from the Unix epoch. */
public enum EpochUnit {
    EPOCH_S(1L),
    EPOCH_MS(1_000L),
    EPOCH_US(1_000_000L),
    EPOCH_NS(1_000_000_000L);

    private final long perSecond;

    EpochUnit(long perSecond) {
        this.perSecond = perSecond;
    }

    public long perSecond() {
        return perSecond;
    }

    /** {@code epoch_s}, {@code epoch_ms}, ... as plan files and flags write it. */
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static Optional<EpochUnit> ofLabel(String label) {
        return Arrays.stream(values()).filter(u -> u.label().equals(label)).findFirst();
    }

    /**
     * A unit a user typed for {@code flag}, in any case.
     *
     * @throws io.tsmigrate.core.TsmigrateException (USAGE) naming the flag and the units
     */
    public static EpochUnit parse(String text, String flag) {
        return ofLabel(text.strip().toLowerCase(Locale.ROOT)).orElseThrow(() -> io.tsmigrate.core.TsmigrateException.usage(
                flag + " \"" + text + "\" is not one of epoch_s, epoch_ms, epoch_us, epoch_ns."));
    }

    /**
     * The unit under which {@code value} falls between 2001 and 2096, the years a live table's
     * timestamps plausibly span; empty when it fits none (a counter, not a time).
     */
    public static Optional<EpochUnit> guess(long value) {
        for (EpochUnit unit : values()) {
            double seconds = (double) value / unit.perSecond;
            if (seconds >= 1.0e9 && seconds < 4.0e9) {
                return Optional.of(unit);
            }
        }
        return Optional.empty();
    }
}
