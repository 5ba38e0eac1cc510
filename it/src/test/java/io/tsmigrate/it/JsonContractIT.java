package io.tsmigrate.it;

import com.fasterxml.jackson.databind.JsonNode;
import io.tsmigrate.core.connect.ConnectionSpec;
import io.tsmigrate.core.json.Json;
import io.tsmigrate.dualwrite.DualWriteDataSource;
import io.tsmigrate.it.kit.PgServersExtension;
import io.tsmigrate.it.kit.TestDatabases;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The JSON contract of every command's {@code --json} (README: JSON output): one document, the
 * documented top-level fields, times as ISO-8601 UTC with {@code Z}, durations as numbers of
 * seconds in fields named {@code *_seconds}, latencies in {@code *_ms}, tables as
 * {@code "schema.table"} strings, and no JSON inside a string.
 */
@ExtendWith(PgServersExtension.class)
class JsonContractIT {

    private static final String T = "2026-11-11 00:00:00+00";
    /** A point in time (it carries a zone): a timestamp without one is a value of a time column as the table holds it. */
    private static final Pattern LOOKS_LIKE_TIME = Pattern.compile("^\\d{4}-\\d\\d-\\d\\d[ T]\\d\\d:\\d\\d.*([+-]\\d\\d(:?\\d\\d)?|Z)$");
    private static final Pattern ISO_UTC = Pattern.compile("^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d(\\.\\d+)?Z$");
    private static final Pattern ISO_DURATION = Pattern.compile("^-?P(T|\\d).*");

    @Test
    void everyCommandsJsonKeepsTheContract(TestDatabases db, @TempDir Path dir) throws Exception {
        ConnectionSpec source = db.newSourceDatabase("json_source");
        ConnectionSpec target = db.newTargetDatabase("json_target", true);
        TestDatabases.execute(source, "CREATE TABLE devices (id int PRIMARY KEY, name text)",
                "INSERT INTO devices SELECT g, 'd' || g FROM generate_series(1, 10) g",
                "CREATE TABLE metrics (time timestamptz NOT NULL, device int REFERENCES devices (id), v float8)",
                "INSERT INTO metrics SELECT timestamptz '2026-11-01' + g * interval '1 minute', 1 + g % 10, g FROM generate_series(1, 20000) g",
                "CREATE INDEX ON metrics (time)", "ANALYZE");
        String s = TestDatabases.uri(source);
        String t = TestDatabases.uri(target);
        Path plan = dir.resolve("plan.yaml");
        Files.createDirectories(dir.resolve("journal"));
        TestDatabases.execute(db.servers().targetAdmin(), "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'json_app') "
                + "THEN CREATE ROLE json_app LOGIN; END IF; END $$");

        Map<String, JsonNode> outputs = new LinkedHashMap<>();
        outputs.put("doctor", json(0, "doctor", "--source", s, "--target", t, "--json"));
        outputs.put("plan", json(0, "plan", "--source", s, "--target", t, "--include", "metrics", "--plan", plan.toString(), "--json"));
        outputs.put("schema", json(0, "schema", "--source", s, "--target", t, "--plan", plan.toString(), "--skip-roles", "--json"));
        outputs.put("grant-writer", json(0, "grant-writer", "json_app", "--target", t, "--json"));
        String began = "2026-11-10T00:00:00Z"; // T must lie in the consistency range: after dual-writing began
        outputs.put("completion-point", json(0, "completion-point", "--source", s, "--target", t, "--dual-write-started-at", began,
                "--at", T, "--set", "--json"));
        outputs.put("backfill", json(0, "backfill", "--source", s, "--target", t, "--json"));
        outputs.put("throttle", json(0, "throttle", "--target", t, "--json"));
        outputs.put("constraints", json(0, "constraints", "--target", t, "--json"));
        outputs.put("verify", json(0, "verify", "--source", s, "--target", t, "--json"));
        outputs.put("status", json(0, "status", "--target", t, "--json"));
        outputs.put("replay", json(0, "replay", "--target", t, "--journal", dir.resolve("journal").toString(), "--json"));
        outputs.put("cutover", json(0, "cutover", "--source", s, "--target", t, "--dry-run", "--json"));
        // Shadow reads to compare, from an application reading through the library.
        try (DualWriteDataSource app = DualWriteDataSource.builder().primary(TestDatabases.dataSource(source))
                .secondary(TestDatabases.dataSource(target)).journalDirectory(dir.resolve("app-journal")).shadowReadShare(1.0).build();
             Connection c = app.getConnection(); Statement st = c.createStatement()) {
            for (int i = 0; i < 5; i++) {
                try (ResultSet rs = st.executeQuery("SELECT count(*) FROM metrics WHERE device = " + (1 + i))) {
                    while (rs.next()) {
                        rs.getLong(1);
                    }
                }
            }
            app.flushShadowReads();
        }
        // Rows past T are on the source only here (no application dual-wrote them): real mismatches, exit 5.
        outputs.put("compare-load", json(5, "compare-load", "--target", t, "--min-samples", "1000", "--json"));
        ConnectionSpec migrated = db.newTargetDatabase("json_migrate", true);
        outputs.put("migrate", json(0, "migrate", "--source", s, "--target", TestDatabases.uri(migrated), "--plan",
                dir.resolve("migrate-plan.yaml").toString(), "--include", "metrics", "--dual-write-started-at", began, "--max-lateness", "1m",
                "--json"));
        assertThat(outputs.keySet()).as("every command with --json").containsAll(DOCUMENTED.keySet());

        List<String> violations = new ArrayList<>();
        for (Map.Entry<String, JsonNode> e : outputs.entrySet()) {
            walk(e.getKey(), e.getValue(), violations);
            java.util.Set<String> keys = new java.util.TreeSet<>();
            e.getValue().fieldNames().forEachRemaining(keys::add);
            if (!keys.equals(new java.util.TreeSet<>(DOCUMENTED.get(e.getKey())))) {
                violations.add(e.getKey() + ": top-level fields " + keys + ", documented " + new java.util.TreeSet<>(DOCUMENTED.get(e.getKey())));
            }
        }
        assertThat(violations).as(String.join("\n", outputs.entrySet().stream().map(e -> e.getKey() + ": " + e.getValue()).toList()))
                .isEmpty();
    }

    /** The top-level fields of each command's document, as the README's "JSON output" section lists them. */
    static final Map<String, List<String>> DOCUMENTED = Map.ofEntries(
            Map.entry("doctor", List.of("checks", "verdict", "source", "target")),
            Map.entry("plan", List.of("plan_file", "report")),
            Map.entry("schema", List.of("dry_run", "steps", "commands")),
            Map.entry("grant-writer", List.of("role", "statements")),
            Map.entry("completion-point", List.of("last_writer_start", "basis", "writers", "max_lateness_seconds", "clock_skew_seconds",
                    "range_start", "range_end", "groups", "stored")),
            Map.entry("backfill", List.of("complete", "tables", "rows", "bytes", "elapsed_seconds", "failures", "notes")),
            Map.entry("throttle", List.of("paused", "rows_per_second", "bytes_per_second", "max_load", "set_by", "set_at")),
            Map.entry("constraints", List.of("outcomes", "elapsed_seconds")),
            Map.entry("verify", List.of("match", "mode", "run_id", "tables", "differences", "difference_count", "sequences", "notes",
                    "elapsed_seconds")),
            Map.entry("status", List.of("at", "started", "phase", "primary", "steps", "tables", "writers", "completion_points",
                    "verifications", "paused_jobs", "shadow_reads", "throttles", "computed_writes")),
            Map.entry("replay", List.of("intents", "journals")),
            Map.entry("cutover", List.of("switched", "primary", "checks", "writers")),
            Map.entry("compare-load", List.of("shapes", "real_mismatches", "max_slowdown", "min_samples", "problems", "computed_writes")),
            Map.entry("migrate", List.of("steps", "stop", "action", "hazards", "verification", "load", "cutover", "primary")));

    private static JsonNode json(int exit, String... args) throws Exception {
        Cli.Result r = Cli.run(args);
        assertThat(r.exitCode()).as(r.toString()).isEqualTo(exit);
        JsonNode doc = Json.mapper().readTree(r.out());
        assertThat(doc).as(args[0] + " prints one JSON document").isNotNull();
        return doc;
    }

    /** Applies the contract's rules to every value, collecting what breaks them with its path. */
    private static void walk(String path, JsonNode node, List<String> out) {
        if (node.isObject()) {
            for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> f = it.next();
                String name = f.getKey();
                JsonNode v = f.getValue();
                String at = path + "." + name;
                if ((name.equals("table") || name.endsWith("_table")) && !v.isNull() && !v.isTextual()) {
                    out.add(at + ": a table is a \"schema.table\" string, not " + v);
                }
                if (name.matches("p\\d+") || name.contains("micros")) {
                    out.add(at + ": a latency names its unit (p95_ms)");
                }
                walk(at, v, out);
            }
        } else if (node.isArray()) {
            for (int i = 0; i < node.size(); i++) {
                walk(path + "[" + i + "]", node.get(i), out);
            }
        } else if (node.isTextual()) {
            String v = node.asText();
            if (LOOKS_LIKE_TIME.matcher(v).matches() && !ISO_UTC.matcher(v).matches()) {
                out.add(path + ": a time is ISO-8601 UTC with Z, not \"" + v + "\"");
            }
            if (ISO_DURATION.matcher(v).matches()) {
                out.add(path + ": a duration is a number of seconds, not \"" + v + "\"");
            }
            String trimmed = v.strip();
            if ((trimmed.startsWith("{") && trimmed.endsWith("}")) || (trimmed.startsWith("[") && trimmed.endsWith("]"))) {
                out.add(path + ": JSON inside a string");
            }
        }
    }
}
