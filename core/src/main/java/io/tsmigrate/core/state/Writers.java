package io.tsmigrate.core.state;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The dual-writers registered in {@code writer} (the library's {@code DualWriteDataSource}s and,
 * later, proxies): each writes its own row and keeps {@code last_seen} fresh; tsmigrate only reads.
 * The table exists once the first writer met the target.
 */
public final class Writers {

    /**
     * A registered writer, as it last reported itself: {@code stoppedAt} when it closed cleanly (a
     * killed one never says), {@code journalDir} where it keeps its journal, if it has one.
     */
    public record Writer(String name, String application, String host, Instant startedAt, Instant lastSeen, long journalPending,
                         String primarySide, Optional<Instant> switchedAt, Optional<Instant> stoppedAt, Optional<String> journalDir) {
    }

    private Writers() {
    }

    /** Every writer, by when it began dual-writing; none when no writer has created the table yet. */
    public static List<Writer> all(Connection target) throws SQLException {
        List<Writer> out = new ArrayList<>();
        if (!exists(target)) {
            return out;
        }
        // The columns of a clean stop read by name from the row, so that a table the library made before them reads too.
        try (PreparedStatement ps = target.prepareStatement("SELECT name, application, host, started_at, last_seen, journal_pending, "
                + "primary_side, switched_at, (to_jsonb(w) ->> 'stopped_at')::timestamptz, to_jsonb(w) ->> 'journal_dir' "
                + "FROM tsmigrate.writer w ORDER BY started_at, name"); ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                out.add(new Writer(rs.getString(1), rs.getString(2), rs.getString(3), rs.getTimestamp(4).toInstant(),
                        rs.getTimestamp(5).toInstant(), rs.getLong(6), rs.getString(7),
                        Optional.ofNullable(rs.getTimestamp(8)).map(Timestamp::toInstant),
                        Optional.ofNullable(rs.getTimestamp(9)).map(Timestamp::toInstant), Optional.ofNullable(rs.getString(10))));
            }
        }
        return out;
    }

    /**
     * The writers that dual-write as the role this connection is (the migration's own), by name;
     * empty when there are none, no state yet, or a state from before writers recorded their role.
     */
    public static java.util.Optional<String> asCurrentRole(Connection target) throws SQLException {
        try (java.sql.Statement st = target.createStatement(); java.sql.ResultSet rs = st.executeQuery(
                "SELECT to_regclass('tsmigrate.writer') IS NOT NULL AND EXISTS (SELECT FROM pg_attribute "
                        + "WHERE attrelid = to_regclass('tsmigrate.writer') AND attname = 'db_role')")) {
            rs.next();
            if (!rs.getBoolean(1)) {
                return java.util.Optional.empty();
            }
        }
        try (java.sql.Statement st = target.createStatement(); java.sql.ResultSet rs = st.executeQuery(
                "SELECT string_agg(name, ', ' ORDER BY name) FROM tsmigrate.writer WHERE db_role = current_user")) {
            rs.next();
            return java.util.Optional.ofNullable(rs.getString(1));
        }
    }

    /** Whether every writer seen in the last minute follows {@code side} as its primary. */
    public static boolean allFollow(Connection target, String side) throws SQLException {
        if (!exists(target)) {
            return true;
        }
        try (PreparedStatement ps = target.prepareStatement("SELECT count(*) FROM tsmigrate.writer WHERE primary_side <> ? "
                + "AND last_seen > now() - interval '1 minute'")) {
            ps.setString(1, side);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getLong(1) == 0;
            }
        }
    }

    private static boolean exists(Connection target) throws SQLException {
        return StateSchema.hasTable(target, "writer");
    }
}
