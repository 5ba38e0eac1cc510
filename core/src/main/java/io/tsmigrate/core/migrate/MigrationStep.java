package io.tsmigrate.core.migrate;

import java.sql.SQLException;

/**
 * One step of {@code tsmigrate migrate}. The step only does its work and says how it came out;
 * {@link Migration} records it as {@code migrate.<name>}, skips it when an earlier run finished it,
 * waits and repeats it while it is {@link StepOutcome.Waiting waiting}, and stops the run when it
 * is {@link StepOutcome.Stopped stopped}.
 *
 * @param <T> what later steps need from it ({@code Void} for nothing)
 */
interface MigrationStep<T> {

    /** The name in {@link Migration#STEPS} and in the state ({@code migrate.<name>}). */
    String name();

    /** Runs again even when an earlier run finished it (the plan: later steps need it). */
    default boolean repeats() {
        return false;
    }

    StepOutcome<T> run(MigrationContext context) throws SQLException;
}
