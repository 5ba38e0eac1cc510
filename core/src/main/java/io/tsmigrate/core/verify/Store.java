package io.tsmigrate.core.verify;

import io.tsmigrate.core.catalog.TableRef;
import io.tsmigrate.core.json.Json;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One verification run in {@code tsmigrate.verification_run}, and its checked ranges in
 * {@code tsmigrate.verification_range}, gathered in memory and written in one batch, so that the
 * checks never wait on the state. Thread-safe.
 */
final class Store {

    private record Row(TableRef table, String start, String end, Digest source, Digest target, String verdict) {
    }

    private final long runId;
    private final List<Row> rows = new ArrayList<>();

    private Store(long runId) {
        this.runId = runId;
    }

    static Store start(Connection target, String mode) throws SQLException {
        try (PreparedStatement ps = target.prepareStatement("INSERT INTO tsmigrate.verification_run (mode) VALUES (?) RETURNING id")) {
            ps.setString(1, mode);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return new Store(rs.getLong(1));
            }
        }
    }

    long runId() {
        return runId;
    }

    synchronized void range(TableRef table, String start, String end, Digest source, Digest target, String verdict) {
        rows.add(new Row(table, start, end, source, target, verdict));
    }

    /** Writes the ranges recorded so far. */
    synchronized void flush(Connection target) throws SQLException {
        if (rows.isEmpty()) {
            return;
        }
        try (PreparedStatement ps = target.prepareStatement("INSERT INTO tsmigrate.verification_range (run_id, table_name, range_start, "
                + "range_end, source_rows, target_rows, source_sum, target_sum, verdict) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")) {
            for (Row r : rows) {
                ps.setLong(1, runId);
                ps.setString(2, r.table().toString());
                ps.setString(3, r.start());
                ps.setString(4, r.end());
                ps.setLong(5, r.source().rows());
                ps.setLong(6, r.target().rows());
                ps.setString(7, r.source().toString());
                ps.setString(8, r.target().toString());
                ps.setString(9, r.verdict());
                ps.addBatch();
            }
            ps.executeBatch();
        }
        rows.clear();
    }

    /** Marks the run failed, with the error that ended it; best effort (the connection may be what failed). */
    void fail(Connection target, Exception cause) {
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
     * @param whole the run checked every table of the migration over its whole span (no
     *              --table, --from or --until): only such a run can clear the way for cutover
     */
    void finish(Connection target, VerifyResult result, boolean whole) throws SQLException {
        flush(target);
        Map<String, Object> summary = new LinkedHashMap<>();
        summary.put("whole", whole);
        summary.put("tables", result.tables().size());
        summary.put("differences", result.differenceCount());
        summary.put("sequences_behind", result.sequences().stream().filter(VerifyResult.SequenceVerdict::behind).count());
        try (PreparedStatement ps = target.prepareStatement("UPDATE tsmigrate.verification_run SET finished_at = now(), verdict = ?, "
                + "summary = ?::jsonb WHERE id = ?")) {
            ps.setString(1, result.match() ? "match" : "differs");
            ps.setString(2, Json.write(summary));
            ps.setLong(3, runId);
            ps.executeUpdate();
        }
    }
}
