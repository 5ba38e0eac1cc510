package io.tsmigrate.core.state;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** What each process's throttle decided at its last check ({@code tsmigrate.throttle}), for {@code status}. */
public final class ThrottleRecords {

    /** One process's throttle. */
    public record Throttle(String process, boolean paused, Optional<Double> rowsPerSecond, String reason, Instant updatedAt) {
    }

    private ThrottleRecords() {
    }

    public static void record(Connection target, String process, boolean paused, Optional<Double> rowsPerSecond, String reason)
            throws SQLException {
        try (PreparedStatement ps = target.prepareStatement("INSERT INTO tsmigrate.throttle (process, paused, rows_per_second, "
                + "reason, updated_at) VALUES (?, ?, ?, ?, now()) ON CONFLICT (process) DO UPDATE SET paused = EXCLUDED.paused, "
                + "rows_per_second = EXCLUDED.rows_per_second, reason = EXCLUDED.reason, updated_at = now()")) {
            ps.setString(1, process);
            ps.setBoolean(2, paused);
            if (rowsPerSecond.isPresent()) {
                ps.setDouble(3, rowsPerSecond.get());
            } else {
                ps.setNull(3, java.sql.Types.DOUBLE);
            }
            ps.setString(4, reason);
            ps.executeUpdate();
        }
    }

    /** Removes a process's record when its copy ends. */
    public static void forget(Connection target, String process) throws SQLException {
        try (PreparedStatement ps = target.prepareStatement("DELETE FROM tsmigrate.throttle WHERE process = ?")) {
            ps.setString(1, process);
            ps.executeUpdate();
        }
    }

    /** Every process's throttle, freshest first. */
    public static List<Throttle> all(Connection target) throws SQLException {
        List<Throttle> out = new ArrayList<>();
        if (!StateSchema.exists(target)) {
            return out;
        }
        try (PreparedStatement ps = target.prepareStatement("SELECT process, paused, rows_per_second, reason, updated_at "
                + "FROM tsmigrate.throttle ORDER BY updated_at DESC"); ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                double rate = rs.getDouble(3);
                Optional<Double> r = rs.wasNull() ? Optional.empty() : Optional.of(rate);
                out.add(new Throttle(rs.getString(1), rs.getBoolean(2), r, rs.getString(4), rs.getTimestamp(5).toInstant()));
            }
        }
        return out;
    }
}
