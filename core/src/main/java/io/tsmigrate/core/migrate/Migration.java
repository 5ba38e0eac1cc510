package io.tsmigrate.core.migrate;

import io.tsmigrate.core.Human;
import io.tsmigrate.core.TsmigrateException;
import io.tsmigrate.core.TsmigrateException.Kind;
import io.tsmigrate.core.backfill.Backfill;
import io.tsmigrate.core.backfill.BackfillListener;
import io.tsmigrate.core.backfill.BackfillOptions;
import io.tsmigrate.core.backfill.BackfillResult;
import io.tsmigrate.core.backfill.MaxRate;
import io.tsmigrate.core.completion.CompletionPoint;
import io.tsmigrate.core.constraints.Constraints;
import io.tsmigrate.core.completion.CompletionPointResult;
import io.tsmigrate.core.state.CompletionPoints;
import io.tsmigrate.core.connect.ConnectionSpec;
import io.tsmigrate.core.connect.PgConnector;
import io.tsmigrate.core.connect.PgErrors;
import io.tsmigrate.core.cutover.Cutover;
import io.tsmigrate.core.doctor.Check;
import io.tsmigrate.core.doctor.Doctor;
import io.tsmigrate.core.doctor.DoctorResult;
import io.tsmigrate.core.load.LoadComparison;
import io.tsmigrate.core.time.EpochUnit;
import io.tsmigrate.core.plan.Hazard;
import io.tsmigrate.core.plan.Plan;
import io.tsmigrate.core.plan.PlanFile;
import io.tsmigrate.core.plan.PlanOptions;
import io.tsmigrate.core.plan.PlanReport;
import io.tsmigrate.core.plan.Planner;
import io.tsmigrate.core.time.TimeType;
import io.tsmigrate.core.schema.SchemaMigrator;
import io.tsmigrate.core.schema.SchemaOptions;
import io.tsmigrate.core.schema.SchemaResult;
import io.tsmigrate.core.state.PausedJobs;
import io.tsmigrate.core.state.PlanStore;
import io.tsmigrate.core.state.StateSchema;
import io.tsmigrate.core.state.Steps;
import io.tsmigrate.core.verify.Verifier;
import io.tsmigrate.core.verify.VerifyOptions;
import io.tsmigrate.core.verify.VerifyResult;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
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
    public static final List<String> STEPS = List.of("doctor", "plan", "schema", "dual-write", "completion-point",
            "backfill", "compression", "constraints", "verify", "compare-load", "cutover");

    /** How to migrate. */
    public record Options(Path planFile, PlanOptions planOptions, boolean skipRoles, Optional<Path> pgBindir,
                          Optional<Instant> dualWriteStartedAt, Duration waitForWriters, Duration maxLateness,
                          Duration clockSkew, Optional<EpochUnit> timeUnit, int workers, long maxRangeRows, Optional<MaxRate> maxRate,
                          boolean compress, boolean repair, int verifyAttempts, double maxSlowdown, boolean cutover,
                          long advanceSequences, String workerName, Clock clock) {

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
            private Path planFile = Path.of(io.tsmigrate.core.plan.PlanFile.DEFAULT_NAME);
            private final PlanOptions planOptions;
            private boolean skipRoles;
            private Optional<Path> pgBindir = Optional.empty();
            private Optional<Instant> dualWriteStartedAt = Optional.empty();
            private Duration waitForWriters = Duration.ZERO;
            private Duration maxLateness = DEFAULT_MAX_LATENESS;
            private Duration clockSkew = DEFAULT_CLOCK_SKEW;
            private Optional<EpochUnit> timeUnit = Optional.empty();
            private int workers = DEFAULT_WORKERS;
            private long maxRangeRows = io.tsmigrate.core.backfill.BackfillOptions.DEFAULT_MAX_RANGE_ROWS;
            private Optional<MaxRate> maxRate = Optional.empty();
            private boolean compress;
            private boolean repair;
            private int verifyAttempts = DEFAULT_VERIFY_ATTEMPTS;
            private double maxSlowdown = DEFAULT_MAX_SLOWDOWN;
            private boolean cutover;
            private long advanceSequences = DEFAULT_ADVANCE_SEQUENCES;
            private String workerName = "migrate";
            private Clock clock = Clock.systemUTC();

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

            public Options build() {
                return new Options(planFile, planOptions, skipRoles, pgBindir, dualWriteStartedAt, waitForWriters, maxLateness,
                        clockSkew, timeUnit, workers, maxRangeRows, maxRate, compress, repair, verifyAttempts, maxSlowdown, cutover,
                        advanceSequences, workerName, clock);
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

    /** Thrown by a step to stop the run; the message says what to do. */
    private static final class Stop extends RuntimeException {
        final Kind kind;

        Stop(Kind kind, String action) {
            super(action);
            this.kind = kind;
        }
    }

    private final ConnectionSpec source;
    private final ConnectionSpec target;
    private final Options options;
    private final Listener listener;
    private final AtomicBoolean interrupted;
    private final List<StepResult> results = new ArrayList<>();
    private List<Hazard> hazards = List.of();
    private Plan plan;
    private VerifyResult verification;
    private LoadComparison.Report load;
    private Cutover.Result cutover;

    private Migration(ConnectionSpec source, ConnectionSpec target, Options options, Listener listener, AtomicBoolean interrupted) {
        this.source = source;
        this.target = target;
        this.options = options;
        this.listener = listener;
        this.interrupted = interrupted;
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
        return new Migration(source, target, options, listener, interrupted).run();
    }

    private Result run() {
        Optional<Kind> stop = Optional.empty();
        String action = "";
        try {
            doctor();
            step("plan", this::plan);
            step("schema", this::schema);
            step("dual-write", this::dualWrite);
            step("completion-point", this::completionPoint);
            step("backfill", this::backfill);
            step("compression", this::compression);
            step("constraints", this::constraints);
            step("verify", this::verify);
            step("compare-load", this::compareLoad);
            if (options.cutover()) {
                step("cutover", this::cutover);
            } else {
                results.add(new StepResult("cutover", Status.SKIPPED, "not asked: run tsmigrate cutover (or migrate --cutover) "
                        + "when you are ready to switch", Duration.ZERO));
                listener.stepFinished(results.get(results.size() - 1));
            }
        } catch (Stop s) {
            stop = Optional.of(s.kind);
            action = s.getMessage();
        }
        return new Result(List.copyOf(results), stop, action, hazards, Optional.ofNullable(verification),
                Optional.ofNullable(load), Optional.ofNullable(cutover), primary());
    }

    @FunctionalInterface
    private interface Work {
        String run(Steps steps) throws SQLException;
    }

    private void step(String name, Work work) {
        checkInterrupted();
        String recorded = "migrate." + name;
        try (Connection t = PgConnector.open(target)) {
            Steps steps = new Steps(t);
            Optional<Steps.Step> before = steps.get(recorded);
            if (before.isPresent() && before.get().done() && !name.equals("plan")) {
                StepResult r = new StepResult(name, Status.ALREADY_DONE, before.get().message().orElse("done"), Duration.ZERO);
                results.add(r);
                listener.stepFinished(r);
                return;
            }
            listener.stepStarted(name);
            Instant start = options.clock().instant();
            steps.start(recorded);
            String summary;
            try {
                summary = work.run(steps);
            } catch (Stop s) {
                steps.fail(recorded, s.getMessage());
                StepResult r = new StepResult(name, Status.STOPPED, s.getMessage(), Duration.between(start, options.clock().instant()));
                results.add(r);
                listener.stepFinished(r);
                throw s;
            } catch (SQLException | RuntimeException e) {
                failQuietly(steps, recorded, e.getMessage());
                throw e;
            }
            steps.finish(recorded, summary, null);
            StepResult r = new StepResult(name, Status.DONE, summary, Duration.between(start, options.clock().instant()));
            results.add(r);
            listener.stepFinished(r);
        } catch (SQLException e) {
            throw PgErrors.failure("run the " + name + " step", target, e);
        }
    }

    private static void failQuietly(Steps steps, String name, String message) {
        try {
            steps.fail(name, message == null ? "failed" : message);
        } catch (SQLException ignored) {
            // The connection is what failed; the step stays "running", and a re-run starts it again.
        }
    }

    private void checkInterrupted() {
        if (interrupted.get()) {
            throw new Stop(Kind.INTERRUPTED, "interrupted: run tsmigrate migrate again to continue where it stopped");
        }
    }

    /** Doctor runs before there is any state to record it in; once it passed, it is recorded. */
    private void doctor() {
        try (Connection t = PgConnector.open(target)) {
            if (StateSchema.exists(t) && new Steps(t).isDone("migrate.doctor")) {
                StepResult r = new StepResult("doctor", Status.ALREADY_DONE, "passed in an earlier run", Duration.ZERO);
                results.add(r);
                listener.stepFinished(r);
                return;
            }
        } catch (SQLException e) {
            throw PgErrors.failure("read the migration state", target, e);
        } catch (TsmigrateException e) {
            if (e.kind() != Kind.CONNECTION) {
                throw e;
            }
            // Doctor says it better, below.
        }
        listener.stepStarted("doctor");
        Instant start = options.clock().instant();
        DoctorResult d = Doctor.run(source, target, options.pgBindir());
        for (Check c : d.checks()) {
            if (c.status() != Check.Status.OK) {
                listener.line("doctor: " + c.status().name().toLowerCase(java.util.Locale.ROOT) + " " + c.name() + ": " + c.message());
            }
        }
        if (d.verdict() == DoctorResult.Verdict.CANNOT_CONNECT) {
            String why = d.checks().stream().filter(c -> c.status() == Check.Status.FAILED).map(Check::message).findFirst()
                    .orElse("a server cannot be reached");
            throw new TsmigrateException(Kind.CONNECTION, why);
        }
        if (d.verdict() == DoctorResult.Verdict.NOT_READY) {
            String failed = String.join("; ", d.checks().stream().filter(c -> c.status() == Check.Status.FAILED)
                    .map(c -> c.name() + ": " + c.message()).toList());
            StepResult r = new StepResult("doctor", Status.STOPPED, failed, Duration.between(start, options.clock().instant()));
            results.add(r);
            listener.stepFinished(r);
            throw new Stop(Kind.NOT_READY, "fix what tsmigrate doctor reports (" + failed + "), then run tsmigrate migrate again");
        }
        long warnings = d.count(Check.Status.WARNING);
        String summary = "ready" + (warnings > 0 ? " (" + warnings + " warning" + (warnings > 1 ? "s" : "") + ")" : "");
        try (Connection t = PgConnector.open(target)) {
            StateSchema.ensure(t);
            Steps steps = new Steps(t);
            steps.start("migrate.doctor");
            steps.finish("migrate.doctor", summary, d.checks());
        } catch (SQLException e) {
            throw PgErrors.failure("record the doctor's verdict", target, e);
        }
        StepResult r = new StepResult("doctor", Status.DONE, summary, Duration.between(start, options.clock().instant()));
        results.add(r);
        listener.stepFinished(r);
    }

    /**
     * The plan the schema step stored when it has run (the migration must not change course), else
     * the plan file when it exists (the user's, maybe edited), else a new plan written to it. It runs
     * on every run, since later steps need the plan; the planner's hazards are kept for the report.
     */
    private String plan(Steps steps) throws SQLException {
        PlanReport report = Planner.plan(source, Optional.of(target), options.planOptions());
        hazards = report.hazards();
        String origin;
        Optional<Plan> stored;
        try (Connection t = PgConnector.open(target)) {
            stored = PlanStore.load(t);
        }
        if (stored.isPresent()) {
            plan = stored.get();
            origin = "the plan the schema step stored";
        } else if (Files.exists(options.planFile())) {
            plan = Planner.check(options.planFile(), source);
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
        steps.event("migrate.plan", "info", "hazards", detail);
        long blockers = report.count(Hazard.Severity.BLOCKER);
        long warnings = report.count(Hazard.Severity.WARNING);
        return plan.hypertables().size() + " hypertable(s) (" + String.join(", ", plan.hypertables().stream()
                .map(h -> h.table().toString()).toList()) + ") from " + origin + "; " + blockers + " blocker(s), "
                + warnings + " warning(s)";
    }

    private String schema(Steps steps) {
        SchemaResult r = SchemaMigrator.run(source, target, plan, new SchemaOptions(options.skipRoles(), false, false,
                options.pgBindir()), line -> listener.line("schema: " + line));
        return String.join("; ", r.steps().stream().map(s -> s.name() + " " + s.summary()).toList());
    }

    /** Dual-writing has started when a writer registered, or the user says when it did. */
    private String dualWrite(Steps steps) throws SQLException {
        if (options.dualWriteStartedAt().isPresent()) {
            return "started at " + options.dualWriteStartedAt().get() + " (--dual-write-started-at)";
        }
        Instant deadline = options.clock().instant().plus(options.waitForWriters());
        boolean told = false;
        while (true) {
            List<CompletionPointResult.WriterSeen> writers;
            try (Connection t = PgConnector.open(target)) {
                writers = CompletionPoint.writers(t);
            }
            if (!writers.isEmpty()) {
                return writers.size() + " writer(s) registered: " + String.join(", ", writers.stream()
                        .map(w -> w.name() + " since " + w.startedAt()).toList());
            }
            if (!options.clock().instant().isBefore(deadline)) {
                throw new Stop(Kind.NOT_READY, "start your application in dual-write mode now (see README: Dual-write), "
                        + "then run tsmigrate migrate again; or pass --wait-for-writers to wait for it, or "
                        + "--dual-write-started-at if it writes to both databases another way");
            }
            if (!told) {
                listener.line("waiting for a dual-writing application to register (until " + deadline.truncatedTo(
                        java.time.temporal.ChronoUnit.SECONDS) + "): start it now, see README: Dual-write");
                told = true;
            }
            sleep(Duration.ofSeconds(1));
        }
    }

    /** Waits, saying until when, for the consistency range to open, then stores T. */
    private String completionPoint(Steps steps) throws SQLException {
        try (Connection t = PgConnector.open(target)) {
            Map<TimeType, String> stored = CompletionPoints.all(t);
            if (stored.keySet().containsAll(CompletionPoint.timeTypes(source, plan).keySet())) {
                return "T already stored (" + String.join(", ", stored.entrySet().stream()
                        .map(e -> e.getKey().label() + " T = " + e.getValue()).toList()) + ")";
            }
        }
        String lastMessage = null;
        while (true) {
            try {
                CompletionPointResult r = CompletionPoint.compute(source, target, new CompletionPoint.Options(
                        options.dualWriteStartedAt(), options.maxLateness(), options.clockSkew(), options.timeUnit(), Map.of(), true,
                        options.clock()));
                if (r.complete()) {
                    return String.join("; ", r.groups().stream().map(g -> g.type().label() + " T = " + g.value().orElseThrow())
                            .toList()) + " (consistency range [" + r.rangeStart() + ", " + r.rangeEnd() + "])";
                }
                String why = String.join("; ", r.groups().stream().filter(g -> g.value().isEmpty())
                        .map(CompletionPointResult.Group::explanation).toList());
                if (!why.equals(lastMessage)) {
                    listener.line("completion point: waiting: " + why);
                    lastMessage = why;
                }
            } catch (CompletionPoint.RangeNotOpen e) {
                // Said once per opening time, not once a second.
                String why = "the consistency range opens at " + e.opens();
                if (!why.equals(lastMessage)) {
                    listener.line("completion point: waiting: " + e.getMessage());
                    lastMessage = why;
                }
            }
            sleep(Duration.ofSeconds(1));
        }
    }

    private String backfill(Steps steps) {
        if (plan.hypertables().isEmpty()) {
            return "the plan has no hypertables: pg_dump moved every table with its rows";
        }
        BackfillResult r = Backfill.run(source, target, new BackfillOptions(Optional.empty(), Optional.empty(), List.of(),
                options.workers(), options.maxRangeRows(), options.maxRate(), BackfillOptions.DEFAULT_MAX_ATTEMPTS,
                options.compress(), options.workerName(), options.clock()), listener.backfill(), interrupted);
        String summary = Human.count(r.rows()) + " rows this run, " + Human.bytes(r.bytes()) + " in " + Human.duration(r.elapsed())
                + " (" + Human.rate(r.rowsPerSecond()) + "); " + String.join(", ", r.tables().stream()
                .map(t -> t.table() + " " + t.rangesDone() + "/" + t.ranges() + " ranges").toList());
        if (!r.complete()) {
            checkInterrupted();
            throw new Stop(Kind.INCOMPLETE, "the backfill is incomplete (" + String.join("; ", r.failures())
                    + "): run tsmigrate migrate again to retry the failed ranges");
        }
        return summary;
    }

    /** Runbook 6e: every compression policy paused for the backfill must be running again. */
    private String compression(Steps steps) throws SQLException {
        List<PausedJobs.PausedJob> jobs;
        try (Connection t = PgConnector.open(target)) {
            jobs = PausedJobs.all(t);
        }
        String names = String.join(", ", jobs.stream().map(j -> j.jobId() + " on " + j.hypertable()).toList());
        long still = jobs.stream().filter(j -> j.resumedAt().isEmpty()).count();
        if (still > 0) {
            throw new TsmigrateException(Kind.FAILED, still + " compression policies paused for the backfill were not "
                    + "resumed (" + names + "); run tsmigrate backfill to resume them");
        }
        return jobs.isEmpty() ? "no compression policy was paused (none is set up on this target)"
                : jobs.size() + " compression policy job(s) paused during the backfill are running again (" + names + ")";
    }

    /** Foreign keys the backfill did not check row by row, deferred ones validated, materialized views refreshed. */
    private String constraints(Steps steps) {
        Constraints.ConstraintsResult r = Constraints.run(target, line -> listener.line("constraints: " + line));
        if (!r.passed()) {
            throw new Stop(Kind.MISMATCH, String.join("; ", r.failures()) + "; then run tsmigrate migrate again");
        }
        long checked = r.outcomes().stream().filter(o -> !o.kind().equals("refresh")).count();
        long refreshed = r.outcomes().size() - checked;
        return checked + " constraint(s) hold, " + refreshed + " materialized view(s) refreshed";
    }

    /**
     * The exact check. Under live dual-writes a plain table can differ for the moment a write has
     * reached one side only, so a difference is checked again after a pause before it counts.
     */
    private String verify(Steps steps) {
        for (int attempt = 1; ; attempt++) {
            boolean last = attempt >= options.verifyAttempts();
            boolean repair = last && options.repair();
            // Past T too, up to where dual-writes have surely arrived: a write that reached one side only counts.
            Instant settled = options.clock().instant().minus(options.maxLateness()).minus(options.clockSkew());
            VerifyResult r = Verifier.run(source, target, new VerifyOptions(false, repair, List.of(), Optional.empty(),
                    Optional.empty(), options.workers(), Optional.empty(), 20, options.clock(), Optional.of(settled)),
                    line -> listener.line("verify: " + line));
            verification = r;
            if (r.match()) {
                long repaired = r.tables().stream().filter(v -> v.verdict() == VerifyResult.Verdict.REPAIRED).count();
                return "equal: " + r.tables().size() + " table(s), " + Human.count(r.tables().stream()
                        .mapToLong(VerifyResult.TableVerdict::sourceRows).sum()) + " rows compared"
                        + (repaired > 0 ? ", " + repaired + " repaired" : "") + (attempt > 1 ? " (after " + attempt + " checks)" : "");
            }
            if (last) {
                throw new Stop(Kind.MISMATCH, r.differenceCount() + " row(s) differ (see the verification report): "
                        + (options.repair() ? "the repair did not fix them; look at the differences, fix the cause, then "
                        + "run tsmigrate migrate again" : "run tsmigrate migrate --repair (or tsmigrate verify --repair)"));
            }
            listener.line("verify: " + r.differenceCount() + " row(s) differ; checking again in a moment "
                    + "(a write may have reached one side only)");
            sleep(Duration.ofSeconds(2));
        }
    }

    private String compareLoad(Steps steps) throws SQLException {
        try (Connection t = PgConnector.open(target)) {
            load = LoadComparison.read(t, options.maxSlowdown(), 20);
        }
        if (load.shapes().isEmpty()) {
            return "no shadow reads recorded (give the dual-write DataSource a shadowReadShare to compare read load)";
        }
        if (!load.passed()) {
            throw new Stop(Kind.MISMATCH, "the target does not answer like the source yet (" + String.join("; ", load.problems())
                    + "): run tsmigrate compare-load for the details");
        }
        long calls = load.shapes().stream().mapToLong(LoadComparison.Shape::calls).sum();
        return load.shapes().size() + " query shape(s), " + Human.count(calls) + " shadow reads, no real mismatch, "
                + "no shape slower than " + options.maxSlowdown() + "x";
    }

    private String cutover(Steps steps) {
        try {
            cutover = Cutover.run(source, target, new Cutover.Options(false, false, Duration.ofHours(24),
                    Optional.of(options.advanceSequences()), Duration.ofSeconds(15), options.clock()));
        } catch (Cutover.CheckFailed e) {
            throw new Stop(Kind.NOT_READY, e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new Stop(Kind.INTERRUPTED, "interrupted during cutover: run tsmigrate status to see the primary");
        }
        return "the target is the primary; " + (cutover.writers().isEmpty() ? "no writer registered"
                : String.join(", ", cutover.writers()));
    }

    private String primary() {
        try (Connection t = PgConnector.open(target)) {
            return StateSchema.primary(t);
        } catch (SQLException | TsmigrateException e) {
            return "unknown";
        }
    }

    private void sleep(Duration d) {
        checkInterrupted();
        try {
            Thread.sleep(d.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new Stop(Kind.INTERRUPTED, "interrupted: run tsmigrate migrate again to continue where it stopped");
        }
        checkInterrupted();
    }
}
