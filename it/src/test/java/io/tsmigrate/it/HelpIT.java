package io.tsmigrate.it;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** Every command's --help renders: no formatting warnings, a usage line, exit 0. */
class HelpIT {

    /** In the runbook's order, as --help lists them. */
    private static final List<String> COMMANDS = List.of("doctor", "plan", "schema", "grant-writer", "replay", "completion-point", "backfill",
            "constraints", "verify", "compare-load", "cutover", "migrate", "status", "demo", "completion");

    @Test
    void everyCommandsHelpRendersWithoutWarnings() {
        PrintStream stderr = System.err;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
        try {
            assertThat(Cli.run("--help").out()).containsSubsequence(COMMANDS);
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

    /** The completion script, sourced into a real bash, completes commands and a command's options. */
    @Test
    void completionScriptsCompleteCommandsAndOptionsInBash(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
        Cli.Result bash = Cli.run("completion", "bash");
        assertThat(bash.exitCode()).as(bash.toString()).isZero();
        java.nio.file.Path script = dir.resolve("tsmigrate.bash");
        java.nio.file.Files.writeString(script, bash.out());
        String probe = "source '" + script + "' 2>/dev/null; "
                + "COMP_WORDS=(tsmigrate back); COMP_CWORD=1; _complete_tsmigrate 2>/dev/null; echo \"${COMPREPLY[*]}\"; "
                + "COMP_WORDS=(tsmigrate backfill --max-s); COMP_CWORD=2; _complete_tsmigrate 2>/dev/null; echo \"${COMPREPLY[*]}\"";
        Process p = new ProcessBuilder("bash", "-c", probe).redirectErrorStream(true).start();
        List<String> lines = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).lines().toList();
        assertThat(p.waitFor()).isZero();
        assertThat(lines).containsExactly("backfill", "--max-source-connections");

        Cli.Result zsh = Cli.run("completion", "zsh");
        assertThat(zsh.out()).startsWith("autoload -U +X compinit && compinit\nautoload -U +X bashcompinit && bashcompinit\n")
                .contains("_complete_tsmigrate");
        Cli.Result fish = Cli.run("completion", "fish");
        assertThat(fish.exitCode()).isEqualTo(2);
        assertThat(fish.err()).isEqualTo("tsmigrate: cannot complete for the shell \"fish\"; give bash or zsh.\n");
    }

    @Test
    void helpNamesACommandAndMistypesGetASuggestion() {
        Cli.Result help = Cli.run("help", "backfill");
        assertThat(help.exitCode()).isZero();
        assertThat(help.out()).startsWith("Usage: tsmigrate backfill");

        Cli.Result typo = Cli.run("backfil");
        assertThat(typo.exitCode()).isEqualTo(2);
        assertThat(typo.err()).contains("did you mean backfill?").hasLineCount(1);

        Cli.Result option = Cli.run("verify", "--repiar");
        assertThat(option.exitCode()).isEqualTo(2);
        assertThat(option.err()).contains("did you mean --repair?");

        Cli.Result verbose = Cli.run("verify", "--until", "xyz", "--verbose", "--source", "postgres://u@127.0.0.1:1/db",
                "--target", "postgres://u@127.0.0.1:1/db", "--workers", "0");
        assertThat(verbose.exitCode()).isEqualTo(2);
        assertThat(verbose.err()).as("no stack trace for bad input, even with --verbose").hasLineCount(1).doesNotContain("\tat ");
    }

    @Test
    void anOptionComesFromTheFlagThenTheEnvironment() {
        java.util.Map<String, String> env = java.util.Map.of("TSMIGRATE_WORKERS", "0", "SOURCE", "postgres://u@127.0.0.1:1/db",
                "TARGET", "postgres://u@127.0.0.1:1/db");
        Cli.Result fromEnvironment = Cli.run(env, "verify");
        assertThat(fromEnvironment.exitCode()).isEqualTo(2);
        assertThat(fromEnvironment.err()).isEqualTo("tsmigrate: --workers must be at least 1, got 0.\n");

        Cli.Result flagWins = Cli.run(env, "verify", "--workers", "1");
        assertThat(flagWins.exitCode()).as("the flag wins; then the closed port refuses the connection").isEqualTo(3);
        assertThat(flagWins.err()).doesNotContain("--workers");
    }
}
