package io.tsmigrate.cli;

import io.tsmigrate.core.Human;
import io.tsmigrate.core.completion.CompletionPoint;
import io.tsmigrate.core.completion.CompletionPointResult;
import io.tsmigrate.core.json.Json;
import io.tsmigrate.core.time.TimeType;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.time.Clock;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;

/** {@code tsmigrate completion-point}: runbook step 5. */
@Command(name = "completion-point", mixinStandardHelpOptions = true, usageHelpAutoWidth = true,
        description = {
            "Computes the completion point T up to which history is backfilled (runbook step 5).",
            "",
            "Missing writes end when the last writer began dual-writing (from the writer registry that "
                + "tsmigrate's dual-write library keeps in tsmigrate.writer, or --dual-write-started-at). "
                + "Late-arriving data begins at now minus --max-lateness: the longest a row can arrive after "
                + "the time it carries (devices that were offline, batch uploads, ...). Between them, shrunk by "
                + "--clock-skew at both ends, lies the consistency range; T is proposed per time-type group at "
                + "its end. It refuses while the range is empty and says when it opens. --set stores T, where "
                + "backfill and verify read it.",
            ""
        },
        footer = {"%nExit codes: 0 T proposed (and stored with --set), 4 not yet possible (the message says when), 2 bad input."})
final class CompletionPointCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Mixin
    ConnectionOptions connections;

    @Mixin
    CompletionPointOptions point;

    @Option(names = "--at", paramLabel = "[TYPE=]T",
            description = "Use this T (checked against the range); TYPE=T for one group when there are several (repeatable).")
    List<String> at = new ArrayList<>();

    @Option(names = "--set", description = "Store T in the migration state, for backfill and verify.")
    boolean set;

    @Mixin
    JsonOutput format;

    @Override
    public Integer call() {
        Map<TimeType, String> explicit = new EnumMap<>(TimeType.class);
        for (String a : at) {
            int eq = a.indexOf('=');
            Optional<TimeType> type = eq > 0 ? TimeType.ofLabel(a.substring(0, eq).strip().toLowerCase(Locale.ROOT)) : Optional.empty();
            if (type.isPresent()) {
                explicit.put(type.get(), a.substring(eq + 1).strip());
            } else {
                explicit.put(TimeType.TIMESTAMPTZ, a.strip());
            }
        }
        CompletionPointResult r = CompletionPoint.compute(connections.source(), connections.target(), new CompletionPoint.Options(
                point.dualWriteStartedAt(), point.maxLateness(), point.clockSkew(), point.timeUnit(), explicit, set,
                Clock.systemUTC()));
        PrintWriter out = spec.commandLine().getOut();
        if (format.json) {
            out.println(Json.output(r));
            return r.complete() ? ExitCodes.OK : ExitCodes.NOT_READY;
        }
        out.println("Missing writes end: " + r.lastWriterStart() + " (" + r.basis() + ")");
        for (CompletionPointResult.WriterSeen w : r.writers()) {
            out.printf(Locale.ROOT, "  writer %s: began %s, last seen %s%s%n", w.name(), w.startedAt(), w.lastSeen(),
                    w.journalPending() > 0 ? ", journal pending" : "");
        }
        out.println("Consistency range: [" + r.rangeStart() + ", " + r.rangeEnd() + "] (max lateness "
                + Human.duration(r.maxLateness()) + ", clock-skew margin " + Human.duration(r.clockSkew()) + ")");
        for (CompletionPointResult.Group g : r.groups()) {
            out.printf(Locale.ROOT, "  T for %s tables (%s): %s  -- %s%n", g.type().label(),
                    String.join(", ", g.tables().stream().map(Object::toString).toList()), g.value().map(Object::toString).orElse("none yet"), g.explanation());
        }
        out.println(r.stored() ? "Stored: tsmigrate backfill and verify use these T." : "Not stored: run again with --set to use them.");
        if (!r.complete()) {
            spec.commandLine().getErr().println("tsmigrate: some time-type groups have no completion point yet (see above); "
                    + "run tsmigrate completion-point again later.");
            return ExitCodes.NOT_READY;
        }
        return ExitCodes.OK;
    }
}
