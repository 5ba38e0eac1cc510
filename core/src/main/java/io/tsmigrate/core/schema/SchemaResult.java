package io.tsmigrate.core.schema;

import java.time.Duration;
import java.util.List;

/**
 * What {@code tsmigrate schema} did, step by step; with {@code --dry-run}, what it would do.
 *
 * @param commands every command and SQL statement run (or, in a dry run, to be run), passwords redacted
 */
public record SchemaResult(boolean dryRun, List<StepOutcome> steps, List<String> commands) {

    /** How a step came out. */
    public enum Status {
        /** Ran now. */
        DONE,
        /** Done by an earlier run; nothing to do. */
        ALREADY_DONE,
        /** Not run, with the reason in the summary (--skip-roles, an apache target, nothing asked). */
        SKIPPED,
        /** A dry run: shown, not run. */
        PLANNED
    }

    /** One step: its name ({@code roles}, {@code dump}, {@code hypertables}, {@code compression}) and outcome. */
    public record StepOutcome(String name, Status status, String summary, List<String> details, Duration elapsed)
            implements io.tsmigrate.core.state.Steps.Outcome {
        @Override
        public Object detail() {
            return details;
        }

        public StepOutcome {
            details = List.copyOf(details);
        }
    }
}
