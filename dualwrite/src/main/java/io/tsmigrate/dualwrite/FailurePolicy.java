package io.tsmigrate.dualwrite;

/** What to do when a write fails on the secondary (the application always sees the primary's outcome). */
public enum FailurePolicy {
    /**
     * Append the whole transaction to a durable local journal (fsync'd before the call returns) and
     * send later writes there too until the secondary is back and the journal is replayed. The
     * application is not disturbed. The default.
     */
    JOURNAL,
    /** Throw an SQLException to the application (after the primary's write). */
    FAIL,
    /** Count it and log it; the secondary misses the write. */
    LOG
}
