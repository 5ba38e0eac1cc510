package io.tsmigrate.core.migrate;

import io.tsmigrate.core.TsmigrateException;
import io.tsmigrate.core.TsmigrateException.Kind;
import io.tsmigrate.core.state.PausedJobs;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;

/** Runbook 6e: every compression policy paused for the backfill must be running again. */
final class CompressionResumedStep implements MigrationStep<Void> {

    @Override
    public String name() {
        return "compression";
    }

    @Override
    public StepOutcome<Void> run(MigrationContext c) throws SQLException {
        List<PausedJobs.PausedJob> jobs;
        try (Connection t = c.openTarget()) {
            jobs = PausedJobs.all(t);
        }
        String names = String.join(", ", jobs.stream().map(j -> j.jobId() + " on " + j.hypertable()).toList());
        long still = jobs.stream().filter(j -> j.resumedAt().isEmpty()).count();
        if (still > 0) {
            throw new TsmigrateException(Kind.FAILED, still + " compression policies paused for the backfill were not "
                    + "resumed (" + names + "); run tsmigrate backfill to resume them");
        }
        return StepOutcome.done(jobs.isEmpty() ? "no compression policy was paused (none is set up on this target)"
                : jobs.size() + " compression policy job(s) paused during the backfill are running again (" + names + ")");
    }
}
