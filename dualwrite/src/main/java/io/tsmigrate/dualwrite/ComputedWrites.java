package io.tsmigrate.dualwrite;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * The query shapes a writer found whose values each side computes for itself, waiting to be added to
 * {@code tsmigrate.computed_write} at the next background check, where status, compare-load and
 * verify read them. The table is tsmigrate's (its state schema makes it): a writer records into it
 * when it exists and never creates it, so an application role granted only what it needs is enough.
 * Thread-safe.
 */
final class ComputedWrites {

    /** One shape: the table it writes (schema-qualified, or null when not known) and what each side computes. */
    record Found(String shape, String table, String reason) {
    }

    /** Query shapes seen so far, with why each side computes their values ("" for none): each is examined once. */
    private final Map<String, String> seen = new ConcurrentHashMap<>();
    private final ConcurrentLinkedQueue<Found> pending = new ConcurrentLinkedQueue<>();
    /** Statement texts already examined (a prepared statement's comes back with every execution): no shape to compute again. */
    private final java.util.Set<String> examined = ConcurrentHashMap.newKeySet();

    /**
     * Examines a write once per query shape (up to 10,000 shapes): when each side computes some of its
     * values for itself, records the shape for the state and returns why, for a log line; else null.
     */
    String examine(String sql, ComputedValues.Catalog catalog) {
        if (examined.contains(sql)) {
            return null;
        }
        if (examined.size() < 10_000) {
            examined.add(sql);
        }
        String shape = QueryShape.of(sql);
        if (seen.containsKey(shape) || seen.size() > 10_000) {
            return null;
        }
        String reason = ComputedValues.reasons(sql, catalog);
        if (seen.putIfAbsent(shape, reason) != null || reason.isEmpty()) {
            return null;
        }
        pending.add(new Found(shape, catalog.table(sql), reason));
        return reason;
    }

    /**
     * Whether {@link #examine} would look nothing up for this statement: its text, or another of its
     * shape, was examined already (a statement with its values written in has a new text each time).
     */
    boolean examined(String sql) {
        return examined.contains(sql) || seen.containsKey(QueryShape.of(sql));
    }

    /** The shapes whose values each side computes for itself, with why. */
    Map<String, String> found() {
        Map<String, String> out = new TreeMap<>();
        seen.forEach((shape, reason) -> {
            if (!reason.isEmpty()) {
                out.put(shape, reason);
            }
        });
        return out;
    }

    /** The line a writer logs once for a shape it found. */
    static String warning(String who, String shape, String reason) {
        String s = shape.length() > 120 ? shape.substring(0, 117) + "..." : shape;
        return who + ": each side computes values of " + s + " for itself (" + reason + "): the two sides will differ there; "
                + "send the value from the application, or name the column under accept_differences in the plan (verify then "
                + "leaves it out; else it lists the rows)";
    }

    /** Adds what was found since the last flush; kept for the next one when the table does not exist (yet). */
    void flush(Connection target, String writer) throws SQLException {
        if (pending.isEmpty()) {
            return;
        }
        try (Statement st = target.createStatement();
             ResultSet rs = st.executeQuery("SELECT to_regclass('tsmigrate.computed_write') IS NOT NULL")) {
            if (!rs.next() || !rs.getBoolean(1)) {
                return;
            }
        }
        List<Found> batch = new ArrayList<>();
        for (Found f = pending.poll(); f != null; f = pending.poll()) {
            batch.add(f);
        }
        try (PreparedStatement ps = target.prepareStatement("INSERT INTO tsmigrate.computed_write (writer, shape, table_name, reason) "
                + "VALUES (?, ?, ?, ?) ON CONFLICT (writer, shape) DO NOTHING")) {
            for (Found f : batch) {
                ps.setString(1, writer);
                ps.setString(2, f.shape());
                ps.setString(3, f.table());
                ps.setString(4, f.reason());
                ps.addBatch();
            }
            ps.executeBatch();
        } catch (SQLException e) {
            pending.addAll(batch);
            throw e;
        }
    }
}
