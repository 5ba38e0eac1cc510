package io.tsmigrate.core.state;

import io.tsmigrate.core.catalog.TableRef;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

/**
 * The state of constraints across the migration: foreign keys the schema step created NOT VALID
 * ({@code tsmigrate.deferred_constraint}, validated by the constraints step) and every check the
 * constraints step made ({@code tsmigrate.constraint_check}); constraints the schema step dropped
 * ({@code tsmigrate.dropped_constraint}).
 */
public final class ConstraintRecords {

    /** A foreign key created NOT VALID because the rows it references arrive with the backfill. */
    public record Deferred(TableRef table, String constraint, TableRef references) {
    }

    private ConstraintRecords() {
    }

    /**
     * The statement that records a deferred foreign key, as SQL text for the schema step's psql
     * session: it runs in the same transaction as the dump that creates the key.
     */
    public static String recordDeferredSql(Deferred d) {
        return "INSERT INTO tsmigrate.deferred_constraint (table_name, constraint_name, references_table) VALUES ("
                + literal(d.table().toString()) + ", " + literal(d.constraint()) + ", " + literal(d.references().toString())
                + ") ON CONFLICT (table_name, constraint_name) DO UPDATE SET validated_at = NULL";
    }

    /**
     * Records a constraint the schema step dropped (a foreign key between hypertables, a key that
     * would gain the time column), in the caller's transaction, so the user can enforce it elsewhere.
     */
    public static void recordDropped(Connection c, TableRef table, String constraint, String definition, String reason)
            throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO tsmigrate.dropped_constraint "
                + "(table_name, constraint_name, definition, reason) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING")) {
            ps.setString(1, table.toString());
            ps.setString(2, constraint);
            ps.setString(3, definition);
            ps.setString(4, reason);
            ps.executeUpdate();
        }
    }

    /** The deferred foreign keys not yet validated, in order. */
    public static List<Deferred> unvalidated(Connection target) throws SQLException {
        List<Deferred> out = new ArrayList<>();
        try (PreparedStatement ps = target.prepareStatement("SELECT table_name, constraint_name, references_table "
                + "FROM tsmigrate.deferred_constraint WHERE validated_at IS NULL ORDER BY 1, 2");
             ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                out.add(new Deferred(TableRef.parse(rs.getString(1)), rs.getString(2), TableRef.parse(rs.getString(3))));
            }
        }
        return out;
    }

    public static void markValidated(Connection target, TableRef table, String constraint) throws SQLException {
        try (PreparedStatement ps = target.prepareStatement("UPDATE tsmigrate.deferred_constraint SET validated_at = now() "
                + "WHERE table_name = ? AND constraint_name = ?")) {
            ps.setString(1, table.toString());
            ps.setString(2, constraint);
            ps.executeUpdate();
        }
    }

    /** Records one check of the constraints step. */
    public static void recordCheck(Connection target, TableRef table, String name, String kind, String outcome, long offending,
                                   String detail) throws SQLException {
        try (PreparedStatement ps = target.prepareStatement("INSERT INTO tsmigrate.constraint_check (table_name, name, kind, outcome, "
                + "offending, detail) VALUES (?, ?, ?, ?, ?, ?)")) {
            ps.setString(1, table.toString());
            ps.setString(2, name);
            ps.setString(3, kind);
            ps.setString(4, outcome);
            ps.setLong(5, offending);
            ps.setString(6, detail);
            ps.executeUpdate();
        }
    }

    private static String literal(String text) {
        return "'" + text.replace("'", "''") + "'";
    }
}
