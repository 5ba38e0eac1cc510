package io.tsmigrate.dualwrite;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Finds the values of a write that each database computes for itself, so that dual-writing stores
 * different values on the two sides without any error: volatile functions in the statement
 * ({@code now()}, {@code random()}, {@code nextval(...)}, {@code CURRENT_TIMESTAMP}, ...) and, for an
 * {@code INSERT}, the columns it leaves to a default of that kind (a {@code serial}, an identity, a
 * {@code DEFAULT now()}). The remedy is the same for all: send the value from the application, or
 * accept that the column differs.
 */
public final class ComputedValues {

    private static final Pattern VOLATILE = Pattern.compile("(?i)\\b(now|clock_timestamp|statement_timestamp|transaction_timestamp|"
            + "timeofday|random|nextval|gen_random_uuid|uuid_generate_v[14]|txid_current)\\s*\\(|\\b(current_timestamp|current_time|"
            + "current_date|localtimestamp|localtime)\\b");

    private static final Pattern INSERT = Pattern.compile("(?is)^\\s*(?:WITH\\b.*?\\)\\s*)?INSERT\\s+INTO\\s+((?:\"[^\"]+\"|[\\w$]+)"
            + "(?:\\s*\\.\\s*(?:\"[^\"]+\"|[\\w$]+))?)\\s*(?:AS\\s+\\w+\\s*)?(\\(([^)]*)\\))?");

    private ComputedValues() {
    }

    /** What the primary's catalog says of a write: the defaults an INSERT leaves to each side, the table written. */
    public interface Catalog {
        /** As {@link #fromDefaults}; empty when the catalog cannot be asked. */
        List<String> defaults(String sql);

        /** As {@link #table}; null when not known. */
        String table(String sql);
    }

    /**
     * The catalog of the primary behind {@code primary}, asked on that connection (answers nothing when
     * it fails). Inside the application's transaction a question runs under a savepoint, so that a
     * failed one never aborts the transaction.
     */
    public static Catalog on(Connection primary) {
        return new Catalog() {
            @Override
            public List<String> defaults(String sql) {
                List<String> out = ask(primary, c -> fromDefaults(c, sql));
                return out == null ? List.of() : out;
            }

            @Override
            public String table(String sql) {
                return ask(primary, c -> ComputedValues.table(c, sql));
            }
        };
    }

    private interface Question<T> {
        T ask(Connection c) throws SQLException;
    }

    private static <T> T ask(Connection primary, Question<T> question) {
        java.sql.Savepoint savepoint = null;
        try {
            if (!primary.getAutoCommit()) {
                savepoint = primary.setSavepoint();
            }
            T answer = question.ask(primary);
            if (savepoint != null) {
                primary.releaseSavepoint(savepoint);
            }
            return answer;
        } catch (SQLException e) {
            if (savepoint != null) {
                try {
                    primary.rollback(savepoint);
                } catch (SQLException ignored) {
                    // The application's next statement meets the connection's state as it is.
                }
            }
            return null;
        }
    }

    /** Why each side computes values of this write for itself ("now() in the statement; column id (...) left to its default"), or "". */
    public static String reasons(String sql, Catalog catalog) {
        List<String> reasons = new ArrayList<>();
        inStatement(sql).forEach(f -> reasons.add(f + " in the statement"));
        catalog.defaults(sql).forEach(c -> reasons.add("column " + c + " left to its default"));
        return String.join("; ", reasons);
    }

    /** The volatile functions the statement calls (outside string literals), as written, lower-cased; empty if none. */
    public static List<String> inStatement(String sql) {
        Set<String> found = new LinkedHashSet<>();
        Matcher m = VOLATILE.matcher(QueryShape.of(sql));
        while (m.find()) {
            found.add((m.group(1) != null ? m.group(1) + "()" : m.group(2)).toLowerCase(Locale.ROOT));
        }
        return List.copyOf(found);
    }

    /**
     * For an {@code INSERT} with a column list, the columns it omits whose default each side computes
     * for itself, as "column (default)", read from the catalog of {@code primary}; empty otherwise.
     */
    public static List<String> fromDefaults(Connection primary, String sql) throws SQLException {
        Matcher m = INSERT.matcher(sql);
        if (!m.find() || m.group(2) == null) {
            return List.of();
        }
        Set<String> given = new LinkedHashSet<>();
        for (String c : m.group(3).split(",")) {
            String name = c.strip();
            given.add(name.startsWith("\"") ? name.substring(1, name.length() - 1) : name.toLowerCase(Locale.ROOT));
        }
        List<String> out = new ArrayList<>();
        try (PreparedStatement ps = primary.prepareStatement("SELECT a.attname, coalesce(pg_get_expr(d.adbin, d.adrelid), "
                + "CASE WHEN a.attidentity <> '' THEN 'identity' END) FROM pg_attribute a LEFT JOIN pg_attrdef d "
                + "ON d.adrelid = a.attrelid AND d.adnum = a.attnum WHERE a.attrelid = to_regclass(?) AND a.attnum > 0 "
                + "AND NOT a.attisdropped AND (d.adbin IS NOT NULL OR a.attidentity <> '') ORDER BY a.attnum")) {
            ps.setString(1, m.group(1));
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    String column = rs.getString(1);
                    String expression = rs.getString(2);
                    if (!given.contains(column) && (expression.equals("identity") || VOLATILE.matcher(expression).find())) {
                        out.add(column + " (" + expression + ")");
                    }
                }
            }
        }
        return out;
    }

    private static final Pattern WRITTEN = Pattern.compile("(?is)^\\s*(?:WITH\\b.*?\\)\\s*)?(?:INSERT\\s+INTO|UPDATE(?:\\s+ONLY)?|MERGE\\s+INTO)"
            + "\\s+((?:\"[^\"]+\"|[\\w$]+)(?:\\s*\\.\\s*(?:\"[^\"]+\"|[\\w$]+))?)");

    /**
     * The table an INSERT, UPDATE or MERGE writes, as {@code schema.table} (the names as the catalog
     * of {@code primary} has them, unquoted), or null when the statement is none of those or the
     * table is not found.
     */
    public static String table(Connection primary, String sql) throws SQLException {
        Matcher m = WRITTEN.matcher(sql);
        if (!m.find()) {
            return null;
        }
        try (PreparedStatement ps = primary.prepareStatement("SELECT n.nspname || '.' || c.relname FROM pg_class c "
                + "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = to_regclass(?)")) {
            ps.setString(1, m.group(1));
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? rs.getString(1) : null;
            }
        }
    }
}
