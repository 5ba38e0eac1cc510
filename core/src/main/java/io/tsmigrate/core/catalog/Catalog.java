package io.tsmigrate.core.catalog;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * What a database holds, as the plan needs it: tables with their columns, keys, foreign keys,
 * indexes, triggers, rules, statistics and sizes; sequences and who owns them; the extensions,
 * large objects and privileged roles that affect a migration. Read by {@link CatalogReader}.
 * Immutable.
 */
public record Catalog(Map<TableRef, Table> tables, List<Sequence> sequences, Set<String> extensions,
                      long largeObjects, List<PrivilegedRole> privilegedRoles, int serverVersionNum,
                      Map<TableRef, List<IncomingForeignKey>> referencedBy) {

    /** How a table is stored. */
    public enum Kind {
        /** An ordinary heap table (possibly an inheritance parent or child). */
        ORDINARY,
        /** A declaratively partitioned parent: holds no rows itself. */
        PARTITIONED
    }

    /**
     * A table.
     *
     * @param estimatedRows  {@code reltuples} (summed over partitions), -1 when never analyzed
     * @param totalBytes     with indexes and TOAST, summed over partitions
     * @param partitionOf    the partitioned parent, for a partition
     * @param inheritsFrom   inheritance parents (not partitioning)
     * @param children       partitions or inheritance children
     * @param tablespace     a non-default tablespace, if any
     * @param partitionKey   a partitioned table's key as PostgreSQL shows it, e.g. {@code RANGE (payment_date)}
     */
    public record Table(TableRef ref, Kind kind, boolean unlogged, Optional<String> tablespace,
                        double estimatedRows, long totalBytes, Optional<TableRef> partitionOf,
                        List<TableRef> inheritsFrom, List<TableRef> children, List<Column> columns,
                        List<Constraint> constraints, List<Index> indexes, List<Trigger> triggers,
                        List<String> rules, Optional<String> partitionKey) {

        /** Whether the table is partitioned by range on exactly this column: already split by time. */
        public boolean partitionedByRangeOn(String column) {
            return partitionKey.map(k -> k.equals("RANGE (" + TableRef.readable(column) + ")")).orElse(false);
        }

        public Optional<Column> column(String name) {
            return columns.stream().filter(c -> c.name().equals(name)).findFirst();
        }

        public boolean isPartition() {
            return partitionOf.isPresent();
        }

        public Optional<Constraint> primaryKey() {
            return constraints.stream().filter(c -> c.type() == Constraint.Type.PRIMARY_KEY).findFirst();
        }

        public List<Constraint> foreignKeys() {
            return constraints.stream().filter(c -> c.type() == Constraint.Type.FOREIGN_KEY).toList();
        }

        /** Bytes per row, with indexes; 0 when the row count is unknown. */
        public double bytesPerRow() {
            return estimatedRows > 0 ? totalBytes / estimatedRows : 0;
        }
    }

    /**
     * A column.
     *
     * @param type       as format_type shows it: {@code timestamp with time zone}, {@code bigint}
     * @param typeName   the base type's name: {@code timestamptz}, {@code int8}
     * @param generated  a stored generated column (left out of COPY)
     * @param identity   {@code a} (ALWAYS), {@code d} (BY DEFAULT) or empty
     * @param stats      pg_stats of the column, when analyzed
     */
    public record Column(String name, int position, String type, String typeName, boolean notNull,
                         Optional<String> defaultExpression, boolean generated, Optional<String> identity,
                         Optional<ColumnStats> stats) {
    }

    /** The statistics PostgreSQL keeps for a column (pg_stats). */
    public record ColumnStats(double nullFraction, double distinct, Optional<Double> correlation,
                              Optional<String> lowestBound, Optional<String> highestBound) {
        /** The number of distinct values for a table of {@code rows} rows (n_distinct < 0 is a fraction). */
        public double distinctValues(double rows) {
            return distinct >= 0 ? distinct : -distinct * Math.max(rows, 0);
        }
    }

    /** A primary key, unique, foreign key, exclusion or CHECK constraint. */
    public record Constraint(String name, Type type, List<String> columns, Optional<TableRef> references,
                             List<String> referencedColumns, String definition) {
        public enum Type {
            PRIMARY_KEY, UNIQUE, FOREIGN_KEY, EXCLUSION, CHECK
        }
    }

    /** An index; {@code columns} holds null for an expression. */
    public record Index(String name, boolean unique, boolean primary, List<String> columns, String definition) {
    }

    /** A user trigger. */
    public record Trigger(String name, boolean enabled, String definition) {
    }

    /**
     * A sequence, and the column it fills when a table owns it.
     *
     * @param ownedBy  the owning column: SERIAL (owned, default nextval) or an identity column
     * @param identity filled by an identity column rather than a SERIAL default
     */
    public record Sequence(TableRef ref, Optional<ColumnRef> ownedBy, boolean identity) {
    }

    /** A table's column. */
    public record ColumnRef(TableRef table, String column) {
        @Override
        public String toString() {
            return table + "." + TableRef.readable(column);
        }
    }

    /** A role whose attributes a managed target will refuse. */
    public record PrivilegedRole(String name, boolean superuser, boolean replication, boolean bypassRls) {
    }

    public Optional<Table> table(TableRef ref) {
        return Optional.ofNullable(tables.get(ref));
    }

    /** A foreign key held by {@code from} that references another table. */
    public record IncomingForeignKey(TableRef from, Constraint constraint) {
    }

    /** Foreign keys anywhere whose referenced table is {@code ref}. */
    public List<IncomingForeignKey> foreignKeysInto(TableRef ref) {
        return referencedBy.getOrDefault(ref, List.of());
    }

    /** The sequence that fills {@code column}, if it is a SERIAL or identity column. */
    public Optional<Sequence> sequenceFilling(ColumnRef column) {
        return sequences.stream().filter(s -> s.ownedBy().equals(Optional.of(column))).findFirst();
    }
}
