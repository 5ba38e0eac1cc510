package io.tsmigrate.core.state;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The compression policy jobs tsmigrate paused for the backfill ({@code tsmigrate.paused_job}):
 * recorded by the schema step in the transaction that pauses them, marked resumed by the backfill
 * in the transaction that resumes them, so that exactly those (and no policy a user paused) run again.
 */
public final class PausedJobs {

    /** One paused job. */
    public record PausedJob(int jobId, String hypertable, Instant pausedAt, Optional<Instant> resumedAt) {
    }

    private PausedJobs() {
    }

    /** Records that {@code job} of {@code hypertable} is paused (again, if it was resumed before). */
    public static void recordPaused(Connection target, int job, String hypertable) throws SQLException {
        try (PreparedStatement ps = target.prepareStatement("INSERT INTO tsmigrate.paused_job (job_id, hypertable) "
                + "VALUES (?, ?) ON CONFLICT (job_id) DO UPDATE SET resumed_at = NULL, paused_at = now()")) {
            ps.setInt(1, job);
            ps.setString(2, hypertable);
            ps.executeUpdate();
        }
    }

    public static void markResumed(Connection target, int job) throws SQLException {
        try (PreparedStatement ps = target.prepareStatement("UPDATE tsmigrate.paused_job SET resumed_at = now() WHERE job_id = ?")) {
            ps.setInt(1, job);
            ps.executeUpdate();
        }
    }

    /** The jobs still paused for {@code hypertable}, in order. */
    public static List<Integer> stillPaused(Connection target, String hypertable) throws SQLException {
        List<Integer> out = new ArrayList<>();
        try (PreparedStatement ps = target.prepareStatement("SELECT job_id FROM tsmigrate.paused_job "
                + "WHERE hypertable = ? AND resumed_at IS NULL ORDER BY job_id")) {
            ps.setString(1, hypertable);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(rs.getInt(1));
                }
            }
        }
        return out;
    }

    /** Every job tsmigrate paused, in order. */
    public static List<PausedJob> all(Connection target) throws SQLException {
        List<PausedJob> out = new ArrayList<>();
        try (PreparedStatement ps = target.prepareStatement("SELECT job_id, hypertable, paused_at, resumed_at FROM tsmigrate.paused_job "
                + "ORDER BY job_id"); ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                Timestamp resumed = rs.getTimestamp(4);
                out.add(new PausedJob(rs.getInt(1), rs.getString(2), rs.getTimestamp(3).toInstant(),
                        Optional.ofNullable(resumed).map(Timestamp::toInstant)));
            }
        }
        return out;
    }
}
