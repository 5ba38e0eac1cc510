package io.tsmigrate.dualwrite;

/**
 * Counters of a {@link DualWriteDataSource}, for monitoring.
 *
 * @param mirrored          writes that reached the secondary directly
 * @param journaled         transactions appended to a journal
 * @param replayed          journal entries applied by the background check
 * @param secondaryFailures writes or commits that failed on the secondary
 * @param countMismatches   writes whose row count differed between the two sides (a sign of divergence)
 * @param diverted          whether writes for a side currently go to its journal
 * @param targetIsPrimary   whether the target is the primary (after tsmigrate cutover)
 * @param shadowDropped     shadow reads dropped because their queue was full
 * @param recovered         transactions of an earlier run (killed between its two commits) found committed on
 *                          the primary at start and owed to the secondary (lossless mode)
 * @param discarded         intents of an earlier run whose transaction the primary did not commit (or no longer
 *                          knows about), dropped at start
 * @param journalPending    journal entries (and commits in doubt) this writer still owes a side
 * @param shadowCompared    reads compared on both sides
 * @param shadowMismatches  compared reads that differed once the backfill was complete
 * @param secondaryCommits  transactions committed directly on the secondary
 * @param secondaryCommitNanos the time those commits took, in total (what dual-writing adds to a commit)
 */
public record DualWriteStats(long mirrored, long journaled, long replayed, long secondaryFailures, long countMismatches,
                             boolean diverted, boolean targetIsPrimary, long shadowDropped, long recovered, long discarded,
                             long journalPending, long shadowCompared, long shadowMismatches, long secondaryCommits,
                             long secondaryCommitNanos) {
}
