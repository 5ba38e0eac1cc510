package io.tsmigrate.it;

import io.tsmigrate.core.connect.ConnectionSpec;
import io.tsmigrate.it.kit.PgServersExtension;
import io.tsmigrate.it.kit.TestDatabases;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

import static io.tsmigrate.it.Fixtures.checksum;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * What a long command writes while it runs, under a real pseudo-terminal ({@code script}) and
 * redirected: bars drawn in place on a terminal (colours unless NO_COLOR), timestamped log lines
 * otherwise, nothing with --progress none; the data is the same whichever is chosen.
 */
@ExtendWith(PgServersExtension.class)
class ProgressIT {

    private static final String T = "2026-11-11 00:00:00+00";
    private static final Pattern COLOR = Pattern.compile("\033\\[[0-9;]*m");
    private static final Pattern CURSOR_UP = Pattern.compile("\033\\[\\d+A");
    private static final Pattern STAMPED = Pattern.compile("(?m)^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ backfill: ");

    @BeforeAll
    static void createSource(TestDatabases db) {
        db.source("CREATE TABLE metrics (time timestamptz NOT NULL, device_id int, cpu float8)",
                "INSERT INTO metrics SELECT timestamptz '2026-11-01' + g * interval '20 seconds', g % 50, g / 7.0 "
                        + "FROM generate_series(0, 40000) g",
                "CREATE TABLE ticks (time timestamptz NOT NULL, v int)",
                "INSERT INTO ticks SELECT timestamptz '2026-11-01' + g * interval '1 minute', g FROM generate_series(0, 12000) g",
                "CREATE INDEX ON metrics (time)", "CREATE INDEX ON ticks (time)", "ANALYZE");
    }

    private static List<String> backfill(TestDatabases db, ConnectionSpec target, String... extra) {
        Fixtures.migrateSchema(db.source(), target, "1 day", "metrics", "ticks");
        List<String> args = new ArrayList<>(List.of("backfill", "--source", db.sourceUri(), "--target", TestDatabases.uri(target),
                "--until", T, "--max-rate", "40000", "--max-range-rows", "5000"));
        args.addAll(List.of(extra));
        return args;
    }

    /** Runs tsmigrate under a pseudo-terminal (util-linux script); returns everything the terminal received. */
    private static String underATerminal(List<String> args, Map<String, String> environment) throws Exception {
        StringBuilder command = new StringBuilder("exec java -cp '" + Fixtures.CLI_JAR + "' io.tsmigrate.cli.Main");
        for (String a : args) {
            command.append(" '").append(a.replace("'", "'\\''")).append('\'');
        }
        ProcessBuilder pb = new ProcessBuilder("script", "-q", "-e", "-c", command.toString(), "/dev/null").redirectErrorStream(true);
        pb.environment().put("TERM", "xterm-256color");
        pb.environment().remove("NO_COLOR");
        pb.environment().putAll(environment);
        Process p = pb.start();
        p.getOutputStream().close();
        byte[] out = p.getInputStream().readAllBytes();
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
        String text = new String(out, StandardCharsets.UTF_8);
        assertThat(p.exitValue()).as(text).isZero();
        return text;
    }

    @Test
    void onATerminalBarsAreDrawnInPlaceWithHumanNumbersAndEndAtAHundredPercent(TestDatabases db) throws Exception {
        ConnectionSpec target = db.newTargetDatabase("progress_bar", true);
        String out = underATerminal(backfill(db, target), Map.of());
        assertThat(CURSOR_UP.matcher(out).find()).as("bars redrawn in place:\n" + out).isTrue();
        assertThat(COLOR.matcher(out).find()).as("colours").isTrue();
        assertThat(out).containsPattern("public\\.metrics +100% \\[\\S+\\] 40\\.0 k/40\\.0 k rows [\\d.]+ k?/s elapsed \\d+:\\d\\d done")
                .containsPattern("public\\.ticks +100% ").containsPattern("all tables +100% ")
                .containsPattern("ETA \\d+:\\d\\d").doesNotContain("40000/");
        assertThat(STAMPED.matcher(out).find()).as("no log lines while bars are drawn").isFalse();
        assertThat(checksum(target, "metrics", "true")).isEqualTo(checksum(db.source(), "metrics", "time < '" + T + "'"));
    }

    @Test
    void noColorKeepsTheBarsWithoutColours(TestDatabases db) throws Exception {
        ConnectionSpec target = db.newTargetDatabase("progress_nocolor", true);
        String withVariable = underATerminal(backfill(db, target), Map.of("NO_COLOR", "1"));
        assertThat(CURSOR_UP.matcher(withVariable).find()).as("still bars").isTrue();
        assertThat(COLOR.matcher(withVariable).find()).as("no colour with NO_COLOR:\n" + withVariable).isFalse();

        ConnectionSpec again = db.newTargetDatabase("progress_nocolor_flag", true);
        String withFlag = underATerminal(backfill(db, again, "--no-color"), Map.of());
        assertThat(COLOR.matcher(withFlag).find()).as("no colour with --no-color").isFalse();
    }

    @Test
    void redirectedItWritesTimestampedLinesAndNoEscapeCodes(TestDatabases db) throws Exception {
        ConnectionSpec target = db.newTargetDatabase("progress_log", true);
        try (CliProcess p = CliProcess.start(backfill(db, target, "--log-interval", "1s"))) {
            assertThat(p.waitFor(120)).isTrue();
            assertThat(p.exitValue()).as(p.output()).isZero();
            String out = p.output();
            assertThat(out).doesNotContain("\033").doesNotContain("\r");
            assertThat(out).containsPattern(STAMPED.pattern() + "2 table\\(s\\), \\d+ ranges, about [\\d,]+ rows to copy")
                    .containsPattern(STAMPED.pattern() + "[\\d.]+ k? ?of about [\\d.]+ k rows \\(\\d+%\\), .* rows/s, ETA ");
        }
        ConnectionSpec quiet = db.newTargetDatabase("progress_none", true);
        try (CliProcess p = CliProcess.start(backfill(db, quiet, "--progress", "none"))) {
            assertThat(p.waitFor(120)).isTrue();
            assertThat(p.exitValue()).as(p.output()).isZero();
            assertThat(STAMPED.matcher(p.output()).find()).as(p.output()).isFalse();
            assertThat(p.output()).contains("public.metrics").contains("ranges done");
        }
        assertThat(checksum(quiet, "ticks", "true")).isEqualTo(checksum(db.source(), "ticks", "time < '" + T + "'"));

        // --quiet (-q): the result and errors only, also for log lines and notes.
        ConnectionSpec silent = db.newTargetDatabase("progress_quiet", true);
        try (CliProcess p = CliProcess.start(backfill(db, silent, "-q", "--log-interval", "1s", "--max-load", "active-sessions=100"))) {
            assertThat(p.waitFor(120)).isTrue();
            assertThat(p.exitValue()).as(p.output()).isZero();
            assertThat(p.output()).doesNotContain("backfill:").doesNotContain("throttle").doesNotContain(" INFO ")
                    .contains("public.metrics").contains("complete: ");
        }
        Cli.Result bad = Cli.run("backfill", "-q", "--workers", "0");
        assertThat(bad.exitCode()).isEqualTo(2);
        assertThat(bad.err()).startsWith("tsmigrate: ");
    }
}
