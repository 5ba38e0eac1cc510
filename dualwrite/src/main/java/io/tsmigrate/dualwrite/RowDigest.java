package io.tsmigrate.dualwrite;

import java.sql.ResultSet;
import java.sql.SQLException;

/**
 * A digest of a query's result: the row count and two 64-bit hashes of the rows, one summed (order
 * does not matter) and one chained (for a query with ORDER BY, where order matters). Both are kept
 * so that the application's thread never has to parse the SQL to choose: the comparison, off that
 * thread, picks one. Values are hashed in their text form. Not thread-safe.
 */
final class RowDigest {

    private int columns = -1;
    private long rows;
    private long sum;
    private long chain;

    /** Adds the current row of {@code rs}. */
    void add(ResultSet rs) throws SQLException {
        if (columns < 0) {
            columns = rs.getMetaData().getColumnCount();
        }
        long h = 0xcbf29ce484222325L;
        for (int i = 1; i <= columns; i++) {
            h = hash(h, rs.getString(i));
        }
        add(h);
    }

    /** Adds a row given as its values' text forms (null for SQL NULL), as a server sends them in text format. */
    void add(String[] values) {
        long h = 0xcbf29ce484222325L;
        for (String v : values) {
            h = hash(h, v);
        }
        add(h);
    }

    private static long hash(long h, String v) {
        return fnv(v == null ? fnv(h, '\u0000') : fnv(h, v), '\u0001');
    }

    private void add(long h) {
        rows++;
        sum += h;
        chain = chain * 1_000_003L + h;
    }

    long rows() {
        return rows;
    }

    /** Whether both results hold the same rows: in the same order when {@code ordered}. */
    boolean sameAs(RowDigest other, boolean ordered) {
        return rows == other.rows && (ordered ? chain == other.chain : sum == other.sum);
    }

    @Override
    public String toString() {
        return rows + " rows, hash " + Long.toHexString(sum);
    }

    private static long fnv(long h, char c) {
        return (h ^ c) * 0x100000001b3L;
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
