package io.tsmigrate.proxy;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.socket.SocketChannel;
import io.tsmigrate.core.connect.ConnectionSpec;
import io.tsmigrate.core.connect.PgConnector;
import io.tsmigrate.dualwrite.DualWriteConfig;
import io.tsmigrate.dualwrite.DualWriteStats;
import io.tsmigrate.dualwrite.TransactionMirror;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.logging.Logger;
import javax.sql.DataSource;

/**
 * {@code tsmigrate proxy}: listens like a PostgreSQL server, relays each client's session to the
 * primary, and repeats the writes the primary committed on the secondary through the dual-write
 * library's {@link TransactionMirror} (so journal, replay, writer registration and following the
 * cutover are the library's). Start with {@link #start}, stop with {@link #close}.
 */
public final class ProxyServer implements AutoCloseable {

    /** How to run: where to listen, the two sides, how clients log in, and the library's settings. */
    public record Config(String listenHost, int listenPort, ConnectionSpec source, ConnectionSpec target, AuthMode auth,
                         java.util.Optional<java.nio.file.Path> authFile, DualWriteConfig dualWrite, Duration shutdownGrace,
                         java.util.Optional<InetSocketAddress> metrics, java.util.Optional<Tls> tls) {
    }

    /** The certificate chain and private key (PEM, the key in PKCS#8) the proxy answers SSLRequest with. */
    public record Tls(java.nio.file.Path certificateChain, java.nio.file.Path privateKey) {
    }

    /** How clients log in to the proxy: SCRAM-SHA-256 against the users file, or trust (local use only). */
    public enum AuthMode { SCRAM, TRUST }

    /** Counters since start. */
    public record Stats(long connections, long open, long transactionsMirrored, long unmirrorable, DualWriteStats dualWrite) {
    }

    private static final Logger LOG = Logger.getLogger("io.tsmigrate.proxy");

    /** The application_name of the proxy's own connections to both sides. */
    public static final String APPLICATION_NAME = "tsmigrate-proxy";

    private final Config config;
    private final ServerAddress source;
    private final ServerAddress target;
    private final TransactionMirror mirror;
    private final PrimaryCatalog sourceTypes;
    private final PrimaryCatalog targetTypes;
    private final Authenticator authenticator;
    private final io.netty.handler.ssl.SslContext tls;
    private final EventLoopGroup boss;
    private final EventLoopGroup workers;
    private final ExecutorService blocking = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "tsmigrate-proxy-mirror");
        t.setDaemon(true);
        return t;
    });
    private final Map<Integer, ClientSession> sessions = new ConcurrentHashMap<>();
    private final AtomicLong connections = new AtomicLong();
    private final LongAdder mirrored = new LongAdder();
    private final LongAdder unmirrorable = new LongAdder();
    private Channel listener;
    private final java.util.concurrent.atomic.AtomicBoolean closed = new java.util.concurrent.atomic.AtomicBoolean();
    private final ProxyMetrics metrics;

    private ProxyServer(Config config) throws IOException {
        this.config = config;
        if (config.auth() == AuthMode.TRUST) {
            this.authenticator = Authenticator.trust();
        } else {
            java.nio.file.Path file = config.authFile().orElseThrow(() -> new IllegalArgumentException(
                    "SCRAM authentication needs a users file (\"user\" \"password\" per line, as PgBouncer's auth_file)"));
            this.authenticator = ScramAuthenticator.fromFile(file);
        }
        if (config.tls().isPresent()) {
            try {
                this.tls = io.netty.handler.ssl.SslContextBuilder.forServer(config.tls().get().certificateChain().toFile(),
                        config.tls().get().privateKey().toFile()).build();
            } catch (javax.net.ssl.SSLException | IllegalArgumentException e) {
                throw new IllegalArgumentException("cannot use " + config.tls().get().certificateChain() + " and "
                        + config.tls().get().privateKey() + " for TLS: " + e.getMessage(), e);
            }
        } else {
            this.tls = null;
        }
        this.source = ServerAddress.of(config.source());
        this.target = ServerAddress.of(config.target());
        DataSource sourceDs = PgConnector.dataSource(config.source(), APPLICATION_NAME);
        DataSource targetDs = PgConnector.dataSource(config.target(), APPLICATION_NAME);
        this.sourceTypes = new PrimaryCatalog(sourceDs);
        this.targetTypes = new PrimaryCatalog(targetDs);
        this.mirror = new TransactionMirror(sourceDs, targetDs, config.dualWrite());
        this.mirror.onRolesSwapped(() -> sessions.values().forEach(ClientSession::rolesSwapped));
        this.metrics = new ProxyMetrics(this::stats, config.dualWrite().journalDirectory(), () -> computedValues().size());
        this.boss = new MultiThreadIoEventLoopGroup(1, Transport.ioHandler());
        this.workers = new MultiThreadIoEventLoopGroup(eventLoops(), Transport.ioHandler());
    }

    /**
     * One event loop per core, not Netty's default of two: a session's work between two reads is
     * small, and every extra loop thread adds wake-ups and context switches, which are most of a
     * relay's cost (select-only through the proxy, 5 interleaved rounds on 2 cores: 0.52x direct with
     * 2 loops, 0.48x with 4, PgBouncer 0.48x). {@code -Dio.netty.eventLoopThreads} still decides when given.
     */
    private static int eventLoops() {
        return Integer.getInteger("io.netty.eventLoopThreads", Runtime.getRuntime().availableProcessors());
    }

    /** Binds and starts accepting clients; returns once it listens. */
    public static ProxyServer start(Config config) throws IOException, InterruptedException {
        ProxyServer server = new ProxyServer(config);
        try {
            server.bind();
        } catch (IOException | InterruptedException | RuntimeException e) {
            server.close();
            throw e;
        }
        return server;
    }

    private void bind() throws IOException, InterruptedException {
        if (mirror.register()) {
            LOG.info("tsmigrate proxy: registered as writer " + config.dualWrite().writerName() + " on the target");
        } else {
            LOG.warning("tsmigrate proxy: the target is not reachable; writes go to the journal in "
                    + config.dualWrite().journalDirectory() + " until it is");
        }
        if (config.metrics().isPresent()) {
            try {
                metrics.serve(config.metrics().get());
            } catch (IOException e) {
                throw new IOException("cannot serve metrics on " + config.metrics().get() + ": " + e.getMessage(), e);
            }
            LOG.info("tsmigrate proxy: metrics on http://" + config.metrics().get().getHostString() + ":" + metrics.port() + "/metrics");
        }
        ServerBootstrap b = new ServerBootstrap().group(boss, workers).channel(Transport.serverSocket())
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, new WriteBufferWaterMark(256 * 1024, 1024 * 1024))
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        connections.incrementAndGet();
                        FrameDecoder decoder = new FrameDecoder(false);
                        ch.pipeline().addLast(decoder, new ClientSession(ProxyServer.this, decoder));
                    }
                });
        try {
            listener = b.bind(config.listenHost(), config.listenPort()).sync().channel();
        } catch (Exception e) {
            throw new IOException("cannot listen on " + config.listenHost() + ":" + config.listenPort() + ": " + e.getMessage(), e);
        }
        LOG.info("tsmigrate proxy: listening on " + address() + "; the primary is the " + (mirror.targetIsPrimary() ? target : source)
                + ", writes are repeated on the " + (mirror.targetIsPrimary() ? source : target)
                + " (" + eventLoops() + " event loops, " + Transport.name() + ")");
    }

    /** The address it listens on (the port chosen when 0 was asked for). */
    public InetSocketAddress address() {
        return (InetSocketAddress) listener.localAddress();
    }

    public Stats stats() {
        return new Stats(connections.get(), sessions.size(), mirrored.sum(), unmirrorable.sum(), mirror.stats());
    }

    /** The port metrics are served on, when they are. */
    public java.util.OptionalInt metricsPort() {
        return config.metrics().isPresent() ? java.util.OptionalInt.of(metrics.port()) : java.util.OptionalInt.empty();
    }

    /** Runs the library's background check now: replays journals, follows the primary. */
    public void checkNow() {
        mirror.checkNow();
    }

    // ---- for sessions

    ServerAddress source() {
        return source;
    }

    ServerAddress target() {
        return target;
    }

    TransactionMirror mirror() {
        return mirror;
    }

    Authenticator authenticator() {
        return authenticator;
    }

    /** TLS towards clients, when configured. */
    java.util.Optional<io.netty.handler.ssl.SslContext> tls() {
        return java.util.Optional.ofNullable(tls);
    }

    Logger log() {
        return LOG;
    }

    void opened(ClientSession s) {
        sessions.put(s.pid(), s);
    }

    void closed(ClientSession s) {
        sessions.remove(s.pid());
    }

    void cancel(int pid, int key) {
        ClientSession s = sessions.get(pid);
        if (s != null) {
            s.cancel(key);
        }
    }

    /**
     * Repeats a committed transaction on the secondary off the event loop; with its intent (lossless
     * mode), the writes the intent holds are the ones repeated, under the intent's identity.
     */
    void mirrorInBackground(TransactionMirror.Session session, List<MirrorTracker.PendingWrite> writes, Intended intended,
                            Runnable done) {
        outcomeInBackground(() -> intended == null ? session.apply(ops(session, writes))
                : session.apply(intended.ops(), intended.intent()), done);
    }

    /** Runs what becomes of a committed transaction (applied, journaled) off the event loop; {@code done} runs after, whatever happened. */
    void outcomeInBackground(java.util.function.Supplier<TransactionMirror.Outcome> work, Runnable done) {
        blocking.execute(() -> {
            try {
                if (work.get() == TransactionMirror.Outcome.FAILED) {
                    LOG.severe("tsmigrate proxy: a committed transaction could not be repeated on the secondary nor journaled");
                }
                mirrored.increment();
            } catch (RuntimeException e) {
                LOG.severe("tsmigrate proxy: mirroring failed: " + e);
            } finally {
                done.run();
            }
        });
    }

    /** A committed transaction the secondary applied (on a session's own connection to it). */
    void mirrored() {
        mirrored.increment();
    }

    /** Work that may block (a catalog lookup, registering the writer), off the event loop. */
    void inBackground(Runnable work) {
        blocking.execute(work);
    }

    /** A transaction's intent and the writes it holds, as they will be repeated. */
    record Intended(TransactionMirror.Intent intent, List<TransactionMirror.Op> ops) {
    }

    /**
     * Writes the intent of an open transaction off the event loop (lossless mode), before its
     * COMMIT is sent; {@code then} gets it, or null when it cannot be written (the transaction must
     * not commit).
     */
    void intendInBackground(TransactionMirror.Session session, List<MirrorTracker.PendingWrite> writes, long xid,
                            java.util.function.Consumer<Intended> then) {
        blocking.execute(() -> {
            Intended intended = null;
            try {
                List<TransactionMirror.Op> ops = ops(session, writes);
                intended = new Intended(session.intend(ops, xid), ops);
            } catch (RuntimeException e) {
                LOG.severe("tsmigrate proxy: " + e.getMessage());
            } finally {
                then.accept(intended);
            }
        });
    }

    /** The writes as the secondary runs them: values inlined as typed literals, COPY data as it came. */
    List<TransactionMirror.Op> ops(TransactionMirror.Session session, List<MirrorTracker.PendingWrite> writes) {
        return ops(session, writes, true);
    }

    /**
     * {@link #ops} on an event loop: null when a write needs something looked up first (a type name
     * or a table's defaults the proxy has not asked the primary for yet).
     */
    List<TransactionMirror.Op> opsWithoutBlocking(TransactionMirror.Session session, List<MirrorTracker.PendingWrite> writes) {
        for (MirrorTracker.PendingWrite w : writes) {
            if (!mirror.examined(w.sql)) {
                return null;
            }
        }
        try {
            return ops(session, writes, false);
        } catch (PrimaryCatalog.NotKnown e) {
            return null;
        }
    }

    private List<TransactionMirror.Op> ops(TransactionMirror.Session session, List<MirrorTracker.PendingWrite> writes, boolean mayBlock) {
        PrimaryCatalog types = session.targetIsPrimary() ? targetTypes : sourceTypes;
        java.util.function.IntFunction<String> typeName = mayBlock ? types::name : types::known;
        List<TransactionMirror.Op> ops = new ArrayList<>(writes.size());
        for (MirrorTracker.PendingWrite w : writes) {
            if (mayBlock) {
                noteComputedValues(w.sql, types);
            }
            try {
                ops.add(w.copyData != null ? TransactionMirror.Op.copy(w.sql, w.copyData.toByteArray())
                        : TransactionMirror.Op.sql(w.values.length == 0 ? w.sql : Inliner.inline(w.sql, w.values, typeName)));
            } catch (IllegalArgumentException e) {
                unmirrorable.increment();
                LOG.severe("tsmigrate proxy: a committed write cannot be repeated on the secondary (" + e.getMessage()
                        + "); verify will show its rows: " + abbreviate(w.sql));
            }
        }
        return ops;
    }

    void addedLatency(long nanos) {
        metrics.observeAddedLatency(nanos);
    }

    /**
     * Once per query shape: says (log, metrics, {@link #computedValues}, the state) when a write's
     * values are computed by each side for itself, so that the two sides will differ in those columns.
     */
    private void noteComputedValues(String sql, PrimaryCatalog catalog) {
        String warning = mirror.examineWrite(sql, catalog);
        if (warning != null) {
            LOG.warning(warning);
        }
    }

    /** Query shapes whose values each side computes for itself, with why. */
    public Map<String, String> computedValues() {
        return mirror.computedValues();
    }

    void closeInBackground(TransactionMirror.Session session) {
        blocking.execute(session::close);
    }

    private static String abbreviate(String sql) {
        String s = sql.replaceAll("\\s+", " ").strip();
        return s.length() > 120 ? s.substring(0, 117) + "..." : s;
    }

    /**
     * Stops accepting, lets open transactions finish (up to the grace period), then closes every
     * connection and the library (its journals stay for the next start or tsmigrate replay).
     */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        if (listener != null) {
            listener.close().awaitUninterruptibly(5, java.util.concurrent.TimeUnit.SECONDS);
        }
        long deadline = System.nanoTime() + config.shutdownGrace().toNanos();
        while (System.nanoTime() < deadline && !sessions.values().stream().allMatch(ClientSession::idle)) {
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        // Bounded: a stop must end even if an event loop does not (the process exits after this).
        if (!workers.shutdownGracefully(0, 5, java.util.concurrent.TimeUnit.SECONDS).awaitUninterruptibly(15,
                java.util.concurrent.TimeUnit.SECONDS)) {
            LOG.warning("tsmigrate proxy: connections did not close within 15 s; stopping anyway");
        }
        boss.shutdownGracefully(0, 5, java.util.concurrent.TimeUnit.SECONDS).awaitUninterruptibly(15, java.util.concurrent.TimeUnit.SECONDS);
        blocking.shutdown();
        try {
            blocking.awaitTermination(10, java.util.concurrent.TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        mirror.close();
        metrics.close();
        sourceTypes.close();
        targetTypes.close();
        LOG.info("tsmigrate proxy: stopped");
    }
}
