package io.tsmigrate.cli;

import io.tsmigrate.core.backfill.MaxRate;
import io.tsmigrate.core.connect.ConnectionSpec;
import io.tsmigrate.core.connect.PgConnector;
import io.tsmigrate.core.connect.PgErrors;
import io.tsmigrate.core.json.Json;
import io.tsmigrate.core.state.PaceRecords;
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
            "Pauses, resumes or caps every backfill of the migration, on every machine, while they run.",
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

        @Option(names = "--rate", paramLabel = "RATE", description = "Cap every backfill at this pace in all: rows per second "
                + "(50000) or bytes per second (20MB/s); it replaces their --max-rate until --resume. A verify paces rows: it "
                + "follows a rate in rows, and keeps its own pace under a byte rate.")
        String rate;
    }

    @ArgGroup(exclusive = true)
    Action action;

    @Mixin
    JsonOutput format;

    @Override
    public Integer call() {
        ConnectionSpec targetSpec = state.target();
        Optional<MaxRate> rate = action != null && action.rate != null ? Optional.of(MaxRate.parse(action.rate)) : Optional.empty();
        try (Connection t = PgConnector.open(targetSpec)) {
            if (action != null) {
                if (action.resume) {
                    PaceRecords.clear(t);
                } else {
                    PaceRecords.set(t, action.pause, rate.filter(r -> !r.bytes()).map(MaxRate::perSecond),
                            rate.filter(MaxRate::bytes).map(MaxRate::perSecond), System.getProperty("user.name") + "@" + host());
                }
            }
            Optional<PaceRecords.Pace> pace = PaceRecords.get(t);
            PrintWriter out = spec.commandLine().getOut();
            if (format.json) {
                Map<String, Object> doc = new LinkedHashMap<>();
                doc.put("paused", pace.map(PaceRecords.Pace::paused).orElse(false));
                doc.put("rows_per_second", pace.flatMap(PaceRecords.Pace::rowsPerSecond).orElse(null));
                doc.put("bytes_per_second", pace.flatMap(PaceRecords.Pace::bytesPerSecond).orElse(null));
                doc.put("set_by", pace.map(PaceRecords.Pace::setBy).orElse(null));
                doc.put("set_at", pace.map(PaceRecords.Pace::setAt).orElse(null));
                out.println(Json.output(doc));
            } else if (pace.isEmpty()) {
                out.println("pace: as each backfill was started (no tsmigrate throttle setting)");
            } else {
                PaceRecords.Pace p = pace.get();
                out.println("pace: " + (p.paused() ? "paused" : "at most " + p.bytesPerSecond().map(b -> Throttle.rate(b, true))
                        .orElseGet(() -> Throttle.rate(p.rowsPerSecond().orElseThrow(), false))) + " (set by " + p.setBy() + " at "
                        + p.setAt() + "); running backfills follow within a second or two");
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
