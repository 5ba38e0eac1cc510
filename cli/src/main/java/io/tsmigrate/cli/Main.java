package io.tsmigrate.cli;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import io.tsmigrate.core.TsmigrateException;
import io.tsmigrate.core.connect.ConnectionSpec;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.ParseResult;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * The entry point. {@link #run} parses, runs one command and returns its exit code; only
 * {@link #main} calls {@code System.exit}. Every failure ends as one sentence on stderr; a stack
 * trace only with {@code --verbose}.
 */
public final class Main {

    private Main() {
    }

    public static void main(String[] args) {
        // One log format for everything this process writes: java.util.logging (the proxy) into SLF4J and
        // Logback like tsmigrate's own lines (System.Logger, the dual-write library, goes there by its provider).
        org.slf4j.bridge.SLF4JBridgeHandler.removeHandlersForRootLogger();
        org.slf4j.bridge.SLF4JBridgeHandler.install();
        PrintWriter out = new PrintWriter(new java.io.OutputStreamWriter(System.out, StandardCharsets.UTF_8), true);
        PrintWriter err = new PrintWriter(new java.io.OutputStreamWriter(System.err, StandardCharsets.UTF_8), true);
        int code = run(out, err, System.getenv(), args);
        out.flush();
        err.flush();
        System.exit(code);
    }

    /** Runs one command line with the given environment; returns the exit code. */
    public static int run(PrintWriter out, PrintWriter err, Map<String, String> environment, String... args) {
        CommandLine commandLine = new CommandLine(new TsmigrateCommand());
        commandLine.setOut(out);
        commandLine.setErr(err);
        commandLine.setDefaultValueProvider(new EnvironmentDefaults(environment));
        commandLine.setCaseInsensitiveEnumValuesAllowed(true);
        commandLine.setParameterExceptionHandler((e, arguments) -> {
            err.println("tsmigrate: " + ConnectionSpec.redact(e.getMessage()) + suggestion(e) + helpHint(e.getCommandLine()));
            return ExitCodes.USAGE;
        });
        commandLine.setExecutionStrategy(parseResult -> {
            configureLogging(verbose(parseResult, environment), matched(parseResult, "--quiet"));
            return new CommandLine.RunLast().execute(parseResult);
        });
        commandLine.setExecutionExceptionHandler((e, cl, parseResult) -> report(e, err, verbose(parseResult, environment)));
        int code = commandLine.execute(args);
        out.flush();
        err.flush();
        return code;
    }

    /** "; did you mean migrate?" for a mistyped command or option, else nothing. */
    private static String suggestion(CommandLine.ParameterException e) {
        if (e instanceof CommandLine.UnmatchedArgumentException u) {
            java.util.List<String> close = u.getSuggestions();
            if (!close.isEmpty()) {
                return "; did you mean " + String.join(" or ", close.subList(0, Math.min(3, close.size()))) + "?";
            }
        }
        return "";
    }

    /** Says what went wrong in one sentence (a trace only with verbose, passwords redacted) and returns the exit code. */
    static int report(Exception e, PrintWriter err, boolean verbose) {
        int code;
        if (e instanceof TsmigrateException t) {
            // Written by tsmigrate to be shown: it quotes connection strings only redacted.
            err.println("tsmigrate: " + t.getMessage());
            code = ExitCodes.of(t.kind());
            if (t.kind() == TsmigrateException.Kind.USAGE) {
                return code; // bad input is the user's to fix: a stack trace says nothing more, even with --verbose
            }
        } else if (e instanceof InterruptedException) {
            err.println("tsmigrate: interrupted.");
            code = ExitCodes.INTERRUPTED;
        } else {
            err.println("tsmigrate: internal error: " + ConnectionSpec.redact(String.valueOf(e))
                    + "; re-run with --verbose and report it.");
            code = ExitCodes.INTERNAL_ERROR;
        }
        if (verbose) {
            StringWriter trace = new StringWriter();
            e.printStackTrace(new PrintWriter(trace));
            err.print(ConnectionSpec.redact(trace.toString()));
        }
        return code;
    }

    private static String helpHint(CommandLine commandLine) {
        String name = commandLine.getCommandSpec().qualifiedName();
        return "; see '" + name + " --help'.";
    }

    static boolean verbose(ParseResult parseResult, Map<String, String> environment) {
        return matched(parseResult, "--verbose") || "true".equalsIgnoreCase(environment.get("TSMIGRATE_VERBOSE"));
    }

    /** Whether an option given to the command or to any of its parents (an inherited one) was on the command line. */
    static boolean matched(ParseResult parseResult, String option) {
        for (ParseResult pr = parseResult; pr != null; pr = pr.subcommand()) {
            if (pr.hasMatchedOption(option)) {
                return true;
            }
        }
        return false;
    }

    private static void configureLogging(boolean verbose, boolean quiet) {
        if (LoggerFactory.getLogger("io.tsmigrate") instanceof Logger logger) {
            logger.setLevel(verbose ? Level.DEBUG : quiet ? Level.WARN : Level.INFO);
        }
    }
}
