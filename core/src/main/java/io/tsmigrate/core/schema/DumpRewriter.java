package io.tsmigrate.core.schema;

import io.tsmigrate.core.catalog.TableRef;
import io.tsmigrate.core.schema.SqlTokens.Token;
import io.tsmigrate.core.state.ConstraintRecords;

import java.io.IOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Streams a plain-format pg_dump to psql, changing only what the target needs changed: a
 * partitioned table that becomes a hypertable is created as a plain table (its
 * {@code PARTITION BY} clause cut; its partitions are left out of the dump), and
 * {@code SET transaction_timeout}, which only PostgreSQL 17 knows, is dropped for older targets;
 * a foreign key into a table whose rows arrive later (with the backfill) is created {@code NOT
 * VALID}, since the rows it references are not there yet, and recorded so that {@code tsmigrate
 * constraints} validates it once they are. Everything else, COPY data included, passes through
 * byte for byte.
 */
final class DumpRewriter implements SqlScanner.Sink {

    private final Writer out;
    private final Set<TableRef> unpartition;
    private final Set<TableRef> rowsLater;
    private final int targetMajor;
    private final List<String> changes = new ArrayList<>();
    private final List<ConstraintRecords.Deferred> deferred = new ArrayList<>();

    /**
     * @param out          psql's input; the caller closes it
     * @param unpartition  partitioned tables to create as plain tables
     * @param rowsLater    tables whose rows the dump leaves out (the backfill brings them)
     */
    DumpRewriter(Writer out, Set<TableRef> unpartition, Set<TableRef> rowsLater, int targetMajor) {
        this.out = out;
        this.unpartition = unpartition;
        this.rowsLater = rowsLater;
        this.targetMajor = targetMajor;
    }

    /** What was changed, one line each. */
    List<String> changes() {
        return List.copyOf(changes);
    }

    /** The foreign keys created NOT VALID so far. */
    List<ConstraintRecords.Deferred> deferred() {
        return List.copyOf(deferred);
    }

    @Override
    public void statement(String text) throws IOException {
        out.write(rewrite(text));
    }

    @Override
    public void metaCommand(String line) throws IOException {
        out.write(line);
    }

    @Override
    public void copyData(String line) throws IOException {
        out.write(line);
    }

    String rewrite(String text) {
        List<Token> tokens = SqlTokens.tokenize(text);
        if (tokens.isEmpty()) {
            return text;
        }
        if (targetMajor < 17 && SqlTokens.startsWith(tokens, "SET", "TRANSACTION_TIMEOUT")) {
            changes.add("dropped SET transaction_timeout (PostgreSQL " + targetMajor + " does not know it)");
            return "";
        }
        if (!rowsLater.isEmpty() && SqlTokens.startsWith(tokens, "ALTER", "TABLE")) {
            String notValid = foreignKeyIntoLaterRows(text, tokens);
            if (notValid != null) {
                return notValid;
            }
        }
        if (!unpartition.isEmpty() && SqlTokens.startsWith(tokens, "CREATE", "TABLE")) {
            TableRef table = tableName(tokens, 2);
            if (table != null && unpartition.contains(table)) {
                int depth = 0;
                for (int i = 2; i + 1 < tokens.size(); i++) {
                    Token t = tokens.get(i);
                    if (t.value().equals("(")) {
                        depth++;
                    } else if (t.value().equals(")")) {
                        depth--;
                    } else if (depth == 0 && t.isWord("PARTITION") && tokens.get(i + 1).isWord("BY")) {
                        int end = text.lastIndexOf(';');
                        changes.add("created " + table + " as a plain table, without its PARTITION BY clause");
                        return text.substring(0, t.start()).stripTrailing() + text.substring(end);
                    }
                }
            }
        }
        return text;
    }

    /**
     * {@code ALTER TABLE [ONLY] t ADD CONSTRAINT c FOREIGN KEY (...) REFERENCES r (...)} with {@code r}
     * a table whose rows arrive later: the same statement with NOT VALID, else null.
     */
    private String foreignKeyIntoLaterRows(String text, List<Token> tokens) {
        int at = tokens.size() > 2 && tokens.get(2).isWord("ONLY") ? 3 : 2;
        TableRef table = tableName(tokens, at);
        int add = at + 3;
        if (table == null || add + 4 >= tokens.size() || !tokens.get(add).isWord("ADD") || !tokens.get(add + 1).isWord("CONSTRAINT")
                || !tokens.get(add + 3).isWord("FOREIGN")) {
            return null;
        }
        String constraint = utf8(tokens.get(add + 2).name());
        for (int i = add + 4; i + 1 < tokens.size(); i++) {
            if (tokens.get(i).isWord("NOT") && tokens.get(i + 1).isWord("VALID")) {
                return null; // NOT VALID on the source too: it stays as the source has it
            }
        }
        for (int i = add + 4; i < tokens.size(); i++) {
            if (tokens.get(i).isWord("REFERENCES")) {
                TableRef references = tableName(tokens, i + 1);
                if (references == null || !rowsLater.contains(references) || unpartition.contains(table)) {
                    return null; // a partitioned table cannot hold a NOT VALID foreign key; its own rows arrive later anyway
                }
                int end = text.lastIndexOf(';');
                deferred.add(new ConstraintRecords.Deferred(table, constraint, references));
                changes.add("created foreign key " + constraint + " of " + table + " NOT VALID: the rows of " + references
                        + " it references arrive with the backfill (tsmigrate constraints validates it then)");
                return text.substring(0, end).stripTrailing() + " NOT VALID" + text.substring(end);
            }
        }
        return null;
    }

    /**
     * The table named at {@code tokens[at]} ({@code "schema"."name"}); null if not a qualified name.
     * The dump is read byte for byte as ISO-8859-1 so that COPY data passes unchanged whatever the
     * database's encoding; names are decoded back from UTF-8 to compare with the catalog's.
     */
    static TableRef tableName(List<Token> tokens, int at) {
        if (at + 2 < tokens.size() && tokens.get(at + 1).value().equals(".")) {
            return new TableRef(utf8(tokens.get(at).name()), utf8(tokens.get(at + 2).name()));
        }
        return null;
    }

    private static String utf8(String latin1) {
        return new String(latin1.getBytes(StandardCharsets.ISO_8859_1), StandardCharsets.UTF_8);
    }
}
