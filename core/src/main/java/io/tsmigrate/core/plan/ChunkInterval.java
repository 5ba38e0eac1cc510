package io.tsmigrate.core.plan;

import io.tsmigrate.core.TsmigrateException;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A hypertable's chunk interval: a span of time for time and date columns ({@link #micros()}), or a
 * number of the column's own units for integer time ({@link #units()}). Always positive.
 */
public record ChunkInterval(long value, boolean integer) {

    private static final Map<String, Long> UNIT_MICROS = new LinkedHashMap<>();
    static {
        UNIT_MICROS.put("week", 7L * 86_400_000_000L);
        UNIT_MICROS.put("day", 86_400_000_000L);
        UNIT_MICROS.put("hour", 3_600_000_000L);
        UNIT_MICROS.put("minute", 60_000_000L);
        UNIT_MICROS.put("second", 1_000_000L);
        UNIT_MICROS.put("millisecond", 1_000L);
        UNIT_MICROS.put("microsecond", 1L);
    }
    private static final Pattern PART = Pattern.compile("(\\d+)\\s*([a-z]+)");

    public ChunkInterval {
        if (value <= 0) {
            throw new IllegalArgumentException("chunk interval must be positive, got " + value);
        }
    }

    public static ChunkInterval ofMicros(long micros) {
        return new ChunkInterval(micros, false);
    }

    public static ChunkInterval ofUnits(long units) {
        return new ChunkInterval(units, true);
    }

    public long micros() {
        if (integer) {
            throw new IllegalStateException("an integer chunk interval has no duration");
        }
        return value;
    }

    public long units() {
        if (!integer) {
            throw new IllegalStateException("a time chunk interval has no integer units");
        }
        return value;
    }

    /**
     * Parses what a plan file holds: an interval such as {@code 1 day}, {@code 6 hours},
     * {@code 1 day 12 hours} for time columns, or a whole number for integer time columns.
     *
     * @throws TsmigrateException (USAGE) naming the bad value, including zero and negative ones
     */
    public static ChunkInterval parse(String text, boolean integerTime) {
        String s = text.strip().toLowerCase(Locale.ROOT);
        if (integerTime) {
            long units;
            try {
                units = Long.parseLong(s);
            } catch (NumberFormatException e) {
                throw TsmigrateException.usage("chunk interval \"" + text + "\" is not a whole number, as an integer "
                        + "time column needs (in the column's own units)");
            }
            if (units <= 0) {
                throw TsmigrateException.usage("chunk interval " + units + " must be greater than zero");
            }
            return ofUnits(units);
        }
        if (s.startsWith("-") || s.matches("0+\\s*[a-z]*")) {
            throw TsmigrateException.usage("chunk interval \"" + text + "\" must be greater than zero");
        }
        Matcher m = PART.matcher(s);
        long total = 0;
        int end = 0;
        while (m.find()) {
            if (!s.substring(end, m.start()).isBlank()) {
                break;
            }
            String unit = m.group(2).replaceAll("s$", "");
            Long micros = UNIT_MICROS.get(unit.equals("min") ? "minute" : unit.equals("sec") ? "second" : unit);
            if (micros == null) {
                throw TsmigrateException.usage("chunk interval \"" + text + "\" has an unknown unit \"" + m.group(2)
                        + "\"; use weeks, days, hours, minutes or seconds");
            }
            total = Math.addExact(total, Math.multiplyExact(Long.parseLong(m.group(1)), micros));
            end = m.end();
        }
        if (end == 0 || end != s.length()) {
            throw TsmigrateException.usage("chunk interval \"" + text + "\" is not an interval such as \"1 day\" or \"6 hours\"");
        }
        if (total <= 0) {
            throw TsmigrateException.usage("chunk interval \"" + text + "\" must be greater than zero");
        }
        return ofMicros(total);
    }

    /** {@code 1 day}, {@code 6 hours}, {@code 1 day 12 hours}; or the integer. */
    @Override
    public String toString() {
        if (integer) {
            return Long.toString(value);
        }
        StringBuilder sb = new StringBuilder();
        long rest = value;
        for (Map.Entry<String, Long> unit : UNIT_MICROS.entrySet()) {
            if (unit.getKey().equals("week") && rest % unit.getValue() != 0) {
                continue;
            }
            long n = rest / unit.getValue();
            if (n > 0) {
                sb.append(sb.length() > 0 ? " " : "").append(n).append(' ').append(unit.getKey()).append(n > 1 ? "s" : "");
                rest -= n * unit.getValue();
            }
        }
        return sb.toString();
    }

    /** The SQL for create_hypertable: {@code INTERVAL '1 day'} or the integer. */
    public String sql() {
        return integer ? Long.toString(value) : "INTERVAL '" + toString() + "'";
    }
}
