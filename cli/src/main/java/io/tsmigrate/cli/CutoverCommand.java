package io.tsmigrate.cli;

import io.tsmigrate.core.Human;
import io.tsmigrate.core.TsmigrateException;
import io.tsmigrate.core.cutover.Cutover;
import io.tsmigrate.core.json.Json;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.time.Clock;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.Callable;

/** {@code tsmigrate cutover}: runbook step 9. */
@Command(name = "cutover", mixinStandardHelpOptions = true, usageHelpAutoWidth = true,
        description = {
            "Makes the target the primary (runbook step 9); --rollback makes the source the primary again.",
            "",
            "Checks first: the backfill is complete, an exact verification passed within --max-verify-age, no "
                + "writer owes the target journal entries, and no target sequence is behind the source (or "
                + "--advance-sequences moves them). Then it sets the primary in the migration state: every running "
                + "dual-write DataSource follows within its check interval; connections borrowed from then on read "
                + "and write the target first and keep writing to the source as a backup. --dry-run shows the checks.",
            ""
        },
        footer = {"%nExit codes: 0 switched (or the dry run's checks all pass), 4 a check failed, nothing changed."})
final class CutoverCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Mixin
    ConnectionOptions connections;

    @Option(names = "--rollback", description = "Make the source the primary again (no checks).")
    boolean rollback;

    @Option(names = "--dry-run", description = "Run the checks and show them; change nothing.")
    boolean dryRun;

    @Option(names = "--max-verify-age", paramLabel = "DURATION", defaultValue = "24h",
            description = "The last exact verification must have passed within this. Default: ${DEFAULT-VALUE}.")
    String maxVerifyAge;

    @Option(names = "--advance-sequences", paramLabel = "N",
            description = "Move target sequences that are behind to the source's value plus N.")
    Long advanceSequences;

    @Option(names = "--wait", paramLabel = "DURATION", defaultValue = "15s",
            description = "How long to wait for running writers to follow. Default: ${DEFAULT-VALUE}.")
    String wait;

    @Mixin
    JsonOutput format;

    @Override
    public Integer call() throws InterruptedException {
        if (advanceSequences != null && advanceSequences < 0) {
            throw TsmigrateException.usage("--advance-sequences must not be negative.");
        }
        PrintWriter out = spec.commandLine().getOut();
        Cutover.Result r;
        try {
            r = Cutover.run(connections.source(), connections.target(), new Cutover.Options(rollback, dryRun,
                    Human.parseDuration(maxVerifyAge, "--max-verify-age"), Optional.ofNullable(advanceSequences),
                    Human.parseDuration(wait, "--wait"), Clock.systemUTC()));
        } catch (Cutover.CheckFailed e) {
            if (format.json) {
                out.println(Json.output(java.util.Map.of("switched", false, "checks", e.checks())));
            } else {
                renderChecks(e.checks(), out);
            }
            throw e;
        }
        if (format.json) {
            out.println(Json.output(r));
        } else {
            renderChecks(r.checks(), out);
            out.println(r.switched() ? "The " + r.primary() + " is the primary now." : "Dry run: the " + r.primary() + " is the primary; nothing changed.");
            r.writers().forEach(w -> out.println("  writer " + w));
        }
        boolean passed = r.checks().stream().allMatch(Cutover.Check::passed);
        return passed ? ExitCodes.OK : ExitCodes.NOT_READY;
    }

    private static void renderChecks(java.util.List<Cutover.Check> checks, PrintWriter out) {
        for (Cutover.Check c : checks) {
            out.printf(Locale.ROOT, "  %-6s %-13s %s%n", c.passed() ? "ok" : "failed", c.name(), c.message());
        }
    }
}
