package io.tsmigrate.core.backfill;

import io.tsmigrate.core.catalog.TableRef;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
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
final class RangeStore {

    /** The bounds a table's ranges were made for. */
    record TableBounds(String timeColumn, String timeType, String from, String until) {
    }

    private RangeStore() {
    }

    static Optional<TableBounds> bounds(Connection c, TableRef table) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT time_column, time_type, range_from, range_until "
                + "FROM tsmigrate.backfill_table WHERE table_name = ?")) {
            ps.setString(1, table.toString());
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? Optional.of(new TableBounds(rs.getString(1), rs.getString(2), rs.getString(3), rs.getString(4)))
                        : Optional.empty();
            }
        }
    }

    /** Serializes range making for one table across processes (advisory lock for the transaction). */
    static void lockTable(Connection c, TableRef table) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT pg_advisory_xact_lock(hashtext('tsmigrate.backfill'), hashtext(?))")) {
            ps.setString(1, table.toString());
            ps.execute();
        }
    }

    /** Records the table's bounds and appends ranges after its existing ones, in the caller's transaction. */
    static void append(Connection c, TableRef table, String timeColumn, String timeType, String from, String until,
                       List<String[]> ranges, List<Long> estimates) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO tsmigrate.backfill_table (table_name, time_column, time_type, "
                + "range_from, range_until) VALUES (?, ?, ?, ?, ?) ON CONFLICT (table_name) DO UPDATE SET range_until = EXCLUDED.range_until")) {
            ps.setString(1, table.toString());
            ps.setString(2, timeColumn);
            ps.setString(3, timeType);
            ps.setString(4, from);
            ps.setString(5, until);
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
                ps.setString(3, ranges.get(i)[0]);
                ps.setString(4, ranges.get(i)[1]);
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
    static Optional<BackfillRange> claim(Connection c, List<TableRef> tables, Set<Long> skip, java.time.Instant runStart)
            throws SQLException {
        // A range given up in this run has a failed attempt, committed before its claim was released:
        // skipping those keeps every worker of every process of this run from trying it again.
        try (PreparedStatement ps = c.prepareStatement("SELECT id, table_name, seq, range_start, range_end, estimated_rows "
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
                        rs.getString(4), rs.getString(5), rs.getLong(6)));
            }
        }
    }

    /** Ranges not done and not given up in this run: claimed by other workers right now. */
    static long inProgressElsewhere(Connection c, List<TableRef> tables, Set<Long> skip, java.time.Instant runStart)
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
    static void markDone(Connection c, BackfillRange range, long rows, long bytes, String worker) throws SQLException {
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
    static void markFailed(Connection side, BackfillRange range, String error, String sqlState, String worker) throws SQLException {
        try (PreparedStatement ps = side.prepareStatement("UPDATE tsmigrate.backfill_range SET state = 'failed', error = ?, "
                + "sqlstate = ?, worker = ?, finished_at = clock_timestamp() WHERE id = ? AND state <> 'done'")) {
            ps.setString(1, error);
            ps.setString(2, sqlState);
            ps.setString(3, worker);
            ps.setLong(4, range.id());
            ps.executeUpdate();
        }
    }

    static long startAttempt(Connection side, BackfillRange range, String worker) throws SQLException {
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

    static void finishAttempt(Connection side, long attempt, String outcome, long rows, String error, String sqlState)
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

    static void heartbeat(Connection side, String worker, Optional<BackfillRange> range, long rowsDone) throws SQLException {
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
    record Counts(TableRef table, int ranges, int done, int failed, long rows, long bytes, long estimatedRows) {
    }

    static List<Counts> counts(Connection c, List<TableRef> tables) throws SQLException {
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
    static List<String> failures(Connection c, List<TableRef> tables) throws SQLException {
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

    static void execute(Connection c, String sql) throws SQLException {
        try (Statement st = c.createStatement()) {
            st.execute(sql);
        }
    }
}
