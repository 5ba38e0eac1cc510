package io.tsmigrate.dualwrite;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * The lossless mode's write-ahead log of one writer for one secondary side: before the primary's
 * COMMIT, each transaction that wrote is appended here with the primary's transaction id and made
 * durable (concurrent commits share one fsync), and once the secondary has it (committed there, or
 * forwarded to the side's journal) it is marked done, in memory only. A crash at any instant leaves
 * the not-done intents on disk, and {@link IntentRecovery} resolves them at the next start from the
 * primary's own record of what committed.
 *
 * <p>Files are segments {@code <writer>-<side>-<run>-<n>.intent}, named for the run that wrote them
 * so that an intent's identity ({@link Journal.Origin}: segment name and sequence number) is unique
 * for ever; a segment is deleted when it is full and all its intents are done, and at a clean close.
 * Once a segment is gone, and none of its intents went to the side's journal (whose entries are
 * applied under the intent's identity later), nothing can apply its intents again: its rows in
 * {@code tsmigrate.journal_applied} are no longer needed, and {@code gone} is told its name so that
 * they can be deleted (one row per transaction would otherwise pile up for as long as dual-writing
 * lasts). Thread-safe.
 */
final class IntentLog implements AutoCloseable {

    static final String SUFFIX = ".intent";
    /** What follows a segment's prefix: its run and its number. */
    static final String RUN_AND_NUMBER = "[0-9a-f]{12}-[0-9]{6}\\.intent";
    private static final long SEGMENT_BYTES = 16L << 20;

    /** One durable intent: where it is, for {@link #done}. */
    record Intent(Journal segment, long seq) {
        Journal.Origin origin() {
            return new Journal.Origin(segment.name(), seq);
        }
    }

    private final Path directory;
    private final String prefix;
    private final String run;
    private int segmentNumber;
    private Journal current;
    /** Intents not yet done, per open segment. */
    private final Map<Journal, Integer> pending = new HashMap<>();
    /** The names of this run's segments with an intent forwarded to the side's journal. */
    private final java.util.Set<String> forwarded = new java.util.HashSet<>();
    private final java.util.function.Consumer<String> gone;

    private IntentLog(Path directory, String prefix, String run, java.util.function.Consumer<String> gone) {
        this.directory = directory;
        this.prefix = prefix;
        this.run = run;
        this.gone = gone;
    }

    /**
     * A log for this run's intents owed to {@code side}; it creates its first segment at its first intent.
     *
     * @param gone told the name of each segment deleted whose intents were all applied directly
     */
    static IntentLog open(Path directory, String writer, String side, java.util.function.Consumer<String> gone) {
        return new IntentLog(directory, prefix(writer, side), String.format("%012x", System.currentTimeMillis()), gone);
    }

    /** An intent of the segment named {@code segment} went to the side's journal: its rows must stay. */
    synchronized void forwarded(String segment) {
        forwarded.add(segment);
    }

    /** What the file names of a writer's intents owed to {@code side} begin with. */
    static String prefix(String writer, String side) {
        return Journal.fileName(writer + "-" + side).replace(".journal", "-");
    }

    /** The segments an earlier run (or this one) left, oldest first. */
    static List<Path> segments(Path directory, String writer, String side) throws IOException {
        if (!Files.isDirectory(directory)) {
            return List.of();
        }
        String prefix = prefix(writer, side);
        try (Stream<Path> files = Files.list(directory)) {
            return files.filter(f -> {
                String n = f.getFileName().toString();
                return n.startsWith(prefix) && n.endsWith(SUFFIX) && n.substring(prefix.length()).matches(RUN_AND_NUMBER);
            }).sorted().toList();
        }
    }

    /**
     * Appends a transaction's writes with the primary's id for it, and returns once they are on disk.
     * Call before sending the primary's COMMIT.
     */
    Intent append(List<Write> writes, long xid) throws IOException {
        Journal segment;
        Journal.Written written;
        synchronized (this) {
            if (current == null || current.size() > SEGMENT_BYTES) {
                rotate();
            }
            segment = current;
            written = segment.write(writes, xid, null);
            pending.merge(segment, 1, Integer::sum);
        }
        segment.forceTo(written.end());
        return new Intent(segment, written.seq());
    }

    /** The secondary has the transaction (or the primary never committed it): the intent is no longer needed. */
    void done(Intent intent) {
        Journal drop = null;
        synchronized (this) {
            int left = pending.merge(intent.segment(), -1, Integer::sum);
            if (left <= 0 && intent.segment() != current) {
                pending.remove(intent.segment());
                drop = intent.segment();
            }
        }
        if (drop != null) {
            delete(drop);
        }
    }

    private void rotate() throws IOException {
        PrivateFiles.directory(directory);
        Journal previous = current;
        current = Journal.openFile(directory.resolve(prefix + run + "-" + String.format("%06d", ++segmentNumber) + SUFFIX));
        // Recovery (at another start, or tsmigrate replay) leaves a segment alone while its writer lives.
        current.lockForUse();
        pending.put(current, 0);
        if (previous != null && pending.get(previous) == 0) {
            pending.remove(previous);
            delete(previous);
        }
    }

    private void delete(Journal segment) {
        segment.close();
        try {
            Files.deleteIfExists(segment.file());
            // The deletion durable before the rows go: a segment back after a power loss would find its intents unapplied.
            PrivateFiles.forceDirectory(directory);
        } catch (IOException e) {
            return; // left for the next start's recovery, which finds its intents resolved by their rows
        }
        boolean keep;
        synchronized (this) {
            keep = forwarded.remove(segment.name());
        }
        if (!keep) {
            gone.accept(segment.name());
        }
    }

    /** Closes the log; a segment all of whose intents are done is deleted, one with intents left stays for recovery. */
    @Override
    public synchronized void close() {
        for (Map.Entry<Journal, Integer> e : new ArrayList<>(pending.entrySet())) {
            if (e.getValue() == 0) {
                delete(e.getKey());
            } else {
                e.getKey().close();
            }
        }
        pending.clear();
        current = null;
    }
}
