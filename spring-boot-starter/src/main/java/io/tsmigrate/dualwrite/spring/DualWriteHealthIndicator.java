package io.tsmigrate.dualwrite.spring;

import io.tsmigrate.dualwrite.DualWriteDataSource;
import io.tsmigrate.dualwrite.DualWriteStats;
import org.springframework.boot.actuate.health.Health;
import org.springframework.boot.actuate.health.HealthIndicator;

/**
 * UP while writes reach both sides; DOWN while the secondary is unreachable and its writes go to the
 * journal (the application keeps working: DOWN says the migration is falling behind, not that the
 * application is). Details: which side is primary, and the journal entries owed.
 */
class DualWriteHealthIndicator implements HealthIndicator {

    private final DualWriteDataSource dataSource;

    DualWriteHealthIndicator(DualWriteDataSource dataSource) {
        this.dataSource = dataSource;
    }

    @Override
    public Health health() {
        DualWriteStats s = dataSource.stats();
        Health.Builder h = s.diverted() ? Health.down() : Health.up();
        return h.withDetail("primary", s.targetIsPrimary() ? "target" : "source")
                .withDetail("secondaryReachable", !s.diverted())
                .withDetail("journalPending", s.journalPending())
                .withDetail("writer", dataSource.writerName())
                .build();
    }
}
