package io.tsmigrate.cli;

import io.tsmigrate.core.Human;
import io.tsmigrate.core.TsmigrateException;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;

/**
 * {@code --progress}, {@code --log-interval}, {@code --no-color}: how the commands that run for a
 * long time show their progress on stderr. The choice between bars and log lines is made on stderr
 * itself, the stream they are written to, not on stdout.
 */
final class ProgressOptions {

    /** What is shown. */
    enum Mode { BAR, LOG, NONE }

    @Option(names = "--progress", paramLabel = "MODE", defaultValue = "auto",
            description = "How to show progress on stderr: bar (live bars, a line per table and one overall), log (a line "
                    + "with an ISO timestamp every --log-interval), none, or auto (bars when stderr is a terminal, else log "
                    + "lines). Default: ${DEFAULT-VALUE}.")
    String progress;

    @Option(names = "--log-interval", paramLabel = "DURATION", defaultValue = "10s",
            description = "How often a progress line is written in log mode (a duration such as 30s or 1m). "
                    + "Default: ${DEFAULT-VALUE}.")
    String logInterval;

    @Option(names = "--no-color", description = "No colours in the progress bars (also when the NO_COLOR environment "
            + "variable is set, as https://no-color.org asks).")
    boolean noColor;

    @picocli.CommandLine.Spec(picocli.CommandLine.Spec.Target.MIXEE)
    picocli.CommandLine.Model.CommandSpec mixee;

    /** Whether --quiet was given (it is inherited from the top command). */
    boolean quiet() {
        return mixee != null && mixee.root().userObject() instanceof TsmigrateCommand root && root.quiet;
    }

    /** The progress display these options ask for, writing its log lines to {@code err}; none with --quiet. */
    BackfillProgress open(PrintWriter err) {
        Duration interval = Human.parseDuration(logInterval, "--log-interval");
        if (interval.compareTo(Duration.ofSeconds(1)) < 0) {
            throw TsmigrateException.usage("--log-interval " + logInterval + " is shorter than a second; give 1s or more.");
        }
        String noColorVariable = System.getenv("NO_COLOR");
        boolean color = !noColor && (noColorVariable == null || noColorVariable.isEmpty());
        return new BackfillProgress(quiet() ? Mode.NONE : mode(), interval, color, err);
    }

    private Mode mode() {
        return switch (progress.toLowerCase(Locale.ROOT)) {
            case "auto" -> stderrIsATerminal() ? Mode.BAR : Mode.LOG;
            case "bar" -> Mode.BAR;
            case "log" -> Mode.LOG;
            case "none" -> Mode.NONE;
            default -> throw TsmigrateException.usage("--progress " + progress + " is not a mode; give auto, bar, log or none.");
        };
    }

    /**
     * Whether standard error is a terminal: Linux names the device it points to ({@code /dev/pts/3});
     * elsewhere, whether the JVM has a console at all.
     */
    static boolean stderrIsATerminal() {
        try {
            String device = Files.readSymbolicLink(Path.of("/proc/self/fd/2")).toString();
            return device.startsWith("/dev/pts/") || device.startsWith("/dev/tty");
        } catch (IOException | UnsupportedOperationException e) {
            return System.console() != null;
        }
    }
}
