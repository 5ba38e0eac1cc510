package io.tsmigrate.it;

import io.tsmigrate.core.TsmigrateException;
import io.tsmigrate.core.catalog.TableRef;
import io.tsmigrate.core.connect.ConnectionSpec;
import io.tsmigrate.core.connect.PgConnector;
import io.tsmigrate.core.pgtools.PgInstallations;
import io.tsmigrate.core.plan.ChunkInterval;
import io.tsmigrate.core.plan.Plan;
import io.tsmigrate.core.schema.SchemaMigrator;
import io.tsmigrate.core.schema.SchemaOptions;
import io.tsmigrate.it.kit.PgServersExtension;
import io.tsmigrate.it.kit.TestDatabases;
import io.tsmigrate.servers.Await;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.util.List;
import java.util.Optional;

import static io.tsmigrate.it.kit.TestDatabases.queryLong;
import static io.tsmigrate.it.kit.TestDatabases.queryString;
import static io.tsmigrate.it.kit.TestDatabases.rows;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * {@code tsmigrate plan} + {@code tsmigrate schema} on a source with every kind of object the
 * schema step must handle; each test migrates into its own empty target database.
 */
@ExtendWith(PgServersExtension.class)
class SchemaIT {

    static Path dir;
    static Path planFile;

    @BeforeAll
    static void createSource(TestDatabases db) throws Exception {
        db.source(
                "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'Awk ward\"Role') THEN "
                        + "CREATE ROLE \"Awk ward\"\"Role\" SUPERUSER LOGIN PASSWORD 'awk-pw'; END IF; "
                        + "IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'select') THEN "
                        + "CREATE ROLE \"select\" REPLICATION BYPASSRLS; END IF; END $$",
                "GRANT \"select\" TO \"Awk ward\"\"Role\"",
                "CREATE TABLE devices (id serial PRIMARY KEY, name text NOT NULL)",
                "INSERT INTO devices (name) SELECT 'device ' || g FROM generate_series(1, 25) g",
                "CREATE TABLE orders (id bigserial PRIMARY KEY, placed_at timestamptz DEFAULT now(), amount numeric(10,2), note text)",
                "INSERT INTO orders (placed_at, amount, note) SELECT timestamptz '2026-01-01' + g * interval '1 hour', g / 3.0, "
                        + "CASE WHEN g % 7 = 0 THEN NULL ELSE 'note ''' || g || E'\\ttab' END FROM generate_series(1, 500) g",
                "CREATE SEQUENCE invoice_seq START 1000",
                "SELECT setval('invoice_seq', 4242)",
                "CREATE TABLE readings (time timestamptz NOT NULL, device_id int REFERENCES devices (id), v float8)",
                "CREATE INDEX ON readings (time)",
                "INSERT INTO readings SELECT timestamptz '2026-11-01' + g * interval '1 minute', 1 + g % 25, g FROM generate_series(1, 5000) g",
                "CREATE TABLE metrics_pk (id bigserial PRIMARY KEY, time timestamptz NOT NULL, cpu float8)",
                "CREATE TABLE metrics_child (metric_id bigint REFERENCES metrics_pk (id))",
                "INSERT INTO metrics_pk (time, cpu) SELECT timestamptz '2026-11-01' + g * interval '1 minute', g FROM generate_series(1, 1000) g",
                "CREATE TABLE events (time timestamptz NOT NULL, kind text, payload jsonb) PARTITION BY RANGE (time)",
                "CREATE TABLE events_2026h1 PARTITION OF events FOR VALUES FROM ('2026-01-01') TO ('2026-07-01')",
                "CREATE TABLE events_2026h2 PARTITION OF events FOR VALUES FROM ('2026-07-01') TO ('2027-01-01')",
                "CREATE INDEX ON events (kind, time)",
                "INSERT INTO events SELECT timestamptz '2026-02-01' + g * interval '1 hour', 'k' || (g % 4), '{\"a\": 1}' "
                        + "FROM generate_series(1, 5000) g",
                "CREATE TABLE gen_readings (time timestamptz NOT NULL, a int, doubled int GENERATED ALWAYS AS (a * 2) STORED)",
                "INSERT INTO gen_readings (time, a) SELECT timestamptz '2026-11-01' + g * interval '1 second', g FROM generate_series(1, 100) g",
                "CREATE TABLE trig_readings (time timestamptz NOT NULL, v int)",
                "CREATE FUNCTION bump_v() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.v := NEW.v + 1; RETURN NEW; END $$",
                "CREATE TRIGGER trig_readings_bump BEFORE INSERT ON trig_readings FOR EACH ROW EXECUTE FUNCTION bump_v()",
                "INSERT INTO trig_readings SELECT timestamptz '2026-11-01' + g * interval '1 second', g FROM generate_series(1, 100) g",
                "CREATE VIEW recent_readings AS SELECT time, device_id, v FROM readings WHERE time > timestamptz '2026-11-02'",
                "CREATE VIEW event_kinds AS SELECT kind, count(*) AS n FROM events GROUP BY kind",
                "CREATE FUNCTION readings_count() RETURNS bigint LANGUAGE sql STABLE AS $$ SELECT count(*) FROM public.readings $$",
                "ANALYZE");
        dir = Files.createTempDirectory("schema-it");
        planFile = dir.resolve("plan.yaml");
        Cli.Result plan = Cli.run("plan", "--source", db.sourceUri(), "--min-size", "0", "-o", planFile.toString(),
                "--include", "readings", "--include", "metrics_pk", "--include", "events", "--include", "gen_readings",
                "--include", "trig_readings", "--exclude", "orders");
        assertThat(plan.exitCode()).as(plan.toString()).isZero();
        // Pin the intervals so that the test can check them.
        String yaml = Files.readString(planFile).replaceAll("chunk_interval: \"[^\"]+\"", "chunk_interval: \"1 day\"");
        Files.writeString(planFile, yaml.replaceFirst("(table: \"public.events\"[\\s\\S]*?chunk_interval: )\"1 day\"", "$1\"1 week\""));
    }

    @AfterAll
    static void removeFiles() throws Exception {
        Files.deleteIfExists(planFile);
        Files.deleteIfExists(dir);
    }

    private Cli.Result schema(TestDatabases db, ConnectionSpec target, String... more) {
        List<String> args = new java.util.ArrayList<>(List.of("schema", "--source", db.sourceUri(), "--target",
                TestDatabases.uri(target), "--plan", planFile.toString()));
        args.addAll(List.of(more));
        return Cli.run(args.toArray(String[]::new));
    }

    private static String checksum(ConnectionSpec spec, String table) {
        return queryString(spec, "SELECT count(*) || ':' || coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '') FROM " + table + " t");
    }

    @Test
    void migratesEverythingAndASecondRunChangesNothing(TestDatabases db) {
        ConnectionSpec target = db.newTargetDatabase("schema_full", true);
        Cli.Result first = schema(db, target);
        assertThat(first.exitCode()).as(first.toString()).isZero();
        assertThat(first.out()).containsPattern("roles +done").containsPattern("dump +done").containsPattern("hypertables +done")
                .contains("public.metrics_pk metrics_pk_pkey extended to (id, time)")
                .contains("dropped foreign key public.metrics_child.metrics_child_metric_id_fkey");

        // Relational data: same rows on both sides.
        for (String table : List.of("devices", "orders")) {
            assertThat(checksum(target, table)).isEqualTo(checksum(db.source(), table));
        }
        assertThat(queryLong(target, "SELECT last_value FROM invoice_seq")).isEqualTo(4242);
        assertThat(queryLong(target, "SELECT last_value FROM orders_id_seq")).isEqualTo(500);

        // Hypertables with the planned intervals and no rows.
        assertThat(rows(target, "SELECT hypertable_name, time_interval::text FROM timescaledb_information.dimensions ORDER BY 1"))
                .containsExactly(List.of("events", "7 days"), List.of("gen_readings", "1 day"), List.of("metrics_pk", "1 day"),
                        List.of("readings", "1 day"), List.of("trig_readings", "1 day"));
        for (String table : List.of("readings", "metrics_pk", "events", "gen_readings", "trig_readings")) {
            assertThat(queryLong(target, "SELECT count(*) FROM " + table)).as(table).isZero();
        }
        assertThat(queryString(target, "SELECT relkind FROM pg_class WHERE oid = 'events'::regclass")).isEqualTo("r");
        assertThat(queryLong(target, "SELECT count(*) FROM pg_class WHERE relname LIKE 'events_2026%'")).isZero();
        assertThat(queryString(target, "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'metrics_pk_pkey'"))
                .isEqualTo("PRIMARY KEY (id, \"time\")");
        assertThat(queryLong(target, "SELECT count(*) FROM pg_indexes WHERE tablename = 'events' AND indexdef LIKE '%(kind, \"time\")%'"))
                .isEqualTo(1);
        assertThat(queryString(target, "SELECT attgenerated FROM pg_attribute WHERE attrelid = 'gen_readings'::regclass "
                + "AND attname = 'doubled'")).isEqualTo("s");
        assertThat(queryLong(target, "SELECT count(*) FROM pg_trigger WHERE tgname = 'trig_readings_bump'")).isEqualTo(1);
        // Views and functions that depend on the hypertables work.
        assertThat(queryLong(target, "SELECT count(*) FROM recent_readings")).isZero();
        assertThat(queryLong(target, "SELECT readings_count()")).isZero();
        assertThat(queryLong(target, "SELECT count(*) FROM event_kinds")).isZero();

        // Roles, without the attributes a managed target refuses.
        assertThat(rows(target, "SELECT rolsuper::text, rolreplication::text, rolbypassrls::text, rolcanlogin::text FROM pg_roles "
                + "WHERE rolname = 'Awk ward\"Role'")).containsExactly(List.of("false", "false", "false", "true"));
        assertThat(rows(target, "SELECT rolreplication::text, rolbypassrls::text FROM pg_roles WHERE rolname = 'select'"))
                .containsExactly(List.of("false", "false"));
        assertThat(queryLong(target, "SELECT count(*) FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid "
                + "JOIN pg_roles u ON u.oid = m.member WHERE r.rolname = 'select' AND u.rolname = 'Awk ward\"Role'")).isEqualTo(1);

        // The state schema, with every step done and the plan.
        assertThat(rows(target, "SELECT name, status FROM tsmigrate.step ORDER BY name")).containsExactly(
                List.of("schema.compression", "done"), List.of("schema.dump", "done"), List.of("schema.hypertables", "done"),
                List.of("schema.roles", "done"));
        assertThat(queryLong(target, "SELECT jsonb_array_length(plan->'hypertables') FROM tsmigrate.plan")).isEqualTo(5);
        assertThat(queryString(target, "SELECT value FROM tsmigrate.meta WHERE key = 'schema_version'")).isNotBlank();
        assertThat(queryString(target, "SELECT definition FROM tsmigrate.dropped_constraint")).contains("REFERENCES metrics_pk(id)");

        // A second run: a no-op.
        String before = queryString(target, "SELECT string_agg(name || finished_at, ',' ORDER BY name) FROM tsmigrate.step "
                + "WHERE name IN ('schema.roles', 'schema.dump')");
        String objects = queryString(target, "SELECT count(*) || ':' || sum(hashtext(relname)) FROM pg_class "
                + "WHERE relnamespace = 'public'::regnamespace");
        Cli.Result second = schema(db, target);
        assertThat(second.exitCode()).as(second.toString()).isZero();
        assertThat(second.out()).containsPattern("roles +already done").containsPattern("dump +already done")
                .containsPattern("hypertables +already done");
        assertThat(queryString(target, "SELECT string_agg(name || finished_at, ',' ORDER BY name) FROM tsmigrate.step "
                + "WHERE name IN ('schema.roles', 'schema.dump')")).isEqualTo(before);
        assertThat(queryString(target, "SELECT count(*) || ':' || sum(hashtext(relname)) FROM pg_class "
                + "WHERE relnamespace = 'public'::regnamespace")).isEqualTo(objects);
        assertThat(checksum(target, "orders")).isEqualTo(checksum(db.source(), "orders"));
    }

    @Test
    void dryRunPrintsEveryStatementAndChangesNothing(TestDatabases db) {
        ConnectionSpec target = db.newTargetDatabase("schema_dry", true);
        Cli.Result r = schema(db, target, "--dry-run");
        assertThat(r.exitCode()).as(r.toString()).isZero();
        assertThat(r.out()).contains("Dry run: nothing was changed.").contains("pg_dumpall --roles-only --quote-all-identifiers")
                .contains("CREATE ROLE \"Awk ward\"\"Role\";").contains("PASSWORD '****'")
                .contains("--exclude-table-data=\"public\".\"readings\"").contains("--exclude-table=\"public\".\"events_2026h1\"")
                .contains("SELECT create_hypertable('\"public\".\"readings\"'::regclass, by_range('time', INTERVAL '1 day'), migrate_data => true)")
                .contains("ALTER TABLE \"public\".\"metrics_pk\" ADD CONSTRAINT \"metrics_pk_pkey\" PRIMARY KEY (\"id\", \"time\")");
        assertThat(r.out()).doesNotContain("awk-pw").doesNotContain(db.source().password().orElseThrow());
        assertThat(queryLong(target, "SELECT count(*) FROM pg_namespace WHERE nspname = 'tsmigrate'")).isZero();
        assertThat(queryLong(target, "SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace")).isZero();
    }

    @Test
    void refusesClashingTablesUnlessForced(TestDatabases db) {
        ConnectionSpec target = db.newTargetDatabase("schema_clash", true);
        TestDatabases.execute(target, "CREATE TABLE devices (id int)", "INSERT INTO devices VALUES (999)");
        Cli.Result refused = schema(db, target, "--skip-roles");
        assertThat(refused.exitCode()).isEqualTo(4);
        assertThat(refused.err()).doesNotContain("running roles").endsWith("tsmigrate: the target already has 1 table(s) that the dump would create: "
                + "public.devices; use an empty target database, drop them, or pass --force to drop these tables on the target "
                + "(with their rows) and load them from the source again.\n");
        assertThat(queryLong(target, "SELECT count(*) FROM devices")).isEqualTo(1);
        Cli.Result forced = schema(db, target, "--skip-roles", "--force");
        assertThat(forced.exitCode()).as(forced.toString()).isZero();
        assertThat(checksum(target, "devices")).isEqualTo(checksum(db.source(), "devices"));
    }

    @Test
    void aFailurePartWayNamesTheObjectAndARerunContinues(TestDatabases db) {
        ConnectionSpec target = db.newTargetDatabase("schema_fail", true);
        TestDatabases.execute(target, "CREATE FUNCTION readings_count() RETURNS bigint LANGUAGE sql AS $$ SELECT 1::bigint $$");
        Cli.Result failed = schema(db, target);
        assertThat(failed.exitCode()).as(failed.toString()).isEqualTo(7);
        assertThat(failed.err()).contains("\ntsmigrate: loading the dump into the target failed: ERROR: function \"readings_count\" "
                + "already exists with same argument types at line ").contains("(statement: CREATE FUNCTION \"public\".\"readings_count\"()")
                .endsWith("nothing was loaded (one transaction): fix the cause and re-run tsmigrate schema.\n");
        assertThat(queryLong(target, "SELECT count(*) FROM pg_class WHERE relname = 'devices'")).isZero();
        assertThat(rows(target, "SELECT name, status FROM tsmigrate.step ORDER BY name"))
                .containsExactly(List.of("schema.dump", "failed"), List.of("schema.roles", "done"));

        TestDatabases.execute(target, "DROP FUNCTION readings_count()");
        Cli.Result rerun = schema(db, target);
        assertThat(rerun.exitCode()).as(rerun.toString()).isZero();
        assertThat(rerun.out()).containsPattern("roles +already done").containsPattern("dump +done");
        assertThat(checksum(target, "orders")).isEqualTo(checksum(db.source(), "orders"));
    }

    /**
     * Ctrl-C while the dump is under way: psql's CREATE FUNCTION waits for a session of the target
     * that created the same function and has not committed, so the load is certainly in progress when
     * SIGINT lands; the command says so, stops pg_dump and psql, exits 130, records the step as failed
     * (not running), leaves the target without any of it, and a re-run finishes.
     */
    @Test
    void ctrlCStopsTheDumpAtOnceAndARerunFinishes(TestDatabases db) throws Exception {
        ConnectionSpec target = db.newTargetDatabase("schema_ctrl_c", true);
        List<String> args = List.of("schema", "--source", db.sourceUri(), "--target", TestDatabases.uri(target), "--plan",
                planFile.toString(), "--skip-roles");
        try (Connection holder = PgConnector.open(target); Statement st = holder.createStatement()) {
            holder.setAutoCommit(false);
            st.execute("CREATE FUNCTION public.readings_count() RETURNS bigint LANGUAGE sql AS 'SELECT 1::bigint'");
            try (CliProcess p = CliProcess.start(args)) {
                Await.until("psql waiting for the other session's function", () -> {
                    assertThat(p.isAlive()).as("schema still running: " + p.output()).isTrue();
                    return queryLong(target, "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'psql' "
                            + "AND wait_event_type = 'Lock'") > 0;
                });
                assertThat(queryString(target, "SELECT status FROM tsmigrate.step WHERE name = 'schema.dump'")).isEqualTo("running");
                p.interrupt();
                assertThat(p.waitFor(20)).as("stopped soon after Ctrl-C").isTrue();
                p.close();
                assertThat(p.exitValue()).as(p.output()).isEqualTo(130);
                assertThat(p.output()).contains("tsmigrate: stopping schema (Ctrl-C)")
                        .contains("tsmigrate: interrupted: pg_dump and psql were stopped and the load's transaction rolled back");
            }
            assertThat(queryString(target, "SELECT status FROM tsmigrate.step WHERE name = 'schema.dump'")).isEqualTo("failed");
            holder.rollback();
        }
        // psql's session notices it lost its client once its lock wait ends: then it rolls back.
        Await.until("psql's session on the target gone", () -> queryLong(target,
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'psql'") == 0);
        assertThat(queryLong(target, "SELECT count(*) FROM pg_class WHERE relname IN ('devices', 'orders')")).as("nothing loaded").isZero();
        Cli.Result rerun = Cli.run(args.toArray(String[]::new));
        assertThat(rerun.exitCode()).as(rerun.toString()).isZero();
        assertThat(rerun.out()).containsPattern("dump +done");
        assertThat(checksum(target, "orders")).isEqualTo(checksum(db.source(), "orders"));
    }

    @Test
    void namesThePackageWhenPgDumpIsOlderThanTheSource(TestDatabases db) throws Exception {
        List<PgInstallations.Installation> all = PgInstallations.find();
        PgInstallations.Installation oldest = all.get(all.size() - 1);
        ConnectionSpec newerSource = db.newTargetDatabase("schema_newer_source", false);
        long major = queryLong(newerSource, "SELECT current_setting('server_version_num')::int / 10000");
        assumeTrue(oldest.major() < major, "only one PostgreSQL major is installed");
        Path emptyPlan = dir.resolve("empty.yaml");
        Files.writeString(emptyPlan, "version: 1\nhypertables: []\n");
        try {
            Cli.Result r = Cli.run("schema", "--source", TestDatabases.uri(newerSource), "--target",
                    TestDatabases.uri(db.newTargetDatabase("schema_old_tools", true)), "--plan", emptyPlan.toString(),
                    "--pg-bindir", oldest.bindir().toString());
            assertThat(r.exitCode()).isEqualTo(4);
            assertThat(r.err()).contains("tsmigrate: " + oldest.bindir() + "/pg_dump is version " + oldest.major())
                    .contains("older than the source server (" + major + "); install postgresql-client-" + major + ".");
        } finally {
            Files.delete(emptyPlan);
        }
    }

    @Test
    void refusesAPlanThatNoLongerMatchesTheSource(TestDatabases db) {
        ConnectionSpec target = db.newTargetDatabase("schema_stale", true);
        Plan stale = new Plan(Plan.VERSION, List.of(new Plan.Hypertable(new TableRef("public", "gone"), "time",
                ChunkInterval.parse("1 day", false), Optional.empty(), Plan.Compression.off(), false)));
        assertThatThrownBy(() -> SchemaMigrator.run(db.source(), target, stale, new SchemaOptions(true, false, false, Optional.empty()),
                line -> { }))
                .isInstanceOf(TsmigrateException.class)
                .hasMessage("the plan no longer matches the source: table public.gone no longer exists in the source; "
                        + "re-run tsmigrate plan, or fix the plan file.");
    }
}
