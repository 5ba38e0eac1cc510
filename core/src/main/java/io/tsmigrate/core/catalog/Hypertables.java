package io.tsmigrate.core.catalog;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;

/** Facts about a hypertable on the target, from TimescaleDB's information views. */
public final class Hypertables {

    private Hypertables() {
    }

    /** Whether the table is a hypertable on the target. */
    public static boolean isHypertable(Connection target, TableRef table) throws SQLException {
        return fact(target, table, "count(*) > 0");
    }

    /** Whether the hypertable has compression settings (so it may have compressed chunks). */
    public static boolean compresses(Connection target, TableRef table) throws SQLException {
        return fact(target, table, "coalesce(bool_or(compression_enabled), false)");
    }

    /** One boolean of {@code timescaledb_information.hypertables} about the table. */
    private static boolean fact(Connection target, TableRef table, String expression) throws SQLException {
        try (PreparedStatement ps = target.prepareStatement("SELECT " + expression
                + " FROM timescaledb_information.hypertables WHERE hypertable_schema = ? AND hypertable_name = ?")) {
            ps.setString(1, table.schema());
            ps.setString(2, table.name());
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getBoolean(1);
            }
        }
    }
}
