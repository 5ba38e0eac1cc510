package io.tsmigrate.core.migrate;

import io.tsmigrate.core.state.PausedJobs;
import io.tsmigrate.core.state.StateSchema;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Timestamp;
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
                         List<PausedJobs.PausedJob> pausedJobs, ShadowReads shadowReads) {
    }

    public record StepRow(String name, String status, Instant startedAt, Optional<Instant> finishedAt, Optional<String> message) {
    }

    /**
     * Backfill progress of one hypertable: rows of committed ranges, and the source's estimate for
     * the ranges not done; {@code rowsPerSecond} is measured over the ranges finished in the last minutes.
     */
    /**
     * One hypertable's backfill.
     *
     * @param stalledSince ranges are left but no backfill worker has been heard from (it beats every few
     *                     seconds while it works) since then: nobody is running the backfill
     */
    public record TableProgress(String table, String until, int ranges, int rangesDone, int rangesFailed, long rowsDone,
                                long rowsLeftEstimate, double rowsPerSecond, Optional<Duration> eta,
                                Optional<String> lastError, Optional<Instant> stalledSince) {
    }

    public record Writer(String name, String application, String host, Instant startedAt, Instant lastSeen, long journalPending,
                         String primarySide, boolean followsPrimary) {
    }

    public record CompletionPointRow(String timeType, String value, Instant setAt) {
    }

    public record VerificationRun(long id, String mode, Instant startedAt, Optional<Instant> finishedAt, Optional<String> verdict,
                                  Optional<String> summary) {
    }

    public record ShadowReads(long shapes, long calls, long mismatches, long expectedMismatches, long dropped) {
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
                    new ShadowReads(0, 0, 0, 0, 0));
        }
        String primary = StateSchema.primary(target);
        List<StepRow> steps = steps(target);
        List<TableProgress> tables = tables(target, now);
        List<Writer> writers = writers(target, primary);
        List<CompletionPointRow> points = new ArrayList<>();
        try (Statement st = target.createStatement();
             ResultSet rs = st.executeQuery("SELECT time_type, value, set_at FROM tsmigrate.completion_point ORDER BY time_type")) {
            while (rs.next()) {
                points.add(new CompletionPointRow(rs.getString(1), rs.getString(2), rs.getTimestamp(3).toInstant()));
            }
        }
        List<VerificationRun> runs = new ArrayList<>();
        try (Statement st = target.createStatement();
             ResultSet rs = st.executeQuery("SELECT id, mode, started_at, finished_at, verdict, summary::text "
                     + "FROM tsmigrate.verification_run ORDER BY id DESC LIMIT 5")) {
            while (rs.next()) {
                runs.add(new VerificationRun(rs.getLong(1), rs.getString(2), rs.getTimestamp(3).toInstant(), instant(rs.getTimestamp(4)),
                        Optional.ofNullable(rs.getString(5)), Optional.ofNullable(rs.getString(6))));
            }
        }
        List<PausedJobs.PausedJob> jobs = PausedJobs.all(target);
        ShadowReads shadow = new ShadowReads(0, 0, 0, 0, 0);
        try (Statement st = target.createStatement();
             ResultSet rs = st.executeQuery("SELECT count(DISTINCT shape), coalesce(sum(calls), 0), coalesce(sum(mismatches), 0), "
                     + "coalesce(sum(expected_mismatches), 0), coalesce(sum(dropped), 0) FROM tsmigrate.shadow_read")) {
            rs.next();
            shadow = new ShadowReads(rs.getLong(1), rs.getLong(2), rs.getLong(3), rs.getLong(4), rs.getLong(5));
        }
        String phase = phase(target, primary, steps, tables, writers, points, runs);
        return new Report(now, true, phase, primary, steps, tables, writers, points, runs, jobs, shadow);
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
        boolean planned = single(target, "SELECT 1 FROM tsmigrate.plan").isPresent();
        return planned || !steps.isEmpty() ? "schema: in progress" : "started: nothing moved yet";
    }

    private static List<StepRow> steps(Connection target) throws SQLException {
        List<StepRow> out = new ArrayList<>();
        try (Statement st = target.createStatement();
             ResultSet rs = st.executeQuery("SELECT name, status, started_at, finished_at, message FROM tsmigrate.step ORDER BY started_at, name")) {
            while (rs.next()) {
                out.add(new StepRow(rs.getString(1), rs.getString(2), rs.getTimestamp(3).toInstant(), instant(rs.getTimestamp(4)),
                        Optional.ofNullable(rs.getString(5))));
            }
        }
        return out;
    }

    private static List<TableProgress> tables(Connection target, Instant now) throws SQLException {
        List<TableProgress> out = new ArrayList<>();
        String sql = "SELECT t.table_name, t.range_until, count(r.id), count(r.id) FILTER (WHERE r.state = 'done'), "
                + "count(r.id) FILTER (WHERE r.state = 'failed'), coalesce(sum(r.rows) FILTER (WHERE r.state = 'done'), 0), "
                + "coalesce(sum(r.estimated_rows) FILTER (WHERE r.state <> 'done'), 0), "
                + "coalesce(sum(r.rows) FILTER (WHERE r.state = 'done' AND r.finished_at > ?), 0), "
                + "min(r.started_at) FILTER (WHERE r.state = 'done' AND r.finished_at > ?), "
                + "(SELECT r2.error FROM tsmigrate.backfill_range r2 WHERE r2.table_name = t.table_name AND r2.error IS NOT NULL "
                + "AND r2.state <> 'done' ORDER BY r2.finished_at DESC NULLS LAST LIMIT 1), "
                + "(SELECT max(w.heartbeat) FROM tsmigrate.backfill_worker w WHERE w.table_name = t.table_name), "
                + "max(r.finished_at) "
                + "FROM tsmigrate.backfill_table t LEFT JOIN tsmigrate.backfill_range r ON r.table_name = t.table_name "
                + "GROUP BY t.table_name, t.range_until ORDER BY t.table_name";
        Timestamp windowStart = Timestamp.from(now.minus(RATE_WINDOW));
        try (var ps = target.prepareStatement(sql)) {
            ps.setTimestamp(1, windowStart);
            ps.setTimestamp(2, windowStart);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    int ranges = rs.getInt(3);
                    int done = rs.getInt(4);
                    long recentRows = rs.getLong(8);
                    Timestamp recentStart = rs.getTimestamp(9);
                    double seconds = recentStart == null ? 0 : Math.max(1, Duration.between(recentStart.toInstant(), now).toMillis() / 1000.0);
                    double rate = seconds == 0 ? 0 : recentRows / seconds;
                    long left = rs.getLong(7);
                    Optional<Instant> lastHeard = java.util.stream.Stream.of(instant(rs.getTimestamp(11)), instant(rs.getTimestamp(12)))
                            .flatMap(Optional::stream).max(Instant::compareTo);
                    Optional<Instant> stalled = done < ranges && lastHeard.map(h -> h.isBefore(now.minus(WORKER_SILENCE))).orElse(true)
                            ? Optional.of(lastHeard.orElse(now)) : Optional.empty();
                    if (stalled.isPresent()) {
                        rate = 0; // the rows of the last window were copied by a worker that is gone
                    }
                    Optional<Duration> eta = done == ranges ? Optional.of(Duration.ZERO)
                            : rate > 0 ? Optional.of(Duration.ofSeconds((long) Math.ceil(left / rate))) : Optional.empty();
                    out.add(new TableProgress(rs.getString(1), rs.getString(2), ranges, done, rs.getInt(5), rs.getLong(6), left,
                            rate, eta, Optional.ofNullable(rs.getString(10)), stalled));
                }
            }
        }
        return out;
    }

    private static List<Writer> writers(Connection target, String primary) throws SQLException {
        List<Writer> out = new ArrayList<>();
        if (single(target, "SELECT to_regclass('tsmigrate.writer')::text").isEmpty()) {
            return out;
        }
        try (Statement st = target.createStatement();
             ResultSet rs = st.executeQuery("SELECT name, application, host, started_at, last_seen, journal_pending, primary_side "
                     + "FROM tsmigrate.writer ORDER BY started_at, name")) {
            while (rs.next()) {
                out.add(new Writer(rs.getString(1), rs.getString(2), rs.getString(3), rs.getTimestamp(4).toInstant(),
                        rs.getTimestamp(5).toInstant(), rs.getLong(6), rs.getString(7), primary.equals(rs.getString(7))));
            }
        }
        return out;
    }

    private static Optional<String> single(Connection target, String sql) throws SQLException {
        try (Statement st = target.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            return rs.next() ? Optional.ofNullable(rs.getString(1)) : Optional.empty();
        }
    }

    private static Instant now(Connection target) throws SQLException {
        try (Statement st = target.createStatement(); ResultSet rs = st.executeQuery("SELECT now()")) {
            rs.next();
            return rs.getTimestamp(1).toInstant();
        }
    }

    private static Optional<Instant> instant(Timestamp t) {
        return Optional.ofNullable(t).map(Timestamp::toInstant);
    }
}
