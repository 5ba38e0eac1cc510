package io.tsmigrate.core.migrate;

import io.tsmigrate.core.state.BackfillRanges;
import io.tsmigrate.core.state.CompletionPoints;
import io.tsmigrate.core.state.PausedJobs;
import io.tsmigrate.core.state.PlanStore;
import io.tsmigrate.core.state.ComputedWriteRecords;
import io.tsmigrate.core.state.ShadowReadRecords;
import io.tsmigrate.core.state.StateSchema;
import io.tsmigrate.core.state.Steps;
import io.tsmigrate.core.state.ThrottleRecords;
import io.tsmigrate.core.state.VerificationRuns;
import io.tsmigrate.core.state.Writers;
import io.tsmigrate.core.time.TimePoint;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Where a migration stands, read from the target's {@code tsmigrate} state alone, so that it can be
 * asked from any machine while any number of processes work: the phase, the steps, backfill
 * progress per table with rate and ETA, the writers and whether each follows the primary, the
 * completion points, verification verdicts, paused policies and shadow reads.
 */
public final class MigrationStatus {

    /** Everything {@code tsmigrate status} shows. {@code phase} is one line derived from the facts below. */
    public record Report(Instant at, boolean started, String phase, String primary, List<StepRow> steps, List<TableProgress> tables,
                         List<Writer> writers, List<CompletionPointRow> completionPoints, List<VerificationRun> verifications,
                         List<PausedJobs.PausedJob> pausedJobs, ShadowReads shadowReads, List<Throttle> throttles,
                         List<ComputedWriteRecords.ComputedWrite> computedWrites) {
    }

    /**
     * One backfill process's throttle on the source's load, as it last checked (its rate in rows or
     * in bytes per second, both empty for no limit); {@code stale} when it has not checked for a while
     * (the process is gone).
     */
    public record Throttle(String process, boolean paused, Optional<Double> rowsPerSecond, Optional<Double> bytesPerSecond,
                           String reason, Instant checkedAt, boolean stale) {
    }

    public record StepRow(String name, String status, Instant startedAt, Optional<Instant> finishedAt, Optional<String> message) {
    }

    /**
     * Backfill progress of one hypertable: rows of committed ranges, and the source's estimate for
     * the ranges not done; {@code rowsPerSecond} is measured over the ranges finished in the last minutes.
     *
     * @param stalledSince ranges are left but no backfill worker has been heard from (it beats every few
     *                     seconds while it works) since then: nobody is running the backfill
     */
    public record TableProgress(String table, TimePoint until, int ranges, int rangesDone, int rangesFailed, long rowsDone,
                                long rowsLeftEstimate, double rowsPerSecond, Optional<Duration> eta,
                                Optional<String> lastError, Optional<Instant> stalledSince) {
    }

    /**
     * A registered writer; {@code silent} when it has not been heard from for {@link #SILENT_AFTER}
     * (three of the library's default health checks and then some): stopped, or unable to reach the
     * target, and then it follows no cutover.
     */
    public record Writer(String name, String application, String host, Instant startedAt, Instant lastSeen, long journalPending,
                         String primarySide, boolean followsPrimary, boolean silent, Optional<Instant> stoppedAt,
                         Optional<String> journalDir) {
    }

    /** How long a writer may go unheard before status flags it. */
    public static final java.time.Duration SILENT_AFTER = java.time.Duration.ofSeconds(30);

    public record CompletionPointRow(String timeType, TimePoint value, Instant setAt) {
    }

    /** A verification run; its summary is the run's own JSON document (a JSON value, not a string of JSON). */
    public record VerificationRun(long id, String mode, Instant startedAt, Optional<Instant> finishedAt, Optional<String> verdict,
                                  Optional<com.fasterxml.jackson.databind.JsonNode> summary) {
    }

    public record ShadowReads(long shapes, long calls, long mismatches, long expectedMismatches, long dropped) {
    }

    private static com.fasterxml.jackson.databind.JsonNode tree(String json) {
        try {
            return io.tsmigrate.core.json.Json.mapper().readTree(json);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            return com.fasterxml.jackson.databind.node.TextNode.valueOf(json);
        }
    }

    /** The window over which the backfill's rate is measured. */
    private static final Duration RATE_WINDOW = Duration.ofMinutes(2);

    /** A backfill worker beats at every range and every few seconds during one: silence this long means none runs. */
    static final Duration WORKER_SILENCE = Duration.ofSeconds(30);

    private MigrationStatus() {
    }

    public static Report read(Connection target) throws SQLException {
        Instant now = now(target);
        if (!StateSchema.exists(target)) {
            return new Report(now, false, "not started: the target holds no tsmigrate state (run tsmigrate migrate, or "
                    + "tsmigrate schema)", "source", List.of(), List.of(), List.of(), List.of(), List.of(), List.of(),
                    new ShadowReads(0, 0, 0, 0, 0), List.of(), List.of());
        }
        String primary = StateSchema.primary(target);
        List<StepRow> steps = new Steps(target).all().stream()
                .map(s -> new StepRow(s.name(), s.status(), s.startedAt(), s.finishedAt(), s.message())).toList();
        List<TableProgress> tables = tables(target, now);
        List<Writer> writers = Writers.all(target).stream().map(w -> new Writer(w.name(), w.application(), w.host(), w.startedAt(),
                w.lastSeen(), w.journalPending(), w.primarySide(), primary.equals(w.primarySide()),
                w.lastSeen().plus(SILENT_AFTER).isBefore(now), w.stoppedAt(), w.journalDir())).toList();
        List<CompletionPointRow> points = CompletionPoints.stored(target).stream()
                .map(p -> new CompletionPointRow(p.value().type().label(), p.value(), p.setAt())).toList();
        List<VerificationRun> runs = VerificationRuns.recent(target, 5).stream()
                .map(r -> new VerificationRun(r.id(), r.mode(), r.startedAt(), r.finishedAt(), r.verdict(),
                        r.summary().map(MigrationStatus::tree))).toList();
        List<PausedJobs.PausedJob> jobs = PausedJobs.all(target);
        List<ShadowReadRecords.Shape> shapes = ShadowReadRecords.all(target);
        ShadowReads shadow = new ShadowReads(shapes.stream().map(ShadowReadRecords.Shape::shape).distinct().count(),
                shapes.stream().mapToLong(ShadowReadRecords.Shape::calls).sum(),
                shapes.stream().mapToLong(ShadowReadRecords.Shape::mismatches).sum(),
                shapes.stream().mapToLong(ShadowReadRecords.Shape::expectedMismatches).sum(),
                shapes.stream().mapToLong(ShadowReadRecords.Shape::dropped).sum());
        String phase = phase(target, primary, steps, tables, writers, points, runs);
        List<Throttle> throttles = ThrottleRecords.all(target).stream().map(t -> new Throttle(t.process(), t.paused(),
                t.rowsPerSecond(), t.bytesPerSecond(), t.reason(), t.updatedAt(), t.updatedAt().isBefore(now.minus(WORKER_SILENCE)))).toList();
        return new Report(now, true, phase, primary, steps, tables, writers, points, runs, jobs, shadow, throttles,
                ComputedWriteRecords.all(target));
    }

    private static String phase(Connection target, String primary, List<StepRow> steps, List<TableProgress> tables,
                                List<Writer> writers, List<CompletionPointRow> points, List<VerificationRun> runs) throws SQLException {
        boolean backfillComplete = !tables.isEmpty() && tables.stream().allMatch(t -> t.rangesDone() == t.ranges());
        Optional<VerificationRun> lastExact = runs.stream().filter(r -> r.mode().equals("exact") && r.finishedAt().isPresent()).findFirst();
        if (primary.equals("target")) {
            long following = writers.stream().filter(Writer::followsPrimary).count();
            return "cut over: the target is the primary (" + following + " of " + writers.size() + " writer(s) follow it)";
        }
        if (backfillComplete && lastExact.flatMap(VerificationRun::verdict).filter("match"::equals).isPresent()) {
            return "verified: ready for cutover (tsmigrate cutover)";
        }
        if (backfillComplete && lastExact.isPresent()) {
            return "verify found differences: tsmigrate verify --repair";
        }
        if (backfillComplete) {
            return "backfill complete: verify next";
        }
        if (!tables.isEmpty()) {
            int done = tables.stream().mapToInt(TableProgress::rangesDone).sum();
            int all = tables.stream().mapToInt(TableProgress::ranges).sum();
            int failed = tables.stream().mapToInt(TableProgress::rangesFailed).sum();
            return "backfill: " + done + " of " + all + " ranges done" + (failed > 0 ? ", " + failed + " failed" : "");
        }
        if (!points.isEmpty()) {
            return "completion point set: backfill next";
        }
        if (!writers.isEmpty()) {
            return "dual-writing: the completion point is next";
        }
        boolean dumped = steps.stream().anyMatch(s -> s.name().equals("schema.dump") && s.status().equals("done"));
        if (dumped) {
            return "schema moved: start the application in dual-write mode";
        }
        boolean planned = PlanStore.exists(target);
        return planned || !steps.isEmpty() ? "schema: in progress" : "started: nothing moved yet";
    }

    private static List<TableProgress> tables(Connection target, Instant now) throws SQLException {
        List<TableProgress> out = new ArrayList<>();
        for (BackfillRanges.Progress p : BackfillRanges.progress(target, now.minus(RATE_WINDOW))) {
            double seconds = p.recentStart().map(start -> Math.max(1, Duration.between(start, now).toMillis() / 1000.0)).orElse(0.0);
            double rate = seconds == 0 ? 0 : p.recentRows() / seconds;
            Optional<Instant> lastHeard = java.util.stream.Stream.of(p.lastHeartbeat(), p.lastFinished())
                    .flatMap(Optional::stream).max(Instant::compareTo);
            boolean left = p.done() < p.ranges();
            Optional<Instant> stalled = left && lastHeard.map(h -> h.isBefore(now.minus(WORKER_SILENCE))).orElse(true)
                    ? Optional.of(lastHeard.orElse(now)) : Optional.empty();
            if (stalled.isPresent()) {
                rate = 0; // the rows of the last window were copied by a worker that is gone
            }
            Optional<Duration> eta = !left ? Optional.of(Duration.ZERO)
                    : rate > 0 ? Optional.of(Duration.ofSeconds((long) Math.ceil(p.rowsLeft() / rate))) : Optional.empty();
            out.add(new TableProgress(p.table(), p.until(), p.ranges(), p.done(), p.failed(), p.rowsDone(), p.rowsLeft(),
                    rate, eta, p.lastError(), stalled));
        }
        return out;
    }

    private static Instant now(Connection target) throws SQLException {
        try (Statement st = target.createStatement(); ResultSet rs = st.executeQuery("SELECT now()")) {
            rs.next();
            return rs.getTimestamp(1).toInstant();
        }
    }
}
