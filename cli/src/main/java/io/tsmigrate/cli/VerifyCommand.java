package io.tsmigrate.cli;

import io.tsmigrate.core.Human;
import io.tsmigrate.core.TsmigrateException;
import io.tsmigrate.core.backfill.MaxRate;
import io.tsmigrate.core.catalog.TableRef;
import io.tsmigrate.core.json.Json;
import io.tsmigrate.core.verify.Verifier;
import io.tsmigrate.core.verify.VerifyOptions;
import io.tsmigrate.core.verify.VerifyResult;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.Callable;

/** {@code tsmigrate verify}: runbook step 7. */
@Command(name = "verify", mixinStandardHelpOptions = true, usageHelpAutoWidth = true,
        description = {
            "Proves that the target holds the same data as the source (runbook step 7).",
            "",
            "Exact (the default): for every hypertable, per range up to T (past it with --past-t), and for every plain table, whole, a row "
                + "count and an order-independent checksum of whole rows on both sides in parallel. A part that differs "
                + "is narrowed down to the rows that differ: missing on the target, extra on the target, or changed (with "
                + "the columns). --estimate is the runbook's quick check: ANALYZE, then reltuples compared (it cannot see "
                + "a changed value). --repair copies what differs again through the backfill's transactional path and "
                + "checks it again. Sequences that are behind on the target are reported.",
            ""
        },
        footer = {"%nExit codes: 0 everything matches (or was repaired), 5 differences found, 2 bad input, 4 a step must run first."})
final class VerifyCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Mixin
    ConnectionOptions connections;

    @Option(names = "--estimate", description = "The fast check: ANALYZE and compare reltuples (reads no rows).")
    boolean estimate;

    @Option(names = "--repair", description = "Copy differing ranges and tables again, then check them again.")
    boolean repair;

    @Option(names = "--table", paramLabel = "TABLE", description = "Check only this table (repeatable).")
    List<String> tables = new ArrayList<>();

    @Option(names = "--from", paramLabel = "TIME", description = "Hypertables: check from this time on.")
    String from;

    @Option(names = "--until", paramLabel = "T", description = "Hypertables: check up to this time. Default: the backfill's T.")
    String until;

    @Option(names = "--past-t", paramLabel = "MARGIN", arity = "0..1", fallbackValue = "1h",
            description = "Hypertables: also compare the rows past T, which only dual-writes put on the target, up to "
                    + "MARGIN ago (newer rows may still be on their way; default 1h, as --max-lateness). Finds a write that "
                    + "reached one side only, such as one a crashed application lost; --repair copies those ranges again.")
    String pastT;

    @Mixin
    PaceOptions pace;

    @Mixin
    LoadOptions load;

    @Option(names = "--max-rows", paramLabel = "N", defaultValue = "20",
            description = "List at most N differing rows (all are counted). Default: ${DEFAULT-VALUE}.")
    int maxRows;

    @Mixin
    JsonOutput format;

    @Override
    public Integer call() {
        Flags.notNegative("--max-rows", maxRows);
        if (pastT != null && (until != null || estimate)) {
            throw TsmigrateException.usage("--past-t extends the check past T; it does not go with --until or --estimate.");
        }
        if (estimate && repair) {
            throw TsmigrateException.usage("--estimate cannot find what to repair; use --repair with the exact check.");
        }
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        int workers = pace.workers();
        Optional<MaxRate> rate = pace.maxRate();
        if (rate.filter(MaxRate::bytes).isPresent()) {
            throw TsmigrateException.usage("--max-rate " + pace.maxRate + " is a byte rate, and verify limits rows: give rows per second "
                    + "(for example 50000).");
        }
        VerifyOptions options = VerifyOptions.builder().estimate(estimate).repair(repair).tables(tables.stream().map(TableRef::parse).toList())
                .from(from).until(until).workers(workers).maxRate(rate).maxRows(maxRows)
                .pastT(Optional.ofNullable(pastT).map(m -> Instant.now().minus(Human.parseDuration(m, "--past-t"))))
                .maxLoad(load.maxLoad()).criticalLoad(load.criticalLoad()).build();
        // Everything is said before the interruption closes: after a Ctrl-C the JVM exits as soon as it does.
        try (Interruption interruption = new Interruption("verify")) {
            VerifyResult r;
            try {
                r = Verifier.run(connections.source(), connections.target(), options, line -> {
                    if (!format.json) {
                        err.println("verify: " + line);
                        err.flush();
                    }
                }, interruption.requested());
            } catch (TsmigrateException e) {
                return Interruption.stopped(e, err);
            }
            if (format.json) {
                out.println(Json.output(r));
            } else {
                render(r, out);
            }
            out.flush();
            return r.match() ? ExitCodes.OK : ExitCodes.MISMATCH;
        }
    }

    static void render(VerifyResult r, PrintWriter out) {
        for (VerifyResult.TableVerdict t : r.tables()) {
            out.printf(Locale.ROOT, "  %-9s %s %s: %s rows on the source, %s on the target%s%n",
                    t.verdict().name().toLowerCase(Locale.ROOT), t.table(), t.scope(), Human.count(t.sourceRows()),
                    Human.count(t.targetRows()), t.ranges() > 1 ? " (" + t.ranges() + " ranges, " + t.rangesDiffering() + " differ)" : "");
            t.accounting().ifPresent(a -> out.printf(Locale.ROOT, "            source rows: %s = %s checked + %s past the checked "
                    + "span (not compared) + %s before it + %s with a NULL time%s%n", Human.count(a.sourceRows()), Human.count(a.checked()),
                    Human.count(a.pastEnd()), Human.count(a.beforeStart()), Human.count(a.nullTime()),
                    a.unaccounted() == 0 ? "" : ", " + Human.count(Math.abs(a.unaccounted())) + " unaccounted for"));
            if (t.missing() + t.extra() + t.changed() > 0) {
                out.printf(Locale.ROOT, "            %d missing on the target, %d extra on the target, %d changed%n",
                        t.missing(), t.extra(), t.changed());
            }
            // How an estimate was made, what a repair did, rows no range holds, columns left out; an exact
            // check's scope says the rest.
            if (t.note() != null && (r.mode().equals("estimate") || t.note().startsWith("copied")
                    || t.accounting().filter(a -> !a.complete()).isPresent() || t.note().contains("; not compared: "))) {
                out.println("            " + t.note());
            }
        }
        for (VerifyResult.Difference d : r.differences()) {
            out.printf(Locale.ROOT, "  %-8s %s %s%s%n", d.kind(), d.table(), d.key(), d.columns().isEmpty() ? ""
                    : ": " + describe(d));
        }
        if (r.differenceCount() > r.differences().size()) {
            out.println("  ... and " + (r.differenceCount() - r.differences().size()) + " more (--max-rows lists more)");
        }
        r.sequences().stream().filter(VerifyResult.SequenceVerdict::behind).forEach(s ->
                out.println("  behind   sequence " + s.sequence() + ": " + s.target() + " on the target, " + s.source() + " on the source"));
        r.notes().forEach(n -> out.println("  note: " + n));
        out.println((r.match() ? "match" : "differences found") + " (" + r.mode() + " check, " + Human.duration(r.elapsed()) + ")");
    }

    private static String describe(VerifyResult.Difference d) {
        List<String> parts = new ArrayList<>();
        for (int i = 0; i < d.columns().size(); i++) {
            parts.add(d.columns().get(i) + " " + d.sourceValues().get(i) + " -> " + d.targetValues().get(i));
        }
        return String.join("; ", parts);
    }
}
