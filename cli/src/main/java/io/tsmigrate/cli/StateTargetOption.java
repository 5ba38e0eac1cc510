package io.tsmigrate.cli;

import io.tsmigrate.core.connect.ConnectionSpec;
import picocli.CommandLine.Option;

/** {@code --target} alone, for the commands that read or change only the migration's state on the target. */
final class StateTargetOption {

    @Option(names = "--target", paramLabel = "URI", description = "The target database, which holds the migration's state. "
            + "Default: the TARGET environment variable.")
    String target;

    ConnectionSpec target() {
        return ConnectionOptions.parse(target, "target", "--target", "TARGET");
    }
}
