package io.tsmigrate.cli;

import io.tsmigrate.core.TsmigrateException;
import io.tsmigrate.core.json.Json;
import io.tsmigrate.core.plan.Plan;
import io.tsmigrate.core.plan.PlanFile;
import io.tsmigrate.core.plan.Planner;
import io.tsmigrate.core.schema.SchemaMigrator;
import io.tsmigrate.core.schema.SchemaOptions;
import io.tsmigrate.core.schema.SchemaResult;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;

/** {@code tsmigrate schema}: runbook steps 3a to 3e. */
@Command(name = "schema", mixinStandardHelpOptions = true, usageHelpAutoWidth = true,
        description = {
            "Moves roles, schema and relational data, and creates the hypertables (runbook steps 3a-3e).",
            "",
            "Roles come from pg_dumpall --roles-only, sanitized statement by statement for a target that is "
                + "not a superuser (no SUPERUSER/REPLICATION/BYPASSRLS, no GRANTED BY, postgres and tsdbadmin left "
                + "alone). The schema and the rows of every plain table stream from pg_dump into psql in one "
                + "transaction; hypertables' rows are left to the backfill. Then each planned table becomes a "
                + "hypertable (keys extended with the time column where the plan says so; a partitioned source "
                + "table becomes one plain table first), and compression is set up with its policy paused during "
                + "the backfill. Every step is recorded in schema tsmigrate on the target; a re-run does only "
                + "what is not done yet.",
            ""
        })
final class SchemaCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Mixin
    ConnectionOptions connections;

    @Option(names = "--plan", paramLabel = "FILE", defaultValue = PlanFile.DEFAULT_NAME,
            description = "The plan to follow. Default: ${DEFAULT-VALUE}.")
    Path planFile;

    @Option(names = "--skip-roles", description = "Do not copy roles (create them on the target yourself).")
    boolean skipRoles;

    @Option(names = "--dry-run", description = "Print every command and SQL statement it would run; change nothing.")
    boolean dryRun;

    @Option(names = "--force", description = "Drop target tables that clash with the source's (with their rows) and load them again.")
    boolean force;

    @Mixin
    ClientToolsOption tools;

    @Mixin
    JsonOutput format;

    @Override
    public Integer call() {
        if (!Files.exists(planFile)) {
            throw TsmigrateException.usage("there is no plan file " + planFile + "; run tsmigrate plan first, or pass --plan FILE.");
        }
        Plan plan = Planner.check(planFile, connections.source());
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        // Everything is said before the interruption closes: after a Ctrl-C the JVM exits as soon as it does.
        try (Interruption interruption = new Interruption("schema")) {
            SchemaResult result;
            try {
                result = SchemaMigrator.run(connections.source(), connections.target(), plan,
                        new SchemaOptions(skipRoles, dryRun, force, tools.pgBindir()), line -> {
                            if (!format.json) {
                                err.println(line);
                                err.flush();
                            }
                        }, interruption.requested());
            } catch (TsmigrateException e) {
                return Interruption.stopped(e, err);
            }
            return render(result, out);
        }
    }

    private int render(SchemaResult result, PrintWriter out) {
        if (format.json) {
            out.println(Json.output(result));
            return ExitCodes.OK;
        }
        if (result.dryRun()) {
            out.println("Dry run: nothing was changed. These commands and statements would run:");
            result.commands().forEach(c -> out.println("  " + c));
            out.println();
        }
        for (SchemaResult.StepOutcome step : result.steps()) {
            out.printf(Locale.ROOT, "  %-12s %-12s %s%n", step.name(), step.status().name().toLowerCase(Locale.ROOT).replace('_', ' '),
                    step.summary());
            step.details().forEach(d -> out.println("               - " + d));
        }
        return ExitCodes.OK;
    }
}
