package io.tsmigrate.core.backfill;

import io.tsmigrate.core.state.BackfillRange;
import io.tsmigrate.core.time.TimeAxis;
import io.tsmigrate.core.TsmigrateException;
import io.tsmigrate.core.TsmigrateException.Kind;
import io.tsmigrate.core.catalog.Hypertables;
import io.tsmigrate.core.catalog.TableRef;
import io.tsmigrate.core.plan.Plan;
import io.tsmigrate.core.time.TimeRange;
import io.tsmigrate.core.time.TimeType;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;
import java.util.stream.Collectors;

/**
 * How one hypertable is copied, decided once before its ranges: the columns (matched by name;
 * the target's generated columns left out), binary COPY or the text fallback (when a column's type
 * is not built in, its binary form carries server-specific type OIDs), the target's chunk
 * interval, the user triggers that must not fire for backfilled rows, whether its foreign keys'
 * per-row checks are skipped for backfilled rows (they held on the source; {@code tsmigrate
 * constraints} checks them once, set-based, afterwards), and whether the target hypertable
 * compresses (then a range first decompresses the compressed chunks it overlaps, counted in
 * {@code decompressed}), and the path its rows take: into the rowstore, or straight into the
 * columnstore ({@link DirectCompression}: no chunk is decompressed first, the rows come in the
 * order the compression wants when that is cheap for the source).
 */
record TableCopy(Plan.Hypertable plan, TimeAxis axis, List<String> columns, boolean binary, long chunkInterval,
                 List<String> triggers, boolean skipForeignKeys, boolean compresses, LongAdder decompressed,
                 DirectCompression.Path path) {

    /** PostgreSQL's first OID for user-defined objects: types below it are built in. */
    private static final long FIRST_NORMAL_OID = 16384;

    TableRef table() {
        return plan.table();
    }

    String quotedTime() {
        return TableRef.quote(plan.timeColumn());
    }

    String columnList() {
        return columns.stream().map(TableRef::quote).collect(Collectors.joining(", "));
    }

    String format() {
        return binary ? "binary" : "text";
    }

    String copyOut(TimeRange r) {
        return "COPY (SELECT " + columnList() + " FROM " + table().quoted() + " WHERE "
                + r.where(quotedTime()) + path.orderBy().map(o -> " ORDER BY " + o).orElse("") + ") TO STDOUT (FORMAT "
                + format() + ")";
    }

    /**
     * What a range reads from the source: pieces cut as the copy goes ({@link RangeCopier.Pieces}),
     * from the end when the rows go straight to a columnstore that wants time descending.
     */
    RangeCopier.Reads reads(BackfillRange r) {
        return new RangeCopier.Pieces(r, path.orderBy().filter(o -> o.endsWith(" DESC")).isPresent(), this::copyOut);
    }

    String copyIn() {
        return "COPY " + table().quoted() + " (" + columnList() + ") FROM STDIN (FORMAT " + format() + ")";
    }

    String delete(BackfillRange r) {
        return "DELETE FROM " + table().quoted() + " WHERE " + r.range().where(quotedTime());
    }

    /**
     * For a hypertable that compresses: decompresses the compressed chunks that overlap the range
     * (all chunks, less those wholly before its start and those wholly after its end) and counts
     * them. The range's DELETE and COPY then touch plain chunks only: DELETE on compressed chunks
     * needs TimescaleDB 2.11, and from 2.14 a transaction that decompresses more than
     * {@code timescaledb.max_tuples_decompressed_per_dml_transaction} rows (100,000 by default)
     * fails. The chunks are compressed again by {@code --compress} or the resumed policy.
     *
     * @return the SQL, or null when the hypertable does not compress, or its rows go straight to the
     *         columnstore (then the DELETE decompresses only the batches it touches)
     */
    String decompress(BackfillRange r) {
        if (!compresses || path.direct()) {
            return null;
        }
        String t = table().literal() + "::regclass";
        return "SELECT count(decompress_chunk(c, if_compressed => true)) FROM (SELECT show_chunks(" + t + ") AS c"
                + (r.range().start() == TimeAxis.LOWEST ? "" : " EXCEPT SELECT show_chunks(" + t + ", older_than => "
                + axis.cast(r.range().startLiteral()) + ")") + " EXCEPT SELECT show_chunks(" + t + ", newer_than => "
                + axis.cast(r.range().endLiteral()) + ")) overlap "
                + "WHERE c IN (SELECT format('%I.%I', chunk_schema, chunk_name)::regclass FROM timescaledb_information.chunks "
                + "WHERE is_compressed AND format('%I.%I', hypertable_schema, hypertable_name)::regclass = " + t + ")";
    }

    /**
     * A whole plain table, copied again in one transaction: every row deleted, every row of the
     * source copied; foreign keys that reference it are not checked for that transaction
     * (replica mode), since the rows come back as they were.
     */
    static RangeCopier.Job wholeTable(Connection source, Connection target, TableRef table) throws SQLException {
        Map<String, long[]> sourceColumns = columns(source, table);
        Map<String, long[]> targetColumns = columns(target, table);
        List<String> columns = new ArrayList<>();
        boolean binary = true;
        for (Map.Entry<String, long[]> c : sourceColumns.entrySet()) {
            long[] t = targetColumns.get(c.getKey());
            if (t == null || t[1] == 1) {
                continue;
            }
            columns.add(c.getKey());
            binary &= c.getValue()[0] < FIRST_NORMAL_OID && t[0] < FIRST_NORMAL_OID && c.getValue()[0] == t[0];
        }
        String list = columns.stream().map(TableRef::quote).collect(Collectors.joining(", "));
        String format = binary ? "binary" : "text";
        return new RangeCopier.Job(table, null, "DELETE FROM " + table.quoted(), () -> RangeCopier.once("COPY (SELECT " + list
                + " FROM " + table.quoted() + ") TO STDOUT (FORMAT " + format + ")"), "COPY " + table.quoted() + " (" + list + ") FROM STDIN "
                + "(FORMAT " + format + ")", triggers(target, table), true, null, false);
    }

    /**
     * Reads both sides' columns and the target's hypertable, and decides the path of its rows.
     *
     * @throws TsmigrateException NOT_READY when the target lacks the hypertable or a source column;
     *                            USAGE when {@code mode} is on and the table cannot take the direct path
     */
    static TableCopy prepare(Connection source, Connection target, Plan.Hypertable h, TimeType type, DirectCompression.Mode mode)
            throws SQLException {
        Map<String, long[]> sourceColumns = columns(source, h.table());
        Map<String, long[]> targetColumns = columns(target, h.table());
        if (targetColumns.isEmpty()) {
            throw new TsmigrateException(Kind.NOT_READY, "table " + h.table() + " does not exist on the target; run tsmigrate schema first.");
        }
        long interval = chunkInterval(target, h);
        List<String> columns = new ArrayList<>();
        boolean binary = true;
        for (Map.Entry<String, long[]> c : sourceColumns.entrySet()) {
            long[] t = targetColumns.get(c.getKey());
            if (t == null) {
                throw new TsmigrateException(Kind.NOT_READY, "column \"" + c.getKey() + "\" of " + h.table()
                        + " is missing on the target, so its values would be lost; add it there (or re-run tsmigrate schema).");
            }
            if (t[1] == 1) {
                continue; // generated on the target: it computes the value itself
            }
            columns.add(c.getKey());
            binary &= c.getValue()[0] < FIRST_NORMAL_OID && t[0] < FIRST_NORMAL_OID && c.getValue()[0] == t[0];
        }
        List<String> triggers = triggers(target, h.table());
        boolean replica = maySetReplicaRole(target);
        if (!triggers.isEmpty() && !replica) {
            // Refused before any row moves: each range would otherwise fail on its own, after its DELETE.
            throw new TsmigrateException(Kind.NOT_READY, "the target table " + h.table() + " has triggers (" + String.join(", ", triggers)
                    + ") that would fire again for every copied row, and this login may not keep them from firing (setting "
                    + "session_replication_role needs a superuser, or GRANT SET ON PARAMETER session_replication_role TO the "
                    + "login on PostgreSQL 15+); grant that, or disable the triggers while the backfill runs.");
        }
        return new TableCopy(h, new TimeAxis(type), List.copyOf(columns), binary, interval, triggers,
                hasForeignKeys(target, h.table()) && replica, Hypertables.compresses(target, h.table()), new LongAdder(),
                DirectCompression.decide(source, target, h.table(), h.timeColumn(), mode));
    }

    /** Column name to {element-or-type OID, generated (1) or not (0)}, in column order. */
    private static Map<String, long[]> columns(Connection c, TableRef table) throws SQLException {
        Map<String, long[]> out = new LinkedHashMap<>();
        try (PreparedStatement ps = c.prepareStatement("SELECT a.attname, CASE WHEN t.typelem <> 0 AND t.typlen = -1 "
                + "THEN t.typelem ELSE t.oid END, a.attgenerated <> '' FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid "
                + "WHERE a.attrelid = to_regclass(?) AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum")) {
            ps.setString(1, table.quoted());
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.put(rs.getString(1), new long[] {rs.getLong(2), rs.getBoolean(3) ? 1 : 0});
                }
            }
        }
        return out;
    }

    private static long chunkInterval(Connection target, Plan.Hypertable h) throws SQLException {
        try (PreparedStatement ps = target.prepareStatement("SELECT (extract(epoch FROM time_interval) * 1000000)::bigint, "
                + "integer_interval FROM timescaledb_information.dimensions WHERE hypertable_schema = ? AND hypertable_name = ? "
                + "AND column_name = ?")) {
            ps.setString(1, h.table().schema());
            ps.setString(2, h.table().name());
            ps.setString(3, h.timeColumn());
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    throw new TsmigrateException(Kind.NOT_READY, h.table() + " is not a hypertable on " + h.timeColumn()
                            + " on the target; run tsmigrate schema first.");
                }
                long micros = rs.getLong(1);
                return rs.wasNull() ? rs.getLong(2) : micros;
            }
        }
    }

    private static boolean hasForeignKeys(Connection target, TableRef table) throws SQLException {
        try (PreparedStatement ps = target.prepareStatement("SELECT count(*) FROM pg_constraint WHERE conrelid = to_regclass(?) "
                + "AND contype = 'f'")) {
            ps.setString(1, table.quoted());
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getLong(1) > 0;
            }
        }
    }

    /**
     * Whether this login may set {@code session_replication_role} (a superuser, or on PostgreSQL
     * 15+ one granted SET on it, as managed services grant their admin role). Without it foreign
     * keys are checked row by row: slower, never wrong.
     */
    static boolean maySetReplicaRole(Connection target) throws SQLException {
        try (java.sql.Statement st = target.createStatement(); ResultSet rs = st.executeQuery("SELECT rolsuper OR (current_setting("
                + "'server_version_num')::int >= 150000 AND has_parameter_privilege('session_replication_role', 'SET')) "
                + "FROM pg_roles WHERE rolname = current_user")) {
            return rs.next() && rs.getBoolean(1);
        }
    }

    /** Enabled user triggers on the target table (TimescaleDB's own insert blocker aside). */
    private static List<String> triggers(Connection target, TableRef table) throws SQLException {
        List<String> out = new ArrayList<>();
        try (PreparedStatement ps = target.prepareStatement("SELECT tgname FROM pg_trigger WHERE tgrelid = to_regclass(?) "
                + "AND NOT tgisinternal AND tgenabled <> 'D' AND tgname <> 'ts_insert_blocker' ORDER BY 1")) {
            ps.setString(1, table.quoted());
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(rs.getString(1));
                }
            }
        }
        return out;
    }
}
