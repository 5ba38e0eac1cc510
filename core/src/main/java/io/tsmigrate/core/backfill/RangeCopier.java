package io.tsmigrate.core.backfill;

import io.tsmigrate.core.throttle.RateLimiter;

import io.tsmigrate.core.state.BackfillRange;
import io.tsmigrate.core.time.TimeRange;
import io.tsmigrate.core.TsmigrateException;
import io.tsmigrate.core.TsmigrateException.Kind;
import org.postgresql.PGConnection;
import org.postgresql.copy.CopyIn;
import org.postgresql.copy.CopyOut;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.function.LongConsumer;

/**
 * Copies one range (runbook steps 6b and 6c as one transaction): in the target transaction that
 * holds the range's claim, decompress the compressed chunks the range overlaps (see
 * {@link TableCopy#decompress}), DELETE the rows dual-writing already put there, then stream the
 * source's rows of the range in with COPY. The caller marks the range done and commits; if
 * anything fails, the rollback leaves the range as it was.
 */
final class RangeCopier {

    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(RangeCopier.class);

    private RangeCopier() {
    }

    /**
     * One copy: which rows to delete on the target and which to copy from the source.
     *
     * @param copyOuts the source's COPYs, each run in a short transaction of its own (one snapshot
     *                 each) into a COPY of its own in the target's one transaction
     * @param decompress SQL that decompresses the compressed chunks the copy touches and returns
     *                   how many it did, or null when the table does not compress
     * @param triggers user triggers on the target table, which must not fire for copied rows
     * @param skipForeignKeys do not check the table's foreign keys (or those into it) for this transaction either
     * @param decompressed where to count the chunks decompressed (null with no {@code decompress})
     * @param directCompress COPY straight into the columnstore ({@link DirectCompression}); the
     *                       DELETE may then decompress as many of the range's own batches as it needs
     */
    record Job(io.tsmigrate.core.catalog.TableRef table, String decompress, String delete, java.util.List<String> copyOuts, String copyIn,
               java.util.List<String> triggers, boolean skipForeignKeys, java.util.concurrent.atomic.LongAdder decompressed,
               boolean directCompress) {
    }

    /**
     * @param source a connection used for nothing else (auto-commit is turned off here)
     * @param target the connection whose open transaction holds the claim
     */
    static CopyPipe.Moved copy(Connection source, Connection target, TableCopy table, BackfillRange range,
                               RateLimiter limiter, boolean limitBytes, LongConsumer rowsSoFar)
            throws SQLException, InterruptedException {
        List<TimeRange> pieces = pieces(range, limiter == null || limitBytes ? Double.POSITIVE_INFINITY : limiter.permitsPerSecond());
        return copy(source, target, new Job(table.table(), table.decompress(range), table.delete(range), table.copyOuts(pieces),
                table.copyIn(), table.triggers(), table.skipForeignKeys(), table.decompressed(), table.path().direct()), limiter,
                limitBytes, rowsSoFar);
    }

    static CopyPipe.Moved copy(Connection source, Connection target, Job table, RateLimiter limiter, boolean limitBytes,
                               LongConsumer rowsSoFar) throws SQLException, InterruptedException {
        // An error aborts a transaction at once, releasing the claim's row lock before the caller
        // could record the failure; inside a savepoint only the copy is undone, and the caller's
        // transaction, with its claim, stays usable to mark the range failed.
        java.sql.Savepoint copying = target.getAutoCommit() ? null : target.setSavepoint();
        try {
            CopyPipe.Moved moved = copyInside(source, target, table, limiter, limitBytes, rowsSoFar);
            if (copying != null) {
                target.releaseSavepoint(copying);
            }
            return moved;
        } catch (SQLException | RuntimeException | InterruptedException e) {
            if (copying != null && !target.isClosed()) {
                try {
                    target.rollback(copying);
                } catch (SQLException lost) {
                    e.addSuppressed(lost);
                }
            }
            throw e;
        }
    }

    private static CopyPipe.Moved copyInside(Connection source, Connection target, Job table, RateLimiter limiter,
                                             boolean limitBytes, LongConsumer rowsSoFar) throws SQLException, InterruptedException {
        try (Statement st = target.createStatement()) {
            if (!table.triggers().isEmpty() || table.skipForeignKeys()) {
                try {
                    // Replica mode keeps user triggers (and foreign-key checks) from firing for the
                    // backfilled rows, for this transaction only; dual-writes are not affected.
                    st.execute("SET LOCAL session_replication_role = replica");
                } catch (SQLException e) {
                    if ("42501".equals(e.getSQLState())) {
                        throw new TsmigrateException(Kind.NOT_READY, "cannot keep the triggers and foreign keys of "
                                + table.table() + " (" + String.join(", ", table.triggers()) + ") from firing for copied rows: setting "
                                + "session_replication_role needs a superuser, or GRANT SET ON PARAMETER session_replication_role "
                                + "to the target role (PostgreSQL 15+); or disable the triggers while the backfill runs.", e);
                    }
                    throw e;
                }
            }
            if (table.directCompress()) {
                // A re-run's DELETE decompresses the batches the range wrote before: as many as it has rows.
                st.execute("SET LOCAL timescaledb.max_tuples_decompressed_per_dml_transaction = 0");
                st.execute("SET LOCAL " + DirectCompression.SETTING + " = on");
            }
            if (table.decompress() != null) {
                try (java.sql.ResultSet rs = st.executeQuery(table.decompress())) {
                    rs.next();
                    table.decompressed().add(rs.getLong(1));
                }
            }
            st.execute(table.delete());
        }
        long rows = 0;
        long bytes = 0;
        for (String copyOut : table.copyOuts()) {
            CopyPipe.Moved moved = copyPiece(source, target, copyOut, table, limiter, limitBytes, rowsSoFar);
            rows += moved.rows();
            bytes += moved.bytes();
        }
        return new CopyPipe.Moved(rows, bytes);
    }

    /**
     * Rows per piece of a range when nothing slows the copy: about a second of copying, so that the
     * source's snapshot of a piece is short (a snapshot held open keeps the source's vacuum and HOT
     * pruning from removing what concurrent updates left behind, and slows its busiest tables).
     */
    static final long PIECE_ROWS = 100_000;
    /** At most this many pieces per range. */
    static final int MAX_PIECES = 1_000;

    /**
     * A range cut in time into pieces of about {@link #PIECE_ROWS} rows, or about a second's worth
     * at {@code rowsPerSecond} when the copy is paced slower (by its estimate of the range's rows,
     * spread evenly in time): each piece is read from the source in a snapshot of its own, so no
     * snapshot outlives a second or two of copying however slow the pace. The target's transaction
     * still holds the whole range. A range without an estimate, or open at its start, is one piece.
     */
    static List<TimeRange> pieces(BackfillRange range, double rowsPerSecond) {
        TimeRange r = range.range();
        long perPiece = Math.max(1_000, (long) Math.min(PIECE_ROWS, rowsPerSecond));
        long count = Math.min(MAX_PIECES, (range.estimatedRows() + perPiece - 1) / perPiece);
        if (count <= 1 || r.start() == io.tsmigrate.core.time.TimeAxis.LOWEST) {
            return List.of(r);
        }
        double width = (double) r.end() - (double) r.start();
        List<TimeRange> out = new ArrayList<>();
        long at = r.start();
        for (long i = 1; i <= count; i++) {
            long next = i == count ? r.end() : r.start() + (long) (width * i / count);
            if (next > at && next <= r.end()) {
                out.add(new TimeRange(r.type(), at, next));
                at = next;
            }
        }
        return out;
    }

    private static CopyPipe.Moved copyPiece(Connection source, Connection target, String copyOut, Job table, RateLimiter limiter,
                                            boolean limitBytes, LongConsumer rowsSoFar) throws SQLException, InterruptedException {
        source.setAutoCommit(false);
        source.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
        source.setReadOnly(true);
        try {
            CopyOut out = source.unwrap(PGConnection.class).getCopyAPI().copyOut(copyOut);
            CopyIn in;
            try {
                in = target.unwrap(PGConnection.class).getCopyAPI().copyIn(table.copyIn());
            } catch (SQLException e) {
                io.tsmigrate.core.connect.PgConnector.closeQuietly(out::cancelCopy);
                throw e;
            }
            CopyPipe.Moved moved;
            target.clearWarnings();
            try (CopyPipe pipe = new CopyPipe(out, in)) {
                moved = pipe.transfer(limiter, limitBytes, rowsSoFar);
            }
            if (table.directCompress()) {
                java.util.Optional<String> refused = DirectCompression.refusal(target.getWarnings());
                if (refused.isPresent()) {
                    // Never silent: the rows are in the rowstore, correct but uncompressed.
                    LOG.warn("{}: TimescaleDB copied a range into the rowstore after all: {}", table.table(), refused.get());
                }
            }
            source.commit();
            return moved;
        } finally {
            if (!source.isClosed()) {
                try {
                    source.rollback();
                } catch (SQLException ignored) {
                    // The connection is broken; the worker replaces it.
                }
            }
        }
    }
}
