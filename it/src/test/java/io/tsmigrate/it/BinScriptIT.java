package io.tsmigrate.it;

import com.fasterxml.jackson.databind.JsonNode;
import io.tsmigrate.core.json.Json;
import io.tsmigrate.it.kit.PgServersExtension;
import io.tsmigrate.it.kit.TestDatabases;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code bin/tsmigrate} as a user runs it: a separate process, environment variables, exit codes. */
@ExtendWith(PgServersExtension.class)
class BinScriptIT {

    private static final Path SCRIPT = Path.of("..", "bin", "tsmigrate").toAbsolutePath().normalize();

    record Run(int exitCode, String out, String err) {
    }

    static Run run(java.util.Map<String, String> env, String... args) throws Exception {
        ProcessBuilder builder = new ProcessBuilder();
        builder.command().add(SCRIPT.toString());
        builder.command().addAll(java.util.List.of(args));
        builder.environment().remove("SOURCE");
        builder.environment().remove("TARGET");
        builder.environment().putAll(env);
        Path out = java.nio.file.Files.createTempFile("tsmigrate-out", ".txt");
        Path err = java.nio.file.Files.createTempFile("tsmigrate-err", ".txt");
        try {
            Process p = builder.redirectOutput(out.toFile()).redirectError(err.toFile()).start();
            assertThat(p.waitFor(300, TimeUnit.SECONDS)).as("bin/tsmigrate finished").isTrue();
            return new Run(p.exitValue(), java.nio.file.Files.readString(out, StandardCharsets.UTF_8),
                    java.nio.file.Files.readString(err, StandardCharsets.UTF_8));
        } finally {
            java.nio.file.Files.deleteIfExists(out);
            java.nio.file.Files.deleteIfExists(err);
        }
    }

    @Test
    void doctorPrintsParsableJsonOnStdoutAndExitsZero(TestDatabases db) throws Exception {
        Run r = run(java.util.Map.of("SOURCE", db.sourceUri(), "TARGET", db.targetUri()), "doctor", "--json");
        assertThat(r.exitCode()).as(r.err()).isZero();
        JsonNode json = Json.mapper().readTree(r.out());
        assertThat(json.get("verdict").asText()).isEqualTo("ready");
        assertThat(json.get("checks").size()).isGreaterThanOrEqualTo(9);
    }

    @Test
    void badInputExitsNonZeroWithOneLineAndNoStackTrace() throws Exception {
        Run r = run(java.util.Map.of(), "doctor", "--source", "nonsense", "--target", "postgres://h/db");
        assertThat(r.exitCode()).isEqualTo(2);
        assertThat(r.err().lines().filter(l -> l.startsWith("tsmigrate:")).toList())
                .containsExactly("tsmigrate: the source connection string is neither a postgres:// URI nor "
                        + "keyword=value settings; give a URI such as postgres://user:password@host:5432/dbname.");
        assertThat(r.err()).doesNotContain("Exception").doesNotContain("\tat ");
    }

    /** --version says which commit the jar was built from and when, so that a report of a problem can say exactly what ran. */
    @Test
    void versionNamesTheCommitAndTheBuildTime() throws Exception {
        Run r = run(java.util.Map.of(), "--version");
        assertThat(r.exitCode()).as(r.err()).isZero();
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("tsmigrate \\S+ \\(commit ([0-9a-f]{12})( with uncommitted changes)?, "
                + "built \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ\\)\n").matcher(r.out());
        assertThat(m.matches()).as(r.out()).isTrue();
        Process git = new ProcessBuilder("git", "-C", SCRIPT.getParent().getParent().toString(), "rev-parse", "--short=12", "HEAD")
                .redirectErrorStream(true).start();
        String head = new String(git.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        assertThat(git.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(m.group(1)).as("the commit the suite runs on").isEqualTo(head);
    }
}
