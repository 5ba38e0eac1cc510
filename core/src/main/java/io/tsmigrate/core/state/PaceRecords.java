package io.tsmigrate.core.state;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.Optional;

/**
 * The pace an operator set for the whole migration with {@code tsmigrate throttle}
 * ({@code tsmigrate.pace}, one row): paused, or a cap in rows or bytes per second, with who set it and when.
 * Every process's throttle reads it at each check.
 */
public final class PaceRecords {

    /** The pace set: at most one of the rates (both empty for no cap), and the --max-load given, if any, as given. */
    public record Pace(boolean paused, Optional<Double> rowsPerSecond, Optional<Double> bytesPerSecond, Optional<String> maxLoad,
                       String setBy, Instant setAt) {
    }

    private PaceRecords() {
    }

    public static Optional<Pace> get(Connection target) throws SQLException {
        if (!StateSchema.exists(target)) {
            return Optional.empty();
        }
        try (PreparedStatement ps = target.prepareStatement("SELECT paused, rows_per_second, bytes_per_second, max_load, set_by, "
                + "set_at FROM tsmigrate.pace WHERE id = 1"); ResultSet rs = ps.executeQuery()) {
            if (!rs.next()) {
                return Optional.empty();
            }
            return Optional.of(new Pace(rs.getBoolean(1), ThrottleRecords.rate(rs, 2), ThrottleRecords.rate(rs, 3),
                    Optional.ofNullable(rs.getString(4)), rs.getString(5), rs.getTimestamp(6).toInstant()));
        }
    }

    public static void set(Connection target, boolean paused, Optional<Double> rowsPerSecond, Optional<Double> bytesPerSecond,
                           Optional<String> maxLoad, String setBy) throws SQLException {
        StateSchema.ensure(target);
        try (PreparedStatement ps = target.prepareStatement("INSERT INTO tsmigrate.pace (id, paused, rows_per_second, bytes_per_second, "
                + "max_load, set_by, set_at) VALUES (1, ?, ?, ?, ?, ?, now()) ON CONFLICT (id) DO UPDATE SET paused = EXCLUDED.paused, "
                + "rows_per_second = EXCLUDED.rows_per_second, bytes_per_second = EXCLUDED.bytes_per_second, "
                + "max_load = EXCLUDED.max_load, set_by = EXCLUDED.set_by, set_at = now()")) {
            ps.setBoolean(1, paused);
            ThrottleRecords.setRate(ps, 2, rowsPerSecond);
            ThrottleRecords.setRate(ps, 3, bytesPerSecond);
            ps.setString(4, maxLoad.orElse(null));
            ps.setString(5, setBy);
            ps.executeUpdate();
        }
    }

    /** Back to the pace each process was started with. */
    public static void clear(Connection target) throws SQLException {
        if (StateSchema.exists(target)) {
            try (PreparedStatement ps = target.prepareStatement("DELETE FROM tsmigrate.pace")) {
                ps.executeUpdate();
            }
        }
    }
}
