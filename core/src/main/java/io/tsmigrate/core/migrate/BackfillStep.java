package io.tsmigrate.core.migrate;

import io.tsmigrate.core.Human;
import io.tsmigrate.core.TsmigrateException.Kind;
import io.tsmigrate.core.backfill.Backfill;
import io.tsmigrate.core.backfill.BackfillOptions;
import io.tsmigrate.core.backfill.BackfillResult;
import io.tsmigrate.core.plan.Plan;


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
        BackfillResult r = Backfill.run(c.source(), c.target(), BackfillOptions.builder().workers(o.workers())
                .maxRangeRows(o.maxRangeRows()).maxRate(o.maxRate()).compress(o.compress()).workerName(o.workerName()).clock(o.clock())
                .maxLoad(o.maxLoad()).criticalLoad(o.criticalLoad()).directCompress(o.directCompress()).build(),
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
