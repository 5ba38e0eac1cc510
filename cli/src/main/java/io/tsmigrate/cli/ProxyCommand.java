package io.tsmigrate.cli;

import io.tsmigrate.core.Human;
import io.tsmigrate.core.TsmigrateException;
import io.tsmigrate.core.TsmigrateException.Kind;
import io.tsmigrate.dualwrite.DualWriteConfig;
import io.tsmigrate.dualwrite.FailurePolicy;
import io.tsmigrate.proxy.ProxyServer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;

/** {@code tsmigrate proxy}: dual-write for applications in any language. */
@Command(name = "proxy", mixinStandardHelpOptions = true, usageHelpAutoWidth = true,
        description = {
            "Dual-writes for applications in any language, as a PostgreSQL wire-protocol proxy (runbook steps 2 and 4).",
            "",
            "Listens like a PostgreSQL server and dual-writes for every client that connects: each session runs on the "
                + "primary (the source until tsmigrate cutover), and each transaction the primary committed is repeated on the "
                + "other side before the client sees its end. Applications change only the host and port they connect to.",
            "",
            "When the secondary fails, its transactions go to a journal (the dual-write library's format) and later ones "
                + "follow until a health check finds it back and the journal is replayed in order; tsmigrate replay applies "
                + "the same journals. The proxy registers as a writer, so completion-point, status and cutover see it.",
            "",
            "Session mode: one connection to each side per client connection (transaction pooling would move a client's "
                + "session state between server connections, which a dual-writing proxy cannot repeat faithfully).",
            ""
        },
        footer = {"%nClients log in to the proxy (SCRAM-SHA-256 against --auth-file, PgBouncer's \"user\" \"password\" "
            + "format, plain or SCRAM secrets); the proxy logs in to each side with the credentials of --source/--target.",
            "%nRuns in the foreground; SIGTERM or Ctrl-C stops accepting, lets open transactions finish (--shutdown-grace), "
            + "then closes.",
            "%nExit codes: 0 stopped on request, 2 bad input, 3 cannot listen."})
final class ProxyCommand implements Callable<Integer> {

    @Mixin
    ConnectionOptions connections;

    @Option(names = "--listen", paramLabel = "HOST:PORT", defaultValue = "127.0.0.1:6432",
            description = "Where clients connect. Default: ${DEFAULT-VALUE}.")
    String listen;

    @Option(names = "--auth", paramLabel = "scram|trust", defaultValue = "scram",
            description = "How clients log in: scram (against --auth-file) or trust (anyone, as any user: local use only). "
                    + "Default: ${DEFAULT-VALUE}.")
    String auth;

    @Option(names = "--auth-file", paramLabel = "FILE",
            description = "The users clients may log in as: one \"user\" \"password\" per line (PgBouncer's auth_file format); "
                    + "the password plain or a SCRAM-SHA-256 secret as in pg_authid.")
    Path authFile;

    @Option(names = "--journal", paramLabel = "DIR", defaultValue = "tsmigrate-journal",
            description = "Where transactions the secondary could not take are kept until replayed. Default: ${DEFAULT-VALUE}.")
    Path journal;

    @Option(names = "--writer-name", paramLabel = "NAME",
            description = "The proxy's name among the writers (tsmigrate status). Default: proxy-HOST-PORT.")
    String writerName;

    @Option(names = "--health-check", paramLabel = "DURATION", defaultValue = "5s",
            description = "How often the secondary is checked, journals replayed and the primary that cutover sets is read. "
                    + "Default: ${DEFAULT-VALUE}.")
    String healthCheck;

    @Option(names = "--shutdown-grace", paramLabel = "DURATION", defaultValue = "30s",
            description = "On SIGTERM, how long open transactions may take to finish. Default: ${DEFAULT-VALUE}.")
    String shutdownGrace;

    @Option(names = "--lossless", description = "Before each COMMIT of a transaction that wrote, write its intent (its writes and "
            + "the primary's transaction id) to the journal directory, durably, so that a crash of the proxy at any instant loses "
            + "nothing: at the next start, what the primary committed and the secondary lacks is applied to it, once. An "
            + "auto-commit write runs in a transaction block the proxy opens. Costs a round trip to the primary and a shared "
            + "fsync per transaction.")
    boolean lossless;

    @Option(names = "--shadow-read-share", paramLabel = "SHARE", defaultValue = "0",
            description = "The share of reads (0 to 1) also run on the secondary, off the client's path, and compared: "
                    + "row count and a hash of the rows, latency on both sides, per query shape in tsmigrate compare-load. "
                    + "Reads with their values and results in text form are compared (psql, pgbench, psycopg, node-postgres; "
                    + "pgjdbc's binary-format reads are not). Default: ${DEFAULT-VALUE}.")
    double shadowReadShare;

    @Option(names = "--metrics", paramLabel = "HOST:PORT",
            description = "Serve Prometheus metrics on http://HOST:PORT/metrics (connections, transactions mirrored and "
                    + "journaled, journal bytes pending, the latency the proxy adds to a commit). Default: not served.")
    String metrics;

    @Option(names = "--tls-cert", paramLabel = "FILE",
            description = "The certificate chain (PEM) to answer clients' SSLRequest with; with --tls-key. Default: no TLS "
                    + "towards clients (the proxy answers SSLRequest with 'N', so sslmode=prefer connects in the clear).")
    Path tlsCert;

    @Option(names = "--tls-key", paramLabel = "FILE", description = "The private key (PEM, PKCS#8) of --tls-cert.")
    Path tlsKey;

    @Override
    public Integer call() throws IOException, InterruptedException {
        if ((tlsCert == null) != (tlsKey == null)) {
            throw TsmigrateException.usage("--tls-cert and --tls-key go together: give both, or neither for no TLS.");
        }
        for (Path p : new Path[] {tlsCert, tlsKey}) {
            if (p != null && !Files.isReadable(p)) {
                throw TsmigrateException.usage(p + " cannot be read.");
            }
        }
        InetSocketAddress listenAddress = hostPort("--listen", listen);
        Optional<InetSocketAddress> metricsAddress = metrics == null ? Optional.empty() : Optional.of(hostPort("--metrics", metrics));
        String host = listenAddress.getHostString();
        int port = listenAddress.getPort();
        ProxyServer.AuthMode mode = switch (auth.toLowerCase(Locale.ROOT)) {
            case "scram" -> ProxyServer.AuthMode.SCRAM;
            case "trust" -> ProxyServer.AuthMode.TRUST;
            default -> throw TsmigrateException.usage("--auth " + auth + " is not scram or trust.");
        };
        if (mode == ProxyServer.AuthMode.SCRAM && authFile == null) {
            throw TsmigrateException.usage("--auth scram needs --auth-file FILE with the users clients log in as (\"user\" "
                    + "\"password\" per line), or pass --auth trust for local use.");
        }
        if (authFile != null && !Files.isReadable(authFile)) {
            throw TsmigrateException.usage("--auth-file " + authFile + " cannot be read.");
        }
        if (!(shadowReadShare >= 0 && shadowReadShare <= 1)) {
            throw TsmigrateException.usage("--shadow-read-share " + shadowReadShare + " is not a share: give a number from 0 to 1, "
                    + "for example 0.1.");
        }
        Duration interval = Human.parseDuration(healthCheck, "--health-check");
        Duration grace = Human.parseDuration(shutdownGrace, "--shutdown-grace");
        String name = writerName != null ? writerName : "proxy-" + InetAddress.getLocalHost().getHostName() + "-" + port;
        Files.createDirectories(journal);
        ProxyServer.Config config = new ProxyServer.Config(host, port, connections.source(), connections.target(), mode,
                Optional.ofNullable(authFile), new DualWriteConfig(FailurePolicy.JOURNAL, journal, name, "tsmigrate proxy",
                interval, shadowReadShare, lossless), grace, metricsAddress,
                tlsCert == null ? Optional.empty() : Optional.of(new ProxyServer.Tls(tlsCert, tlsKey)));
        ProxyServer server;
        try {
            server = ProxyServer.start(config);
        } catch (IllegalArgumentException e) {
            throw TsmigrateException.usage(e.getMessage() + ".");
        } catch (IOException e) {
            throw new TsmigrateException(Kind.CONNECTION, e.getMessage() + ".", e);
        }
        if (server.metricsPort().isPresent()) {
            System.err.println("tsmigrate: proxy metrics on http://" + metricsAddress.get().getHostString() + ":"
                    + server.metricsPort().getAsInt() + "/metrics");
        }
        // SIGTERM (a service manager) and SIGINT (Ctrl-C) are requests to stop: handled, so the exit code is 0.
        CountDownLatch stop = new CountDownLatch(1);
        for (String signalName : new String[] {"TERM", "INT"}) {
            sun.misc.Signal.handle(new sun.misc.Signal(signalName), signal -> stop.countDown());
        }
        stop.await();
        System.err.println("tsmigrate: stopping the proxy: open transactions may finish for up to " + Human.duration(grace));
        server.close();
        return 0;
    }

    /** HOST:PORT ([v6]:PORT too), unresolved: the server binds to it. */
    private static InetSocketAddress hostPort(String flag, String value) {
        int colon = value.lastIndexOf(':');
        int port;
        try {
            port = Integer.parseInt(value.substring(colon + 1));
        } catch (NumberFormatException | StringIndexOutOfBoundsException e) {
            port = -1;
        }
        if (colon <= 0 || port < 0 || port > 65535) {
            throw TsmigrateException.usage(flag + " " + value + " is not HOST:PORT (for example 127.0.0.1:6432).");
        }
        return InetSocketAddress.createUnresolved(value.substring(0, colon).replaceAll("^\\[|]$", ""), port);
    }
}
