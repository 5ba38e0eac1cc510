package io.tsmigrate.core.backfill;

import io.tsmigrate.core.TsmigrateException;
import io.tsmigrate.core.TsmigrateException.Kind;
import io.tsmigrate.core.catalog.TableRef;
import io.tsmigrate.core.connect.ConnectionSpec;
import io.tsmigrate.core.connect.PgConnector;
import io.tsmigrate.core.connect.PgErrors;
import io.tsmigrate.core.connect.Transactions;
import io.tsmigrate.core.plan.Plan;
import io.tsmigrate.core.state.BackfillRange;
import io.tsmigrate.core.state.BackfillRanges;
import io.tsmigrate.core.time.TimeRange;
import io.tsmigrate.core.time.TimeType;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

/**
 * What verify asks of the backfill: the ranges it would cut a span into, and copying a range or a
 * plain table again through the backfill's transactional path (its {@code --repair}). Kept apart
 * from {@link Backfill}, which runs a whole backfill.
 */
public final class Recopy {

    private Recopy() {
    }

    /**
     * Chunk-aligned ranges of {@code span} as the backfill would make them, without storing them
     * (for checking a table that was not backfilled by tsmigrate, or rows past T).
     */
    public static List<TimeRange> ranges(Connection source, Connection target, Plan.Hypertable h, TimeRange span,
                                         long maxRows) throws SQLException {
        TableCopy copy = TableCopy.prepare(source, target, h, span.type(), DirectCompression.Mode.OFF);
        RangePlanner.Density density = Bounds.density(source, copy);
        List<TimeRange> out = new ArrayList<>();
        for (RangePlanner.Span s : RangePlanner.plan(span.start(), span.end(), copy.chunkInterval(), density, maxRows)) {
            out.add(new TimeRange(span.type(), s.start(), s.end()));
        }
        return out;
    }

    /**
     * Copies one range again through the backfill's path: in one target transaction, DELETE the
     * target's rows of {@code [start, end)} and COPY the source's; the range's stored state, if any,
     * becomes done. Opens and closes its own connections.
     *
     * @return the rows copied
     */
    public static long range(ConnectionSpec sourceSpec, ConnectionSpec targetSpec, Plan.Hypertable h, TimeRange range) {
        TimeType type = range.type();
        try (Connection source = PgConnector.open(sourceSpec); Connection target = PgConnector.open(targetSpec)) {
            Backfill.requireSourceIsPrimary(target, "copying " + h.table() + " again");
            TableCopy copy = TableCopy.prepare(source, target, h, type, DirectCompression.Mode.AUTO);
            return Transactions.inTransactionInterruptibly(target, t -> {
                CopyPipe.Moved moved = RangeCopier.copy(source, t, copy, BackfillRange.unstored(h.table(), range), null, false,
                        (rows, bytes) -> { });
                BackfillRanges.markRecopied(t, h.table(), range, moved.rows());
                return moved.rows();
            });
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new TsmigrateException(Kind.INTERRUPTED, "interrupted while copying " + h.table() + " again.");
        } catch (SQLException e) {
            throw PgErrors.failure("copy " + h.table() + " " + range + " again", targetSpec, e);
        }
    }

    /**
     * Copies a plain table again: in one target transaction, delete its rows and COPY the source's.
     *
     * @return the rows copied
     */
    public static long table(ConnectionSpec sourceSpec, ConnectionSpec targetSpec, TableRef table) {
        try (Connection source = PgConnector.open(sourceSpec); Connection target = PgConnector.open(targetSpec)) {
            Backfill.requireSourceIsPrimary(target, "copying " + table + " again");
            RangeCopier.Job job = TableCopy.wholeTable(source, target, table);
            return Transactions.inTransactionInterruptibly(target, t -> RangeCopier.copy(source, t, job, null, false, (rows, bytes) -> { }).rows());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new TsmigrateException(Kind.INTERRUPTED, "interrupted while copying " + table + " again.");
        } catch (SQLException e) {
            throw PgErrors.failure("copy " + table + " again", targetSpec, e);
        }
    }
}
