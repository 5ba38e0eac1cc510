package io.tsmigrate.it;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** Every command's --help renders: no formatting warnings, a usage line, exit 0. */
class HelpIT {

    private static final List<String> COMMANDS = List.of("doctor", "plan", "schema", "backfill", "verify", "completion-point",
            "replay", "compare-load", "cutover", "migrate", "status", "demo");

    @Test
    void everyCommandsHelpRendersWithoutWarnings() {
        PrintStream stderr = System.err;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
        try {
            assertThat(Cli.run("--help").out()).contains(COMMANDS);
            for (String command : COMMANDS) {
                Cli.Result help = Cli.run(command, "--help");
                assertThat(help.exitCode()).as(command).isZero();
                assertThat(help.out()).as(command).startsWith("Usage: tsmigrate " + command).doesNotContain("%n");
                assertThat(help.err()).as(command).isEmpty();
            }
        } finally {
            System.setErr(stderr);
        }
        assertThat(captured.toString(StandardCharsets.UTF_8)).isEmpty();
    }
}
