package io.tsmigrate.dualwrite;

import io.tsmigrate.dualwrite.Write.Param;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
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
 * forced to disk before {@link #append} returns. A torn last entry (a crash while appending) fails
 * its CRC and is ignored: its transaction never returned to the application as journaled.
 * Thread-safe.
 */
public final class Journal implements AutoCloseable {

    private static final int MAGIC = 0x54534A31; // "TSJ1"

    /** One journaled transaction. */
    public record Entry(long seq, long atMillis, List<Write> writes) {
    }

    private final Path file;
    private final FileChannel channel;
    private long nextSeq;

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
        Files.createDirectories(directory);
        Path file = directory.resolve(fileName(writer + "-" + side));
        long next = 1;
        if (Files.exists(file)) {
            List<Entry> existing = read(file);
            next = existing.isEmpty() ? 1 : existing.get(existing.size() - 1).seq() + 1;
        }
        FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.APPEND);
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
    synchronized long append(List<Write> writes) throws IOException {
        long seq = nextSeq++;
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        DataOutputStream out = new DataOutputStream(body);
        out.writeLong(seq);
        out.writeLong(System.currentTimeMillis());
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
        frame.putInt(MAGIC).putInt(payload.length).put(payload).putInt((int) crc.getValue()).flip();
        while (frame.hasRemaining()) {
            channel.write(frame);
        }
        channel.force(false);
        return seq;
    }

    /** Every intact entry of a journal file, in order. */
    public static List<Entry> read(Path file) throws IOException {
        List<Entry> entries = new ArrayList<>();
        try (InputStream raw = Files.newInputStream(file); DataInputStream in = new DataInputStream(new java.io.BufferedInputStream(raw))) {
            while (true) {
                int magic;
                try {
                    magic = in.readInt();
                } catch (EOFException end) {
                    break;
                }
                if (magic != MAGIC) {
                    break;
                }
                try {
                    int length = in.readInt();
                    byte[] payload = in.readNBytes(length);
                    int expected = in.readInt();
                    CRC32 crc = new CRC32();
                    crc.update(payload);
                    if (payload.length != length || (int) crc.getValue() != expected) {
                        break; // a torn tail: the append never completed
                    }
                    entries.add(decode(payload));
                } catch (EOFException torn) {
                    break;
                }
            }
        }
        return entries;
    }

    private static Entry decode(byte[] payload) throws IOException {
        DataInputStream in = new DataInputStream(new java.io.ByteArrayInputStream(payload));
        long seq = in.readLong();
        long at = in.readLong();
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
        return new Entry(seq, at, List.copyOf(writes));
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
