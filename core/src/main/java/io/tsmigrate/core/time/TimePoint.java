package io.tsmigrate.core.time;

import com.fasterxml.jackson.annotation.JsonValue;

import java.time.Instant;
import java.util.Optional;

/**
 * A point on a time column's axis (see {@link TimeAxis}), such as a completion point T: the shape in
 * which a single time bound crosses a package, as {@link TimeRange} is for two. Compared by
 * position, never as text; written as a literal of its type (the server's own spelling, in UTC).
 * Immutable.
 */
public record TimePoint(TimeType type, long position) implements Comparable<TimePoint> {

    public TimePoint {
        if (type == null) {
            throw new IllegalArgumentException("type must be given");
        }
    }

    /**
     * The point a literal of {@code type} stands for ({@code -infinity} for "from the beginning").
     *
     * @throws IllegalArgumentException for a literal that is not a point of the type (parse what a
     *                                  user typed with {@link TimeInput} first)
     */
    public static TimePoint of(TimeType type, String literal) {
        return new TimePoint(type, TimeAxis.position(literal, type));
    }

    /** The lowest point of the type: "everything before", written {@code -infinity} or the integer type's minimum. */
    public static TimePoint lowest(TimeType type) {
        return new TimePoint(type, TimeAxis.LOWEST);
    }

    /** A literal of the type that PostgreSQL reads back as exactly this point. */
    @JsonValue
    public String literal() {
        return new TimeAxis(type).literal(position);
    }

    /** The instant it stands for; empty for {@link #lowest} and for integer time of unknown unit. */
    public Optional<Instant> instant(Optional<EpochUnit> unit) {
        return position == TimeAxis.LOWEST ? Optional.empty() : TimeValues.toInstant(literal(), type, unit);
    }

    /** The range from this point up to {@code end}. */
    public TimeRange until(TimePoint end) {
        if (end.type != type) {
            throw new IllegalArgumentException("a range needs two points of one type, got " + type.label() + " and " + end.type.label());
        }
        return new TimeRange(type, position, end.position);
    }

    @Override
    public int compareTo(TimePoint other) {
        return Long.compare(position, other.position);
    }

    public boolean isBefore(TimePoint other) {
        return compareTo(other) < 0;
    }

    @Override
    public String toString() {
        return literal();
    }
}
