package io.tsmigrate.dualwrite;

import io.tsmigrate.dualwrite.Write.Param;

import java.lang.System.Logger.Level;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Supplier;

/**
 * Shadow reads: a share of the application's reads also runs on the secondary, off the
 * application's thread, and the two results (row count and hash) and latencies are compared. The
 * queue is bounded: when it is full a shadow read is dropped and counted, never waited for.
 * Results aggregate per query shape and are flushed to {@code tsmigrate.shadow_read} on the target.
 * Thread-safe.
 */
final class ShadowReads implements AutoCloseable {

    private static final System.Logger LOG = System.getLogger(ShadowReads.class.getName());

    /**
     * Latency buckets, 8 per power of two (each within 12.5%): bucket {@code 8e + s} counts durations
     * in [2^e (1 + s/8), 2^e (1 + (s+1)/8)) microseconds. tsmigrate compare-load reads them the same
     * way (LoadComparison in core: this module depends on nothing but JDBC).
     */
    static final int SUB_BUCKETS = 8;
    static final int BUCKETS = 40 * SUB_BUCKETS;

    /** What one query shape has seen since the last flush. */
    private static final class Shape {
        long calls;
        long compared;
        long mismatches;
        long expectedMismatches;
        long dropped;
        String example;
        final long[] sourceMicros = new long[BUCKETS];
        final long[] targetMicros = new long[BUCKETS];
    }

    private final double share;
    private final Supplier<Connection> secondary;
    private final ThreadPoolExecutor executor;
    private final Map<String, Shape> shapes = new HashMap<>();
    /** Dropped since the last flush to the state (reset there). */
    private final LongAdder dropped = new LongAdder();
    /** Dropped since this writer started: what the stats and metrics count, never going back. */
    private final LongAdder droppedTotal = new LongAdder();
    private final LongAdder compared = new LongAdder();
    private final LongAdder mismatched = new LongAdder();
    private volatile boolean backfillComplete;
    private Connection connection;

    ShadowReads(double share, Supplier<Connection> secondary, String writer) {
        this.share = share;
        this.secondary = secondary;
        this.executor = new ThreadPoolExecutor(1, 1, 0, TimeUnit.MILLISECONDS, new ArrayBlockingQueue<>(1000), r -> {
            Thread t = new Thread(r, "tsmigrate-shadow-" + writer);
            t.setDaemon(true);
            return t;
        }, (r, pool) -> {
            dropped.increment();
            droppedTotal.increment();
        });
    }

    /** Whether this read should be shadowed (the configured share of reads). */
    boolean sample() {
        return share > 0 && (share >= 1 || ThreadLocalRandom.current().nextDouble() < share);
    }

    /**
     * Whether a read can run on the secondary as well and be compared: not when it changes
     * something there (a sequence, a lock) or its result depends on the session (advisory locks,
     * transaction ids). Reads of the clock or random values are compared and will differ: the
     * example in the report shows it.
     */
    static boolean comparable(String sql) {
        String s = sql.toLowerCase(java.util.Locale.ROOT);
        return !(s.contains("nextval") || s.contains("setval") || s.contains("_advisory_") || s.contains("txid_")
                || s.contains("pg_current_xact") || s.matches("(?s).*\\bfor\\s+(update|share|no\\s+key\\s+update|key\\s+share)\\b.*"));
    }

    void backfillComplete(boolean complete) {
        this.backfillComplete = complete;
    }

    /**
     * Runs the read on the secondary later and compares it with what the primary returned.
     *
     * @param settings the session settings the read ran under on the primary ({@code SET TimeZone ...}: they
     *                 change how values read as text); run as SET LOCAL around it on the secondary
     */
    void submit(String sql, List<Param> params, List<String> settings, RowDigest primary, long primaryNanos, boolean primaryIsTarget) {
        boolean expected = !backfillComplete;
        executor.execute(() -> compare(sql, params, settings, primary, primaryNanos, expected, primaryIsTarget));
    }

    private void compare(String sql, List<Param> params, List<String> settings, RowDigest primary, long primaryNanos,
                         boolean expected, boolean primaryIsTarget) {
        String shape = QueryShape.of(sql);
        RowDigest other = new RowDigest();
        long nanos;
        try {
            if (connection == null || connection.isClosed()) {
                connection = secondary.get();
            }
            if (!settings.isEmpty()) {
                connection.setAutoCommit(false);
                try (Statement st = connection.createStatement()) {
                    st.execute(String.join(";\n", settings.stream().map(SessionSettings::local).toList()));
                }
            }
            long start = System.nanoTime();
            if (params == null) {
                try (Statement st = connection.createStatement(); ResultSet rs = st.executeQuery(sql)) {
                    while (rs.next()) {
                        other.add(rs);
                    }
                }
            } else {
                try (PreparedStatement ps = connection.prepareStatement(sql)) {
                    for (Param p : params) {
                        Params.apply(ps, p);
                    }
                    try (ResultSet rs = ps.executeQuery()) {
                        while (rs.next()) {
                            other.add(rs);
                        }
                    }
                }
            }
            nanos = System.nanoTime() - start;
            if (!settings.isEmpty()) {
                connection.rollback(); // a read: nothing to keep, and the settings go with it
                connection.setAutoCommit(true);
            }
        } catch (SQLException | RuntimeException e) {
            LOG.log(Level.DEBUG, "tsmigrate shadow read failed on the secondary: " + e.getMessage());
            closeConnection();
            synchronized (shapes) {
                shapes.computeIfAbsent(shape, k -> new Shape()).calls++;
            }
            return;
        }
        synchronized (shapes) {
            Shape s = shapes.computeIfAbsent(shape, k -> new Shape());
            s.calls++;
            s.compared++;
            compared.increment();
            (primaryIsTarget ? s.targetMicros : s.sourceMicros)[bucket(primaryNanos)]++;
            (primaryIsTarget ? s.sourceMicros : s.targetMicros)[bucket(nanos)]++;
            if (!primary.sameAs(other, RowDigest.ordered(sql))) {
                if (expected) {
                    s.expectedMismatches++;
                } else {
                    s.mismatches++;
                    mismatched.increment();
                }
                if (s.example == null || !expected) {
                    s.example = sql + (params == null || params.isEmpty() ? "" : " with " + params.stream()
                            .map(p -> String.valueOf(p.value())).toList()) + ": " + (primaryIsTarget ? "target " : "source ")
                            + primary + ", " + (primaryIsTarget ? "source " : "target ") + other;
                }
            }
        }
    }

    static int bucket(long nanos) {
        long micros = Math.max(1, nanos / 1000);
        int e = 63 - Long.numberOfLeadingZeros(micros);
        long sub = e >= 3 ? (micros >> (e - 3)) & 7 : (micros << (3 - e)) & 7;
        return (int) Math.min(BUCKETS - 1, e * SUB_BUCKETS + sub);
    }

    /** Adds what was seen since the last flush to {@code tsmigrate.shadow_read}. */
    void flush(Connection target, String writer) throws SQLException {
        Map<String, Shape> batch;
        long droppedNow = dropped.sumThenReset();
        synchronized (shapes) {
            if (shapes.isEmpty() && droppedNow == 0) {
                return;
            }
            batch = new HashMap<>(shapes);
            shapes.clear();
        }
        if (droppedNow > 0) {
            batch.computeIfAbsent("(dropped: queue full)", k -> new Shape()).dropped += droppedNow;
        }
        try (PreparedStatement ps = target.prepareStatement("INSERT INTO tsmigrate.shadow_read AS s (writer, shape, calls, compared, "
                + "mismatches, expected_mismatches, dropped, example, source_micros, target_micros, updated_at) "
                + "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, now()) ON CONFLICT (writer, shape) DO UPDATE SET "
                + "calls = s.calls + EXCLUDED.calls, compared = s.compared + EXCLUDED.compared, "
                + "mismatches = s.mismatches + EXCLUDED.mismatches, expected_mismatches = s.expected_mismatches + EXCLUDED.expected_mismatches, "
                + "dropped = s.dropped + EXCLUDED.dropped, example = coalesce(EXCLUDED.example, s.example), "
                + "source_micros = (SELECT array_agg(a + b ORDER BY i) FROM unnest(s.source_micros, EXCLUDED.source_micros) "
                + "WITH ORDINALITY AS u(a, b, i)), target_micros = (SELECT array_agg(a + b ORDER BY i) FROM "
                + "unnest(s.target_micros, EXCLUDED.target_micros) WITH ORDINALITY AS u(a, b, i)), updated_at = now()")) {
            for (Map.Entry<String, Shape> e : batch.entrySet()) {
                Shape s = e.getValue();
                ps.setString(1, writer);
                ps.setString(2, e.getKey());
                ps.setLong(3, s.calls);
                ps.setLong(4, s.compared);
                ps.setLong(5, s.mismatches);
                ps.setLong(6, s.expectedMismatches);
                ps.setLong(7, s.dropped);
                ps.setString(8, s.example);
                ps.setArray(9, target.createArrayOf("bigint", box(s.sourceMicros)));
                ps.setArray(10, target.createArrayOf("bigint", box(s.targetMicros)));
                ps.addBatch();
            }
            ps.executeBatch();
        }
    }

    /** Waits until the queued shadow reads are compared (tests and shutdown). */
    void drain() {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while ((executor.getQueue().size() > 0 || executor.getActiveCount() > 0) && System.nanoTime() < deadline) {
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    long dropped() {
        return droppedTotal.sum();
    }

    /** Reads compared on both sides since start. */
    long compared() {
        return compared.sum();
    }

    /** Compared reads that differed when the backfill was complete (a real difference) since start. */
    long mismatched() {
        return mismatched.sum();
    }

    private static Long[] box(long[] values) {
        Long[] out = new Long[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = values[i];
        }
        return out;
    }

    private void closeConnection() {
        Quietly.close(connection);
        connection = null;
    }

    @Override
    public void close() {
        executor.shutdownNow();
        closeConnection();
    }
}
