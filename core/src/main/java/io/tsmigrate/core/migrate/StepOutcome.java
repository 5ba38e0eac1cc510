package io.tsmigrate.core.migrate;

import io.tsmigrate.core.TsmigrateException.Kind;
import io.tsmigrate.core.state.Steps;

import java.time.Duration;
import java.util.Optional;

/**
 * What one run of a {@link MigrationStep} came to: done (with what later steps need from it),
 * waiting (the runner says why, waits, and runs the step again), or stopped (a person must act;
 * the run ends with the action).
 */
sealed interface StepOutcome<T> extends Steps.Outcome {

    record Done<T>(String summary, T value) implements StepOutcome<T> {
    }

    /**
     * Not yet: {@code why} says what the step waits for (and until when, where there is a limit); it
     * is said again only when {@code topic} changes (a countdown in {@code why} is not news).
     */
    record Waiting<T>(String why, Object topic, Duration retryAfter) implements StepOutcome<T> {
        @Override
        public String summary() {
            return "waiting: " + why;
        }
    }

    record Stopped<T>(Kind kind, String action) implements StepOutcome<T> {
        @Override
        public String summary() {
            return action;
        }

        @Override
        public Optional<String> failure() {
            return Optional.of(action);
        }
    }

    static <T> StepOutcome<T> done(String summary, T value) {
        return new Done<>(summary, value);
    }

    static StepOutcome<Void> done(String summary) {
        return new Done<>(summary, null);
    }

    static <T> StepOutcome<T> waiting(String why, Duration retryAfter) {
        return new Waiting<>(why, why, retryAfter);
    }

    static <T> StepOutcome<T> stopped(Kind kind, String action) {
        return new Stopped<>(kind, action);
    }
}
