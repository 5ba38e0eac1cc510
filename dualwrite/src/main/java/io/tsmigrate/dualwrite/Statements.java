package io.tsmigrate.dualwrite;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Splits a simple-protocol query string into its statements as the server runs them: a statement
 * ends at a semicolon outside quotes ({@code '...'}, {@code E'...'}, {@code "..."}), dollar-quoted
 * bodies, comments and parentheses, and outside the body of a {@code CREATE FUNCTION} or
 * {@code PROCEDURE} written {@code BEGIN ATOMIC ... END} (as psql counts it). A client may send
 * {@code SELECT ...; INSERT ...} or {@code BEGIN; ...; COMMIT} as one string: each statement is then
 * classified, and repeated, on its own.
 */
public final class Statements {

    private Statements() {
    }

    /**
     * The statements, in order, each stripped of surrounding white space and of its semicolon; pieces
     * that hold only white space and comments (which the server skips) are left out.
     */
    public static List<String> split(String sql) {
        if (sql.indexOf(';') < 0) {
            return isBlank(sql) ? List.of() : List.of(sql.strip());
        }
        List<String> out = new ArrayList<>();
        int n = sql.length();
        int start = 0;
        int parens = 0;
        int blocks = 0; // BEGIN ATOMIC (and CASE within it) ... END in a CREATE FUNCTION or PROCEDURE
        boolean create = false;
        boolean sawWord = false;
        int i = 0;
        while (i < n) {
            char c = sql.charAt(i);
            if (c == '-' && i + 1 < n && sql.charAt(i + 1) == '-') {
                int nl = sql.indexOf('\n', i);
                i = nl < 0 ? n : nl + 1;
            } else if (c == '/' && i + 1 < n && sql.charAt(i + 1) == '*') {
                int depth = 1;
                i += 2;
                while (i < n && depth > 0) {
                    if (sql.startsWith("/*", i)) {
                        depth++;
                        i += 2;
                    } else if (sql.startsWith("*/", i)) {
                        depth--;
                        i += 2;
                    } else {
                        i++;
                    }
                }
            } else if (c == '\'' || c == '"') {
                boolean escapes = c == '\'' && i > 0 && (sql.charAt(i - 1) == 'E' || sql.charAt(i - 1) == 'e')
                        && (i < 2 || !isWordChar(sql.charAt(i - 2)));
                i = quoted(sql, i, c, escapes);
                sawWord = true;
            } else if (c == '$' && dollarTagEnd(sql, i) > 0 && (i == 0 || !isWordChar(sql.charAt(i - 1)))) {
                int tagEnd = dollarTagEnd(sql, i);
                int close = sql.indexOf(sql.substring(i, tagEnd), tagEnd);
                i = close < 0 ? n : close + (tagEnd - i);
                sawWord = true;
            } else if (Character.isLetter(c) || c == '_') {
                int end = i;
                while (end < n && isWordChar(sql.charAt(end))) {
                    end++;
                }
                String word = sql.substring(i, end).toUpperCase(Locale.ROOT);
                if (!sawWord) {
                    create = word.equals("CREATE");
                } else if (create && word.equals("BEGIN") && nextWord(sql, end).equals("ATOMIC") || blocks > 0 && word.equals("CASE")) {
                    blocks++;
                } else if (blocks > 0 && word.equals("END")) {
                    blocks--;
                }
                sawWord = true;
                i = end;
            } else {
                if (c == '(') {
                    parens++;
                } else if (c == ')' && parens > 0) {
                    parens--;
                } else if (c == ';' && parens == 0 && blocks == 0) {
                    add(out, sql.substring(start, i));
                    start = i + 1;
                    create = false;
                    sawWord = false;
                } else if (!Character.isWhitespace(c)) {
                    sawWord = true;
                }
                i++;
            }
        }
        add(out, sql.substring(Math.min(start, n)));
        return out;
    }

    /** The word after white space from {@code i}, upper case ("" when none). */
    private static String nextWord(String sql, int i) {
        while (i < sql.length() && Character.isWhitespace(sql.charAt(i))) {
            i++;
        }
        int end = i;
        while (end < sql.length() && isWordChar(sql.charAt(end))) {
            end++;
        }
        return sql.substring(i, end).toUpperCase(Locale.ROOT);
    }

    private static void add(List<String> out, String piece) {
        if (!isBlank(piece)) {
            out.add(piece.strip());
        }
    }

    /** Whether a piece holds nothing but white space and comments. */
    private static boolean isBlank(String piece) {
        int i = 0;
        int n = piece.length();
        while (i < n) {
            char c = piece.charAt(i);
            if (Character.isWhitespace(c)) {
                i++;
            } else if (piece.startsWith("--", i)) {
                int nl = piece.indexOf('\n', i);
                i = nl < 0 ? n : nl + 1;
            } else if (piece.startsWith("/*", i)) {
                int end = piece.indexOf("*/", i + 2);
                i = end < 0 ? n : end + 2;
            } else {
                return false;
            }
        }
        return true;
    }

    /** The index after a quoted string or identifier that opens at {@code i}; a doubled quote stays inside. */
    private static int quoted(String sql, int i, char quote, boolean backslashEscapes) {
        int n = sql.length();
        i++;
        while (i < n) {
            char d = sql.charAt(i++);
            if (backslashEscapes && d == '\\' && i < n) {
                i++;
            } else if (d == quote) {
                if (i < n && sql.charAt(i) == quote) {
                    i++;
                } else {
                    return i;
                }
            }
        }
        return n;
    }

    /** The index after a dollar-quote tag ({@code $$} or {@code $tag$}) that starts at {@code i}, or -1. */
    private static int dollarTagEnd(String sql, int i) {
        int j = i + 1;
        while (j < sql.length() && (Character.isLetterOrDigit(sql.charAt(j)) || sql.charAt(j) == '_')) {
            if (j == i + 1 && Character.isDigit(sql.charAt(j))) {
                return -1; // $1: a parameter
            }
            j++;
        }
        return j < sql.length() && sql.charAt(j) == '$' ? j + 1 : -1;
    }

    private static boolean isWordChar(char c) {
        return Character.isLetterOrDigit(c) || c == '_' || c == '$';
    }
}
