package io.tsmigrate.core.migrate;

import io.tsmigrate.core.TsmigrateException.Kind;
import io.tsmigrate.core.completion.CompletionPoint;
import io.tsmigrate.core.completion.CompletionPointResult;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;

/** Dual-writing has started when a writer registered, or the user says when it did. */
final class DualWriteStep implements MigrationStep<Void> {

    private Instant deadline;

    @Override
    public String name() {
        return "dual-write";
    }

    @Override
    public StepOutcome<Void> run(MigrationContext c) throws SQLException {
        Migration.Options options = c.options();
        if (options.dualWriteStartedAt().isPresent()) {
            return StepOutcome.done("started at " + options.dualWriteStartedAt().get() + " (--dual-write-started-at)");
        }
        Instant now = options.clock().instant();
        if (deadline == null) {
            deadline = now.plus(options.waitForWriters());
        }
        List<CompletionPointResult.WriterSeen> writers;
        try (Connection t = c.openTarget()) {
            writers = CompletionPoint.writers(t);
        }
        if (!writers.isEmpty()) {
            return StepOutcome.done(writers.size() + " writer(s) registered: " + String.join(", ", writers.stream()
                    .map(w -> w.name() + " since " + w.startedAt()).toList()));
        }
        if (!now.isBefore(deadline)) {
            return StepOutcome.stopped(Kind.NOT_READY, "start your application in dual-write mode now (see README: Dual-write), "
                    + "then run tsmigrate migrate again; or pass --wait-for-writers to wait for it, or "
                    + "--dual-write-started-at if it writes to both databases another way");
        }
        return StepOutcome.waiting("a dual-writing application to register (until " + deadline.truncatedTo(ChronoUnit.SECONDS)
                + "): start it now, see README: Dual-write", Duration.ofSeconds(1));
    }
}
