package io.tsmigrate.core.constraints;

import io.tsmigrate.core.catalog.TableRef;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

/**
 * The materialized views whose contents depend on hypertables, directly or through views and other
 * materialized views: pg_dump filled them when the hypertables were still empty.
 */
final class MaterializedViews {

    private MaterializedViews() {
    }

    /** In an order that refreshes a materialized view only after those it reads. */
    static List<TableRef> over(Connection target, List<TableRef> hypertables) throws SQLException {
        if (hypertables.isEmpty()) {
            return List.of();
        }
        // A view's or materialized view's query is a rewrite rule that depends on what it reads.
        String sql = "WITH RECURSIVE reads (relid, depth) AS ("
                + " SELECT r.ev_class, 1 FROM pg_depend d JOIN pg_rewrite r ON r.oid = d.objid"
                + " WHERE d.classid = 'pg_rewrite'::regclass AND d.refobjid = ANY (?::regclass[]) AND r.ev_class <> d.refobjid"
                + " UNION"
                + " SELECT r.ev_class, reads.depth + 1 FROM reads JOIN pg_depend d ON d.refobjid = reads.relid"
                + " JOIN pg_rewrite r ON r.oid = d.objid WHERE d.classid = 'pg_rewrite'::regclass AND r.ev_class <> d.refobjid"
                + " AND reads.depth < 32)"
                + " SELECT n.nspname, c.relname FROM reads JOIN pg_class c ON c.oid = reads.relid"
                + " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'm' GROUP BY 1, 2 ORDER BY max(reads.depth), 1, 2";
        List<TableRef> out = new ArrayList<>();
        try (PreparedStatement ps = target.prepareStatement(sql)) {
            ps.setArray(1, target.createArrayOf("text", hypertables.stream().map(TableRef::quoted).toArray()));
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(new TableRef(rs.getString(1), rs.getString(2)));
                }
            }
        }
        return out;
    }
}
