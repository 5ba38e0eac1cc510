package io.tsmigrate.cli;

import io.tsmigrate.core.Human;
import io.tsmigrate.core.TsmigrateException;
import io.tsmigrate.core.json.Json;
import io.tsmigrate.core.plan.Candidate;
import io.tsmigrate.core.plan.Hazard;
import io.tsmigrate.core.plan.Plan;
import io.tsmigrate.core.plan.PlanFile;
import io.tsmigrate.core.plan.PlanOptions;
import io.tsmigrate.core.plan.PlanReport;
import io.tsmigrate.core.plan.Planner;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code tsmigrate plan}: runbook steps 3b and 2. */
@Command(name = "plan", mixinStandardHelpOptions = true, usageHelpAutoWidth = true,
        description = {
            "Chooses the hypertables and reports every hazard (runbook steps 3b and 2).",
            "",
            "Reads the source catalog, scores every table with a time column (size, rows, append-mostly "
                + "order, an index on the time column, recent data), recommends a chunk interval (one chunk with "
                + "its indexes in about 25%% of the target's memory) and compression settings, lists hazards with "
                + "their remedies (keys without the time column, foreign keys, SERIAL ids under dual-write, "
                + "partitioning and inheritance, triggers and rules, NULL or future times, ...), groups the "
                + "hypertables by time type (each group needs its own completion point T), and writes an "
                + "editable plan file that the later steps follow.",
            ""
        })
final class PlanCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Mixin
    ConnectionOptions connections;

    @Mixin
    PlanningOptions planning;

    @Option(names = "--plan", paramLabel = "FILE",
            description = "Where to write the plan (the same option schema and migrate read it from). Default: "
                    + PlanFile.DEFAULT_NAME + ".")
    Path output;

    /** The option's name before it was the same as in schema and migrate; kept, hidden, for scripts that use it. */
    @Option(names = {"-o", "--output"}, paramLabel = "FILE", hidden = true)
    void output(Path file) {
        output = file;
    }

    @Option(names = "--force", description = "Overwrite an existing plan file (it may hold your edits).")
    boolean force;

    /** Empty for the plan file --plan names; a file name in the form before --plan was everywhere ({@code --check FILE}), kept. */
    @Option(names = "--check", arity = "0..1", fallbackValue = "", paramLabel = "FILE",
            description = "Check the edited plan file against the live source instead of planning: the file --plan names "
                    + "(default " + PlanFile.DEFAULT_NAME + "), or FILE.")
    String check;

    @Mixin
    JsonOutput format;

    @Override
    public Integer call() throws IOException {
        PrintWriter out = spec.commandLine().getOut();
        Path output = this.output == null ? Path.of(PlanFile.DEFAULT_NAME) : this.output;
        if (check != null) {
            Path checked = check.isEmpty() ? output : Path.of(check);
            Plan plan = Planner.check(checked, connections.source());
            List<String> lost = foreignKeysLost(checked, plan);
            if (format.json) {
                out.println(Json.output(Map.of("plan_file", checked.toString(), "valid", true, "plan", plan, "foreign_keys_lost", lost)));
            } else {
                lost.forEach(l -> out.println("  foreign key " + l));
                out.println(checked + ": the plan matches the source; " + plan.hypertables().size() + " hypertable"
                        + (plan.hypertables().size() == 1 ? "" : "s")
                        + (plan.hypertables().isEmpty() ? "" : " (" + String.join(", ",
                        plan.hypertables().stream().map(h -> h.table() + " on " + h.timeColumn()).toList()) + ")") + ".");
            }
            return ExitCodes.OK;
        }
        if (Files.exists(output) && !force) {
            throw TsmigrateException.usage(output + " already exists (it may hold your edits); pass --force to "
                    + "overwrite it, or --plan to write the plan elsewhere.");
        }
        PlanOptions options = planning.toOptions(Clock.systemUTC());
        PlanReport report = Planner.plan(connections.source(), connections.optionalTarget(), options);
        PlanFile.save(output, report, options.clock().instant());
        if (format.json) {
            Map<String, Object> doc = new LinkedHashMap<>();
            doc.put("plan_file", output.toString());
            doc.put("report", report);
            out.println(Json.output(doc));
        } else {
            render(report, out);
            out.println();
            int n = report.plan().hypertables().size();
            out.println("Plan written to " + output + " (" + n + " hypertable" + (n == 1 ? "" : "s") + "). "
                    + "Edit it, then check it: tsmigrate plan --check" + (this.output == null ? "" : " --plan " + output));
        }
        return ExitCodes.OK;
    }

    /** The source's foreign keys the target will not have under this plan, each with why. */
    private List<String> foreignKeysLost(Path checked, Plan plan) {
        try (java.sql.Connection source = io.tsmigrate.core.connect.PgConnector.open(connections.source())) {
            return io.tsmigrate.core.schema.SchemaMigrator.foreignKeysLost(io.tsmigrate.core.catalog.CatalogReader.read(source), plan);
        } catch (java.sql.SQLException e) {
            throw io.tsmigrate.core.connect.PgErrors.failure("read the catalog", connections.source(), e);
        } catch (IllegalArgumentException e) {
            throw TsmigrateException.usage(checked + ": " + e.getMessage() + ".");
        }
    }

    static void render(PlanReport report, PrintWriter out) {
        long chosen = report.candidates().stream().filter(Candidate::chosen).count();
        out.printf(Locale.ROOT, "Candidates: %d of %d tables have a time column; %d chosen%n",
                report.candidates().size(), report.tablesInspected(), chosen);
        for (Candidate c : report.candidates()) {
            out.printf(Locale.ROOT, "  %-7s %s  %s, %s rows, time column %s (%s), score %d%n",
                    c.chosen() ? "chosen" : "-", c.table(), Human.bytes(c.totalBytes()), Human.count(c.estimatedRows()),
                    c.timeColumn(), c.timeType().label(), c.score());
            if (c.chosen()) {
                out.println("          score: " + String.join("; ", c.reasons()));
                out.println("          chunk interval " + c.chunkExplanation());
                out.println("          compression: " + (c.segmentBy().isEmpty() ? "no grouping column found"
                        : "segment by " + String.join(", ", c.segmentBy())) + ", order by " + String.join(", ", c.orderBy())
                        + " (needs TimescaleDB with the timescale license)");
            } else {
                out.println("          " + c.decision());
            }
        }
        out.println();
        out.printf(Locale.ROOT, "Hazards: %d blocker(s), %d warning(s), %d note(s)%n", report.count(Hazard.Severity.BLOCKER),
                report.count(Hazard.Severity.WARNING), report.count(Hazard.Severity.NOTE));
        for (Hazard h : report.hazards()) {
            out.printf(Locale.ROOT, "  %-8s %s: %s%n", h.severity().name().toLowerCase(Locale.ROOT), h.code(), h.message());
            out.println("           remedy: " + h.remedy());
        }
        out.println();
        out.println("Time-type groups (each needs its own completion point T):");
        if (report.timeGroups().isEmpty()) {
            out.println("  none: no hypertable chosen");
        }
        report.timeGroups().forEach((type, tables) -> out.println("  " + type.label() + ": "
                + String.join(", ", tables.stream().map(Object::toString).toList())));
    }
}
