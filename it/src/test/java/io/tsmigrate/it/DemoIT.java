package io.tsmigrate.it;

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
        Cli.Result r = Cli.run("demo", "--rows", "20000", "--report", report.toString());
        assertThat(r.exitCode()).as(r.toString()).isZero();
        assertThat(r.out()).containsPattern("backfill +done").containsPattern("verify +done").containsPattern("cutover +done")
                .contains("Final check, after the application stopped")
                .contains("Nothing lost, nothing doubled: the target is the primary and holds exactly what the source holds.");
        assertThat(r.err()).contains("demo: the application starts").containsPattern("after the switch\\), [0-9,]+ readings")
                .contains(" 0 errors")
                .contains("demo: a billing job in another language starts too: pgbench, through tsmigrate proxy")
                .containsPattern("the billing job stopped: [1-9][0-9,]* transactions went through tsmigrate proxy to both sides");
        assertThat(r.out()).containsPattern("match +public.orders whole table");
        Matcher workDir = Pattern.compile("under (\\S+)").matcher(r.err());
        assertThat(workDir.find()).isTrue();
        assertThat(Path.of(workDir.group(1))).as("the demo removes its work directory and servers").doesNotExist();

        assertThat(Files.isExecutable(CHROMIUM)).as("chromium is installed (scripts/install-prerequisites installs it)").isTrue();
        String dom = chromium(dir, "--dump-dom", report.toUri().toString());
        assertThat(dom).contains("id=\"steps\"").contains("migrate.cutover").contains("id=\"hazards\"");
        assertThat(count(dom, "<polyline")).as("one throughput line per hypertable").isEqualTo(2);
        assertThat(count(dom, "class=\"range match\"")).as("verification squares, all equal").isGreaterThanOrEqualTo(4);
        assertThat(dom).doesNotContain("class=\"range differs\"");
        assertThat(count(dom, "opacity=\"0.35\"")).as("p95 bars, source and target per shape").isGreaterThanOrEqualTo(8);

        Path png = dir.resolve("report.png");
        chromium(dir, "--screenshot=" + png, "--window-size=1200,1800", report.toUri().toString());
        BufferedImage image = ImageIO.read(png.toFile());
        assertThat(image.getWidth()).isEqualTo(1200);
        assertThat(image.getHeight()).isEqualTo(1800);
        assertThat(pixels(image, 0x33, 0xaa, 0x33)).as("green verification squares drawn").isPositive();
        assertThat(pixels(image, 0x1f, 0x77, 0xb4)).as("blue plot lines and bars drawn").isPositive();
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
