package io.tsmigrate.it;

import io.tsmigrate.core.catalog.TableRef;
import io.tsmigrate.core.plan.Hazard;
import io.tsmigrate.core.plan.Hazard.Severity;
import io.tsmigrate.core.plan.PlanReport;
import io.tsmigrate.core.plan.Planner;
import io.tsmigrate.it.kit.PgServersExtension;
import io.tsmigrate.it.kit.TestDatabases;
import io.tsmigrate.it.kit.TestServers;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Optional;

import static io.tsmigrate.it.PlanIT.candidate;
import static io.tsmigrate.it.PlanIT.hazard;
import static io.tsmigrate.it.PlanIT.hazards;
import static io.tsmigrate.it.PlanIT.include;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Every hazard {@code tsmigrate plan} reports, each on a situation created for it on the real source. */
@ExtendWith(PgServersExtension.class)
class PlanHazardsIT {

    private final TestDatabases db;

    PlanHazardsIT(TestDatabases db) {
        this.db = db;
    }

    private PlanReport plan(String... include) {
        return Planner.plan(db.source(), Optional.of(db.target()), include(include));
    }

    @Test
    void primaryKeyWithoutTimeColumnIsExtendedAndReferencingKeysAreDropped() {
        db.source("CREATE TABLE h_pk (id bigint PRIMARY KEY, time timestamptz NOT NULL, v int)",
                "CREATE TABLE h_pk_child (pk_id bigint REFERENCES h_pk (id))");
        PlanReport r = plan("h_pk");
        Hazard h = hazard(r, "key-without-time-column", "public.h_pk.h_pk_pkey");
        assertThat(h.severity()).isEqualTo(Severity.WARNING);
        assertThat(h.message()).isEqualTo("the primary key h_pk_pkey (id) on public.h_pk lacks the time column time, "
                + "and create_hypertable refuses it");
        assertThat(h.remedy()).startsWith("tsmigrate schema extends it to (id, time) on the target (plan: extend_keys: true)")
                .contains("the foreign keys that reference (id) (public.h_pk_child.h_pk_child_pk_id_fkey) cannot reference "
                        + "the extended key and are dropped on the target");
        assertThat(r.plan().hypertable(TableRef.parse("h_pk")).orElseThrow().extendKeys()).isTrue();
    }

    @Test
    void uniqueIndexWithoutTimeColumn() {
        db.source("CREATE TABLE h_uidx (code text, time timestamptz NOT NULL)",
                "CREATE UNIQUE INDEX h_uidx_code ON h_uidx (code)");
        Hazard h = hazard(plan("h_uidx"), "key-without-time-column", "public.h_uidx.h_uidx_code");
        assertThat(h.message()).contains("the unique index h_uidx_code on public.h_uidx lacks the time column time");
        assertThat(h.remedy()).contains("recreates it with time added");
    }

    @Test
    void tableReferencedByForeignKeysNeedsTimescaledb216() {
        db.source("CREATE TABLE h_parent (id bigint, time timestamptz NOT NULL, PRIMARY KEY (id, time))",
                "CREATE TABLE h_ref (rid bigint, rtime timestamptz, FOREIGN KEY (rid, rtime) REFERENCES h_parent (id, time))");
        Hazard h = hazard(plan("h_parent"), "referenced-by-foreign-keys", "public.h_ref");
        String version = TestDatabases.queryString(db.target(), "SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'");
        assertThat(h.severity()).isEqualTo(Severity.WARNING);
        assertThat(h.message()).contains("is referenced by foreign keys (public.h_ref.h_ref_rid_rtime_fkey)")
                .contains("need TimescaleDB 2.16 or later (the target has " + version + ")");
    }

    @Test
    void foreignKeyIntoASerialKeyedTable() {
        db.source("CREATE TABLE h_devices (id serial PRIMARY KEY, name text)",
                "CREATE TABLE h_readings (time timestamptz NOT NULL, device_id int REFERENCES h_devices (id), v float8)");
        Hazard h = hazard(plan("h_readings"), "foreign-key-to-serial-key", "public.h_readings.h_readings_device_id_fkey");
        assertThat(h.objects()).contains("public.h_devices.id");
        assertThat(h.message()).contains("whose values come from a SERIAL or identity sequence")
                .contains("different ids on the source and the target");
        assertThat(h.remedy()).contains("have the application generate the ids").contains("live migration");
    }

    @Test
    void identityColumnOnTheCandidate() {
        db.source("CREATE TABLE h_ident (id bigint GENERATED ALWAYS AS IDENTITY, time timestamptz NOT NULL)");
        Hazard h = hazard(plan("h_ident"), "sequence-filled-column", "public.h_ident.id");
        assertThat(h.message()).contains("is filled by an identity column's sequence public.h_ident_id_seq");
    }

    @Test
    void nullTimesBlockTheTableWithTheirCount() {
        db.source("CREATE TABLE h_nulls (time timestamptz, v int)",
                "INSERT INTO h_nulls SELECT CASE WHEN g % 10 = 0 THEN NULL ELSE timestamptz '2026-01-01' + g * interval '1 h' END, g "
                        + "FROM generate_series(1, 1000) g");
        PlanReport report = plan("h_nulls");
        Hazard h = hazard(report, "nullable-time-column", "public.h_nulls.time");
        assertThat(h.severity()).isEqualTo(Severity.BLOCKER);
        assertThat(h.remedy()).contains("--exclude public.h_nulls");
        assertThat(report.plan().hypertable(TableRef.parse("h_nulls"))).as("a table with NULL times is kept out of the plan").isEmpty();
        assertThat(h.message()).isEqualTo("public.h_nulls.time allows NULL (100 rows with NULL time); a hypertable's time "
                + "column is NOT NULL, and rows without a time are in no backfill range");
    }

    @Test
    void rowsWithTimeInTheFuture() {
        db.source("CREATE TABLE h_future (time timestamptz NOT NULL, v int)",
                "INSERT INTO h_future SELECT timestamptz '2026-11-23 11:00:00+00' + g * interval '1 minute', g FROM generate_series(1, 120) g");
        // PlanIT.NOW is 12:00: 60 of the 120 minutes lie after it.
        Hazard h = hazard(plan("h_future"), "future-time", "public.h_future.time");
        assertThat(h.message()).isEqualTo("public.h_future.time has 60 rows with a time in the future, beyond any completion point T");
    }

    @Test
    void partitionedParentBecomesOneHypertable() {
        db.source("CREATE TABLE h_part (time timestamptz NOT NULL, v int) PARTITION BY RANGE (time)",
                "CREATE TABLE h_part_1 PARTITION OF h_part FOR VALUES FROM ('2026-01-01') TO ('2026-07-01')",
                "CREATE TABLE h_part_2 PARTITION OF h_part FOR VALUES FROM ('2026-07-01') TO ('2027-01-01')");
        Hazard h = hazard(plan("h_part"), "partitioned-table", "public.h_part");
        assertThat(h.severity()).isEqualTo(Severity.NOTE);
        assertThat(h.message()).isEqualTo("public.h_part is declaratively partitioned (2 partitions)");
        assertThat(h.remedy()).contains("its partitions are not created, their rows arrive with the backfill");
    }

    @Test
    void inheritanceParentsAndChildrenAreBlocked() {
        db.source("CREATE TABLE h_inh_parent (time timestamptz NOT NULL, v int)",
                "CREATE TABLE h_inh_child (extra text) INHERITS (h_inh_parent)");
        PlanReport r = plan("h_inh_parent", "h_inh_child");
        Hazard parent = hazards(r, "inheritance", "public.h_inh_parent").stream()
                .filter(h -> h.message().startsWith("public.h_inh_parent has inheritance children")).findFirst().orElseThrow();
        assertThat(parent.severity()).isEqualTo(Severity.BLOCKER);
        Hazard child = hazards(r, "inheritance", "public.h_inh_child").stream()
                .filter(h -> h.message().startsWith("public.h_inh_child inherits from public.h_inh_parent")).findFirst().orElseThrow();
        assertThat(child.remedy()).contains("NO INHERIT");
        assertThat(candidate(r, "h_inh_parent").chosen()).isFalse();
        assertThat(candidate(r, "h_inh_parent").decision()).isEqualTo("not chosen: blocked by inheritance (see hazards)");
        assertThat(r.plan().hypertable(TableRef.parse("h_inh_child"))).isEmpty();
    }

    @Test
    void triggersWarnAndRulesBlock() {
        db.source("CREATE TABLE h_trig (time timestamptz NOT NULL, v int)",
                "CREATE FUNCTION h_trig_fn() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.v := NEW.v + 1; RETURN NEW; END $$",
                "CREATE TRIGGER h_trig_bump BEFORE INSERT ON h_trig FOR EACH ROW EXECUTE FUNCTION h_trig_fn()",
                "CREATE TABLE h_rule (time timestamptz NOT NULL, v int)",
                "CREATE RULE h_rule_skip AS ON INSERT TO h_rule WHERE NEW.v < 0 DO INSTEAD NOTHING");
        PlanReport r = plan("h_trig", "h_rule");
        Hazard trig = hazard(r, "triggers", "public.h_trig.h_trig_bump");
        assertThat(trig.severity()).isEqualTo(Severity.WARNING);
        assertThat(trig.remedy()).contains("session_replication_role = replica");
        Hazard rule = hazard(r, "rules", "public.h_rule.h_rule_skip");
        assertThat(rule.severity()).isEqualTo(Severity.BLOCKER);
        assertThat(rule.message()).isEqualTo("public.h_rule has rules (h_rule_skip), which hypertables do not support");
        assertThat(candidate(r, "h_rule").chosen()).isFalse();
        assertThat(candidate(r, "h_trig").chosen()).isTrue();
    }

    @Test
    void generatedColumnsAreLeftOutOfCopy() {
        db.source("CREATE TABLE h_gen (time timestamptz NOT NULL, a int, doubled int GENERATED ALWAYS AS (a * 2) STORED)");
        Hazard h = hazard(plan("h_gen"), "generated-columns", "public.h_gen.doubled");
        assertThat(h.severity()).isEqualTo(Severity.NOTE);
        assertThat(h.remedy()).isEqualTo("they are left out of the backfill's COPY; the target computes them");
    }

    @Test
    void exclusionConstraintWithoutTimeBlocks() {
        db.source("CREATE TABLE h_excl (id int, time timestamptz NOT NULL, EXCLUDE USING btree (id WITH =))");
        Hazard h = hazard(plan("h_excl"), "exclusion-without-time-column", "public.h_excl");
        assertThat(h.severity()).isEqualTo(Severity.BLOCKER);
    }

    @Test
    void unloggedTablesAreMadeLogged() {
        db.source("CREATE UNLOGGED TABLE h_unlogged (time timestamptz NOT NULL, v int)");
        PlanReport r = plan("h_unlogged");
        assertThat(hazard(r, "unlogged-table", "public.h_unlogged").remedy()).contains("SET LOGGED");
        assertThat(hazard(r, "unlogged-tables", "public.h_unlogged").severity()).isEqualTo(Severity.NOTE);
    }

    @Test
    void largeObjectsAreCopiedOnceOnly() {
        db.source("CREATE TABLE h_lo_anchor (time timestamptz NOT NULL)", "SELECT lo_from_bytea(0, 'hello')");
        Hazard h = hazard(plan("h_lo_anchor"), "large-objects", "pg_largeobject");
        assertThat(h.severity()).isEqualTo(Severity.WARNING);
        assertThat(h.message()).matches("the source holds \\d+ large objects");
    }

    @Test
    void privilegedRolesAreStripped() {
        db.source("DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'h_replicator') THEN "
                + "CREATE ROLE h_replicator REPLICATION BYPASSRLS; END IF; END $$", "CREATE TABLE IF NOT EXISTS h_role_anchor (time timestamptz NOT NULL)");
        Hazard h = hazard(plan("h_role_anchor"), "privileged-role", "h_replicator");
        assertThat(h.message()).isEqualTo("role h_replicator has REPLICATION, BYPASSRLS");
        assertThat(plan("h_role_anchor").hazards()).noneMatch(x -> x.code().equals("privileged-role") && x.objects().contains("postgres"));
    }

    @Test
    void tablesInOtherTablespaces(TestServers servers) throws Exception {
        assumeTrue(servers.pair().isPresent(), "needs a server whose directories the suite owns");
        Path dir = servers.pair().get().source().directory().resolve("h_space");
        Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        Files.setOwner(dir, Files.getOwner(servers.pair().get().source().directory()));
        db.source("CREATE TABLESPACE h_space LOCATION '" + dir + "'",
                "CREATE TABLE h_spaced (time timestamptz NOT NULL) TABLESPACE h_space");
        try {
            Hazard h = hazard(plan("h_spaced"), "tablespaces", "public.h_spaced");
            assertThat(h.remedy()).contains("--no-tablespaces");
        } finally {
            db.source("DROP TABLE h_spaced", "DROP TABLESPACE h_space");
        }
    }

    @Test
    void extensionsTheTargetLacksBlock() {
        // Reversed roles: a database with timescaledb as the source, the plain server as the target.
        var source = db.target();
        var target = db.source();
        TestDatabases.execute(source, "CREATE TABLE IF NOT EXISTS x_anchor (time timestamptz NOT NULL)");
        PlanReport r = Planner.plan(source, Optional.of(target), include("x_anchor"));
        Hazard h = hazard(r, "missing-extensions", "timescaledb");
        assertThat(h.severity()).isEqualTo(Severity.BLOCKER);
        assertThat(h.message()).isEqualTo("the source uses extensions the target cannot install: timescaledb");
    }

    @Test
    void targetWithoutTimescaledbIsNotAnError() {
        db.source("CREATE TABLE h_plain_target (time timestamptz NOT NULL)");
        // A target on the plain server: TimescaleDB is neither installed nor available there.
        var plainTarget = db.newSourceDatabase("h_plain_target");
        PlanReport r = Planner.plan(db.source(), Optional.of(plainTarget), include("h_plain_target"));
        assertThat(candidate(r, "h_plain_target").chosen()).isTrue();
        assertThat(r.target()).isPresent();
        assertThat(r.target().get().timescaledbVersion()).isEmpty();
        assertThat(r.count(Severity.BLOCKER)).isZero();
    }

    /**
     * What the notes promise happens when the migration runs: the unlogged candidate arrives as a
     * logged hypertable with every row, and the large objects arrive once, with the dump.
     */
    @Test
    void unloggedTablesArriveLoggedAndLargeObjectsWithTheDump() {
        var source = db.newSourceDatabase("h_remedies");
        var target = db.newTargetDatabase("h_remedies", true);
        TestDatabases.execute(source, "CREATE UNLOGGED TABLE h_unlogged (time timestamptz NOT NULL, v int)",
                "INSERT INTO h_unlogged SELECT timestamptz '2026-10-01' + g * interval '1 minute', g FROM generate_series(1, 5000) g",
                "SELECT lo_from_bytea(0, 'a large object written before the dump')");
        PlanReport r = Planner.plan(source, Optional.of(target), include("h_unlogged"));
        assertThat(hazard(r, "unlogged-table", "public.h_unlogged").remedy()).contains("SET LOGGED");
        assertThat(hazard(r, "large-objects", "pg_largeobject").message()).isEqualTo("the source holds 1 large objects");

        Fixtures.migrateSchema(source, target, "1 day", "public.h_unlogged");
        Cli.Result backfill = Cli.run("backfill", "--source", TestDatabases.uri(source), "--target", TestDatabases.uri(target),
                "--until", "2026-11-01T00:00:00Z");
        assertThat(backfill.exitCode()).as(backfill.toString()).isZero();

        assertThat(TestDatabases.queryString(target, "SELECT relpersistence FROM pg_class WHERE oid = 'h_unlogged'::regclass"))
                .as("p: a permanent (logged) table").isEqualTo("p");
        assertThat(TestDatabases.queryLong(target, "SELECT count(*) FROM timescaledb_information.hypertables "
                + "WHERE hypertable_name = 'h_unlogged'")).isEqualTo(1);
        assertThat(Fixtures.checksum(target, "h_unlogged", "true")).isEqualTo(Fixtures.checksum(source, "h_unlogged", "true"));
        String objects = "SELECT string_agg(convert_from(lo_get(oid), 'UTF8'), ',') FROM pg_largeobject_metadata";
        assertThat(TestDatabases.queryString(target, objects)).isEqualTo("a large object written before the dump")
                .isEqualTo(TestDatabases.queryString(source, objects));
    }
}
