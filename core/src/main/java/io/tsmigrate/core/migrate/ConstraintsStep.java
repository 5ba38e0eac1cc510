package io.tsmigrate.core.migrate;

import io.tsmigrate.core.TsmigrateException.Kind;
import io.tsmigrate.core.constraints.Constraints;

/** Foreign keys the backfill did not check row by row, deferred ones validated, materialized views refreshed. */
final class ConstraintsStep implements MigrationStep<Void> {

    @Override
    public String name() {
        return "constraints";
    }

    @Override
    public StepOutcome<Void> run(MigrationContext c) {
        Constraints.ConstraintsResult r = Constraints.run(c.target(), line -> c.listener().line("constraints: " + line));
        if (!r.passed()) {
            return StepOutcome.stopped(Kind.MISMATCH, String.join("; ", r.failures()) + "; then run tsmigrate migrate again");
        }
        long checked = r.outcomes().stream().filter(o -> !o.kind().equals("refresh")).count();
        long refreshed = r.outcomes().size() - checked;
        return StepOutcome.done(checked + " constraint(s) hold, " + refreshed + " materialized view(s) refreshed");
    }
}
