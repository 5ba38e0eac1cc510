package io.tsmigrate.core.catalog;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;

/** Facts about a hypertable on the target, from TimescaleDB's information views. */
public final class Hypertables {

    private Hypertables() {
    }

    /** Whether the hypertable has compression settings (so it may have compressed chunks). */
    public static boolean compresses(Connection target, TableRef table) throws SQLException {
        try (PreparedStatement ps = target.prepareStatement("SELECT coalesce(bool_or(compression_enabled), false) "
                + "FROM timescaledb_information.hypertables WHERE hypertable_schema = ? AND hypertable_name = ?")) {
            ps.setString(1, table.schema());
            ps.setString(2, table.name());
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getBoolean(1);
            }
        }
    }
}
