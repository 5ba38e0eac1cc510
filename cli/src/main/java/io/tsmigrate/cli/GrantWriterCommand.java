package io.tsmigrate.cli;

import io.tsmigrate.core.connect.ConnectionSpec;
import io.tsmigrate.core.connect.PgConnector;
import io.tsmigrate.core.connect.PgErrors;
import io.tsmigrate.core.json.Json;
import io.tsmigrate.core.state.WriterGrants;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code tsmigrate grant-writer ROLE}: what a dual-writing application's role needs in the state, and nothing more. */
@Command(name = "grant-writer", mixinStandardHelpOptions = true, usageHelpAutoWidth = true,
        description = {
            "Gives a dual-writing application's database role on the target exactly what the dual-write library and "
                + "tsmigrate proxy need in the migration's state: read which side is primary, register and keep up its own "
                + "writer row (row-level security), record the journal entries it applied and its shadow reads.",
            "",
            "It cannot switch the primary, change ranges, completion points or verification results, or touch another "
                + "writer's row. Run it as the role that runs tsmigrate (the owner of the state); running it again changes "
                + "nothing. The role also needs its usual privileges on your own tables, as on the source.",
            ""
        },
        footer = {"%nExit codes: 0 granted, 2 no such role (or the role tsmigrate runs as, or a superuser), 3 cannot connect."})
final class GrantWriterCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Parameters(paramLabel = "ROLE", description = "The application's role on the target.")
    String role;

    @Mixin
    StateTargetOption state;

    @Mixin
    JsonOutput format;

    @Override
    public Integer call() {
        ConnectionSpec targetSpec = state.target();
        try (Connection t = PgConnector.open(targetSpec)) {
            List<String> made = WriterGrants.grant(t, role);
            PrintWriter out = spec.commandLine().getOut();
            if (format.json) {
                Map<String, Object> doc = new LinkedHashMap<>();
                doc.put("role", role);
                doc.put("statements", made);
                out.println(Json.output(doc));
            } else {
                made.forEach(out::println);
                out.println("Granted: " + role + " can dual-write, register and record what it applied and read, and nothing more.");
            }
            return ExitCodes.OK;
        } catch (SQLException e) {
            throw PgErrors.failure("grant the writer's privileges", targetSpec, e);
        }
    }
}
