package io.tsmigrate.dualwrite;

import java.util.regex.Pattern;

/**
 * A query's shape: its SQL with literals replaced by {@code ?} and white space folded, so that the
 * same query with other values aggregates together ({@code SELECT * FROM t WHERE id = ?}).
 */
public final class QueryShape {

    private static final Pattern STRING = Pattern.compile("'(?:[^']|'')*'");
    private static final Pattern NUMBER = Pattern.compile("(?<![A-Za-z_$0-9])-?\\d+(?:\\.\\d+)?(?:[eE][-+]?\\d+)?(?![A-Za-z_$0-9])");
    private static final Pattern PARAMETER = Pattern.compile("\\$\\d+");
    private static final Pattern LIST = Pattern.compile("\\(\\s*\\?(?:\\s*,\\s*\\?)+\\s*\\)");
    private static final Pattern SPACE = Pattern.compile("\\s+");

    private QueryShape() {
    }

    /** The shape of one statement. */
    public static String of(String sql) {
        String s = sql.strip();
        s = STRING.matcher(s).replaceAll("?");
        s = NUMBER.matcher(s).replaceAll("?");
        s = PARAMETER.matcher(s).replaceAll("?");
        s = LIST.matcher(s).replaceAll("(?)");
        s = SPACE.matcher(s).replaceAll(" ");
        return s.length() > 500 ? s.substring(0, 500) : s;
    }
}
