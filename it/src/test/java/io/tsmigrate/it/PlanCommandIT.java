package io.tsmigrate.it;

import com.fasterxml.jackson.databind.JsonNode;
import io.tsmigrate.core.catalog.TableRef;
import io.tsmigrate.core.json.Json;
import io.tsmigrate.core.plan.ChunkInterval;
import io.tsmigrate.core.plan.Plan;
import io.tsmigrate.core.plan.PlanChecker;
import io.tsmigrate.core.plan.PlanFile;
import io.tsmigrate.core.catalog.CatalogReader;
import io.tsmigrate.core.connect.PgConnector;
import io.tsmigrate.it.kit.PgServersExtension;
import io.tsmigrate.it.kit.TestDatabases;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.util.Comparator;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code tsmigrate plan} end to end: the report, the plan file, editing it and checking it. */
@ExtendWith(PgServersExtension.class)
class PlanCommandIT {

    private final TestDatabases db;
    private Path dir;

    PlanCommandIT(TestDatabases db) {
        this.db = db;
        db.source("CREATE TABLE IF NOT EXISTS devices (id int PRIMARY KEY, name text)",
                "CREATE TABLE IF NOT EXISTS metrics (id bigint, time timestamptz NOT NULL, device_id int, cpu float8, "
                        + "PRIMARY KEY (id))",
                "CREATE INDEX IF NOT EXISTS metrics_time ON metrics (time)",
                "CREATE TABLE IF NOT EXISTS ticks (ts_ms bigint NOT NULL, symbol text, price numeric)",
                "CREATE TABLE IF NOT EXISTS notes (id int, body text)",
                "CREATE TABLE IF NOT EXISTS audit_log (logged_at timestamptz, message text)");
    }

    @BeforeEach
    void makeDirectory() throws Exception {
        dir = Files.createTempDirectory("plan-it");
    }

    @AfterEach
    void removeDirectory() throws Exception {
        try (var files = Files.walk(dir)) {
            for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }

    private Cli.Result plan(String... more) {
        List<String> args = new java.util.ArrayList<>(List.of("plan", "--source", db.sourceUri(), "--target", db.targetUri(),
                "--min-size", "0", "--plan", dir.resolve("plan.yaml").toString()));
        args.addAll(List.of(more));
        return Cli.run(args.toArray(String[]::new));
    }

    private Cli.Result check(Path file) {
        return Cli.run("plan", "--source", db.sourceUri(), "--check", "--plan", file.toString());
    }

    @Test
    void writesTheReportAndAPlanThatRoundTripsThroughAnEdit() throws Exception {
        Cli.Result r = plan("--include", "ticks", "--include", "metrics");
        assertThat(r.exitCode()).as(r.toString()).isZero();
        assertThat(r.out()).contains("Edit it, then check it: tsmigrate plan --check --plan " + dir.resolve("plan.yaml"));
        assertThat(r.out()).contains("chosen  public.metrics").contains("key-without-time-column")
                .contains("Time-type groups (each needs its own completion point T):")
                .containsPattern("timestamptz: public.metrics").containsPattern("bigint: public.ticks")
                .contains("Plan written to " + dir.resolve("plan.yaml"));
        Path file = dir.resolve("plan.yaml");
        String yaml = Files.readString(file);
        assertThat(yaml).contains("- table: \"public.metrics\"").contains("extend_keys: true")
                .contains("segment_by: [\"device_id\"]").contains("# Candidates not chosen").contains("#   public.audit_log (time column logged_at")
                .doesNotContain("notes");

        // Edit: a different interval, compression on, and drop ticks.
        String edited = yaml.replaceFirst("chunk_interval: \"[^\"]+\"", "chunk_interval: \"6 hours\"")
                .replaceFirst("enabled: false", "enabled: true");
        edited = edited.substring(0, edited.indexOf("  # public.ticks")) + edited.substring(edited.indexOf("# Candidates not chosen"));
        Files.writeString(file, edited);
        Cli.Result ok = check(file);
        assertThat(ok.exitCode()).as(ok.toString()).isZero();
        assertThat(ok.out()).isEqualTo(file + ": the plan matches the source; 1 hypertable (public.metrics on time).\n");

        Plan plan;
        try (Connection c = PgConnector.open(db.source())) {
            plan = PlanChecker.resolve(PlanFile.read(file), CatalogReader.read(c));
        }
        Plan.Hypertable metrics = plan.hypertable(TableRef.parse("metrics")).orElseThrow();
        assertThat(metrics.chunkInterval()).isEqualTo(ChunkInterval.parse("6 hours", false));
        assertThat(metrics.compression().enabled()).isTrue();
        assertThat(metrics.compression().segmentBy()).containsExactly("device_id");
        assertThat(metrics.extendKeys()).isTrue();
        assertThat(plan.hypertables()).hasSize(1);
        assertThat(plan.acceptedDifferences()).isEmpty();

        // Columns each side computes for itself, accepted as different (verify leaves them out).
        Files.writeString(file, edited.replace("accept_differences: []", "accept_differences:\n  - table: \"public.metrics\"\n"
                + "    columns: [\"cpu\"]"));
        assertThat(check(file).exitCode()).as(check(file).toString()).isZero();
        try (Connection c = PgConnector.open(db.source())) {
            plan = PlanChecker.resolve(PlanFile.read(file), CatalogReader.read(c));
        }
        assertThat(plan.acceptedColumns(TableRef.parse("metrics"))).containsExactly("cpu");
    }

    @Test
    void checkRefusesToAcceptDifferencesInAKeyColumnOrOneThatDoesNotExist() throws Exception {
        String entry = "  - table: public.metrics\n    time_column: time\n    chunk_interval: 1 day\n";
        Path key = writePlan(entry + "accept_differences:\n  - table: public.metrics\n    columns: [id]\n");
        Cli.Result r = check(key);
        assertThat(r.exitCode()).isEqualTo(2);
        assertThat(r.err()).contains("line 7: column \"id\" is in the primary key of public.metrics, by which verify matches rows: "
                + "it cannot be left out (send its value from the application instead)");
        Path missing = writePlan(entry + "accept_differences:\n  - table: public.metrics\n    columns: [received_at]\n");
        assertThat(check(missing).err()).contains("line 7: accept_differences names column \"received_at\", which public.metrics "
                + "does not have");
        Path typo = writePlan(entry + "accept_differences:\n  - table: public.metrics\n    column: [cpu]\n");
        assertThat(check(typo).err()).contains("unknown key \"column\" in an accept_differences entry (known: columns, table)");
    }

    /** The plan file is the user's to share and edit: it gets the permissions any new file of theirs gets (the umask), not 0600. */
    @Test
    void thePlanFileFollowsTheUmask() throws Exception {
        Cli.Result r = plan("--include", "metrics");
        assertThat(r.exitCode()).as(r.toString()).isZero();
        Path probe = Files.createFile(dir.resolve("probe"));
        String expected = java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(probe));
        assertThat(java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve("plan.yaml"))))
                .isEqualTo(expected);
        try (var files = Files.list(dir)) {
            assertThat(files.map(f -> f.getFileName().toString())).as("no temporary file left").noneMatch(n -> n.endsWith(".tmp"));
        }
    }

    @Test
    void printsJson() throws Exception {
        Cli.Result r = plan("--json", "--include", "metrics");
        assertThat(r.exitCode()).as(r.toString()).isZero();
        JsonNode json = Json.mapper().readTree(r.out());
        assertThat(json.get("plan_file").asText()).endsWith("plan.yaml");
        JsonNode metrics = null;
        for (JsonNode c : json.at("/report/candidates")) {
            if (c.get("table").asText().equals("public.metrics")) {
                metrics = c;
            }
        }
        assertThat(metrics).isNotNull();
        assertThat(metrics.get("chosen").asBoolean()).isTrue();
        assertThat(metrics.get("time_type").asText()).isEqualTo("timestamptz");
        assertThat(json.at("/report/time_groups/timestamptz/0").asText()).isEqualTo("public.metrics");
        assertThat(json.at("/report/hazards").size()).isGreaterThan(0);
    }

    @Test
    void refusesToOverwriteAnEditedPlan() throws Exception {
        Files.writeString(dir.resolve("plan.yaml"), "# my edits\n");
        Cli.Result r = plan();
        assertThat(r.exitCode()).isEqualTo(2);
        assertThat(r.err()).contains("plan.yaml already exists (it may hold your edits); pass --force");
        assertThat(Files.readString(dir.resolve("plan.yaml"))).isEqualTo("# my edits\n");
        assertThat(plan("--force").exitCode()).isZero();
    }

    private Path writePlan(String body) throws Exception {
        Path file = dir.resolve("edited.yaml");
        Files.writeString(file, "version: 1\nhypertables:\n" + body);
        return file;
    }

    @Test
    void checkNamesTheLineOfAMissingColumn() throws Exception {
        Path f = writePlan("  - table: public.metrics\n    time_column: ts\n    chunk_interval: 1 day\n");
        Cli.Result r = check(f);
        assertThat(r.exitCode()).isEqualTo(2);
        assertThat(r.err()).isEqualTo("tsmigrate: " + f + " line 4: table public.metrics has no column \"ts\"; "
                + "fix the plan file or write a new one with tsmigrate plan.\n");
    }

    @Test
    void checkRefusesANonTimeColumn() throws Exception {
        Path f = writePlan("  - table: public.metrics\n    time_column: cpu\n    chunk_interval: 1 day\n");
        assertThat(check(f).err()).contains("line 4: column \"cpu\" of public.metrics is double precision, not a time column");
    }

    @Test
    void checkRefusesAChunkIntervalOfZeroOrLess() throws Exception {
        Path zero = writePlan("  - table: public.metrics\n    time_column: time\n    chunk_interval: 0 hours\n");
        assertThat(check(zero).err()).contains("line 5: chunk interval \"0 hours\" must be greater than zero");
        Path negative = writePlan("  - table: public.ticks\n    time_column: ts_ms\n    chunk_interval: -5\n");
        assertThat(check(negative).err()).contains("line 5: chunk interval -5 must be greater than zero");
        assertThat(check(negative).exitCode()).isEqualTo(2);
    }

    @Test
    void checkNamesAnUnknownKeyAndATypo() throws Exception {
        Path f = writePlan("  - table: public.metrics\n    time_column: time\n    chunk_intervall: 1 day\n");
        assertThat(check(f).err()).contains("line 5: unknown key \"chunk_intervall\" in a hypertable entry (known: "
                + "chunk_interval, compression, extend_keys, table, time_column, time_unit)");
        Path t = writePlan("  - table: public.metrix\n    time_column: time\n    chunk_interval: 1 day\n");
        assertThat(check(t).err()).contains("line 3: table public.metrix does not exist in the source");
    }

    @Test
    void checkSaysWhenThePlanFileCannotBeRead() throws Exception {
        Cli.Result missing = check(dir.resolve("nope.yaml"));
        assertThat(missing.exitCode()).isEqualTo(2);
        assertThat(missing.err()).isEqualTo("tsmigrate: cannot read the plan file " + dir.resolve("nope.yaml")
                + ": no such file; give the path of a file written by tsmigrate plan.\n");
        Path broken = dir.resolve("broken.yaml");
        Files.writeString(broken, "version: 1\nhypertables: [\n");
        assertThat(check(broken).err()).contains("not valid YAML");
    }
}
