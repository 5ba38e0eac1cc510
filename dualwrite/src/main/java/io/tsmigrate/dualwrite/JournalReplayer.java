package io.tsmigrate.dualwrite;

import io.tsmigrate.dualwrite.Write.Param;
import org.postgresql.PGConnection;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

/**
 * Applies journaled transactions to the target, in order, each exactly once: an entry is applied
 * in one target transaction together with its row in {@code tsmigrate.journal_applied}, so an
 * interrupted replay, run again, skips what it already applied. A permanent error leaves that entry
 * unapplied and reported; a lost connection stops the replay (run it again).
 */
public final class JournalReplayer {

    /** What one journal's replay did. */
    public record Outcome(String journal, int entries, int applied, int alreadyApplied, List<String> failures) {
    }

    private JournalReplayer() {
    }

    /**
     * Replays every journal of a directory that holds writes missed by {@code side} ({@code target}
     * or {@code source}: files {@code <writer>-<side>.journal}), to a connection to that side.
     */
    public static List<Outcome> replayDirectory(Path directory, String side, Connection connection) throws SQLException, IOException {
        List<Outcome> out = new ArrayList<>();
        try (Stream<Path> files = Files.list(directory)) {
            for (Path f : files.filter(p -> p.getFileName().toString().endsWith("-" + side + ".journal")).sorted().toList()) {
                out.add(replay(f, connection));
            }
        }
        return out;
    }

    /**
     * Replays one journal file. Leaves {@code target} in auto-commit mode.
     *
     * @throws SQLException when the target connection fails (nothing half-applied: run it again)
     */
    public static Outcome replay(Path file, Connection target) throws SQLException, IOException {
        List<Journal.Entry> entries = Journal.read(file);
        String journal = file.getFileName().toString();
        target.setAutoCommit(true);
        StateTables.ensure(target);
        Set<Long> applied = new HashSet<>();
        try (PreparedStatement ps = target.prepareStatement("SELECT seq FROM tsmigrate.journal_applied WHERE journal = ?")) {
            ps.setString(1, journal);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    applied.add(rs.getLong(1));
                }
            }
        }
        int done = 0;
        int skipped = 0;
        List<String> failures = new ArrayList<>();
        for (Journal.Entry e : entries) {
            if (applied.contains(e.seq())) {
                skipped++;
                continue;
            }
            target.setAutoCommit(false);
            try {
                for (Write w : e.writes()) {
                    apply(target, w);
                }
                try (PreparedStatement ps = target.prepareStatement("INSERT INTO tsmigrate.journal_applied (journal, seq) VALUES (?, ?)")) {
                    ps.setString(1, journal);
                    ps.setLong(2, e.seq());
                    ps.executeUpdate();
                }
                target.commit();
                done++;
            } catch (SQLException ex) {
                rollbackQuietly(target);
                String state = ex.getSQLState() == null ? "" : ex.getSQLState();
                if (state.startsWith("08") || state.startsWith("57P")) {
                    throw ex;
                }
                failures.add("entry " + e.seq() + ": " + firstLine(ex.getMessage()) + (state.isEmpty() ? "" : " (SQLSTATE " + state + ")"));
            } finally {
                target.setAutoCommit(true);
            }
        }
        return new Outcome(journal, entries.size(), done, skipped, List.copyOf(failures));
    }

    /** Whether every entry of the journal is applied. */
    static boolean caughtUp(Path file, Connection target) throws SQLException, IOException {
        List<Journal.Entry> entries = Journal.read(file);
        if (entries.isEmpty()) {
            return true;
        }
        try (PreparedStatement ps = target.prepareStatement("SELECT count(*) FROM tsmigrate.journal_applied WHERE journal = ?")) {
            ps.setString(1, file.getFileName().toString());
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getLong(1) >= entries.size();
            }
        }
    }

    /** Runs one write on a connection: statement, prepared (batch), or COPY. */
    static int[] apply(Connection c, Write w) throws SQLException {
        if (w.isCopy()) {
            try {
                long rows = c.unwrap(PGConnection.class).getCopyAPI().copyIn(w.sql(), new ByteArrayInputStream(w.copyData()));
                return new int[] {(int) rows};
            } catch (IOException e) {
                throw new SQLException("cannot COPY: " + e.getMessage(), e);
            }
        }
        if (w.parameterSets().isEmpty()) {
            try (Statement st = c.createStatement()) {
                st.execute(w.sql());
                return new int[] {st.getUpdateCount()};
            }
        }
        try (PreparedStatement ps = c.prepareStatement(w.sql())) {
            if (w.parameterSets().size() == 1) {
                for (Param p : w.parameterSets().get(0)) {
                    Params.apply(ps, p);
                }
                ps.execute();
                return new int[] {ps.getUpdateCount()};
            }
            for (List<Param> set : w.parameterSets()) {
                for (Param p : set) {
                    Params.apply(ps, p);
                }
                ps.addBatch();
            }
            return ps.executeBatch();
        }
    }

    private static void rollbackQuietly(Connection c) {
        try {
            c.rollback();
        } catch (SQLException ignored) {
            // The failure that got us here is the one to report.
        }
    }

    private static String firstLine(String message) {
        if (message == null) {
            return "unknown error";
        }
        int nl = message.indexOf('\n');
        return (nl > 0 ? message.substring(0, nl) : message).replaceFirst("^ERROR:\\s+", "");
    }
}
