package io.tsmigrate.cli;

import io.tsmigrate.core.Human;
import io.tsmigrate.core.TsmigrateException;
import io.tsmigrate.core.connect.ConnectionSpec;
import io.tsmigrate.core.connect.PgConnector;
import io.tsmigrate.core.connect.PgErrors;
import io.tsmigrate.core.json.Json;
import io.tsmigrate.core.migrate.MigrationStatus;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.Locale;
import java.util.concurrent.Callable;

/** {@code tsmigrate status}: where the migration stands, from the target alone. */
@Command(name = "status", mixinStandardHelpOptions = true, usageHelpAutoWidth = true,
        description = {
            "Shows where the migration stands, from the target's migration state alone (so from any machine).",
            "",
            "The phase; the steps and their outcomes; per hypertable, backfill ranges done of all, rows, rate and "
                + "ETA; the dual-writing applications, when each was last seen and whether it follows the primary; "
                + "the completion points; verification verdicts; compression policies paused for the backfill; "
                + "shadow-read totals.",
            ""
        },
        footer = {"%nExit codes: 0 shown, 3 cannot connect, 2 bad input."})
final class StatusCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Mixin
    StateTargetOption state;

    @Option(names = "--watch", paramLabel = "INTERVAL", arity = "0..1", fallbackValue = "2s",
            description = "Refresh every INTERVAL (a duration such as 5s or 1m; default 2s) until interrupted. With --json, "
                    + "one document per line.")
    String watch;

    @Mixin
    JsonOutput format;

    @Override
    public Integer call() throws InterruptedException {
        ConnectionSpec spec = state.target();
        Duration interval = watch == null ? null : Human.parseDuration(watch, "--watch");
        if (interval != null && interval.compareTo(Duration.ofSeconds(1)) < 0) {
            throw TsmigrateException.usage("--watch " + watch + " is shorter than a second; give 1s or more.");
        }
        PrintWriter out = this.spec.commandLine().getOut();
        boolean clear = watch != null && !format.json && System.console() != null;
        while (true) {
            MigrationStatus.Report r;
            try (Connection t = PgConnector.open(spec)) {
                r = MigrationStatus.read(t);
            } catch (SQLException e) {
                throw PgErrors.failure("read the migration state", spec, e);
            }
            if (clear) {
                out.print("\033[H\033[2J");
            }
            if (format.json) {
                out.println(watch == null ? Json.output(r) : Json.outputLine(r));
            } else {
                if (watch != null) {
                    out.println("Updated:  " + r.at() + " (every " + Human.duration(interval) + "; Ctrl-C to stop)");
                }
                render(r, out);
            }
            out.flush();
            if (watch == null) {
                return ExitCodes.OK;
            }
            Thread.sleep(interval.toMillis());
        }
    }

    /** A verification's summary as words ({@code tables 3, differences 0}), not as its JSON. */
    private static String words(com.fasterxml.jackson.databind.JsonNode summary) {
        if (!summary.isObject()) {
            return summary.asText();
        }
        java.util.List<String> parts = new java.util.ArrayList<>();
        summary.fields().forEachRemaining(f -> {
            if (f.getValue().isValueNode() && !f.getValue().isNull()) {
                parts.add(f.getKey().replace('_', ' ') + " " + f.getValue().asText());
            }
        });
        return String.join(", ", parts);
    }

    /** Whether a writer runs, stopped cleanly, or went silent without closing (killed, or cut off from the target). */
    private static String writerState(MigrationStatus.Writer w) {
        if (w.stoppedAt().isPresent()) {
            return "stopped at " + w.stoppedAt().get().truncatedTo(java.time.temporal.ChronoUnit.SECONDS) + " (closed cleanly)";
        }
        if (w.silent()) {
            return "NOT HEARD FROM since then, and it did not close cleanly: killed, or it cannot reach the target (it follows "
                    + "no cutover)";
        }
        return w.followsPrimary() ? "follows the primary" : "still on the " + w.primarySide() + " (switching)";
    }

    static void render(MigrationStatus.Report r, PrintWriter out) {
        out.println("Phase:    " + r.phase());
        out.println("Primary:  the " + r.primary());
        if (!r.started()) {
            return;
        }
        if (!r.steps().isEmpty()) {
            out.println("Steps:");
            for (MigrationStatus.StepRow s : r.steps()) {
                Duration took = Duration.between(s.startedAt(), s.finishedAt().orElse(r.at()));
                out.printf(Locale.ROOT, "  %-26s %-8s %8s  %s%n", s.name(), s.status(), Human.duration(took),
                        s.message().orElse("")); // whole: the terminal wraps a long line, a cut one loses its end
            }
        }
        if (!r.tables().isEmpty()) {
            out.println("Backfill:");
            for (MigrationStatus.TableProgress t : r.tables()) {
                String pace = t.stalledSince().map(since -> "stalled since " + since.truncatedTo(java.time.temporal.ChronoUnit.SECONDS)
                        + ", no worker running: run tsmigrate backfill to resume").orElseGet(() -> Human.rate(t.rowsPerSecond())
                        + ", ETA " + t.eta().map(Human::duration).orElse("unknown"));
                out.printf(Locale.ROOT, "  %-26s %d/%d ranges%s, %s rows copied, about %s left, %s (T = %s)%n", t.table(),
                        t.rangesDone(), t.ranges(), t.rangesFailed() > 0 ? " (" + t.rangesFailed() + " failed)" : "",
                        Human.count(t.rowsDone()), Human.count(t.rowsLeftEstimate()), pace, t.until());
                t.lastError().ifPresent(e -> out.println("      last error: " + e));
            }
            for (MigrationStatus.Throttle t : r.throttles()) {
                out.printf(Locale.ROOT, "  throttle of %s: %s%s, checked %s ago%s%n", t.process(), t.paused() ? "PAUSED"
                        : t.bytesPerSecond().map(v -> io.tsmigrate.core.throttle.Throttle.rate(v, true)).or(() -> t.rowsPerSecond()
                        .map(v -> io.tsmigrate.core.throttle.Throttle.rate(v, false))).orElse("no limit"), t.paused() ? "" : " (" + t.reason() + ")",
                        Human.duration(Duration.between(t.checkedAt(), r.at()).abs()),
                        t.stale() ? " (no longer checking: that backfill process is gone)" : "");
                if (t.paused()) {
                    out.println("      " + t.reason());
                }
            }
        }
        out.println("Writers:" + (r.writers().isEmpty() ? " none registered" : ""));
        for (MigrationStatus.Writer w : r.writers()) {
            out.printf(Locale.ROOT, "  %-26s %s on %s, dual-writing since %s, last seen %s ago, %s%s%n", w.name(), w.application(),
                    w.host(), w.startedAt(), Human.duration(Duration.between(w.lastSeen(), r.at()).abs()),
                    writerState(w), w.journalPending() > 0 ? ", " + w.journalPending() + " journal entries pending" : "");
            boolean owing = w.stoppedAt().isPresent() ? w.journalPending() > 0 : w.silent();
            if (owing && w.journalDir().isPresent()) {
                out.println("      what it owes is in its journal " + w.journalDir().get() + " on " + w.host() + ": applied when it starts "
                        + "again there, or by tsmigrate replay --journal " + w.journalDir().get() + (w.stoppedAt().isPresent() ? ""
                        : " --source ... (a killed lossless writer's intents need the primary's word)"));
            }
        }
        if (!r.completionPoints().isEmpty()) {
            out.println("Completion points:");
            r.completionPoints().forEach(c -> out.printf(Locale.ROOT, "  %-26s T = %s (set %s)%n", c.timeType(), c.value(), c.setAt()));
        }
        if (!r.verifications().isEmpty()) {
            out.println("Verifications (newest first):");
            for (MigrationStatus.VerificationRun v : r.verifications()) {
                out.printf(Locale.ROOT, "  #%-4d %-8s %-9s %s %s%n", v.id(), v.mode(), v.verdict().orElse("running"),
                        v.finishedAt().map(Instant::toString).orElse("started " + v.startedAt()), v.summary().map(StatusCommand::words)
                                .orElse(""));
            }
        }
        if (!r.pausedJobs().isEmpty()) {
            out.println("Compression policies paused for the backfill:");
            r.pausedJobs().forEach(j -> out.printf(Locale.ROOT, "  job %-6d %-26s paused %s, %s%n", j.jobId(), j.hypertable(),
                    j.pausedAt(), j.resumedAt().map(t -> "resumed " + t).orElse("still paused")));
        }
        MigrationStatus.ShadowReads s = r.shadowReads();
        if (s.calls() > 0) {
            out.printf(Locale.ROOT, "Shadow reads: %d shape(s), %s calls, %s mismatches (%s expected before the backfill), %s dropped%n",
                    s.shapes(), Human.count(s.calls()), Human.count(s.mismatches()), Human.count(s.expectedMismatches()),
                    Human.count(s.dropped()));
        }
        ComputedWritesText.print(out, r.computedWrites());
    }
}
