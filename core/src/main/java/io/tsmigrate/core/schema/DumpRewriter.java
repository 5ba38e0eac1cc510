package io.tsmigrate.core.schema;

import io.tsmigrate.core.catalog.TableRef;
import io.tsmigrate.core.schema.SqlTokens.Token;

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
 * {@code SET transaction_timeout}, which only PostgreSQL 17 knows, is dropped for older targets.
 * Everything else, COPY data included, passes through byte for byte.
 */
final class DumpRewriter implements SqlScanner.Sink {

    private final Writer out;
    private final Set<TableRef> unpartition;
    private final int targetMajor;
    private final List<String> changes = new ArrayList<>();

    /**
     * @param out          psql's input; the caller closes it
     * @param unpartition  partitioned tables to create as plain tables
     */
    DumpRewriter(Writer out, Set<TableRef> unpartition, int targetMajor) {
        this.out = out;
        this.unpartition = unpartition;
        this.targetMajor = targetMajor;
    }

    /** What was changed, one line each. */
    List<String> changes() {
        return List.copyOf(changes);
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
