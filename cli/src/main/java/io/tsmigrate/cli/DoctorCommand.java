package io.tsmigrate.cli;

import io.tsmigrate.core.doctor.Check;
import io.tsmigrate.core.doctor.Doctor;
import io.tsmigrate.core.doctor.DoctorResult;
import io.tsmigrate.core.json.Json;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.util.Locale;
import java.util.concurrent.Callable;

/** {@code tsmigrate doctor}: runbook step 1, can the migration start? */
@Command(name = "doctor", mixinStandardHelpOptions = true, usageHelpAutoWidth = true,
        description = {
            "Checks that a migration from the source to the target can start (runbook step 1).",
            "",
            "Checks both logins, the server versions, TimescaleDB on the target and its license (an apache "
                + "build cannot compress), the target role's privileges, pg_dump/pg_dumpall/psql at least as "
                + "new as the source server, the source's size (a warning above 400 GB: provision the "
                + "target's disk first), and a target database that already holds tables.",
            ""
        },
        footer = {"%nExit codes: 0 ready (warnings may remain), 3 cannot connect, 4 not ready, 2 bad usage."})
final class DoctorCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Mixin
    ConnectionOptions connections;

    @Mixin
    ClientToolsOption tools;

    @Mixin
    JsonOutput format;

    @Override
    public Integer call() {
        DoctorResult result = Doctor.run(connections.source(), connections.target(), tools.pgBindir());
        PrintWriter out = spec.commandLine().getOut();
        if (format.json) {
            out.println(Json.output(result));
        } else {
            render(result, out);
        }
        return switch (result.verdict()) {
            case READY -> ExitCodes.OK;
            case NOT_READY -> ExitCodes.NOT_READY;
            case CANNOT_CONNECT -> ExitCodes.CONNECTION;
        };
    }

    private static void render(DoctorResult result, PrintWriter out) {
        int width = result.checks().stream().mapToInt(c -> c.name().length()).max().orElse(10);
        for (Check check : result.checks()) {
            out.printf(Locale.ROOT, "  %-8s %-" + width + "s  %s%n",
                    check.status().name().toLowerCase(Locale.ROOT), check.name(), check.message());
        }
        long warnings = result.count(Check.Status.WARNING);
        long failed = result.count(Check.Status.FAILED);
        String verdict = switch (result.verdict()) {
            case READY -> "ready" + (warnings > 0 ? " (" + warnings + " warning" + (warnings > 1 ? "s" : "") + ")" : "");
            case NOT_READY -> "not ready: " + failed + " check" + (failed > 1 ? "s" : "") + " failed";
            case CANNOT_CONNECT -> "cannot connect: fix the connection first";
        };
        out.println();
        out.println("verdict: " + verdict);
    }
}
