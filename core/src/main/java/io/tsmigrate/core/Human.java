package io.tsmigrate.core;

import java.time.Duration;
import java.util.Locale;

/** Numbers as people read them in reports: sizes, counts, rates, durations. */
public final class Human {

    private Human() {
    }

    /** Bytes in binary units: {@code 512 B}, {@code 1.5 MB}, {@code 2.0 GB} (1 GB = 1024^3 bytes). */
    public static String bytes(long bytes) {
        if (bytes < 1024) {
            return bytes + " B";
        }
        String[] units = {"kB", "MB", "GB", "TB", "PB"};
        double value = bytes;
        int unit = -1;
        while (value >= 1024 && unit < units.length - 1) {
            value /= 1024;
            unit++;
        }
        return String.format(Locale.ROOT, value >= 100 ? "%.0f %s" : "%.1f %s", value, units[unit]);
    }

    /**
     * Parses a size as people write it: {@code 16GB}, {@code 512 MB}, {@code 2TB}, {@code 1048576}
     * (binary units: 1 GB = 1024^3 bytes). Zero is allowed.
     *
     * @throws TsmigrateException (USAGE) naming {@code what} and the bad value
     */
    public static long parseBytes(String text, String what) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("(?i)\\s*(\\d+(?:\\.\\d+)?)\\s*(b|kb|k|mb|m|gb|g|tb|t)?\\s*")
                .matcher(text);
        if (!m.matches()) {
            throw TsmigrateException.usage(what + " \"" + text + "\" is not a size; write it as 512MB, 16GB or 1TB.");
        }
        double value = Double.parseDouble(m.group(1));
        String unit = m.group(2) == null ? "b" : m.group(2).toLowerCase(Locale.ROOT);
        long factor = switch (unit.charAt(0)) {
            case 'k' -> 1L << 10;
            case 'm' -> 1L << 20;
            case 'g' -> 1L << 30;
            case 't' -> 1L << 40;
            default -> 1L;
        };
        return (long) (value * factor);
    }

    /**
     * Parses a duration as people write it: {@code 1h}, {@code 30m}, {@code 90s}, {@code 2d},
     * {@code 1h30m}, or ISO-8601 ({@code PT1H}).
     *
     * @throws TsmigrateException (USAGE) naming {@code what} and the bad value
     */
    public static Duration parseDuration(String text, String what) {
        String s = text.strip().toLowerCase(Locale.ROOT);
        try {
            if (s.startsWith("p")) {
                return Duration.parse(s.toUpperCase(Locale.ROOT));
            }
        } catch (java.time.format.DateTimeParseException e) {
            throw TsmigrateException.usage(what + " \"" + text + "\" is not a duration; write it as 1h, 30m, 90s or 2d.");
        }
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("(\\d+)\\s*(ms|d|h|m|s)").matcher(s);
        Duration total = Duration.ZERO;
        int end = 0;
        while (m.find() && m.start() == end) {
            long n = Long.parseLong(m.group(1));
            total = total.plus(switch (m.group(2)) {
                case "d" -> Duration.ofDays(n);
                case "h" -> Duration.ofHours(n);
                case "m" -> Duration.ofMinutes(n);
                case "s" -> Duration.ofSeconds(n);
                default -> Duration.ofMillis(n);
            });
            end = m.end();
            while (end < s.length() && s.charAt(end) == ' ') {
                end++;
            }
        }
        if (s.isEmpty() || end != s.length()) {
            throw TsmigrateException.usage(what + " \"" + text + "\" is not a duration; write it as 1h, 30m, 90s or 2d.");
        }
        return total;
    }

    /**
     * Parses a moment as people write it: {@code 2026-11-20T12:00:00Z}, {@code 2026-11-20 12:00:00+01}.
     *
     * @throws TsmigrateException (USAGE) naming {@code what} and the bad value
     */
    public static java.time.Instant parseInstant(String text, String what) {
        String s = text.strip().replace(' ', 'T');
        try {
            return java.time.OffsetDateTime.parse(s).toInstant();
        } catch (java.time.format.DateTimeParseException e) {
            try {
                return java.time.Instant.parse(s);
            } catch (java.time.format.DateTimeParseException e2) {
                throw TsmigrateException.usage(what + " \"" + text + "\" is not a time; write it as 2026-11-20T12:00:00Z.");
            }
        }
    }

    /** A count with thousands separators: {@code 2,000,000}. */
    public static String count(long n) {
        return String.format(Locale.ROOT, "%,d", n);
    }

    /** A count for a glance: {@code 999}, {@code 12.3 k}, {@code 1.2 M}, {@code 3.40 G} (three significant digits). */
    public static String compact(double n) {
        double abs = Math.abs(n);
        String[] units = {"", " k", " M", " G", " T"};
        int u = 0;
        while (abs >= 999.5 && u < units.length - 1) {
            abs /= 1000;
            n /= 1000;
            u++;
        }
        if (u == 0) {
            return String.format(Locale.ROOT, "%.0f", n);
        }
        return String.format(Locale.ROOT, abs >= 99.95 ? "%.0f%s" : abs >= 9.995 ? "%.1f%s" : "%.2f%s", n, units[u]);
    }

    /** A duration as {@code 1h02m}, {@code 3m05s}, {@code 4.2s}. */
    public static String duration(Duration d) {
        long seconds = d.getSeconds();
        if (seconds >= 3600) {
            return String.format(Locale.ROOT, "%dh%02dm", seconds / 3600, (seconds % 3600) / 60);
        }
        if (seconds >= 60) {
            return String.format(Locale.ROOT, "%dm%02ds", seconds / 60, seconds % 60);
        }
        return String.format(Locale.ROOT, "%.1fs", d.toMillis() / 1000.0);
    }

    /** A rate per second: {@code 850,000/s}. */
    public static String rate(double perSecond) {
        return String.format(Locale.ROOT, "%,.0f/s", perSecond);
    }
}
