package io.tsmigrate.core.verify;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonProperty;
import io.tsmigrate.core.catalog.TableRef;
import io.tsmigrate.core.time.TimeAxis;
import io.tsmigrate.core.time.TimeRange;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

/**
 * Where every source row of a hypertable is: in the checked ranges, before their start, at or
 * past their end (past T: dual-written, compared only with --past-t), or with a NULL time (which
 * no hypertable can hold). The parts must add up to the source's row count: a check that compares
 * only ranges cannot otherwise see rows that fall in none of them.
 *
 * @param sourceRows  every row of the source table
 * @param checked     the rows the checked ranges counted on the source
 * @param beforeStart rows older than the first checked range (before --from)
 * @param pastEnd     rows at or past the end of the last checked range (past T, or past --past-t's instant)
 * @param nullTime    rows whose time is NULL: missing on the target by construction
 */
public record Accounting(long sourceRows, long checked, long beforeStart, long pastEnd, long nullTime) {

    /** The counts of one pass over the source table. */
    record Counts(long rows, long nullTime, long beforeStart, long pastEnd) {
    }

    /** Counts the source table's rows by where they fall against the {@code checked} span, in one pass. */
    static Counts count(Connection source, TableRef table, String quotedColumn, TimeRange checked) throws SQLException {
        TimeAxis axis = checked.axis();
        try (Statement st = source.createStatement(); ResultSet rs = st.executeQuery("SELECT count(*), count(*) FILTER (WHERE "
                + quotedColumn + " IS NULL), count(*) FILTER (WHERE " + quotedColumn + " < " + axis.cast(checked.startLiteral())
                + "), count(*) FILTER (WHERE " + quotedColumn + " >= " + axis.cast(checked.endLiteral()) + ") FROM " + table.quoted())) {
            rs.next();
            return new Counts(rs.getLong(1), rs.getLong(2), rs.getLong(3), rs.getLong(4));
        }
    }

    static Accounting of(Counts counts, long checked) {
        return new Accounting(counts.rows(), checked, counts.beforeStart(), counts.pastEnd(), counts.nullTime());
    }

    /** Rows in none of the parts (or counted twice, when negative): rows the check did not see. */
    @JsonProperty("unaccounted")
    public long unaccounted() {
        return sourceRows - checked - beforeStart - pastEnd - nullTime;
    }

    /** Every source row is in a part, and none has a NULL time. */
    @JsonIgnore
    public boolean complete() {
        return nullTime == 0 && unaccounted() == 0;
    }

    /** What is wrong, in a few words; empty when {@link #complete()}. */
    String problem(String timeColumn) {
        StringBuilder out = new StringBuilder();
        if (nullTime > 0) {
            out.append(nullTime).append(" source row(s) have a NULL ").append(timeColumn)
                    .append(": no hypertable can hold them, so they are missing on the target");
        }
        if (unaccounted() != 0) {
            out.append(out.length() > 0 ? "; " : "").append(Math.abs(unaccounted())).append(" source row(s) are in no checked part")
                    .append(" (rows changed on the source below T while the check ran?)");
        }
        return out.toString();
    }
}
