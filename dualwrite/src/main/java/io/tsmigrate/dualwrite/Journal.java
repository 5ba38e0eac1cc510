package io.tsmigrate.dualwrite;

import io.tsmigrate.dualwrite.Write.Param;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.LocalTime;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.zip.CRC32;

/**
 * A durable, append-only journal of transactions the secondary missed: one file per writer, each
 * entry a whole committed transaction (its writes in order) framed with its length and a CRC, and
 * forced to disk before {@link #append} returns. A torn last entry (a crash while appending: a
 * prefix of a frame, or zeros, at the very end of the file) is treated as never written: its
 * transaction never returned to the application as journaled, and the next append truncates it
 * first. Damage anywhere else (a record whose CRC fails with intact records after it) is never
 * skipped silently: {@link #read} refuses the file and {@link #scan} says where.
 *
 * <p>The same format holds the intents of the lossless mode ({@link IntentLog}): there an entry also
 * carries the primary's transaction id, and is written without waiting for the disk, then made
 * durable by {@link #forceTo}, which one thread runs for every append before it (group commit). An
 * entry forwarded from an intent carries its {@link Origin}, the identity it is applied under.
 * Thread-safe.
 */
public final class Journal implements AutoCloseable {

    private static final int MAGIC = 0x54534A31; // "TSJ1": seq, time, writes
    private static final int MAGIC2 = 0x54534A32; // "TSJ2": seq, time, xid, origin, writes

    /** What a journal file holds at an offset: an entry, or a damaged record. */
    public sealed interface Item permits Entry, Damage {
        long offset();
    }

    /**
     * One journaled transaction, at byte {@code offset} of its file.
     *
     * @param xid    the primary's transaction id ({@code txid_current()}) for an intent; 0 when not known
     * @param origin the intent this entry was forwarded from, whose identity it is applied under; null if none
     */
    public record Entry(long seq, long atMillis, List<Write> writes, long offset, long xid, Origin origin) implements Item {
        Entry(long seq, long atMillis, List<Write> writes, long offset) {
            this(seq, atMillis, writes, offset, 0, null);
        }
    }

    /** An entry's identity in {@code tsmigrate.journal_applied}: its journal's name and its sequence number. */
    public record Origin(String journal, long seq) {
    }

    /** Where an appended entry is: its sequence number and the end of its frame in the file (for {@link #forceTo}). */
    record Written(long seq, long end) {
    }

    /**
     * A record that cannot be read, with readable data after it.
     *
     * @param offset   the byte offset of the damaged record in the file
     * @param length   how many bytes, from {@code offset}, the damaged part spans (up to the next intact record)
     * @param seq      the damaged entry's sequence number: the one after the last intact entry before it
     * @param reason   what is wrong with it
     */
    public record Damage(Path file, long offset, long length, long seq, String reason) implements Item {
        /** One sentence that names the file, the offset and the entry. */
        public String describe() {
            return "journal " + file + " is damaged at byte " + offset + " (entry " + seq + ", " + length + " bytes: " + reason + ")";
        }
    }

    /**
     * What a journal file holds.
     *
     * @param entries      every intact entry, in file order (also those after a damaged record)
     * @param damages      the damaged records, in file order
     * @param intactLength where the intact part of the file ends: a torn tail starts there
     */
    public record Contents(List<Entry> entries, List<Damage> damages, long intactLength) {
        /** Entries and damaged records in file order. */
        public List<Item> inOrder() {
            List<Item> all = new ArrayList<>(entries);
            all.addAll(damages);
            all.sort(java.util.Comparator.comparingLong(Item::offset));
            return all;
        }
    }

    /** Thrown by {@link #read} for a journal with a damaged record that is not its torn tail. */
    public static final class DamagedException extends IOException {
        private final transient Damage damage;

        DamagedException(Damage damage) {
            super(damage.describe());
            this.damage = damage;
        }

        public Damage damage() {
            return damage;
        }
    }

    private final Path file;
    private final FileChannel channel;
    private long nextSeq;
    /** Guards {@link #durable}; held while forcing, so that waiting appends find their bytes forced by another. */
    private final Object forcing = new Object();
    private long durable;

    private Journal(Path file, FileChannel channel, long nextSeq) {
        this.file = file;
        this.channel = channel;
        this.nextSeq = nextSeq;
    }

    /**
     * Opens (creating) the journal file of {@code writer} for writes missed by {@code side} in
     * {@code directory}, continuing its numbering.
     */
    static Journal open(Path directory, String writer, String side) throws IOException {
        PrivateFiles.directory(directory);
        return openFile(directory.resolve(fileName(writer + "-" + side)));
    }

    /** Opens (creating) a journal file, continuing its numbering after its last intact entry. */
    static Journal openFile(Path file) throws IOException {
        long next = 1;
        FileChannel channel = PrivateFiles.openForWriting(file);
        try {
            Contents existing = scan(file);
            next = existing.entries().stream().mapToLong(Entry::seq).max().orElse(0) + 1;
            for (Damage d : existing.damages()) {
                next = Math.max(next, d.seq() + 1);
            }
            // A torn tail would otherwise sit between the intact records and the next append,
            // turning a crash's harmless leftover into damage in the middle of the file.
            if (channel.size() > existing.intactLength()) {
                channel.truncate(existing.intactLength());
                channel.force(true);
            }
            channel.position(existing.intactLength());
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw e;
        }
        return new Journal(file, channel, next);
    }

    static String fileName(String writer) {
        return writer.replaceAll("[^A-Za-z0-9._-]", "_") + ".journal";
    }

    public Path file() {
        return file;
    }

    /** The journal's name in {@code tsmigrate.journal_applied}: its file name. */
    public String name() {
        return file.getFileName().toString();
    }

    /** Appends a transaction and forces it to disk; returns its sequence number. */
    long append(List<Write> writes) throws IOException {
        return append(writes, null);
    }

    /** Appends a transaction forwarded from an intent (applied under the intent's identity) and forces it to disk. */
    long append(List<Write> writes, Origin origin) throws IOException {
        Written w = write(writes, 0, origin);
        forceTo(w.end());
        return w.seq();
    }

    /** Appends an entry without waiting for the disk: call {@link #forceTo} with its end before relying on it. */
    synchronized Written write(List<Write> writes, long xid, Origin origin) throws IOException {
        if (tornAt >= 0) {
            cutTornTail(); // an earlier append failed half-way: its bytes go before anything follows them
        }
        long seq = nextSeq;
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        DataOutputStream out = new DataOutputStream(body);
        out.writeLong(seq);
        out.writeLong(System.currentTimeMillis());
        out.writeLong(xid);
        writeString(out, origin == null ? "" : origin.journal());
        out.writeLong(origin == null ? 0 : origin.seq());
        out.writeInt(writes.size());
        for (Write w : writes) {
            writeString(out, w.sql());
            out.writeInt(w.parameterSets().size());
            for (List<Param> set : w.parameterSets()) {
                out.writeInt(set.size());
                for (Param p : set) {
                    writeParam(out, p);
                }
            }
            if (w.copyData() == null) {
                out.writeInt(-1);
            } else {
                out.writeInt(w.copyData().length);
                out.write(w.copyData());
            }
        }
        out.flush();
        byte[] payload = body.toByteArray();
        CRC32 crc = new CRC32();
        crc.update(payload);
        ByteBuffer frame = ByteBuffer.allocate(12 + payload.length);
        frame.putInt(MAGIC2).putInt(payload.length).put(payload).putInt((int) crc.getValue()).flip();
        long start = channel.position();
        try {
            while (frame.hasRemaining()) {
                channel.write(frame);
            }
        } catch (IOException e) {
            // A full disk can take part of a record: left there, the next append would follow torn bytes,
            // and a reader stops at the first bad frame (everything after it would look damaged).
            tornAt = start;
            try {
                cutTornTail();
            } catch (IOException ignored) {
                // Cut before the next append, which fails as long as it cannot be.
            }
            throw e;
        }
        nextSeq++;
        return new Written(seq, channel.position());
    }

    /** Where a failed append began, while its bytes may still follow the last whole record; -1 when none. */
    private long tornAt = -1;

    private void cutTornTail() throws IOException {
        channel.truncate(tornAt);
        channel.position(tornAt);
        tornAt = -1;
    }

    /**
     * Returns once the file is on disk up to {@code end}. Appends that wait here together share one
     * fsync: the first forces everything written so far, and the others find their bytes already durable.
     */
    void forceTo(long end) throws IOException {
        synchronized (forcing) {
            if (durable >= end) {
                return;
            }
            long upTo;
            synchronized (this) {
                upTo = channel.position();
            }
            channel.force(false);
            durable = upTo;
        }
    }

    /**
     * Marks the file as in use by this process (an advisory lock the OS drops when the process
     * dies), so that recovery elsewhere leaves it alone.
     *
     * @return false when another process (or another channel of this one) holds it
     */
    boolean lockForUse() throws IOException {
        try {
            return channel.tryLock() != null;
        } catch (java.nio.channels.OverlappingFileLockException e) {
            return false;
        }
    }

    /** The file's size: where the next entry will start. */
    synchronized long size() throws IOException {
        return channel.position();
    }

    /**
     * Every entry of a journal file, in order.
     *
     * @throws DamagedException when a record other than a torn tail cannot be read: nothing after it
     *                          is returned, since applying it would skip the damaged transaction
     */
    public static List<Entry> read(Path file) throws IOException {
        Contents contents = scan(file);
        if (!contents.damages().isEmpty()) {
            throw new DamagedException(contents.damages().get(0));
        }
        return contents.entries();
    }

    /** Reads a journal file whole: its intact entries, its damaged records, and where a torn tail starts. */
    public static Contents scan(Path file) throws IOException {
        ByteBuffer buf = ByteBuffer.wrap(Files.readAllBytes(file));
        List<Entry> entries = new ArrayList<>();
        List<Damage> damages = new ArrayList<>();
        int pos = 0;
        int intact = 0;
        long lastSeq = 0;
        while (pos < buf.limit()) {
            int end = frameEnd(buf, pos);
            if (end > 0) {
                Entry e = decode(slice(buf, pos + 8, end - 12 - pos), pos, buf.getInt(pos) == MAGIC2);
                entries.add(e);
                lastSeq = e.seq();
                pos = end;
                intact = end;
                continue;
            }
            if (isTornTail(buf, pos)) {
                break;
            }
            int next = nextFrame(buf, pos + 1);
            if (next < 0) {
                // Unreadable to the end, but not the shape a crash while appending leaves: damage, not a torn tail.
                next = buf.limit();
            }
            damages.add(new Damage(file, pos, next - pos, lastSeq + 1, isMagic(buf.getInt(pos)) && buf.limit() - pos >= 8
                    ? "its checksum does not match" : "no record starts there"));
            lastSeq++;
            pos = next;
            intact = next;
        }
        return new Contents(List.copyOf(entries), List.copyOf(damages), intact);
    }

    /** The end of the intact frame at {@code pos}, or -1 when none is there. */
    private static int frameEnd(ByteBuffer buf, int pos) {
        if (buf.limit() - pos < 12 || !isMagic(buf.getInt(pos))) {
            return -1;
        }
        int length = buf.getInt(pos + 4);
        if (length < 0 || length > buf.limit() - pos - 12) {
            return -1;
        }
        CRC32 crc = new CRC32();
        crc.update(slice(buf, pos + 8, length));
        return (int) crc.getValue() == buf.getInt(pos + 8 + length) ? pos + 12 + length : -1;
    }

    /**
     * What a crash while appending leaves at the end: a prefix of one frame (its marker, and fewer
     * bytes than its length says), or zeros where the file grew before its data reached the disk.
     */
    private static boolean isTornTail(ByteBuffer buf, int pos) {
        boolean zeros = true;
        for (int i = pos; i < buf.limit() && zeros; i++) {
            zeros = buf.get(i) == 0;
        }
        if (zeros) {
            return true;
        }
        int left = buf.limit() - pos;
        if (left < 4) {
            return true;
        }
        if (!isMagic(buf.getInt(pos))) {
            return false;
        }
        if (left < 8) {
            return true;
        }
        int length = buf.getInt(pos + 4);
        // A frame that reaches the end of the file or beyond it, with no other frame inside it.
        return length >= 0 && (long) length + 12 >= left && nextFrame(buf, pos + 1) < 0;
    }

    private static int nextFrame(ByteBuffer buf, int from) {
        for (int p = from; p + 12 <= buf.limit(); p++) {
            if (isMagic(buf.getInt(p)) && frameEnd(buf, p) > 0) {
                return p;
            }
        }
        return -1;
    }

    private static boolean isMagic(int word) {
        return word == MAGIC || word == MAGIC2;
    }

    private static byte[] slice(ByteBuffer buf, int from, int length) {
        byte[] out = new byte[length];
        buf.get(from, out);
        return out;
    }

    private static Entry decode(byte[] payload, long offset, boolean withOrigin) throws IOException {
        DataInputStream in = new DataInputStream(new java.io.ByteArrayInputStream(payload));
        long seq = in.readLong();
        long at = in.readLong();
        long xid = withOrigin ? in.readLong() : 0;
        String originJournal = withOrigin ? readString(in) : "";
        long originSeq = withOrigin ? in.readLong() : 0;
        Origin origin = originJournal.isEmpty() ? null : new Origin(originJournal, originSeq);
        int count = in.readInt();
        List<Write> writes = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            String sql = readString(in);
            int sets = in.readInt();
            List<List<Param>> parameterSets = new ArrayList<>();
            for (int s = 0; s < sets; s++) {
                int n = in.readInt();
                List<Param> set = new ArrayList<>();
                for (int p = 0; p < n; p++) {
                    set.add(readParam(in));
                }
                parameterSets.add(List.copyOf(set));
            }
            int copyLength = in.readInt();
            byte[] copy = copyLength < 0 ? null : in.readNBytes(copyLength);
            writes.add(new Write(sql, List.copyOf(parameterSets), copy));
        }
        return new Entry(seq, at, List.copyOf(writes), offset, xid, origin);
    }

    private static void writeParam(DataOutputStream out, Param p) throws IOException {
        out.writeInt(p.index());
        out.writeChar(p.type());
        out.writeInt(p.sqlType());
        Object v = p.value();
        switch (p.type()) {
            case Param.NULL -> out.writeInt((Integer) v);
            case 'i', 'h' -> out.writeInt(((Number) v).intValue());
            case 'l' -> out.writeLong((Long) v);
            case 'b' -> out.writeBoolean((Boolean) v);
            case 'd' -> out.writeDouble((Double) v);
            case 'f' -> out.writeFloat((Float) v);
            case 'y' -> {
                out.writeInt(((byte[]) v).length);
                out.write((byte[]) v);
            }
            case 't' -> {
                java.sql.Timestamp t = (java.sql.Timestamp) v;
                out.writeLong(t.getTime());
                out.writeInt(t.getNanos());
            }
            default -> writeString(out, String.valueOf(v));
        }
    }

    private static Param readParam(DataInputStream in) throws IOException {
        int index = in.readInt();
        char type = in.readChar();
        int sqlType = in.readInt();
        Object v = switch (type) {
            case Param.NULL -> in.readInt();
            case 'i', 'h' -> in.readInt();
            case 'l' -> in.readLong();
            case 'b' -> in.readBoolean();
            case 'd' -> in.readDouble();
            case 'f' -> in.readFloat();
            case 'y' -> in.readNBytes(in.readInt());
            case 't' -> {
                java.sql.Timestamp t = new java.sql.Timestamp(in.readLong());
                t.setNanos(in.readInt());
                yield t;
            }
            case 'D' -> new BigDecimal(readString(in));
            case 'a' -> java.sql.Date.valueOf(readString(in));
            case 'T' -> java.sql.Time.valueOf(readString(in));
            case 'u' -> UUID.fromString(readString(in));
            case 'o' -> OffsetDateTime.parse(readString(in));
            case 'L' -> LocalDateTime.parse(readString(in));
            case 'A' -> LocalDate.parse(readString(in));
            case 'M' -> LocalTime.parse(readString(in));
            default -> readString(in);
        };
        return new Param(index, type, v, sqlType);
    }

    private static void writeString(DataOutputStream out, String s) throws IOException {
        byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
        out.writeInt(bytes.length);
        out.write(bytes);
    }

    private static String readString(DataInputStream in) throws IOException {
        return new String(in.readNBytes(in.readInt()), StandardCharsets.UTF_8);
    }

    @Override
    public void close() {
        try {
            channel.close();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
