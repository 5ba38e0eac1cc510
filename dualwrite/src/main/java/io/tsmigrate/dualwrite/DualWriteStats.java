package io.tsmigrate.dualwrite;

/**
 * Counters of a {@link DualWriteDataSource}, for monitoring.
 *
 * @param mirrored          writes that reached the secondary directly
 * @param journaled         transactions appended to the journal
 * @param replayed          journal entries applied to the secondary by the health check
 * @param secondaryFailures writes or commits that failed on the secondary
 * @param countMismatches   writes whose row count differed between the two sides (a sign of divergence)
 * @param diverted          whether writes currently go to the journal instead of the secondary
 */
public record DualWriteStats(long mirrored, long journaled, long replayed, long secondaryFailures, long countMismatches,
                             boolean diverted) {
}
