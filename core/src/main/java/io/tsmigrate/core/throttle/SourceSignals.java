package io.tsmigrate.core.throttle;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Optional;

/**
 * One reading of the source's load: how long a trivial query takes, how many sessions of others
 * are running a statement, and how far its standbys are behind in replay (when it has any and
 * may see them).
 */
public record SourceSignals(double probeMillis, int activeSessions, Optional<Duration> replicaLag) {

    /**
     * Reads the signals on {@code source}, a connection of the throttle's own, with one probe: what
     * moves under load is the tail of the probe's latency, which the median of a few probes hides
     * (tried: the copy then ran at full speed under --max-load probe-latency=1.2x; an average of the
     * last checks' probes did little better).
     */
    public static SourceSignals read(Connection source) throws SQLException {
        double probe = probe(source);
        int active;
        // Others' sessions running a statement: not tsmigrate's own (its copy is what is being throttled).
        try (PreparedStatement ps = source.prepareStatement("SELECT count(*) FROM pg_stat_activity WHERE state = 'active' "
                + "AND backend_type = 'client backend' AND pid <> pg_backend_pid() AND application_name NOT LIKE 'tsmigrate%'");
             ResultSet rs = ps.executeQuery()) {
            rs.next();
            active = rs.getInt(1);
        }
        Optional<Duration> lag;
        try (PreparedStatement ps = source.prepareStatement("SELECT extract(epoch FROM max(replay_lag)) FROM pg_stat_replication");
             ResultSet rs = ps.executeQuery()) {
            rs.next();
            double seconds = rs.getDouble(1);
            lag = rs.wasNull() ? Optional.empty() : Optional.of(Duration.ofMillis((long) (seconds * 1000)));
        }
        return new SourceSignals(probe, active, lag);
    }

    /** How long a trivial query takes, in milliseconds. */
    static double probe(Connection source) throws SQLException {
        long start = System.nanoTime();
        try (PreparedStatement ps = source.prepareStatement("SELECT 1"); ResultSet rs = ps.executeQuery()) {
            rs.next();
        }
        return (System.nanoTime() - start) / 1e6;
    }

    /** Sleeps between probes; an interrupt ends the sleep and stays set for the caller. */
    static void pause(Duration d) {
        try {
            Thread.sleep(d.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
