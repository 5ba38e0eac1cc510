package io.tsmigrate.cli;

import io.tsmigrate.core.Human;
import io.tsmigrate.core.time.EpochUnit;
import picocli.CommandLine.Option;

import java.time.Duration;
import java.time.Instant;
import java.util.Optional;

/** What decides the completion point T: shared by {@code completion-point} and {@code migrate}. */
final class CompletionPointOptions {

    @Option(names = "--dual-write-started-at", paramLabel = "TIME",
            description = "When the last writer began dual-writing (ISO 8601, e.g. 2026-11-20T12:00:00Z), instead of the "
                    + "registry (for applications that write to both databases without tsmigrate's library).")
    String dualWriteStartedAt;

    @Option(names = "--max-lateness", paramLabel = "DURATION", defaultValue = "1h",
            description = "The longest a row arrives after its own time (1h, 30m, 2d). Default: ${DEFAULT-VALUE}.")
    String maxLateness;

    @Option(names = "--clock-skew", paramLabel = "DURATION", defaultValue = "1m",
            description = "Margin for clocks of writers and servers that disagree. Default: ${DEFAULT-VALUE}.")
    String clockSkew;

    @Option(names = "--time-unit", paramLabel = "UNIT", description = "The unit of integer time columns: epoch_s, epoch_ms, epoch_us or epoch_ns.")
    String timeUnit;

    Optional<Instant> dualWriteStartedAt() {
        return Optional.ofNullable(dualWriteStartedAt).map(t -> Human.parseInstant(t, "--dual-write-started-at"));
    }

    Duration maxLateness() {
        return Human.parseDuration(maxLateness, "--max-lateness");
    }

    Duration clockSkew() {
        return Human.parseDuration(clockSkew, "--clock-skew");
    }

    Optional<EpochUnit> timeUnit() {
        return Optional.ofNullable(timeUnit).map(u -> EpochUnit.parse(u, "--time-unit"));
    }
}
