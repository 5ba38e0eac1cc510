package io.tsmigrate.cli;

import io.tsmigrate.core.TsmigrateException;
import io.tsmigrate.core.connect.PgConnector;
import io.tsmigrate.core.connect.PgErrors;
import io.tsmigrate.core.json.Json;
import io.tsmigrate.dualwrite.JournalReplayer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/** {@code tsmigrate replay}: applies a dual-write journal to the target. */
@Command(name = "replay", mixinStandardHelpOptions = true, usageHelpAutoWidth = true,
        description = {
            "Applies the dual-write journal of writes the target (and with --source, the source) missed, in order, each exactly once.",
            "",
            "Each journal entry (a whole transaction) is applied in one target transaction together with its "
                + "record in tsmigrate.journal_applied, so an interrupted replay, run again, continues where it "
                + "stopped. The dual-write library replays by itself when the target comes back; use this when "
                + "an application stopped before it could.",
            "",
            "Intents left by a lossless writer that was killed (files *.intent) are resolved first: the primary says "
                + "which of their transactions committed (this needs --source), those the secondary lacks are applied "
                + "with the journal, the others are discarded. Intents of a writer still running are left to it.",
            ""
        },
        footer = {"%nA damaged record in the middle of a journal (its checksum fails and intact records follow) stops the replay "
            + "there: nothing after it is applied until you decide. Restore the file from a backup, or run again with "
            + "--skip-damaged, which skips it, records it in tsmigrate.journal_skipped and applies the rest. A torn record at "
            + "the very end (a crash while appending) was never acknowledged to the application and is ignored.",
            "%nExit codes: 0 every entry applied, 6 some entries failed (listed) or a damaged record stopped the replay, "
            + "3 cannot connect, 2 bad input."})
final class ReplayCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Mixin
    ConnectionOptions connections;

    @Option(names = "--journal", paramLabel = "DIR", required = true, description = "The journal directory of the application.")
    Path journal;

    @Option(names = "--skip-damaged", description = "Skip damaged records (recorded in tsmigrate.journal_skipped) instead of "
            + "stopping at the first; the transactions they held are lost to the target.")
    boolean skipDamaged;

    @Mixin
    JsonOutput format;

    @Override
    public Integer call() throws IOException {
        if (!Files.isDirectory(journal)) {
            throw TsmigrateException.usage("--journal " + journal + " is not a directory; give the dual-write journal directory.");
        }
        List<JournalReplayer.Resolved> resolved = resolveIntents();
        List<JournalReplayer.Outcome> outcomes = new java.util.ArrayList<>();
        try (Connection target = PgConnector.open(connections.target())) {
            outcomes.addAll(JournalReplayer.replayDirectory(journal, "target", target, skipDamaged));
        } catch (SQLException e) {
            throw PgErrors.failure("replay the journal", connections.target(), e);
        }
        // Writes the source missed (after a cutover made the target the primary) go back to the source.
        if (connections.source != null) {
            try (Connection source = PgConnector.open(connections.source())) {
                outcomes.addAll(JournalReplayer.replayDirectory(journal, "source", source, skipDamaged));
            } catch (SQLException e) {
                throw PgErrors.failure("replay the journal", connections.source(), e);
            }
        }
        PrintWriter out = spec.commandLine().getOut();
        if (format.json) {
            out.println(Json.output(java.util.Map.of("intents", resolved, "journals", outcomes)));
        } else {
            for (JournalReplayer.Resolved r : resolved) {
                out.printf(Locale.ROOT, "  intents of writer %s for the %s: %d committed and owed (applied below), %d discarded "
                        + "(not committed), %d already applied%n", r.writer(), r.side(), r.owed(), r.discarded(), r.alreadyApplied());
            }
            if (outcomes.isEmpty()) {
                out.println("no journal files in " + journal);
            }
            for (JournalReplayer.Outcome o : outcomes) {
                out.printf(Locale.ROOT, "  %s: %d entries, %d applied now, %d applied before, %d failed%n", o.journal(), o.entries(),
                        o.applied(), o.alreadyApplied(), o.failures().size());
                o.failures().forEach(f -> out.println("    failed " + f));
                o.skipped().forEach(d -> out.println("    skipped " + d));
                o.stoppedAt().ifPresent(d -> out.println("    stopped at " + d));
            }
        }
        List<String> stopped = outcomes.stream().flatMap(o -> o.stoppedAt().stream()).toList();
        if (!stopped.isEmpty()) {
            spec.commandLine().getErr().println("tsmigrate: " + String.join("; ", stopped) + "; the entries after it are not applied: "
                    + "restore the file from a backup, or run tsmigrate replay again with --skip-damaged to skip it (recorded in "
                    + "tsmigrate.journal_skipped) and apply the rest.");
        }
        return outcomes.stream().allMatch(JournalReplayer.Outcome::complete) ? ExitCodes.OK : ExitCodes.INCOMPLETE;
    }

    /** Resolves what killed lossless writers left, before the journals (which then hold what they owe) are replayed. */
    private List<JournalReplayer.Resolved> resolveIntents() throws IOException {
        boolean forTarget = JournalReplayer.hasIntents(journal, "target");
        boolean forSource = JournalReplayer.hasIntents(journal, "source");
        if (!forTarget && !forSource) {
            return List.of();
        }
        if (connections.source == null) {
            throw TsmigrateException.usage("--journal " + journal + " holds intents of a stopped lossless writer; give --source too, "
                    + "so that the primary can say which of their transactions committed.");
        }
        javax.sql.DataSource source = PgConnector.dataSource(connections.source(), "tsmigrate replay");
        javax.sql.DataSource target = PgConnector.dataSource(connections.target(), "tsmigrate replay");
        List<JournalReplayer.Resolved> out = new java.util.ArrayList<>();
        try {
            out.addAll(JournalReplayer.resolveIntents(journal, "target", target, source));
        } catch (SQLException e) {
            throw PgErrors.failure("ask the source which intents committed", connections.source(), e);
        }
        try {
            out.addAll(JournalReplayer.resolveIntents(journal, "source", source, target));
        } catch (SQLException e) {
            throw PgErrors.failure("ask the target which intents committed", connections.target(), e);
        }
        return out;
    }
}
