package io.tsmigrate.cli;

import io.tsmigrate.dualwrite.DualWriteDataSource;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The demo's application: it writes through {@link DualWriteDataSource} as a real one would,
 * sending every value itself (times, ids from the primary's sequence): readings, some of them
 * late by up to {@link #LATENESS}; events; orders placed and then shipped in one transaction. A
 * second thread reads what a dashboard would, and a share of those reads is shadowed on the
 * secondary. It counts what it wrote, so that the demo can show that nothing was lost or doubled.
 */
final class DemoApplication implements AutoCloseable {

    /** The most a reading arrives after its own time. */
    static final Duration LATENESS = Duration.ofSeconds(8);

    private final DualWriteDataSource dataSource;
    private final AtomicBoolean stop = new AtomicBoolean();
    private final AtomicLong readings = new AtomicLong();
    private final AtomicLong transactions = new AtomicLong();
    private final AtomicLong reads = new AtomicLong();
    private final AtomicLong errors = new AtomicLong();
    private final AtomicLong writesOnTarget = new AtomicLong();
    private volatile String lastError;
    private final List<Thread> threads = new ArrayList<>();

    DemoApplication(DualWriteDataSource dataSource) {
        this.dataSource = dataSource;
    }

    void start() {
        threads.add(thread("demo-app-writer", () -> loop(this::write, 5)));
        threads.add(thread("demo-app-reader", () -> loop(this::read, 10)));
    }

    private static Thread thread(String name, Runnable body) {
        Thread t = new Thread(body, name);
        t.setDaemon(true);
        t.start();
        return t;
    }

    /** Readings inserted (on the primary) since the start. */
    long readings() {
        return readings.get();
    }

    long transactions() {
        return transactions.get();
    }

    long reads() {
        return reads.get();
    }

    long errors() {
        return errors.get();
    }

    /** Transactions committed while the target was the primary. */
    long writesOnTarget() {
        return writesOnTarget.get();
    }

    String lastError() {
        return lastError;
    }

    @FunctionalInterface
    private interface Work {
        void run(Connection c, long n) throws SQLException;
    }

    private void loop(Work work, long pauseMillis) {
        long n = 0;
        while (!stop.get()) {
            // A connection per unit of work, as from a pool: after a cutover, new ones go to the new primary.
            try (Connection c = dataSource.getConnection()) {
                work.run(c, n++);
            } catch (SQLException | RuntimeException e) {
                errors.incrementAndGet();
                lastError = e.getMessage();
            }
            try {
                Thread.sleep(pauseMillis);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    private void write(Connection c, long n) throws SQLException {
        ThreadLocalRandom random = ThreadLocalRandom.current();
        boolean onTarget = dataSource.targetIsPrimary();
        c.setAutoCommit(false);
        try {
            int inserted = 0;
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO readings (time, device_id, value, quality) "
                    + "VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING")) {
                Instant now = Instant.now();
                for (int i = 0; i < 5; i++) {
                    boolean late = random.nextInt(5) == 0;
                    Instant t = late ? now.minusMillis(random.nextLong(LATENESS.toMillis())) : now.plusNanos(i * 1000L);
                    ps.setTimestamp(1, Timestamp.from(t));
                    ps.setInt(2, 1 + random.nextInt(DemoDatabase.DEVICES));
                    ps.setDouble(3, Math.round(random.nextDouble() * 100_000) / 1000.0);
                    ps.setInt(4, late ? 1 : 0);
                    ps.addBatch();
                }
                for (int count : ps.executeBatch()) {
                    inserted += Math.max(0, count);
                }
            }
            if (n % 10 == 0) {
                try (PreparedStatement ps = c.prepareStatement("INSERT INTO events (time, device_id, kind, payload) "
                        + "VALUES (?, ?, ?, ?::jsonb)")) {
                    ps.setTimestamp(1, Timestamp.from(Instant.now()));
                    ps.setInt(2, 1 + random.nextInt(DemoDatabase.DEVICES));
                    ps.setString(3, "alarm");
                    ps.setString(4, "{\"seq\": " + n + ", \"ok\": false}");
                    ps.executeUpdate();
                }
            }
            if (n % 25 == 0) {
                placeAndShipOrder(c, random);
            }
            c.commit();
            readings.addAndGet(inserted);
            transactions.incrementAndGet();
            if (onTarget) {
                writesOnTarget.incrementAndGet();
            }
        } catch (SQLException | RuntimeException e) {
            c.rollback();
            throw e;
        }
    }

    /** The id comes from the primary's sequence and is sent to both sides, as dual-writing needs. */
    private static void placeAndShipOrder(Connection c, ThreadLocalRandom random) throws SQLException {
        long id;
        try (PreparedStatement ps = c.prepareStatement("SELECT nextval('orders_id_seq')"); ResultSet rs = ps.executeQuery()) {
            rs.next();
            id = rs.getLong(1);
        }
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO orders (id, device_id, placed_at, status, amount) "
                + "VALUES (?, ?, ?, 'placed', ?)")) {
            ps.setLong(1, id);
            ps.setInt(2, 1 + random.nextInt(DemoDatabase.DEVICES));
            ps.setTimestamp(3, Timestamp.from(Instant.now()));
            ps.setBigDecimal(4, java.math.BigDecimal.valueOf(random.nextInt(50_000), 2));
            ps.executeUpdate();
        }
        try (PreparedStatement ps = c.prepareStatement("UPDATE orders SET status = 'shipped' WHERE id = ?")) {
            ps.setLong(1, id);
            ps.executeUpdate();
        }
    }

    /** What a dashboard reads: history that no longer changes, so both sides must answer alike. */
    private void read(Connection c, long n) throws SQLException {
        ThreadLocalRandom random = ThreadLocalRandom.current();
        Instant from = Instant.now().minus(Duration.ofDays(2 + random.nextInt(26))).truncatedTo(java.time.temporal.ChronoUnit.HOURS);
        switch ((int) (n % 4)) {
            case 0 -> query(c, "SELECT count(*), round(sum(value)::numeric, 3) FROM readings WHERE device_id = ? "
                    + "AND time >= ? AND time < ?", random.nextInt(1, DemoDatabase.DEVICES + 1), from, from.plus(Duration.ofHours(6)));
            case 1 -> query(c, "SELECT kind, count(*) FROM events WHERE time >= ? AND time < ? GROUP BY kind ORDER BY kind",
                    null, from, from.plus(Duration.ofHours(12)));
            case 2 -> query(c, "SELECT id, device_id, status, amount FROM orders WHERE id = ?",
                    random.nextInt(1, DemoDatabase.ORDERS + 1), null, null);
            default -> query(c, "SELECT time, value FROM readings WHERE device_id = ? AND time >= ? AND time < ? ORDER BY time",
                    random.nextInt(1, DemoDatabase.DEVICES + 1), from, from.plus(Duration.ofHours(1)));
        }
        reads.incrementAndGet();
    }

    private static void query(Connection c, String sql, Integer id, Instant from, Instant until) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            int i = 1;
            if (id != null) {
                ps.setInt(i++, id);
            }
            if (from != null) {
                ps.setTimestamp(i++, Timestamp.from(from));
                ps.setTimestamp(i, Timestamp.from(until));
            }
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    rs.getObject(1);
                }
            }
        }
    }

    /** Stops both threads and waits for them; the DataSource stays open for the caller to close. */
    @Override
    public void close() {
        stop.set(true);
        for (Thread t : threads) {
            try {
                t.join(10_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }
}
