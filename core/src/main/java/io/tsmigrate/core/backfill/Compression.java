package io.tsmigrate.core.backfill;

import io.tsmigrate.core.connect.Transactions;
import io.tsmigrate.core.plan.Plan;
import io.tsmigrate.core.state.PausedJobs;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Runbook 6e, once a table's ranges are all done: re-enable exactly the compression policies that
 * tsmigrate paused for it (the runbook's {@code alter_job(id, scheduled => true)}), and with
 * {@code --compress} compress the chunks that policy would compress.
 */
final class Compression {

    private Compression() {
    }

    static List<String> finish(Connection target, Plan.Hypertable h, boolean compress) throws SQLException {
        List<String> notes = new ArrayList<>();
        List<Integer> jobs = PausedJobs.stillPaused(target, h.table().toString());
        for (int job : jobs) {
            Transactions.inTransaction(target, t -> {
                try (PreparedStatement resume = t.prepareStatement("SELECT alter_job(?, scheduled => true)")) {
                    resume.setInt(1, job);
                    resume.execute();
                }
                PausedJobs.markResumed(t, job);
                return null;
            });
            notes.add("resumed compression policy job " + job + " on " + h.table());
        }
        if (compress) {
            notes.addAll(compressChunks(target, h));
        }
        return notes;
    }

    /** Compresses the chunks older than the table's compression policy's {@code compress_after}. */
    private static List<String> compressChunks(Connection target, Plan.Hypertable h) throws SQLException {
        String after = null;
        try (PreparedStatement ps = target.prepareStatement("SELECT config->>'compress_after' FROM timescaledb_information.jobs "
                + "WHERE proc_name = 'policy_compression' AND hypertable_schema = ? AND hypertable_name = ? LIMIT 1")) {
            ps.setString(1, h.table().schema());
            ps.setString(2, h.table().name());
            try (ResultSet rs = ps.executeQuery()) {
                if (rs.next()) {
                    after = rs.getString(1);
                }
            }
        }
        if (after == null) {
            return List.of("not compressing " + h.table() + ": it has no compression policy to say which chunks are old enough");
        }
        String olderThan;
        if (h.chunkInterval().integer()) {
            // For integer time show_chunks takes an absolute value, while the policy's compress_after
            // counts back from the table's integer-now function: cut off at now() - after, in its units.
            Optional<String> now = integerNow(target, h);
            if (now.isEmpty()) {
                return List.of("not compressing " + h.table() + ": it has no integer-now function to say which chunks are old enough");
            }
            olderThan = "(" + now.get() + "() - " + Long.parseLong(after.strip()) + ")";
        } else {
            olderThan = "'" + after.replace("'", "''") + "'::interval";
        }
        int compressed = 0;
        try (PreparedStatement ps = target.prepareStatement("SELECT count(compress_chunk(c, if_not_compressed => true)) "
                + "FROM show_chunks(?::regclass, older_than => " + olderThan + ") c")) {
            ps.setString(1, h.table().quoted());
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                compressed = rs.getInt(1);
            }
        }
        return List.of("compressed " + compressed + " chunk(s) of " + h.table() + " older than " + after);
    }

    /** The integer-now function of an integer-time hypertable, quoted and schema-qualified. */
    private static Optional<String> integerNow(Connection target, Plan.Hypertable h) throws SQLException {
        // The information view names the function without its schema: read the catalog.
        try (PreparedStatement ps = target.prepareStatement("SELECT format('%I.%I', d.integer_now_func_schema, d.integer_now_func) "
                + "FROM _timescaledb_catalog.dimension d JOIN _timescaledb_catalog.hypertable t ON t.id = d.hypertable_id "
                + "WHERE t.schema_name = ? AND t.table_name = ? AND d.column_name = ? AND d.integer_now_func IS NOT NULL")) {
            ps.setString(1, h.table().schema());
            ps.setString(2, h.table().name());
            ps.setString(3, h.timeColumn());
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? Optional.of(rs.getString(1)) : Optional.empty();
            }
        }
    }
}
