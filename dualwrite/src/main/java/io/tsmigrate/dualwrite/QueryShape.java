package io.tsmigrate.dualwrite;

/**
 * A query's shape: its SQL with literals replaced by {@code ?} and white space folded, so that the
 * same query with other values aggregates together ({@code SELECT * FROM t WHERE id = ?}).
 */
public final class QueryShape {

    private QueryShape() {
    }

    /** The shape of one statement. */
    public static String of(String sql) {
        String s = sql.strip();
        s = s.replaceAll("'(?:[^']|'')*'", "?");
        s = s.replaceAll("(?<![A-Za-z_$0-9])-?\\d+(?:\\.\\d+)?(?:[eE][-+]?\\d+)?(?![A-Za-z_$0-9])", "?");
        s = s.replaceAll("\\$\\d+", "?");
        s = s.replaceAll("\\(\\s*\\?(?:\\s*,\\s*\\?)+\\s*\\)", "(?)");
        s = s.replaceAll("\\s+", " ");
        return s.length() > 500 ? s.substring(0, 500) : s;
    }
}
