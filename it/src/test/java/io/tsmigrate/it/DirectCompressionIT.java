package io.tsmigrate.it;

import io.tsmigrate.core.backfill.Backfill;
import io.tsmigrate.core.backfill.BackfillListener;
import io.tsmigrate.core.backfill.BackfillOptions;
import io.tsmigrate.core.backfill.BackfillResult;
import io.tsmigrate.core.backfill.DirectCompression;
import io.tsmigrate.core.catalog.TableRef;
import io.tsmigrate.core.connect.ConnectionSpec;
import io.tsmigrate.core.plan.ChunkInterval;
import io.tsmigrate.core.plan.Hazard;
import io.tsmigrate.core.plan.Plan;
import io.tsmigrate.core.plan.PlanOptions;
import io.tsmigrate.core.plan.PlanReport;
import io.tsmigrate.core.plan.Planner;
import io.tsmigrate.core.plan.TablePattern;
import io.tsmigrate.core.schema.SchemaMigrator;
import io.tsmigrate.core.schema.SchemaOptions;
import io.tsmigrate.core.verify.Verifier;
import io.tsmigrate.core.verify.VerifyOptions;
import io.tsmigrate.core.verify.VerifyResult;
import io.tsmigrate.it.kit.CompressingTarget;
import io.tsmigrate.it.kit.NeedsCompression;
import io.tsmigrate.it.kit.PgServersExtension;
import io.tsmigrate.it.kit.TestDatabases;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;

import static io.tsmigrate.it.Fixtures.checksum;
import static io.tsmigrate.it.kit.TestDatabases.queryLong;
import static io.tsmigrate.it.kit.TestDatabases.queryString;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The backfill straight into the columnstore (TimescaleDB's direct compression during COPY) on a
 * target that has it: the eligible table's history arrives compressed with no compress step, the
 * table with a unique key takes the rowstore path and says why, dual-written rows are replaced and
 * not doubled, a re-run and a repair over compressed ranges end identical; the plan,
 * {@code backfill --dry-run} and {@code --direct-compress on} say which path each table takes.
 */
@NeedsCompression
@ExtendWith(PgServersExtension.class)
class DirectCompressionIT {

    private static final Instant T = Instant.now().minus(1, ChronoUnit.HOURS).truncatedTo(ChronoUnit.MINUTES);
    private static final String UNTIL = T.toString();
    private static final String BEFORE_T = "time < '" + UNTIL + "'";

    private static final Plan.Compression COMPRESSION = new Plan.Compression(true, List.of("device_id"), List.of("time DESC"),
            Optional.of(ChunkInterval.parse("7 days", false)));
    private static final Plan PLAN = new Plan(Plan.VERSION, List.of(
            new Plan.Hypertable(TableRef.parse("public.readings"), "time", ChunkInterval.parse("1 day", false), Optional.empty(),
                    COMPRESSION, false),
            new Plan.Hypertable(TableRef.parse("public.events"), "time", ChunkInterval.parse("1 day", false), Optional.empty(),
                    COMPRESSION, false)));

    @BeforeAll
    static void createSource(TestDatabases db) {
        db.source("CREATE TABLE readings (time timestamptz NOT NULL, device_id int NOT NULL, v float8, note text)",
                "INSERT INTO readings SELECT timestamptz '" + UNTIL + "' - interval '10 days' + g * interval '45 seconds', 1 + g % 12, "
                        + "g / 3.0, CASE WHEN g % 9 = 0 THEN NULL ELSE 'r' || g END FROM generate_series(0, 19999) g",
                "CREATE INDEX ON readings (time)",
                // A key: TimescaleDB will not compress a COPY into it.
                "CREATE TABLE events (id bigint NOT NULL, time timestamptz NOT NULL, device_id int NOT NULL, kind text, "
                        + "PRIMARY KEY (id, time))",
                "INSERT INTO events SELECT g, timestamptz '" + UNTIL + "' - interval '10 days' + g * interval '3 minutes', g % 5, "
                        + "'k' || (g % 3) FROM generate_series(0, 4799) g",
                "ANALYZE");
    }

    private static void schema(TestDatabases db, ConnectionSpec target) {
        SchemaMigrator.run(db.source(), target, PLAN, new SchemaOptions(true, false, false, Optional.empty()), line -> { });
    }

    private static BackfillResult backfill(TestDatabases db, ConnectionSpec target) {
        return Backfill.run(db.source(), target, BackfillOptions.builder().until(UNTIL).maxRangeRows(5_000)
                .maxAttempts(3).workerName("direct-it").build(), BackfillListener.NONE, new AtomicBoolean());
    }

    private static VerifyResult verify(TestDatabases db, ConnectionSpec target, boolean repair) {
        return Verifier.run(db.source(), target, VerifyOptions.builder().repair(repair)
                .tables(List.of(TableRef.parse("public.readings"))).build(), line -> { });
    }

    /** Rows in the chunks' rowstore part (not compressed), across the hypertable's chunks. */
    private static long uncompressedRows(ConnectionSpec target, String table) {
        long sum = 0;
        for (List<String> chunk : TestDatabases.rows(target, "SELECT c::text FROM show_chunks('" + table + "') c")) {
            sum += queryLong(target, "SELECT count(*) FROM ONLY " + chunk.get(0));
        }
        return sum;
    }

    private static String compressedChunks(ConnectionSpec target, String table) {
        return queryString(target, "SELECT count(*) FILTER (WHERE is_compressed) || '/' || count(*) FROM timescaledb_information.chunks "
                + "WHERE hypertable_name = '" + table + "'");
    }

    @Test
    void theEligibleTableArrivesCompressedTheKeyedOneInTheRowstoreAndDualWrittenRowsAreReplaced(TestDatabases db,
                                                                                               CompressingTarget target) {
        ConnectionSpec t = target.connection();
        schema(db, t);
        // Dual-written before the backfill: rows inside its first ranges, as the application wrote them.
        TestDatabases.execute(t, "INSERT INTO readings VALUES " + queryString(db.source(), "SELECT string_agg(format("
                + "'(%L::timestamptz, %s, %s, %L)', time, device_id, v, note), ', ') FROM (SELECT * FROM readings ORDER BY time "
                + "LIMIT 300) s"));

        BackfillResult result = backfill(db, t);

        assertThat(result.complete()).as(String.valueOf(result.failures())).isTrue();
        BackfillResult.TableResult readings = result.tables().stream().filter(r -> r.table().name().equals("readings")).findFirst()
                .orElseThrow();
        BackfillResult.TableResult events = result.tables().stream().filter(r -> r.table().name().equals("events")).findFirst()
                .orElseThrow();
        assertThat(readings.path().direct()).isTrue();
        assertThat(readings.path().orderBy()).contains("\"time\" DESC");
        assertThat(events.path().direct()).isFalse();
        assertThat(events.path().why()).isEqualTo("TimescaleDB does not compress a COPY into a table with unique key events_pkey");
        assertThat(result.notes()).contains("public.events was copied into the rowstore: TimescaleDB does not compress a COPY into "
                + "a table with unique key events_pkey");
        assertThat(result.notes()).anyMatch(n -> n.startsWith("public.readings was copied straight into the columnstore: "));
        assertThat(result.notes()).noneMatch(n -> n.startsWith("decompressed"));

        // Every chunk of readings compressed, with no compress step and the policy not run; no row left in the rowstore,
        // the dual-written ones included (replaced by the range, not doubled).
        long chunks = queryLong(t, "SELECT count(*) FROM timescaledb_information.chunks WHERE hypertable_name = 'readings'");
        assertThat(chunks).isGreaterThanOrEqualTo(10);
        assertThat(compressedChunks(t, "readings")).isEqualTo(chunks + "/" + chunks);
        assertThat(uncompressedRows(t, "readings")).isZero();
        assertThat(checksum(t, "readings", "true")).isEqualTo(checksum(db.source(), "readings", BEFORE_T));
        Fixtures.assertRangesIdentical(db.source(), t, "readings", "time", "timestamptz");
        // The keyed table: rowstore, nothing compressed (the resumed policy compresses it later).
        assertThat(compressedChunks(t, "events")).startsWith("0/");
        assertThat(checksum(t, "events", "true")).isEqualTo(checksum(db.source(), "events", BEFORE_T));

        VerifyResult exact = verify(db, t, false);
        assertThat(exact.match()).as(String.valueOf(exact)).isTrue();
    }

    @Test
    void aReRunAndARepairOverDirectlyCompressedRangesEndIdentical(TestDatabases db, CompressingTarget target) {
        ConnectionSpec t = target.connection();
        schema(db, t);
        assertThat(backfill(db, t).complete()).isTrue();
        long chunks = queryLong(t, "SELECT count(*) FROM timescaledb_information.chunks WHERE hypertable_name = 'readings'");

        // Every range of readings to do again: each DELETE meets its own compressed batches, each COPY writes them anew.
        TestDatabases.execute(t, "UPDATE tsmigrate.backfill_range SET state = 'pending' WHERE table_name = 'public.readings'");
        BackfillResult again = backfill(db, t);
        assertThat(again.complete()).as(String.valueOf(again.failures())).isTrue();
        assertThat(again.tables().stream().filter(r -> r.table().name().equals("readings")).findFirst().orElseThrow().rowsThisRun())
                .isEqualTo(queryLong(db.source(), "SELECT count(*) FROM readings WHERE " + BEFORE_T));
        assertThat(checksum(t, "readings", "true")).isEqualTo(checksum(db.source(), "readings", BEFORE_T));
        assertThat(compressedChunks(t, "readings")).isEqualTo(chunks + "/" + chunks);
        assertThat(uncompressedRows(t, "readings")).isZero();

        // A row lost from a compressed chunk: the exact check finds it, --repair copies its range again, compressed.
        String gone = queryString(t, "SELECT time::text FROM readings ORDER BY time LIMIT 1 OFFSET 4321");
        TestDatabases.execute(t, "DELETE FROM readings WHERE time = '" + gone + "'");
        VerifyResult broken = verify(db, t, false);
        assertThat(broken.differenceCount()).as(String.valueOf(broken)).isEqualTo(1);
        assertThat(broken.differences().get(0).kind()).isEqualTo("missing");
        VerifyResult repaired = verify(db, t, true);
        assertThat(repaired.match()).as(String.valueOf(repaired)).isTrue();
        assertThat(checksum(t, "readings", "true")).isEqualTo(checksum(db.source(), "readings", BEFORE_T));
        assertThat(uncompressedRows(t, "readings")).as("the repaired range went into the columnstore too").isZero();
    }

    @Test
    void thePlanTheDryRunAndDirectCompressOnSayWhichPathEachTableTakes(TestDatabases db, CompressingTarget target) throws Exception {
        ConnectionSpec t = target.connection();
        PlanReport report = Planner.plan(db.source(), Optional.of(t), new PlanOptions(0, List.of(TablePattern.parse("public.readings"),
                TablePattern.parse("public.events")), List.of(), Optional.of(8L << 30), Clock.systemUTC()));
        assertThat(report.hazards()).filteredOn(h -> h.code().equals("direct-compression")).extracting(Hazard::message)
                .containsExactlyInAnyOrder(
                        "public.readings is backfilled straight into the columnstore (TimescaleDB "
                                + queryString(t, "SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'")
                                + " compresses during COPY): each row written once",
                        "public.events is backfilled into the rowstore and compressed afterwards: TimescaleDB does not compress a "
                                + "COPY into a table with unique key events_pkey");

        schema(db, t);
        String[] sides = {"--source", db.sourceUri(), "--target", target.uri()};
        Cli.Result dry = Cli.run(concat(new String[] {"backfill", "--dry-run", "--until", UNTIL}, sides));
        assertThat(dry.exitCode()).as(dry.toString()).isZero();
        assertThat(dry.out()).containsPattern("public\\.readings +binary COPY into the columnstore: each range's rows in time order "
                        + "\\(an index on the source\\), compressed as they arrive; 0/0 ranges done")
                .containsPattern("public\\.events +binary COPY into the rowstore: TimescaleDB does not compress a COPY into a table "
                        + "with unique key events_pkey; 0/0 ranges done")
                .endsWith("dry run: nothing was copied or recorded.\n");
        assertThat(queryLong(t, "SELECT count(*) FROM tsmigrate.backfill_range")).as("a dry run records nothing").isZero();

        Cli.Result json = Cli.run(concat(new String[] {"backfill", "--dry-run", "--json", "--direct-compress", "off"}, sides));
        assertThat(json.exitCode()).as(json.toString()).isZero();
        com.fasterxml.jackson.databind.JsonNode tables = io.tsmigrate.core.json.Json.mapper().readTree(json.out()).get("tables");
        assertThat(tables).hasSize(2).allSatisfy(table -> {
            assertThat(table.get("path").get("direct").asBoolean()).isFalse();
            assertThat(table.get("path").get("why").asText()).isEqualTo("--direct-compress off");
        });

        Cli.Result on = Cli.run(concat(new String[] {"backfill", "--until", UNTIL, "--direct-compress", "on"}, sides));
        assertThat(on.exitCode()).as(on.toString()).isEqualTo(2);
        assertThat(on.err()).contains("tsmigrate: --direct-compress on, but public.events cannot be backfilled into the columnstore: "
                + "TimescaleDB does not compress a COPY into a table with unique key events_pkey; use --direct-compress auto to copy "
                + "it into the rowstore.");
        assertThat(queryLong(t, "SELECT count(*) FROM readings")).as("refused before any row moved").isZero();
        assertThat(queryLong(t, "SELECT count(*) FROM tsmigrate.backfill_range")).isZero();

        Cli.Result bad = Cli.run(concat(new String[] {"backfill", "--direct-compress", "maybe"}, sides));
        assertThat(bad.exitCode()).isEqualTo(2);
        assertThat(bad.err()).contains("--direct-compress takes auto, on or off, not 'maybe'.");
    }

    private static String[] concat(String[] a, String[] b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
