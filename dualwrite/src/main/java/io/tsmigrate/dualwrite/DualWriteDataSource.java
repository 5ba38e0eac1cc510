package io.tsmigrate.dualwrite;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.SQLFeatureNotSupportedException;
import java.time.Duration;
import java.util.Objects;
import java.util.logging.Logger;
import javax.sql.DataSource;

/**
 * A {@link DataSource} that writes to two databases: the application's only change is to use it in
 * place of its own. Every statement runs on the primary (the source during the migration), whose
 * results the application sees; every write also runs on the secondary (the target), in a
 * transaction that commits after the primary's commit succeeded and rolls back with it.
 *
 * <pre>{@code
 * DataSource app = DualWriteDataSource.builder()
 *         .primary(sourcePool)            // the application's own pools
 *         .secondary(targetPool)
 *         .journalDirectory(Path.of("/var/lib/myapp/tsmigrate-journal"))
 *         .build();
 * }</pre>
 *
 * <p>A write that fails on the secondary is, by default ({@link FailurePolicy#JOURNAL}), appended
 * to a durable local journal with its whole transaction and forced to disk before the call returns;
 * later writes go there too until a health check finds the secondary back and has replayed the
 * journal, so order holds. The first write that reaches the secondary registers this writer in
 * {@code tsmigrate.writer} with the time it began dual-writing, which {@code tsmigrate
 * completion-point} uses. What counts as a write is described in {@link SqlKind}.
 *
 * <p>{@code tsmigrate cutover} makes the target the primary: the background check notices within
 * {@code healthCheckInterval}, and connections borrowed from then on use the target as primary and
 * keep writing to the source as a backup; connections already borrowed finish on the old primary.
 * Shadow reads ({@link Builder#shadowReadShare}) compare a share of reads on both sides.
 *
 * <p>Thread-safe; each connection is used by one thread at a time, as JDBC requires. Close it to
 * stop its health-check thread (the pools stay the application's).
 */
public final class DualWriteDataSource implements DataSource, AutoCloseable {

    private final DataSource primary;
    private final DualWriter writer;

    private DualWriteDataSource(DataSource primary, DualWriter writer) {
        this.primary = primary;
        this.writer = writer;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Builds a {@link DualWriteDataSource}. */
    public static final class Builder {
        private DataSource primary;
        private DataSource secondary;
        private FailurePolicy policy = FailurePolicy.JOURNAL;
        private Path journalDirectory = Path.of("tsmigrate-journal");
        private String application = "application";
        private String writerName;
        private Duration healthCheckInterval = Duration.ofSeconds(5);
        private double shadowReadShare;
        private boolean lossless;

        public Builder primary(DataSource dataSource) {
            this.primary = dataSource;
            return this;
        }

        public Builder secondary(DataSource dataSource) {
            this.secondary = dataSource;
            return this;
        }

        public Builder failurePolicy(FailurePolicy policy) {
            this.policy = policy;
            return this;
        }

        /** Where the journal is kept: a directory on durable local disk. Default: ./tsmigrate-journal. */
        public Builder journalDirectory(Path directory) {
            this.journalDirectory = directory;
            return this;
        }

        public Builder application(String name) {
            this.application = name;
            return this;
        }

        /** This writer's name in the registry. Default: application, host and process id. */
        public Builder writerName(String name) {
            this.writerName = name;
            return this;
        }

        /** How often the secondary's health is checked and the writer's heartbeat sent. Default: 5 s. */
        public Builder healthCheckInterval(Duration interval) {
            this.healthCheckInterval = interval;
            return this;
        }

        /**
         * The share of reads (0 to 1; default 0, off) also run on the secondary, off the application's
         * thread, to compare results and latencies (see {@code tsmigrate compare-load}).
         */
        public Builder shadowReadShare(double share) {
            this.shadowReadShare = share;
            return this;
        }

        /**
         * Lossless mode (default off): before each transaction that wrote commits on the primary,
         * its writes and the primary's transaction id are forced to the journal directory (concurrent
         * commits share one fsync), and the secondary records the transaction's identity with its
         * writes. A crash of the process at any instant then loses nothing: at the next start, the
         * transactions the primary committed and the secondary lacks are applied to it, exactly once.
         * Costs one more round trip to the primary per transaction and a shared fsync; an auto-commit
         * INSERT, UPDATE, DELETE, MERGE or COPY runs in a transaction of its own. Needs the JOURNAL policy.
         */
        public Builder lossless(boolean on) {
            this.lossless = on;
            return this;
        }

        /**
         * @throws UncheckedIOException when the journal cannot be opened
         */
        public DualWriteDataSource build() {
            Objects.requireNonNull(primary, "primary data source");
            Objects.requireNonNull(secondary, "secondary data source");
            String name = writerName != null ? writerName : application + "@" + host() + ":" + ProcessHandle.current().pid();
            try {
                return new DualWriteDataSource(primary, new DualWriter(primary, secondary,
                        new DualWriteConfig(policy, journalDirectory, name, application, healthCheckInterval, shadowReadShare, lossless)));
            } catch (IOException e) {
                throw new UncheckedIOException("cannot open the dual-write journal in " + journalDirectory + ": " + e.getMessage(), e);
            }
        }

        private static String host() {
            try {
                return InetAddress.getLocalHost().getHostName();
            } catch (IOException e) {
                return "unknown-host";
            }
        }
    }

    /** A connection whose primary is the source (or, after tsmigrate cutover, the target) at the moment. */
    @Override
    public Connection getConnection() throws SQLException {
        return DualConnection.wrap(writer, null, null);
    }

    @Override
    public Connection getConnection(String username, String password) throws SQLException {
        return DualConnection.wrap(writer, username, password);
    }

    /** Whether the target is the primary for new connections. */
    public boolean targetIsPrimary() {
        return writer.targetIsPrimary();
    }

    /** Counters of what reached the secondary, and whether writes currently go to the journal. */
    public DualWriteStats stats() {
        return writer.stats();
    }

    /** Checks the secondary now (and replays the journal if it is back), instead of waiting for the next check. */
    public void checkSecondaryNow() {
        writer.checkNow();
    }

    /** Waits for queued shadow reads, then flushes their results to the target (tests, shutdown). */
    public void flushShadowReads() {
        writer.checkNow();
    }

    public String writerName() {
        return writer.config().writerName();
    }

    @Override
    public void close() {
        writer.close();
    }

    @Override
    public PrintWriter getLogWriter() throws SQLException {
        return primary.getLogWriter();
    }

    @Override
    public void setLogWriter(PrintWriter out) throws SQLException {
        primary.setLogWriter(out);
    }

    @Override
    public void setLoginTimeout(int seconds) throws SQLException {
        primary.setLoginTimeout(seconds);
    }

    @Override
    public int getLoginTimeout() throws SQLException {
        return primary.getLoginTimeout();
    }

    @Override
    public Logger getParentLogger() throws SQLFeatureNotSupportedException {
        throw new SQLFeatureNotSupportedException("tsmigrate dual-write logs through System.Logger");
    }

    @Override
    public <T> T unwrap(Class<T> iface) throws SQLException {
        if (iface.isInstance(this)) {
            return iface.cast(this);
        }
        return primary.unwrap(iface);
    }

    @Override
    public boolean isWrapperFor(Class<?> iface) throws SQLException {
        return iface.isInstance(this) || primary.isWrapperFor(iface);
    }
}
