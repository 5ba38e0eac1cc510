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
 * @param healthCheckInterval how often the secondary's health is checked, the heartbeat sent and the
 *                            primary that tsmigrate cutover asks for read
 * @param shadowReadShare     the share of reads also run on the secondary and compared, from 0 to 1
 * @param lossless            write each transaction's intent to the journal directory, durably, before the
 *                            primary's COMMIT, so that a crash between the two commits loses nothing (needs
 *                            {@link FailurePolicy#JOURNAL})
 */
public record DualWriteConfig(FailurePolicy policy, Path journalDirectory, String writerName, String application,
                              Duration healthCheckInterval, double shadowReadShare, boolean lossless) {

    /** A configuration without the lossless mode. */
    public DualWriteConfig(FailurePolicy policy, Path journalDirectory, String writerName, String application,
                           Duration healthCheckInterval, double shadowReadShare) {
        this(policy, journalDirectory, writerName, application, healthCheckInterval, shadowReadShare, false);
    }

    public DualWriteConfig {
        Objects.requireNonNull(policy, "policy");
        Objects.requireNonNull(journalDirectory, "journalDirectory");
        Objects.requireNonNull(writerName, "writerName");
        Objects.requireNonNull(application, "application");
        if (shadowReadShare < 0 || shadowReadShare > 1) {
            throw new IllegalArgumentException("shadowReadShare must be between 0 and 1, got " + shadowReadShare);
        }
        if (lossless && policy != FailurePolicy.JOURNAL) {
            throw new IllegalArgumentException("the lossless mode needs the JOURNAL failure policy, got " + policy);
        }
        if (healthCheckInterval.isNegative() || healthCheckInterval.isZero()) {
            throw new IllegalArgumentException("healthCheckInterval must be positive, got " + healthCheckInterval);
        }
    }
}
