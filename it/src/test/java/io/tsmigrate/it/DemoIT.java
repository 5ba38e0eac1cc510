package io.tsmigrate.it;

import com.fasterxml.jackson.databind.JsonNode;
import io.tsmigrate.core.connect.ConnectionSpec;
import io.tsmigrate.core.json.Json;
import io.tsmigrate.core.migrate.Migration;
import io.tsmigrate.it.kit.TestDatabases;
import io.tsmigrate.servers.Await;
import io.tsmigrate.servers.PgServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code tsmigrate demo}, the README's first command: its own servers, an application writing through
 * the switch, a verified end, nothing left behind; and its HTML report renders in headless Chromium.
 */
class DemoIT {

    private static final Path CHROMIUM = Path.of("/usr/bin/chromium");

    @Test
    void migratesALiveApplicationToAVerifiedEndAndItsReportRenders(@TempDir Path dir) throws Exception {
        Path report = dir.resolve("report.html");
        // --keep: the servers stay up, so that this test checks the data itself, not the demo's verdict.
        Cli.Result r = Cli.run("demo", "--rows", "20000", "--report", report.toString(), "--keep");
        Matcher workDir = Pattern.compile("under (\\S+)").matcher(r.err());
        assertThat(workDir.find()).as(r.toString()).isTrue();
        Matcher stop = Pattern.compile("Stop them with: (.+)").matcher(r.out());
        try {
            assertThat(r.exitCode()).as(r.toString()).isZero();
            assertThat(r.out()).containsPattern("backfill +done").containsPattern("verify +done").containsPattern("cutover +done")
                    .contains("Final check, after the application stopped")
                    .contains("Nothing lost, nothing doubled: the target is the primary and holds exactly what the source holds.");
            assertThat(r.err()).contains("demo: the application starts").containsPattern("after the switch\\), [0-9,]+ readings")
                    .contains(" 0 errors")
                    .contains("demo: a billing job in another language starts too: pgbench, through tsmigrate proxy")
                    .containsPattern("the billing job stopped: [1-9][0-9,]* transactions went through tsmigrate proxy to both sides");
            assertThat(r.out()).containsPattern("match +public.orders whole table");

            ConnectionSpec source = uri(r.out(), "SOURCE");
            ConnectionSpec target = uri(r.out(), "TARGET");
            for (String table : List.of("devices", "readings", "events", "orders")) {
                assertThat(Fixtures.checksum(target, table, "true")).as(table).isEqualTo(Fixtures.checksum(source, table, "true"));
            }
            Matcher written = Pattern.compile("readings: ([0-9,]+) created \\+ ([0-9,]+) written by the application").matcher(r.out());
            assertThat(written.find()).as(r.out()).isTrue();
            assertThat(written.group(1)).isEqualTo("20,000");
            long expected = 20_000 + Long.parseLong(written.group(2).replace(",", ""));
            assertThat(TestDatabases.queryLong(target, "SELECT count(*) FROM readings")).isEqualTo(expected);
            assertThat(TestDatabases.queryString(target, "SELECT value FROM tsmigrate.meta WHERE key = 'primary'")).isEqualTo("target");
            assertThat(TestDatabases.queryLong(target, "SELECT count(*) FROM timescaledb_information.hypertables "
                    + "WHERE hypertable_name IN ('readings', 'events')")).isEqualTo(2);

            assertThat(Files.isExecutable(CHROMIUM)).as("chromium is installed (scripts/install-prerequisites installs it)").isTrue();
            String dom = chromium(dir, "--dump-dom", report.toUri().toString());
            // A row per recorded step, as the state has it; a row per hazard the plan step recorded.
            List<List<String>> steps = TestDatabases.rows(target, "SELECT name, status FROM tsmigrate.step ORDER BY name");
            assertThat(steps).filteredOn(row -> row.get(0).startsWith("migrate.")).hasSize(Migration.STEPS.size())
                    .allMatch(row -> row.get(1).equals("done"));
            for (List<String> step : steps) {
                assertThat(dom).contains("<tr><td>" + step.get(0) + "</td><td class=\"ok\">" + step.get(1) + "</td>");
            }
            JsonNode hazards = Json.mapper().readTree(TestDatabases.queryString(target, "SELECT detail::text FROM tsmigrate.event "
                    + "WHERE phase = 'migrate.plan' AND message = 'hazards' ORDER BY id DESC LIMIT 1")).get("hazards");
            assertThat(hazards.size()).as("the demo's schema has hazards (a foreign key into devices, a partitioned table)")
                    .isPositive();
            String hazardTable = dom.substring(dom.indexOf("<table id=\"hazards\""));
            assertThat(count(hazardTable.substring(0, hazardTable.indexOf("</table>")), "<tr><td")).isEqualTo(hazards.size());
            for (JsonNode h : hazards) {
                assertThat(dom).contains("</td><td>" + h.get("code").asText() + "</td>");
            }
            // The header says which databases, which tsmigrate, and when; the counts are text, not only tooltips.
            assertThat(dom).containsPattern("<th>source</th><td>127\\.0\\.0\\.1:\\d+/app as postgres</td>")
                    .containsPattern("<th>target</th><td>127\\.0\\.0\\.1:\\d+/app as postgres</td>")
                    .containsPattern("<th>made by</th><td>tsmigrate \\S+ \\(commit ").containsPattern("<th>took</th><td>\\d");
            long readings = TestDatabases.queryLong(target, "SELECT count(*) FROM readings");
            assertThat(dom).containsPattern("<tr><td>public\\.readings</td><td class=\"ok\">(\\d+) of \\1</td><td>[\\d,]+</td>"
                    + "<td>[\\d,]+</td></tr>");
            String plot = dom.substring(dom.indexOf("<svg id=\"backfill-throughput\""));
            plot = plot.substring(0, plot.indexOf("</svg>"));
            assertThat(count(plot, "text-anchor=\"middle\"") + count(plot, "text-anchor=\"end\"")).as("time ticks after the first")
                    .isGreaterThanOrEqualTo(4);
            assertThat(plot).doesNotContain(" later<");
            assertThat(readings).isPositive();
            assertThat(count(dom, "<polyline")).as("one throughput line per hypertable").isEqualTo(2);
            assertThat(count(dom, "class=\"range match\"")).as("verification squares, all equal").isGreaterThanOrEqualTo(4);
            assertThat(dom).doesNotContain("class=\"range differs\"");
            assertThat(count(dom, "opacity=\"0.35\"")).as("p95 bars, source and target per shape").isGreaterThanOrEqualTo(8);

            Path png = dir.resolve("report.png");
            chromium(dir, "--screenshot=" + png, "--window-size=1200,2600", report.toUri().toString());
            BufferedImage image = ImageIO.read(png.toFile());
            assertThat(image.getWidth()).isEqualTo(1200);
            assertThat(image.getHeight()).isEqualTo(2600);
            assertThat(pixels(image, 0x33, 0xaa, 0x33)).as("green verification squares drawn").isPositive();
            assertThat(pixels(image, 0x1f, 0x77, 0xb4)).as("blue plot lines and bars drawn").isPositive();
        } finally {
            if (stop.find()) {
                assertThat(new ProcessBuilder("sh", "-c", stop.group(1)).redirectErrorStream(true)
                        .redirectOutput(ProcessBuilder.Redirect.DISCARD).start().waitFor()).as("the servers stopped").isZero();
            }
            PgServer.deleteTree(Path.of(workDir.group(1)));
        }
    }

    /** Without --keep the demo leaves nothing behind: its directory and servers are gone when it returns. */
    @Test
    void removesEverythingItStarted() throws Exception {
        Cli.Result r = Cli.run("demo", "--rows", "2000");
        assertThat(r.exitCode()).as(r.toString()).isZero();
        Matcher workDir = Pattern.compile("under (\\S+)").matcher(r.err());
        assertThat(workDir.find()).isTrue();
        assertThat(Path.of(workDir.group(1))).as("the demo removes its work directory and servers").doesNotExist();
        // The servers' watchdogs look once a second whether they are still needed.
        Await.until("no process of the demo left", java.time.Duration.ofSeconds(10), () -> {
            try {
                return new ProcessBuilder("pgrep", "-f", workDir.group(1)).start().waitFor() == 1;
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
    }

    private static ConnectionSpec uri(String out, String name) {
        Matcher m = Pattern.compile("  " + name + "=(\\S+)").matcher(out);
        assertThat(m.find()).as(out).isTrue();
        return ConnectionSpec.parse(m.group(1), name);
    }

    private static String chromium(Path dir, String... args) throws Exception {
        Path profile = Files.createTempDirectory(dir, "chromium");
        List<String> command = new ArrayList<>(List.of(CHROMIUM.toString(), "--headless", "--no-sandbox", "--disable-gpu",
                "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--user-data-dir=" + profile));
        command.addAll(List.of(args));
        Path out = dir.resolve("chromium.out");
        Process p = new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        try {
            assertThat(p.waitFor(90, TimeUnit.SECONDS)).as("chromium finished").isTrue();
        } finally {
            p.destroyForcibly();
        }
        assertThat(p.exitValue()).isZero();
        return Files.readString(out);
    }

    private static int count(String text, String needle) {
        int n = 0;
        for (int i = text.indexOf(needle); i >= 0; i = text.indexOf(needle, i + 1)) {
            n++;
        }
        return n;
    }

    private static long pixels(BufferedImage image, int r, int g, int b) {
        long n = 0;
        for (int y = 0; y < image.getHeight(); y += 2) {
            for (int x = 0; x < image.getWidth(); x += 2) {
                int rgb = image.getRGB(x, y);
                if (Math.abs(((rgb >> 16) & 0xff) - r) < 12 && Math.abs(((rgb >> 8) & 0xff) - g) < 12 && Math.abs((rgb & 0xff) - b) < 12) {
                    n++;
                }
            }
        }
        return n;
    }
}
