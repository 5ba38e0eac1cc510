package io.tsmigrate.cli;

import io.tsmigrate.core.throttle.LoadLimits;
import picocli.CommandLine.Option;

/**
 * {@code --max-load} and {@code --critical-load}: the source's own signals that slow down or pause
 * the commands that read all of it (backfill, verify, migrate), in gh-ost's style.
 */
final class LoadOptions {

    @Option(names = "--max-load", paramLabel = "SIGNALS",
            description = "Slow the reads of the source down (halve their rate, then grow it back slowly) while its own signals "
                    + "reach these limits, checked every second: probe-latency=2x (a trivial query takes twice as long as "
                    + "before the run), active-sessions=20 (others' sessions running a statement), replica-lag=30s (its "
                    + "standbys' replay lag); comma-separated. Default: none.")
    String maxLoad;

    @Option(names = "--critical-load", paramLabel = "SIGNALS",
            description = "Pause the reads of the source (between ranges) while its signals reach these limits, in the same "
                    + "form as --max-load; they resume by themselves once the signals are back under them. Default: none.")
    String criticalLoad;

    /** @throws io.tsmigrate.core.TsmigrateException a usage error naming the option */
    LoadLimits maxLoad() {
        return maxLoad == null ? LoadLimits.NONE : LoadLimits.parse("--max-load", maxLoad);
    }

    /** @throws io.tsmigrate.core.TsmigrateException a usage error naming the option */
    LoadLimits criticalLoad() {
        return criticalLoad == null ? LoadLimits.NONE : LoadLimits.parse("--critical-load", criticalLoad);
    }
}
