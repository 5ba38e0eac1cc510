package io.tsmigrate.proxy;

import io.tsmigrate.dualwrite.ComputedValues;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import javax.sql.DataSource;

/**
 * What the proxy asks a primary's catalog, on one connection of its own: the names of type OIDs
 * ({@code format_type}), looked up once each (a client names a parameter's type by the primary's
 * OID, and the secondary must be told the type by name: enums, domains and other user types have
 * other OIDs there); and the defaults an INSERT leaves each side to compute. Thread-safe; blocks.
 */
final class PrimaryCatalog implements ComputedValues.Catalog {

    private final DataSource server;
    private final Map<Integer, String> names = new ConcurrentHashMap<>();
    private Connection connection;

    PrimaryCatalog(DataSource server) {
        this.server = server;
    }

    String name(int oid) {
        return names.computeIfAbsent(oid, this::lookUp);
    }

    /** A type OID's name when it was looked up before; else throws {@link NotKnown}. Does not block. */
    String known(int oid) {
        String name = names.get(oid);
        if (name == null) {
            throw new NotKnown();
        }
        return name;
    }

    /** A name {@link #known} does not have yet: it must be looked up, where blocking is fine. */
    static final class NotKnown extends RuntimeException {
        NotKnown() {
            super(null, null, false, false);
        }
    }

    /** The columns an INSERT leaves to defaults each side computes for itself ({@link ComputedValues}). */
    @Override
    public synchronized java.util.List<String> defaults(String sql) {
        try {
            return ComputedValues.fromDefaults(connection(), sql);
        } catch (SQLException e) {
            connection = null;
            return java.util.List.of();
        }
    }

    /** The table a write writes, schema-qualified, or null ({@link ComputedValues#table}). */
    @Override
    public synchronized String table(String sql) {
        try {
            return ComputedValues.table(connection(), sql);
        } catch (SQLException e) {
            connection = null;
            return null;
        }
    }

    private Connection connection() throws SQLException {
        if (connection == null || connection.isClosed()) {
            connection = server.getConnection();
        }
        return connection;
    }

    private synchronized String lookUp(int oid) {
        try {
            Connection connection = connection();
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
