package io.tsmigrate.core.backfill;

import io.tsmigrate.core.throttle.RateLimiter;

import io.tsmigrate.core.connect.PgConnector;
import org.postgresql.copy.CopyIn;
import org.postgresql.copy.CopyOut;

import java.sql.SQLException;

/**
 * Streams one COPY from the source into one COPY on the target with bounded memory and no
 * temporary file: rows are gathered into a buffer and written when it fills. Unlike pgjdbc's
 * {@code PGCopyOutputStream}, whose {@code close()} ends the copy and so commits partial data,
 * {@link #close()} here cancels both sides unless {@link #finish()} succeeded. Not thread-safe; one
 * worker owns it. After a failure the caller closes both connections (pgjdbc issue #3163).
 */
final class CopyPipe implements AutoCloseable {

    static final int BUFFER_BYTES = 1 << 18;

    /** What one transfer moved: rows as COPY reports them, and bytes of COPY data. */
    record Moved(long rows, long bytes) {
    }

    private final CopyOut out;
    private final CopyIn in;
    private boolean finished;

    /** Takes ownership of both copies; the caller opened them. */
    CopyPipe(CopyOut out, CopyIn in) {
        this.out = out;
        this.in = in;
    }

    /** Told of what passes to the target, buffer by buffer: rows (CopyData messages) and their bytes. */
    @FunctionalInterface
    interface Passing {
        void passed(long rows, long bytes);
    }

    /** CopyData messages gathered into one buffer: {@code length} bytes of {@code data}, {@code messages} rows. */
    record Chunk(byte[] data, int length, long messages) {
    }

    /**
     * What was read from the source before the target's copy began, in order; {@code complete} when
     * the source's copy ended within it.
     */
    record ReadAhead(java.util.List<Chunk> chunks, long bytes, boolean complete) {
        static final ReadAhead NONE = new ReadAhead(java.util.List.of(), 0, false);
    }

    /**
     * Reads the source's copy into memory, up to about {@code capBytes}: the source's transaction can
     * then end before the target takes the rows, however long the target makes it wait.
     */
    static ReadAhead readAhead(CopyOut out, long capBytes) throws SQLException, InterruptedException {
        java.util.List<Chunk> chunks = new java.util.ArrayList<>();
        Batches read = new Batches((data, length, messages) -> chunks.add(new Chunk(data, length, messages)), true);
        while (read.bytes < capBytes) {
            byte[] message = out.readFromCopy();
            if (message == null) {
                read.emit();
                return new ReadAhead(chunks, read.bytes, true);
            }
            read.add(message);
        }
        read.emit();
        return new ReadAhead(chunks, read.bytes, false);
    }

    /**
     * Moves everything the source sends, then ends both copies.
     *
     * @param ahead     what was read before the target's copy began (written first)
     * @param limiter   throttles rows (messages) or bytes; null for none
     * @param passing   told of rows and bytes as they pass, per buffer
     */
    Moved transfer(ReadAhead ahead, RateLimiter limiter, boolean limitBytes, Passing passing)
            throws SQLException, InterruptedException {
        for (Chunk c : ahead.chunks()) {
            flush(c.data(), c.length(), limiter, limitBytes, c.messages(), passing);
        }
        long bytes = ahead.bytes();
        if (!ahead.complete()) {
            Batches rest = new Batches((data, length, messages) -> flush(data, length, limiter, limitBytes, messages, passing), false);
            byte[] message;
            while ((message = out.readFromCopy()) != null) {
                rest.add(message);
            }
            rest.emit();
            bytes += rest.bytes;
        }
        long rows = in.endCopy();
        finished = true;
        return new Moved(rows, bytes);
    }

    /** Gathers CopyData messages into buffers of {@link #BUFFER_BYTES} and hands each one on, in order. */
    private static final class Batches {
        interface Sink {
            void accept(byte[] data, int length, long messages) throws SQLException, InterruptedException;
        }

        private final Sink sink;
        /** Whether the sink keeps what it is handed (a fresh buffer follows each one). */
        private final boolean kept;
        private byte[] buffer = new byte[BUFFER_BYTES];
        private int used;
        private long pending;
        long bytes;

        Batches(Sink sink, boolean kept) {
            this.sink = sink;
            this.kept = kept;
        }

        void add(byte[] message) throws SQLException, InterruptedException {
            if (Thread.interrupted()) {
                throw new InterruptedException("backfill stopped");
            }
            bytes += message.length;
            if (used + message.length > buffer.length && used > 0) {
                emit();
            }
            if (message.length > buffer.length) {
                sink.accept(message, message.length, 1);
                return;
            }
            System.arraycopy(message, 0, buffer, used, message.length);
            used += message.length;
            pending++;
        }

        void emit() throws SQLException, InterruptedException {
            if (used == 0) {
                return;
            }
            sink.accept(buffer, used, pending);
            if (kept) {
                buffer = new byte[BUFFER_BYTES];
            }
            used = 0;
            pending = 0;
        }
    }

    private void flush(byte[] buffer, int used, RateLimiter limiter, boolean limitBytes, long messages, Passing passing)
            throws SQLException, InterruptedException {
        if (limiter != null) {
            limiter.acquire(limitBytes ? used : messages);
        }
        in.writeToCopy(buffer, 0, used);
        passing.passed(messages, used);
    }

    /** Ends the target's copy (no rows came) when {@link #transfer} was not called. */
    boolean finished() {
        return finished;
    }

    @Override
    public void close() {
        if (finished) {
            return;
        }
        // Never end the target's COPY here: that would commit partial data into the transaction.
        if (in.isActive()) {
            PgConnector.closeQuietly(in::cancelCopy);
        }
        if (out.isActive()) {
            PgConnector.closeQuietly(out::cancelCopy);
        }
    }
}
