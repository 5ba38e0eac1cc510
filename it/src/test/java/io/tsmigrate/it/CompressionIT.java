package io.tsmigrate.it;

import io.tsmigrate.core.backfill.Backfill;
import io.tsmigrate.core.backfill.BackfillListener;
import io.tsmigrate.core.backfill.BackfillOptions;
import io.tsmigrate.core.backfill.BackfillResult;
import io.tsmigrate.core.backfill.DirectCompression;
import io.tsmigrate.core.catalog.TableRef;
import io.tsmigrate.core.connect.ConnectionSpec;
import io.tsmigrate.core.plan.ChunkInterval;
import io.tsmigrate.core.time.EpochUnit;
import io.tsmigrate.core.plan.Plan;
import io.tsmigrate.core.schema.SchemaMigrator;
import io.tsmigrate.core.schema.SchemaOptions;
import io.tsmigrate.core.schema.SchemaResult;
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
 * The compression path (runbook 3e and 6e) against a TimescaleDB that compresses: settings and a
 * policy set up and paused by schema, exactly those jobs resumed by backfill, chunks compressed
 * with --compress, ranges copied into chunks that are already compressed, and verification over
 * compressed chunks. Ranges go into the rowstore here ({@code --direct-compress off});
 * {@link DirectCompressionIT} covers the columnstore path.
 */
@NeedsCompression
@ExtendWith(PgServersExtension.class)
class CompressionIT {

    /** T: an hour ago, on the minute; the source holds 20 days before it and some rows after. */
    private static final Instant T = Instant.now().minus(1, ChronoUnit.HOURS).truncatedTo(ChronoUnit.MINUTES);
    private static final String UNTIL = T.toString();
    private static final String BEFORE_T = "time < '" + UNTIL + "'";

    private static final long T_MS = T.toEpochMilli();
    private static final long DAY_MS = 86_400_000L;

    private static final Plan PLAN = new Plan(Plan.VERSION, List.of(new Plan.Hypertable(TableRef.parse("public.metrics"), "time",
            ChunkInterval.parse("1 day", false), Optional.empty(),
            new Plan.Compression(true, List.of("device_id"), List.of("time DESC"), Optional.of(ChunkInterval.parse("7 days", false))),
            false)));

    @BeforeAll
    static void createSource(TestDatabases db) {
        db.source("CREATE TABLE devices (id int PRIMARY KEY, name text NOT NULL)",
                "INSERT INTO devices SELECT g, 'device ' || g FROM generate_series(1, 20) g",
                "CREATE TABLE metrics (time timestamptz NOT NULL, device_id int NOT NULL, cpu float8, note text)",
                "INSERT INTO metrics SELECT timestamptz '" + UNTIL + "' - interval '20 days' + g * interval '30 seconds', 1 + g % 20, "
                        + "g / 7.0, CASE WHEN g % 10 = 0 THEN NULL ELSE 'n' || g END FROM generate_series(0, 59999) g",
                "CREATE INDEX ON metrics (time)",
                // Integer time: epoch milliseconds, one row per sensor every 5 minutes for 20 days before T.
                "CREATE TABLE ticks (ts bigint NOT NULL, sensor int NOT NULL, v float8)",
                "INSERT INTO ticks SELECT " + T_MS + " - 20 * " + DAY_MS + " + g * 300000, s, g * s FROM generate_series(0, 5759) g, "
                        + "generate_series(1, 3) s",
                "ANALYZE");
    }

    private static SchemaResult schema(TestDatabases db, CompressingTarget target) {
        return SchemaMigrator.run(db.source(), target.connection(), PLAN, new SchemaOptions(true, false, false, Optional.empty()),
                line -> { });
    }

    private static BackfillResult backfill(TestDatabases db, ConnectionSpec target, boolean compress) {
        return Backfill.run(db.source(), target, BackfillOptions.builder().until(UNTIL).maxRangeRows(10_000)
                .maxAttempts(3).compress(compress).workerName("compression-it").directCompress(DirectCompression.Mode.OFF).build(),
                BackfillListener.NONE, new AtomicBoolean());
    }

    @Test
    void schemaSetsUpCompressionAndLeavesItsPolicyPaused(TestDatabases db, CompressingTarget target) {
        SchemaResult result = schema(db, target);
        ConnectionSpec t = target.connection();
        assertThat(result.steps().stream().filter(s -> s.name().equals("compression")).findFirst().orElseThrow().details())
                .anyMatch(d -> d.startsWith("paused compression policy job"));
        assertThat(queryString(t, "SELECT string_agg(attname || ':' || coalesce(segmentby_column_index::text, '-') || ':' "
                + "|| coalesce(orderby_column_index::text, '-') || ':' || coalesce(orderby_asc::text, '-'), ',' ORDER BY attname) "
                + "FROM timescaledb_information.compression_settings WHERE hypertable_name = 'metrics'"))
                .isEqualTo("device_id:1:-:-,time:-:1:false");
        long job = queryLong(t, "SELECT job_id FROM timescaledb_information.jobs WHERE proc_name = 'policy_compression' "
                + "AND hypertable_name = 'metrics'");
        assertThat(queryString(t, "SELECT scheduled::text FROM timescaledb_information.jobs WHERE job_id = " + job)).isEqualTo("false");
        assertThat(queryString(t, "SELECT config->>'compress_after' FROM timescaledb_information.jobs WHERE job_id = " + job))
                .isEqualTo("7 days");
        assertThat(TestDatabases.rows(t, "SELECT job_id::text, hypertable, (resumed_at IS NULL)::text FROM tsmigrate.paused_job"))
                .containsExactly(List.of(String.valueOf(job), "public.metrics", "true"));
        // status says so, with the job, until the backfill resumes it.
        Cli.Result status = Cli.run("status", "--target", TestDatabases.uri(t));
        assertThat(status.exitCode()).as(status.toString()).isZero();
        assertThat(status.out()).contains("Compression policies paused for the backfill:")
                .containsPattern("job " + job + " +public\\.metrics +paused \\S+, still paused");
    }

    @Test
    void backfillResumesExactlyThePausedPolicyAndCompressesTheFinishedChunks(TestDatabases db, CompressingTarget target) {
        ConnectionSpec t = target.connection();
        // A policy of the user's on another hypertable, paused by the user: not tsmigrate's to resume.
        TestDatabases.execute(t, "CREATE TABLE other (time timestamptz NOT NULL, v int)",
                "SELECT create_hypertable('other', by_range('time', interval '1 day'))",
                "ALTER TABLE other SET (timescaledb.compress)",
                "SELECT add_compression_policy('other', interval '3 days')",
                "SELECT alter_job(job_id, scheduled => false) FROM timescaledb_information.jobs WHERE hypertable_name = 'other'");
        schema(db, target);
        long ours = queryLong(t, "SELECT job_id FROM tsmigrate.paused_job");

        BackfillResult result = backfill(db, t, true);

        assertThat(result.complete()).as(String.valueOf(result.failures())).isTrue();
        assertThat(result.notes()).contains("resumed compression policy job " + ours + " on public.metrics");
        assertThat(queryString(t, "SELECT string_agg(hypertable_name || '=' || scheduled, ',' ORDER BY hypertable_name) "
                + "FROM timescaledb_information.jobs WHERE proc_name = 'policy_compression'")).isEqualTo("metrics=true,other=false");
        assertThat(queryLong(t, "SELECT count(*) FROM tsmigrate.paused_job WHERE resumed_at IS NULL")).isZero();
        // --compress: exactly the chunks the policy would compress (older than 7 days), none newer.
        long old = queryLong(t, "SELECT count(*) FROM timescaledb_information.chunks WHERE hypertable_name = 'metrics' "
                + "AND range_end <= now() - interval '7 days'");
        assertThat(old).isGreaterThanOrEqualTo(10);
        assertThat(queryString(t, "SELECT count(*) FILTER (WHERE is_compressed) || '/' || count(*) FILTER (WHERE is_compressed "
                + "AND range_end > now() - interval '7 days') FROM timescaledb_information.chunks WHERE hypertable_name = 'metrics'"))
                .isEqualTo(old + "/0");
        assertThat(result.notes()).anyMatch(n -> n.startsWith("compressed " + old + " chunk"));
        assertThat(checksum(t, "metrics", "true")).isEqualTo(checksum(db.source(), "metrics", BEFORE_T));
    }

    @Test
    void copiesRangesIntoChunksThatAreAlreadyCompressed(TestDatabases db, CompressingTarget target) {
        ConnectionSpec t = target.connection();
        schema(db, target);
        // Rows already there from an earlier attempt (one changed, one extra), then compressed by the policy.
        String first = "time < timestamptz '" + UNTIL + "' - interval '17 days'";
        TestDatabases.execute(t, "INSERT INTO metrics SELECT * FROM (VALUES " + sourceRows(db, first, 500) + ") v",
                "UPDATE metrics SET cpu = -1 WHERE time = (SELECT min(time) FROM metrics)",
                "INSERT INTO metrics VALUES (timestamptz '" + UNTIL + "' - interval '19 days', 7, 0, 'stale')",
                "SELECT count(compress_chunk(c)) FROM show_chunks('metrics') c");
        assertThat(queryLong(t, "SELECT count(*) FROM timescaledb_information.chunks WHERE hypertable_name = 'metrics' AND is_compressed"))
                .isPositive();

        long compressed = queryLong(t, "SELECT count(*) FROM timescaledb_information.chunks WHERE hypertable_name = 'metrics' "
                + "AND is_compressed");

        BackfillResult result = backfill(db, t, false);

        assertThat(result.complete()).as(String.valueOf(result.failures())).isTrue();
        assertThat(checksum(t, "metrics", "true")).isEqualTo(checksum(db.source(), "metrics", BEFORE_T));
        Fixtures.assertRangesIdentical(db.source(), t, "metrics", "time", "timestamptz");
        // The ranges decompressed exactly the chunks they overlapped; without --compress the policy recompresses them.
        assertThat(result.notes()).contains("decompressed " + compressed + " compressed chunk(s) of public.metrics that ranges "
                + "overlapped; its compression policy compresses them again when it runs (or re-run with --compress)");
        assertThat(queryLong(t, "SELECT count(*) FROM timescaledb_information.chunks WHERE hypertable_name = 'metrics' "
                + "AND is_compressed")).isZero();
        long job = queryLong(t, "SELECT job_id FROM tsmigrate.paused_job");
        TestDatabases.execute(t, "CALL run_job(" + job + ")");
        assertThat(queryLong(t, "SELECT count(*) FROM timescaledb_information.chunks WHERE hypertable_name = 'metrics' "
                + "AND is_compressed")).isGreaterThanOrEqualTo(compressed);
        assertThat(checksum(t, "metrics", "true")).isEqualTo(checksum(db.source(), "metrics", BEFORE_T));
    }

    @Test
    void verifiesCompressedChunksExactlyFindsARowMissingFromOneAndEstimatesHonestly(TestDatabases db, CompressingTarget target) {
        ConnectionSpec t = target.connection();
        schema(db, target);
        assertThat(backfill(db, t, true).complete()).isTrue();
        assertThat(queryLong(t, "SELECT count(*) FROM timescaledb_information.chunks WHERE hypertable_name = 'metrics' AND is_compressed"))
                .isPositive();

        VerifyResult exact = verify(db, t, false);
        assertThat(exact.match()).as(String.valueOf(exact)).isTrue();
        assertThat(exact.tables()).anyMatch(v -> v.table().equals(TableRef.parse("public.metrics")) && v.ranges() > 10
                && v.sourceRows() == queryLong(db.source(), "SELECT count(*) FROM metrics WHERE " + BEFORE_T));

        // The estimate compares whole tables: the rows past T arrive by dual-writes, here by hand.
        TestDatabases.execute(t, "INSERT INTO metrics SELECT * FROM (VALUES "
                + sourceRows(db, "time >= '" + UNTIL + "'", 10_000) + ") v");
        VerifyResult estimate = verify(db, t, true);
        assertThat(estimate.match()).as(String.valueOf(estimate)).isTrue();
        VerifyResult.TableVerdict metrics = estimate.tables().stream()
                .filter(v -> v.table().equals(TableRef.parse("public.metrics"))).findFirst().orElseThrow();
        assertThat(metrics.method()).isEqualTo("count(*)");
        assertThat(metrics.note()).contains("compressed on the target");
        assertThat(metrics.targetRows()).isEqualTo(queryLong(db.source(), "SELECT count(*) FROM metrics"));

        String gone = queryString(t, "SELECT time::text FROM metrics WHERE time < now() - interval '10 days' ORDER BY time LIMIT 1 OFFSET 77");
        TestDatabases.execute(t, "DELETE FROM metrics WHERE time = '" + gone + "'");
        VerifyResult broken = verify(db, t, false);
        assertThat(broken.match()).isFalse();
        assertThat(broken.differenceCount()).isEqualTo(1);
        assertThat(broken.differences().get(0).kind()).isEqualTo("missing");
        assertThat(broken.differences().get(0).key()).contains(gone.substring(0, 19));

        // --repair copies the range again through the backfill's path, into the compressed chunk.
        VerifyResult repaired = Verifier.run(db.source(), t, VerifyOptions.builder().repair(true)
                .tables(List.of(TableRef.parse("public.metrics"))).build(), line -> { });
        assertThat(repaired.match()).as(String.valueOf(repaired)).isTrue();
        assertThat(queryLong(t, "SELECT count(*) FROM metrics WHERE time = '" + gone + "'")).isEqualTo(1);
        assertThat(checksum(t, "metrics", BEFORE_T)).isEqualTo(checksum(db.source(), "metrics", BEFORE_T));
    }

    @Test
    void compressesIntegerTimeThroughItsIntegerNowFunction(TestDatabases db, CompressingTarget target) {
        ConnectionSpec t = target.connection();
        Plan plan = new Plan(Plan.VERSION, List.of(new Plan.Hypertable(TableRef.parse("public.ticks"), "ts",
                ChunkInterval.parse(String.valueOf(DAY_MS), true), Optional.of(EpochUnit.EPOCH_MS),
                new Plan.Compression(true, List.of("sensor"), List.of("ts DESC"), Optional.of(ChunkInterval.parse(String.valueOf(7 * DAY_MS), true))),
                false)));
        SchemaMigrator.run(db.source(), t, plan, new SchemaOptions(true, false, false, Optional.empty()), line -> { });
        assertThat(queryString(t, "SELECT integer_now_func FROM timescaledb_information.dimensions WHERE hypertable_name = 'ticks'"))
                .isEqualTo("integer_now_epoch_ms_int8");

        BackfillResult result = Backfill.run(db.source(), t, BackfillOptions.builder().until(String.valueOf(T_MS))
                .maxRangeRows(10_000).maxAttempts(3).compress(true).workerName("compression-it").directCompress(DirectCompression.Mode.OFF)
                .build(), BackfillListener.NONE,
                new AtomicBoolean());

        assertThat(result.complete()).as(String.valueOf(result.failures())).isTrue();
        long old = queryLong(t, "SELECT count(*) FROM timescaledb_information.chunks WHERE hypertable_name = 'ticks' "
                + "AND range_end_integer <= tsmigrate.integer_now_epoch_ms_int8() - " + 7 * DAY_MS);
        assertThat(old).isGreaterThanOrEqualTo(10);
        // Exactly the chunks older than the policy's 7 days (by the integer now function), none newer.
        assertThat(queryString(t, "SELECT count(*) FILTER (WHERE is_compressed) || '/' || count(*) FILTER (WHERE is_compressed "
                + "AND range_end_integer > tsmigrate.integer_now_epoch_ms_int8() - " + 7 * DAY_MS + ") "
                + "FROM timescaledb_information.chunks WHERE hypertable_name = 'ticks'")).isEqualTo(old + "/0");
        assertThat(result.notes()).contains("compressed " + old + " chunk(s) of public.ticks older than " + 7 * DAY_MS);
        assertThat(checksum(t, "ticks", "true")).isEqualTo(checksum(db.source(), "ticks", "ts < " + T_MS));
        VerifyResult exact = Verifier.run(db.source(), t, VerifyOptions.builder()
                .tables(List.of(TableRef.parse("public.ticks"))).build(), line -> { });
        assertThat(exact.match()).as(String.valueOf(exact)).isTrue();

        // Past T in epoch milliseconds: dual-written rows on both sides, one the target never got.
        String dualWritten = "INSERT INTO ticks SELECT " + T_MS + " + g * 60000, 9, g FROM generate_series(0, 29) g";
        TestDatabases.execute(db.source(), dualWritten);
        try {
            TestDatabases.execute(t, dualWritten, "DELETE FROM ticks WHERE ts = " + (T_MS + 7 * 60000));
            VerifyResult pastT = Verifier.run(db.source(), t, VerifyOptions.builder()
                    .tables(List.of(TableRef.parse("public.ticks"))).pastT(Optional.of(Instant.now())).build(),
                    line -> { });
            assertThat(pastT.differenceCount()).as(String.valueOf(pastT)).isEqualTo(1);
            assertThat(pastT.differences().get(0).kind()).isEqualTo("missing");
            assertThat(pastT.differences().get(0).key()).contains(String.valueOf(T_MS + 7 * 60000));
        } finally {
            TestDatabases.execute(db.source(), "DELETE FROM ticks WHERE ts >= " + T_MS);
        }
    }

    private static VerifyResult verify(TestDatabases db, ConnectionSpec target, boolean estimate) {
        return Verifier.run(db.source(), target, VerifyOptions.builder().estimate(estimate).build(), line -> { });
    }

    /** Up to {@code limit} source rows matching {@code where}, as a VALUES list. */
    private static String sourceRows(TestDatabases db, String where, int limit) {
        return queryString(db.source(), "SELECT string_agg(format('(%L::timestamptz, %s, %s, %L)', time, device_id, cpu, note), ', ') "
                + "FROM (SELECT * FROM metrics WHERE " + where + " ORDER BY time LIMIT " + limit + ") s");
    }
}
