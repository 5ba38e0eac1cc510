package io.tsmigrate.core.migrate;

import io.tsmigrate.core.TsmigrateException;
import io.tsmigrate.core.TsmigrateException.Kind;
import io.tsmigrate.core.backfill.BackfillListener;
import io.tsmigrate.core.backfill.BackfillOptions;
import io.tsmigrate.core.backfill.MaxRate;
import io.tsmigrate.core.connect.ConnectionSpec;
import io.tsmigrate.core.connect.PgErrors;
import io.tsmigrate.core.cutover.Cutover;
import io.tsmigrate.core.doctor.Check;
import io.tsmigrate.core.doctor.Doctor;
import io.tsmigrate.core.load.LoadComparison;
import io.tsmigrate.core.time.EpochUnit;
import io.tsmigrate.core.plan.Hazard;
import io.tsmigrate.core.plan.Plan;
import io.tsmigrate.core.plan.PlanFile;
import io.tsmigrate.core.plan.PlanOptions;
import io.tsmigrate.core.state.StateSchema;
import io.tsmigrate.core.state.Steps;
import io.tsmigrate.core.throttle.LoadLimits;
import io.tsmigrate.core.verify.VerifyResult;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The whole method in one run: doctor, plan, schema, waiting for dual-writing, the completion point,
 * backfill, compression policies, verification, load comparison and (when asked) cutover. Each
 * step is recorded in {@code tsmigrate.step} as {@code migrate.<step>}; a re-run skips the steps that
 * are done and resumes the one that was interrupted (each step is itself resumable). Where a person
 * must act, the run stops with a result that says exactly what to do.
 */
public final class Migration {

    /** The steps, in order. */
    public static final List<String> STEPS = List.of("doctor", "plan", "schema", "writer-roles", "dual-write", "completion-point",
            "backfill", "compression", "constraints", "verify", "compare-load", "cutover");

    /** How to migrate. */
    public record Options(Path planFile, PlanOptions planOptions, boolean skipRoles, Optional<Path> pgBindir,
                          Optional<Instant> dualWriteStartedAt, Duration waitForWriters, Duration maxLateness,
                          Duration clockSkew, Optional<EpochUnit> timeUnit, int workers, long maxRangeRows, Optional<MaxRate> maxRate,
                          boolean compress, boolean repair, int verifyAttempts, double maxSlowdown, boolean cutover,
                          long advanceSequences, String workerName, Clock clock, LoadLimits maxLoad, LoadLimits criticalLoad,
                          io.tsmigrate.core.backfill.DirectCompression.Mode directCompress) {

        public static final int DEFAULT_WORKERS = 2;
        public static final int DEFAULT_VERIFY_ATTEMPTS = 3;
        public static final double DEFAULT_MAX_SLOWDOWN = 1.5;
        public static final long DEFAULT_ADVANCE_SEQUENCES = 1000;
        public static final Duration DEFAULT_MAX_LATENESS = Duration.ofHours(1);
        public static final Duration DEFAULT_CLOCK_SKEW = Duration.ofMinutes(1);

        public Options {
            if (workers < 1 || verifyAttempts < 1 || maxRangeRows < 1) {
                throw new IllegalArgumentException("workers, verifyAttempts and maxRangeRows must be at least 1, got "
                        + workers + ", " + verifyAttempts + ", " + maxRangeRows);
            }
            if (!(maxSlowdown >= 1.0) || advanceSequences < 0) {
                throw new IllegalArgumentException("maxSlowdown must be at least 1 and advanceSequences not negative, got "
                        + maxSlowdown + ", " + advanceSequences);
            }
        }

        /** Options with every default, to change by name. */
        public static Builder builder(PlanOptions planOptions) {
            return new Builder(planOptions);
        }

        /** Named setters for {@link Options}; each default is the command line's. */
        public static final class Builder {
            private Path planFile = Path.of(PlanFile.DEFAULT_NAME);
            private final PlanOptions planOptions;
            private boolean skipRoles;
            private Optional<Path> pgBindir = Optional.empty();
            private Optional<Instant> dualWriteStartedAt = Optional.empty();
            private Duration waitForWriters = Duration.ZERO;
            private Duration maxLateness = DEFAULT_MAX_LATENESS;
            private Duration clockSkew = DEFAULT_CLOCK_SKEW;
            private Optional<EpochUnit> timeUnit = Optional.empty();
            private int workers = DEFAULT_WORKERS;
            private long maxRangeRows = BackfillOptions.DEFAULT_MAX_RANGE_ROWS;
            private Optional<MaxRate> maxRate = Optional.empty();
            private boolean compress;
            private boolean repair;
            private int verifyAttempts = DEFAULT_VERIFY_ATTEMPTS;
            private double maxSlowdown = DEFAULT_MAX_SLOWDOWN;
            private boolean cutover;
            private long advanceSequences = DEFAULT_ADVANCE_SEQUENCES;
            private String workerName = "migrate";
            private Clock clock = Clock.systemUTC();
            private LoadLimits maxLoad = LoadLimits.NONE;
            private LoadLimits criticalLoad = LoadLimits.NONE;
            private io.tsmigrate.core.backfill.DirectCompression.Mode directCompress = io.tsmigrate.core.backfill.DirectCompression.Mode.AUTO;

            private Builder(PlanOptions planOptions) {
                this.planOptions = planOptions;
            }

            public Builder planFile(Path v) { planFile = v; return this; }
            public Builder skipRoles(boolean v) { skipRoles = v; return this; }
            public Builder pgBindir(Optional<Path> v) { pgBindir = v; return this; }
            public Builder dualWriteStartedAt(Optional<Instant> v) { dualWriteStartedAt = v; return this; }
            public Builder waitForWriters(Duration v) { waitForWriters = v; return this; }
            public Builder maxLateness(Duration v) { maxLateness = v; return this; }
            public Builder clockSkew(Duration v) { clockSkew = v; return this; }
            public Builder timeUnit(Optional<EpochUnit> v) { timeUnit = v; return this; }
            public Builder workers(int v) { workers = v; return this; }
            public Builder maxRangeRows(long v) { maxRangeRows = v; return this; }
            public Builder maxRate(Optional<MaxRate> v) { maxRate = v; return this; }
            public Builder compress(boolean v) { compress = v; return this; }
            public Builder repair(boolean v) { repair = v; return this; }
            public Builder verifyAttempts(int v) { verifyAttempts = v; return this; }
            public Builder maxSlowdown(double v) { maxSlowdown = v; return this; }
            public Builder cutover(boolean v) { cutover = v; return this; }
            public Builder advanceSequences(long v) { advanceSequences = v; return this; }
            public Builder workerName(String v) { workerName = v; return this; }
            public Builder clock(Clock v) { clock = v; return this; }
            public Builder maxLoad(LoadLimits v) { maxLoad = v; return this; }
            public Builder criticalLoad(LoadLimits v) { criticalLoad = v; return this; }
            public Builder directCompress(io.tsmigrate.core.backfill.DirectCompression.Mode v) { directCompress = v; return this; }

            public Options build() {
                return new Options(planFile, planOptions, skipRoles, pgBindir, dualWriteStartedAt, waitForWriters, maxLateness,
                        clockSkew, timeUnit, workers, maxRangeRows, maxRate, compress, repair, verifyAttempts, maxSlowdown, cutover,
                        advanceSequences, workerName, clock, maxLoad, criticalLoad, directCompress);
            }
        }
    }

    /** Told what happens, for progress displays. */
    public interface Listener {
        default void stepStarted(String step) {
        }

        default void stepFinished(StepResult step) {
        }

        /** A line worth showing (what a step does, what it waits for). */
        default void line(String text) {
        }

        default BackfillListener backfill() {
            return BackfillListener.NONE;
        }
    }

    /** One step's outcome in this run. */
    public record StepResult(String name, Status status, String summary, Duration elapsed) {
    }

    public enum Status { DONE, ALREADY_DONE, SKIPPED, STOPPED }

    /**
     * What the run did. {@code stop} is empty when every step ran; otherwise it is why the run
     * stopped and {@code action} says what to do.
     */
    public record Result(List<StepResult> steps, Optional<Kind> stop, String action, List<Hazard> hazards,
                         Optional<VerifyResult> verification, Optional<LoadComparison.Report> load,
                         Optional<Cutover.Result> cutover, String primary) {
        public boolean complete() {
            return stop.isEmpty();
        }
    }

    /** What a run says when Ctrl-C stopped it. */
    static final String INTERRUPTED = "interrupted: run tsmigrate migrate again to continue where it stopped";

    /** Ends the run at a step that stopped; the message says what to do. */
    private static final class Stop extends RuntimeException {
        final Kind kind;

        Stop(Kind kind, String action) {
            super(action);
            this.kind = kind;
        }
    }

    private final MigrationContext context;
    private final List<StepResult> results = new ArrayList<>();

    private Migration(MigrationContext context) {
        this.context = context;
    }

    /**
     * Runs, or continues, the migration.
     *
     * @param interrupted set from another thread (Ctrl-C) to stop at the next safe point
     * @throws TsmigrateException for bad input, connection failures and server errors; a stop that
     *                            needs a person (or more time) is a result, not an exception
     */
    public static Result run(ConnectionSpec source, ConnectionSpec target, Options options, Listener listener,
                             AtomicBoolean interrupted) {
        return new Migration(new MigrationContext(source, target, options, listener, interrupted)).run();
    }

    private Result run() {
        Optional<Kind> stop = Optional.empty();
        String action = "";
        List<Hazard> hazards = List.of();
        VerifyStep verify = new VerifyStep();
        CompareLoadStep compareLoad = new CompareLoadStep();
        Optional<Cutover.Result> cutover = Optional.empty();
        try {
            doctor(new DoctorStep());
            PlanStep.Planned planned = step(new PlanStep()).orElseThrow();
            hazards = planned.hazards();
            Plan plan = planned.plan();
            step(new SchemaStep(plan));
            step(new WriterRolesStep(plan));
            step(new DualWriteStep());
            step(new CompletionPointStep(plan));
            step(new BackfillStep(plan));
            step(new CompressionResumedStep());
            step(new ConstraintsStep());
            step(verify);
            step(compareLoad);
            if (context.options().cutover()) {
                cutover = step(new CutoverStep());
            } else {
                finished(new StepResult("cutover", Status.SKIPPED, "not asked: run tsmigrate cutover (or migrate --cutover) "
                        + "when you are ready to switch", Duration.ZERO));
            }
        } catch (Stop s) {
            stop = Optional.of(s.kind);
            action = s.getMessage();
        }
        return new Result(List.copyOf(results), stop, action, hazards, verify.last(), compareLoad.last(), cutover, primary());
    }

    /**
     * Runs one step as {@code migrate.<name>} through the state's one recorded-step runner: skipped
     * when an earlier run finished it (unless it {@link MigrationStep#repeats() repeats}); while it
     * is waiting, says why (when that changed), waits and runs it again; a stopped step ends the run.
     *
     * @return what the step produced; empty when an earlier run had finished it
     */
    private <T> Optional<T> step(MigrationStep<T> step) {
        checkInterrupted();
        String name = step.name();
        String recorded = "migrate." + name;
        try (Connection t = context.openTarget()) {
            Steps steps = new Steps(t);
            Optional<Steps.Step> before = steps.get(recorded);
            if (before.isPresent() && before.get().done() && !step.repeats()) {
                finished(new StepResult(name, Status.ALREADY_DONE, before.get().message().orElse("done"), Duration.ZERO));
                return Optional.empty();
            }
            context.listener().stepStarted(name);
            Instant start = context.options().clock().instant();
            StepOutcome<T> outcome;
            try {
                outcome = steps.run(recorded, () -> {
                    pauseIfAsked(name);
                    return untilSettled(step);
                });
            } catch (Stop s) {
                // Ctrl-C while the step waited: recorded as failed by the runner, reported as stopped.
                finished(new StepResult(name, Status.STOPPED, s.getMessage(), Duration.between(start,
                        context.options().clock().instant())));
                throw s;
            }
            return ended(name, outcome, start);
        } catch (SQLException e) {
            throw PgErrors.failure("run the " + name + " step", context.target(), e);
        }
    }

    /** The step run until it is done or stopped. */
    private <T> StepOutcome<T> untilSettled(MigrationStep<T> step) throws SQLException {
        Object said = null;
        while (true) {
            StepOutcome<T> outcome = step.run(context);
            if (!(outcome instanceof StepOutcome.Waiting<T> w)) {
                return outcome;
            }
            if (!w.topic().equals(said)) {
                context.listener().line(step.name() + ": waiting: " + w.why());
                said = w.topic();
            }
            sleep(w.retryAfter());
        }
    }

    private <T> Optional<T> ended(String name, StepOutcome<T> outcome, Instant start) {
        Duration elapsed = Duration.between(start, context.options().clock().instant());
        if (outcome instanceof StepOutcome.Stopped<T> s) {
            finished(new StepResult(name, Status.STOPPED, s.action(), elapsed));
            throw new Stop(s.kind(), s.action());
        }
        StepOutcome.Done<T> done = (StepOutcome.Done<T>) outcome;
        finished(new StepResult(name, Status.DONE, done.summary(), elapsed));
        return Optional.ofNullable(done.value());
    }

    private void finished(StepResult r) {
        results.add(r);
        context.listener().stepFinished(r);
    }

    /**
     * The doctor runs before there is any state to record it in: it is recorded once it passed, and
     * a stop is not recorded at all.
     */
    private void doctor(DoctorStep step) {
        try (Connection t = context.openTarget()) {
            if (StateSchema.exists(t) && new Steps(t).isDone("migrate.doctor")) {
                finished(new StepResult("doctor", Status.ALREADY_DONE, "passed in an earlier run", Duration.ZERO));
                return;
            }
        } catch (SQLException e) {
            throw PgErrors.failure("read the migration state", context.target(), e);
        } catch (TsmigrateException e) {
            if (e.kind() != Kind.CONNECTION) {
                throw e;
            }
            // Doctor says it better, below.
        }
        context.listener().stepStarted("doctor");
        Instant start = context.options().clock().instant();
        pauseIfAsked("doctor");
        StepOutcome<List<Check>> outcome = step.run(context);
        if (outcome instanceof StepOutcome.Done<List<Check>> done) {
            try (Connection t = context.openTarget()) {
                StateSchema.ensure(t);
                Steps steps = new Steps(t);
                steps.start("migrate.doctor");
                steps.finish("migrate.doctor", done.summary(), done.value());
            } catch (SQLException e) {
                throw PgErrors.failure("record the doctor's verdict", context.target(), e);
            }
        }
        ended("doctor", outcome, start);
    }

    /**
     * For tests only: with {@code -Dtsmigrate.migrate.test.pause-in=STEP} the run stops inside that
     * step (recorded as running, its work not begun) after creating the file
     * {@code -Dtsmigrate.migrate.test.pause-file}, so that a test can kill it exactly there.
     */
    private static void pauseIfAsked(String step) {
        if (!step.equals(System.getProperty("tsmigrate.migrate.test.pause-in"))) {
            return;
        }
        try {
            java.nio.file.Files.writeString(Path.of(System.getProperty("tsmigrate.migrate.test.pause-file")), step);
            Thread.sleep(Long.MAX_VALUE);
        } catch (java.io.IOException | InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private String primary() {
        try (Connection t = context.openTarget()) {
            return StateSchema.primary(t);
        } catch (SQLException | TsmigrateException e) {
            return "unknown";
        }
    }

    private void checkInterrupted() {
        if (context.interrupted().get()) {
            throw new Stop(Kind.INTERRUPTED, INTERRUPTED);
        }
    }

    private void sleep(Duration d) {
        checkInterrupted();
        try {
            Thread.sleep(d.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new Stop(Kind.INTERRUPTED, INTERRUPTED);
        }
        checkInterrupted();
    }
}
