package io.tsmigrate.cli;

import io.tsmigrate.core.constraints.Constraints;
import io.tsmigrate.core.json.Json;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.util.Locale;
import java.util.concurrent.Callable;

/** {@code tsmigrate constraints}: after the backfill, what could not hold or was not checked while history was copied. */
@Command(name = "constraints", mixinStandardHelpOptions = true, usageHelpAutoWidth = true,
        description = {
            "Checks, after the backfill, what was not checked row by row while the history was copied.",
            "",
            "The backfill copies rows that held their constraints on the source without checking the hypertables' foreign "
                + "keys row by row (that check made it several times slower). This step checks each of those foreign keys once, "
                + "with one set-based query per key; validates the foreign keys tsmigrate schema created NOT VALID because the "
                + "rows they reference arrived with the backfill; and refreshes the materialized views over hypertables, which "
                + "pg_dump filled while the hypertables were empty. A key that does not hold is named with a sample of the "
                + "offending rows. It only reads and validates: run it again at any time. Only the target is needed.",
            ""
        },
        footer = {"%nExit codes: 0 every constraint holds, 5 a constraint does not hold (named, with offending keys), "
            + "4 no plan or the backfill is not complete, 2 bad input, 3 cannot connect."})
final class ConstraintsCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Mixin
    ConnectionOptions connections;

    @Mixin
    JsonOutput format;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        Constraints.ConstraintsResult r = Constraints.run(connections.target(), line -> {
            if (!format.json) {
                err.println("constraints: " + line);
                err.flush();
            }
        });
        if (format.json) {
            out.println(Json.output(r));
        } else {
            for (Constraints.Outcome o : r.outcomes()) {
                out.printf(Locale.ROOT, "  %-7s %-11s %s of %s: %s%n", o.outcome(), o.kind(), o.name(), o.table(), o.detail());
            }
            out.println(r.outcomes().isEmpty() ? "nothing to check: no hypertable holds a foreign key, none was deferred, no "
                    + "materialized view reads a hypertable" : r.passed() ? "every constraint holds" : "constraints do not hold");
        }
        if (!r.passed()) {
            err.println("tsmigrate: " + String.join("; ", r.failures()) + ".");
            return ExitCodes.MISMATCH;
        }
        return ExitCodes.OK;
    }
}
