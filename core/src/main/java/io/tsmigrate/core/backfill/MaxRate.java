package io.tsmigrate.core.backfill;

import io.tsmigrate.core.Human;
import io.tsmigrate.core.TsmigrateException;

import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A cap on the backfill's speed across all workers, to protect the production source: rows per
 * second ({@code 50000}, {@code 50000rows/s}) or bytes per second ({@code 20MB/s}).
 */
public record MaxRate(double perSecond, boolean bytes) {

    private static final Pattern FORM = Pattern.compile("(?i)\\s*(\\d+(?:\\.\\d+)?)\\s*(rows?|kb|mb|gb|b)?\\s*(/s)?\\s*");

    public MaxRate {
        if (perSecond <= 0) {
            throw new IllegalArgumentException("a rate must be positive: " + perSecond);
        }
    }

    public static MaxRate parse(String text) {
        return parse(text, "--max-rate");
    }

    /** @param flag the option that gave it, to name in an error */
    public static MaxRate parse(String text, String flag) {
        Matcher m = FORM.matcher(text);
        if (!m.matches() || Double.parseDouble(m.group(1)) <= 0) {
            throw TsmigrateException.usage(flag + " \"" + text + "\" is not a rate; write rows per second (50000) "
                    + "or bytes per second (20MB/s), greater than zero.");
        }
        double value = Double.parseDouble(m.group(1));
        String unit = m.group(2) == null ? "rows" : m.group(2).toLowerCase(Locale.ROOT);
        if (unit.startsWith("row")) {
            return new MaxRate(value, false);
        }
        return new MaxRate(Human.parseBytes(m.group(1) + unit, flag), true);
    }

    @Override
    public String toString() {
        return io.tsmigrate.core.throttle.Throttle.rate(perSecond, bytes);
    }
}
