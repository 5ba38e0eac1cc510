package io.tsmigrate.core.state;

import io.tsmigrate.core.json.Json;
import io.tsmigrate.core.time.TimePoint;
import io.tsmigrate.core.time.TimeType;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.EnumMap;
import java.util.Map;
import java.util.Optional;

/**
 * The completion points T stored in {@code tsmigrate.completion_point}, one per time-type group:
 * the point up to which the backfill copies and verify compares. Stored as literals of the group's
 * type ({@code 2026-11-20 12:00:00+00} for timestamptz, {@code 1700000000000} for bigint), read and
 * written as {@link TimePoint}s.
 */
public final class CompletionPoints {

    private CompletionPoints() {
    }

    public static Optional<TimePoint> get(Connection target, TimeType type) throws SQLException {
        if (!StateSchema.exists(target)) {
            return Optional.empty();
        }
        try (PreparedStatement ps = target.prepareStatement("SELECT value FROM tsmigrate.completion_point WHERE time_type = ?")) {
            ps.setString(1, type.label());
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? Optional.of(TimePoint.of(type, rs.getString(1))) : Optional.empty();
            }
        }
    }

    public static Map<TimeType, TimePoint> all(Connection target) throws SQLException {
        Map<TimeType, TimePoint> out = new EnumMap<>(TimeType.class);
        if (!StateSchema.exists(target)) {
            return out;
        }
        try (PreparedStatement ps = target.prepareStatement("SELECT time_type, value FROM tsmigrate.completion_point");
             ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                Optional<TimeType> type = TimeType.ofLabel(rs.getString(1));
                if (type.isPresent()) {
                    out.put(type.get(), TimePoint.of(type.get(), rs.getString(2)));
                }
            }
        }
        return out;
    }

    /** A stored T and when it was set. */
    public record Stored(TimePoint value, java.time.Instant setAt) {
    }

    /** Every stored T, by group label. */
    public static java.util.List<Stored> stored(Connection target) throws SQLException {
        java.util.List<Stored> out = new java.util.ArrayList<>();
        if (!StateSchema.exists(target)) {
            return out;
        }
        try (PreparedStatement ps = target.prepareStatement("SELECT time_type, value, set_at FROM tsmigrate.completion_point "
                + "ORDER BY time_type"); ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                Optional<TimeType> type = TimeType.ofLabel(rs.getString(1));
                if (type.isPresent()) {
                    out.add(new Stored(TimePoint.of(type.get(), rs.getString(2)), rs.getTimestamp(3).toInstant()));
                }
            }
        }
        return out;
    }

    /** Stores T for a group, with how it was decided. */
    public static void set(Connection target, TimePoint value, Object detail) throws SQLException {
        StateSchema.ensure(target);
        try (PreparedStatement ps = target.prepareStatement("INSERT INTO tsmigrate.completion_point (time_type, value, detail) "
                + "VALUES (?, ?, ?::jsonb) ON CONFLICT (time_type) DO UPDATE SET value = EXCLUDED.value, "
                + "detail = EXCLUDED.detail, set_at = now()")) {
            ps.setString(1, value.type().label());
            ps.setString(2, value.literal());
            ps.setString(3, detail == null ? null : Json.write(detail));
            ps.executeUpdate();
        }
    }
}
