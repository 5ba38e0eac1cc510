package io.tsmigrate.dualwrite;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
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

    private final ConcurrentLinkedQueue<Found> pending = new ConcurrentLinkedQueue<>();

    void found(String shape, String table, String reason) {
        pending.add(new Found(shape, table, reason));
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
