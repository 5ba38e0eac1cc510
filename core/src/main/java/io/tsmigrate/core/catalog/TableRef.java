package io.tsmigrate.core.catalog;

import io.tsmigrate.core.TsmigrateException;

import java.util.Objects;

/**
 * A table's schema-qualified name. {@link #toString()} is the readable form ({@code public.metrics},
 * quoting only where needed); {@link #quoted()} is always safe to put in SQL.
 */
public record TableRef(String schema, String name) implements Comparable<TableRef> {

    public TableRef {
        Objects.requireNonNull(schema, "schema");
        Objects.requireNonNull(name, "name");
        if (schema.isEmpty() || name.isEmpty()) {
            throw new IllegalArgumentException("schema and name must not be empty: \"" + schema + "\".\"" + name + "\"");
        }
    }

    /** {@code "schema"."name"}, for SQL. */
    public String quoted() {
        return quote(schema) + "." + quote(name);
    }

    /** A SQL string literal of the quoted name, for {@code 'x'::regclass} arguments. */
    public String literal() {
        return "'" + quoted().replace("'", "''") + "'";
    }

    /**
     * Parses {@code schema.table}, {@code "My Schema"."My Table"} or a bare {@code table} (in
     * schema public), the way psql's \d does.
     */
    public static TableRef parse(String text) {
        String s = text.strip();
        java.util.List<String> parts = new java.util.ArrayList<>();
        StringBuilder current = new StringBuilder();
        boolean quoted = false;
        boolean wasQuoted = false;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (quoted) {
                if (c == '"') {
                    if (i + 1 < s.length() && s.charAt(i + 1) == '"') {
                        current.append('"');
                        i++;
                    } else {
                        quoted = false;
                    }
                } else {
                    current.append(c);
                }
            } else if (c == '"') {
                quoted = true;
                wasQuoted = true;
            } else if (c == '.') {
                parts.add(current.toString());
                current.setLength(0);
                wasQuoted = false;
            } else {
                current.append(wasQuoted ? c : Character.toLowerCase(c));
            }
        }
        if (quoted) {
            throw TsmigrateException.usage("table name " + text + " has an unterminated quote; write it as \"schema\".\"table\".");
        }
        parts.add(current.toString());
        if (parts.size() > 2 || parts.stream().anyMatch(String::isEmpty)) {
            throw TsmigrateException.usage("\"" + text + "\" is not a table name; write it as schema.table.");
        }
        return parts.size() == 1 ? new TableRef("public", parts.get(0)) : new TableRef(parts.get(0), parts.get(1));
    }

    /** Quotes an identifier when PostgreSQL would need it (always safe to call). */
    public static String quote(String identifier) {
        return "\"" + identifier.replace("\"", "\"\"") + "\"";
    }

    /** An identifier as psql shows it: bare when it is lower-case letters, digits and underscores. */
    public static String readable(String identifier) {
        return identifier.matches("[a-z_][a-z0-9_$]*") ? identifier : quote(identifier);
    }

    @Override
    public String toString() {
        return readable(schema) + "." + readable(name);
    }

    @Override
    public int compareTo(TableRef other) {
        int c = schema.compareTo(other.schema);
        return c != 0 ? c : name.compareTo(other.name);
    }
}
