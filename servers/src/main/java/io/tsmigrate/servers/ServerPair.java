package io.tsmigrate.servers;

import io.tsmigrate.core.connect.ConnectionSpec;
import io.tsmigrate.core.pgtools.PgInstallations;
import io.tsmigrate.core.pgtools.PgInstallations.Installation;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * A source PostgreSQL and a target PostgreSQL + TimescaleDB, started together for a test suite or
 * the demo. The target is the newest installation that has TimescaleDB; the source is, where
 * another major is installed, a different (older) one, so that dumps cross server versions as
 * they do in real migrations.
 *
 * <p>{@link #close()} stops both and removes their directories.
 */
public final class ServerPair implements AutoCloseable {

    /** TimescaleDB's library in a PostgreSQL installation's lib directory. */
    private static final String TIMESCALEDB_LIBRARY = "timescaledb.so";

    private final PgServer source;
    private final PgServer target;

    private ServerPair(PgServer source, PgServer target) {
        this.source = source;
        this.target = target;
    }

    /**
     * Starts both servers under {@code parent}.
     *
     * @throws IllegalStateException naming what to install when PostgreSQL or TimescaleDB is missing
     */
    public static ServerPair start(Path parent) {
        removeStaleClusters(parent);
        List<Installation> installations = PgInstallations.find();
        Installation targetInstallation = installations.stream()
                .filter(i -> i.has("initdb") && i.has("pg_ctl") && hasTimescaledb(i))
                .findFirst()
                .orElseThrow(() -> new IllegalStateException(installations.isEmpty()
                        ? "no PostgreSQL server is installed; run scripts/install-prerequisites"
                        : "no PostgreSQL installation with TimescaleDB found (looked in "
                                + installations.stream().map(i -> i.bindir().toString()).toList()
                                + "); run scripts/install-prerequisites"));
        Installation sourceInstallation = installations.stream()
                .filter(i -> i.has("initdb") && i.has("pg_ctl") && i.major() != targetInstallation.major()
                        && i.major() >= 13)
                .findFirst()
                .orElse(targetInstallation);
        PgServer target = PgServer.start(targetInstallation, Map.of(
                "shared_preload_libraries", "'timescaledb'",
                "timescaledb.telemetry_level", "off",
                "max_worker_processes", "16"), parent);
        try {
            PgServer source = PgServer.start(sourceInstallation, Map.of(), parent);
            return new ServerPair(source, target);
        } catch (RuntimeException e) {
            target.close();
            throw e;
        }
    }

    public PgServer source() {
        return source;
    }

    public PgServer target() {
        return target;
    }

    /** The source superuser's login to {@code database}. */
    public ConnectionSpec sourceConnection(String database) {
        return source.connection(database, "source");
    }

    /** The target superuser's login to {@code database}. */
    public ConnectionSpec targetConnection(String database) {
        return target.connection(database, "target");
    }

    /**
     * Turns TLS on in both servers, with certificates one new authority issued, and returns that
     * authority's certificate (the {@code sslrootcert} of both); it lives in the source's directory.
     */
    public Path enableTls() {
        CertificateAuthority ca = CertificateAuthority.create(source.directory().resolve("ca"), "tsmigrate test CA");
        source.enableTls(ca);
        return target.enableTls(ca);
    }

    /** Leaves both servers running after this JVM exits. */
    public void detach() {
        source.detach();
        target.detach();
    }

    @Override
    public void close() {
        try {
            source.close();
        } finally {
            target.close();
        }
    }

    private static boolean hasTimescaledb(Installation installation) {
        // Debian keeps each major's libraries beside its bin directory: /usr/lib/postgresql/17/lib.
        Path lib = installation.bindir().resolveSibling("lib").resolve(TIMESCALEDB_LIBRARY);
        if (Files.exists(lib)) {
            return true;
        }
        return pkglibdir(installation).map(d -> Files.exists(d.resolve(TIMESCALEDB_LIBRARY))).orElse(false);
    }

    private static Optional<Path> pkglibdir(Installation installation) {
        if (!installation.has("pg_config")) {
            return Optional.empty();
        }
        return io.tsmigrate.core.pgtools.ProcessRunner.output(List.of(installation.tool("pg_config").toString(), "--pkglibdir"))
                .map(String::strip).map(Path::of);
    }

    /**
     * Removes clusters left behind by a JVM that was killed before its watchdog could act (for
     * example when the machine restarted): a directory whose owner process no longer runs.
     */
    static void removeStaleClusters(Path parent) {
        if (!Files.isDirectory(parent)) {
            return;
        }
        try (Stream<Path> dirs = Files.list(parent)) {
            for (Path dir : dirs.filter(d -> d.getFileName().toString().startsWith(PgServer.DIRECTORY_PREFIX)).toList()) {
                Path owner = dir.resolve("owner.pid");
                if (!Files.exists(owner)) {
                    continue;
                }
                long pid = Long.parseLong(Files.readString(owner).strip());
                if (ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)) {
                    continue;
                }
                PgServer.stopStale(dir);
            }
        } catch (IOException | NumberFormatException e) {
            // A directory we cannot read is not ours to remove.
        }
    }
}
