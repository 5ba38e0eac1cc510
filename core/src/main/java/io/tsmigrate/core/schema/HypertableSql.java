package io.tsmigrate.core.schema;

import io.tsmigrate.core.catalog.Catalog;
import io.tsmigrate.core.catalog.Catalog.Constraint;
import io.tsmigrate.core.catalog.Catalog.IncomingForeignKey;
import io.tsmigrate.core.catalog.Catalog.Index;
import io.tsmigrate.core.catalog.Catalog.Table;
import io.tsmigrate.core.catalog.TableRef;
import io.tsmigrate.core.plan.Plan;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;

/**
 * The SQL that turns one loaded table into the hypertable the plan asks for (runbook 3e): make it
 * logged, extend its keys with the time column (dropping foreign keys that referenced the old key),
 * then {@code create_hypertable}. Derived from the source's catalog, which pg_dump reproduced on
 * the target, so that {@code --dry-run} can show it before anything is loaded.
 */
final class HypertableSql {

    /** A foreign key the extended key forces off the target, with how to recreate it. */
    record DroppedForeignKey(TableRef table, String name, String definition, String reason) {
    }

    /** The statements, in order, and the foreign keys they drop. */
    record Statements(List<String> sql, List<DroppedForeignKey> droppedForeignKeys, List<String> notes, List<String> lostForeignKeys) {
    }

    private HypertableSql() {
    }

    /**
     * @param byRange whether the target's TimescaleDB has {@code by_range} (2.13 and later)
     * @param chosen  every table of the plan: their partitions are not created on the target
     * @throws IllegalArgumentException with a user-facing sentence when a key cannot be extended
     */
    static Statements forHypertable(Plan.Hypertable h, Catalog catalog, boolean byRange, java.util.Set<TableRef> chosen) {
        Table table = catalog.table(h.table()).orElseThrow();
        String t = h.table().quoted();
        String time = TableRef.quote(h.timeColumn());
        List<String> sql = new ArrayList<>();
        List<DroppedForeignKey> dropped = new ArrayList<>();
        List<String> notes = new ArrayList<>();
        if (table.unlogged()) {
            sql.add("ALTER TABLE " + t + " SET LOGGED");
            notes.add(h.table() + " made a logged table");
        }
        betweenHypertables(h, table, catalog, chosen, sql, dropped, notes);
        for (Constraint c : table.constraints()) {
            boolean key = c.type() == Constraint.Type.PRIMARY_KEY || c.type() == Constraint.Type.UNIQUE;
            if (!key || c.columns().contains(h.timeColumn())) {
                continue;
            }
            if (!h.extendKeys()) {
                throw new IllegalArgumentException("the " + (c.type() == Constraint.Type.PRIMARY_KEY ? "primary key " : "unique constraint ")
                        + c.name() + " (" + String.join(", ", c.columns()) + ") of " + h.table() + " lacks the time column "
                        + h.timeColumn() + ", which create_hypertable refuses; set extend_keys: true for it in the plan, "
                        + "or add the time column to the key on the source");
            }
            for (IncomingForeignKey fk : catalog.foreignKeysInto(h.table())) {
                if (PartitionLift.absentOnTarget(catalog, fk.from(), chosen)) {
                    notes.add("foreign key " + fk.from() + "." + fk.constraint().name() + " (" + fk.constraint().definition()
                            + ") is on a partition that the target does not have");
                    continue;
                }
                if (fk.constraint().referencedColumns().equals(c.columns())) {
                    sql.add("ALTER TABLE " + fk.from().quoted() + " DROP CONSTRAINT " + TableRef.quote(fk.constraint().name()));
                    dropped.add(new DroppedForeignKey(fk.from(), fk.constraint().name(), fk.constraint().definition(),
                            "references a key of " + h.table() + " that was extended with " + h.timeColumn()));
                    notes.add("dropped foreign key " + fk.from() + "." + fk.constraint().name() + " (" + fk.constraint().definition()
                            + "): it cannot reference the extended key");
                }
            }
            String columns = c.columns().stream().map(TableRef::quote).collect(Collectors.joining(", "));
            sql.add("ALTER TABLE " + t + " DROP CONSTRAINT " + TableRef.quote(c.name()));
            sql.add("ALTER TABLE " + t + " ADD CONSTRAINT " + TableRef.quote(c.name()) + " "
                    + (c.type() == Constraint.Type.PRIMARY_KEY ? "PRIMARY KEY" : "UNIQUE") + " (" + columns + ", " + time + ")");
            notes.add(h.table() + " " + c.name() + " extended to (" + String.join(", ", c.columns()) + ", " + h.timeColumn() + ")");
        }
        for (Index i : table.indexes()) {
            boolean backsConstraint = table.constraints().stream().anyMatch(c -> c.name().equals(i.name()));
            if (!i.unique() || backsConstraint || i.columns().contains(h.timeColumn())) {
                continue;
            }
            if (!h.extendKeys() || i.columns().contains(null)) {
                throw new IllegalArgumentException("the unique index " + i.name() + " of " + h.table() + " lacks the time column "
                        + h.timeColumn() + (i.columns().contains(null) ? " and is on an expression, which tsmigrate cannot extend; "
                        + "add the time column to it on the source" : "; set extend_keys: true for it in the plan"));
            }
            String schema = TableRef.quote(h.table().schema());
            sql.add("DROP INDEX " + schema + "." + TableRef.quote(i.name()));
            sql.add("CREATE UNIQUE INDEX " + TableRef.quote(i.name()) + " ON " + t + " ("
                    + i.columns().stream().map(TableRef::quote).collect(Collectors.joining(", ")) + ", " + time + ")");
            notes.add(h.table() + " unique index " + i.name() + " extended with " + h.timeColumn());
        }
        String interval = h.chunkInterval().sql();
        // migrate_data: rows already in the table (a dump that could not exclude them, a user's) move
        // into chunks instead of failing every re-run with "table is not empty"; the backfill
        // replaces each range below T with the source's rows anyway.
        sql.add(byRange
                ? "SELECT create_hypertable(" + h.table().literal() + "::regclass, by_range(" + literal(h.timeColumn()) + ", " + interval
                        + "), migrate_data => true)"
                : "SELECT create_hypertable(" + h.table().literal() + "::regclass, " + literal(h.timeColumn())
                        + ", chunk_time_interval => " + interval + ", migrate_data => true)");
        PartitionLift.Lifted lifted = PartitionLift.lift(table, catalog, chosen);
        sql.addAll(lifted.sql());
        notes.addAll(lifted.notes());
        return new Statements(List.copyOf(sql), List.copyOf(dropped), List.copyOf(notes), lifted.lostForeignKeys());
    }

    /**
     * TimescaleDB has no foreign keys from one hypertable into another: those the table holds into
     * another chosen table, and those another chosen table holds into it, are dropped (whichever of
     * the two tables is converted first drops it) and recorded.
     */
    private static void betweenHypertables(Plan.Hypertable h, Table table, Catalog catalog, java.util.Set<TableRef> chosen,
                                           List<String> sql, List<DroppedForeignKey> dropped, List<String> notes) {
        List<IncomingForeignKey> between = new ArrayList<>();
        table.foreignKeys().stream().filter(fk -> fk.references().map(chosen::contains).orElse(false))
                .forEach(fk -> between.add(new IncomingForeignKey(h.table(), fk)));
        catalog.foreignKeysInto(h.table()).stream().filter(fk -> chosen.contains(fk.from()) && !fk.from().equals(h.table()))
                .forEach(between::add);
        for (IncomingForeignKey fk : between) {
            sql.add("ALTER TABLE " + fk.from().quoted() + " DROP CONSTRAINT IF EXISTS " + TableRef.quote(fk.constraint().name()));
            String reason = "both " + fk.from() + " and " + fk.constraint().references().orElseThrow() + " become hypertables, and "
                    + "TimescaleDB has no foreign keys between hypertables";
            dropped.add(new DroppedForeignKey(fk.from(), fk.constraint().name(), fk.constraint().definition(), reason));
            notes.add("dropped foreign key " + fk.from() + "." + fk.constraint().name() + " (" + fk.constraint().definition() + "): " + reason);
        }
    }

    static String literal(String text) {
        return "'" + text.replace("'", "''") + "'";
    }
}
