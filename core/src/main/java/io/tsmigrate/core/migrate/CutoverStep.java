package io.tsmigrate.core.migrate;

import io.tsmigrate.core.TsmigrateException.Kind;
import io.tsmigrate.core.cutover.Cutover;

import java.time.Duration;
import java.util.Optional;

/** Runbook step 9, when asked: the checks, then the switch of primary. */
final class CutoverStep implements MigrationStep<Cutover.Result> {

    @Override
    public String name() {
        return "cutover";
    }

    @Override
    public StepOutcome<Cutover.Result> run(MigrationContext c) {
        Cutover.Result r;
        try {
            r = Cutover.run(c.source(), c.target(), new Cutover.Options(false, false, Duration.ofHours(24),
                    Optional.of(c.options().advanceSequences()), Duration.ofSeconds(15), c.options().clock()));
        } catch (Cutover.CheckFailed e) {
            return StepOutcome.stopped(Kind.NOT_READY, e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return StepOutcome.stopped(Kind.INTERRUPTED, "interrupted during cutover: run tsmigrate status to see the primary");
        }
        return StepOutcome.done("the target is the primary; " + (r.writers().isEmpty() ? "no writer registered"
                : String.join(", ", r.writers())), r);
    }
}
