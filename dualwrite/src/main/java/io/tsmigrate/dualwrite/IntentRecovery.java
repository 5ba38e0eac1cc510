package io.tsmigrate.dualwrite;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import javax.sql.DataSource;

/**
 * Resolves the intents an earlier run left (it was killed between writing an intent and the
 * secondary having the transaction), in journal order, from the primary's own record of what
 * committed ({@code txid_status}): committed and not on the secondary yet → forwarded to the
 * side's journal under the intent's identity, so the replay applies it once however often this
 * runs; aborted → discarded; too old for the primary to know → discarded with a warning; still in
 * progress → waited for. Only then are the segments deleted.
 */
final class IntentRecovery {

    private static final System.Logger LOG = System.getLogger(IntentRecovery.class.getName());

    /** What a recovery did. */
    record Result(long forwarded, long discarded, long alreadyApplied) {
        static final Result NONE = new Result(0, 0, 0);
    }

    private IntentRecovery() {
    }

    /**
     * @param side     the side the intents are owed to; committed ones go to its journal
     * @param primary  the other side, which was the primary when they were written
     * @param patience how long to wait for transactions the primary still has in progress
     * @throws SQLException when the primary cannot be asked (the intents stay; run it again)
     * @throws IOException  when a segment or the side's journal cannot be read or written
     */
    static Result recover(Path directory, String writer, Side side, DataSource primary, Duration patience)
            throws SQLException, IOException {
        List<Path> segments = new ArrayList<>();
        List<java.nio.channels.FileChannel> held = new ArrayList<>();
        try {
            for (Path segment : IntentLog.segments(directory, writer, side.name)) {
                java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(segment, java.nio.file.StandardOpenOption.WRITE);
                if (tryLock(ch)) {
                    held.add(ch);
                    segments.add(segment);
                } else {
                    ch.close(); // a running writer's: not ours to resolve
                }
            }
            return segments.isEmpty() ? Result.NONE : recover(segments, side, primary, patience);
        } finally {
            for (java.nio.channels.FileChannel ch : held) {
                ch.close();
            }
        }
    }

    private static boolean tryLock(java.nio.channels.FileChannel ch) throws IOException {
        try {
            return ch.tryLock() != null;
        } catch (java.nio.channels.OverlappingFileLockException e) {
            return false;
        }
    }

    private static Result recover(List<Path> segments, Side side, DataSource primary, Duration patience) throws SQLException, IOException {
        List<Journal.Entry> intents = new ArrayList<>();
        List<Journal.Origin> origins = new ArrayList<>();
        for (Path segment : segments) {
            Journal.Contents contents = Journal.scan(segment);
            for (Journal.Damage d : contents.damages()) {
                // Its writes cannot be read back: if its transaction committed, verify --past-t will find the gap.
                LOG.log(Level.ERROR, "tsmigrate dual-write: " + d.describe().replaceFirst("^journal", "intent log")
                        + "; that transaction cannot be recovered: run tsmigrate verify --past-t for the tables it wrote");
            }
            for (Journal.Entry e : contents.entries()) {
                intents.add(e);
                origins.add(new Journal.Origin(segment.getFileName().toString(), e.seq()));
            }
        }
        Set<String> applied = appliedOnSide(side, segments);
        Map<Long, String> status = statuses(primary, intents, patience);
        long forwarded = 0;
        long discarded = 0;
        long already = 0;
        for (int i = 0; i < intents.size(); i++) {
            Journal.Entry e = intents.get(i);
            Journal.Origin origin = origins.get(i);
            if (applied.contains(origin.journal() + "/" + origin.seq())) {
                already++;
                continue;
            }
            String s = status.get(e.xid());
            if ("committed".equals(s)) {
                side.journal.append(e.writes(), origin);
                forwarded++;
            } else {
                discarded++;
                LOG.log(s == null ? Level.WARNING : Level.INFO, "tsmigrate dual-write: intent " + origin.journal() + "#" + e.seq()
                        + " discarded: " + (s == null ? "the primary no longer knows whether transaction " + e.xid()
                        + " committed (too old); if it did, verify --past-t finds its rows missing" : "its transaction " + e.xid()
                        + " did not commit on the primary"));
            }
        }
        if (forwarded > 0) {
            side.divert();
            LOG.log(Level.INFO, "tsmigrate dual-write: " + forwarded + " transaction(s) committed on the primary before this writer "
                    + "stopped are owed to the " + side.name + "; they are in its journal and replayed before new writes go direct");
        }
        for (Path segment : segments) {
            Files.deleteIfExists(segment);
        }
        return new Result(forwarded, discarded, already);
    }

    /** The intents of these segments the side already has, as {@code segment/seq}; none when it cannot be reached. */
    private static Set<String> appliedOnSide(Side side, List<Path> segments) {
        Set<String> out = new HashSet<>();
        try (Connection c = side.dataSource.getConnection();
             PreparedStatement ps = c.prepareStatement("SELECT journal, seq FROM tsmigrate.journal_applied WHERE journal = ANY (?)")) {
            ps.setArray(1, c.createArrayOf("text", segments.stream().map(p -> p.getFileName().toString()).toArray()));
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(rs.getString(1) + "/" + rs.getLong(2));
                }
            }
        } catch (SQLException e) {
            // Unknown here; the replay's claim on the intent's identity skips what the side already has.
        }
        return out;
    }

    /** One transaction's status on the primary: committed, aborted, in progress, or null when too old to know. */
    static String status(DataSource primary, long xid) throws SQLException {
        try (Connection c = primary.getConnection(); PreparedStatement ps = c.prepareStatement("SELECT txid_status(?)")) {
            ps.setLong(1, xid);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getString(1);
            }
        }
    }

    /** Each intent's transaction status on the primary, waiting while any is in progress. */
    private static Map<Long, String> statuses(DataSource primary, List<Journal.Entry> intents, Duration patience) throws SQLException {
        long deadline = System.nanoTime() + patience.toNanos();
        try (Connection c = primary.getConnection()) {
            while (true) {
                Map<Long, String> out = new HashMap<>();
                try (PreparedStatement ps = c.prepareStatement("SELECT x, txid_status(x) FROM unnest(?::bigint[]) x")) {
                    Array xids = c.createArrayOf("bigint", intents.stream().map(Journal.Entry::xid).distinct().toArray());
                    ps.setArray(1, xids);
                    try (ResultSet rs = ps.executeQuery()) {
                        while (rs.next()) {
                            out.put(rs.getLong(1), rs.getString(2));
                        }
                    }
                }
                if (!out.containsValue("in progress")) {
                    return out;
                }
                if (System.nanoTime() > deadline) {
                    throw new SQLException("tsmigrate dual-write: a transaction of the stopped writer is still in progress on the "
                            + "primary after " + patience.toSeconds() + " s; its intent is resolved at the next attempt", "55000");
                }
                try {
                    Thread.sleep(100);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new SQLException("interrupted while waiting for the primary", "57014", e);
                }
            }
        }
    }
}
