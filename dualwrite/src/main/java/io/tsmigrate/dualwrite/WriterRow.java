package io.tsmigrate.dualwrite;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.Optional;

/**
 * This writer's row in {@code tsmigrate.writer} on the target, and what it reads of the migration
 * there: the registration {@code tsmigrate completion-point} relies on, the heartbeat with what the
 * writer owes, and the primary {@code tsmigrate cutover} asks for.
 */
final class WriterRow {

    /** What the migration asks of writers: the primary it wants (if it says) and whether the backfill is done. */
    record Wanted(Optional<String> primary, boolean backfillDone) {
    }

    private final String name;
    private final String application;
    private final String host;
    private final Instant began;

    WriterRow(String name, String application, String host, Instant began) {
        this.name = name;
        this.application = application;
        this.host = host;
        this.began = began;
    }

    void register(Connection c, String primarySide) throws SQLException {
        StateTables.ensure(c);
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO tsmigrate.writer (name, application, host, pid, started_at, "
                + "primary_side) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET last_seen = now()")) {
            ps.setString(1, name);
            ps.setString(2, application);
            ps.setString(3, host);
            ps.setLong(4, ProcessHandle.current().pid());
            ps.setTimestamp(5, Timestamp.from(began));
            ps.setString(6, primarySide);
            ps.executeUpdate();
        }
    }

    /** @param owed journal entries and unresolved intents this writer still owes a side */
    void heartbeat(Connection c, long owed) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("UPDATE tsmigrate.writer SET last_seen = now(), journal_pending = ? "
                + "WHERE name = ?")) {
            ps.setLong(1, owed);
            ps.setString(2, name);
            ps.executeUpdate();
        }
    }

    void switched(Connection c, String primarySide) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("UPDATE tsmigrate.writer SET primary_side = ?, switched_at = now() "
                + "WHERE name = ?")) {
            ps.setString(1, primarySide);
            ps.setString(2, name);
            ps.executeUpdate();
        }
    }

    /** Empty when the target holds no migration state yet. */
    static Optional<Wanted> wanted(Connection c) {
        try (Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT (SELECT value FROM tsmigrate.meta WHERE key = 'primary'), "
                     + "(SELECT count(*) > 0 AND bool_and(state = 'done') FROM tsmigrate.backfill_range)")) {
            return rs.next() ? Optional.of(new Wanted(Optional.ofNullable(rs.getString(1)), rs.getBoolean(2))) : Optional.empty();
        } catch (SQLException e) {
            return Optional.empty();
        }
    }
}
