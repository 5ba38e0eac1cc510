package io.tsmigrate.it;

import io.tsmigrate.core.connect.ConnectionSpec;
import io.tsmigrate.core.state.StateSchema;
import io.tsmigrate.servers.Await;
import io.tsmigrate.it.kit.PgServersExtension;
import io.tsmigrate.it.kit.TestDatabases;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import static io.tsmigrate.it.Fixtures.checksum;
import static io.tsmigrate.it.kit.TestDatabases.queryLong;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The lossless mode of the dual-write library: an application killed with SIGKILL at any instant,
 * again and again, loses nothing on the secondary and applies nothing twice, before cutover and
 * after it (roles swapped). Some kills land exactly before the primary's COMMIT or between the two
 * commits, where a test hook pauses a writer thread; the others land wherever the load is.
 */
@ExtendWith(PgServersExtension.class)
class LosslessDualWriteIT {

    private static final String EVENT = "CREATE TABLE lossless_event (id bigint PRIMARY KEY, note text NOT NULL, "
            + "at timestamptz NOT NULL DEFAULT '2026-01-01')";
    private static final String COUNTER = "CREATE TABLE lossless_counter (k int PRIMARY KEY, v bigint NOT NULL)";
    private static final String COUNTERS = "INSERT INTO lossless_counter SELECT k, 0 FROM generate_series(0, 3) k";

    private final TestDatabases db;
    private ConnectionSpec source;
    private ConnectionSpec target;
    private Path dir;
    private final Random random = new Random();
    private long nextId = 1;
    private int threads = 4;

    LosslessDualWriteIT(TestDatabases db) {
        this.db = db;
    }

    /** One start of the application: what it said it recovered, and every line it printed. */
    private record Run(long recovered, long discarded, List<String> lines) {
    }

    @BeforeEach
    void createSides() throws Exception {
        source = db.newSourceDatabase("lossless_source");
        target = db.newTargetDatabase("lossless_target", false);
        TestDatabases.execute(source, EVENT, COUNTER, COUNTERS);
        TestDatabases.execute(target, EVENT, COUNTER, COUNTERS);
        dir = Files.createTempDirectory("lossless-it");
    }

    @AfterEach
    void removeDirectory() throws Exception {
        io.tsmigrate.servers.PgServer.deleteTree(dir);
    }

    @Test
    void killedAgainAndAgainTheTwoSidesEndIdenticalBeforeAndAfterCutover() throws Exception {
        // 21 kills with the source as primary: 7 paused between the commits, 7 before the primary's, 7 anywhere.
        List<String> instants = new ArrayList<>();
        for (int i = 0; i < 7; i++) {
            instants.addAll(List.of("between-commits", "before-commit", "anywhere"));
        }
        Collections.shuffle(instants, random);
        killRuns(instants, "source");
        assertIdentical();
        assertThat(intentFiles()).as("intent segments left after a clean stop").isEmpty();

        try (Connection c = TestDatabases.dataSource(target).getConnection()) {
            StateSchema.ensure(c);
            StateSchema.setPrimary(c, "target");
        }
        killRuns(List.of("between-commits", "anywhere", "before-commit", "between-commits", "anywhere", "between-commits"), "target");
        assertIdentical();
        assertThat(queryLong(source, "SELECT count(*) FROM tsmigrate.journal_applied")).as("intents recorded on the source as secondary")
                .isPositive();
    }

    @Test
    void aTornLastIntentCountsAsNeverWritten() throws Exception {
        // One writer thread, paused after its intent and before the COMMIT: the last record is that transaction's.
        threads = 1;
        start("before-commit", "source", "write");
        Path last = intentFiles().stream().max(Comparator.comparing(Path::toString)).orElseThrow();
        long size = Files.size(last);
        assertThat(size).isPositive();
        // A crash while appending leaves a prefix of the last record: its transaction was never sent to commit.
        try (var ch = java.nio.channels.FileChannel.open(last, java.nio.file.StandardOpenOption.WRITE)) {
            ch.truncate(size - 3);
        }
        Run drain = start(null, "source", "drain");
        assertThat(drain.lines()).contains("DRAINED").noneMatch(l -> l.startsWith("ERROR"));
        assertThat(drain.discarded()).as("the torn intent is not an intent").isZero();
        assertIdentical();
    }

    @Test
    void replayResolvesWhatAKilledWriterLeftWithTheSourcesWord() throws Exception {
        start("between-commits", "source", "write");
        assertThat(intentFiles()).isNotEmpty();
        String journal = dir.resolve("journal").toString();
        // Some time later (its heartbeat older than status's patience), status tells the kill from a clean stop.
        try (Connection c = TestDatabases.dataSource(target).getConnection()) {
            StateSchema.ensure(c); // a migration's state beside the writer's tables, which status reads
        }
        TestDatabases.execute(target, "UPDATE tsmigrate.writer SET last_seen = now() - interval '10 minutes' WHERE name = 'lossless-app'");
        Cli.Result killed = Cli.run("status", "--target", TestDatabases.uri(target));
        assertThat(killed.out()).containsPattern("lossless-app .* NOT HEARD FROM since then, and it did not close cleanly")
                .contains("what it owes is in its journal " + dir.resolve("journal").toAbsolutePath() + " on ")
                .contains("or by tsmigrate replay --journal " + dir.resolve("journal").toAbsolutePath() + " --source ...");

        Cli.Result withoutSource = Cli.run("replay", "--target", TestDatabases.uri(target), "--journal", journal);
        assertThat(withoutSource.exitCode()).as(withoutSource.toString()).isEqualTo(2);
        assertThat(withoutSource.err()).contains("--journal " + journal + " holds intents of a stopped lossless writer; give --source "
                + "too, so that the primary can say which of their transactions committed.");

        Cli.Result replay = Cli.run("replay", "--source", TestDatabases.uri(source), "--target", TestDatabases.uri(target),
                "--journal", journal);
        assertThat(replay.exitCode()).as(replay.toString()).isZero();
        assertThat(replay.out()).containsPattern("intents of writer lossless-app for the target: [1-9][0-9]* committed and owed");
        assertThat(intentFiles()).isEmpty();
        assertIdentical();
        // Started again and closed: a clean stop, owing nothing.
        start(null, "source", "drain");
        TestDatabases.execute(target, "UPDATE tsmigrate.writer SET last_seen = now() - interval '10 minutes' WHERE name = 'lossless-app'");
        Cli.Result stopped = Cli.run("status", "--target", TestDatabases.uri(target));
        assertThat(stopped.out()).containsPattern("lossless-app .* stopped at \\S+ \\(closed cleanly\\)")
                .doesNotContain("NOT HEARD FROM").doesNotContain("what it owes");
        assertIdentical();
    }

    @Test
    void anIntentLogThatCannotBeWrittenRefusesTheCommitWithOneSentence() throws Exception {
        Path journal = dir.resolve("journal");
        try (var ds = io.tsmigrate.dualwrite.DualWriteDataSource.builder().primary(TestDatabases.dataSource(source))
                .secondary(TestDatabases.dataSource(target)).journalDirectory(journal).writerName("unwritable").lossless(true).build();
             Connection c = ds.getConnection()) {
            // The directory becomes a file: nothing can be created in it (as when the disk is gone or read-only).
            Files.walk(journal).sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            Files.writeString(journal, "not a directory");
            c.setAutoCommit(false);
            try (var st = c.createStatement()) {
                st.executeUpdate("INSERT INTO lossless_event (id, note) VALUES (1, 'refused')");
            }
            org.assertj.core.api.Assertions.assertThatThrownBy(c::commit).isInstanceOf(java.sql.SQLException.class)
                    .hasMessageStartingWith("tsmigrate dual-write: the intent log in " + journal + " cannot be written (")
                    .hasMessageEndingWith("); the transaction is rolled back, not committed");
        } finally {
            Files.deleteIfExists(journal);
        }
        assertThat(queryLong(source, "SELECT count(*) FROM lossless_event")).isZero();
        assertThat(queryLong(target, "SELECT count(*) FROM lossless_event")).isZero();
    }

    /**
     * The disk of the intent log fills up (a small tmpfs, mounted for the test): the commit is refused
     * with one sentence and no row lands on either side; once there is room again, the writer goes on,
     * and a later start finds nothing torn in the log that it could not resolve.
     */
    @Test
    void aFullDiskRefusesTheCommitWithOneSentenceAndTheWriterGoesOnOnceThereIsRoom() throws Exception {
        Path journal = Files.createDirectories(dir.resolve("small-disk"));
        Process mount = new ProcessBuilder("mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", journal.toString())
                .redirectErrorStream(true).start();
        String said = new String(mount.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        org.junit.jupiter.api.Assumptions.assumeTrue(mount.waitFor() == 0, "a full disk is made by mounting a 256 KiB tmpfs, "
                + "which needs root (or CAP_SYS_ADMIN): " + said);
        try {
            String big = "x".repeat(64 * 1024);
            try (var ds = io.tsmigrate.dualwrite.DualWriteDataSource.builder().primary(TestDatabases.dataSource(source))
                    .secondary(TestDatabases.dataSource(target)).journalDirectory(journal).writerName("full-disk").lossless(true).build()) {
                insert(ds, 1, "before");
                Path filler = journal.resolve("filler");
                try (var out = Files.newOutputStream(filler)) {
                    byte[] block = new byte[4096];
                    while (true) {
                        out.write(block);
                        out.flush();
                    }
                } catch (java.io.IOException full) {
                    assertThat(full.getMessage()).contains("No space left on device");
                }
                // Room for part of the next intent only: the disk takes some of its bytes, then refuses the rest.
                try (var channel = java.nio.channels.FileChannel.open(filler, java.nio.file.StandardOpenOption.WRITE)) {
                    channel.truncate(channel.size() - 16 * 1024);
                }
                org.assertj.core.api.Assertions.assertThatThrownBy(() -> insert(ds, 2, big)).isInstanceOf(java.sql.SQLException.class)
                        .hasMessageStartingWith("tsmigrate dual-write: the intent log in " + journal + " cannot be written (")
                        .hasMessageContaining("No space left on device")
                        .hasMessageEndingWith("); the transaction is rolled back, not committed");
                Files.delete(filler);
                insert(ds, 3, big);
                insert(ds, 4, "after");
                // What a start after a crash here would read: every intent whole, none torn between them.
                try (var files = Files.list(journal)) {
                    for (Path log : files.filter(p -> p.toString().endsWith(".intent")).toList()) {
                        io.tsmigrate.dualwrite.Journal.Contents contents = io.tsmigrate.dualwrite.Journal.scan(log);
                        assertThat(contents.damages()).as("damage in " + log).isEmpty();
                        assertThat(contents.entries()).as("intents in " + log).hasSize(3);
                    }
                }
            }
            assertThat(queryLong(source, "SELECT count(*) FROM lossless_event WHERE id = 2")).isZero();
            assertThat(queryLong(target, "SELECT count(*) FROM lossless_event WHERE id = 2")).isZero();
            assertThat(queryLong(source, "SELECT count(*) FROM lossless_event")).isEqualTo(3);
            assertIdentical();
            // A new start in the same directory goes on.
            try (var ds = io.tsmigrate.dualwrite.DualWriteDataSource.builder().primary(TestDatabases.dataSource(source))
                    .secondary(TestDatabases.dataSource(target)).journalDirectory(journal).writerName("full-disk").lossless(true).build()) {
                insert(ds, 5, "restarted");
            }
            assertThat(queryLong(source, "SELECT count(*) FROM lossless_event")).isEqualTo(4);
            assertIdentical();
        } finally {
            new ProcessBuilder("umount", journal.toString()).inheritIO().start().waitFor();
        }
    }

    @Test
    void theRecordsOfAppliedIntentsGoWithTheirSegmentUnlessOneOfItsIntentsWentToTheJournal() throws Exception {
        Path journal = dir.resolve("prune");
        String records = "SELECT count(*) FROM tsmigrate.journal_applied WHERE journal LIKE 'pruned-target-%'";
        try (var ds = writer(journal)) {
            for (long id = 1; id <= 20; id++) {
                insert(ds, id, "direct");
            }
            assertThat(queryLong(target, records)).as("one record per transaction while the run goes").isEqualTo(20);
        }
        assertThat(queryLong(target, records)).as("records of a closed run whose intents were all applied").isZero();
        assertIdentical();
        // The secondary is cut half-way: intents go to the journal, applied later under their identity, so the
        // records of their segment stay (a later apply of the same entry must still find them).
        try (var ds = writer(journal)) {
            try (Connection c = ds.getConnection()) {
                for (long id = 21; id <= 30; id++) {
                    if (id == 26) {
                        // The secondary connection paired with this one is cut: the rest goes to the journal.
                        TestDatabases.execute(target, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                + "WHERE datname = current_database() AND pid <> pg_backend_pid()");
                    }
                    c.setAutoCommit(false);
                    try (var st = c.prepareStatement("INSERT INTO lossless_event (id, note) VALUES (?, ?)")) {
                        st.setLong(1, id);
                        st.setString(2, id < 26 ? "direct" : "journaled");
                        st.executeUpdate();
                    }
                    c.commit();
                }
            }
            assertThat(ds.stats().journaled()).as("transactions journaled while the secondary was cut").isPositive();
            Await.until("the journal replayed", () -> {
                ds.checkSecondaryNow();
                return !ds.stats().diverted() && ds.stats().replayed() > 0;
            });
        }
        assertThat(queryLong(target, records)).as("records of the run with journaled intents").isEqualTo(10);
        try (var ds = writer(journal)) {
            insert(ds, 31, "again");
        }
        assertThat(queryLong(target, "SELECT count(*) FROM lossless_event")).isEqualTo(31);
        assertIdentical();
    }

    private io.tsmigrate.dualwrite.DualWriteDataSource writer(Path journal) {
        return io.tsmigrate.dualwrite.DualWriteDataSource.builder().primary(TestDatabases.dataSource(source))
                .secondary(TestDatabases.dataSource(target)).journalDirectory(journal).writerName("pruned").lossless(true)
                .healthCheckInterval(java.time.Duration.ofMillis(200)).build();
    }

    private static void insert(javax.sql.DataSource ds, long id, String note) throws java.sql.SQLException {
        try (Connection c = ds.getConnection()) {
            c.setAutoCommit(false);
            try (var st = c.prepareStatement("INSERT INTO lossless_event (id, note) VALUES (?, ?)")) {
                st.setLong(1, id);
                st.setString(2, note);
                st.executeUpdate();
            }
            c.commit();
        }
    }

    /** Each instant: start, write, kill there; then a last start that resolves what the last kill left and stops cleanly. */
    private void killRuns(List<String> instants, String primary) throws Exception {
        String previous = null;
        for (String instant : instants) {
            Run run = start(instant, primary, "write");
            assertResolved(previous, run);
            previous = instant;
        }
        Run drain = start(null, primary, "drain");
        assertResolved(previous, drain);
        assertThat(drain.lines()).contains("DRAINED");
    }

    /** What the kill at {@code instant} must have left for the next start to resolve. */
    private static void assertResolved(String instant, Run next) {
        assertThat(next.lines()).as("application errors").noneMatch(l -> l.startsWith("ERROR"));
        if ("between-commits".equals(instant)) {
            assertThat(next.recovered()).as("transactions committed on the primary only, recovered at start").isPositive();
        } else if ("before-commit".equals(instant)) {
            assertThat(next.discarded()).as("intents whose transaction never committed, discarded at start").isPositive();
        }
    }

    private Run start(String instant, String primary, String mode) throws Exception {
        Path pause = dir.resolve("paused");
        Files.deleteIfExists(pause);
        List<String> command = new ArrayList<>(List.of("java", "-cp", System.getProperty("java.class.path")));
        if (instant != null && !instant.equals("anywhere")) {
            command.addAll(List.of("-Dtsmigrate.dualwrite.test.pause-at=" + instant, "-Dtsmigrate.dualwrite.test.pause-file=" + pause,
                    "-Dtsmigrate.dualwrite.test.pause-after=" + (5 + random.nextInt(40))));
        }
        long firstId = nextId;
        nextId += 10_000_000;
        command.addAll(List.of(LosslessApp.class.getName(), TestDatabases.uri(source), TestDatabases.uri(target),
                dir.resolve("journal").toString(), Long.toString(firstId), primary, mode, Integer.toString(threads)));
        Process app = new ProcessBuilder(command).redirectErrorStream(true).start();
        List<String> lines = Collections.synchronizedList(new ArrayList<>());
        Thread reader = new Thread(() -> {
            try (BufferedReader out = new BufferedReader(new InputStreamReader(app.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line; (line = out.readLine()) != null; ) {
                    lines.add(line);
                }
            } catch (java.io.IOException e) {
                // the process was killed
            }
        });
        reader.start();
        try {
            if (mode.equals("drain")) {
                assertThat(app.waitFor(Await.DEFAULT.toSeconds(), TimeUnit.SECONDS)).as("drain run ends").isTrue();
                reader.join();
                assertThat(app.exitValue()).as("drain run exit, output " + lines).isZero();
            } else {
                Await.until("the application to write", () -> lines.contains("READY") || !app.isAlive());
                assertThat(app.isAlive()).as("application running, output " + lines).isTrue();
                ConnectionSpec primarySide = primary.equals("source") ? source : target;
                long from = queryLong(primarySide, "SELECT count(*) FROM lossless_event WHERE id >= " + firstId);
                if (instant.equals("anywhere")) {
                    long more = 20 + random.nextInt(200);
                    Await.until("the application to commit " + more + " transactions", () -> queryLong(primarySide,
                            "SELECT count(*) FROM lossless_event WHERE id >= " + firstId) >= from + more);
                } else {
                    Await.until("a writer to pause " + instant, () -> Files.exists(pause) || !app.isAlive());
                    assertThat(app.isAlive()).as("application running, output " + lines).isTrue();
                }
                app.destroyForcibly();
                assertThat(app.waitFor(60, TimeUnit.SECONDS)).isTrue();
                reader.join();
            }
        } finally {
            app.destroyForcibly();
        }
        String recovered = lines.stream().filter(l -> l.startsWith("RECOVERED ")).findFirst().orElseThrow(
                () -> new AssertionError("no RECOVERED line in " + lines));
        String[] parts = recovered.split(" ");
        return new Run(Long.parseLong(parts[1]), Long.parseLong(parts[2]), List.copyOf(lines));
    }

    private void assertIdentical() {
        // Some rows, however few: a writer paused early (pause-after 5, four threads) may have committed only four.
        assertThat(queryLong(source, "SELECT count(*) FROM lossless_event")).as("rows written").isPositive();
        assertThat(checksum(target, "lossless_event", "true")).isEqualTo(checksum(source, "lossless_event", "true"));
        assertThat(checksum(target, "lossless_counter", "true")).as("counters (an increment applied twice differs)")
                .isEqualTo(checksum(source, "lossless_counter", "true"));
    }

    private List<Path> intentFiles() throws Exception {
        try (var files = Files.list(dir.resolve("journal"))) {
            return files.filter(p -> p.toString().endsWith(".intent")).toList();
        }
    }
}
