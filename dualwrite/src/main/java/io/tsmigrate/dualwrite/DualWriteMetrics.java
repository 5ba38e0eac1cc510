package io.tsmigrate.dualwrite;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.FunctionTimer;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.binder.MeterBinder;

import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.function.ToDoubleFunction;

/**
 * The dual-write counters as Micrometer meters, tagged with the writer's name: bind it to the
 * application's registry ({@code new DualWriteMetrics(dataSource).bindTo(registry)}; the Spring Boot
 * starter does). Micrometer is an optional dependency of the library: only this class needs it.
 *
 * <p>In Prometheus' format the names read as the proxy's do, with {@code dualwrite} in place of
 * {@code proxy}: {@code tsmigrate_dualwrite_transactions_journaled_total},
 * {@code tsmigrate_dualwrite_journal_entries_replayed_total}, {@code tsmigrate_dualwrite_secondary_diverted}, ...
 */
public final class DualWriteMetrics implements MeterBinder {

    private final Supplier<DualWriteStats> stats;
    private final Tags tags;

    public DualWriteMetrics(DualWriteDataSource dataSource) {
        this(dataSource::stats, dataSource.writerName());
    }

    DualWriteMetrics(Supplier<DualWriteStats> stats, String writer) {
        this.stats = stats;
        this.tags = Tags.of("writer", writer);
    }

    @Override
    public void bindTo(MeterRegistry registry) {
        counter(registry, "tsmigrate.dualwrite.statements.mirrored", "Writes that reached the secondary directly.",
                DualWriteStats::mirrored);
        counter(registry, "tsmigrate.dualwrite.transactions.journaled", "Transactions the secondary could not take, appended "
                + "to a journal.", DualWriteStats::journaled);
        counter(registry, "tsmigrate.dualwrite.journal.entries.replayed", "Journal entries replayed once the secondary was back.",
                DualWriteStats::replayed);
        counter(registry, "tsmigrate.dualwrite.secondary.failures", "Writes or commits that failed on the secondary.",
                DualWriteStats::secondaryFailures);
        counter(registry, "tsmigrate.dualwrite.writes.count.mismatches", "Writes whose row count differed between the sides.",
                DualWriteStats::countMismatches);
        counter(registry, "tsmigrate.dualwrite.shadow.reads.compared", "Reads run on both sides and compared.",
                DualWriteStats::shadowCompared);
        counter(registry, "tsmigrate.dualwrite.shadow.reads.mismatched", "Compared reads that differed once the backfill was "
                + "complete.", DualWriteStats::shadowMismatches);
        counter(registry, "tsmigrate.dualwrite.shadow.reads.dropped", "Shadow reads dropped because their queue was full.",
                DualWriteStats::shadowDropped);
        gauge(registry, "tsmigrate.dualwrite.journal.entries.pending", "Journal entries (and commits in doubt) owed to a side.",
                DualWriteStats::journalPending);
        gauge(registry, "tsmigrate.dualwrite.secondary.diverted", "1 while writes for a side go to its journal.",
                s -> s.diverted() ? 1 : 0);
        gauge(registry, "tsmigrate.dualwrite.target.primary", "1 once the target is the primary (after tsmigrate cutover).",
                s -> s.targetIsPrimary() ? 1 : 0);
        FunctionTimer.builder("tsmigrate.dualwrite.secondary.commit", stats, s -> s.get().secondaryCommits(),
                        s -> s.get().secondaryCommitNanos(), TimeUnit.NANOSECONDS)
                .description("Commits on the secondary after the primary's: what dual-writing adds to a transaction.")
                .tags(tags).register(registry);
    }

    private void counter(MeterRegistry registry, String name, String help, ToDoubleFunction<DualWriteStats> value) {
        FunctionCounter.builder(name, stats, s -> value.applyAsDouble(s.get())).description(help).tags(tags).register(registry);
    }

    private void gauge(MeterRegistry registry, String name, String help, ToDoubleFunction<DualWriteStats> value) {
        Gauge.builder(name, stats, s -> value.applyAsDouble(s.get())).description(help).tags(tags).register(registry);
    }
}
