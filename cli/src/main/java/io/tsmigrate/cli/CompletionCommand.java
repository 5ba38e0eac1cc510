package io.tsmigrate.cli;

import io.tsmigrate.core.TsmigrateException;
import picocli.AutoComplete;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.util.Locale;
import java.util.concurrent.Callable;

/** {@code tsmigrate completion bash|zsh}: a shell completion script generated from the command model. */
@Command(name = "completion", mixinStandardHelpOptions = true, usageHelpAutoWidth = true,
        description = {
            "Prints a script that completes tsmigrate's commands and options in your shell, generated from the same "
                + "model as --help, so it always matches this version.",
            "",
            "bash: source <(tsmigrate completion bash)   (or save it under /etc/bash_completion.d/tsmigrate)",
            "zsh:  source <(tsmigrate completion zsh)",
            ""
        },
        footer = {"%nExit codes: 0 printed, 2 a shell this cannot complete for."})
final class CompletionCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Parameters(paramLabel = "SHELL", description = "bash or zsh.")
    String shell;

    @Override
    public Integer call() {
        CommandLine root = spec.root().commandLine();
        String script = AutoComplete.bash(root.getCommandName(), root);
        PrintWriter out = spec.commandLine().getOut();
        switch (shell.toLowerCase(Locale.ROOT)) {
            case "bash" -> out.print(script);
            // zsh runs bash completion functions through its compatibility layer.
            case "zsh" -> out.print("autoload -U +X compinit && compinit\nautoload -U +X bashcompinit && bashcompinit\n" + script);
            default -> throw TsmigrateException.usage("cannot complete for the shell \"" + shell + "\"; give bash or zsh.");
        }
        out.flush();
        return ExitCodes.OK;
    }
}
