package io.tsmigrate.core.schema;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.Reader;
import java.util.Locale;

/**
 * Splits a SQL script the way psql does, as it streams: statements end at a semicolon outside
 * quotes, comments, dollar-quoted bodies and parentheses; a line starting with a backslash between
 * statements is a psql meta-command ({@code \restrict}, {@code \connect}); the data lines after a
 * {@code COPY ... FROM stdin;} statement up to the {@code \.} line are passed on untouched. Memory
 * is bounded by the longest statement, never by the COPY data. Not thread-safe.
 */
public final class SqlScanner {

    /** Receives the pieces of the script, in order; concatenated, they are the script. */
    public interface Sink {
        /** A statement with the whitespace and comments before it, ending with its semicolon. */
        void statement(String text) throws IOException;

        /** A psql meta-command line, with its newline. */
        void metaCommand(String line) throws IOException;

        /** One line of COPY data (the terminating {@code \.} line included), with its newline. */
        void copyData(String line) throws IOException;
    }

    private enum State { NORMAL, SINGLE, DOUBLE, DOLLAR, BLOCK }

    private final Sink sink;
    private final StringBuilder statement = new StringBuilder();
    private State state = State.NORMAL;
    private boolean escapeString;
    private String dollarTag;
    private int blockDepth;
    private int parenDepth;
    private boolean inCopy;

    public SqlScanner(Sink sink) {
        this.sink = sink;
    }

    /** Reads {@code input} to its end, feeding the sink; a last statement without semicolon is emitted too. */
    public void scan(Reader input) throws IOException {
        BufferedReader reader = input instanceof BufferedReader b ? b : new BufferedReader(input, 1 << 16);
        String line;
        while ((line = reader.readLine()) != null) {
            line(line);
        }
        if (statement.length() > 0) {
            sink.statement(statement.toString());
            statement.setLength(0);
        }
    }

    private void line(String line) throws IOException {
        if (inCopy) {
            sink.copyData(line + "\n");
            if (line.equals("\\.")) {
                inCopy = false;
            }
            return;
        }
        if (state == State.NORMAL && parenDepth == 0 && line.startsWith("\\") && onlyBlankOrComments()) {
            if (statement.length() > 0) {
                sink.statement(statement.toString());
                statement.setLength(0);
            }
            sink.metaCommand(line + "\n");
            return;
        }
        int i = 0;
        int n = line.length();
        while (i < n) {
            char c = line.charAt(i);
            switch (state) {
                case NORMAL -> {
                    if (c == '\'') {
                        escapeString = i > 0 && (line.charAt(i - 1) == 'E' || line.charAt(i - 1) == 'e')
                                && (i < 2 || !identifierChar(line.charAt(i - 2)));
                        state = State.SINGLE;
                    } else if (c == '"') {
                        state = State.DOUBLE;
                    } else if (c == '$' && (i == 0 || !identifierChar(line.charAt(i - 1)))) {
                        String tag = dollarTagAt(line, i);
                        if (tag != null) {
                            dollarTag = tag;
                            state = State.DOLLAR;
                            statement.append(tag);
                            i += tag.length();
                            continue;
                        }
                    } else if (c == '-' && i + 1 < n && line.charAt(i + 1) == '-') {
                        statement.append(line, i, n);
                        i = n;
                        continue;
                    } else if (c == '/' && i + 1 < n && line.charAt(i + 1) == '*') {
                        state = State.BLOCK;
                        blockDepth = 1;
                        statement.append("/*");
                        i += 2;
                        continue;
                    } else if (c == '(') {
                        parenDepth++;
                    } else if (c == ')') {
                        parenDepth = Math.max(0, parenDepth - 1);
                    } else if (c == ';' && parenDepth == 0) {
                        statement.append(';');
                        i++;
                        if (i == n || line.substring(i).isBlank()) {
                            statement.append(line, i, n).append('\n');
                            i = n;
                            endStatement();
                            return;
                        }
                        endStatement();
                        continue;
                    }
                }
                case SINGLE -> {
                    if (escapeString && c == '\\' && i + 1 < n) {
                        statement.append(c).append(line.charAt(i + 1));
                        i += 2;
                        continue;
                    }
                    if (c == '\'') {
                        if (i + 1 < n && line.charAt(i + 1) == '\'') {
                            statement.append("''");
                            i += 2;
                            continue;
                        }
                        state = State.NORMAL;
                    }
                }
                case DOUBLE -> {
                    if (c == '"') {
                        if (i + 1 < n && line.charAt(i + 1) == '"') {
                            statement.append("\"\"");
                            i += 2;
                            continue;
                        }
                        state = State.NORMAL;
                    }
                }
                case DOLLAR -> {
                    if (c == '$' && line.startsWith(dollarTag, i)) {
                        statement.append(dollarTag);
                        i += dollarTag.length();
                        state = State.NORMAL;
                        continue;
                    }
                }
                case BLOCK -> {
                    if (c == '/' && i + 1 < n && line.charAt(i + 1) == '*') {
                        blockDepth++;
                        statement.append("/*");
                        i += 2;
                        continue;
                    }
                    if (c == '*' && i + 1 < n && line.charAt(i + 1) == '/') {
                        blockDepth--;
                        statement.append("*/");
                        i += 2;
                        if (blockDepth == 0) {
                            state = State.NORMAL;
                        }
                        continue;
                    }
                }
                default -> throw new IllegalStateException(state.name());
            }
            statement.append(c);
            i++;
        }
        statement.append('\n');
    }

    private void endStatement() throws IOException {
        String text = statement.toString();
        statement.setLength(0);
        parenDepth = 0;
        sink.statement(text);
        if (isCopyFromStdin(text)) {
            inCopy = true;
        }
    }

    /** Whether {@code statement} is {@code COPY ... FROM stdin;}, whose data lines follow it. */
    static boolean isCopyFromStdin(String statement) {
        String s = SqlTokens.stripLeadingComments(statement).toUpperCase(Locale.ROOT);
        return s.startsWith("COPY ") && s.replaceAll("\\s+", " ").strip().endsWith("FROM STDIN;");
    }

    private boolean onlyBlankOrComments() {
        return SqlTokens.stripLeadingComments(statement.toString()).isEmpty();
    }

    private static String dollarTagAt(String line, int i) {
        int j = i + 1;
        if (j < line.length() && line.charAt(j) == '$') {
            return "$$";
        }
        if (j >= line.length() || !(Character.isLetter(line.charAt(j)) || line.charAt(j) == '_')) {
            return null;
        }
        while (j < line.length() && (Character.isLetterOrDigit(line.charAt(j)) || line.charAt(j) == '_')) {
            j++;
        }
        return j < line.length() && line.charAt(j) == '$' ? line.substring(i, j + 1) : null;
    }

    private static boolean identifierChar(char c) {
        return Character.isLetterOrDigit(c) || c == '_' || c == '$';
    }
}
