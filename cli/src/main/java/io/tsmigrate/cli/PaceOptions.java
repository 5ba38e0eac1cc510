package io.tsmigrate.cli;

import io.tsmigrate.core.backfill.BackfillOptions;
import io.tsmigrate.core.backfill.MaxRate;
import picocli.CommandLine.Option;

import java.util.Optional;

/** {@code --workers} and {@code --max-rate}: how hard backfill, verify and migrate work the two servers. */
final class PaceOptions {

    @Option(names = "--workers", paramLabel = "N", defaultValue = "" + BackfillOptions.DEFAULT_WORKERS,
            description = "Parallel workers, each with one connection to the source and one to the target. Default: ${DEFAULT-VALUE}.")
    int workers;

    @Option(names = "--max-rate", paramLabel = "RATE",
            description = "Cap across all workers: rows per second (50000), or for copying also bytes per second (20MB/s). "
                    + "Default: no cap.")
    String maxRate;

    /** @throws io.tsmigrate.core.TsmigrateException a usage error below 1 */
    int workers() {
        Flags.atLeast("--workers", workers, 1);
        return workers;
    }

    Optional<MaxRate> maxRate() {
        return Optional.ofNullable(maxRate).map(MaxRate::parse);
    }
}
