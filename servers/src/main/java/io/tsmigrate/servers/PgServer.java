package io.tsmigrate.servers;

import io.tsmigrate.core.connect.ConnectionSpec;
import io.tsmigrate.core.pgtools.PgInstallations.Installation;
import io.tsmigrate.core.pgtools.ProcessRunner;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.UserPrincipalLookupService;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * A real PostgreSQL cluster of its own: {@code initdb} into a new directory under the system's
 * temporary directory, {@code pg_ctl start} on a free port on 127.0.0.1, {@code pg_ctl stop} and
 * the directory removed on {@link #close()}. Its superuser {@code postgres} logs in with a random
 * password over TCP (scram-sha-256) or without one over its Unix socket in the cluster directory.
 *
 * <p>When the JVM runs as root (initdb refuses root), the server runs as the {@code postgres}
 * system user. A watchdog process stops the server and removes its directory if the JVM that
 * started it dies without closing it (a killed test run, a killed demo); {@link #detach()} turns
 * the watchdog off for servers meant to outlive the JVM.
 *
 * <p>Not thread-safe: one owner starts and stops it.
 */
public final class PgServer implements AutoCloseable {

    /** The prefix of every cluster directory, so that stale ones can be recognised. */
    static final String DIRECTORY_PREFIX = "tsmigrate-pg-";
    private static final String SUPERUSER = "postgres";

    private final Installation installation;
    private final Path base;
    private final int port;
    private final String password;
    private boolean running;

    private PgServer(Installation installation, Path base, int port, String password) {
        this.installation = installation;
        this.base = base;
        this.port = port;
        this.password = password;
    }

    /**
     * Creates and starts a cluster. Tries up to three ports in case another process takes the
     * free port between the probe and the start.
     *
     * @param installation which PostgreSQL to run
     * @param settings     extra postgresql.conf settings (for example shared_preload_libraries)
     * @param parent       where to create the cluster directory
     */
    public static PgServer start(Installation installation, Map<String, String> settings, Path parent) {
        IOException last = null;
        for (int attempt = 0; attempt < 3; attempt++) {
            Path base = null;
            try {
                Files.createDirectories(parent);
                base = Files.createTempDirectory(parent, DIRECTORY_PREFIX);
                PgServer server = new PgServer(installation, base, freePort(), randomPassword());
                server.initialise(settings);
                server.startServer();
                server.startWatchdog();
                return server;
            } catch (IOException e) {
                last = e;
                if (base != null) {
                    deleteTree(base);
                }
            }
        }
        throw new UncheckedIOException("cannot start PostgreSQL " + installation.major() + " from "
                + installation.bindir() + ": " + last.getMessage(), last);
    }

    public int port() {
        return port;
    }

    public int major() {
        return installation.major();
    }

    public Installation installation() {
        return installation;
    }

    public Path directory() {
        return base;
    }

    /** The superuser's login to {@code database}, over TCP with its password. */
    public ConnectionSpec connection(String database, String label) {
        return ConnectionSpec.parse(uri(database), label, Map.of());
    }

    /** {@code postgres://postgres:<password>@127.0.0.1:<port>/<database>}, as a user would write it. */
    public String uri(String database) {
        return "postgres://" + SUPERUSER + ":" + password + "@127.0.0.1:" + port + "/" + database;
    }

    /** The Unix socket directory the server listens in. */
    public Path socketDirectory() {
        return base;
    }

    public String superuserPassword() {
        return password;
    }

    /** The authority whose certificate the server has, once TLS was turned on. */
    private CertificateAuthority authority;

    private void initialise(Map<String, String> settings) throws IOException {
        Path pwfile = base.resolve("pwfile");
        Files.writeString(pwfile, password + "\n");
        giveToServerUser(base);
        run(List.of(tool("initdb"), "-D", data().toString(), "-U", SUPERUSER, "--pwfile=" + pwfile,
                "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"));
        Files.delete(pwfile);
        Map<String, String> conf = new LinkedHashMap<>();
        conf.put("listen_addresses", "'127.0.0.1'");
        conf.put("port", String.valueOf(port));
        conf.put("unix_socket_directories", "'" + base + "'");
        // Test and demo clusters trade durability for speed; a crash loses the cluster anyway. A
        // benchmark of commit costs asks for a production server's durable commits instead.
        if (!Boolean.getBoolean("tsmigrate.servers.durable")) {
            conf.put("fsync", "off");
            conf.put("synchronous_commit", "off");
            conf.put("full_page_writes", "off");
        }
        conf.put("max_connections", "200");
        conf.put("shared_buffers", "256MB");
        conf.put("max_wal_size", "4GB");
        conf.put("log_min_messages", "warning");
        conf.put("log_timezone", "'UTC'");
        conf.putAll(settings);
        StringBuilder text = new StringBuilder("\n# tsmigrate servers\n");
        conf.forEach((k, v) -> text.append(k).append(" = ").append(v).append('\n'));
        Files.writeString(data().resolve("postgresql.conf"), text, StandardCharsets.UTF_8,
                java.nio.file.StandardOpenOption.APPEND);
    }

    private void startServer() throws IOException {
        run(List.of(tool("pg_ctl"), "-D", data().toString(), "-l", base.resolve("server.log").toString(),
                "-w", "-t", "60", "start"));
        running = true;
    }

    /** Stops the server at once, as a crash would ({@code pg_ctl stop -m immediate}). */
    public void kill() {
        stopServer("immediate");
    }

    /** Starts a stopped server again, with the same data, port and password. */
    public void restart() {
        try {
            if (!running) {
                startServer();
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot restart PostgreSQL on port " + port + ": " + e.getMessage(), e);
        }
    }

    /** Stops the server ({@code pg_ctl stop -m fast}) and keeps its data. */
    public void stop() {
        stopServer("fast");
    }

    private void stopServer(String mode) {
        if (!running) {
            return;
        }
        try {
            run(List.of(tool("pg_ctl"), "-D", data().toString(), "-m", mode, "-w", "-t", "60", "stop"));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot stop PostgreSQL on port " + port + ": " + e.getMessage(), e);
        } finally {
            running = false;
        }
    }

    /**
     * Turns TLS on, with a certificate for the address 127.0.0.1 only that {@code ca} issued, and
     * returns the authority's certificate (clients give it as {@code sslrootcert}). The name
     * {@code localhost} reaches the same server but is not in the certificate: tests connect with it
     * to see a host name check fail. Connections opened before keep what they had;
     * {@link #disableTls} turns it off again.
     */
    public synchronized Path enableTls(CertificateAuthority ca) {
        if (!ca.equals(authority)) {
            CertificateAuthority.Issued issued = ca.issue(data(), "server", "127.0.0.1", List.of("IP:127.0.0.1"));
            try {
                giveToServerUser(issued.certificate());
                giveToServerUser(issued.key());
            } catch (IOException e) {
                throw new UncheckedIOException("cannot give PostgreSQL on port " + port + " its certificate: " + e.getMessage(), e);
            }
            authority = ca;
        }
        setTls(true);
        return ca.certificate();
    }

    /** Turns TLS on with the authority it had, or with one of its own (see {@link #enableTls(CertificateAuthority)}). */
    public synchronized Path enableTls() {
        return enableTls(authority != null ? authority : CertificateAuthority.create(base.resolve("ca"), "tsmigrate test CA " + port));
    }

    /** Turns TLS off again (see {@link #enableTls}). */
    public void disableTls() {
        setTls(false);
    }

    private void setTls(boolean on) {
        configure("ssl", on ? "on" : "off");
    }

    /**
     * Makes the server ask TLS clients for a certificate and accept those {@code ca} signed (its
     * {@code ssl_ca_file}); pg_hba.conf's {@code cert} method then logs a client in by its
     * certificate's common name. Empty: back to not asking.
     */
    public void trustClientCertificates(Optional<Path> ca) {
        Path copy = data().resolve("client-ca.crt");
        try {
            if (ca.isPresent()) {
                Files.copy(ca.get(), copy, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot give PostgreSQL on port " + port + " the client CA: " + e.getMessage(), e);
        }
        configure("ssl_ca_file", ca.isPresent() ? copy.toString() : "");
    }

    /** Sets a reloadable setting with ALTER SYSTEM and waits until new sessions see it. */
    private void configure(String name, String value) {
        ConnectionSpec admin = ConnectionSpec.parse(uri("postgres") + "?sslmode=disable", "server", Map.of());
        try (java.sql.Connection c = io.tsmigrate.core.connect.PgConnector.open(admin); java.sql.Statement st = c.createStatement()) {
            st.execute("ALTER SYSTEM SET " + name + " = '" + value.replace("'", "''") + "'");
            st.execute("SELECT pg_reload_conf()");
        } catch (java.sql.SQLException e) {
            throw new IllegalStateException("cannot set " + name + " to '" + value + "' on port " + port + ": " + e.getMessage(), e);
        }
        // The reload is asynchronous: a new connection sees the new setting once the postmaster read it.
        Await.until(name + " = '" + value + "' on port " + port, () -> {
            try (java.sql.Connection c = io.tsmigrate.core.connect.PgConnector.open(admin); java.sql.Statement st = c.createStatement();
                 java.sql.ResultSet rs = st.executeQuery("SHOW " + name)) {
                return rs.next() && rs.getString(1).equals(value);
            } catch (java.sql.SQLException e) {
                return false;
            }
        });
    }

    /** Leaves the server running after this JVM exits: no watchdog will stop it. */
    public void detach() {
        try {
            Files.deleteIfExists(base.resolve("owner.pid"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Stops the server and removes its directory. Safe to call twice. */
    @Override
    public void close() {
        try {
            stop();
        } finally {
            deleteTree(base);
        }
    }

    private Path data() {
        return base.resolve("data");
    }

    private String tool(String name) {
        return installation.tool(name).toString();
    }

    /**
     * Watches the JVM that owns the server; when it is gone and the owner file still names it,
     * stops the server and removes the directory. Runs in its own session so it outlives the JVM.
     */
    private void startWatchdog() throws IOException {
        long pid = ProcessHandle.current().pid();
        Files.writeString(base.resolve("owner.pid"), String.valueOf(pid));
        String script = "while kill -0 " + pid + " 2>/dev/null && [ -f '" + base + "/owner.pid' ]; do sleep 1; done; "
                + "if [ -f '" + base + "/owner.pid' ]; then "
                + asServerUser(tool("pg_ctl")) + " -D '" + data() + "' -m immediate stop >/dev/null 2>&1; "
                + "rm -rf '" + base + "'; fi";
        new ProcessBuilder("setsid", "sh", "-c", script)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectError(ProcessBuilder.Redirect.DISCARD)
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                .start();
    }

    private static void run(List<String> command) throws IOException {
        List<String> full = new ArrayList<>();
        if (isRoot()) {
            full.addAll(List.of("runuser", "-u", SUPERUSER, "--"));
        }
        full.addAll(command);
        ProcessRunner.Result result = ProcessRunner.run(full, Map.of());
        if (!result.succeeded()) {
            throw new IOException(String.join(" ", command.subList(0, 1)) + " failed (exit " + result.exitCode()
                    + "): " + result.output().strip());
        }
    }

    private static String asServerUser(String command) {
        return isRoot() ? "runuser -u " + SUPERUSER + " -- " + command : command;
    }

    static boolean isRoot() {
        try {
            return Integer.valueOf(0).equals(Files.getAttribute(Path.of("/proc/self"), "unix:uid"));
        } catch (IOException | UnsupportedOperationException e) {
            return "root".equals(System.getProperty("user.name"));
        }
    }

    /** Gives a file, or a directory and the files in it, to the server's system user (when running as root). */
    private static void giveToServerUser(Path dir) throws IOException {
        if (!isRoot()) {
            return;
        }
        UserPrincipalLookupService users = dir.getFileSystem().getUserPrincipalLookupService();
        try {
            Files.setOwner(dir, users.lookupPrincipalByName(SUPERUSER));
            if (!Files.isDirectory(dir)) {
                return;
            }
            try (Stream<Path> files = Files.list(dir)) {
                for (Path f : files.toList()) {
                    Files.setOwner(f, users.lookupPrincipalByName(SUPERUSER));
                }
            }
        } catch (java.nio.file.attribute.UserPrincipalNotFoundException e) {
            throw new IOException("running as root needs the 'postgres' system user to run the server "
                    + "(initdb refuses root); install the postgresql packages, which create it", e);
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }

    private static String randomPassword() {
        SecureRandom random = new SecureRandom();
        String alphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 20; i++) {
            sb.append(alphabet.charAt(random.nextInt(alphabet.length())));
        }
        return sb.toString();
    }

    /** Stops the server of a cluster directory left behind by a dead JVM, and removes it. */
    static void stopStale(Path base) throws IOException {
        Path pidFile = base.resolve("data").resolve("postmaster.pid");
        if (Files.exists(pidFile)) {
            String first = Files.readAllLines(pidFile).get(0).strip();
            ProcessHandle.of(Long.parseLong(first)).ifPresent(ProcessHandle::destroyForcibly);
        }
        deleteTree(base);
    }

    /** Removes a directory and everything in it (also the temporary directories tests make); nothing when it is gone. */
    public static void deleteTree(Path root) {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(root)) {
            for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot remove " + root + ": " + e.getMessage(), e);
        }
    }

    @Override
    public String toString() {
        return "PostgreSQL " + major() + " on 127.0.0.1:" + port + " (" + base + ")";
    }
}
