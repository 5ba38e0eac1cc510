package io.tsmigrate.cli;

import io.tsmigrate.core.backfill.MaxRate;
import io.tsmigrate.core.connect.ConnectionSpec;
import io.tsmigrate.core.connect.PgConnector;
import io.tsmigrate.core.connect.PgErrors;
import io.tsmigrate.core.json.Json;
import io.tsmigrate.core.state.PaceRecords;
import io.tsmigrate.core.throttle.LoadLimits;
import io.tsmigrate.core.throttle.Throttle;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.net.InetAddress;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;

/** {@code tsmigrate throttle}: changes the pace of every running backfill of the migration, from anywhere. */
@Command(name = "throttle", mixinStandardHelpOptions = true, usageHelpAutoWidth = true,
        description = {
            "Pauses, resumes, caps or re-limits every backfill (and exact verify) of the migration, on every machine, "
                + "while they run.",
            "",
            "The setting is kept in the migration's state on the target; each backfill process reads it at its throttle's "
                + "next check (about once a second) and follows: a pause takes effect between ranges (a range in progress "
                + "finishes; no snapshot is held while paused). Without an option, prints the setting. tsmigrate status shows "
                + "it with each process's throttle.",
            ""
        },
        footer = {"%nExit codes: 0 done, 2 bad input, 3 cannot connect."})
final class ThrottleCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Mixin
    StateTargetOption state;

    static final class Action {
        @Option(names = "--pause", description = "Pause every backfill between ranges until --resume.")
        boolean pause;

        @Option(names = "--resume", description = "Resume: the pace each process was started with (--max-rate, --max-load).")
        boolean resume;

        @ArgGroup(exclusive = false)
        Pace pace;
    }

    /** A new pace: a cap, limits on the source's load, or both. */
    static final class Pace {
        @Option(names = "--rate", paramLabel = "RATE", description = "Cap every backfill at this pace in all: rows per second "
                + "(50000) or bytes per second (20MB/s); it replaces their --max-rate until --resume. A verify paces rows: it "
                + "follows a rate in rows, and keeps its own pace under a byte rate.")
        String rate;

        @Option(names = "--max-load", paramLabel = "LIMITS", description = "Slow every run down while the source is past these "
                + "limits, as backfill --max-load (probe-latency=2x,active-sessions=20,replica-lag=30s); it replaces their "
                + "--max-load until --resume. Followed by the runs that watch the source's load (started with --max-load or "
                + "--critical-load); the others say that they cannot.")
        String maxLoad;
    }

    @ArgGroup(exclusive = true)
    Action action;

    @Mixin
    JsonOutput format;

    @Override
    public Integer call() {
        ConnectionSpec targetSpec = state.target();
        Optional<Pace> given = Optional.ofNullable(action).map(a -> a.pace);
        Optional<MaxRate> rate = given.map(p -> p.rate).map(r -> MaxRate.parse(r, "--rate"));
        Optional<String> maxLoad = given.map(p -> p.maxLoad).map(String::strip);
        maxLoad.ifPresent(m -> LoadLimits.parse("--max-load", m)); // a usage error before anything is written
        try (Connection t = PgConnector.open(targetSpec)) {
            if (action != null) {
                if (action.resume) {
                    PaceRecords.clear(t);
                } else {
                    PaceRecords.set(t, action.pause, rate.filter(r -> !r.bytes()).map(MaxRate::perSecond),
                            rate.filter(MaxRate::bytes).map(MaxRate::perSecond), maxLoad, System.getProperty("user.name") + "@" + host());
                }
            }
            Optional<PaceRecords.Pace> pace = PaceRecords.get(t);
            PrintWriter out = spec.commandLine().getOut();
            if (format.json) {
                Map<String, Object> doc = new LinkedHashMap<>();
                doc.put("paused", pace.map(PaceRecords.Pace::paused).orElse(false));
                doc.put("rows_per_second", pace.flatMap(PaceRecords.Pace::rowsPerSecond).orElse(null));
                doc.put("bytes_per_second", pace.flatMap(PaceRecords.Pace::bytesPerSecond).orElse(null));
                doc.put("max_load", pace.flatMap(PaceRecords.Pace::maxLoad).orElse(null));
                doc.put("set_by", pace.map(PaceRecords.Pace::setBy).orElse(null));
                doc.put("set_at", pace.map(PaceRecords.Pace::setAt).orElse(null));
                out.println(Json.output(doc));
            } else if (pace.isEmpty()) {
                out.println("pace: as each backfill was started (no tsmigrate throttle setting)");
            } else {
                PaceRecords.Pace p = pace.get();
                Optional<String> cap = p.bytesPerSecond().map(b -> Throttle.rate(b, true))
                        .or(() -> p.rowsPerSecond().map(r -> Throttle.rate(r, false))).map(r -> "at most " + r);
                Optional<String> limits = p.maxLoad().map(m -> "slowed while the source is past --max-load " + m);
                out.println("pace: " + (p.paused() ? "paused" : String.join(", ", java.util.stream.Stream.of(cap, limits)
                        .flatMap(Optional::stream).toList())) + " (set by " + p.setBy() + " at " + p.setAt()
                        + "); running backfills follow within a second or two");
            }
            return ExitCodes.OK;
        } catch (SQLException e) {
            throw PgErrors.failure("change the pace", targetSpec, e);
        }
    }

    private static String host() {
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (java.io.IOException e) {
            return "unknown";
        }
    }
}
