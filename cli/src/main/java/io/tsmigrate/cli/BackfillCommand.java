package io.tsmigrate.cli;

import io.tsmigrate.core.Human;
import io.tsmigrate.core.ProcessNames;
import io.tsmigrate.core.TsmigrateException;
import io.tsmigrate.core.backfill.Backfill;
import io.tsmigrate.core.backfill.BackfillOptions;
import io.tsmigrate.core.backfill.BackfillResult;
import io.tsmigrate.core.catalog.TableRef;
import io.tsmigrate.core.throttle.LoadLimits;
import io.tsmigrate.core.json.Json;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.Callable;

/** {@code tsmigrate backfill}: runbook steps 6a to 6c and 6e. */
@Command(name = "backfill", mixinStandardHelpOptions = true, usageHelpAutoWidth = true,
        description = {
            "Copies the hypertables' history up to the completion point T (runbook steps 6a-6c, 6e).",
            "",
            "Each table's [start, T) is split into ranges aligned with the target's chunks (and split further "
                + "to at most --max-range-rows). Each range is one target transaction: DELETE the rows dual-writing "
                + "already put there, COPY the source's rows straight in (binary, streamed, no temporary files), mark "
                + "the range done, commit. A crash leaves nothing to clean up: run the command again and it resumes "
                + "with the ranges not done. Several processes, on several machines, can share one migration. User "
                + "triggers on the target do not fire for backfilled rows (session_replication_role = replica for "
                + "the range's transaction; a superuser, or GRANT SET ON PARAMETER session_replication_role). When a "
                + "table is complete, the compression policies tsmigrate paused are re-enabled.",
            ""
        },
        footer = {"%nExit codes: 0 complete, 6 incomplete (some ranges failed: re-run to retry them), 2 bad input, "
                + "4 a step must run first."})
final class BackfillCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Mixin
    ConnectionOptions connections;

    @Option(names = "--until", paramLabel = "T",
            description = "The completion point T (exclusive), in the tables' time type: 2026-11-20 12:00:00+00, or a "
                    + "number for integer time. Default: the T stored by tsmigrate completion-point for each group.")
    String until;

    @Option(names = "--from", paramLabel = "TIME", description = "Copy from this time on (inclusive). Default: everything before T.")
    String from;

    @Option(names = "--table", paramLabel = "TABLE", description = "Backfill only this hypertable (repeatable). Default: all of the plan.")
    List<String> tables = new ArrayList<>();


    @Option(names = "--max-source-connections", paramLabel = "N",
            description = "Never hold more than N connections to the source at once, across every process of this migration "
                    + "(slots kept on the target; a process waits for a free one): caps --workers, counting the connection that "
                    + "watches the source's load when --max-load or --critical-load is given. Default: no cap.")
    Integer maxSourceConnections;

    @Option(names = "--max-range-rows", paramLabel = "ROWS", defaultValue = "1000000",
            description = "Split ranges estimated above this many rows. Default: ${DEFAULT-VALUE}.")
    long maxRangeRows;

    @Mixin
    PaceOptions pace;

    @Option(names = "--max-attempts", paramLabel = "N", defaultValue = "5",
            description = "Attempts per range on transient errors before it is marked failed. Default: ${DEFAULT-VALUE}.")
    int maxAttempts;

    @Option(names = "--compress", description = "At the end, compress the finished chunks that the compression policy would compress.")
    boolean compress;

    @Option(names = "--worker-name", paramLabel = "NAME", description = "Prefix of this process's worker names in the state.")
    String workerName;

    @Mixin
    JsonOutput format;

    @Mixin
    ProgressOptions display;

    @Mixin
    LoadOptions load;

    @Mixin
    DirectCompressOption directCompress;

    @Option(names = "--dry-run", description = "Copy nothing and record nothing: say for each table the path its rows would take "
            + "(rowstore, or straight into the columnstore, and why), the COPY format, and the ranges already done.")
    boolean dryRun;

    /**
     * The workers --max-source-connections leaves room for: one source connection each, besides the
     * one that watches the source's load when limits are given.
     */
    private int workers(boolean watchesLoad) {
        if (maxSourceConnections == null) {
            return pace.workers();
        }
        int forWorkers = maxSourceConnections - (watchesLoad ? 1 : 0);
        if (forWorkers < 1) {
            throw TsmigrateException.usage("--max-source-connections " + maxSourceConnections + " leaves no connection for a "
                    + "worker: one watches the source's load for --max-load/--critical-load; give 2 or more.");
        }
        return Math.min(pace.workers(), forWorkers);
    }

    @Override
    public Integer call() {
        Flags.atLeast("--max-range-rows", maxRangeRows, 1);
        Flags.atLeast("--max-attempts", maxAttempts, 1);
        if (maxSourceConnections != null) {
            Flags.atLeast("--max-source-connections", maxSourceConnections, 1);
        }
        LoadLimits max = load.maxLoad();
        LoadLimits critical = load.criticalLoad();
        BackfillOptions options = BackfillOptions.builder().until(until).from(from).tables(tables.stream().map(TableRef::parse).toList())
                .workers(workers(max.any() || critical.any())).maxRangeRows(maxRangeRows).maxRate(pace.maxRate()).maxAttempts(maxAttempts)
                .compress(compress).workerName(Optional.ofNullable(workerName).orElseGet(BackfillCommand::defaultWorkerName))
                .maxLoad(max).criticalLoad(critical).maxSourceConnections(Optional.ofNullable(maxSourceConnections))
                .directCompress(directCompress.mode()).build();
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        if (dryRun) {
            List<Backfill.Route> routes = Backfill.dryRun(connections.source(), connections.target(), options);
            if (format.json) {
                out.println(Json.output(java.util.Map.of("tables", routes)));
            } else {
                for (Backfill.Route r : routes) {
                    out.printf(Locale.ROOT, "  %-30s %s COPY into the %s: %s; %d/%d ranges done%n", r.table(), r.format(),
                            r.path().store(), r.path().why(), r.rangesDone(), r.ranges());
                }
                out.println("dry run: nothing was copied or recorded.");
            }
            out.flush();
            return ExitCodes.OK;
        }
        // Everything is said before the interruption closes: after a Ctrl-C the JVM exits as soon as it does.
        try (Interruption interruption = new Interruption("backfill");
             BackfillProgress progress = display.open(err)) {
            BackfillResult result = Backfill.run(connections.source(), connections.target(), options, progress, interruption.requested());
            progress.close();
            if (format.json) {
                out.println(Json.output(result));
            } else {
                render(result, out);
            }
            out.flush();
            if (interruption.requested().get() && !result.complete()) {
                err.println("tsmigrate: interrupted: the ranges in progress rolled back and nothing is left half-copied; run "
                        + "tsmigrate backfill again to continue.");
                err.flush();
                return ExitCodes.INTERRUPTED;
            }
            if (!result.complete()) {
                err.println("tsmigrate: the backfill is incomplete: " + result.failures().size() + " range(s) failed; re-run "
                        + "tsmigrate backfill to retry them.");
                return ExitCodes.INCOMPLETE;
            }
            return ExitCodes.OK;
        }
    }

    private static void render(BackfillResult r, PrintWriter out) {
        for (BackfillResult.TableResult t : r.tables()) {
            out.printf(Locale.ROOT, "  %-30s %d/%d ranges done%s, %s rows in all, %s this run (%s COPY into the %s), T = %s%n",
                    t.table(), t.rangesDone(), t.ranges(), t.rangesFailed() > 0 ? ", " + t.rangesFailed() + " failed" : "",
                    Human.count(t.rowsDone()), Human.count(t.rowsThisRun()), t.format(),
                    t.path().store(), t.until());
        }
        r.failures().forEach(f -> out.println("  failed: " + f));
        r.notes().forEach(n -> out.println("  " + n));
        out.printf(Locale.ROOT, "%s: %s rows, %s in %s (%s)%n", r.complete() ? "complete" : "incomplete",
                Human.count(r.rows()), Human.bytes(r.bytes()), Human.duration(r.elapsed()), Human.rate(r.rowsPerSecond()));
    }

    static String defaultWorkerName() {
        return ProcessNames.current();
    }
}
