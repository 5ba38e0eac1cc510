package io.tsmigrate.core.migrate;

import io.tsmigrate.core.TsmigrateException;
import io.tsmigrate.core.TsmigrateException.Kind;
import io.tsmigrate.core.doctor.Check;
import io.tsmigrate.core.doctor.Doctor;
import io.tsmigrate.core.doctor.DoctorResult;

import java.util.List;
import java.util.Locale;

/**
 * Readiness: the step that runs before there is any state to record it in ({@link Migration}
 * records it once it passed). A server that cannot be reached is an error, not a stop.
 */
final class DoctorStep implements MigrationStep<List<Check>> {

    @Override
    public String name() {
        return "doctor";
    }

    @Override
    public StepOutcome<List<Check>> run(MigrationContext c) {
        DoctorResult d = Doctor.run(c.source(), c.target(), c.options().pgBindir());
        for (Check check : d.checks()) {
            if (check.status() != Check.Status.OK) {
                c.listener().line("doctor: " + check.status().name().toLowerCase(Locale.ROOT) + " " + check.name() + ": "
                        + check.message());
            }
        }
        if (d.verdict() == DoctorResult.Verdict.CANNOT_CONNECT) {
            String why = d.checks().stream().filter(x -> x.status() == Check.Status.FAILED).map(Check::message).findFirst()
                    .orElse("a server cannot be reached");
            throw new TsmigrateException(Kind.CONNECTION, why);
        }
        if (d.verdict() == DoctorResult.Verdict.NOT_READY) {
            String failed = String.join("; ", d.checks().stream().filter(x -> x.status() == Check.Status.FAILED)
                    .map(x -> x.name() + ": " + x.message()).toList());
            return StepOutcome.stopped(Kind.NOT_READY, "fix what tsmigrate doctor reports (" + failed
                    + "), then run tsmigrate migrate again");
        }
        long warnings = d.count(Check.Status.WARNING);
        return StepOutcome.done("ready" + (warnings > 0 ? " (" + warnings + " warning" + (warnings > 1 ? "s" : "") + ")" : ""),
                d.checks());
    }
}
