package io.tsmigrate.core.verify;

import io.tsmigrate.core.TsmigrateException;
import io.tsmigrate.core.connect.ConnectionSpec;
import io.tsmigrate.core.connect.PgConnector;
import io.tsmigrate.core.connect.PgErrors;
import io.tsmigrate.core.throttle.RateLimiter;
import io.tsmigrate.core.throttle.Throttle;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The connections of one side (source or target): at most {@code workers} queries at once, each
 * thread with its own connection, so that verification never opens more connections to production
 * than asked. Owns its threads and connections; {@link #close()} ends both.
 */
final class SidePool implements AutoCloseable {

    private final ConnectionSpec spec;
    private final ExecutorService threads;
    private final LinkedBlockingQueue<Connection> connections = new LinkedBlockingQueue<>();
    private final List<Connection> opened = new ArrayList<>();
    private final Optional<Throttle> throttle;
    private final RateLimiter limiter;
    private final AtomicBoolean stop;

    /**
     * @param lent     a connection the pool may use but does not close (the caller's, idle meanwhile)
     * @param throttle the source's: reads wait while it is paused, and count towards its measured rate
     * @param limiter  rows per second read on this side; null for no cap
     * @param stop     set on Ctrl-C: a paused read stops waiting
     */
    SidePool(ConnectionSpec spec, int workers, Optional<Throttle> throttle, RateLimiter limiter, Connection lent, AtomicBoolean stop) {
        this.spec = spec;
        this.connections.add(lent);
        this.throttle = throttle;
        this.limiter = limiter;
        this.stop = stop;
        AtomicInteger n = new AtomicInteger();
        this.threads = Executors.newFixedThreadPool(workers, r -> {
            Thread t = new Thread(r, "tsmigrate-verify-" + spec.label() + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
    }

    ConnectionSpec spec() {
        return spec;
    }

    @FunctionalInterface
    interface Work<T> {
        T apply(Connection c) throws SQLException;
    }

    <T> CompletableFuture<T> submit(Work<T> work) {
        return CompletableFuture.supplyAsync(() -> {
            Connection c = take();
            try {
                T result = work.apply(c);
                connections.add(c);
                return result;
            } catch (SQLException e) {
                PgConnector.closeQuietly(c);
                throw PgErrors.failure("verify", spec, e);
            }
        }, threads);
    }

    /** Digests of the rows matching one query: the whole range, or per bucket. */
    CompletableFuture<Map<Long, Digest>> digest(String sql, boolean buckets) {
        return submit(c -> {
            awaitOpen();
            Map<Long, Digest> out = new HashMap<>();
            try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
                while (rs.next()) {
                    int i = buckets ? 2 : 1;
                    long bucket = buckets ? rs.getLong(1) : 0L;
                    out.put(bucket, new Digest(rs.getLong(i), rs.getBigDecimal(i + 1).toBigIntegerExact()));
                }
            }
            throttle(out.values().stream().mapToLong(Digest::rows).sum());
            return out;
        });
    }

    /** Protects production: waits while the source's throttle is paused (tsmigrate throttle --pause, --critical-load). */
    private void awaitOpen() {
        if (throttle.isEmpty()) {
            return;
        }
        try {
            throttle.get().awaitOpen(stop);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** After reading {@code rows}: counts them for the throttle, and waits until the side's rate has paid for them. */
    private void throttle(long rows) {
        throttle.ifPresent(t -> t.moved(rows, 0)); // a verify paces rows: it reads digests, not the rows' bytes
        if (limiter == null) {
            return;
        }
        try {
            limiter.pay(rows);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private Connection take() {
        Connection c = connections.poll();
        if (c != null) {
            return c;
        }
        c = PgConnector.open(spec);
        synchronized (opened) {
            opened.add(c);
        }
        return c;
    }

    /** Unwraps a failed future: the tsmigrate failure it carries. */
    static <T> T join(CompletableFuture<T> future) {
        try {
            return future.join();
        } catch (java.util.concurrent.CompletionException e) {
            if (e.getCause() instanceof TsmigrateException t) {
                throw t;
            }
            throw e;
        }
    }

    @Override
    public void close() {
        threads.shutdownNow();
        synchronized (opened) {
            opened.forEach(PgConnector::closeQuietly);
        }
    }
}
