package io.tsmigrate.cli;

import io.tsmigrate.core.connect.ConnectionSpec;
import io.tsmigrate.core.connect.PgConnector;
import io.tsmigrate.dualwrite.DualWriteDataSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import javax.sql.DataSource;

/**
 * The dual-write benchmark ({@code bench/dualwrite}): single-row INSERTs and 1,000-row batches
 * through {@link DualWriteDataSource}, against running the same statement by hand on the primary
 * and then on the secondary, on the same kind of connections. Prints the times and the overhead.
 * Not a command: run it with {@code java -cp tsmigrate.jar io.tsmigrate.cli.DualWriteBench SOURCE TARGET}.
 */
public final class DualWriteBench {

    private static final String INSERT = "INSERT INTO bench_dw (id, time, v) VALUES (?, ?, ?)";

    private DualWriteBench() {
    }

    public static void main(String[] args) throws Exception {
        DataSource source = PgConnector.dataSource(ConnectionSpec.parse(args[0], "source"), "dualwrite-bench");
        DataSource target = PgConnector.dataSource(ConnectionSpec.parse(args[1], "target"), "dualwrite-bench");
        boolean losslessOnly = args.length > 2 && args[2].equals("lossless");
        int singles = args.length > 2 && !losslessOnly ? Integer.parseInt(args[2]) : 5000;
        int batches = args.length > 3 ? Integer.parseInt(args[3]) : 50;
        for (DataSource ds : new DataSource[] {source, target}) {
            try (Connection c = ds.getConnection(); Statement st = c.createStatement()) {
                st.execute("DROP TABLE IF EXISTS bench_dw");
                st.execute("CREATE TABLE bench_dw (id bigint, time timestamptz, v float8)");
                st.execute("CREATE INDEX ON bench_dw (id)");
            }
        }
        Path journal = Files.createTempDirectory("dw-bench");
        try (DualWriteDataSource dual = DualWriteDataSource.builder().primary(source).secondary(target).journalDirectory(journal)
                .application("bench").build()) {
            // Like with like: each case starts on an empty table on both sides, the two ways take turns
            // going first, and both sides are checked equal (rows, ids, values) after every timed run.
            List<WriteCase> cases = List.of(new WriteCase("single-row INSERTs (" + singles + ")", singles, 1, false),
                    new WriteCase("1,000-row batches (" + batches + ")", batches, 1000, false),
                    new WriteCase("10-row transactions (" + singles / 10 + ")", singles / 10, 10, true));
            long[][] best = new long[cases.size()][];
            for (int round = 0; round < (losslessOnly ? 0 : 4); round++) {
                for (int k = 0; k < cases.size(); k++) {
                    WriteCase c = cases.get(k);
                    if (best[k] == null) {
                        best[k] = new long[] {Long.MAX_VALUE, Long.MAX_VALUE};
                    }
                    for (int turn = 0; turn < 2; turn++) {
                        boolean throughDual = (turn + round) % 2 == 1;
                        reset(source, target);
                        long took = throughDual ? dual(dual, c) : byHand(source, target, c);
                        checkEqual(source, target, (long) c.times() * c.rows(), c.name() + (throughDual ? " through the library" : " by hand"));
                        best[k][throughDual ? 1 : 0] = Math.min(best[k][throughDual ? 1 : 0], took);
                    }
                }
            }
            if (!losslessOnly) {
                for (int k = 0; k < cases.size(); k++) {
                    print(cases.get(k).name(), best[k][0], best[k][1]);
                }
                reset(source, target);
                dual(dual, cases.get(0)); // the rows the point reads below look up
            }
            for (double share : losslessOnly ? new double[0] : new double[] {0.1, 1.0}) {
                try (DualWriteDataSource shadowing = DualWriteDataSource.builder().primary(source).secondary(target)
                        .journalDirectory(journal).application("bench-shadow").shadowReadShare(share).build()) {
                    // Paired rounds in alternating order, after two rounds that warm up the JIT (which
                    // competes for the same cores); the median of the per-round ratios resists the noise
                    // of a shared machine better than comparing two minimums.
                    List<Double> ratios = new ArrayList<>();
                    long off = Long.MAX_VALUE;
                    long on = Long.MAX_VALUE;
                    for (int round = 0; round < 12; round++) {
                        long offNow;
                        long onNow;
                        if (round % 2 == 0) {
                            offNow = reads(dual, singles);
                            onNow = reads(shadowing, singles);
                        } else {
                            onNow = reads(shadowing, singles);
                            shadowing.flushShadowReads(); // no shadow read left running while "off" is timed
                            offNow = reads(dual, singles);
                        }
                        shadowing.flushShadowReads();
                        if (round >= 2) {
                            off = Math.min(off, offNow);
                            on = Math.min(on, onNow);
                            ratios.add((double) onNow / offNow);
                        }
                    }
                    Collections.sort(ratios);
                    double median = (ratios.get(ratios.size() / 2 - 1) + ratios.get(ratios.size() / 2)) / 2;
                    System.out.printf(Locale.ROOT, "%-28s shadow reads off %7.1f ms, on (%3.0f%%) %7.1f ms (best of %d), "
                            + "median paired overhead %+.1f%% (%d dropped)%n",
                            "point reads (" + singles + ")", off / 1e6, share * 100, on / 1e6, ratios.size(), (median - 1) * 100,
                            shadowing.stats().shadowDropped());
                }
            }
            try (DualWriteDataSource lossless = DualWriteDataSource.builder().primary(source).secondary(target).journalDirectory(journal)
                    .application("bench-lossless").lossless(true).build()) {
                for (int writers : new int[] {1, 8, 32}) {
                    double off = 0;
                    double on = 0;
                    for (int round = 0; round < 4; round++) {
                        for (int turn = 0; turn < 2; turn++) {
                            boolean losslessNow = (turn + round) % 2 == 1;
                            reset(source, target);
                            double tps = transactionsPerSecond(losslessNow ? lossless : dual, writers, singles);
                            checkEqual(source, target, (long) singles / writers * writers, writers + " writers, lossless "
                                    + (losslessNow ? "on" : "off"));
                            if (losslessNow) {
                                on = Math.max(on, tps);
                            } else {
                                off = Math.max(off, tps);
                            }
                        }
                    }
                    System.out.printf(Locale.ROOT, "%-28s lossless off %8.0f tx/s, lossless on %8.0f tx/s (%.2fx; best of 4, in turns)%n",
                            "1-row INSERT tx, " + writers + " writers", off, on, on / off);
                }
                if (lossless.stats().diverted() || lossless.stats().secondaryFailures() > 0) {
                    throw new IllegalStateException("the secondary failed during the benchmark: " + lossless.stats());
                }
            }
            if (dual.stats().diverted() || dual.stats().secondaryFailures() > 0) {
                throw new IllegalStateException("the secondary failed during the benchmark: " + dual.stats());
            }
        } finally {
            try (var files = Files.list(journal)) {
                for (Path p : files.toList()) {
                    Files.delete(p);
                }
            }
            Files.delete(journal);
        }
    }

    private static void print(String what, long byHand, long dual) {
        System.out.printf(Locale.ROOT, "%-28s by hand %7.1f ms, through DualWriteDataSource %7.1f ms, overhead %+.1f%%%n",
                what, byHand / 1e6, dual / 1e6, (dual - byHand) * 100.0 / byHand);
    }

    /** A kind of write: {@code times} statements (or transactions) of {@code rows} rows each. */
    private record WriteCase(String name, int times, int rows, boolean transactions) {
    }

    /** Each statement on the primary, then the same on the secondary, in the same thread; a transaction commits on both. */
    private static long byHand(DataSource source, DataSource target, WriteCase c) throws SQLException {
        try (Connection p = source.getConnection(); Connection s = target.getConnection();
             PreparedStatement ps = p.prepareStatement(INSERT); PreparedStatement ss = s.prepareStatement(INSERT)) {
            p.setAutoCommit(!c.transactions());
            s.setAutoCommit(!c.transactions());
            long start = System.nanoTime();
            for (int i = 0; i < c.times(); i++) {
                if (c.transactions()) {
                    for (int r = 0; r < c.rows(); r++) {
                        run(ps, i * c.rows() + r, 1);
                        run(ss, i * c.rows() + r, 1);
                    }
                    p.commit();
                    s.commit();
                } else {
                    run(ps, i, c.rows());
                    run(ss, i, c.rows());
                }
            }
            return System.nanoTime() - start;
        }
    }

    private static long dual(DualWriteDataSource dual, WriteCase c) throws SQLException {
        try (Connection conn = dual.getConnection(); PreparedStatement ps = conn.prepareStatement(INSERT)) {
            conn.setAutoCommit(!c.transactions());
            long start = System.nanoTime();
            for (int i = 0; i < c.times(); i++) {
                if (c.transactions()) {
                    for (int r = 0; r < c.rows(); r++) {
                        run(ps, i * c.rows() + r, 1);
                    }
                    conn.commit();
                } else {
                    run(ps, i, c.rows());
                }
            }
            long took = System.nanoTime() - start;
            conn.setAutoCommit(true);
            return took;
        }
    }

    private static void reset(DataSource source, DataSource target) throws SQLException {
        for (DataSource ds : new DataSource[] {source, target}) {
            try (Connection c = ds.getConnection(); Statement st = c.createStatement()) {
                st.execute("TRUNCATE bench_dw");
            }
        }
    }

    /** Both sides hold the same rows, as many as were written: a run that lost or doubled a row counts for nothing. */
    private static void checkEqual(DataSource source, DataSource target, long rows, String what) throws SQLException {
        String sql = "SELECT count(*) || ' rows, ids ' || coalesce(sum(id), 0) || ', values ' || coalesce(sum(v), 0) "
                + "|| ', times ' || coalesce(sum(extract(epoch FROM time)), 0) FROM bench_dw";
        String[] sides = new String[2];
        DataSource[] ds = {source, target};
        for (int i = 0; i < 2; i++) {
            try (Connection c = ds[i].getConnection(); Statement st = c.createStatement(); java.sql.ResultSet rs = st.executeQuery(sql)) {
                rs.next();
                sides[i] = rs.getString(1);
            }
        }
        if (!sides[0].equals(sides[1]) || !sides[0].startsWith(rows + " rows")) {
            throw new IllegalStateException(what + ": expected " + rows + " rows on both sides, the source has " + sides[0]
                    + ", the target " + sides[1]);
        }
    }

    /** Auto-commit single-row INSERTs from {@code writers} threads, {@code total} in all; transactions per second. */
    private static double transactionsPerSecond(DualWriteDataSource ds, int writers, int total) throws Exception {
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(writers);
        try {
            List<java.util.concurrent.Future<?>> done = new ArrayList<>();
            long start = System.nanoTime();
            for (int w = 0; w < writers; w++) {
                int first = w * (total / writers);
                done.add(pool.submit(() -> {
                    try (Connection c = ds.getConnection(); PreparedStatement ps = c.prepareStatement(INSERT)) {
                        for (int i = first; i < first + total / writers; i++) {
                            run(ps, i, 1);
                        }
                    }
                    return null;
                }));
            }
            for (java.util.concurrent.Future<?> f : done) {
                f.get();
            }
            return (double) (total / writers * writers) / ((System.nanoTime() - start) / 1e9);
        } finally {
            pool.shutdown();
        }
    }

    /** Point reads through the DataSource, each read to its end (as a shadowed read must be). */
    private static long reads(DataSource ds, int times) throws SQLException {
        try (Connection c = ds.getConnection(); PreparedStatement ps = c.prepareStatement("SELECT id, time, v FROM bench_dw WHERE id = ?")) {
            long start = System.nanoTime();
            for (int i = 0; i < times; i++) {
                ps.setLong(1, i);
                try (java.sql.ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        rs.getLong(1);
                    }
                }
            }
            return System.nanoTime() - start;
        }
    }

    private static void run(PreparedStatement ps, int i, int rows) throws SQLException {
        Timestamp t = Timestamp.from(Instant.parse("2026-11-01T00:00:00Z").plusSeconds(i));
        if (rows == 1) {
            ps.setLong(1, i);
            ps.setTimestamp(2, t);
            ps.setDouble(3, i * 0.5);
            ps.executeUpdate();
            return;
        }
        for (int r = 0; r < rows; r++) {
            ps.setLong(1, (long) i * rows + r);
            ps.setTimestamp(2, t);
            ps.setDouble(3, r * 0.5);
            ps.addBatch();
        }
        ps.executeBatch();
    }
}
