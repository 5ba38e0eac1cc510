package io.tsmigrate.core.state;

import io.tsmigrate.core.catalog.TableRef;
import io.tsmigrate.core.json.Json;
import io.tsmigrate.core.time.TimeRange;

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
 * Verification runs in {@code verification_run} and the ranges each checked in
 * {@code verification_range}. A run's ranges are gathered in memory and written in batches, so
 * that the checks never wait on the state. Instances are thread-safe.
 */
public final class VerificationRuns {

    /** One checked range ({@code range} empty for a whole plain table); sums are the digests' text. */
    public record Checked(TableRef table, Optional<TimeRange> range, long sourceRows, long targetRows, String sourceSum,
                          String targetSum, String verdict) {
    }

    /** A run as stored; {@code whole} when it checked every table over its whole span (only those clear cutover). */
    public record Run(long id, String mode, Instant startedAt, Optional<Instant> finishedAt, Optional<String> verdict,
                      Optional<String> summary, boolean whole) {
    }

    /** A checked range as stored, for reports: {@code bounds} is "[start, end)" or "whole table". */
    public record CheckedRow(String table, String bounds, long sourceRows, long targetRows, String verdict) {
    }

    private final long runId;
    private final List<Checked> pending = new ArrayList<>();

    private VerificationRuns(long runId) {
        this.runId = runId;
    }

    /** Records the start of a run ({@code exact} or {@code estimate}). */
    public static VerificationRuns start(Connection target, String mode) throws SQLException {
        try (PreparedStatement ps = target.prepareStatement("INSERT INTO tsmigrate.verification_run (mode) VALUES (?) RETURNING id")) {
            ps.setString(1, mode);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return new VerificationRuns(rs.getLong(1));
            }
        }
    }

    public long runId() {
        return runId;
    }

    public synchronized void add(Checked checked) {
        pending.add(checked);
    }

    /** Writes the ranges added so far. */
    public synchronized void flush(Connection target) throws SQLException {
        if (pending.isEmpty()) {
            return;
        }
        try (PreparedStatement ps = target.prepareStatement("INSERT INTO tsmigrate.verification_range (run_id, table_name, range_start, "
                + "range_end, source_rows, target_rows, source_sum, target_sum, verdict) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")) {
            for (Checked c : pending) {
                ps.setLong(1, runId);
                ps.setString(2, c.table().toString());
                ps.setString(3, c.range().map(TimeRange::startLiteral).orElse(null));
                ps.setString(4, c.range().map(TimeRange::endLiteral).orElse(null));
                ps.setLong(5, c.sourceRows());
                ps.setLong(6, c.targetRows());
                ps.setString(7, c.sourceSum());
                ps.setString(8, c.targetSum());
                ps.setString(9, c.verdict());
                ps.addBatch();
            }
            ps.executeBatch();
        }
        pending.clear();
    }

    /** Marks the run failed, with the error that ended it; best effort (the connection may be what failed). */
    public void fail(Connection target, Exception cause) {
        try (PreparedStatement ps = target.prepareStatement("UPDATE tsmigrate.verification_run SET finished_at = now(), "
                + "verdict = 'failed', summary = jsonb_build_object('error', ?::text) WHERE id = ? AND finished_at IS NULL")) {
            ps.setString(1, String.valueOf(cause.getMessage()));
            ps.setLong(2, runId);
            ps.executeUpdate();
        } catch (SQLException e) {
            cause.addSuppressed(e);
        }
    }

    /**
     * Writes what is pending and ends the run.
     *
     * @param summary written as JSON; its boolean {@code whole} says whether the run can clear the way for cutover
     */
    public void finish(Connection target, String verdict, Object summary) throws SQLException {
        flush(target);
        try (PreparedStatement ps = target.prepareStatement("UPDATE tsmigrate.verification_run SET finished_at = now(), verdict = ?, "
                + "summary = ?::jsonb WHERE id = ?")) {
            ps.setString(1, verdict);
            ps.setString(2, Json.write(summary));
            ps.setLong(3, runId);
            ps.executeUpdate();
        }
    }

    private static final String RUN = "SELECT id, mode, started_at, finished_at, verdict, summary::text, "
            + "coalesce((summary->>'whole')::boolean, false) FROM tsmigrate.verification_run ";

    /** The last {@code limit} runs, newest first. */
    public static List<Run> recent(Connection target, int limit) throws SQLException {
        return runs(target, RUN + "ORDER BY id DESC LIMIT " + limit);
    }

    /** The last finished exact run, whatever it checked. */
    public static Optional<Run> lastExact(Connection target) throws SQLException {
        return runs(target, RUN + "WHERE mode = 'exact' AND finished_at IS NOT NULL ORDER BY finished_at DESC LIMIT 1").stream().findFirst();
    }

    /** The last finished exact run that checked every table over its whole span. */
    public static Optional<Run> lastWholeExact(Connection target) throws SQLException {
        return runs(target, RUN + "WHERE mode = 'exact' AND finished_at IS NOT NULL AND (summary->>'whole')::boolean "
                + "ORDER BY finished_at DESC LIMIT 1").stream().findFirst();
    }

    /** The last exact run that found differences after the last whole run that matched, if any. */
    public static Optional<Run> differsSinceLastWholeMatch(Connection target) throws SQLException {
        return runs(target, RUN + "WHERE mode = 'exact' AND finished_at IS NOT NULL AND verdict <> 'match' "
                + "AND finished_at > coalesce((SELECT max(finished_at) FROM tsmigrate.verification_run WHERE mode = 'exact' "
                + "AND verdict = 'match' AND (summary->>'whole')::boolean), '-infinity') ORDER BY finished_at DESC LIMIT 1")
                .stream().findFirst();
    }

    /** The ranges a run checked, by table in the order checked. */
    public static List<CheckedRow> checked(Connection target, long runId) throws SQLException {
        List<CheckedRow> out = new ArrayList<>();
        try (PreparedStatement ps = target.prepareStatement("SELECT table_name, range_start, range_end, source_rows, target_rows, "
                + "verdict FROM tsmigrate.verification_range WHERE run_id = ? ORDER BY table_name, id")) {
            ps.setLong(1, runId);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    String bounds = rs.getString(2) == null ? "whole table" : "[" + rs.getString(2) + ", " + rs.getString(3) + ")";
                    out.add(new CheckedRow(rs.getString(1), bounds, rs.getLong(4), rs.getLong(5), rs.getString(6)));
                }
            }
        }
        return out;
    }

    private static List<Run> runs(Connection target, String sql) throws SQLException {
        List<Run> out = new ArrayList<>();
        try (PreparedStatement ps = target.prepareStatement(sql); ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                out.add(new Run(rs.getLong(1), rs.getString(2), rs.getTimestamp(3).toInstant(),
                        Optional.ofNullable(rs.getTimestamp(4)).map(Timestamp::toInstant), Optional.ofNullable(rs.getString(5)),
                        Optional.ofNullable(rs.getString(6)), rs.getBoolean(7)));
            }
        }
        return out;
    }
}
