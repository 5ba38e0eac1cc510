package io.tsmigrate.cli;

import io.tsmigrate.core.backfill.DirectCompression;
import picocli.CommandLine.Option;

/** {@code --direct-compress}, for the commands that backfill. */
final class DirectCompressOption {

    @Option(names = "--direct-compress", paramLabel = "auto|on|off", defaultValue = "auto",
            description = "Copy the history straight into the columnstore (TimescaleDB 2.21+ with the timescale license compresses "
                    + "during COPY): each row written once, and the history compressed when its range commits. auto (the default) "
                    + "where the target and the table allow it (TimescaleDB refuses tables with a unique key, an exclusion "
                    + "constraint, triggers or foreign keys), on refuses to start where it cannot, off always copies into the "
                    + "rowstore. tsmigrate plan and backfill --dry-run say which path each table takes and why.")
    String value;

    DirectCompression.Mode mode() {
        return DirectCompression.Mode.parse(value);
    }
}
