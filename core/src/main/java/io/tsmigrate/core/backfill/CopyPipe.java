package io.tsmigrate.core.backfill;

import io.tsmigrate.core.throttle.RateLimiter;

import io.tsmigrate.core.connect.PgConnector;
import org.postgresql.copy.CopyIn;
import org.postgresql.copy.CopyOut;

import java.sql.SQLException;
import java.util.function.LongConsumer;

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

    /**
     * Moves everything the source sends, then ends both copies.
     *
     * @param limiter throttles rows (messages) or bytes; null for none
     * @param rowsSoFar told of rows (CopyData messages) as they pass, per buffer
     */
    Moved transfer(RateLimiter limiter, boolean limitBytes, LongConsumer rowsSoFar) throws SQLException, InterruptedException {
        byte[] buffer = new byte[BUFFER_BYTES];
        int used = 0;
        long messages = 0;
        long bytes = 0;
        long batchMessages = 0;
        byte[] message;
        while ((message = out.readFromCopy()) != null) {
            if (used + message.length > buffer.length && used > 0) {
                flush(buffer, used, limiter, limitBytes, batchMessages, rowsSoFar);
                used = 0;
                batchMessages = 0;
            }
            if (message.length > buffer.length) {
                in.writeToCopy(message, 0, message.length);
            } else {
                System.arraycopy(message, 0, buffer, used, message.length);
                used += message.length;
            }
            messages++;
            batchMessages++;
            bytes += message.length;
            if (Thread.interrupted()) {
                throw new InterruptedException("backfill stopped");
            }
        }
        if (used > 0) {
            flush(buffer, used, limiter, limitBytes, batchMessages, rowsSoFar);
        }
        long rows = in.endCopy();
        finished = true;
        return new Moved(rows, bytes);
    }

    private void flush(byte[] buffer, int used, RateLimiter limiter, boolean limitBytes, long messages, LongConsumer rowsSoFar)
            throws SQLException, InterruptedException {
        if (limiter != null) {
            limiter.acquire(limitBytes ? used : messages);
        }
        in.writeToCopy(buffer, 0, used);
        rowsSoFar.accept(messages);
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
