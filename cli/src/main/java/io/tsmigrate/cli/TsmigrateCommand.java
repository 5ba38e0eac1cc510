package io.tsmigrate.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.HelpCommand;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;
import picocli.CommandLine.Spec;

import java.util.concurrent.Callable;

/** {@code tsmigrate}: the command group. */
@Command(name = "tsmigrate",
        mixinStandardHelpOptions = true,
        versionProvider = Version.class,
        usageHelpAutoWidth = true,
        description = {
            "Moves a live PostgreSQL database onto TimescaleDB with the dual-write and backfill method.",
            "",
            "Connections are libpq URIs (postgres://user:password@host:port/db?sslmode=...) given with "
                + "--source/--target or the SOURCE/TARGET environment variables. Any other option can also be "
                + "set as TSMIGRATE_<OPTION> (for example TSMIGRATE_PG_BINDIR for --pg-bindir).",
            ""
        },
        footer = ExitCodes.HELP,
        // In the runbook's order: set up, plan, schema, dual-write (replay), completion point, backfill,
        // constraints, verify, load, switch; then the whole method, where it stands, and the demo.
        subcommands = {DoctorCommand.class, PlanCommand.class, SchemaCommand.class, GrantWriterCommand.class, ProxyCommand.class, ReplayCommand.class, CompletionPointCommand.class,
            BackfillCommand.class, ThrottleCommand.class, ConstraintsCommand.class, VerifyCommand.class, CompareLoadCommand.class, CutoverCommand.class,
            MigrateCommand.class, StatusCommand.class, DemoCommand.class, CompletionCommand.class, HelpCommand.class})
final class TsmigrateCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--verbose", scope = ScopeType.INHERIT,
            description = "Log decisions and show stack traces for failures.")
    boolean verbose;

    @Option(names = {"-q", "--quiet"}, scope = ScopeType.INHERIT,
            description = "Only results and errors: no progress, no step lines, no log lines below warnings.")
    boolean quiet;

    @Override
    public Integer call() {
        spec.commandLine().usage(spec.commandLine().getOut());
        return ExitCodes.USAGE;
    }
}
