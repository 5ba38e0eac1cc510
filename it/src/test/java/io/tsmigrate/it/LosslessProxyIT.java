package io.tsmigrate.it;

import io.tsmigrate.core.connect.ConnectionSpec;
import io.tsmigrate.core.pgtools.PgInstallations;
import io.tsmigrate.core.state.StateSchema;
import io.tsmigrate.servers.Await;
import io.tsmigrate.it.kit.PgServersExtension;
import io.tsmigrate.it.kit.TestDatabases;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static io.tsmigrate.it.kit.TestDatabases.queryLong;
import static io.tsmigrate.it.kit.TestDatabases.rows;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code tsmigrate proxy --lossless}: the proxy killed with SIGKILL at any instant, again and again,
 * under pgbench (explicit transactions and auto-commit INSERTs), loses nothing on the secondary and
 * applies nothing twice, before cutover and after it. Some kills land exactly after an intent was
 * written and before the primary's COMMIT, or between the two commits (a test hook pauses there).
 */
@ExtendWith(PgServersExtension.class)
class LosslessProxyIT {

    private final TestDatabases db;
    private ConnectionSpec source;
    private ConnectionSpec target;
    private Path dir;
    private Path bindir;
    private final Random random = new Random();

    LosslessProxyIT(TestDatabases db) {
        this.db = db;
    }

    @BeforeEach
    void createSides() throws Exception {
        source = db.newSourceDatabase("lossless_proxy");
        target = db.newTargetDatabase("lossless_proxy", false);
        bindir = PgInstallations.find().stream().max(Comparator.comparingInt(PgInstallations.Installation::major)).orElseThrow().bindir();
        for (ConnectionSpec side : List.of(source, target)) {
            ProcessBuilder pb = new ProcessBuilder(bindir.resolve("pgbench").toString(), "-i", "-q", "-s", "1", side.libpqConninfo())
                    .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD);
            side.password().ifPresent(p -> pb.environment().put("PGPASSWORD", p));
            Process init = pb.start();
            assertThat(init.waitFor(300, TimeUnit.SECONDS)).isTrue();
            assertThat(init.exitValue()).isZero();
            TestDatabases.execute(side, "CREATE TABLE auto_insert (id bigint, at timestamptz NOT NULL)");
        }
        dir = Files.createTempDirectory("lossless-proxy-it");
        Files.writeString(dir.resolve("insert.sql"), "\\set id random(1, 1000000000)\n"
                + "INSERT INTO auto_insert VALUES (:id, '2026-01-01');\n");
    }

    @AfterEach
    void removeDirectory() throws Exception {
        io.tsmigrate.servers.PgServer.deleteTree(dir);
    }

    @Test
    void killedAgainAndAgainUnderPgbenchTheTwoSidesEndIdenticalBeforeAndAfterCutover() throws Exception {
        List<String> instants = new ArrayList<>();
        for (int i = 0; i < 7; i++) {
            instants.addAll(List.of("between-commits", "before-commit", "anywhere"));
        }
        Collections.shuffle(instants, random);
        killRuns(instants, source);
        assertIdentical();

        try (Connection c = TestDatabases.dataSource(target).getConnection()) {
            StateSchema.ensure(c);
            StateSchema.setPrimary(c, "target");
        }
        killRuns(List.of("between-commits", "anywhere", "before-commit", "between-commits", "anywhere", "before-commit"), target);
        assertIdentical();
    }

    /** Each instant: start the proxy, put pgbench through it, kill the proxy there; then a clean run that drains. */
    private void killRuns(List<String> instants, ConnectionSpec primary) throws Exception {
        String previous = null;
        for (String instant : instants) {
            String started = run(instant, primary);
            assertResolved(previous, started);
            previous = instant;
        }
        // A last start resolves what the last kill left; SIGTERM once the target caught up.
        try (CliProcess proxy = startProxy(List.of())) {
            int port = port(proxy);
            assertResolved(previous, proxy.output());
            Await.until("the secondary to catch up with the primary", this::identical);
            proxy.terminate();
            assertThat(proxy.waitFor(60)).isTrue();
            assertThat(proxy.exitValue()).as(proxy.output()).isZero();
            assertThat(port).isPositive();
        }
        try (var files = Files.list(dir.resolve("journal"))) {
            assertThat(files.filter(p -> p.toString().endsWith(".intent")).toList()).as("intents left after a clean stop").isEmpty();
        }
    }

    private static void assertResolved(String instant, String output) {
        assertThat(output).doesNotContain("SEVERE");
        if ("between-commits".equals(instant)) {
            assertThat(output).as("what the primary committed before the kill is owed to the secondary")
                    .containsPattern("[1-9][0-9]* transaction\\(s\\) committed on the primary before this writer stopped are owed");
        } else if ("before-commit".equals(instant)) {
            assertThat(output).as("an intent whose COMMIT was never sent").containsPattern("intent .* discarded: its transaction [0-9]+ did "
                    + "not commit on the primary");
        }
    }

    /** One start of the proxy under load, killed at {@code instant}; returns what it printed. */
    private String run(String instant, ConnectionSpec primary) throws Exception {
        Path pause = dir.resolve("paused");
        Files.deleteIfExists(pause);
        List<String> jvm = instant.equals("anywhere") ? List.of() : List.of("-Dtsmigrate.dualwrite.test.pause-at=" + instant,
                "-Dtsmigrate.dualwrite.test.pause-file=" + pause, "-Dtsmigrate.dualwrite.test.pause-after=" + (5 + random.nextInt(30)));
        try (CliProcess proxy = startProxy(jvm)) {
            int port = port(proxy);
            // Sessions follow the primary the target names (after the first check).
            String mode = List.of("simple", "extended", "prepared").get(random.nextInt(3));
            Process load = new ProcessBuilder(bindir.resolve("pgbench").toString(), "-n", "-M", mode, "-c", "4", "-j", "1", "-T", "600",
                    "-b", "tpcb-like@1", "-f", dir.resolve("insert.sql") + "@1",
                    "host=127.0.0.1 port=" + port + " user=app dbname=" + source.database())
                    .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            try {
                long before = queryLong(primary, "SELECT count(*) FROM pgbench_history");
                try {
                    if (instant.equals("anywhere")) {
                        long more = 20 + random.nextInt(150);
                        Await.until("pgbench to commit " + more + " transactions", () -> !proxy.isAlive() || !load.isAlive()
                                || queryLong(primary, "SELECT count(*) FROM pgbench_history") >= before + more);
                    } else {
                        Await.until("a transaction to pause " + instant, () -> Files.exists(pause) || !proxy.isAlive() || !load.isAlive());
                    }
                } catch (AssertionError e) {
                    throw new AssertionError(e.getMessage() + "; the proxy said:\n" + proxy.output(), e);
                }
                assertThat(proxy.isAlive()).as(proxy.output()).isTrue();
                assertThat(load.isAlive()).as("pgbench runs through the proxy").isTrue();
                proxy.kill();
            } finally {
                load.destroyForcibly();
                load.waitFor(60, TimeUnit.SECONDS);
            }
            return proxy.output();
        }
    }

    private CliProcess startProxy(List<String> jvm) throws Exception {
        CliProcess proxy = CliProcess.start(jvm, List.of("proxy", "--source", TestDatabases.uri(source), "--target", TestDatabases.uri(target),
                "--listen", "127.0.0.1:0", "--auth", "trust", "--journal", dir.resolve("journal").toString(), "--writer-name",
                "lossless-proxy", "--health-check", "200ms", "--lossless"));
        Await.until("the proxy listens", () -> proxy.output().contains("listening on /127.0.0.1:") || !proxy.isAlive());
        return proxy;
    }

    private static int port(CliProcess proxy) {
        Matcher m = Pattern.compile("listening on /127.0.0.1:(\\d+)").matcher(proxy.output());
        assertThat(m.find()).as(proxy.output()).isTrue();
        return Integer.parseInt(m.group(1));
    }

    private static final List<String> COMPARED = List.of(
            "SELECT aid, abalance FROM pgbench_accounts WHERE abalance <> 0 ORDER BY aid",
            "SELECT bid, bbalance FROM pgbench_branches ORDER BY bid",
            "SELECT tid, tbalance FROM pgbench_tellers ORDER BY tid",
            // mtime is each side's own CURRENT_TIMESTAMP: compared apart from it
            "SELECT tid, bid, aid, delta, count(*) FROM pgbench_history GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4",
            "SELECT id, count(*) FROM auto_insert GROUP BY id ORDER BY id");

    private boolean identical() {
        return COMPARED.stream().allMatch(q -> rows(target, q).equals(rows(source, q)));
    }

    private void assertIdentical() {
        assertThat(queryLong(source, "SELECT count(*) FROM pgbench_history")).as("transactions written").isGreaterThan(100);
        assertThat(queryLong(source, "SELECT count(*) FROM auto_insert")).as("auto-commit inserts written").isGreaterThan(20);
        for (String q : COMPARED) {
            assertThat(rows(target, q)).as(q).isEqualTo(rows(source, q));
        }
    }
}
