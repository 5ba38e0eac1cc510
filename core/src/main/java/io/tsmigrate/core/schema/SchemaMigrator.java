package io.tsmigrate.core.schema;

import io.tsmigrate.core.TsmigrateException;
import io.tsmigrate.core.TsmigrateException.Kind;
import io.tsmigrate.core.Versions;
import io.tsmigrate.core.catalog.Catalog;
import io.tsmigrate.core.catalog.CatalogReader;
import io.tsmigrate.core.catalog.Hypertables;
import io.tsmigrate.core.catalog.TableRef;
import io.tsmigrate.core.connect.ConnectionSpec;
import io.tsmigrate.core.connect.PgConnector;
import io.tsmigrate.core.connect.PgErrors;
import io.tsmigrate.core.connect.Transactions;
import io.tsmigrate.core.pgtools.ClientTools;
import io.tsmigrate.core.plan.Plan;
import io.tsmigrate.core.plan.PlanChecker;
import io.tsmigrate.core.schema.SchemaResult.Status;
import io.tsmigrate.core.schema.SchemaResult.StepOutcome;
import io.tsmigrate.core.state.ConstraintRecords;
import io.tsmigrate.core.state.PlanStore;
import io.tsmigrate.core.state.StateSchema;
import io.tsmigrate.core.state.Steps;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;

/**
 * Runbook steps 3a to 3e: roles, schema and relational data, hypertables, compression settings.
 * Each step is recorded in the target's state and is safe to re-run: a step that is done is not
 * done again, a failed step left nothing half-done (each is one transaction) and runs again.
 */
public final class SchemaMigrator {

    static final String ROLES = "schema.roles";
    static final String DUMP = "schema.dump";
    static final String HYPERTABLES = "schema.hypertables";
    static final String COMPRESSION = "schema.compression";

    private final ConnectionSpec sourceSpec;
    private final ConnectionSpec targetSpec;
    private final Plan plan;
    private final SchemaOptions options;
    private final Consumer<String> progress;
    private final AtomicBoolean stop;
    private final List<String> commands = new ArrayList<>();

    private SchemaMigrator(ConnectionSpec source, ConnectionSpec target, Plan plan, SchemaOptions options, Consumer<String> progress,
                           AtomicBoolean stop) {
        this.sourceSpec = source;
        this.targetSpec = target;
        this.plan = plan;
        this.options = options;
        this.progress = progress;
        this.stop = stop;
    }

    /**
     * Runs the schema step.
     *
     * @param progress receives one line as each step starts
     * @throws TsmigrateException NOT_READY when the plan no longer matches the source, a client tool is
     *                            missing or too old, or the target has clashing tables; FAILED with the
     *                            tool's or server's error when a step fails
     */
    public static SchemaResult run(ConnectionSpec source, ConnectionSpec target, Plan plan, SchemaOptions options,
                                   Consumer<String> progress) {
        return run(source, target, plan, options, progress, new AtomicBoolean());
    }

    /**
     * Runs the schema step until done or until {@code stop} is set (Ctrl-C): the dump in progress is
     * stopped and rolled back at once, a step that runs SQL finishes first; the steps done are kept.
     *
     * @throws TsmigrateException INTERRUPTED when stopped, and as {@link #run(ConnectionSpec, ConnectionSpec, Plan,
     *                            SchemaOptions, Consumer)} says
     */
    public static SchemaResult run(ConnectionSpec source, ConnectionSpec target, Plan plan, SchemaOptions options,
                                   Consumer<String> progress, AtomicBoolean stop) {
        return new SchemaMigrator(source, target, plan, options, progress, stop).run();
    }

    /**
     * What the target will lack of the source's foreign keys under this plan, each with why: read
     * from the source's catalog alone, so that {@code plan --check} can say it before any step runs.
     *
     * @throws IllegalArgumentException with a user-facing sentence when a key cannot be extended
     */
    public static List<String> foreignKeysLost(Catalog catalog, Plan plan) {
        java.util.Set<TableRef> chosen = plan.hypertables().stream().map(Plan.Hypertable::table).collect(java.util.stream.Collectors.toSet());
        List<String> out = new ArrayList<>();
        for (Plan.Hypertable h : plan.hypertables()) {
            HypertableSql.Statements sql = HypertableSql.forHypertable(h, catalog, true, chosen);
            for (HypertableSql.DroppedForeignKey fk : sql.droppedForeignKeys()) {
                String line = "dropped: " + fk.table() + "." + fk.name() + " (" + fk.definition() + "): " + fk.reason();
                if (!out.contains(line)) {
                    out.add(line);
                }
            }
            sql.lostForeignKeys().stream().map(n -> "not created: " + n).forEach(out::add);
        }
        return out;
    }

    private SchemaResult run() {
        try (Connection source = PgConnector.open(sourceSpec); Connection target = PgConnector.open(targetSpec)) {
            Catalog catalog;
            try {
                catalog = CatalogReader.read(source);
            } catch (SQLException e) {
                throw PgErrors.failure("read the catalog", sourceSpec, e);
            }
            List<String> differences = PlanChecker.differences(plan, catalog);
            if (!differences.isEmpty()) {
                throw new TsmigrateException(Kind.NOT_READY, "the plan no longer matches the source: "
                        + String.join("; ", differences) + "; re-run tsmigrate plan, or fix the plan file.");
            }
            int sourceMajor = catalog.serverVersionNum() / 10000;
            int targetMajor = serverMajor(target);
            ClientTools tools = ClientTools.locate(options.pgBindir());
            ClientTools.Tool pgDump = tools.require("pg_dump", sourceMajor);
            ClientTools.Tool psql = tools.require("psql", sourceMajor);
            String tsVersion = ensureTimescaledb(target);
            if (!options.dryRun()) {
                StateSchema.ensure(target);
                PlanStore.save(target, plan, sourceSpec.describe());
            }
            Steps steps = new Steps(target);
            if (!options.force() && !(StateSchema.exists(target) && steps.isDone(DUMP))) {
                refuseClashingTables(target, catalog);
            }
            List<StepOutcome> outcomes = new ArrayList<>();
            outcomes.add(step(ROLES, steps, () -> roles(tools, sourceMajor, source, target)));
            outcomes.add(step(DUMP, steps, () -> dump(pgDump, psql, catalog, target, targetMajor)));
            outcomes.add(step(HYPERTABLES, steps, () -> hypertables(catalog, target, Versions.atLeast(tsVersion, 2, 13))));
            outcomes.add(step(COMPRESSION, steps, () -> compression(catalog, target)));
            return new SchemaResult(options.dryRun(), List.copyOf(outcomes), List.copyOf(commands));
        } catch (SQLException e) {
            throw PgErrors.failure("run the schema step", targetSpec, e);
        }
    }

    /** Runs one step, recorded unless this is a dry run; a step that is done is not run again (roles and dump). */
    private StepOutcome step(String name, Steps steps, Steps.Work<StepOutcome> work) throws SQLException {
        boolean once = name.equals(ROLES) || name.equals(DUMP);
        if (!options.dryRun() && once && steps.isDone(name)) {
            String when = steps.get(name).flatMap(Steps.Step::finishedAt).map(Instant::toString).orElse("earlier");
            return new StepOutcome(short_(name), Status.ALREADY_DONE, "done by an earlier run (" + when + ")", List.of(), Duration.ZERO);
        }
        if (stop.get()) {
            throw new TsmigrateException(Kind.INTERRUPTED, "interrupted before the " + short_(name) + " step; the steps done are kept: "
                    + "run tsmigrate schema again to finish.");
        }
        progress.accept((options.dryRun() ? "would run " : "running ") + short_(name) + " ...");
        Instant start = Instant.now();
        Steps.Work<StepOutcome> timed = () -> {
            StepOutcome o = work.run();
            return new StepOutcome(o.name(), o.status(), o.summary(), o.details(), Duration.between(start, Instant.now()));
        };
        try {
            return options.dryRun() ? timed.run() : steps.run(name, timed);
        } catch (IllegalArgumentException e) {
            throw new TsmigrateException(Kind.NOT_READY, e.getMessage() + ".", e);
        }
    }

    private static String short_(String step) {
        return step.substring(step.indexOf('.') + 1);
    }

    private StepOutcome roles(ClientTools tools, int sourceMajor, Connection source, Connection target) throws SQLException {
        if (options.skipRoles()) {
            return new StepOutcome("roles", Status.SKIPPED, "skipped (--skip-roles)", List.of(), Duration.ZERO);
        }
        ClientTools.Tool pgDumpall = tools.require("pg_dumpall", sourceMajor);
        RoleSanitizer.Result roles = RolesStep.prepare(pgDumpall, sourceSpec, isSuperuser(source), target, targetSpec, commands);
        roles.statements().forEach(s -> commands.add(RoleSanitizer.redactPasswords(s)));
        if (!options.dryRun()) {
            RolesStep.apply(target, targetSpec, roles.statements());
        }
        long created = roles.statements().stream().filter(s -> s.startsWith("CREATE ROLE")).count();
        return new StepOutcome("roles", options.dryRun() ? Status.PLANNED : Status.DONE,
                created + " role(s) created, " + roles.changes().size() + " change(s) for the target", roles.changes(), Duration.ZERO);
    }

    private StepOutcome dump(ClientTools.Tool pgDump, ClientTools.Tool psql, Catalog catalog, Connection target, int targetMajor)
            throws SQLException {
        List<TableRef> excludeData = new ArrayList<>();
        List<TableRef> excludeTables = new ArrayList<>();
        Set<TableRef> unpartition = new LinkedHashSet<>();
        for (Plan.Hypertable h : plan.hypertables()) {
            excludeData.add(h.table());
            List<TableRef> descendants = descendants(catalog, h.table());
            excludeData.addAll(descendants);
            if (catalog.table(h.table()).orElseThrow().kind() == Catalog.Kind.PARTITIONED) {
                unpartition.add(h.table());
                excludeTables.addAll(descendants);
            }
        }
        List<String> prelude = new ArrayList<>();
        clashingTables(target, catalog).forEach(t -> prelude.add("DROP TABLE IF EXISTS " + TableRef.parse(t).quoted() + " CASCADE"));
        DumpLoad.Command dump = DumpLoad.pgDump(pgDump, sourceSpec, excludeData, excludeTables);
        DumpLoad.Command load = DumpLoad.psql(psql, targetSpec);
        commands.addAll(prelude);
        commands.add(dump.display() + " | <tsmigrate rewrite> | " + load.display());
        List<String> details = new ArrayList<>();
        unpartition.forEach(t -> details.add("partitioned " + t + " is created as a plain table; its partitions are left out"));
        plan.hypertables().forEach(h -> details.add("rows of " + h.table() + " left to the backfill"));
        if (options.dryRun()) {
            // What the rewriter will decide as the dump streams, told from the catalog beforehand.
            for (TableRef later : excludeData) {
                for (Catalog.IncomingForeignKey fk : catalog.foreignKeysInto(later)) {
                    if (!excludeTables.contains(fk.from()) && !unpartition.contains(fk.from()) && !excludeData.contains(fk.from())) {
                        details.add("foreign key " + fk.constraint().name() + " of " + fk.from() + " will be created NOT VALID: the rows "
                                + "of " + later + " it references arrive with the backfill (tsmigrate constraints validates it then)");
                    }
                }
            }
            return new StepOutcome("dump", Status.PLANNED, "pg_dump | psql in one transaction", details, Duration.ZERO);
        }
        details.addAll(DumpLoad.run(dump, load, prelude, unpartition, new LinkedHashSet<>(excludeData), targetMajor, stop));
        long plain = catalog.tables().values().stream().filter(t -> !excludeData.contains(t.ref())).count();
        return new StepOutcome("dump", Status.DONE, "schema loaded; rows of " + plain + " plain table(s) copied", details, Duration.ZERO);
    }

    private StepOutcome hypertables(Catalog catalog, Connection target, boolean byRange) throws SQLException {
        List<String> details = new ArrayList<>();
        int created = 0;
        for (Plan.Hypertable h : plan.hypertables()) {
            HypertableSql.Statements sql = HypertableSql.forHypertable(h, catalog, byRange, chosen());
            if (!options.dryRun() && Hypertables.isHypertable(target, h.table())) {
                details.add(h.table() + " is already a hypertable");
                continue;
            }
            commands.addAll(sql.sql());
            details.addAll(sql.notes());
            if (options.dryRun()) {
                continue;
            }
            try {
                Transactions.inTransaction(target, t -> {
                    try (Statement st = t.createStatement()) {
                        for (String statement : sql.sql()) {
                            st.execute(statement);
                        }
                    }
                    for (HypertableSql.DroppedForeignKey fk : sql.droppedForeignKeys()) {
                        ConstraintRecords.recordDropped(t, fk.table(), fk.name(), fk.definition(), fk.reason());
                    }
                    return null;
                });
            } catch (SQLException e) {
                throw new TsmigrateException(Kind.FAILED, "making " + h.table() + " a hypertable failed: " + PgErrors.message(e)
                        + " (SQLSTATE " + e.getSQLState() + "); the table is unchanged: fix the cause and re-run tsmigrate schema.", e);
            }
            created++;
            details.add(h.table() + " is a hypertable on " + h.timeColumn() + " with chunks of " + h.chunkInterval());
        }
        if (options.dryRun()) {
            return new StepOutcome("hypertables", Status.PLANNED, plan.hypertables().size() + " hypertable(s) to create",
                    details, Duration.ZERO);
        }
        return new StepOutcome("hypertables", created > 0 ? Status.DONE : Status.ALREADY_DONE,
                created + " hypertable(s) created, " + (plan.hypertables().size() - created) + " already there", details, Duration.ZERO);
    }

    private StepOutcome compression(Catalog catalog, Connection target) throws SQLException {
        List<Plan.Hypertable> wanted = plan.hypertables().stream().filter(h -> h.compression().enabled()).toList();
        String license = CompressionStep.license(target);
        List<String> details = new ArrayList<>();
        if (!wanted.isEmpty() && license.equals("apache")) {
            details.add("compression skipped for " + String.join(", ", wanted.stream().map(h -> h.table().toString()).toList())
                    + ": the target's TimescaleDB is the apache build, which cannot compress");
            wanted = List.of();
        }
        for (Plan.Hypertable h : wanted) {
            if (!options.dryRun() && Hypertables.compresses(target, h.table())) {
                details.add(h.table() + " already has compression settings");
                continue;
            }
            String type = catalog.table(h.table()).flatMap(t -> t.column(h.timeColumn())).map(Catalog.Column::typeName).orElseThrow();
            List<String> sql = CompressionSql.forHypertable(h, type);
            commands.addAll(sql);
            if (!options.dryRun()) {
                try (Statement st = target.createStatement()) {
                    for (String statement : sql) {
                        st.execute(statement);
                    }
                } catch (SQLException e) {
                    throw new TsmigrateException(Kind.FAILED, "setting up compression on " + h.table() + " failed: "
                            + PgErrors.message(e) + " (SQLSTATE " + e.getSQLState() + "); fix it or set enabled: false for it in the plan.", e);
                }
            }
            details.add(h.table() + " compresses by " + (h.compression().segmentBy().isEmpty() ? "no segment"
                    : String.join(", ", h.compression().segmentBy())) + ", ordered by " + String.join(", ", h.compression().orderBy()));
        }
        if (!license.equals("apache")) {
            details.addAll(CompressionStep.pausePolicies(target, plan.hypertables(), options.dryRun(), commands));
        }
        Status status = options.dryRun() ? Status.PLANNED : details.isEmpty() ? Status.SKIPPED : Status.DONE;
        String summary = license.equals("apache") ? (plan.hypertables().stream().anyMatch(h -> h.compression().enabled())
                ? "skipped: the target's apache build cannot compress" : "nothing to do (no hypertable asks for compression)")
                : details.isEmpty() ? "nothing to do" : "compression set up; its policies are paused until the backfill ends";
        return new StepOutcome("compression", status, summary, details, Duration.ZERO);
    }

    private Set<TableRef> chosen() {
        return plan.hypertables().stream().map(Plan.Hypertable::table).collect(java.util.stream.Collectors.toSet());
    }

    private List<TableRef> descendants(Catalog catalog, TableRef table) {
        List<TableRef> out = new ArrayList<>();
        for (TableRef child : catalog.table(table).map(Catalog.Table::children).orElse(List.of())) {
            out.add(child);
            out.addAll(descendants(catalog, child));
        }
        return out;
    }

    private void refuseClashingTables(Connection target, Catalog catalog) throws SQLException {
        List<String> clashing = clashingTables(target, catalog);
        if (!clashing.isEmpty()) {
            throw new TsmigrateException(Kind.NOT_READY, "the target already has " + clashing.size() + " table(s) that the "
                    + "dump would create: " + String.join(", ", clashing.subList(0, Math.min(10, clashing.size())))
                    + (clashing.size() > 10 ? ", ..." : "") + "; use an empty target database, drop them, or pass --force "
                    + "to drop these tables on the target (with their rows) and load them from the source again.");
        }
    }

    /** Source tables that already exist on the target (partitions of a hypertable are never created, but clash too). */
    private static List<String> clashingTables(Connection target, Catalog catalog) throws SQLException {
        List<String> schemas = new ArrayList<>();
        List<String> names = new ArrayList<>();
        for (TableRef t : catalog.tables().keySet()) {
            schemas.add(t.schema());
            names.add(t.name());
        }
        List<String> clashing = new ArrayList<>();
        try (PreparedStatement ps = target.prepareStatement("SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c "
                + "JOIN pg_namespace n ON n.oid = c.relnamespace JOIN unnest(?::text[], ?::text[]) AS s(nsp, rel) "
                + "ON s.nsp = n.nspname AND s.rel = c.relname WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') ORDER BY 1")) {
            ps.setArray(1, target.createArrayOf("text", schemas.toArray()));
            ps.setArray(2, target.createArrayOf("text", names.toArray()));
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    clashing.add(rs.getString(1));
                }
            }
        }
        return clashing;
    }

    private String ensureTimescaledb(Connection target) throws SQLException {
        try (Statement st = target.createStatement()) {
            try (ResultSet rs = st.executeQuery("SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'")) {
                if (rs.next()) {
                    return rs.getString(1);
                }
            }
            commands.add("CREATE EXTENSION IF NOT EXISTS timescaledb");
            if (options.dryRun()) {
                try (ResultSet rs = st.executeQuery("SELECT default_version FROM pg_available_extensions WHERE name = 'timescaledb'")) {
                    if (rs.next()) {
                        return rs.getString(1);
                    }
                }
            } else {
                try {
                    st.execute("CREATE EXTENSION IF NOT EXISTS timescaledb");
                } catch (SQLException e) {
                    throw new TsmigrateException(Kind.NOT_READY, "the target database has no timescaledb extension and "
                            + "creating it failed: " + PgErrors.message(e) + "; run tsmigrate doctor for what to fix.", e);
                }
                try (ResultSet rs = st.executeQuery("SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'")) {
                    rs.next();
                    return rs.getString(1);
                }
            }
        }
        throw new TsmigrateException(Kind.NOT_READY, "TimescaleDB is not installed on the target server; run tsmigrate doctor "
                + "for what to install.");
    }

    private static boolean isSuperuser(Connection c) throws SQLException {
        try (Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")) {
            return rs.next() && rs.getBoolean(1);
        }
    }

    private static int serverMajor(Connection c) throws SQLException {
        try (Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT current_setting('server_version_num')::int / 10000")) {
            rs.next();
            return rs.getInt(1);
        }
    }

}
