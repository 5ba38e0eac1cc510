package io.tsmigrate.cli;

import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.Optional;

/** {@code --pg-bindir}: where pg_dump, pg_dumpall and psql come from, for the commands that run them. */
final class ClientToolsOption {

    @Option(names = "--pg-bindir", paramLabel = "DIR",
            description = "Take pg_dump, pg_dumpall and psql from this directory (default: the newest PostgreSQL installation "
                    + "on this machine).")
    Path pgBindir;

    Optional<Path> pgBindir() {
        return Optional.ofNullable(pgBindir);
    }
}
