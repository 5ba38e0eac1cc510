package io.tsmigrate.core.throttle;

/**
 * Spaces out work so that the permits taken by all threads together do not exceed a rate, which
 * may change while they work. A thread that takes permits sleeps until its share of time has come.
 * Thread-safe.
 */
public final class RateLimiter {

    private double nanosPerPermit;
    private long nextFree = System.nanoTime();

    /** @param permitsPerSecond positive; {@code Double.POSITIVE_INFINITY} for no limit */
    public RateLimiter(double permitsPerSecond) {
        setRate(permitsPerSecond);
    }

    public synchronized void setRate(double permitsPerSecond) {
        if (!(permitsPerSecond > 0)) {
            throw new IllegalArgumentException("a rate must be positive, got " + permitsPerSecond);
        }
        this.nanosPerPermit = 1e9 / permitsPerSecond;
    }

    /** The rate now: permits per second, {@code Double.POSITIVE_INFINITY} for none. */
    public synchronized double permitsPerSecond() {
        return nanosPerPermit == 0 ? Double.POSITIVE_INFINITY : 1e9 / nanosPerPermit;
    }

    /** Takes {@code permits} before using them, sleeping until the permits taken before them are paid for. */
    public void acquire(long permits) throws InterruptedException {
        sleep(take(permits, false));
    }

    /**
     * Accounts for {@code permits} already used, sleeping until the rate has paid for them too. For
     * work done in bursts at full speed between waits: a read of the source is then short, and the
     * waiting happens with nothing held open there.
     */
    public void pay(long permits) throws InterruptedException {
        sleep(take(permits, true));
    }

    /** Books the permits; returns how long to wait, in nanoseconds: until their start, or {@code through} their end. */
    private synchronized long take(long permits, boolean through) {
        long now = System.nanoTime();
        // Unused time does not accumulate beyond a second: a burst after a pause stays short.
        long start = Math.max(nextFree, now - 1_000_000_000L);
        nextFree = start + (long) (permits * nanosPerPermit);
        return (through ? nextFree : start) - now;
    }

    private static void sleep(long nanos) throws InterruptedException {
        if (nanos > 0) {
            Thread.sleep(nanos / 1_000_000, (int) (nanos % 1_000_000));
        }
    }
}
