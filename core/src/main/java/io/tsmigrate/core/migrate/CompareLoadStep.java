package io.tsmigrate.core.migrate;

import io.tsmigrate.core.Human;
import io.tsmigrate.core.TsmigrateException.Kind;
import io.tsmigrate.core.load.LoadComparison;

import java.sql.Connection;
import java.sql.SQLException;

/** Runbook step 8: the target answers the shadow reads like the source, and no slower than asked. */
final class CompareLoadStep implements MigrationStep<LoadComparison.Report> {

    private LoadComparison.Report last;

    @Override
    public String name() {
        return "compare-load";
    }

    /** The comparison this step read, also when it stopped on it. */
    java.util.Optional<LoadComparison.Report> last() {
        return java.util.Optional.ofNullable(last);
    }

    @Override
    public StepOutcome<LoadComparison.Report> run(MigrationContext c) throws SQLException {
        double maxSlowdown = c.options().maxSlowdown();
        try (Connection t = c.openTarget()) {
            last = LoadComparison.read(t, maxSlowdown, 20);
        }
        if (last.shapes().isEmpty()) {
            return StepOutcome.done("no shadow reads recorded (give the dual-write DataSource a shadowReadShare to compare "
                    + "read load)", last);
        }
        if (!last.passed()) {
            return StepOutcome.stopped(Kind.MISMATCH, "the target does not answer like the source yet ("
                    + String.join("; ", last.problems()) + "): run tsmigrate compare-load for the details");
        }
        long calls = last.shapes().stream().mapToLong(LoadComparison.Shape::calls).sum();
        return StepOutcome.done(last.shapes().size() + " query shape(s), " + Human.count(calls) + " shadow reads, no real "
                + "mismatch, no shape slower than " + maxSlowdown + "x", last);
    }
}
