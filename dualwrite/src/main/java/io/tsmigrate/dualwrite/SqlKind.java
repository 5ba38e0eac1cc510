package io.tsmigrate.dualwrite;

import java.util.List;
import java.util.Locale;

/**
 * Decides whether a statement writes, and so must also run on the secondary. The rule:
 * <ul>
 *   <li>reads: {@code SELECT} (also {@code SELECT ... FOR UPDATE}: a lock is not data, and
 *       {@code SELECT nextval(...)} or a {@code SELECT} of a function with side effects: they run on
 *       the primary only), {@code VALUES}, {@code TABLE}, {@code SHOW}, {@code EXPLAIN},
 *       {@code FETCH}, {@code COPY ... TO}, and maintenance ({@code VACUUM}, {@code ANALYZE});</li>
 *   <li>writes: everything else ({@code INSERT}, {@code UPDATE}, {@code DELETE}, {@code MERGE},
 *       {@code COPY ... FROM}, DDL, {@code CALL}, {@code DO}, {@code SET}, and a {@code WITH} whose
 *       body modifies data). Unknown statements count as writes: mirroring too much is safe,
 *       mirroring too little loses data;</li>
 *   <li>a comment {@code /* tsmigrate:write *}{@code /} or {@code /* tsmigrate:read *}{@code /} at
 *       the start overrides the rule (for example to mirror {@code SELECT my_side_effect()}).</li>
 * </ul>
 */
public enum SqlKind {
    READ, WRITE;

    /** The kind of a statement; a simple-protocol string of several writes when any of them does ({@link Statements}). */
    public static SqlKind of(String sql) {
        if (sql.indexOf(';') >= 0) {
            List<String> statements = Statements.split(sql);
            if (statements.size() > 1) {
                return statements.stream().anyMatch(s -> ofOne(s) == WRITE) ? WRITE : READ;
            }
        }
        return ofOne(sql);
    }

    private static SqlKind ofOne(String sql) {
        String s = sql.strip();
        if (s.startsWith("/*")) {
            int end = s.indexOf("*/");
            String hint = end > 0 ? s.substring(2, end).strip().toLowerCase(Locale.ROOT) : "";
            if (hint.equals("tsmigrate:write")) {
                return WRITE;
            }
            if (hint.equals("tsmigrate:read")) {
                return READ;
            }
        }
        String text = stripComments(s).toUpperCase(Locale.ROOT);
        String first = firstWord(text);
        switch (first) {
            case "SELECT", "VALUES", "TABLE", "SHOW", "EXPLAIN", "FETCH", "VACUUM", "ANALYZE", "LISTEN", "UNLISTEN",
                 "CHECKPOINT", "DECLARE", "CLOSE", "MOVE", "DEALLOCATE", "DISCARD", "LOCK" -> {
                return READ;
            }
            case "COPY" -> {
                return text.matches("(?s).*\\bFROM\\s+(STDIN|')?.*") && !text.matches("(?s).*\\bTO\\s+(STDOUT|')?.*") ? WRITE : READ;
            }
            case "WITH" -> {
                return text.matches("(?s).*\\b(INSERT|UPDATE|DELETE|MERGE)\\b.*") ? WRITE : READ;
            }
            default -> {
                return WRITE;
            }
        }
    }

    /**
     * Whether a write changes rows and can run inside a transaction block: {@code INSERT},
     * {@code UPDATE}, {@code DELETE}, {@code MERGE}, {@code COPY} and {@code WITH}. The lossless
     * mode wraps such an auto-commit write in a transaction of its own; other writes (DDL, which may
     * refuse a transaction block, {@code SET}, {@code CALL}) run as the application sent them.
     */
    public static boolean transactional(String sql) {
        String first = firstWord(stripComments(sql.strip()).toUpperCase(Locale.ROOT));
        return switch (first) {
            case "INSERT", "UPDATE", "DELETE", "MERGE", "COPY", "WITH" -> true;
            default -> false;
        };
    }

    private static String firstWord(String text) {
        int i = 0;
        while (i < text.length() && (text.charAt(i) == '(' || Character.isWhitespace(text.charAt(i)))) {
            i++;
        }
        int start = i;
        while (i < text.length() && Character.isLetter(text.charAt(i))) {
            i++;
        }
        return text.substring(start, i);
    }

    private static String stripComments(String sql) {
        StringBuilder out = new StringBuilder();
        int i = 0;
        while (i < sql.length()) {
            if (sql.startsWith("--", i)) {
                int nl = sql.indexOf('\n', i);
                i = nl < 0 ? sql.length() : nl;
            } else if (sql.startsWith("/*", i)) {
                int end = sql.indexOf("*/", i + 2);
                i = end < 0 ? sql.length() : end + 2;
                out.append(' ');
            } else if (sql.charAt(i) == '\'') {
                int end = i + 1;
                while (end < sql.length() && !(sql.charAt(end) == '\'' && (end + 1 >= sql.length() || sql.charAt(end + 1) != '\''))) {
                    end += sql.charAt(end) == '\'' ? 2 : 1;
                }
                out.append("''");
                i = Math.min(sql.length(), end + 1);
            } else {
                out.append(sql.charAt(i++));
            }
        }
        return out.toString();
    }
}
