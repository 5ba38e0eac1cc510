package io.tsmigrate.core.time;


import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Optional;

/**
 * Positions on a time column's axis as {@code long}s, the way TimescaleDB aligns chunks: Unix
 * microseconds for {@code timestamptz}, {@code timestamp} and {@code date}; the value itself for
 * integer time. {@link #LOWEST} stands for "everything below", written {@code -infinity} (or the
 * integer type's minimum) so that a first range also catches rows older than any estimate.
 */
public final class TimeAxis {

    public static final long LOWEST = Long.MIN_VALUE;
    private static final DateTimeFormatter SECONDS = DateTimeFormatter.ofPattern("uuuu-MM-dd HH:mm:ss");

    private final TimeType type;

    public TimeAxis(TimeType type) {
        this.type = type;
    }

    public TimeType type() {
        return type;
    }

    /** The position of a literal of the column's type ({@code -infinity} is {@link #LOWEST}). */
    public long position(String literal) {
        return position(literal, type);
    }

    /**
     * The position of a literal of {@code type} ({@code -infinity} is {@link #LOWEST}).
     *
     * @throws IllegalArgumentException for a literal that is not a point of the type (parse user
     *                                  input with {@link TimeInput} first)
     */
    public static long position(String literal, TimeType type) {
        return positionOf(literal, type).orElseThrow(() -> new IllegalArgumentException("not a " + type.label() + ": " + literal));
    }

    /** The position of a literal of {@code type}; empty when it is not one. */
    public static Optional<Long> positionOf(String literal, TimeType type) {
        if (type.isInteger()) {
            try {
                long value = Long.parseLong(literal.strip());
                // The type's minimum is how LOWEST is written for it (see literal): read it back as LOWEST.
                return Optional.of(literal.strip().equals(new TimeAxis(type).literal(LOWEST)) ? LOWEST : value);
            } catch (NumberFormatException e) {
                return Optional.empty();
            }
        }
        if (literal.strip().equals("-infinity")) {
            return Optional.of(LOWEST);
        }
        return TimeValues.toInstant(literal, type, Optional.empty()).map(TimeValues::micros);
    }

    /** The position of an instant; empty for integer time of unknown unit. */
    public Optional<Long> position(Instant instant, Optional<EpochUnit> unit) {
        return type.isInteger() ? unit.map(u -> TimeValues.units(instant, u)) : Optional.of(TimeValues.micros(instant));
    }

    /** The start of the chunk that holds {@code position}, for chunks of {@code interval}. */
    public static long alignDown(long position, long interval) {
        return Math.floorDiv(position, interval) * interval;
    }

    /** A literal of the column's type for {@code position}, as PostgreSQL reads it back exactly and writes it in UTC. */
    public String literal(long position) {
        if (position == LOWEST) {
            return switch (type) {
                case BIGINT -> Long.toString(Long.MIN_VALUE);
                case INTEGER -> Integer.toString(Integer.MIN_VALUE);
                case SMALLINT -> Short.toString(Short.MIN_VALUE);
                default -> "-infinity";
            };
        }
        if (type.isInteger()) {
            return Long.toString(position);
        }
        Instant instant = Instant.ofEpochSecond(Math.floorDiv(position, 1_000_000L), Math.floorMod(position, 1_000_000L) * 1000);
        LocalDateTime utc = LocalDateTime.ofInstant(instant, ZoneOffset.UTC);
        if (type == TimeType.DATE) {
            return utc.toLocalDate().toString();
        }
        long micros = Math.floorMod(position, 1_000_000L);
        // As PostgreSQL spells it: no trailing zeros in the fraction (12:00:00.5, not 12:00:00.500000).
        String text = utc.format(SECONDS) + (micros == 0 ? "" : String.format(".%06d", micros).replaceFirst("0+$", ""));
        return type == TimeType.TIMESTAMPTZ ? text + "+00" : text;
    }

    /**
     * SQL for a column's position on the axis, as a bigint: Unix microseconds for time types, the
     * value for integers. Same on every server version, for splitting ranges in SQL.
     */
    public String positionSql(String quotedColumn) {
        return switch (type) {
            case TIMESTAMPTZ, TIMESTAMP -> "(extract(epoch FROM " + quotedColumn + ") * 1000000)::bigint";
            case DATE -> "((" + quotedColumn + " - date '1970-01-01')::bigint * 86400000000)";
            default -> quotedColumn + "::bigint";
        };
    }

    /** {@code "col" >= 'start'::type AND "col" < 'end'::type}: half-open, never BETWEEN. */
    public String where(String quotedColumn, String start, String end) {
        return quotedColumn + " >= " + cast(start) + " AND " + quotedColumn + " < " + cast(end);
    }

    public String cast(String literal) {
        return "'" + literal.replace("'", "''") + "'::" + type.sqlName();
    }
}
