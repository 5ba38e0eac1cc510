package io.tsmigrate.core.verify;

import io.tsmigrate.core.catalog.TableRef;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Compares every sequence's last value on both sides (one query per side, from
 * {@code pg_sequences}). A target sequence behind the source would, after cutover, hand out ids
 * that already exist.
 */
public final class Sequences {

    private Sequences() {
    }

    public static List<VerifyResult.SequenceVerdict> compare(Connection source, Connection target) throws SQLException {
        Map<TableRef, Long> sourceValues = values(source);
        Map<TableRef, Long> targetValues = values(target);
        List<VerifyResult.SequenceVerdict> out = new ArrayList<>();
        sourceValues.keySet().stream().sorted().forEach(seq -> {
            if (!targetValues.containsKey(seq)) {
                return;
            }
            Long s = sourceValues.get(seq);
            Long t = targetValues.get(seq);
            boolean behind = s != null && (t == null || t < s);
            out.add(new VerifyResult.SequenceVerdict(seq, s, t, behind));
        });
        return out;
    }

    /** Last value per sequence; null for a sequence never used. */
    static Map<TableRef, Long> values(Connection c) throws SQLException {
        Map<TableRef, Long> out = new HashMap<>();
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT schemaname, sequencename, last_value "
                + "FROM pg_sequences WHERE schemaname NOT IN ('tsmigrate', 'pg_catalog', 'information_schema') "
                + "AND schemaname NOT LIKE '\\_timescaledb%' AND schemaname NOT LIKE 'timescaledb%'")) {
            while (rs.next()) {
                long v = rs.getLong(3);
                out.put(new TableRef(rs.getString(1), rs.getString(2)), rs.wasNull() ? null : v);
            }
        }
        return out;
    }
}
