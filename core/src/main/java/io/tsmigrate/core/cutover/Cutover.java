package io.tsmigrate.core.cutover;

import io.tsmigrate.core.TsmigrateException;
import io.tsmigrate.core.backfill.Backfill;
import io.tsmigrate.core.TsmigrateException.Kind;
import io.tsmigrate.core.completion.CompletionPoint;
import io.tsmigrate.core.completion.CompletionPointResult;
import io.tsmigrate.core.connect.ConnectionSpec;
import io.tsmigrate.core.connect.PgConnector;
import io.tsmigrate.core.connect.PgErrors;
import io.tsmigrate.core.plan.Plan;
import io.tsmigrate.core.state.PlanStore;
import io.tsmigrate.core.state.StateSchema;
import io.tsmigrate.core.state.VerificationRuns;
import io.tsmigrate.core.state.Writers;
import io.tsmigrate.core.state.Steps;
import io.tsmigrate.core.verify.Sequences;
import io.tsmigrate.core.verify.VerifyResult;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Runbook step 9: checks that the target may become the primary (backfill complete, an exact
 * verification that passed recently, no journal owed to the target, target sequences not behind),
 * then sets {@code primary = target} in the state; every running dual-write DataSource follows
 * within its check interval. {@code --rollback} sets the source back. Reversible at any time.
 */
public final class Cutover {

    /** One check before the switch. */
    public record Check(String name, boolean passed, String message) {
    }

    /** How to switch. */
    public record Options(boolean rollback, boolean dryRun, Duration maxVerifyAge, Optional<Long> advanceSequences,
                          Duration waitForWriters, java.time.Clock clock) {
    }

    /** What happened: the checks, the primary now, and which writers follow it. */
    public record Result(boolean switched, String primary, List<Check> checks, List<String> writers) {
    }

    private Cutover() {
    }

    /**
     * @throws TsmigrateException NOT_READY when a check fails (the result's checks say which); nothing changes then
     */
    public static Result run(ConnectionSpec sourceSpec, ConnectionSpec targetSpec, Options options) throws InterruptedException {
        try (Connection source = PgConnector.open(sourceSpec); Connection target = PgConnector.open(targetSpec)) {
            Plan plan = PlanStore.load(target).orElseThrow(() -> new TsmigrateException(Kind.NOT_READY,
                    "the target has no migration plan in its state; there is nothing to cut over."));
            StateSchema.ensure(target);
            String wanted = options.rollback() ? "source" : "target";
            List<Check> checks = new ArrayList<>();
            if (!options.rollback()) {
                checks.add(backfill(target, plan));
                checks.add(verification(target, options));
                checks.add(journals(target));
                checks.add(sequences(source, target, options));
            }
            List<String> failed = checks.stream().filter(c -> !c.passed()).map(Check::message).toList();
            if (options.dryRun()) {
                return new Result(false, StateSchema.primary(target), List.copyOf(checks), writers(target));
            }
            if (!failed.isEmpty()) {
                throw new CheckFailed(checks, "cannot cut over: " + String.join("; ", failed) + ".");
            }
            if (!options.rollback() && options.advanceSequences().isPresent()) {
                advanceSequences(source, target, options.advanceSequences().get());
            }
            StateSchema.setPrimary(target, wanted);
            new Steps(target).event("cutover", "info", "primary set to the " + wanted, null);
            long deadline = System.nanoTime() + options.waitForWriters().toNanos();
            while (System.nanoTime() < deadline && !Writers.allFollow(target, wanted)) {
                Thread.sleep(250);
            }
            return new Result(true, wanted, List.copyOf(checks), writers(target));
        } catch (SQLException e) {
            throw PgErrors.failure("cut over", targetSpec, e);
        }
    }

    /** Checks failed: the message names them; the checks are kept for the report. */
    public static final class CheckFailed extends TsmigrateException {
        private final transient List<Check> checks;

        CheckFailed(List<Check> checks, String message) {
            super(Kind.NOT_READY, message);
            this.checks = List.copyOf(checks);
        }

        public List<Check> checks() {
            return checks;
        }
    }

    private static Check backfill(Connection target, Plan plan) throws SQLException {
        List<String> missing = Backfill.incomplete(target, plan);
        return missing.isEmpty() ? new Check("backfill", true, "every hypertable is backfilled up to T")
                : new Check("backfill", false, "the backfill is not complete for " + String.join(", ", missing) + ": run tsmigrate backfill");
    }

    /**
     * The last exact run must have found nothing, whatever it checked; and the last one that
     * checked every table over its whole span (no --table, --from, --until) must have passed recently.
     */
    private static Check verification(Connection target, Options options) throws SQLException {
        Optional<VerificationRuns.Run> differs = VerificationRuns.differsSinceLastWholeMatch(target);
        if (differs.isPresent()) {
            Instant found = differs.get().finishedAt().orElseThrow();
            Optional<VerificationRuns.Run> later = VerificationRuns.lastExact(target)
                    .filter(r -> r.finishedAt().orElseThrow().isAfter(found) && r.verdict().filter("match"::equals).isPresent());
            if (later.isPresent()) {
                // A check of part of the data (a --table run, maybe with --repair) passed since: what is missing is a whole one.
                return new Check("verification", false, "a verification (" + found + ") found differences, and a later check of "
                        + "part of the data (" + later.get().finishedAt().orElseThrow() + ") matched: run tsmigrate verify, of every "
                        + "table, to confirm the whole");
            }
            return new Check("verification", false, "the last verification (" + found + ") found differences: run tsmigrate verify "
                    + "--repair");
        }
        Optional<VerificationRuns.Run> last = VerificationRuns.lastWholeExact(target);
        if (last.isEmpty()) {
            return new Check("verification", false, "no exact verification of every table has run (a run with --table, "
                    + "--from or --until does not count): run tsmigrate verify");
        }
        Instant at = last.get().finishedAt().orElseThrow();
        Duration age = Duration.between(at, options.clock().instant());
        if (!last.get().verdict().filter("match"::equals).isPresent()) {
            return new Check("verification", false, "the last verification (" + at + ") found differences: run "
                    + "tsmigrate verify --repair");
        }
        if (age.compareTo(options.maxVerifyAge()) > 0) {
            return new Check("verification", false, "the last verification that passed is from " + at + ", older than "
                    + "--max-verify-age: run tsmigrate verify again");
        }
        return new Check("verification", true, "verified equal at " + at);
    }

    private static Check journals(Connection target) throws SQLException {
        List<String> owing = new ArrayList<>();
        for (CompletionPointResult.WriterSeen w : CompletionPoint.writers(target)) {
            if (w.journalPending() > 0) {
                owing.add(w.name());
            }
        }
        return owing.isEmpty() ? new Check("journals", true, "no writer has journal entries pending")
                : new Check("journals", false, "writers with journal entries not yet replayed: " + String.join(", ", owing)
                + " (they replay by themselves once the target is reachable, or run tsmigrate replay)");
    }

    private static Check sequences(Connection source, Connection target, Options options) throws SQLException {
        List<VerifyResult.SequenceVerdict> behind = Sequences.compare(source, target).stream()
                .filter(VerifyResult.SequenceVerdict::behind).toList();
        if (behind.isEmpty()) {
            return new Check("sequences", true, "no target sequence is behind the source");
        }
        if (options.advanceSequences().isPresent()) {
            // Only said here: the sequences move once every check has passed (a refusal changes nothing).
            return new Check("sequences", true, (options.dryRun() ? "would advance " : "advances ") + behind.size()
                    + " target sequence(s) to the source's value + " + options.advanceSequences().get());
        }
        return new Check("sequences", false, behind.size() + " target sequence(s) are behind the source ("
                + String.join(", ", behind.stream().map(s -> s.sequence() + " " + s.target() + " < " + s.source()).toList())
                + "): pass --advance-sequences N to move them past the source's value by N");
    }


    /** Moves the target sequences that are behind the source past its value by the margin asked for. */
    private static void advanceSequences(Connection source, Connection target, long margin) throws SQLException {
        for (VerifyResult.SequenceVerdict s : Sequences.compare(source, target)) {
            if (s.behind()) {
                try (PreparedStatement ps = target.prepareStatement("SELECT setval(?::regclass, ?)")) {
                    ps.setString(1, s.sequence().quoted());
                    ps.setLong(2, s.source() + margin);
                    ps.execute();
                }
            }
        }
    }

    private static List<String> writers(Connection target) throws SQLException {
        List<String> out = new ArrayList<>();
        for (Writers.Writer w : Writers.all(target)) {
            out.add(w.name() + ": primary " + w.primarySide() + ", last seen " + w.lastSeen()
                    + w.switchedAt().map(t -> ", switched " + t).orElse(""));
        }
        return out;
    }
}
