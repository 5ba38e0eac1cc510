package io.tsmigrate.servers;

import java.time.Duration;
import java.util.function.BooleanSupplier;

/**
 * Waits for a state, never for a duration: tests that kill, interrupt or race work poll the state
 * they need (a range claimed, a row committed) so that they pass on a loaded machine as on an idle one.
 */
public final class Await {

    /** Long enough for a loaded 2-core machine; a state not reached by then is a failure, not slowness. */
    public static final Duration DEFAULT = Duration.ofSeconds(120);

    private Await() {
    }

    /** Polls {@code condition} every 50 ms until it holds; fails naming {@code what} after {@link #DEFAULT}. */
    public static void until(String what, BooleanSupplier condition) {
        until(what, DEFAULT, condition);
    }

    /** Polls {@code condition} every 50 ms until it holds; fails naming {@code what} after {@code timeout}. */
    public static void until(String what, Duration timeout, BooleanSupplier condition) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("waited " + timeout.toSeconds() + " s for: " + what);
            }
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError("interrupted while waiting for: " + what, e);
            }
        }
    }
}
