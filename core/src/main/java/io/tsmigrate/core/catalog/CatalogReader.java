package io.tsmigrate.core.catalog;

import io.tsmigrate.core.catalog.Catalog.Column;
import io.tsmigrate.core.catalog.Catalog.ColumnRef;
import io.tsmigrate.core.catalog.Catalog.ColumnStats;
import io.tsmigrate.core.catalog.Catalog.Constraint;
import io.tsmigrate.core.catalog.Catalog.IncomingForeignKey;
import io.tsmigrate.core.catalog.Catalog.Index;
import io.tsmigrate.core.catalog.Catalog.PrivilegedRole;
import io.tsmigrate.core.catalog.Catalog.Sequence;
import io.tsmigrate.core.catalog.Catalog.Table;
import io.tsmigrate.core.catalog.Catalog.Trigger;

import java.sql.Array;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Function;

/**
 * Reads a {@link Catalog} from {@code pg_catalog} with one query per kind of object, never one per
 * table, so that a database of 10,000 tables is read in seconds. Covers PostgreSQL 13 and later.
 */
public final class CatalogReader {

    /** User tables: not the system's, not TimescaleDB's or tsmigrate's, not an extension's own. */
    static final String USER_TABLE = "c.relkind IN ('r', 'p') "
            + "AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'tsmigrate', 'timescaledb_information', "
            + "'timescaledb_experimental', 'toolkit_experimental') "
            + "AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%' "
            + "AND n.nspname NOT LIKE '\\_timescaledb%' "
            + "AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass "
            + "AND d.objid = c.oid AND d.deptype = 'e')";

    private final Connection connection;
    private final String userTables;

    private CatalogReader(Connection connection, String filter) {
        this.connection = connection;
        this.userTables = "WITH t AS (SELECT c.oid FROM pg_class c "
                + "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE " + USER_TABLE + filter + ") ";
    }

    /** Reads the catalog of the database {@code connection} is connected to. */
    public static Catalog read(Connection connection) throws SQLException {
        return new CatalogReader(connection, "").read();
    }

    /**
     * Reads only these tables and their partitions (for steps that act on the plan's tables, so
     * that a database of many tables costs them nothing). Foreign keys from other tables into these
     * are not seen.
     */
    public static Catalog read(Connection connection, java.util.Collection<TableRef> tables) throws SQLException {
        StringBuilder values = new StringBuilder();
        for (TableRef t : tables) {
            values.append(values.length() > 0 ? ", " : "").append("('").append(t.schema().replace("'", "''"))
                    .append("', '").append(t.name().replace("'", "''")).append("')");
        }
        if (values.length() == 0) {
            values.append("(NULL, NULL)");
        }
        String wanted = "SELECT c2.oid FROM pg_class c2 JOIN pg_namespace n2 ON n2.oid = c2.relnamespace "
                + "WHERE (n2.nspname, c2.relname) IN (VALUES " + values + ")";
        return new CatalogReader(connection, " AND (c.oid IN (" + wanted + ") OR (c.relispartition AND EXISTS "
                + "(SELECT 1 FROM pg_partition_ancestors(c.oid) a WHERE a.relid IN (" + wanted + "))))").read();
    }

    private record RawTable(long oid, TableRef ref, char kind, boolean unlogged, String tablespace,
                            double reltuples, long bytes, String partitionKey) {
    }

    private Catalog read() throws SQLException {
        Map<Long, RawTable> raw = new HashMap<>();
        query(userTables + "SELECT c.oid, n.nspname, c.relname, c.relkind, c.relpersistence = 'u', ts.spcname, "
                + "c.reltuples, pg_total_relation_size(c.oid), CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END "
                + "FROM t JOIN pg_class c ON c.oid = t.oid "
                + "JOIN pg_namespace n ON n.oid = c.relnamespace LEFT JOIN pg_tablespace ts ON ts.oid = c.reltablespace", rs -> {
            long oid = rs.getLong(1);
            raw.put(oid, new RawTable(oid, new TableRef(rs.getString(2), rs.getString(3)), rs.getString(4).charAt(0),
                    rs.getBoolean(5), rs.getString(6), rs.getDouble(7), rs.getLong(8), rs.getString(9)));
        });

        Map<Long, Long> partitionParent = new HashMap<>();
        Map<Long, List<Long>> inheritParents = new HashMap<>();
        Map<Long, List<Long>> children = new HashMap<>();
        query(userTables + "SELECT i.inhrelid, i.inhparent, c.relispartition FROM pg_inherits i "
                + "JOIN t ON t.oid = i.inhrelid JOIN pg_class c ON c.oid = i.inhrelid ORDER BY i.inhrelid, i.inhseqno", rs -> {
            long child = rs.getLong(1);
            long parent = rs.getLong(2);
            if (rs.getBoolean(3)) {
                partitionParent.put(child, parent);
            } else {
                inheritParents.computeIfAbsent(child, k -> new ArrayList<>()).add(parent);
            }
            children.computeIfAbsent(parent, k -> new ArrayList<>()).add(child);
        });

        Map<Long, Map<Integer, String>> attnames = new HashMap<>();
        Map<Long, List<Column>> columns = readColumns(attnames, raw);
        Map<Long, List<Constraint>> constraints = readConstraints(attnames, raw);
        Map<Long, List<Index>> indexes = readIndexes(attnames);
        Map<Long, List<Trigger>> triggers = new HashMap<>();
        query(userTables + "SELECT tg.tgrelid, tg.tgname, tg.tgenabled <> 'D', pg_get_triggerdef(tg.oid) "
                + "FROM pg_trigger tg JOIN t ON t.oid = tg.tgrelid WHERE NOT tg.tgisinternal ORDER BY 1, 2", rs ->
                triggers.computeIfAbsent(rs.getLong(1), k -> new ArrayList<>())
                        .add(new Trigger(rs.getString(2), rs.getBoolean(3), rs.getString(4))));
        Map<Long, List<String>> rules = new HashMap<>();
        query(userTables + "SELECT r.ev_class, r.rulename FROM pg_rewrite r JOIN t ON t.oid = r.ev_class "
                + "WHERE r.rulename <> '_RETURN' ORDER BY 1, 2", rs ->
                rules.computeIfAbsent(rs.getLong(1), k -> new ArrayList<>()).add(rs.getString(2)));

        Function<Long, TableRef> ref = oid -> raw.get(oid).ref();
        Map<TableRef, Table> tables = new TreeMap<>();
        for (RawTable t : raw.values()) {
            List<Long> kids = children.getOrDefault(t.oid(), List.of()).stream().filter(raw::containsKey).toList();
            List<Column> ownColumns = columns.getOrDefault(t.oid(), List.of());
            if (t.kind() == 'p') {
                ownColumns = withPartitionStats(ownColumns, leafPartitions(t.oid(), raw, children), columns);
            }
            tables.put(t.ref(), new Table(t.ref(),
                    t.kind() == 'p' ? Catalog.Kind.PARTITIONED : Catalog.Kind.ORDINARY,
                    t.unlogged(), Optional.ofNullable(t.tablespace()),
                    t.kind() == 'p' ? sumOverPartitions(t.oid(), raw, children, RawTable::reltuples) : t.reltuples(),
                    t.kind() == 'p' ? (long) sumOverPartitions(t.oid(), raw, children, r -> (double) r.bytes()) : t.bytes(),
                    Optional.ofNullable(partitionParent.get(t.oid())).filter(raw::containsKey).map(ref),
                    inheritParents.getOrDefault(t.oid(), List.of()).stream().filter(raw::containsKey).map(ref).toList(),
                    kids.stream().map(ref).toList(),
                    List.copyOf(ownColumns),
                    List.copyOf(constraints.getOrDefault(t.oid(), List.of())),
                    List.copyOf(indexes.getOrDefault(t.oid(), List.of())),
                    List.copyOf(triggers.getOrDefault(t.oid(), List.of())),
                    List.copyOf(rules.getOrDefault(t.oid(), List.of())), Optional.ofNullable(t.partitionKey())));
        }

        Map<TableRef, List<IncomingForeignKey>> referencedBy = new HashMap<>();
        for (Table t : tables.values()) {
            for (Constraint fk : t.foreignKeys()) {
                fk.references().ifPresent(target ->
                        referencedBy.computeIfAbsent(target, k -> new ArrayList<>()).add(new IncomingForeignKey(t.ref(), fk)));
            }
        }

        List<Sequence> sequences = readSequences();
        Set<String> extensions = new LinkedHashSet<>();
        query("SELECT extname FROM pg_extension ORDER BY 1", rs -> extensions.add(rs.getString(1)));
        long[] largeObjects = {0};
        query("SELECT count(*) FROM pg_largeobject_metadata", rs -> largeObjects[0] = rs.getLong(1));
        List<PrivilegedRole> roles = new ArrayList<>();
        query("SELECT rolname, rolsuper, rolreplication, rolbypassrls FROM pg_roles "
                + "WHERE (rolsuper OR rolreplication OR rolbypassrls) AND rolname NOT LIKE 'pg\\_%' "
                // The bootstrap superuser (postgres) is never copied: tsmigrate schema skips it.
                + "AND oid <> 10 AND rolname NOT IN ('postgres', 'tsdbadmin') ORDER BY 1", rs ->
                roles.add(new PrivilegedRole(rs.getString(1), rs.getBoolean(2), rs.getBoolean(3), rs.getBoolean(4))));
        int[] version = {0};
        query("SELECT current_setting('server_version_num')::int", rs -> version[0] = rs.getInt(1));
        return new Catalog(Map.copyOf(tables), List.copyOf(sequences), Set.copyOf(extensions), largeObjects[0],
                List.copyOf(roles), version[0], Map.copyOf(referencedBy));
    }

    private Map<Long, List<Column>> readColumns(Map<Long, Map<Integer, String>> attnames,
                                                Map<Long, RawTable> raw) throws SQLException {
        // Statistics are fetched for every column in the same pass; for a partitioned parent they
        // come from its first analysed partition with statistics when the parent has none.
        Map<String, ColumnStats> stats = new HashMap<>();
        query(userTables + "SELECT s.schemaname, s.tablename, s.attname, s.null_frac, s.n_distinct, s.correlation, "
                + "(s.histogram_bounds::text::text[])[1], "
                + "(s.histogram_bounds::text::text[])[array_length(s.histogram_bounds::text::text[], 1)] "
                + "FROM pg_stats s JOIN pg_namespace n ON n.nspname = s.schemaname "
                + "JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = s.tablename JOIN t ON t.oid = c.oid "
                + "WHERE NOT s.inherited OR c.relkind = 'p'", rs -> {
            double correlation = rs.getDouble(6);
            Optional<Double> corr = rs.wasNull() ? Optional.empty() : Optional.of(correlation);
            stats.put(rs.getString(1) + "\u0000" + rs.getString(2) + "\u0000" + rs.getString(3),
                    new ColumnStats(rs.getDouble(4), rs.getDouble(5), corr,
                            Optional.ofNullable(rs.getString(7)), Optional.ofNullable(rs.getString(8))));
        });
        Map<Long, List<Column>> columns = new HashMap<>();
        query(userTables + "SELECT a.attrelid, a.attname, a.attnum, format_type(a.atttypid, a.atttypmod), "
                + "bt.typname, a.attnotnull, pg_get_expr(d.adbin, d.adrelid), a.attgenerated <> '', a.attidentity "
                + "FROM pg_attribute a JOIN t ON t.oid = a.attrelid "
                + "JOIN pg_type ty ON ty.oid = a.atttypid "
                + "JOIN pg_type bt ON bt.oid = CASE WHEN ty.typtype = 'd' THEN ty.typbasetype ELSE ty.oid END "
                + "LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
                + "WHERE a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attrelid, a.attnum", rs -> {
            long oid = rs.getLong(1);
            String name = rs.getString(2);
            int position = rs.getInt(3);
            attnames.computeIfAbsent(oid, k -> new HashMap<>()).put(position, name);
            TableRef table = raw.get(oid).ref();
            String identity = rs.getString(9);
            Optional<ColumnStats> columnStats = Optional.ofNullable(
                    stats.get(table.schema() + "\u0000" + table.name() + "\u0000" + name));
            columns.computeIfAbsent(oid, k -> new ArrayList<>()).add(new Column(name, position, rs.getString(4),
                    rs.getString(5), rs.getBoolean(6), Optional.ofNullable(rs.getString(7)), rs.getBoolean(8),
                    Optional.ofNullable(identity).filter(s -> !s.isEmpty()), columnStats));
        });
        return columns;
    }

    private Map<Long, List<Constraint>> readConstraints(Map<Long, Map<Integer, String>> attnames,
                                                        Map<Long, RawTable> raw) throws SQLException {
        Map<Long, List<Constraint>> constraints = new HashMap<>();
        query(userTables + "SELECT k.conrelid, k.conname, k.contype, k.conkey, k.confrelid, k.confkey, "
                + "pg_get_constraintdef(k.oid), fn.nspname, fc.relname "
                + "FROM pg_constraint k JOIN t ON t.oid = k.conrelid "
                + "LEFT JOIN pg_class fc ON fc.oid = k.confrelid LEFT JOIN pg_namespace fn ON fn.oid = fc.relnamespace "
                + "WHERE k.contype IN ('p', 'u', 'f', 'x', 'c') ORDER BY 1, 2", rs -> {
            long oid = rs.getLong(1);
            Constraint.Type type = switch (rs.getString(3)) {
                case "p" -> Constraint.Type.PRIMARY_KEY;
                case "u" -> Constraint.Type.UNIQUE;
                case "f" -> Constraint.Type.FOREIGN_KEY;
                case "c" -> Constraint.Type.CHECK;
                default -> Constraint.Type.EXCLUSION;
            };
            long foreign = rs.getLong(5);
            Optional<TableRef> references = rs.getString(8) == null ? Optional.empty()
                    : Optional.of(new TableRef(rs.getString(8), rs.getString(9)));
            List<String> referenced = foreign == 0 ? List.of()
                    : names(rs.getArray(6), attnames.containsKey(foreign) ? attnames.get(foreign) : readAttnames(foreign, attnames));
            constraints.computeIfAbsent(oid, k -> new ArrayList<>()).add(new Constraint(rs.getString(2), type,
                    names(rs.getArray(4), attnames.getOrDefault(oid, Map.of())), references, referenced, rs.getString(7)));
        });
        return constraints;
    }

    /** Column names of a table outside the user tables (a foreign key into another schema's table). */
    private Map<Integer, String> readAttnames(long oid, Map<Long, Map<Integer, String>> attnames) throws SQLException {
        Map<Integer, String> names = new HashMap<>();
        try (Statement st = connection.createStatement();
             ResultSet rs = st.executeQuery("SELECT attnum, attname FROM pg_attribute WHERE attrelid = " + oid
                     + " AND attnum > 0")) {
            while (rs.next()) {
                names.put(rs.getInt(1), rs.getString(2));
            }
        }
        attnames.put(oid, names);
        return names;
    }

    private Map<Long, List<Index>> readIndexes(Map<Long, Map<Integer, String>> attnames) throws SQLException {
        Map<Long, List<Index>> indexes = new HashMap<>();
        query(userTables + "SELECT i.indrelid, ic.relname, i.indisunique, i.indisprimary, "
                + "i.indkey::int2[], pg_get_indexdef(i.indexrelid) "
                + "FROM pg_index i JOIN t ON t.oid = i.indrelid JOIN pg_class ic ON ic.oid = i.indexrelid "
                + "ORDER BY 1, 2", rs -> {
            long oid = rs.getLong(1);
            Map<Integer, String> names = attnames.getOrDefault(oid, Map.of());
            List<String> cols = new ArrayList<>();
            for (Object o : (Object[]) rs.getArray(5).getArray()) {
                int attnum = ((Number) o).intValue();
                cols.add(attnum == 0 ? null : names.get(attnum));
            }
            indexes.computeIfAbsent(oid, k -> new ArrayList<>()).add(new Index(rs.getString(2), rs.getBoolean(3),
                    rs.getBoolean(4), java.util.Collections.unmodifiableList(cols), rs.getString(6)));
        });
        return indexes;
    }

    private List<Sequence> readSequences() throws SQLException {
        List<Sequence> sequences = new ArrayList<>();
        // A SERIAL column's sequence depends on it automatically ('a'); an identity column's internally ('i').
        query("SELECT sn.nspname, s.relname, tn.nspname, tc.relname, a.attname, d.deptype = 'i' "
                + "FROM pg_class s JOIN pg_namespace sn ON sn.oid = s.relnamespace "
                + "LEFT JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = s.oid "
                + "AND d.refclassid = 'pg_class'::regclass AND d.refobjsubid > 0 AND d.deptype IN ('a', 'i') "
                + "LEFT JOIN pg_class tc ON tc.oid = d.refobjid LEFT JOIN pg_namespace tn ON tn.oid = tc.relnamespace "
                + "LEFT JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid "
                + "WHERE s.relkind = 'S' AND sn.nspname NOT IN ('pg_catalog', 'information_schema', 'tsmigrate') "
                + "AND sn.nspname NOT LIKE '\\_timescaledb%' ORDER BY 1, 2", rs -> {
            Optional<ColumnRef> owner = rs.getString(3) == null ? Optional.empty()
                    : Optional.of(new ColumnRef(new TableRef(rs.getString(3), rs.getString(4)), rs.getString(5)));
            sequences.add(new Sequence(new TableRef(rs.getString(1), rs.getString(2)), owner, rs.getBoolean(6)));
        });
        return sequences;
    }

    private static List<String> names(Array array, Map<Integer, String> attnames) throws SQLException {
        if (array == null) {
            return List.of();
        }
        List<String> out = new ArrayList<>();
        for (Object o : (Object[]) array.getArray()) {
            out.add(attnames.get(((Number) o).intValue()));
        }
        return List.copyOf(out);
    }

    /**
     * Autovacuum never analyzes a partitioned parent, so its columns usually have no statistics of
     * their own: take them from its leaf partitions (lowest and highest bound over all, mean
     * correlation, largest distinct count).
     */
    private static List<Column> withPartitionStats(List<Column> parent, List<Long> leaves, Map<Long, List<Column>> columns) {
        List<Column> out = new ArrayList<>();
        for (Column column : parent) {
            if (column.stats().isPresent()) {
                out.add(column);
                continue;
            }
            List<ColumnStats> parts = leaves.stream()
                    .flatMap(leaf -> columns.getOrDefault(leaf, List.of()).stream())
                    .filter(c -> c.name().equals(column.name()))
                    .flatMap(c -> c.stats().stream()).toList();
            if (parts.isEmpty()) {
                out.add(column);
                continue;
            }
            Optional<String> low = parts.stream().flatMap(p -> p.lowestBound().stream()).min(CatalogReader::compareValues);
            Optional<String> high = parts.stream().flatMap(p -> p.highestBound().stream()).max(CatalogReader::compareValues);
            double nullFraction = parts.stream().mapToDouble(ColumnStats::nullFraction).average().orElse(0);
            double distinct = parts.stream().mapToDouble(ColumnStats::distinct).max().orElse(0);
            var correlation = parts.stream().flatMap(p -> p.correlation().stream()).mapToDouble(Double::doubleValue).average();
            ColumnStats merged = new ColumnStats(nullFraction, distinct,
                    correlation.isPresent() ? Optional.of(correlation.getAsDouble()) : Optional.empty(), low, high);
            out.add(new Column(column.name(), column.position(), column.type(), column.typeName(), column.notNull(),
                    column.defaultExpression(), column.generated(), column.identity(), Optional.of(merged)));
        }
        return out;
    }

    private static List<Long> leafPartitions(long oid, Map<Long, RawTable> raw, Map<Long, List<Long>> children) {
        List<Long> leaves = new ArrayList<>();
        for (long child : children.getOrDefault(oid, List.of())) {
            RawTable t = raw.get(child);
            if (t != null && t.kind() == 'p') {
                leaves.addAll(leafPartitions(child, raw, children));
            } else if (t != null) {
                leaves.add(child);
            }
        }
        return leaves;
    }

    /** Orders histogram bounds: numerically for integers, else as text (ISO dates and times sort as text). */
    static int compareValues(String a, String b) {
        try {
            return Long.compare(Long.parseLong(a), Long.parseLong(b));
        } catch (NumberFormatException e) {
            return a.compareTo(b);
        }
    }

    private static double sumOverPartitions(long oid, Map<Long, RawTable> raw, Map<Long, List<Long>> children,
                                            Function<RawTable, Double> value) {
        double sum = 0;
        for (long child : children.getOrDefault(oid, List.of())) {
            RawTable t = raw.get(child);
            if (t == null) {
                continue;
            }
            double own = t.kind() == 'p' ? sumOverPartitions(child, raw, children, value) : value.apply(t);
            sum += Math.max(own, 0);
        }
        return sum;
    }

    @FunctionalInterface
    private interface RowHandler {
        void accept(ResultSet rs) throws SQLException;
    }

    private void query(String sql, RowHandler handler) throws SQLException {
        try (Statement st = connection.createStatement()) {
            st.setFetchSize(10_000);
            try (ResultSet rs = st.executeQuery(sql)) {
                while (rs.next()) {
                    handler.accept(rs);
                }
            }
        }
    }
}
