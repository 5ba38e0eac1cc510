package io.tsmigrate.core.schema;

import io.tsmigrate.core.catalog.Catalog;
import io.tsmigrate.core.catalog.Catalog.Constraint;
import io.tsmigrate.core.catalog.Catalog.Index;
import io.tsmigrate.core.catalog.Catalog.Table;
import io.tsmigrate.core.catalog.TableRef;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * What the partitions of a partitioned source table carry that its hypertable should carry: the
 * partitions are not created on the target, so foreign keys, indexes and triggers defined on each partition
 * (rather than on the parent) would otherwise be lost. One the same on every partition is created
 * on the hypertable; one that differs between partitions, or that references a table becoming a
 * hypertable itself, is reported instead.
 */
final class PartitionLift {

    /**
     * The statements (run after create_hypertable, on the still empty hypertable), what was decided,
     * and the partitions' foreign keys the hypertable will not have, each with why.
     */
    record Lifted(List<String> sql, List<String> notes, List<String> lostForeignKeys) {
    }

    private PartitionLift() {
    }

    static Lifted lift(Table table, Catalog catalog, Set<TableRef> chosen) {
        List<Table> partitions = table.children().stream().map(catalog::table).flatMap(Optional::stream)
                .filter(Table::isPartition).toList();
        List<String> sql = new ArrayList<>();
        List<String> notes = new ArrayList<>();
        List<String> lost = new ArrayList<>();
        if (partitions.isEmpty()) {
            return new Lifted(sql, notes, lost);
        }
        String t = table.ref().quoted();
        List<String> parentKeys = table.foreignKeys().stream().map(Constraint::definition).toList();
        for (Constraint fk : partitions.get(0).foreignKeys()) {
            if (parentKeys.contains(fk.definition())) {
                continue; // declared on the parent: pg_dump creates it there
            }
            long carrying = partitions.stream().filter(p -> p.foreignKeys().stream().anyMatch(f -> f.definition().equals(fk.definition()))).count();
            TableRef references = fk.references().orElseThrow();
            if (carrying < partitions.size()) {
                String why = "foreign key " + fk.definition() + " is on " + carrying + " of the " + partitions.size() + " partitions of "
                        + table.ref() + ", not all: not created on the hypertable (add it yourself if it should hold for every row)";
                notes.add(why);
                lost.add(why);
            } else if (chosen.contains(references)) {
                String why = "foreign key " + fk.definition() + " of the partitions of " + table.ref() + " references " + references
                        + ", which becomes a hypertable: not created (tsmigrate verify compares both tables' rows)";
                notes.add(why);
                lost.add(why);
            } else {
                String name = table.ref().name() + "_" + String.join("_", fk.columns()) + "_fkey";
                sql.add("ALTER TABLE " + t + " ADD CONSTRAINT " + TableRef.quote(name) + " " + fk.definition());
                notes.add("foreign key " + fk.definition() + ", on every partition of " + table.ref() + ", created on the hypertable as " + name);
            }
        }
        List<List<String>> parentIndexes = table.indexes().stream().map(Index::columns).toList();
        for (Index index : partitions.get(0).indexes()) {
            if (index.unique() || index.columns().contains(null) || parentIndexes.contains(index.columns())) {
                continue; // unique ones and the parent's come from pg_dump (keys) or need the time column; expressions are not compared
            }
            long carrying = partitions.stream().filter(p -> p.indexes().stream()
                    .anyMatch(i -> !i.unique() && i.columns().equals(index.columns()))).count();
            String columns = index.columns().stream().map(TableRef::quote).collect(Collectors.joining(", "));
            if (carrying < partitions.size()) {
                notes.add("an index on (" + String.join(", ", index.columns()) + ") is on " + carrying + " of the " + partitions.size()
                        + " partitions of " + table.ref() + ": not created on the hypertable");
            } else {
                sql.add("CREATE INDEX IF NOT EXISTS " + TableRef.quote(table.ref().name() + "_" + String.join("_", index.columns()) + "_idx")
                        + " ON " + t + " (" + columns + ")");
                notes.add("index on (" + String.join(", ", index.columns()) + "), on every partition of " + table.ref()
                        + ", created on the hypertable");
            }
        }
        liftChecks(table, partitions, sql, notes);
        liftTriggers(table, partitions, sql, notes);
        return new Lifted(sql, notes, lost);
    }

    /** CHECK constraints defined on each partition (those inherited from the parent pg_dump creates on the parent). */
    private static void liftChecks(Table table, List<Table> partitions, List<String> sql, List<String> notes) {
        List<String> parentChecks = checks(table).stream().map(Constraint::definition).toList();
        for (Constraint check : checks(partitions.get(0))) {
            if (parentChecks.contains(check.definition())) {
                continue;
            }
            long carrying = partitions.stream().filter(p -> checks(p).stream().anyMatch(c -> c.definition().equals(check.definition()))).count();
            if (carrying < partitions.size()) {
                notes.add("CHECK " + check.definition() + " is on " + carrying + " of the " + partitions.size() + " partitions of "
                        + table.ref() + ": not created on the hypertable");
                continue;
            }
            String partition = partitions.get(0).ref().name();
            String name = check.name().startsWith(partition) ? table.ref().name() + check.name().substring(partition.length()) : check.name();
            sql.add("ALTER TABLE " + table.ref().quoted() + " ADD CONSTRAINT " + TableRef.quote(name) + " " + check.definition());
            notes.add("CHECK " + check.definition() + ", on every partition of " + table.ref() + ", created on the hypertable as " + name);
        }
    }

    private static List<Constraint> checks(Table table) {
        return table.constraints().stream().filter(c -> c.type() == Constraint.Type.CHECK).toList();
    }

    /** Triggers defined on each partition (not cloned from the parent, which pg_dump creates on the parent itself). */
    private static void liftTriggers(Table table, List<Table> partitions, List<String> sql, List<String> notes) {
        List<String> parentTriggers = table.triggers().stream().map(Catalog.Trigger::name).toList();
        for (Catalog.Trigger trigger : partitions.get(0).triggers()) {
            if (parentTriggers.contains(trigger.name())) {
                continue;
            }
            String definition = onTable(trigger.definition(), partitions.get(0).ref(), table.ref());
            long carrying = partitions.stream().filter(p -> p.triggers().stream()
                    .anyMatch(t -> onTable(t.definition(), p.ref(), table.ref()).equals(definition))).count();
            if (carrying < partitions.size()) {
                notes.add("trigger " + trigger.name() + " is on " + carrying + " of the " + partitions.size() + " partitions of "
                        + table.ref() + " (or differs between them): not created on the hypertable");
            } else {
                sql.add(definition);
                notes.add("trigger " + trigger.name() + ", on every partition of " + table.ref() + ", created on the hypertable");
            }
        }
    }

    /** A trigger's definition (pg_get_triggerdef) with its table replaced. */
    private static String onTable(String definition, TableRef from, TableRef to) {
        String qualified = io.tsmigrate.core.catalog.TableRef.readable(from.schema()) + "." + TableRef.readable(from.name());
        return definition.replace(" ON " + qualified + " ", " ON " + to.quoted() + " ");
    }

    /** Whether {@code ref} is not created on the target: a partition, at any depth, of a table becoming a hypertable. */
    static boolean absentOnTarget(Catalog catalog, TableRef ref, Set<TableRef> chosen) {
        Optional<TableRef> parent = catalog.table(ref).flatMap(Table::partitionOf);
        while (parent.isPresent()) {
            if (chosen.contains(parent.get())) {
                return true;
            }
            parent = catalog.table(parent.get()).flatMap(Table::partitionOf);
        }
        return false;
    }
}
