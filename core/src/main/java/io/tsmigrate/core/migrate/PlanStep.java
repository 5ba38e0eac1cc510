package io.tsmigrate.core.migrate;

import io.tsmigrate.core.TsmigrateException;
import io.tsmigrate.core.plan.Hazard;
import io.tsmigrate.core.plan.Plan;
import io.tsmigrate.core.plan.PlanFile;
import io.tsmigrate.core.plan.PlanReport;
import io.tsmigrate.core.plan.Planner;
import io.tsmigrate.core.state.PlanStore;
import io.tsmigrate.core.state.Steps;

import java.io.IOException;
import java.nio.file.Files;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The plan the schema step stored when it has run (the migration must not change course), else
 * the plan file when it exists (the user's, maybe edited), else a new plan written to it. It runs
 * on every run, since later steps need the plan; the planner's hazards are kept for the report.
 */
final class PlanStep implements MigrationStep<PlanStep.Planned> {

    /** The plan to follow and the hazards the planner found. */
    record Planned(Plan plan, List<Hazard> hazards) {
    }

    @Override
    public String name() {
        return "plan";
    }

    @Override
    public boolean repeats() {
        return true;
    }

    @Override
    public StepOutcome<Planned> run(MigrationContext c) throws SQLException {
        Migration.Options options = c.options();
        PlanReport report = Planner.plan(c.source(), Optional.of(c.target()), options.planOptions());
        List<Hazard> hazards = report.hazards();
        String origin;
        Plan plan;
        try (Connection t = c.openTarget()) {
            Optional<Plan> stored = PlanStore.load(t);
            if (stored.isPresent()) {
                plan = stored.get();
                origin = "the plan the schema step stored";
            } else if (Files.exists(options.planFile())) {
                plan = Planner.check(options.planFile(), c.source());
                origin = "the plan file " + options.planFile();
            } else {
                try {
                    PlanFile.save(options.planFile(), report, options.clock().instant());
                } catch (IOException e) {
                    throw TsmigrateException.usage("cannot write the plan file " + options.planFile() + ": " + e.getMessage());
                }
                plan = report.plan();
                origin = "a new plan, written to " + options.planFile();
            }
            Map<String, Object> detail = new LinkedHashMap<>();
            detail.put("hazards", hazards);
            new Steps(t).event("migrate.plan", "info", "hazards", detail);
        }
        long blockers = report.count(Hazard.Severity.BLOCKER);
        long warnings = report.count(Hazard.Severity.WARNING);
        return StepOutcome.done(plan.hypertables().size() + " hypertable(s) (" + String.join(", ", plan.hypertables().stream()
                .map(h -> h.table().toString()).toList()) + ") from " + origin + "; " + blockers + " blocker(s), "
                + warnings + " warning(s)", new Planned(plan, hazards));
    }
}
