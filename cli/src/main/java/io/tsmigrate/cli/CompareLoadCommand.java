package io.tsmigrate.cli;

import io.tsmigrate.core.TsmigrateException;
import io.tsmigrate.core.connect.PgConnector;
import io.tsmigrate.core.connect.PgErrors;
import io.tsmigrate.core.json.Json;
import io.tsmigrate.core.load.LoadComparison;
import io.tsmigrate.core.state.StateSchema;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.Locale;
import java.util.concurrent.Callable;

/** {@code tsmigrate compare-load}: runbook step 8. */
@Command(name = "compare-load", mixinStandardHelpOptions = true, usageHelpAutoWidth = true,
        description = {
            "Reports how the target answers the application's reads, from shadow reads (runbook step 8).",
            "",
            "The dual-write library (its shadowReadShare) and tsmigrate proxy (--shadow-read-share) run a share of "
                + "the application's reads on the target as well and record, per query shape, result mismatches and latencies on both sides. "
                + "This prints them, slowest shapes first. Mismatches seen before the backfill finished are expected "
                + "(the target did not hold all history yet) and reported apart.",
            ""
        },
        footer = {"%nExit codes: 0 no real mismatch and no judged shape slower than --max-slowdown, 5 otherwise, 4 no migration "
            + "state or no shadow reads recorded yet, 2 bad input, 3 cannot connect."})
final class CompareLoadCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Mixin
    ConnectionOptions connections;

    @Option(names = "--max-slowdown", paramLabel = "FACTOR", defaultValue = "1.5",
            description = "Fail when a shape's p95 on the target exceeds the source's by more (a factor of at least 1). "
                    + "Default: ${DEFAULT-VALUE}.")
    double maxSlowdown;

    @Option(names = "--min-samples", paramLabel = "N", defaultValue = "20",
            description = "Judge the latency of shapes with at least N comparisons. Default: ${DEFAULT-VALUE}.")
    long minSamples;

    @Mixin
    JsonOutput format;

    @Override
    public Integer call() {
        Flags.factor("--max-slowdown", maxSlowdown);
        Flags.atLeast("--min-samples", minSamples, 1);
        LoadComparison.Report r;
        try (Connection target = PgConnector.open(connections.target())) {
            if (!StateSchema.exists(target)) {
                throw new TsmigrateException(TsmigrateException.Kind.NOT_READY, "the target holds no tsmigrate state, so no shadow "
                        + "reads either; run the application with the dual-write DataSource and a shadowReadShare, or tsmigrate proxy with --shadow-read-share, first.");
            }
            r = LoadComparison.read(target, maxSlowdown, minSamples);
        } catch (SQLException e) {
            throw PgErrors.failure("read the shadow reads", connections.target(), e);
        }
        if (r.shapes().isEmpty()) {
            throw new TsmigrateException(TsmigrateException.Kind.NOT_READY, "no shadow reads were recorded, so nothing was compared: "
                    + "set shadowReadShare on the dual-write DataSource or --shadow-read-share on tsmigrate proxy (for example 0.1), let the "
                    + "application run, then ask again.");
        }
        PrintWriter out = spec.commandLine().getOut();
        if (format.json) {
            out.println(Json.output(r));
        } else {
            render(r, out);
        }
        return r.passed() ? ExitCodes.OK : ExitCodes.MISMATCH;
    }

    static void render(LoadComparison.Report r, PrintWriter out) {
        out.printf(Locale.ROOT, "%8s %10s %9s  %-22s  %-22s %6s  %s%n", "calls", "mismatch", "expected",
                "source p50/p95/p99", "target p50/p95/p99", "p95x", "query shape");
        for (LoadComparison.Shape s : r.shapes()) {
            out.printf(Locale.ROOT, "%8d %10d %9d  %-22s  %-22s %6s  %s%n", s.calls(), s.mismatches(), s.expectedMismatches(),
                    ms(s.source()), ms(s.target()), String.format(Locale.ROOT, "%.2f", s.p95Ratio()), s.shape());
            if (!s.judged()) {
                out.printf(Locale.ROOT, "         latency not judged: %d comparison(s), fewer than --min-samples %d%n", s.compared(),
                        r.minSamples());
            }
            if (s.mismatches() > 0 && s.example() != null) {
                out.println("         e.g. " + s.example());
            }
        }
        r.problems().forEach(p -> out.println("problem: " + p));
        ComputedWritesText.print(out, r.computedWrites());
        String unjudged = r.unjudged() == 0 ? "" : " (" + r.unjudged() + " of " + r.shapes().size() + " shape(s) had too few "
                + "comparisons for their latency to be judged)";
        out.println((r.passed() ? "the target answers like the source" : "the target does not answer like the source yet") + unjudged);
    }

    private static String ms(LoadComparison.Percentiles p) {
        return String.format(Locale.ROOT, "%.1f/%.1f/%.1f ms", p.p50() / 1000.0, p.p95() / 1000.0, p.p99() / 1000.0);
    }
}
