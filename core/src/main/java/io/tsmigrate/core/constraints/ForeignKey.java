package io.tsmigrate.core.constraints;

import io.tsmigrate.core.catalog.TableRef;
import io.tsmigrate.core.state.ConstraintRecords;

import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

/**
 * A foreign key on the target, as its catalog says: the table that holds it, the referenced table,
 * and the key columns of both, in order.
 *
 * @param exists false for a constraint recorded in the state but no longer on the target
 */
record ForeignKey(TableRef table, String name, List<String> columns, TableRef references, List<String> referencedColumns,
                  boolean exists) {

    private static final String COLUMNS = "SELECT n.nspname, c.relname, co.conname, rn.nspname, rc.relname, "
            + "ARRAY(SELECT a.attname FROM unnest(co.conkey) WITH ORDINALITY k(n, i) JOIN pg_attribute a ON a.attrelid = co.conrelid "
            + "AND a.attnum = k.n ORDER BY k.i), "
            + "ARRAY(SELECT a.attname FROM unnest(co.confkey) WITH ORDINALITY k(n, i) JOIN pg_attribute a ON a.attrelid = co.confrelid "
            + "AND a.attnum = k.n ORDER BY k.i) "
            + "FROM pg_constraint co JOIN pg_class c ON c.oid = co.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
            + "JOIN pg_class rc ON rc.oid = co.confrelid JOIN pg_namespace rn ON rn.oid = rc.relnamespace WHERE co.contype = 'f' ";

    /** The foreign keys {@code table} holds. */
    static List<ForeignKey> heldBy(Connection target, TableRef table) throws SQLException {
        try (PreparedStatement ps = target.prepareStatement(COLUMNS + "AND co.conrelid = to_regclass(?) ORDER BY co.conname")) {
            ps.setString(1, table.quoted());
            return read(ps);
        }
    }

    /** The foreign keys schema created NOT VALID and not yet validated (also those dropped since). */
    static List<ForeignKey> deferred(Connection target) throws SQLException {
        List<ForeignKey> out = new ArrayList<>();
        for (ConstraintRecords.Deferred d : ConstraintRecords.unvalidated(target)) {
            try (PreparedStatement one = target.prepareStatement(COLUMNS + "AND co.conrelid = to_regclass(?) AND co.conname = ?")) {
                one.setString(1, d.table().quoted());
                one.setString(2, d.constraint());
                List<ForeignKey> found = read(one);
                out.add(found.isEmpty() ? new ForeignKey(d.table(), d.constraint(), List.of(), d.references(), List.of(), false)
                        : found.get(0));
            }
        }
        return out;
    }

    private static List<ForeignKey> read(PreparedStatement ps) throws SQLException {
        List<ForeignKey> out = new ArrayList<>();
        try (ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                out.add(new ForeignKey(new TableRef(rs.getString(1), rs.getString(2)), rs.getString(3), names(rs.getArray(6)),
                        new TableRef(rs.getString(4), rs.getString(5)), names(rs.getArray(7)), true));
            }
        }
        return out;
    }

    private static List<String> names(Array array) throws SQLException {
        return List.of((String[]) array.getArray());
    }
}
