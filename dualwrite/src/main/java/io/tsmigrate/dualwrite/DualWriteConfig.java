package io.tsmigrate.dualwrite;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;

/**
 * How a {@link DualWriteDataSource} behaves.
 *
 * @param policy              what a failed write on the secondary does
 * @param journalDirectory    where the journal goes (durable local disk), for {@link FailurePolicy#JOURNAL}
 * @param writerName          this writer's name in {@code tsmigrate.writer}; unique per running process
 * @param application         the application's name, for the registry
 * @param healthCheckInterval how often the secondary's health is checked and the heartbeat sent
 */
public record DualWriteConfig(FailurePolicy policy, Path journalDirectory, String writerName, String application,
                              Duration healthCheckInterval) {

    public DualWriteConfig {
        Objects.requireNonNull(policy, "policy");
        Objects.requireNonNull(journalDirectory, "journalDirectory");
        Objects.requireNonNull(writerName, "writerName");
        Objects.requireNonNull(application, "application");
        if (healthCheckInterval.isNegative() || healthCheckInterval.isZero()) {
            throw new IllegalArgumentException("healthCheckInterval must be positive, got " + healthCheckInterval);
        }
    }
}
