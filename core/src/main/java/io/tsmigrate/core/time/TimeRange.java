package io.tsmigrate.core.time;

/**
 * A half-open range {@code [start, end)} on a time column's axis (see {@link TimeAxis}: Unix
 * microseconds for timestamps and dates, the value for integer time). The one shape in which a
 * time bound crosses a package: never a string, never compared as text. Immutable.
 */
public record TimeRange(TimeType type, long start, long end) {

    public TimeRange {
        if (type == null) {
            throw new IllegalArgumentException("type must be given");
        }
        if (start >= end) {
            throw new IllegalArgumentException("start must be before end, got [" + start + ", " + end + ")");
        }
    }

    /** The range between two literals of {@code type} ({@code -infinity} for "from the beginning"). */
    public static TimeRange of(TimeType type, String startLiteral, String endLiteral) {
        return new TimeRange(type, TimeAxis.position(startLiteral, type), TimeAxis.position(endLiteral, type));
    }

    public TimeAxis axis() {
        return new TimeAxis(type);
    }

    public String startLiteral() {
        return axis().literal(start);
    }

    public String endLiteral() {
        return axis().literal(end);
    }

    /** {@code "col" >= start AND "col" < end}: half-open, never BETWEEN. */
    public String where(String quotedColumn) {
        return axis().where(quotedColumn, startLiteral(), endLiteral());
    }

    @Override
    public String toString() {
        return "[" + startLiteral() + ", " + endLiteral() + ")";
    }
}
