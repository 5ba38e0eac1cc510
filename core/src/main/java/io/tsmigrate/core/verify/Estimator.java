package io.tsmigrate.core.verify;

import io.tsmigrate.core.catalog.TableRef;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

/**
 * The runbook's fast check (step 7): {@code ANALYZE} both sides and compare {@code reltuples},
 * summed over a hypertable's chunks on the target and over a partitioned table's partitions on the
 * source. Reads no rows, so it cannot find a wrong value; and when chunks are compressed on one
 * side their {@code reltuples} are not comparable: those tables are counted exactly instead, and
 * the result says so.
 */
final class Estimator {

    /** Estimates this close are called equal: ANALYZE samples. */
    static final double TOLERANCE = 0.02;

    private Estimator() {
    }

    static VerifyResult.TableVerdict estimate(Connection source, Connection target, TableRef table, boolean hypertable)
            throws SQLException {
        analyze(source, table);
        analyze(target, table);
        long compressed = hypertable ? compressedChunks(target, table) : 0;
        String note;
        long s;
        long t;
        if (compressed > 0) {
            s = count(source, table);
            t = count(target, table);
            note = compressed + " chunk(s) are compressed on the target, whose reltuples do not count their rows: counted exactly instead";
        } else {
            s = reltuples(source, table, false);
            t = reltuples(target, table, hypertable);
            note = "estimated from reltuples after ANALYZE; cannot see a changed value";
        }
        boolean close = Math.abs(s - t) <= Math.max(1, TOLERANCE * Math.max(s, t));
        return new VerifyResult.TableVerdict(table, hypertable, "whole table (estimate)", 0, close ? 0 : 1, s, t,
                Math.max(0, s - t), Math.max(0, t - s), 0, close ? VerifyResult.Verdict.MATCH : VerifyResult.Verdict.DIFFERS,
                compressed > 0 ? "count(*)" : "reltuples", note, java.util.Optional.empty());
    }

    private static void analyze(Connection c, TableRef table) throws SQLException {
        try (Statement st = c.createStatement()) {
            st.execute("ANALYZE " + table.quoted());
        }
    }

    private static long reltuples(Connection c, TableRef table, boolean hypertable) throws SQLException {
        String sql = hypertable
                ? "SELECT coalesce(sum(greatest(c.reltuples, 0)), 0)::bigint FROM show_chunks(to_regclass(?)) ch "
                        + "JOIN pg_class c ON c.oid = ch"
                : "WITH leaves AS (SELECT relid FROM pg_partition_tree(to_regclass(?)) WHERE isleaf) "
                        + "SELECT coalesce(sum(greatest(c.reltuples, 0)), 0)::bigint FROM pg_class c WHERE c.oid IN "
                        + "(SELECT relid FROM leaves) OR (c.oid = to_regclass(?) AND NOT EXISTS (SELECT 1 FROM leaves))";
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setString(1, table.quoted());
            if (!hypertable) {
                ps.setString(2, table.quoted());
            }
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        }
    }

    private static long compressedChunks(Connection target, TableRef table) throws SQLException {
        try (PreparedStatement ps = target.prepareStatement("SELECT count(*) FROM timescaledb_information.chunks "
                + "WHERE hypertable_schema = ? AND hypertable_name = ? AND is_compressed")) {
            ps.setString(1, table.schema());
            ps.setString(2, table.name());
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        }
    }

    private static long count(Connection c, TableRef table) throws SQLException {
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT count(*) FROM " + table.quoted())) {
            rs.next();
            return rs.getLong(1);
        }
    }
}
