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
     * @param reads    the source's COPYs, each run in a short transaction of its own (one snapshot
     *                 each) into a COPY of its own in the target's one transaction; a fresh sequence
     *                 for every copy, so that a job copied again reads everything again
     * @param decompress SQL that decompresses the compressed chunks the copy touches and returns
     *                   how many it did, or null when the table does not compress
     * @param triggers user triggers on the target table, which must not fire for copied rows
     * @param skipForeignKeys do not check the table's foreign keys (or those into it) for this transaction either
     * @param decompressed where to count the chunks decompressed (null with no {@code decompress})
     * @param directCompress COPY straight into the columnstore ({@link DirectCompression}); the
     *                       DELETE may then decompress as many of the range's own batches as it needs
     */
    record Job(io.tsmigrate.core.catalog.TableRef table, String decompress, String delete, java.util.function.Supplier<Reads> reads,
               String copyIn,
               java.util.List<String> triggers, boolean skipForeignKeys, java.util.concurrent.atomic.LongAdder decompressed,
               boolean directCompress) {
    }

    /**
     * @param source a connection used for nothing else (auto-commit is turned off here)
     * @param target the connection whose open transaction holds the claim
     */
    static CopyPipe.Moved copy(Connection source, Connection target, TableCopy table, BackfillRange range,
                               RateLimiter limiter, boolean limitBytes, CopyPipe.Passing passing)
            throws SQLException, InterruptedException {
        return copy(source, target, new Job(table.table(), table.decompress(range), table.delete(range), () -> table.reads(range),
                table.copyIn(), table.triggers(), table.skipForeignKeys(), table.decompressed(), table.path().direct()), limiter,
                limitBytes, passing);
    }

    static CopyPipe.Moved copy(Connection source, Connection target, Job table, RateLimiter limiter, boolean limitBytes,
                               CopyPipe.Passing passing) throws SQLException, InterruptedException {
        // An error aborts a transaction at once, releasing the claim's row lock before the caller
        // could record the failure; inside a savepoint only the copy is undone, and the caller's
        // transaction, with its claim, stays usable to mark the range failed.
        java.sql.Savepoint copying = target.getAutoCommit() ? null : target.setSavepoint();
        try {
            CopyPipe.Moved moved = copyInside(source, target, table, limiter, limitBytes, passing);
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
                                             boolean limitBytes, CopyPipe.Passing passing) throws SQLException, InterruptedException {
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
        Reads reads = table.reads().get();
        // A paced copy reads each piece at full speed into memory and waits between pieces, when no
        // snapshot is open on the source: a COPY held back by the limiter (or by the target) would keep
        // its snapshot, and the source's horizon, for as long, and slow the source's busiest tables.
        boolean between = limiter != null && reads.pacedBetween();
        for (java.util.Optional<String> copyOut = reads.next(pace(limiter, limitBytes)); copyOut.isPresent();
             copyOut = reads.next(pace(limiter, limitBytes))) {
            CopyPipe.Moved moved = copyPiece(source, target, copyOut.get(), table, between ? null : limiter, limitBytes, between,
                    passing);
            rows += moved.rows();
            bytes += moved.bytes();
            if (between) {
                limiter.pay(limitBytes ? moved.bytes() : moved.rows());
            }
        }
        return new CopyPipe.Moved(rows, bytes);
    }

    /** Rows per second the limiter allows now; a byte rate, or none, counts as no row pace. */
    private static double pace(RateLimiter limiter, boolean limitBytes) {
        return limiter == null || limitBytes ? Double.POSITIVE_INFINITY : limiter.permitsPerSecond();
    }

    /**
     * Rows per piece of a range when nothing slows the copy: about a second of copying, so that the
     * source's snapshot of a piece is short (a snapshot held open keeps the source's vacuum and HOT
     * pruning from removing what concurrent updates left behind, and slows its busiest tables).
     */
    static final long PIECE_ROWS = 100_000;
    /** The most a paced piece reads into memory before the target takes it; a larger piece streams the rest. */
    static final long READ_AHEAD_BYTES = 32L << 20;
    /** At most this many pieces per range. */
    static final int MAX_PIECES = 1_000;

    /** What a copy reads from the source, one COPY at a time, each in a snapshot of its own. */
    interface Reads {
        /**
         * @param rowsPerSecond the pace now ({@code Double.POSITIVE_INFINITY} when nothing slows the copy)
         * @return the next COPY, or empty when all is read
         */
        java.util.Optional<String> next(double rowsPerSecond);

        /** Whether each read is short (about a second's worth, at most a range), so that the pace is kept between reads. */
        default boolean pacedBetween() {
            return false;
        }
    }

    /** One COPY: a whole table. */
    static Reads once(String copyOut) {
        boolean[] done = {false};
        return rate -> {
            if (done[0]) {
                return java.util.Optional.empty();
            }
            done[0] = true;
            return java.util.Optional.of(copyOut);
        };
    }

    /**
     * A range read in pieces cut in time as the copy goes: about {@link #PIECE_ROWS} rows each, or
     * about a second's worth at the pace when the piece starts (by the range's estimate of its rows,
     * taken as spread evenly in time), so that no snapshot on the source outlives a second or two of
     * copying however slow the pace, or however it changes. The target's transaction still holds the
     * whole range. A range without an estimate, or open at its start, is read whole. In descending
     * order the pieces are cut from the end, for a columnstore that wants time descending.
     */
    static final class Pieces implements Reads {
        private final java.util.function.Function<TimeRange, String> copyOut;
        private final boolean descending;
        private final long fewestPerPiece;
        private TimeRange left;
        private long leftRows;

        Pieces(BackfillRange range, boolean descending, java.util.function.Function<TimeRange, String> copyOut) {
            this.copyOut = copyOut;
            this.descending = descending;
            this.left = range.range();
            this.leftRows = range.estimatedRows();
            this.fewestPerPiece = Math.max(1_000, (range.estimatedRows() + MAX_PIECES - 1) / MAX_PIECES);
        }

        @Override
        public java.util.Optional<String> next(double rowsPerSecond) {
            return nextRange(rowsPerSecond).map(copyOut);
        }

        @Override
        public boolean pacedBetween() {
            return true;
        }

        java.util.Optional<TimeRange> nextRange(double rowsPerSecond) {
            if (left == null) {
                return java.util.Optional.empty();
            }
            long perPiece = Math.max(fewestPerPiece, (long) Math.min(PIECE_ROWS, rowsPerSecond));
            TimeRange r = left;
            if (leftRows <= perPiece * 3 / 2 || r.start() == io.tsmigrate.core.time.TimeAxis.LOWEST) {
                left = null;
                return java.util.Optional.of(r);
            }
            long width = Math.max(1, (long) (((double) r.end() - (double) r.start()) * perPiece / leftRows));
            long cut = descending ? r.end() - width : r.start() + width;
            if (cut <= r.start() || cut >= r.end()) {
                left = null;
                return java.util.Optional.of(r);
            }
            leftRows -= perPiece;
            if (descending) {
                left = new TimeRange(r.type(), r.start(), cut);
                return java.util.Optional.of(new TimeRange(r.type(), cut, r.end()));
            }
            left = new TimeRange(r.type(), cut, r.end());
            return java.util.Optional.of(new TimeRange(r.type(), r.start(), cut));
        }
    }

    /**
     * One COPY from the source into the target's transaction. {@code readAhead}: the rows are read
     * into memory first (up to {@link #READ_AHEAD_BYTES}) and the source's transaction ends before the
     * target takes them, so that a target that makes the copy wait (another range's transaction
     * holding the chunk it creates) never keeps a snapshot open on the source meanwhile.
     */
    private static CopyPipe.Moved copyPiece(Connection source, Connection target, String copyOut, Job table, RateLimiter limiter,
                                            boolean limitBytes, boolean readAhead, CopyPipe.Passing passing)
            throws SQLException, InterruptedException {
        source.setAutoCommit(false);
        source.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
        source.setReadOnly(true);
        try {
            CopyOut out = source.unwrap(PGConnection.class).getCopyAPI().copyOut(copyOut);
            CopyPipe.ReadAhead ahead = CopyPipe.ReadAhead.NONE;
            CopyIn in;
            try {
                if (readAhead) {
                    ahead = CopyPipe.readAhead(out, READ_AHEAD_BYTES);
                    if (ahead.complete()) {
                        source.commit();
                    }
                }
                in = target.unwrap(PGConnection.class).getCopyAPI().copyIn(table.copyIn());
            } catch (SQLException | InterruptedException e) {
                if (out.isActive()) {
                    io.tsmigrate.core.connect.PgConnector.closeQuietly(out::cancelCopy);
                }
                throw e;
            }
            CopyPipe.Moved moved;
            target.clearWarnings();
            try (CopyPipe pipe = new CopyPipe(out, in)) {
                moved = pipe.transfer(ahead, limiter, limitBytes, passing);
            }
            if (table.directCompress()) {
                java.util.Optional<String> refused = DirectCompression.refusal(target.getWarnings());
                if (refused.isPresent()) {
                    // Never silent: the rows are in the rowstore, correct but uncompressed.
                    LOG.warn("{}: TimescaleDB copied a range into the rowstore after all: {}", table.table(), refused.get());
                }
            }
            if (!ahead.complete()) {
                source.commit();
            }
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
