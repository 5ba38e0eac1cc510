package io.tsmigrate.dualwrite;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicLong;

/**
 * For tests of the lossless mode only: pauses the thread that reaches a named instant of a commit,
 * so that a test can kill the process exactly there. Off unless the system property
 * {@code tsmigrate.dualwrite.test.pause-at} names the instant ({@link #BEFORE_COMMIT} or
 * {@link #BETWEEN_COMMITS}); {@code ...pause-after} says at which occurrence (default 1), and
 * {@code ...pause-file} is created when the thread pauses there, for the test to wait for.
 */
final class TestHook {

    /** The intent is on disk and the primary's COMMIT not sent. */
    static final String BEFORE_COMMIT = "before-commit";
    /** The primary committed and the secondary has not. */
    static final String BETWEEN_COMMITS = "between-commits";

    private static final String AT = System.getProperty("tsmigrate.dualwrite.test.pause-at");
    private static final long AFTER = Long.getLong("tsmigrate.dualwrite.test.pause-after", 1);
    private static final AtomicLong SEEN = new AtomicLong();

    private TestHook() {
    }

    static void reached(String instant) {
        if (AT == null || !AT.equals(instant) || SEEN.incrementAndGet() != AFTER) {
            return;
        }
        try {
            Files.writeString(Path.of(System.getProperty("tsmigrate.dualwrite.test.pause-file")), instant);
            Thread.sleep(Long.MAX_VALUE);
        } catch (IOException | InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
