package io.tsmigrate.dualwrite;

import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;

/**
 * A digest of a query's result: the row count and a 64-bit hash of the rows, summed (order does not
 * matter) or chained (the query has ORDER BY, so order matters). Values are hashed in their text
 * form. Not thread-safe.
 */
final class RowDigest {

    private final boolean ordered;
    private long rows;
    private long hash;

    RowDigest(boolean ordered) {
        this.ordered = ordered;
    }

    /** Adds the current row of {@code rs}. */
    void add(ResultSet rs) throws SQLException {
        ResultSetMetaData meta = rs.getMetaData();
        long h = 0xcbf29ce484222325L;
        for (int i = 1; i <= meta.getColumnCount(); i++) {
            String v = rs.getString(i);
            h = fnv(h, v == null ? "\u0000null" : v);
            h = fnv(h, "\u0001");
        }
        rows++;
        hash = ordered ? hash * 1_000_003L + h : hash + h;
    }

    long rows() {
        return rows;
    }

    boolean sameAs(RowDigest other) {
        return rows == other.rows && hash == other.hash;
    }

    @Override
    public String toString() {
        return rows + " rows, hash " + Long.toHexString(hash);
    }

    private static long fnv(long h, String s) {
        for (int i = 0; i < s.length(); i++) {
            h ^= s.charAt(i);
            h *= 0x100000001b3L;
        }
        return h;
    }

    /** Whether a query's rows come in a defined order (ORDER BY outside parentheses at the end). */
    static boolean ordered(String sql) {
        return sql.toUpperCase(java.util.Locale.ROOT).replaceAll("'[^']*'", "''").matches("(?s).*\\bORDER\\s+BY\\b[^()]*$");
    }
}
