package io.tsmigrate.cli;

import io.tsmigrate.core.Human;
import io.tsmigrate.core.backfill.BackfillListener;
import io.tsmigrate.core.connect.ConnectionSpec;
import io.tsmigrate.core.json.Json;
import io.tsmigrate.core.migrate.Migration;
import io.tsmigrate.core.plan.PlanFile;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.function.Consumer;

/** {@code tsmigrate migrate}: the whole method, resumable. */
@Command(name = "migrate", mixinStandardHelpOptions = true, usageHelpAutoWidth = true,
        description = {
            "Runs the whole method, in order, and continues where an earlier run stopped.",
            "",
            "doctor -> plan (the plan file when it exists, else a new one written there) -> schema -> grants to the "
                + "plan's writer_roles -> waits for "
                + "dual-writing (a writer registered by the dual-write library, or --dual-write-started-at) -> "
                + "completion point (waiting, and saying until when, for the consistency range to open) -> backfill -> "
                + "compression policies -> verify (checked again before a difference counts; --repair) -> load "
                + "comparison (from shadow reads) -> a final report; with --cutover the target then becomes the "
                + "primary when every check passes. Each step is recorded in schema tsmigrate on the target; where "
                + "a person must act, it stops and says exactly what to do. tsmigrate status shows where it stands "
                + "from any machine.",
            ""
        },
        footer = {"%nExit codes: 0 every step done, 4 stopped: a person must act (the message says what), 5 verification or "
                + "load comparison found differences, 6 incomplete backfill (re-run), 3 cannot connect, 2 bad input, "
                + "130 interrupted (re-run continues)."})
final class MigrateCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Mixin
    ConnectionOptions connections;

    @Mixin
    PlanningOptions planning;

    @Option(names = "--plan", paramLabel = "FILE", defaultValue = PlanFile.DEFAULT_NAME,
            description = "The plan to follow when it exists; else a new plan is written there. Default: ${DEFAULT-VALUE}.")
    Path planFile;

    @Option(names = "--skip-roles", description = "Do not copy roles (create them on the target yourself).")
    boolean skipRoles;

    @Mixin
    ClientToolsOption tools;

    @Mixin
    CompletionPointOptions point;

    @Option(names = "--wait-for-writers", paramLabel = "DURATION", defaultValue = "0s",
            description = "How long to wait for a dual-writing application to register before stopping. Default: ${DEFAULT-VALUE}.")
    String waitForWriters;


    @Option(names = "--max-range-rows", paramLabel = "ROWS", defaultValue = "1000000",
            description = "Split backfill ranges estimated above this many rows. Default: ${DEFAULT-VALUE}.")
    long maxRangeRows;

    @Mixin
    PaceOptions pace;

    @Mixin
    LoadOptions load;

    @Option(names = "--compress", description = "After the backfill, compress the chunks the compression policy would compress.")
    boolean compress;

    @Mixin
    DirectCompressOption directCompress;

    @Option(names = "--repair", description = "When verification finds differences, copy the differing ranges again.")
    boolean repair;

    @Option(names = "--verify-attempts", paramLabel = "N", defaultValue = "3",
            description = "Verify up to N times, a moment apart, before a difference counts (a dual-write may be in "
                    + "flight). Default: ${DEFAULT-VALUE}.")
    int verifyAttempts;

    @Option(names = "--max-slowdown", paramLabel = "FACTOR", defaultValue = "1.5",
            description = "Stop when a query shape's p95 on the target exceeds the source's by more. Default: ${DEFAULT-VALUE}.")
    double maxSlowdown;

    @Option(names = "--cutover", description = "At the end, make the target the primary when every check passes.")
    boolean cutover;

    @Option(names = "--advance-sequences", paramLabel = "N", defaultValue = "1000",
            description = "At cutover, move target sequences that are behind the source to its value plus N. Default: ${DEFAULT-VALUE}.")
    long advanceSequences;

    @Option(names = "--report", paramLabel = "FILE.html", description = "Write an HTML report (steps, plots, verification, hazards).")
    Path report;

    @Mixin
    JsonOutput format;

    @Mixin
    ProgressOptions display;

    @Override
    public Integer call() {
        Flags.atLeast("--verify-attempts", verifyAttempts, 1);
        Flags.atLeast("--max-range-rows", maxRangeRows, 1);
        Flags.notNegative("--advance-sequences", advanceSequences);
        Flags.factor("--max-slowdown", maxSlowdown);
        Migration.Options options = Migration.Options.builder(planning.toOptions(Clock.systemUTC())).planFile(planFile)
                .skipRoles(skipRoles).pgBindir(tools.pgBindir()).dualWriteStartedAt(point.dualWriteStartedAt())
                .waitForWriters(Human.parseDuration(waitForWriters, "--wait-for-writers")).maxLateness(point.maxLateness())
                .clockSkew(point.clockSkew()).timeUnit(point.timeUnit()).workers(pace.workers()).maxRangeRows(maxRangeRows)
                .maxRate(pace.maxRate()).maxLoad(load.maxLoad()).criticalLoad(load.criticalLoad()).directCompress(directCompress.mode()).compress(compress).repair(repair)
                .verifyAttempts(verifyAttempts).maxSlowdown(maxSlowdown).cutover(cutover).advanceSequences(advanceSequences)
                .workerName(BackfillCommand.defaultWorkerName()).build();
        PrintWriter err = spec.commandLine().getErr();
        return run(connections.source(), connections.target(), options, report, format.json, spec.commandLine().getOut(),
                err, display.open(err), display.quiet(), step -> { });
    }

    /**
     * Runs the migration with progress on {@code err} and the report on {@code out}; shared with the
     * demo, which starts its application when the dual-write step begins ({@code stepStarted}).
     */
    static int run(ConnectionSpec source, ConnectionSpec target, Migration.Options options, Path report, boolean json,
                   PrintWriter out, PrintWriter err, BackfillProgress backfillProgress, boolean quiet, Consumer<String> stepStarted) {
        // Everything is said before the interruption closes: after a Ctrl-C the JVM exits as soon as it does.
        try (Interruption interruption = new Interruption("migrate");
             BackfillProgress progress = backfillProgress) {
            // --quiet: no step lines; the result, and why a run stopped, are still said.
            PrintWriter steps = quiet ? new PrintWriter(java.io.Writer.nullWriter()) : err;
            Migration.Result result = Migration.run(source, target, options, new Progress(steps, progress, stepStarted),
                    interruption.requested());
            progress.close();
            if (report != null) {
                Reports.write(target, report, "tsmigrate migration report");
                err.println("migrate: report written to " + report);
            }
            if (json) {
                out.println(Json.output(result));
            } else {
                render(result, out);
            }
            out.flush();
            if (result.stop().isPresent()) {
                err.println("tsmigrate: stopped: " + result.action() + ".");
                err.flush();
                return ExitCodes.of(result.stop().get());
            }
            return ExitCodes.OK;
        }
    }

    static void render(Migration.Result r, PrintWriter out) {
        out.println("Steps:");
        for (Migration.StepResult s : r.steps()) {
            out.printf(Locale.ROOT, "  %-17s %-13s %7s  %s%n", s.name(), s.status().name().toLowerCase(Locale.ROOT).replace('_', ' '),
                    s.elapsed().isZero() ? "" : Human.duration(s.elapsed()), s.summary());
        }
        r.verification().ifPresent(v -> {
            out.println();
            out.println("Verification:");
            VerifyCommand.render(v, out);
        });
        r.load().filter(l -> !l.shapes().isEmpty()).ifPresent(l -> {
            out.println();
            out.println("Load comparison (shadow reads):");
            CompareLoadCommand.render(l, out);
        });
        out.println();
        out.println("The " + r.primary() + " is the primary." + (r.complete() ? "" : " Stopped: " + r.action() + "."));
    }

    /** Step lines on stderr; the backfill's own progress display while it runs. */
    private record Progress(PrintWriter err, BackfillProgress backfillProgress, Consumer<String> started)
            implements Migration.Listener {
        @Override
        public void stepStarted(String step) {
            err.println("migrate: " + step + " ...");
            err.flush();
            started.accept(step);
        }

        @Override
        public void stepFinished(Migration.StepResult step) {
            err.println("migrate: " + step.name() + ": " + step.status().name().toLowerCase(Locale.ROOT).replace('_', ' ')
                    + (step.elapsed().isZero() ? "" : " in " + Human.duration(step.elapsed())) + ": " + step.summary());
            err.flush();
        }

        @Override
        public void line(String text) {
            err.println("migrate: " + text);
            err.flush();
        }

        @Override
        public BackfillListener backfill() {
            return backfillProgress;
        }
    }
}
