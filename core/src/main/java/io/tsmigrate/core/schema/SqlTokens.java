package io.tsmigrate.core.schema;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The tokens of one SQL statement, with their positions in its text, so that a statement can be
 * understood (is it {@code ALTER ROLE "x" WITH ...}?) and edited (cut a clause) without regular
 * expressions over SQL: quoted identifiers with spaces, quotes or keywords, string literals and
 * comments are tokens like any other.
 */
final class SqlTokens {

    enum Kind { WORD, IDENTIFIER, STRING, NUMBER, SYMBOL }

    /**
     * A token: its kind, its text as written, and its value (a word in upper case, a quoted
     * identifier unquoted, anything else as written).
     */
    record Token(Kind kind, String text, String value, int start, int end) {
        boolean isWord(String word) {
            return kind == Kind.WORD && value.equals(word);
        }

        /** A role or object name: a quoted identifier as written, an unquoted one folded to lower case. */
        String name() {
            return kind == Kind.IDENTIFIER ? value : value.toLowerCase(Locale.ROOT);
        }
    }

    private SqlTokens() {
    }

    static List<Token> tokenize(String sql) {
        List<Token> out = new ArrayList<>();
        int i = 0;
        int n = sql.length();
        while (i < n) {
            char c = sql.charAt(i);
            if (Character.isWhitespace(c)) {
                i++;
            } else if (c == '-' && i + 1 < n && sql.charAt(i + 1) == '-') {
                while (i < n && sql.charAt(i) != '\n') {
                    i++;
                }
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
            } else if (c == '"') {
                int start = i++;
                StringBuilder value = new StringBuilder();
                while (i < n) {
                    char d = sql.charAt(i++);
                    if (d == '"') {
                        if (i < n && sql.charAt(i) == '"') {
                            value.append('"');
                            i++;
                        } else {
                            break;
                        }
                    } else {
                        value.append(d);
                    }
                }
                out.add(new Token(Kind.IDENTIFIER, sql.substring(start, i), value.toString(), start, i));
            } else if (c == '\'' || ((c == 'E' || c == 'e') && i + 1 < n && sql.charAt(i + 1) == '\'')) {
                int start = i;
                boolean escapes = c != '\'';
                i += escapes ? 2 : 1;
                while (i < n) {
                    char d = sql.charAt(i++);
                    if (escapes && d == '\\' && i < n) {
                        i++;
                    } else if (d == '\'') {
                        if (i < n && sql.charAt(i) == '\'') {
                            i++;
                        } else {
                            break;
                        }
                    }
                }
                out.add(new Token(Kind.STRING, sql.substring(start, i), sql.substring(start, i), start, i));
            } else if (c == '$' && dollarEnd(sql, i) > 0) {
                int tagEnd = dollarEnd(sql, i);
                String tag = sql.substring(i, tagEnd);
                int close = sql.indexOf(tag, tagEnd);
                int end = close < 0 ? n : close + tag.length();
                out.add(new Token(Kind.STRING, sql.substring(i, end), sql.substring(i, end), i, end));
                i = end;
            } else if (Character.isLetter(c) || c == '_') {
                int start = i;
                while (i < n && (Character.isLetterOrDigit(sql.charAt(i)) || sql.charAt(i) == '_' || sql.charAt(i) == '$')) {
                    i++;
                }
                String text = sql.substring(start, i);
                out.add(new Token(Kind.WORD, text, text.toUpperCase(Locale.ROOT), start, i));
            } else if (Character.isDigit(c)) {
                int start = i;
                while (i < n && (Character.isLetterOrDigit(sql.charAt(i)) || sql.charAt(i) == '.')) {
                    i++;
                }
                out.add(new Token(Kind.NUMBER, sql.substring(start, i), sql.substring(start, i), start, i));
            } else {
                out.add(new Token(Kind.SYMBOL, String.valueOf(c), String.valueOf(c), i, i + 1));
                i++;
            }
        }
        return out;
    }

    /** The text without leading whitespace and comments. */
    static String stripLeadingComments(String sql) {
        List<Token> tokens = tokenize(sql);
        return tokens.isEmpty() ? "" : sql.substring(tokens.get(0).start());
    }

    /** Whether the tokens start with these words, in order. */
    static boolean startsWith(List<Token> tokens, String... words) {
        if (tokens.size() < words.length) {
            return false;
        }
        for (int i = 0; i < words.length; i++) {
            if (!tokens.get(i).isWord(words[i])) {
                return false;
            }
        }
        return true;
    }

    private static int dollarEnd(String sql, int i) {
        int j = i + 1;
        if (j < sql.length() && sql.charAt(j) == '$') {
            return j + 1;
        }
        if (j >= sql.length() || !(Character.isLetter(sql.charAt(j)) || sql.charAt(j) == '_')) {
            return -1;
        }
        while (j < sql.length() && (Character.isLetterOrDigit(sql.charAt(j)) || sql.charAt(j) == '_')) {
            j++;
        }
        return j < sql.length() && sql.charAt(j) == '$' ? j + 1 : -1;
    }
}
