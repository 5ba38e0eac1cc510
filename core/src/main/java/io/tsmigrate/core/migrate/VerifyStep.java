package io.tsmigrate.core.migrate;

import io.tsmigrate.core.Human;
import io.tsmigrate.core.TsmigrateException;
import io.tsmigrate.core.TsmigrateException.Kind;
import io.tsmigrate.core.verify.Verifier;
import io.tsmigrate.core.verify.VerifyOptions;
import io.tsmigrate.core.verify.VerifyResult;

import java.time.Duration;
import java.time.Instant;
import java.util.Optional;

/**
 * The exact check. Under live dual-writes a plain table can differ for the moment a write has
 * reached one side only, so a difference is checked again after a pause before it counts; the last
 * attempt repairs when asked. The value is the last verification, for the report.
 */
final class VerifyStep implements MigrationStep<VerifyResult> {

    private int attempt;
    private VerifyResult last;

    @Override
    public String name() {
        return "verify";
    }

    /** The last verification this step ran, also when it stopped on differences. */
    Optional<VerifyResult> last() {
        return Optional.ofNullable(last);
    }

    @Override
    public StepOutcome<VerifyResult> run(MigrationContext c) {
        Migration.Options options = c.options();
        attempt++;
        boolean finalAttempt = attempt >= options.verifyAttempts();
        boolean repair = finalAttempt && options.repair();
        // Past T too, up to where dual-writes have surely arrived: a write that reached one side only counts.
        Instant settled = options.clock().instant().minus(options.maxLateness()).minus(options.clockSkew());
        // --max-rate paces the verify too when it counts rows (a byte rate is the copy's alone).
        VerifyResult r;
        try {
            r = Verifier.run(c.source(), c.target(), VerifyOptions.builder().repair(repair).workers(options.workers())
                    .maxRate(options.maxRate().filter(m -> !m.bytes())).clock(options.clock()).pastT(Optional.of(settled))
                    .maxLoad(options.maxLoad()).criticalLoad(options.criticalLoad()).build(), line -> c.listener().line("verify: " + line), c.interrupted());
        } catch (TsmigrateException e) {
            if (e.kind() != Kind.INTERRUPTED) {
                throw e;
            }
            return StepOutcome.stopped(Kind.INTERRUPTED, Migration.INTERRUPTED);
        }
        last = r;
        if (r.match()) {
            long repaired = r.tables().stream().filter(v -> v.verdict() == VerifyResult.Verdict.REPAIRED).count();
            return StepOutcome.done("equal: " + r.tables().size() + " table(s), " + Human.count(r.tables().stream()
                    .mapToLong(VerifyResult.TableVerdict::sourceRows).sum()) + " rows compared"
                    + (repaired > 0 ? ", " + repaired + " repaired" : "") + (attempt > 1 ? " (after " + attempt + " checks)" : ""), r);
        }
        if (finalAttempt) {
            return StepOutcome.stopped(Kind.MISMATCH, r.differenceCount() + " row(s) differ (see the verification report): "
                    + (options.repair() ? "the repair did not fix them; look at the differences, fix the cause, then "
                    + "run tsmigrate migrate again" : "run tsmigrate migrate --repair (or tsmigrate verify --repair)"));
        }
        return new StepOutcome.Waiting<>(r.differenceCount() + " row(s) differ; checking again in a moment "
                + "(a write may have reached one side only)", attempt, Duration.ofSeconds(2));
    }
}
