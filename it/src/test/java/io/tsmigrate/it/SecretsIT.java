package io.tsmigrate.it;

import io.tsmigrate.core.connect.ConnectionSpec;
import io.tsmigrate.dualwrite.DualWriteDataSource;
import io.tsmigrate.it.kit.PgServersExtension;
import io.tsmigrate.it.kit.TestDatabases;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * No password in anything tsmigrate leaves behind or shows while it runs: the state tables and
 * event log, the plan, the report, the journals, its output with --verbose, and the command lines
 * of the processes it starts (pg_dump, pg_dumpall, psql), sampled for the whole run.
 */
@ExtendWith(PgServersExtension.class)
class SecretsIT {

    @Test
    void noPasswordInTheStateFilesOutputOrChildCommandLines(TestDatabases db, @TempDir Path dir) throws Exception {
        assumeTrue(db.servers().pair().isPresent(), "needs servers whose passwords the suite knows");
        List<String> secrets = List.of(db.servers().pair().get().source().superuserPassword(),
                db.servers().pair().get().target().superuserPassword());
        assertThat(secrets).allMatch(s -> s != null && s.length() >= 8);
        ConnectionSpec source = db.newSourceDatabase("secrets_source");
        ConnectionSpec target = db.newTargetDatabase("secrets_target", true);
        TestDatabases.execute(source, "CREATE TABLE metrics (time timestamptz NOT NULL, device int, v float8)",
                "INSERT INTO metrics SELECT timestamptz '2026-11-01' + g * interval '1 minute', g % 10, g FROM generate_series(1, 20000) g",
                "CREATE INDEX ON metrics (time)", "ANALYZE");

        // An application that journals (its target unreachable), so that there is a journal to look into.
        Path journal = dir.resolve("journal");
        String unreachable = TestDatabases.uri(target).replace(":" + target.endpoints().get(0).port() + "/", ":1/");
        try (DualWriteDataSource app = DualWriteDataSource.builder().primary(TestDatabases.dataSource(source))
                .secondary(TestDatabases.dataSource(ConnectionSpec.parse(unreachable, "target"))).journalDirectory(journal).build();
             Connection c = app.getConnection(); Statement st = c.createStatement()) {
            st.executeUpdate("CREATE TABLE IF NOT EXISTS audit (note text)");
            st.executeUpdate("INSERT INTO audit VALUES ('written while the target was away')");
            assertThat(app.stats().journaled()).isPositive();
        }

        String started = Instant.now().minus(2, ChronoUnit.HOURS).truncatedTo(ChronoUnit.SECONDS).toString();
        Map<String, String> seen = new LinkedHashMap<>();
        // The connection strings come from the environment, as the README recommends, not from the command line.
        try (CliProcess p = CliProcess.start(List.of(), Map.of("SOURCE", TestDatabases.uri(source), "TARGET", TestDatabases.uri(target)),
                List.of("migrate", "--plan", dir.resolve("plan.yaml").toString(), "--include", "public.metrics", "--dual-write-started-at", started,
                "--max-lateness", "1m", "--cutover", "--report", dir.resolve("report.html").toString(), "--verbose"))) {
            while (p.isAlive()) {
                commandLines().forEach(line -> seen.putIfAbsent(line, line));
            }
            p.close();
            assertThat(p.exitValue()).as(p.output()).isZero();
            seen.put("the output", p.output());
        }
        assertThat(seen.keySet()).as("pg_dump was seen running").anyMatch(l -> l.contains("pg_dump"));

        Map<String, String> leftBehind = new LinkedHashMap<>(seen);
        for (Path f : files(dir)) {
            leftBehind.put(f.toString(), new String(Files.readAllBytes(f), StandardCharsets.ISO_8859_1));
        }
        assertThat(leftBehind.keySet()).anyMatch(k -> k.endsWith(".journal")).anyMatch(k -> k.endsWith("plan.yaml"))
                .anyMatch(k -> k.endsWith("report.html"));
        for (String table : TestDatabases.rows(target, "SELECT format('%I.%I', schemaname, tablename) FROM pg_tables "
                + "WHERE schemaname = 'tsmigrate'").stream().map(r -> r.get(0)).toList()) {
            leftBehind.put(table, String.valueOf(TestDatabases.queryString(target, "SELECT string_agg(t::text, E'\\n') FROM " + table + " t")));
        }
        assertThat(leftBehind.keySet()).contains("tsmigrate.event", "tsmigrate.step", "tsmigrate.plan", "tsmigrate.writer");
        for (Map.Entry<String, String> e : leftBehind.entrySet()) {
            for (String secret : secrets) {
                assertThat(e.getValue()).as(e.getKey()).doesNotContain(secret);
            }
        }
    }

    /** The command lines of every process running now (/proc/PID/cmdline, arguments joined by spaces). */
    private static List<String> commandLines() {
        List<String> out = new ArrayList<>();
        try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
            for (Path p : procs.filter(x -> x.getFileName().toString().chars().allMatch(Character::isDigit)).toList()) {
                try {
                    String line = new String(Files.readAllBytes(p.resolve("cmdline")), StandardCharsets.UTF_8).replace('\0', ' ').strip();
                    if (!line.isEmpty()) {
                        out.add(line);
                    }
                } catch (IOException gone) {
                    // The process ended between the listing and the read.
                }
            }
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        return out;
    }

    private static List<Path> files(Path dir) throws IOException {
        try (Stream<Path> all = Files.walk(dir)) {
            return all.filter(Files::isRegularFile).toList();
        }
    }
}
