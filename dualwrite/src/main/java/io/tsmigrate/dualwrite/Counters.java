package io.tsmigrate.dualwrite;

import java.util.concurrent.atomic.LongAdder;

/** What one writer's transactions became on the secondary, counted from every thread. Thread-safe. */
final class Counters {

    private final LongAdder mirrored = new LongAdder();
    private final LongAdder journaled = new LongAdder();
    private final LongAdder replayed = new LongAdder();
    private final LongAdder failures = new LongAdder();
    private final LongAdder countMismatches = new LongAdder();
    private final LongAdder recovered = new LongAdder();
    private final LongAdder discarded = new LongAdder();
    private final LongAdder secondaryCommits = new LongAdder();
    private final LongAdder secondaryCommitNanos = new LongAdder();

    /** A transaction's commit on the secondary, after the primary's: what dual-writing adds to it. */
    void secondaryCommit(long nanos) {
        secondaryCommits.increment();
        secondaryCommitNanos.add(nanos);
    }

    void mirrored() {
        mirrored.increment();
    }

    void journaled() {
        journaled.increment();
    }

    void replayed(long entries) {
        replayed.add(entries);
    }

    void failure() {
        failures.increment();
    }

    void countMismatch() {
        countMismatches.increment();
    }

    /** Intents of an earlier run: found committed on the primary and owed to a side, and found not committed. */
    void recovered(long owed, long notCommitted) {
        recovered.add(owed);
        discarded.add(notCommitted);
    }

    DualWriteStats snapshot(boolean journaling, boolean targetIsPrimary, long pending, ShadowReads shadow) {
        return new DualWriteStats(mirrored.sum(), journaled.sum(), replayed.sum(), failures.sum(), countMismatches.sum(),
                journaling, targetIsPrimary, shadow.dropped(), recovered.sum(), discarded.sum(), pending, shadow.compared(),
                shadow.mismatched(), secondaryCommits.sum(), secondaryCommitNanos.sum());
    }
}
