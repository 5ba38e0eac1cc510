package io.tsmigrate.core.state;

import io.tsmigrate.core.catalog.TableRef;
import io.tsmigrate.core.time.TimePoint;
import io.tsmigrate.core.time.TimeRange;
import io.tsmigrate.core.time.TimeType;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * The backfill's ranges in {@code tsmigrate.backfill_range}: made once per table (and extended
 * when T moves later), claimed with {@code FOR UPDATE SKIP LOCKED} inside the transaction that
 * copies the range, so that any number of workers on any number of machines share the work and
 * a range is done exactly once. Attempts and worker heartbeats are written on a separate
 * connection in auto-commit mode, so that they survive the rollback of a failed attempt.
 */
public final class BackfillRanges {

    /** The span {@code [from, T)} a table's ranges were made for. */
    public record TableBounds(String timeColumn, TimeRange span) {

        public TimePoint until() {
            return new TimePoint(span.type(), span.end());
        }
    }

    private BackfillRanges() {
    }

    public static Optional<TableBounds> bounds(Connection c, TableRef table) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT time_column, time_type, range_from, range_until "
                + "FROM tsmigrate.backfill_table WHERE table_name = ?")) {
            ps.setString(1, table.toString());
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    return Optional.empty();
                }
                TimeType type = type(rs.getString(2));
                return Optional.of(new TableBounds(rs.getString(1), TimeRange.of(type, rs.getString(3), rs.getString(4))));
            }
        }
    }

    /** Serializes range making for one table across processes (advisory lock for the transaction). */
    public static void lockTable(Connection c, TableRef table) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT pg_advisory_xact_lock(hashtext('tsmigrate.backfill'), hashtext(?))")) {
            ps.setString(1, table.toString());
            ps.execute();
        }
    }

    /**
     * Records the table's bounds {@code span}, {@code [from, T)}, and appends ranges after its
     * existing ones, in the caller's transaction.
     */
    public static void append(Connection c, TableRef table, String timeColumn, TimeRange span,
                              List<TimeRange> ranges, List<Long> estimates) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO tsmigrate.backfill_table (table_name, time_column, time_type, "
                + "range_from, range_until) VALUES (?, ?, ?, ?, ?) ON CONFLICT (table_name) DO UPDATE SET range_until = EXCLUDED.range_until")) {
            ps.setString(1, table.toString());
            ps.setString(2, timeColumn);
            ps.setString(3, span.type().label());
            ps.setString(4, span.startLiteral());
            ps.setString(5, span.endLiteral());
            ps.executeUpdate();
        }
        int next;
        try (PreparedStatement ps = c.prepareStatement("SELECT coalesce(max(seq), 0) FROM tsmigrate.backfill_range WHERE table_name = ?")) {
            ps.setString(1, table.toString());
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                next = rs.getInt(1) + 1;
            }
        }
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO tsmigrate.backfill_range (table_name, seq, range_start, "
                + "range_end, estimated_rows) VALUES (?, ?, ?, ?, ?)")) {
            for (int i = 0; i < ranges.size(); i++) {
                ps.setString(1, table.toString());
                ps.setInt(2, next + i);
                TimeRange r = ranges.get(i);
                ps.setString(3, r.startLiteral());
                ps.setString(4, r.endLiteral());
                ps.setLong(5, estimates.get(i));
                ps.addBatch();
            }
            ps.executeBatch();
        }
    }

    /**
     * Claims the next range that is not done, locking its row until the caller's transaction ends.
     * Call with auto-commit off; the lock is the claim.
     *
     * @param skip ranges this run already gave up on
     */
    public static Optional<BackfillRange> claim(Connection c, List<TableRef> tables, Set<Long> skip, java.time.Instant runStart)
            throws SQLException {
        // A range given up in this run has a failed attempt, committed before its claim was released:
        // skipping those keeps every worker of every process of this run from trying it again.
        try (PreparedStatement ps = c.prepareStatement("SELECT id, table_name, seq, range_start, range_end, estimated_rows, "
                + "(SELECT time_type FROM tsmigrate.backfill_table t WHERE t.table_name = r.table_name) "
                + "FROM tsmigrate.backfill_range r WHERE state <> 'done' AND table_name = ANY (?) AND NOT (id = ANY (?)) "
                + "AND NOT EXISTS (SELECT 1 FROM tsmigrate.backfill_attempt a WHERE a.range_id = r.id AND a.outcome = 'failed' "
                + "AND a.started_at >= ?) "
                + "ORDER BY array_position(?, table_name), seq FOR UPDATE SKIP LOCKED LIMIT 1")) {
            String[] names = tables.stream().map(TableRef::toString).toArray(String[]::new);
            ps.setArray(1, c.createArrayOf("text", names));
            ps.setArray(2, c.createArrayOf("bigint", skip.toArray()));
            ps.setTimestamp(3, java.sql.Timestamp.from(runStart));
            ps.setArray(4, c.createArrayOf("text", names));
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    return Optional.empty();
                }
                return Optional.of(new BackfillRange(rs.getLong(1), TableRef.parse(rs.getString(2)), rs.getInt(3),
                        TimeRange.of(type(rs.getString(7)), rs.getString(4), rs.getString(5)), rs.getLong(6)));
            }
        }
    }

    /** Ranges not done and not given up in this run: claimed by other workers right now. */
    public static long inProgressElsewhere(Connection c, List<TableRef> tables, Set<Long> skip, java.time.Instant runStart)
            throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT count(*) FROM tsmigrate.backfill_range r WHERE state <> 'done' "
                + "AND table_name = ANY (?) AND NOT (id = ANY (?)) AND NOT EXISTS (SELECT 1 FROM tsmigrate.backfill_attempt a "
                + "WHERE a.range_id = r.id AND a.outcome = 'failed' AND a.started_at >= ?) AND (state = 'pending' OR "
                + "r.finished_at IS NULL OR r.finished_at < ?)")) {
            ps.setArray(1, c.createArrayOf("text", tables.stream().map(TableRef::toString).toArray()));
            ps.setArray(2, c.createArrayOf("bigint", skip.toArray()));
            ps.setTimestamp(3, java.sql.Timestamp.from(runStart));
            ps.setTimestamp(4, java.sql.Timestamp.from(runStart));
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        }
    }

    /** Marks the range done, in the transaction that copied it. */
    public static void markDone(Connection c, BackfillRange range, long rows, long bytes, String worker) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("UPDATE tsmigrate.backfill_range SET state = 'done', rows = ?, bytes = ?, "
                + "worker = ?, finished_at = clock_timestamp(), started_at = coalesce(started_at, transaction_timestamp()), "
                + "error = NULL, sqlstate = NULL WHERE id = ?")) {
            ps.setLong(1, rows);
            ps.setLong(2, bytes);
            ps.setString(3, worker);
            ps.setLong(4, range.id());
            ps.executeUpdate();
        }
    }

    /** Marks the range failed with its error (auto-commit connection, after the attempt rolled back). */
    public static void markFailed(Connection side, BackfillRange range, String error, String sqlState, String worker) throws SQLException {
        try (PreparedStatement ps = side.prepareStatement("UPDATE tsmigrate.backfill_range SET state = 'failed', error = ?, "
                + "sqlstate = ?, worker = ?, finished_at = clock_timestamp() WHERE id = ? AND state <> 'done'")) {
            ps.setString(1, error);
            ps.setString(2, sqlState);
            ps.setString(3, worker);
            ps.setLong(4, range.id());
            ps.executeUpdate();
        }
    }

    public static long startAttempt(Connection side, BackfillRange range, String worker) throws SQLException {
        try (PreparedStatement ps = side.prepareStatement("INSERT INTO tsmigrate.backfill_attempt (range_id, worker) VALUES (?, ?) "
                + "RETURNING id")) {
            ps.setLong(1, range.id());
            ps.setString(2, worker);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        }
    }

    public static void finishAttempt(Connection side, long attempt, String outcome, long rows, String error, String sqlState)
            throws SQLException {
        try (PreparedStatement ps = side.prepareStatement("UPDATE tsmigrate.backfill_attempt SET finished_at = clock_timestamp(), outcome = ?, "
                + "rows = ?, error = ?, sqlstate = ? WHERE id = ?")) {
            ps.setString(1, outcome);
            ps.setLong(2, rows);
            ps.setString(3, error);
            ps.setString(4, sqlState);
            ps.setLong(5, attempt);
            ps.executeUpdate();
        }
    }

    public static void heartbeat(Connection side, String worker, Optional<BackfillRange> range, long rowsDone) throws SQLException {
        try (PreparedStatement ps = side.prepareStatement("INSERT INTO tsmigrate.backfill_worker (worker, range_id, table_name, "
                + "rows_done) VALUES (?, ?, ?, ?) ON CONFLICT (worker) DO UPDATE SET range_id = EXCLUDED.range_id, "
                + "table_name = EXCLUDED.table_name, rows_done = EXCLUDED.rows_done, heartbeat = now()")) {
            ps.setString(1, worker);
            if (range.isPresent()) {
                ps.setLong(2, range.get().id());
                ps.setString(3, range.get().table().toString());
            } else {
                ps.setNull(2, java.sql.Types.BIGINT);
                ps.setNull(3, java.sql.Types.VARCHAR);
            }
            ps.setLong(4, rowsDone);
            ps.executeUpdate();
        }
    }

    /** Per table: ranges in all, done, failed; rows and bytes done; estimated rows in all. */
    public record Counts(TableRef table, int ranges, int done, int failed, long rows, long bytes, long estimatedRows) {
    }

    public static List<Counts> counts(Connection c, List<TableRef> tables) throws SQLException {
        List<Counts> out = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement("SELECT table_name, count(*), count(*) FILTER (WHERE state = 'done'), "
                + "count(*) FILTER (WHERE state = 'failed'), coalesce(sum(rows) FILTER (WHERE state = 'done'), 0), "
                + "coalesce(sum(bytes) FILTER (WHERE state = 'done'), 0), coalesce(sum(estimated_rows), 0) "
                + "FROM tsmigrate.backfill_range WHERE table_name = ANY (?) GROUP BY table_name")) {
            ps.setArray(1, c.createArrayOf("text", tables.stream().map(TableRef::toString).toArray()));
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(new Counts(TableRef.parse(rs.getString(1)), rs.getInt(2), rs.getInt(3), rs.getInt(4),
                            rs.getLong(5), rs.getLong(6), rs.getLong(7)));
                }
            }
        }
        return out;
    }

    /** The failed ranges of these tables, with their errors. */
    public static List<String> failures(Connection c, List<TableRef> tables) throws SQLException {
        List<String> out = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement("SELECT table_name, range_start, range_end, error, sqlstate, "
                + "(SELECT count(*) FROM tsmigrate.backfill_attempt a WHERE a.range_id = r.id) "
                + "FROM tsmigrate.backfill_range r WHERE state = 'failed' AND table_name = ANY (?) ORDER BY table_name, seq")) {
            ps.setArray(1, c.createArrayOf("text", tables.stream().map(TableRef::toString).toArray()));
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(rs.getString(1) + " [" + rs.getString(2) + ", " + rs.getString(3) + "): " + rs.getString(4)
                            + (rs.getString(5) == null ? "" : " (SQLSTATE " + rs.getString(5) + ")") + " after "
                            + rs.getLong(6) + " attempt(s)");
                }
            }
        }
        return out;
    }

    /** The plan's tables whose backfill is not complete, each with its ranges done of all ("x (3/7 ranges done)"). */
    public static List<String> incomplete(Connection c, List<TableRef> tables) throws SQLException {
        List<String> missing = new ArrayList<>();
        for (TableRef table : tables) {
            try (PreparedStatement ps = c.prepareStatement("SELECT count(*), count(*) FILTER (WHERE state = 'done') "
                    + "FROM tsmigrate.backfill_range WHERE table_name = ?")) {
                ps.setString(1, table.toString());
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    if (rs.getLong(1) == 0 || rs.getLong(2) < rs.getLong(1)) {
                        missing.add(table + " (" + rs.getLong(2) + "/" + rs.getLong(1) + " ranges done)");
                    }
                }
            }
        }
        return missing;
    }

    /** The ranges stored for a table, in order. */
    public static List<TimeRange> stored(Connection c, TableRef table, TimeType type) throws SQLException {
        List<TimeRange> out = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement("SELECT range_start, range_end FROM tsmigrate.backfill_range "
                + "WHERE table_name = ? ORDER BY seq")) {
            ps.setString(1, table.toString());
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(TimeRange.of(type, rs.getString(1), rs.getString(2)));
                }
            }
        }
        return out;
    }

    /**
     * After a repair copied {@code range} again in the caller's transaction: the stored range with
     * the same bounds, if any, is done with those rows. Bounds are compared as values of the
     * column's type, not as text (ranges stored by earlier versions spell them differently).
     */
    public static void markRecopied(Connection c, TableRef table, TimeRange range, long rows) throws SQLException {
        String cast = "::" + range.type().sqlName();
        try (PreparedStatement ps = c.prepareStatement("UPDATE tsmigrate.backfill_range SET state = 'done', "
                + "rows = ?, finished_at = clock_timestamp(), error = NULL, sqlstate = NULL WHERE table_name = ? "
                + "AND range_start" + cast + " = ?" + cast + " AND range_end" + cast + " = ?" + cast)) {
            ps.setLong(1, rows);
            ps.setString(2, table.toString());
            ps.setString(3, range.startLiteral());
            ps.setString(4, range.endLiteral());
            ps.executeUpdate();
        }
    }

    /** The T a table's ranges were made up to. */
    public static Optional<TimePoint> until(Connection c, TableRef table) throws SQLException {
        return bounds(c, table).map(TableBounds::until);
    }

    private static TimeType type(String label) {
        return TimeType.ofLabel(label).orElseThrow(() -> new IllegalStateException("unknown time type in the state: " + label));
    }

    /**
     * A table's ranges summed for {@code status}: ranges in all, done and failed; rows done and
     * estimated rows left; rows done and the earliest start of those done since {@code windowStart}
     * (for a recent rate); the last error of a range not done; when a worker or a range was last heard of.
     */
    public record Progress(String table, TimePoint until, int ranges, int done, int failed, long rowsDone, long rowsLeft,
                           long recentRows, Optional<java.time.Instant> recentStart, Optional<String> lastError,
                           Optional<java.time.Instant> lastHeartbeat, Optional<java.time.Instant> lastFinished) {
    }

    public static List<Progress> progress(Connection c, java.time.Instant windowStart) throws SQLException {
        List<Progress> out = new ArrayList<>();
        String sql = "SELECT t.table_name, t.range_until, t.time_type, count(r.id), count(r.id) FILTER (WHERE r.state = 'done'), "
                + "count(r.id) FILTER (WHERE r.state = 'failed'), coalesce(sum(r.rows) FILTER (WHERE r.state = 'done'), 0), "
                + "coalesce(sum(r.estimated_rows) FILTER (WHERE r.state <> 'done'), 0), "
                + "coalesce(sum(r.rows) FILTER (WHERE r.state = 'done' AND r.finished_at > ?), 0), "
                + "min(r.started_at) FILTER (WHERE r.state = 'done' AND r.finished_at > ?), "
                + "(SELECT r2.error FROM tsmigrate.backfill_range r2 WHERE r2.table_name = t.table_name AND r2.error IS NOT NULL "
                + "AND r2.state <> 'done' ORDER BY r2.finished_at DESC NULLS LAST LIMIT 1), "
                + "(SELECT max(w.heartbeat) FROM tsmigrate.backfill_worker w WHERE w.table_name = t.table_name), "
                + "max(r.finished_at) "
                + "FROM tsmigrate.backfill_table t LEFT JOIN tsmigrate.backfill_range r ON r.table_name = t.table_name "
                + "GROUP BY t.table_name, t.range_until, t.time_type ORDER BY t.table_name";
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setTimestamp(1, java.sql.Timestamp.from(windowStart));
            ps.setTimestamp(2, java.sql.Timestamp.from(windowStart));
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(new Progress(rs.getString(1), TimePoint.of(type(rs.getString(3)), rs.getString(2)), rs.getInt(4),
                            rs.getInt(5), rs.getInt(6), rs.getLong(7), rs.getLong(8), rs.getLong(9), instant(rs.getTimestamp(10)),
                            Optional.ofNullable(rs.getString(11)), instant(rs.getTimestamp(12)), instant(rs.getTimestamp(13))));
                }
            }
        }
        return out;
    }

    /** A range that was copied: when it started and finished, and its rows (for the report's throughput). */
    public record Copied(String table, java.time.Instant started, java.time.Instant finished, long rows) {
    }

    /** Every range done, by table and start. */
    public static List<Copied> copied(Connection c) throws SQLException {
        List<Copied> out = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement("SELECT table_name, started_at, finished_at, rows FROM tsmigrate.backfill_range "
                + "WHERE state = 'done' AND started_at IS NOT NULL AND finished_at IS NOT NULL ORDER BY table_name, started_at");
             ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                out.add(new Copied(rs.getString(1), rs.getTimestamp(2).toInstant(), rs.getTimestamp(3).toInstant(), rs.getLong(4)));
            }
        }
        return out;
    }

    private static Optional<java.time.Instant> instant(java.sql.Timestamp t) {
        return Optional.ofNullable(t).map(java.sql.Timestamp::toInstant);
    }
}
