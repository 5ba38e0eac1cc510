package io.tsmigrate.proxy;

import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.exporter.httpserver.HTTPServer;
import io.prometheus.metrics.model.registry.PrometheusRegistry;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Supplier;
import java.util.stream.Stream;

/**
 * The proxy's metrics in Prometheus' text format, served on {@code /metrics} (the Prometheus Java
 * client's own HTTP server): connections, transactions mirrored, journaled and replayed, writes that
 * could not be repeated, bytes pending in journals, and the latency the proxy adds to a commit
 * (the time a client's ReadyForQuery waits for the secondary).
 */
final class ProxyMetrics implements AutoCloseable {

    private final PrometheusRegistry registry = new PrometheusRegistry();
    private final Histogram addedLatency;
    private HTTPServer http;

    ProxyMetrics(Supplier<ProxyServer.Stats> stats, Path journalDirectory, Supplier<Number> computedShapes) {
        counter("tsmigrate_proxy_connections_total", "Client connections accepted.", () -> stats.get().connections());
        gauge("tsmigrate_proxy_connections_open", "Client sessions open now.", () -> stats.get().open());
        counter("tsmigrate_proxy_transactions_mirrored_total", "Committed transactions repeated on the secondary or journaled.",
                () -> stats.get().transactionsMirrored());
        counter("tsmigrate_proxy_transactions_journaled_total", "Transactions the secondary could not take, appended to a journal.",
                () -> stats.get().dualWrite().journaled());
        counter("tsmigrate_proxy_journal_entries_replayed_total", "Journal entries replayed once the secondary was back.",
                () -> stats.get().dualWrite().replayed());
        counter("tsmigrate_proxy_writes_unmirrorable_total", "Committed writes that could not be repeated (logged; verify shows "
                + "their rows).", () -> stats.get().unmirrorable());
        gauge("tsmigrate_proxy_secondary_diverted", "1 while writes for the secondary go to its journal.",
                () -> stats.get().dualWrite().diverted() ? 1 : 0);
        counter("tsmigrate_proxy_shadow_reads_compared_total", "Reads also run on the secondary and compared (--shadow-read-share).",
                () -> stats.get().dualWrite().shadowCompared());
        counter("tsmigrate_proxy_shadow_reads_mismatched_total", "Compared reads whose results differed once the backfill was complete.",
                () -> stats.get().dualWrite().shadowMismatches());
        counter("tsmigrate_proxy_shadow_reads_dropped_total", "Shadow reads dropped because their queue was full (never waited for).",
                () -> stats.get().dualWrite().shadowDropped());
        gauge("tsmigrate_proxy_journal_pending_bytes", "Bytes in journal files not yet known replayed.", () -> size(journalDirectory));
        gauge("tsmigrate_proxy_write_shapes_computed_per_side", "Query shapes whose values each side computes for itself "
                + "(now(), sequences, volatile defaults): the sides differ in those columns.", computedShapes);
        addedLatency = Histogram.builder().name("tsmigrate_proxy_added_latency_seconds")
                .help("How long a client's end of transaction waited for the secondary (or the journal).")
                .classicOnly().classicUpperBounds(0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
                .register(registry);
    }

    private void counter(String name, String help, Supplier<Number> value) {
        CounterWithCallback.builder().name(name).help(help).callback(cb -> cb.call(value.get().doubleValue())).register(registry);
    }

    private void gauge(String name, String help, Supplier<Number> value) {
        GaugeWithCallback.builder().name(name).help(help).callback(cb -> cb.call(value.get().doubleValue())).register(registry);
    }

    private static long size(Path dir) {
        if (!Files.isDirectory(dir) || Files.notExists(dir)) {
            return 0;
        }
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(p -> p.toString().endsWith(".journal")).mapToLong(p -> p.toFile().length()).sum();
        } catch (IOException e) {
            return 0;
        }
    }

    void observeAddedLatency(long nanos) {
        addedLatency.observe(nanos / 1e9);
    }

    /** Serves {@code /metrics} on this address (port 0: any free one). */
    void serve(InetSocketAddress address) throws IOException {
        http = HTTPServer.builder().hostname(address.getHostString()).port(address.getPort()).registry(registry).buildAndStart();
    }

    /** The port {@code /metrics} is served on, once serving. */
    int port() {
        return http.getPort();
    }

    @Override
    public void close() {
        if (http != null) {
            http.close();
        }
    }
}
