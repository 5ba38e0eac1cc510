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
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;

/**
 * Applies journaled transactions to the target, in order, each exactly once: an entry is applied
 * in one target transaction together with its row in {@code tsmigrate.journal_applied}, so an
 * interrupted replay, run again, skips what it already applied. A permanent error leaves that entry
 * unapplied and reported; a lost connection stops the replay (run it again). A damaged record stops
 * the replay there: nothing after it is applied until a person decides to skip it, which is recorded
 * in {@code tsmigrate.journal_skipped} (then every later replay passes it).
 */
public final class JournalReplayer {

    /**
     * What one journal's replay did.
     *
     * @param entries   the entries in the journal, damaged ones included
     * @param skipped   damaged records skipped by this replay, each described
     * @param stoppedAt the damaged record the replay stopped at (nothing after it applied), if any
     */
    public record Outcome(String journal, int entries, int applied, int alreadyApplied, List<String> failures,
                          List<String> skipped, Optional<String> stoppedAt) {
        /** Whether every entry is applied (or its damage skipped by decision). */
        public boolean complete() {
            return failures.isEmpty() && stoppedAt.isEmpty();
        }
    }

    private JournalReplayer() {
    }

    /**
     * Replays every journal of a directory that holds writes missed by {@code side} ({@code target}
     * or {@code source}: files {@code <writer>-<side>.journal}), to a connection to that side.
     */
    public static List<Outcome> replayDirectory(Path directory, String side, Connection connection, boolean skipDamaged)
            throws SQLException, IOException {
        List<Outcome> out = new ArrayList<>();
        try (Stream<Path> files = Files.list(directory)) {
            for (Path f : files.filter(p -> p.getFileName().toString().endsWith("-" + side + ".journal")).sorted().toList()) {
                out.add(replay(f, connection, skipDamaged));
            }
        }
        return out;
    }

    /**
     * Replays one journal file, up to its first damaged record not yet skipped by decision. Leaves
     * {@code target} in auto-commit mode.
     *
     * @param skipDamaged skip damaged records (recording each in {@code tsmigrate.journal_skipped})
     *                    instead of stopping at the first
     * @throws SQLException when the target connection fails (nothing half-applied: run it again)
     */
    public static Outcome replay(Path file, Connection target, boolean skipDamaged) throws SQLException, IOException {
        Journal.Contents contents = Journal.scan(file);
        String journal = file.getFileName().toString();
        target.setAutoCommit(true);
        StateTables.ensure(target);
        Set<Long> applied = longs(target, "SELECT seq FROM tsmigrate.journal_applied WHERE journal = ?", journal);
        Set<Long> skippedBefore = longs(target, "SELECT file_offset FROM tsmigrate.journal_skipped WHERE journal = ?", journal);
        int done = 0;
        int already = 0;
        List<String> failures = new ArrayList<>();
        List<String> skipped = new ArrayList<>();
        int total = contents.entries().size() + contents.damages().size();
        for (Journal.Item item : contents.inOrder()) {
            if (item instanceof Journal.Damage d) {
                if (skippedBefore.contains(d.offset())) {
                    continue;
                }
                if (!skipDamaged) {
                    return new Outcome(journal, total, done, already, List.copyOf(failures), List.copyOf(skipped), Optional.of(d.describe()));
                }
                recordSkip(target, journal, d);
                skipped.add(d.describe());
                continue;
            }
            Journal.Entry e = (Journal.Entry) item;
            if (applied.contains(e.seq())) {
                already++;
                continue;
            }
            target.setAutoCommit(false);
            try {
                // The entry's record comes first: a second replayer of the same journal (the
                // application's own and tsmigrate replay, say) waits on it and then skips the entry.
                if (!claim(target, journal, e.seq())) {
                    target.rollback();
                    already++;
                    continue;
                }
                // An entry forwarded from an intent is applied under the intent's identity too: if the
                // live path committed it before its writer stopped, only the record of this entry stays.
                if (e.origin() != null && !claim(target, e.origin().journal(), e.origin().seq())) {
                    target.commit();
                    already++;
                    continue;
                }
                for (Write w : e.writes()) {
                    apply(target, w);
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
        return new Outcome(journal, total, done, already, List.copyOf(failures), List.copyOf(skipped), Optional.empty());
    }

    /**
     * What resolving the intents a stopped lossless writer left did.
     *
     * @param owed      transactions the primary committed that the side lacked: now in the writer's journal, for the replay
     * @param discarded intents whose transaction the primary did not commit (or no longer knows about)
     */
    public record Resolved(String writer, String side, long owed, long discarded, long alreadyApplied) {
    }

    /**
     * Resolves the intents that stopped lossless writers left in a directory for {@code side}
     * ({@code target} or {@code source}), asking {@code primary} (the other side) which committed;
     * run before {@link #replayDirectory}, which then applies what they owe. Segments of a writer
     * that is still running are left to it.
     */
    public static List<Resolved> resolveIntents(Path directory, String side, javax.sql.DataSource sideDs, javax.sql.DataSource primary)
            throws SQLException, IOException {
        java.util.Set<String> writers = new java.util.TreeSet<>();
        try (Stream<Path> files = Files.list(directory)) {
            files.map(p -> intentFile(side).matcher(p.getFileName().toString())).filter(java.util.regex.Matcher::matches)
                    .forEach(m -> writers.add(m.group(1)));
        }
        List<Resolved> out = new ArrayList<>();
        for (String writer : writers) {
            try (Journal journal = Journal.open(directory, writer, side)) {
                IntentRecovery.Result r = IntentRecovery.recover(directory, writer, new Side(side, sideDs, journal), primary,
                        java.time.Duration.ofSeconds(30));
                if (r != IntentRecovery.Result.NONE) {
                    out.add(new Resolved(writer, side, r.forwarded(), r.discarded(), r.alreadyApplied()));
                }
            }
        }
        return out;
    }

    /** Whether a directory holds intents a lossless writer left for {@code side}. */
    public static boolean hasIntents(Path directory, String side) throws IOException {
        try (Stream<Path> files = Files.list(directory)) {
            return files.anyMatch(p -> intentFile(side).matcher(p.getFileName().toString()).matches());
        }
    }

    /** A segment of intents owed to {@code side}; group 1 is its writer's file-name form. */
    private static java.util.regex.Pattern intentFile(String side) {
        return java.util.regex.Pattern.compile("(.+)-" + java.util.regex.Pattern.quote(side) + "-" + IntentLog.RUN_AND_NUMBER);
    }

    /** Replays one journal file, stopping at damage. */
    public static Outcome replay(Path file, Connection target) throws SQLException, IOException {
        return replay(file, target, false);
    }

    /** Records the entry as applied in the open transaction; false when another replayer already applied it. */
    static boolean claim(Connection target, String journal, long seq) throws SQLException {
        try (PreparedStatement ps = target.prepareStatement("INSERT INTO tsmigrate.journal_applied (journal, seq) VALUES (?, ?) "
                + "ON CONFLICT DO NOTHING")) {
            ps.setString(1, journal);
            ps.setLong(2, seq);
            return ps.executeUpdate() == 1;
        }
    }

    private static void recordSkip(Connection target, String journal, Journal.Damage d) throws SQLException {
        try (PreparedStatement ps = target.prepareStatement("INSERT INTO tsmigrate.journal_skipped (journal, file_offset, length, seq, "
                + "reason) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING")) {
            ps.setString(1, journal);
            ps.setLong(2, d.offset());
            ps.setLong(3, d.length());
            ps.setLong(4, d.seq());
            ps.setString(5, d.reason());
            ps.executeUpdate();
        }
    }

    private static Set<Long> longs(Connection target, String sql, String journal) throws SQLException {
        Set<Long> out = new HashSet<>();
        try (PreparedStatement ps = target.prepareStatement(sql)) {
            ps.setString(1, journal);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(rs.getLong(1));
                }
            }
        }
        return out;
    }

    /** Whether every entry of the journal is applied and every damaged record skipped by decision. */
    static boolean caughtUp(Path file, Connection target) throws SQLException, IOException {
        Journal.Contents contents = Journal.scan(file);
        String journal = file.getFileName().toString();
        Set<Long> applied = longs(target, "SELECT seq FROM tsmigrate.journal_applied WHERE journal = ?", journal);
        Set<Long> skipped = longs(target, "SELECT file_offset FROM tsmigrate.journal_skipped WHERE journal = ?", journal);
        return contents.entries().stream().allMatch(e -> applied.contains(e.seq()))
                && contents.damages().stream().allMatch(d -> skipped.contains(d.offset()));
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
