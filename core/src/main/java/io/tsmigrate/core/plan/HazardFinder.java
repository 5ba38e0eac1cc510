package io.tsmigrate.core.plan;

import io.tsmigrate.core.Human;
import io.tsmigrate.core.catalog.Catalog;
import io.tsmigrate.core.catalog.Catalog.Column;
import io.tsmigrate.core.catalog.Catalog.ColumnRef;
import io.tsmigrate.core.catalog.Catalog.Constraint;
import io.tsmigrate.core.catalog.Catalog.IncomingForeignKey;
import io.tsmigrate.core.catalog.Catalog.Index;
import io.tsmigrate.core.catalog.Catalog.Table;
import io.tsmigrate.core.catalog.TableRef;
import io.tsmigrate.core.plan.Hazard.Severity;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * Finds what will break or change when a table becomes a hypertable, and what in the database as a
 * whole affects the migration. Each hazard names the objects and a concrete remedy.
 */
final class HazardFinder {

    private final Catalog catalog;
    private final Optional<TargetProfile> target;
    private final RowCounter counter;
    private final Instant now;

    HazardFinder(Catalog catalog, Optional<TargetProfile> target, RowCounter counter, Instant now) {
        this.catalog = catalog;
        this.target = target;
        this.counter = counter;
        this.now = now;
    }

    /** Hazards of making {@code table} a hypertable on {@code time}. */
    List<Hazard> forHypertable(Table table, TimeColumns.Choice time) {
        List<Hazard> out = new ArrayList<>();
        String t = table.ref().toString();
        String timeName = time.column().name();
        keysWithoutTime(table, timeName, out);
        foreignKeysInto(table, out);
        foreignKeyFates(table, timeName, out);
        foreignKeysToSequenceKeys(table, out);
        ownSequenceColumns(table, out);
        nullsAndFuture(table, time, out);
        if (table.kind() == Catalog.Kind.PARTITIONED) {
            out.add(new Hazard(Severity.NOTE, "partitioned-table", List.of(t),
                    t + " is declaratively partitioned (" + table.children().size() + " partition"
                            + (table.children().size() == 1 ? ")" : "s)"),
                    "it becomes one hypertable on the target: a plain table with the same columns, defaults, "
                            + "constraints and indexes; its partitions are not created, their rows arrive with the backfill"));
        }
        if (!table.children().isEmpty() && table.kind() == Catalog.Kind.ORDINARY) {
            out.add(new Hazard(Severity.BLOCKER, "inheritance", list(t, table.children()),
                    t + " has inheritance children (" + join(table.children()) + "), and TimescaleDB cannot turn a "
                            + "table that uses inheritance into a hypertable",
                    "keep it a plain table, or move the children's rows into it and drop the inheritance on the source"));
        }
        if (!table.inheritsFrom().isEmpty()) {
            out.add(new Hazard(Severity.BLOCKER, "inheritance", list(t, table.inheritsFrom()),
                    t + " inherits from " + join(table.inheritsFrom()) + ", and TimescaleDB cannot turn a table that "
                            + "uses inheritance into a hypertable",
                    "keep it a plain table, or detach it on the source (ALTER TABLE ... NO INHERIT)"));
        }
        List<String> triggers = table.triggers().stream().filter(Catalog.Trigger::enabled).map(Catalog.Trigger::name).toList();
        if (!triggers.isEmpty()) {
            out.add(new Hazard(Severity.WARNING, "triggers", objects(t, triggers),
                    t + " has triggers (" + String.join(", ", triggers) + ") that would fire again for every "
                            + "backfilled row on the target",
                    "tsmigrate backfill keeps them from firing in its transactions (session_replication_role = replica, "
                            + "which needs a superuser, or on a managed service the tsdbadmin role); they fire for "
                            + "dual-written rows as on the source"));
        }
        if (!table.rules().isEmpty()) {
            out.add(new Hazard(Severity.BLOCKER, "rules", objects(t, table.rules()),
                    t + " has rules (" + String.join(", ", table.rules()) + "), which hypertables do not support",
                    "drop the rules (a trigger can do the same work), or keep the table plain"));
        }
        List<String> generated = table.columns().stream().filter(Column::generated).map(Column::name).toList();
        if (!generated.isEmpty()) {
            out.add(new Hazard(Severity.NOTE, "generated-columns", objects(t, generated),
                    t + " has generated columns (" + String.join(", ", generated) + ")",
                    "they are left out of the backfill's COPY; the target computes them"));
        }
        if (table.unlogged()) {
            out.add(new Hazard(Severity.WARNING, "unlogged-table", List.of(t),
                    t + " is UNLOGGED, and a hypertable has to be logged",
                    "tsmigrate schema makes it a logged table on the target before converting it (ALTER TABLE ... SET LOGGED)"));
        }
        for (Constraint c : table.constraints()) {
            if (c.type() == Constraint.Type.EXCLUSION && !c.columns().contains(timeName)) {
                out.add(new Hazard(Severity.BLOCKER, "exclusion-without-time-column", List.of(t + "." + c.name()),
                        "exclusion constraint " + c.name() + " on " + t + " lacks the time column " + timeName
                                + ", which every unique or exclusion constraint of a hypertable needs",
                        "add " + timeName + " to the constraint on the source, or keep the table plain"));
            }
        }
        return out;
    }

    private void keysWithoutTime(Table table, String time, List<Hazard> out) {
        String t = table.ref().toString();
        for (Constraint c : table.constraints()) {
            if ((c.type() != Constraint.Type.PRIMARY_KEY && c.type() != Constraint.Type.UNIQUE) || c.columns().contains(time)) {
                continue;
            }
            String kind = c.type() == Constraint.Type.PRIMARY_KEY ? "primary key" : "unique constraint";
            List<IncomingForeignKey> referencing = catalog.foreignKeysInto(table.ref()).stream()
                    .filter(fk -> fk.constraint().referencedColumns().equals(c.columns())).toList();
            String fkNote = referencing.isEmpty() ? ""
                    : "; the foreign keys that reference (" + String.join(", ", c.columns()) + ") ("
                    + referencing.stream().map(fk -> fk.from() + "." + fk.constraint().name()).collect(Collectors.joining(", "))
                    + ") cannot reference the extended key and are dropped on the target (enforce them in the application)";
            out.add(new Hazard(Severity.WARNING, "key-without-time-column", List.of(t + "." + c.name()),
                    "the " + kind + " " + c.name() + " (" + String.join(", ", c.columns()) + ") on " + t
                            + " lacks the time column " + time + ", and create_hypertable refuses it",
                    "tsmigrate schema extends it to (" + String.join(", ", c.columns()) + ", " + time
                            + ") on the target (plan: extend_keys: true), so uniqueness then holds per time value" + fkNote));
        }
        for (Index i : table.indexes()) {
            boolean backsConstraint = table.constraints().stream().anyMatch(c -> c.name().equals(i.name()));
            if (i.unique() && !backsConstraint && !i.columns().contains(time)) {
                out.add(new Hazard(Severity.WARNING, "key-without-time-column", List.of(t + "." + i.name()),
                        "the unique index " + i.name() + " on " + t + " lacks the time column " + time
                                + ", and create_hypertable refuses it",
                        "tsmigrate schema recreates it with " + time + " added on the target (plan: extend_keys: true)"));
            }
        }
    }

    private void foreignKeysInto(Table table, List<Hazard> out) {
        List<IncomingForeignKey> incoming = catalog.foreignKeysInto(table.ref());
        if (incoming.isEmpty()) {
            return;
        }
        String t = table.ref().toString();
        List<String> names = incoming.stream().map(fk -> fk.from() + "." + fk.constraint().name()).toList();
        Optional<Boolean> supported = target.flatMap(p -> p.timescaledbAtLeast(2, 16));
        String version = target.flatMap(TargetProfile::timescaledbVersion).map(v -> "the target has " + v).orElse("give --target to check");
        if (supported.equals(Optional.of(false))) {
            out.add(new Hazard(Severity.BLOCKER, "referenced-by-foreign-keys", names,
                    t + " is referenced by foreign keys (" + String.join(", ", names) + "), and foreign keys into "
                            + "hypertables need TimescaleDB 2.16 or later (" + version + ")",
                    "upgrade TimescaleDB on the target, or drop these foreign keys there, or keep the table plain"));
        } else {
            out.add(new Hazard(Severity.WARNING, "referenced-by-foreign-keys", names,
                    t + " is referenced by foreign keys (" + String.join(", ", names) + "); foreign keys into "
                            + "hypertables need TimescaleDB 2.16 or later (" + version + ")",
                    "tsmigrate schema creates the foreign keys from plain tables NOT VALID (the rows they reference "
                            + "arrive with the backfill) and tsmigrate constraints validates them afterwards; see each key's fate below"));
        }
    }

    /** What happens on the target to each foreign key that touches the table, so that no edit of the plan meets a surprise. */
    private void foreignKeyFates(Table table, String time, List<Hazard> out) {
        String t = table.ref().toString();
        for (Constraint fk : table.foreignKeys()) {
            out.add(fate(t + "." + fk.name(), fk.definition(), "kept on the hypertable; the backfill does not check it row by "
                    + "row (the rows held it on the source), tsmigrate constraints checks it once, set-based, afterwards; dropped "
                    + "if " + fk.references().map(Object::toString).orElse("the table it references") + " becomes a hypertable too "
                    + "(TimescaleDB has no foreign keys between hypertables)"));
        }
        List<Table> partitions = table.children().stream().map(catalog::table).flatMap(Optional::stream).filter(Table::isPartition).toList();
        if (!partitions.isEmpty()) {
            List<String> own = table.foreignKeys().stream().map(Constraint::definition).toList();
            partitions.stream().flatMap(p -> p.foreignKeys().stream()).map(Constraint::definition).filter(d -> !own.contains(d))
                    .distinct().forEach(d -> {
                        long on = partitions.stream().filter(p -> p.foreignKeys().stream().anyMatch(f -> f.definition().equals(d))).count();
                        out.add(fate(t + " partitions", d, on == partitions.size()
                                ? "on every partition: created once on the hypertable (unless it references another table "
                                + "that becomes a hypertable), then checked like the hypertable's own keys"
                                : "on " + on + " of " + partitions.size() + " partitions only: not created on the hypertable "
                                + "(add it yourself if it should hold for every row)"));
                    });
        }
        for (IncomingForeignKey fk : catalog.foreignKeysInto(table.ref())) {
            boolean extended = table.constraints().stream().anyMatch(c -> (c.type() == Constraint.Type.PRIMARY_KEY
                    || c.type() == Constraint.Type.UNIQUE) && !c.columns().contains(time) && c.columns().equals(fk.constraint().referencedColumns()));
            out.add(fate(fk.from() + "." + fk.constraint().name(), fk.constraint().definition(), extended
                    ? "dropped on the target: it references (" + String.join(", ", fk.constraint().referencedColumns())
                    + "), a key that gains the time column; recorded in tsmigrate.dropped_constraint (enforce it in the application)"
                    : "created NOT VALID by tsmigrate schema (the rows it references arrive with the backfill) and validated "
                    + "by tsmigrate constraints afterwards"));
        }
    }

    /**
     * The backfill's path for a table the plan compresses: straight into the columnstore where the
     * target's TimescaleDB compresses during COPY (2.21+) and the table has none of what makes it
     * refuse (see {@code backfill.DirectCompression}), judged here from the source's catalog (a
     * partitioned table's partitions included); {@code backfill --dry-run} judges from the target's.
     */
    Hazard directCompression(Table table) {
        String t = table.ref().toString();
        String version = target.flatMap(TargetProfile::timescaledbVersion).orElse("?");
        if (!target.flatMap(p -> p.timescaledbAtLeast(2, 21)).orElse(false)) {
            return new Hazard(Severity.NOTE, "direct-compression", List.of(t), t + " is backfilled into the rowstore and compressed "
                    + "afterwards: TimescaleDB " + version + " on the target cannot compress during COPY (2.21 or later can)",
                    "--compress (or the resumed policy) compresses the history after the backfill");
        }
        List<String> obstacles = new ArrayList<>();
        List<Table> parts = new ArrayList<>(List.of(table));
        table.children().forEach(c -> catalog.table(c).ifPresent(parts::add));
        for (Table p : parts) {
            p.indexes().stream().filter(i -> i.unique() || i.primary()).forEach(i -> obstacles.add("unique key " + i.name()));
            p.constraints().stream().filter(c -> c.type() == Constraint.Type.EXCLUSION)
                    .forEach(c -> obstacles.add("exclusion constraint " + c.name()));
            p.triggers().forEach(tr -> obstacles.add("trigger " + tr.name()));
            p.foreignKeys().forEach(fk -> obstacles.add("foreign key " + fk.name()));
        }
        catalog.foreignKeysInto(table.ref()).forEach(fk -> obstacles.add("foreign key " + fk.constraint().name() + " of " + fk.from()));
        List<String> distinct = obstacles.stream().distinct().toList();
        if (distinct.isEmpty()) {
            return new Hazard(Severity.NOTE, "direct-compression", List.of(t), t + " is backfilled straight into the columnstore "
                    + "(TimescaleDB " + version + " compresses during COPY): each row written once",
                    "nothing to do; --direct-compress off copies into the rowstore instead");
        }
        return new Hazard(Severity.NOTE, "direct-compression", List.of(t), t + " is backfilled into the rowstore and compressed "
                + "afterwards: TimescaleDB does not compress a COPY into a table with " + String.join(", ", distinct),
                "to write its history once, compressed, drop these on the target before the backfill and create them after it; "
                        + "tsmigrate backfill --dry-run says the path from the target's catalog");
    }

    private static Hazard fate(String object, String definition, String what) {
        return new Hazard(Severity.NOTE, "foreign-key-fate", List.of(object), "foreign key " + object + " (" + definition + ")", what);
    }

    private void foreignKeysToSequenceKeys(Table table, List<Hazard> out) {
        for (Constraint fk : table.foreignKeys()) {
            Optional<TableRef> parent = fk.references();
            if (parent.isEmpty()) {
                continue;
            }
            List<String> filled = fk.referencedColumns().stream()
                    .filter(col -> catalog.sequenceFilling(new ColumnRef(parent.get(), col)).isPresent()).toList();
            if (filled.isEmpty()) {
                continue;
            }
            out.add(new Hazard(Severity.WARNING, "foreign-key-to-serial-key",
                    List.of(table.ref() + "." + fk.name(), parent.get() + "." + String.join(",", filled)),
                    "foreign key " + fk.name() + " on " + table.ref() + " references " + parent.get() + " ("
                            + String.join(", ", filled) + "), whose values come from a SERIAL or identity sequence: "
                            + "under dual-write the same row can get different ids on the source and the target, and "
                            + "backfilled rows would then reference the wrong row (runbook step 2)",
                    "have the application generate the ids (UUIDs, or ids it reads from one sequence and writes to both "
                            + "sides), or use live migration instead of dual-write"));
        }
    }

    private void ownSequenceColumns(Table table, List<Hazard> out) {
        for (Column c : table.columns()) {
            Optional<Catalog.Sequence> seq = catalog.sequenceFilling(new ColumnRef(table.ref(), c.name()));
            if (seq.isEmpty()) {
                continue;
            }
            out.add(new Hazard(Severity.WARNING, "sequence-filled-column", List.of(table.ref() + "." + c.name()),
                    table.ref() + "." + c.name() + " is filled by " + (seq.get().identity() ? "an identity column's" : "a SERIAL")
                            + " sequence " + seq.get().ref() + ": under dual-write each side generates its own values "
                            + "unless the application sends them",
                    "have the application send the value in its writes (for example read it from the source's sequence "
                            + "with the row); the backfill copies the source's values up to T"));
        }
    }

    private void nullsAndFuture(Table table, TimeColumns.Choice time, List<Hazard> out) {
        String col = table.ref() + "." + time.column().name();
        if (!time.column().notNull()) {
            RowCounter.Count nulls = counter.nullTimes(table, time.column());
            // Rows without a time fit in no hypertable and in no backfill range: they would be lost.
            out.add(new Hazard(nulls.rows() > 0 ? Severity.BLOCKER : Severity.NOTE, "nullable-time-column", List.of(col),
                    col + " allows NULL (" + nulls.describe() + " with NULL time); a hypertable's time column is NOT NULL, "
                            + "and rows without a time are in no backfill range",
                    nulls.rows() > 0 ? "give those rows a time (or delete them) on the source and plan again, or keep the "
                            + "table plain (--exclude " + table.ref() + ")" : "nothing to do: the target column becomes NOT NULL"));
        }
        RowCounter.Count future = counter.futureTimes(table, time, now);
        if (future.rows() > 0) {
            out.add(new Hazard(Severity.WARNING, "future-time", List.of(col),
                    col + " has " + future.describe() + " with a time in the future, beyond any completion point T",
                    "the backfill copies rows up to T only: future-dated rows must reach the target by dual-write, or "
                            + "backfill them separately with --from and --until"));
        }
    }

    /** Database-wide hazards: large objects, unlogged tables, tablespaces, extensions, roles. */
    List<Hazard> global() {
        List<Hazard> out = new ArrayList<>();
        if (catalog.largeObjects() > 0) {
            out.add(new Hazard(Severity.WARNING, "large-objects", List.of("pg_largeobject"),
                    "the source holds " + Human.count(catalog.largeObjects()) + " large objects",
                    "pg_dump copies them once during tsmigrate schema; large objects written later are not dual-written, "
                            + "so copy them again before cutover or store them in bytea columns"));
        }
        List<String> unlogged = catalog.tables().values().stream().filter(Table::unlogged).map(x -> x.ref().toString()).toList();
        if (!unlogged.isEmpty()) {
            out.add(new Hazard(Severity.NOTE, "unlogged-tables", unlogged,
                    "unlogged tables (" + String.join(", ", unlogged) + ") lose their rows on a server crash",
                    "plain unlogged tables stay unlogged on the target; hypertables are made logged"));
        }
        List<String> spaced = catalog.tables().values().stream().filter(x -> x.tablespace().isPresent())
                .map(x -> x.ref() + " (" + x.tablespace().get() + ")").toList();
        if (!spaced.isEmpty()) {
            out.add(new Hazard(Severity.NOTE, "tablespaces", spaced,
                    "tables in non-default tablespaces: " + String.join(", ", spaced),
                    "pg_dump runs with --no-tablespaces, so on the target everything is in the default tablespace"));
        }
        target.ifPresent(p -> {
            List<String> missing = catalog.extensions().stream()
                    .filter(e -> !e.equals("plpgsql") && !p.availableExtensions().contains(e)).sorted().toList();
            if (!missing.isEmpty()) {
                out.add(new Hazard(Severity.BLOCKER, "missing-extensions", missing,
                        "the source uses extensions the target cannot install: " + String.join(", ", missing),
                        "install them on the target (on a managed service, ask its support), or drop them on the source"));
            }
        });
        for (Catalog.PrivilegedRole r : catalog.privilegedRoles()) {
            List<String> attributes = new ArrayList<>();
            if (r.superuser()) {
                attributes.add("SUPERUSER");
            }
            if (r.replication()) {
                attributes.add("REPLICATION");
            }
            if (r.bypassRls()) {
                attributes.add("BYPASSRLS");
            }
            out.add(new Hazard(Severity.NOTE, "privileged-role", List.of(r.name()),
                    "role " + TableRef.readable(r.name()) + " has " + String.join(", ", attributes),
                    "tsmigrate schema copies the role without these attributes, which a managed target refuses"));
        }
        return out;
    }

    private static List<String> list(String first, List<TableRef> more) {
        List<String> out = new ArrayList<>(List.of(first));
        more.forEach(r -> out.add(r.toString()));
        return out;
    }

    private static List<String> objects(String table, List<String> names) {
        return names.stream().map(n -> table + "." + n).toList();
    }

    private static String join(List<TableRef> refs) {
        return refs.stream().map(TableRef::toString).collect(Collectors.joining(", "));
    }
}
