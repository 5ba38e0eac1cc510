package io.tsmigrate.core.plan;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.HashSet;
import java.util.Optional;
import java.util.Set;

/**
 * What the plan needs to know of the target, when one is given: TimescaleDB's version and license,
 * the extensions it can install, and its {@code shared_buffers} for sizing chunks.
 */
public record TargetProfile(Optional<String> timescaledbVersion, Optional<String> license,
                            Set<String> availableExtensions, long sharedBuffersBytes) {

    public static TargetProfile read(Connection connection) throws SQLException {
        try (Statement st = connection.createStatement()) {
            Optional<String> version;
            Optional<String> license;
            long sharedBuffers;
            try (ResultSet rs = st.executeQuery("SELECT coalesce((SELECT extversion FROM pg_extension "
                    + "WHERE extname = 'timescaledb'), (SELECT default_version FROM pg_available_extensions "
                    + "WHERE name = 'timescaledb')), current_setting('timescaledb.license', true), "
                    + "(SELECT setting::bigint * pg_size_bytes(coalesce(unit, '1')) FROM pg_settings "
                    + "WHERE name = 'shared_buffers')")) {
                rs.next();
                version = Optional.ofNullable(rs.getString(1));
                license = Optional.ofNullable(rs.getString(2)).filter(s -> !s.isEmpty());
                sharedBuffers = rs.getLong(3);
            }
            Set<String> available = new HashSet<>();
            try (ResultSet rs = st.executeQuery("SELECT name FROM pg_available_extensions")) {
                while (rs.next()) {
                    available.add(rs.getString(1));
                }
            }
            return new TargetProfile(version, license, Set.copyOf(available), sharedBuffers);
        }
    }

    /** Whether TimescaleDB on the target is at least {@code major.minor}; empty when unknown. */
    public Optional<Boolean> timescaledbAtLeast(int major, int minor) {
        return timescaledbVersion.map(v -> io.tsmigrate.core.Versions.atLeast(v, major, minor));
    }

    public boolean canCompress() {
        return license.map(l -> !l.equals("apache")).orElse(false);
    }
}
