package io.tsmigrate.core.completion;

import io.tsmigrate.core.TsmigrateException;
import io.tsmigrate.core.TsmigrateException.Kind;
import io.tsmigrate.core.catalog.TableRef;
import io.tsmigrate.core.state.CompletionPoints;
import io.tsmigrate.core.time.TimeInput;
import io.tsmigrate.core.time.TimePoint;
import io.tsmigrate.core.time.TimeRange;
import io.tsmigrate.core.time.TimeType;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.Optional;

/**
 * How every command that works up to the completion point finds it and its window (backfill, verify,
 * and migrate through them): {@code --until} when given, else what is already settled for the table,
 * else the stored T of the table's time-type group, else a refusal; {@code --from} or the beginning
 * below it. What the user typed is parsed by {@link TimeInput}, so that every command accepts and
 * refuses the same values with the same sentence.
 */
public final class Until {

    private Until() {
    }

    /**
     * @param until   the {@code --until} flag
     * @param settled T already settled for the table (verify: the T its ranges were made up to)
     * @param none    the sentence saying there is no T, and what to do
     * @throws TsmigrateException USAGE for a bad {@code --until}; NOT_READY when there is no T
     */
    public static TimePoint resolve(Connection target, TimeType type, Optional<String> until, Optional<TimePoint> settled,
                                    String none) throws SQLException {
        if (until.isPresent()) {
            return TimeInput.point(target, until.get(), type, "--until");
        }
        if (settled.isPresent()) {
            return settled.get();
        }
        return CompletionPoints.get(target, type).orElseThrow(() -> new TsmigrateException(Kind.NOT_READY, none));
    }

    /**
     * {@code [--from, t)}, or {@code [beginning, t)} without {@code --from}.
     *
     * @param tName how to name {@code t} in an error: {@code T =} or {@code --until}
     * @param table the table the range is of, for an error
     * @param what  the work the range is for, in an error: {@code copy}, {@code check}
     * @throws TsmigrateException USAGE for a bad {@code --from}, or one not before {@code t}
     */
    public static TimeRange window(Connection target, TimePoint t, Optional<String> from, String tName, TableRef table,
                                   String what) throws SQLException {
        if (from.isEmpty()) {
            return TimePoint.lowest(t.type()).until(t);
        }
        TimePoint start = TimeInput.point(target, from.get(), t.type(), "--from");
        if (!start.isBefore(t)) {
            throw TsmigrateException.usage("--from " + start + " is not before " + tName + " " + t + " for " + table + "; the range to "
                    + what + " is empty.");
        }
        return start.until(t);
    }
}
