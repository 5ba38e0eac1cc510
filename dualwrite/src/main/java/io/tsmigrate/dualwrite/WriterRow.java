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
    private final String journalDir;
    /** Whether the table has the columns of a clean stop (a state made by an older tsmigrate has not; a writer cannot add them). */
    private volatile Boolean stopColumns;

    WriterRow(String name, String application, String host, Instant began, String journalDir) {
        this.name = name;
        this.application = application;
        this.host = host;
        this.began = began;
        this.journalDir = journalDir;
    }

    void register(Connection c, String primarySide) throws SQLException {
        StateTables.ensure(c);
        boolean stopColumns = stopColumns(c);
        // Registered again (a restart), it is running again: no longer stopped, its journal where this run keeps it.
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO tsmigrate.writer (name, application, host, pid, started_at, "
                + "primary_side" + (stopColumns ? ", journal_dir" : "") + ") VALUES (?, ?, ?, ?, ?, ?" + (stopColumns ? ", ?" : "")
                + ") ON CONFLICT (name) DO UPDATE SET last_seen = now()"
                + (stopColumns ? ", stopped_at = NULL, journal_dir = EXCLUDED.journal_dir" : ""))) {
            ps.setString(1, name);
            ps.setString(2, application);
            ps.setString(3, host);
            ps.setLong(4, ProcessHandle.current().pid());
            ps.setTimestamp(5, Timestamp.from(began));
            ps.setString(6, primarySide);
            if (stopColumns) {
                ps.setString(7, journalDir);
            }
            ps.executeUpdate();
        }
    }

    /**
     * The writer closed: what it still owes (journal entries a later start or tsmigrate replay applies)
     * and when. Also for a run that only resolved what a killed run left: its row stops saying "killed".
     */
    void stopped(Connection c, long owed) throws SQLException {
        report(c, owed, "now()");
    }

    private boolean stopColumns(Connection c) throws SQLException {
        if (stopColumns == null) {
            try (PreparedStatement ps = c.prepareStatement("SELECT count(*) = 2 FROM information_schema.columns WHERE table_schema = "
                    + "'tsmigrate' AND table_name = 'writer' AND column_name IN ('stopped_at', 'journal_dir')");
                 ResultSet rs = ps.executeQuery()) {
                stopColumns = rs.next() && rs.getBoolean(1);
            }
        }
        return stopColumns;
    }

    /** @param owed journal entries and unresolved intents this writer still owes a side */
    void heartbeat(Connection c, long owed) throws SQLException {
        report(c, owed, "NULL"); // a writer that beats runs (another process of the same name may have closed meanwhile)
    }

    /** Keeps the row fresh with what the writer owes, and its stop: {@code now()} when it closes, {@code NULL} while it runs. */
    private void report(Connection c, long owed, String stoppedAt) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("UPDATE tsmigrate.writer SET last_seen = now(), journal_pending = ?"
                + (stopColumns(c) ? ", stopped_at = " + stoppedAt : "") + " WHERE name = ?")) {
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
