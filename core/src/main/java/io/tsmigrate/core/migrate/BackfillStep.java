package io.tsmigrate.core.migrate;

import io.tsmigrate.core.Human;
import io.tsmigrate.core.TsmigrateException.Kind;
import io.tsmigrate.core.backfill.Backfill;
import io.tsmigrate.core.backfill.BackfillOptions;
import io.tsmigrate.core.backfill.BackfillResult;
import io.tsmigrate.core.plan.Plan;

import java.util.List;
import java.util.Optional;

/** Runbook step 6: history up to T, range by range, resuming what an earlier run left. */
final class BackfillStep implements MigrationStep<Void> {

    private final Plan plan;

    BackfillStep(Plan plan) {
        this.plan = plan;
    }

    @Override
    public String name() {
        return "backfill";
    }

    @Override
    public StepOutcome<Void> run(MigrationContext c) {
        if (plan.hypertables().isEmpty()) {
            return StepOutcome.done("the plan has no hypertables: pg_dump moved every table with its rows");
        }
        Migration.Options o = c.options();
        BackfillResult r = Backfill.run(c.source(), c.target(), new BackfillOptions(Optional.empty(), Optional.empty(), List.of(),
                o.workers(), o.maxRangeRows(), o.maxRate(), BackfillOptions.DEFAULT_MAX_ATTEMPTS,
                o.compress(), o.workerName(), o.clock(), o.maxLoad(), o.criticalLoad(), Optional.empty(), o.directCompress()),
                c.listener().backfill(), c.interrupted());
        if (!r.complete()) {
            if (c.interrupted().get()) {
                return StepOutcome.stopped(Kind.INTERRUPTED, Migration.INTERRUPTED);
            }
            return StepOutcome.stopped(Kind.INCOMPLETE, "the backfill is incomplete (" + String.join("; ", r.failures())
                    + "): run tsmigrate migrate again to retry the failed ranges");
        }
        return StepOutcome.done(Human.count(r.rows()) + " rows this run, " + Human.bytes(r.bytes()) + " in "
                + Human.duration(r.elapsed()) + " (" + Human.rate(r.rowsPerSecond()) + "); " + String.join(", ", r.tables().stream()
                .map(t -> t.table() + " " + t.rangesDone() + "/" + t.ranges() + " ranges").toList()));
    }
}
