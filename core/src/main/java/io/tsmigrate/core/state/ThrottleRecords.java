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
    public record Throttle(String process, boolean paused, Optional<Double> rowsPerSecond, Optional<Double> bytesPerSecond, String reason,
                           Instant updatedAt) {
    }

    private ThrottleRecords() {
    }

    /** Records a process's last check: paused, or its rate in rows or in bytes per second (at most one of them). */
    public static void record(Connection target, String process, boolean paused, Optional<Double> rowsPerSecond,
                              Optional<Double> bytesPerSecond, String reason) throws SQLException {
        try (PreparedStatement ps = target.prepareStatement("INSERT INTO tsmigrate.throttle (process, paused, rows_per_second, "
                + "bytes_per_second, reason, updated_at) VALUES (?, ?, ?, ?, ?, now()) ON CONFLICT (process) DO UPDATE SET "
                + "paused = EXCLUDED.paused, rows_per_second = EXCLUDED.rows_per_second, bytes_per_second = EXCLUDED.bytes_per_second, "
                + "reason = EXCLUDED.reason, updated_at = now()")) {
            ps.setString(1, process);
            ps.setBoolean(2, paused);
            setRate(ps, 3, rowsPerSecond);
            setRate(ps, 4, bytesPerSecond);
            ps.setString(5, reason);
            ps.executeUpdate();
        }
    }

    /** Binds an optional rate (SQL NULL for none); shared with {@link PaceRecords}. */
    static void setRate(PreparedStatement ps, int index, Optional<Double> rate) throws SQLException {
        if (rate.isPresent()) {
            ps.setDouble(index, rate.get());
        } else {
            ps.setNull(index, java.sql.Types.DOUBLE);
        }
    }

    /** Reads an optional rate (empty for SQL NULL); shared with {@link PaceRecords}. */
    static Optional<Double> rate(ResultSet rs, int index) throws SQLException {
        double rate = rs.getDouble(index);
        return rs.wasNull() ? Optional.empty() : Optional.of(rate);
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
        try (PreparedStatement ps = target.prepareStatement("SELECT process, paused, rows_per_second, bytes_per_second, reason, "
                + "updated_at FROM tsmigrate.throttle ORDER BY updated_at DESC"); ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                out.add(new Throttle(rs.getString(1), rs.getBoolean(2), rate(rs, 3), rate(rs, 4), rs.getString(5),
                        rs.getTimestamp(6).toInstant()));
            }
        }
        return out;
    }
}
