package io.tsmigrate.core.backfill;

import io.tsmigrate.core.TsmigrateException;
import io.tsmigrate.core.catalog.Hypertables;
import io.tsmigrate.core.catalog.TableRef;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * Whether a hypertable's ranges are copied straight into the columnstore (TimescaleDB's direct
 * compression during COPY, {@code timescaledb.enable_direct_compress_copy}, TimescaleDB 2.21+ with
 * the timescale license) or into the rowstore, compressed later by {@code --compress} or the policy.
 *
 * <p>TimescaleDB falls back to the rowstore, with a WARNING, when the hypertable has a unique or
 * primary key, an exclusion constraint, or any trigger besides its own insert blocker (a foreign
 * key's checks are triggers too, in either direction), and before 2.24 when continuous aggregates
 * are built on it. This class checks the same conditions on the target's catalog before the first
 * range, so the plan, {@code backfill --dry-run} and the result say which path each table takes and
 * why; the COPY's warnings are still watched ({@link #refusal}) in case a version adds a condition.
 */
public final class DirectCompression {

    /** The setting that turns direct compression on for a COPY, from TimescaleDB 2.21. */
    static final String SETTING = "timescaledb.enable_direct_compress_copy";

    /** How the operator chose: {@code auto} where eligible, {@code on} (refuse where not), {@code off}. */
    public enum Mode {
        AUTO, ON, OFF;

        public static Mode parse(String s) {
            try {
                return valueOf(s.strip().toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw TsmigrateException.usage("--direct-compress takes auto, on or off, not '" + s + "'.");
            }
        }
    }

    /**
     * The path a table's ranges take.
     *
     * @param direct  straight into the columnstore
     * @param why     one phrase: why not, or what the direct path does
     * @param orderBy the time column's ORDER BY for the source query (only with {@code direct}, and
     *                only when an index on the source makes it cheap), else empty
     */
    public record Path(boolean direct, String why, Optional<String> orderBy) {

        static Path rowstore(String why) {
            return new Path(false, why, Optional.empty());
        }

        /** Where the rows go: "columnstore" or "rowstore". */
        public String store() {
            return direct ? "columnstore" : "rowstore";
        }
    }

    private DirectCompression() {
    }

    /**
     * Why the target cannot compress during COPY at all (its license, or a TimescaleDB before
     * 2.21), or empty when it can.
     */
    public static Optional<String> unsupported(Connection target) throws SQLException {
        try (Statement st = target.createStatement(); ResultSet rs = st.executeQuery("SELECT (SELECT extversion FROM pg_extension "
                + "WHERE extname = 'timescaledb'), coalesce(current_setting('timescaledb.license', true), 'apache'), "
                + "current_setting('" + SETTING + "', true) IS NOT NULL")) {
            rs.next();
            String version = rs.getString(1);
            if (version == null) {
                return Optional.of("the target has no TimescaleDB");
            }
            if (rs.getString(2).equals("apache")) {
                return Optional.of("the target's TimescaleDB " + version + " is the Apache build, which cannot compress");
            }
            if (!rs.getBoolean(3)) {
                return Optional.of("the target's TimescaleDB " + version + " has no direct compression (2.21 or later has it)");
            }
            return Optional.empty();
        }
    }

    /**
     * Decides the path of one hypertable that exists on the target.
     *
     * @param source where the rows come from: an index on the time column there lets the copy hand
     *               them over in time order
     * @throws TsmigrateException USAGE with {@code on} when the table cannot take the direct path
     */
    public static Path decide(Connection source, Connection target, TableRef table, String timeColumn, Mode mode) throws SQLException {
        if (mode == Mode.OFF) {
            return Path.rowstore("--direct-compress off");
        }
        Optional<String> why = unsupported(target);
        if (why.isEmpty() && !Hypertables.compresses(target, table)) {
            why = Optional.of("it has no compression settings on the target");
        }
        if (why.isEmpty()) {
            List<String> obstacles = obstacles(target, table);
            if (!obstacles.isEmpty()) {
                why = Optional.of("TimescaleDB does not compress a COPY into a table with " + String.join(", ", obstacles));
            }
        }
        if (why.isPresent()) {
            if (mode == Mode.ON) {
                throw TsmigrateException.usage("--direct-compress on, but " + table + " cannot be backfilled into the columnstore: "
                        + why.get() + "; use --direct-compress auto to copy it into the rowstore.");
            }
            return Path.rowstore(why.get());
        }
        Optional<String> orderBy = timeOrder(target, table, timeColumn).filter(o -> indexedOn(source, table, timeColumn));
        return new Path(true, orderBy.map(o -> "each range's rows in time order (an index on the source), compressed as they arrive")
                .orElse("compressed as they arrive, each batch sorted by TimescaleDB (no index on the source's time column to "
                        + "order them by)"), orderBy);
    }

    /**
     * What keeps TimescaleDB from compressing a COPY into this hypertable, each as "kind name":
     * unique keys, exclusion constraints, triggers (a foreign key's, in either direction, named by
     * its constraint), continuous aggregates (before 2.24).
     */
    static List<String> obstacles(Connection target, TableRef table) throws SQLException {
        List<String> out = new ArrayList<>();
        try (PreparedStatement ps = target.prepareStatement("""
                SELECT 'unique key ' || i.indexrelid::regclass::text FROM pg_index i
                 WHERE i.indrelid = to_regclass(?) AND (i.indisunique OR i.indisprimary)
                UNION ALL
                SELECT 'exclusion constraint ' || conname FROM pg_constraint WHERE conrelid = to_regclass(?) AND contype = 'x'
                UNION ALL
                SELECT DISTINCT CASE WHEN t.tgconstraint <> 0 AND c.contype = 'f'
                                     THEN 'foreign key ' || c.conname || ' (its checks are triggers)'
                                     ELSE 'trigger ' || t.tgname END
                  FROM pg_trigger t LEFT JOIN pg_constraint c ON c.oid = t.tgconstraint
                 WHERE t.tgrelid = to_regclass(?) AND t.tgname <> 'ts_insert_blocker'
                UNION ALL
                SELECT 'continuous aggregate ' || format('%I.%I', view_schema, view_name)
                  FROM timescaledb_information.continuous_aggregates
                 WHERE format('%I.%I', hypertable_schema, hypertable_name)::regclass = to_regclass(?)
                   AND (SELECT string_to_array(split_part(extversion, '-', 1), '.')::int[] < '{2,24}'
                          FROM pg_extension WHERE extname = 'timescaledb')
                """)) {
            for (int i = 1; i <= 4; i++) {
                ps.setString(i, table.quoted());
            }
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(rs.getString(1));
                }
            }
        }
        return out;
    }

    /**
     * The ORDER BY the hypertable's compression wants of the time column, when the time column is
     * its first order-by column: {@code "time" DESC} for the usual {@code time DESC}.
     */
    private static Optional<String> timeOrder(Connection target, TableRef table, String timeColumn) throws SQLException {
        try (PreparedStatement ps = target.prepareStatement("SELECT orderby_asc FROM timescaledb_information.compression_settings "
                + "WHERE hypertable_schema = ? AND hypertable_name = ? AND attname = ? AND orderby_column_index = 1")) {
            ps.setString(1, table.schema());
            ps.setString(2, table.name());
            ps.setString(3, timeColumn);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? Optional.of(TableRef.quote(timeColumn) + (rs.getBoolean(1) ? "" : " DESC")) : Optional.empty();
            }
        }
    }

    /** Whether an index on the source (its own, or on every partition's parent) leads with the time column. */
    private static boolean indexedOn(Connection source, TableRef table, String timeColumn) {
        try (PreparedStatement ps = source.prepareStatement("SELECT EXISTS (SELECT FROM pg_index i JOIN pg_attribute a "
                + "ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0] WHERE i.indrelid = to_regclass(?) AND a.attname = ?)")) {
            ps.setString(1, table.quoted());
            ps.setString(2, timeColumn);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() && rs.getBoolean(1);
            }
        } catch (SQLException e) {
            return false; // unordered is never wrong, only less tidy
        }
    }

    /**
     * TimescaleDB's own refusal among a COPY's warnings ("disabling direct compress because ..."),
     * when it took the rowstore path after all.
     */
    static Optional<String> refusal(java.sql.SQLWarning warnings) {
        for (java.sql.SQLWarning w = warnings; w != null; w = w.getNextWarning()) {
            String m = w.getMessage();
            if (m != null && m.contains("disabling direct compress")) {
                return Optional.of(m);
            }
        }
        return Optional.empty();
    }
}
