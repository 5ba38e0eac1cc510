package io.tsmigrate.it;

import io.tsmigrate.core.connect.ConnectionSpec;
import io.tsmigrate.dualwrite.DualWriteDataSource;
import io.tsmigrate.examples.timeseries.Reading;
import io.tsmigrate.examples.timeseries.Recorder;
import io.tsmigrate.examples.timeseries.TimeseriesApplication;
import io.tsmigrate.it.kit.PgServersExtension;
import io.tsmigrate.it.kit.SpringApps;
import io.tsmigrate.it.kit.TestDatabases;
import io.tsmigrate.servers.Await;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.context.ConfigurableApplicationContext;

import javax.sql.DataSource;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static io.tsmigrate.it.Fixtures.checksum;
import static io.tsmigrate.it.kit.TestDatabases.queryLong;
import static io.tsmigrate.it.kit.TestDatabases.queryString;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The sample application (examples/timeseries-app: Spring Boot, Spring Data JPA, Hibernate batch
 * inserts) migrated while it writes, with nothing but the starter's settings: it dual-writes and
 * registers, history is backfilled up to T and verified, the target becomes the primary and then the
 * source again, and the application's batches land on both sides throughout: the databases end
 * identical.
 */
@ExtendWith(PgServersExtension.class)
class SampleAppIT {

    private static final int HISTORY = 20_000;

    @Test
    void anApplicationOnTheStarterIsMigratedWhileItWritesAndBothDatabasesEndIdentical(TestDatabases db, @TempDir Path dir)
            throws Exception {
        ConnectionSpec source = db.newSourceDatabase("sample_source");
        ConnectionSpec target = db.newTargetDatabase("sample_target", true);
        TestDatabases.execute(source, "CREATE TABLE readings (id bigint, time timestamptz NOT NULL, device text NOT NULL, value float8, "
                        + "PRIMARY KEY (id, time))",
                "INSERT INTO readings SELECT g, timestamptz '2026-11-01' + g * interval '10 seconds', 'sensor-' || g % 7, g / 4.0 "
                        + "FROM generate_series(1, " + HISTORY + ") g", "ANALYZE");
        Fixtures.migrateSchema(source, target, "1 day", "readings");

        long nextId = HISTORY + 1;
        try (ConfigurableApplicationContext app = start(source, target, dir)) {
            Recorder recorder = app.getBean(Recorder.class);
            DualWriteDataSource dualWrite = app.getBean(DataSource.class).unwrap(DualWriteDataSource.class);
            nextId = record(recorder, nextId, 120);
            // T just after the application began dual-writing (runbook step 5, no late data).
            Instant began = Instant.parse(queryString(target, "SELECT to_char(max(started_at) AT TIME ZONE 'UTC', "
                    + "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') FROM tsmigrate.writer"));
            Instant t = began.plusSeconds(1);
            Await.until("the clock to pass T", () -> Instant.now().isAfter(t.plusMillis(200)));
            nextId = record(recorder, nextId, 120);
            assertThat(cli(source, target, "backfill", "--until", t.toString()).exitCode()).isZero();
            Cli.Result verified = cli(source, target, "verify");
            assertThat(verified.exitCode()).as(verified.toString()).isZero();

            Cli.Result cut = cli(source, target, "cutover", "--wait", "20s");
            assertThat(cut.exitCode()).as(cut.toString()).isZero();
            Await.until("the application writing to the target first", dualWrite::targetIsPrimary);
            nextId = record(recorder, nextId, 120);
            Cli.Result back = cli(source, target, "cutover", "--rollback", "--wait", "20s");
            assertThat(back.exitCode()).as(back.toString()).isZero();
            Await.until("the application writing to the source first again", () -> !dualWrite.targetIsPrimary());
            nextId = record(recorder, nextId, 120);
            assertThat(dualWrite.stats().diverted()).isFalse();
            // Hibernate sends each transaction's 40 inserts as one JDBC batch: one mirrored write each.
            assertThat(dualWrite.stats().mirrored()).as("batches mirrored").isGreaterThanOrEqualTo(4 * 120 / 40);
        }
        long written = nextId - HISTORY - 1;
        assertThat(written).isEqualTo(4 * 120);
        for (ConnectionSpec side : List.of(source, target)) {
            assertThat(queryLong(side, "SELECT count(*) FROM readings")).as(side.label()).isEqualTo(HISTORY + written);
        }
        assertThat(checksum(target, "readings", "true")).isEqualTo(checksum(source, "readings", "true"));
    }

    /** The application records {@code n} readings, in batches of 40 per transaction, stamped now. */
    private static long record(Recorder recorder, long firstId, int n) {
        long id = firstId;
        for (int batch = 0; batch < n / 40; batch++) {
            List<Reading> readings = new ArrayList<>();
            for (int i = 0; i < 40; i++) {
                readings.add(new Reading(id, Instant.now(), "sensor-" + id % 7, id / 4.0));
                id++;
            }
            recorder.record(readings);
        }
        return id;
    }

    private static ConfigurableApplicationContext start(ConnectionSpec source, ConnectionSpec target, Path dir) {
        Map<String, Object> p = new HashMap<>();
        p.put("spring.datasource.url", SpringApps.jdbcUrl(source));
        p.put("spring.datasource.username", source.user());
        p.put("spring.datasource.password", source.password().orElseThrow());
        p.put("spring.datasource.hikari.connection-timeout", "5000");
        p.put("tsmigrate.dualwrite.enabled", "true");
        p.put("tsmigrate.dualwrite.target.url", SpringApps.jdbcUrl(target));
        p.put("tsmigrate.dualwrite.target.username", target.user());
        p.put("tsmigrate.dualwrite.target.password", target.password().orElseThrow());
        p.put("tsmigrate.dualwrite.journal-directory", dir.resolve("journal").toString());
        p.put("tsmigrate.dualwrite.health-check-interval", "200ms");
        return SpringApps.start(TimeseriesApplication.class, p);
    }

    private static Cli.Result cli(ConnectionSpec source, ConnectionSpec target, String... args) {
        List<String> all = new ArrayList<>(List.of(args));
        all.addAll(List.of("--source", TestDatabases.uri(source), "--target", TestDatabases.uri(target)));
        return Cli.run(all.toArray(String[]::new));
    }
}
