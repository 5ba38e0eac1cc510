package io.tsmigrate.core.plan;

import io.tsmigrate.core.time.TimeValues;
import io.tsmigrate.core.Human;
import io.tsmigrate.core.catalog.Catalog;
import io.tsmigrate.core.catalog.Catalog.Table;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.util.Optional;

/**
 * Counts the rows that matter to a hazard (NULL times, times in the future): exactly where that is
 * cheap (a small table, or an index on the time column), else estimated from statistics, so that
 * planning never scans a large production table.
 */
final class RowCounter {

    /** Tables up to this size are counted exactly even without an index. */
    static final long EXACT_COUNT_MAX_BYTES = 256L << 20;

    /** A row count, and whether it is exact. */
    record Count(long rows, boolean exact) {
        String describe() {
            return (exact ? "" : "about ") + Human.count(rows) + " row" + (rows == 1 ? "" : "s") + (exact ? "" : " (estimated)");
        }
    }

    private final Optional<Connection> connection;

    /** @param connection the source, or empty to estimate everything from statistics */
    RowCounter(Optional<Connection> connection) {
        this.connection = connection;
    }

    Count nullTimes(Table table, Catalog.Column column) {
        String where = io.tsmigrate.core.catalog.TableRef.quote(column.name()) + " IS NULL";
        double estimate = column.stats().map(Catalog.ColumnStats::nullFraction).orElse(0.0) * Math.max(table.estimatedRows(), 0);
        return count(table, column, where, estimate);
    }

    Count futureTimes(Table table, TimeColumns.Choice time, Instant now) {
        if (time.type().isInteger() && time.unit().isEmpty()) {
            return new Count(0, false);
        }
        String where = quoted(time) + " > " + TimeValues.literal(now, time.type(), time.unit());
        Optional<Instant> highest = time.column().stats().flatMap(Catalog.ColumnStats::highestBound)
                .flatMap(v -> TimeValues.toInstant(v, time.type(), time.unit()));
        double estimate = highest.filter(h -> h.isAfter(now)).isPresent() ? Math.max(1, table.estimatedRows() / 100) : 0;
        return count(table, time.column(), where, estimate);
    }

    private Count count(Table table, Catalog.Column column, String where, double estimate) {
        boolean cheap = table.totalBytes() <= EXACT_COUNT_MAX_BYTES || TimeColumns.leadsAnIndex(table, column.name());
        if (connection.isPresent() && cheap) {
            try (Statement st = connection.get().createStatement();
                 ResultSet rs = st.executeQuery("SELECT count(*) FROM " + table.ref().quoted() + " WHERE " + where)) {
                rs.next();
                return new Count(rs.getLong(1), true);
            } catch (SQLException e) {
                // Counting is a refinement; the estimate stands when the count is refused.
            }
        }
        return new Count(Math.round(estimate), false);
    }

    private static String quoted(TimeColumns.Choice time) {
        return io.tsmigrate.core.catalog.TableRef.quote(time.column().name());
    }
}
