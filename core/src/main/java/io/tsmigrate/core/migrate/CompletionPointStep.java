package io.tsmigrate.core.migrate;

import io.tsmigrate.core.completion.CompletionPoint;
import io.tsmigrate.core.completion.CompletionPointResult;
import io.tsmigrate.core.plan.Plan;
import io.tsmigrate.core.state.CompletionPoints;
import io.tsmigrate.core.time.TimePoint;
import io.tsmigrate.core.time.TimeType;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Map;

/** Waits, saying until when, for the consistency range to open, then stores T. */
final class CompletionPointStep implements MigrationStep<Void> {

    private final Plan plan;

    CompletionPointStep(Plan plan) {
        this.plan = plan;
    }

    @Override
    public String name() {
        return "completion-point";
    }

    @Override
    public StepOutcome<Void> run(MigrationContext c) throws SQLException {
        try (Connection t = c.openTarget()) {
            Map<TimeType, TimePoint> stored = CompletionPoints.all(t);
            if (stored.keySet().containsAll(CompletionPoint.timeTypes(c.source(), plan).keySet())) {
                return StepOutcome.done("T already stored (" + String.join(", ", stored.entrySet().stream()
                        .map(e -> e.getKey().label() + " T = " + e.getValue()).toList()) + ")");
            }
        }
        Migration.Options options = c.options();
        try {
            CompletionPointResult r = CompletionPoint.compute(c.source(), c.target(), new CompletionPoint.Options(
                    options.dualWriteStartedAt(), options.maxLateness(), options.clockSkew(), options.timeUnit(), Map.of(), true,
                    options.clock()));
            if (r.complete()) {
                return StepOutcome.done(String.join("; ", r.groups().stream().map(g -> g.type().label() + " T = "
                        + g.value().orElseThrow()).toList()) + " (consistency range [" + r.rangeStart() + ", " + r.rangeEnd() + "])");
            }
            return StepOutcome.waiting(String.join("; ", r.groups().stream().filter(g -> g.value().isEmpty())
                    .map(CompletionPointResult.Group::explanation).toList()), Duration.ofSeconds(1));
        } catch (CompletionPoint.RangeNotOpen e) {
            return new StepOutcome.Waiting<>(e.getMessage(), e.opens(), Duration.ofSeconds(1));
        }
    }
}
