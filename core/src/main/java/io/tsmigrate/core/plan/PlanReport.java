package io.tsmigrate.core.plan;

import io.tsmigrate.core.time.TimeType;
import io.tsmigrate.core.catalog.TableRef;

import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What {@code tsmigrate plan} found: the candidates (best first), the hazards (blockers first), the
 * time-type groups of the chosen hypertables (each needs its own completion point T), and the plan.
 */
public record PlanReport(List<Candidate> candidates, List<Hazard> hazards, Map<TimeType, List<TableRef>> timeGroups,
                         Plan plan, Optional<TargetProfile> target, String source, int tablesInspected) {

    public long count(Hazard.Severity severity) {
        return hazards.stream().filter(h -> h.severity() == severity).count();
    }
}
