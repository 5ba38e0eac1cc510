package io.tsmigrate.proxy;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import javax.sql.DataSource;

/**
 * The names of one server's type OIDs ({@code format_type}), looked up once each: a client names a
 * parameter's type by the primary's OID, and the secondary must be told the type by name (enums,
 * domains and other user types have other OIDs there). Thread-safe; blocks on a lookup.
 */
final class TypeNames {

    private final DataSource server;
    private final Map<Integer, String> names = new ConcurrentHashMap<>();
    private Connection connection;

    TypeNames(DataSource server) {
        this.server = server;
    }

    String name(int oid) {
        return names.computeIfAbsent(oid, this::lookUp);
    }

    private synchronized String lookUp(int oid) {
        try {
            if (connection == null || connection.isClosed()) {
                connection = server.getConnection();
            }
            try (PreparedStatement ps = connection.prepareStatement("SELECT format_type(?::oid, NULL)")) {
                ps.setLong(1, oid & 0xFFFFFFFFL);
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    String name = rs.getString(1);
                    if (name == null || name.equals("???")) {
                        throw new IllegalArgumentException("type OID " + oid + " does not exist on the primary");
                    }
                    return name;
                }
            }
        } catch (SQLException e) {
            connection = null;
            throw new IllegalArgumentException("cannot look up type OID " + oid + " on the primary: " + e.getMessage(), e);
        }
    }

    synchronized void close() {
        if (connection != null) {
            try {
                connection.close();
            } catch (SQLException ignored) {
                // Closing on the way out.
            }
        }
    }
}
