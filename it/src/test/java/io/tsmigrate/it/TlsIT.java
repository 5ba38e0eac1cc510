package io.tsmigrate.it;

import io.tsmigrate.core.connect.ConnectionSpec;
import io.tsmigrate.it.kit.PgServersExtension;
import io.tsmigrate.it.kit.TestDatabases;
import io.tsmigrate.servers.Await;
import io.tsmigrate.servers.PgServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static io.tsmigrate.it.Fixtures.checksum;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * TLS end to end, as managed services ask for it: both servers accept the test role only over TLS
 * (pg_hba {@code hostnossl ... reject}), so every connection of every command, of pg_dump and of
 * psql must use it, with {@code sslmode=verify-full} and the servers' certificates as
 * {@code sslrootcert}; a wrong CA is one sentence that names the settings.
 */
@ExtendWith(PgServersExtension.class)
class TlsIT {

    private static final String ROLE = "tls_only";
    private static final String PASSWORD = "tls-only-Secret-7";
    private static final String REJECT = "hostnossl all " + ROLE + " all reject\n";
    private static final String T = "2026-11-11 00:00:00+00";

    @Test
    void everyCommandAndTheClientToolsConnectOverVerifiedTls(TestDatabases db, @TempDir Path dir) throws Exception {
        assumeTrue(db.servers().pair().isPresent(), "needs servers whose TLS and pg_hba.conf the suite may change");
        PgServer sourceServer = db.servers().pair().get().source();
        PgServer targetServer = db.servers().pair().get().target();
        ConnectionSpec sourceDb = db.newSourceDatabase("tls_source");
        ConnectionSpec targetDb = db.newTargetDatabase("tls_target", true);
        TestDatabases.execute(sourceDb, "CREATE TABLE metrics (time timestamptz NOT NULL, device int, v float8)",
                "INSERT INTO metrics SELECT timestamptz '2026-11-01' + g * interval '30 seconds', g % 10, g FROM generate_series(1, 20000) g",
                "CREATE INDEX ON metrics (time)", "ANALYZE");
        for (ConnectionSpec admin : List.of(db.servers().sourceAdmin(), db.servers().targetAdmin())) {
            TestDatabases.execute(admin, "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '" + ROLE + "') THEN "
                    + "CREATE ROLE " + ROLE + " SUPERUSER LOGIN PASSWORD '" + PASSWORD + "'; END IF; END $$");
        }
        Path sourceCa = sourceServer.enableTls();
        Path targetCa = targetServer.enableTls();
        try {
            onlyOverTls(sourceServer, true);
            onlyOverTls(targetServer, true);
            String source = uri(sourceServer, sourceDb, "sslmode=verify-full&sslrootcert=" + sourceCa);
            String target = uri(targetServer, targetDb, "sslmode=verify-full&sslrootcert=" + targetCa);

            Cli.Result clear = Cli.run("doctor", "--source", uri(sourceServer, sourceDb, "sslmode=disable"), "--target", target);
            assertThat(clear.exitCode()).as("the role is refused without TLS: " + clear).isEqualTo(3);
            assertThat(clear.out()).contains("no encryption");

            assertThat(Cli.run("doctor", "--source", source, "--target", target).exitCode()).isZero();
            Path plan = dir.resolve("plan.yaml");
            Cli.Result planned = Cli.run("plan", "--source", source, "--target", target, "--include", "metrics", "--plan", plan.toString());
            assertThat(planned.exitCode()).as(planned.toString()).isZero();
            // pg_dump and psql refused without TLS too: the schema step proves they get sslmode and sslrootcert.
            Cli.Result schema = Cli.run("schema", "--source", source, "--target", target, "--plan", plan.toString(), "--skip-roles");
            assertThat(schema.exitCode()).as(schema.toString()).isZero();
            Cli.Result backfill = Cli.run("backfill", "--source", source, "--target", target, "--until", T);
            assertThat(backfill.exitCode()).as(backfill.toString()).isZero();
            Cli.Result verify = Cli.run("verify", "--source", source, "--target", target, "--until", T);
            assertThat(verify.exitCode()).as(verify.toString()).isZero();
            assertThat(checksum(targetDb, "metrics", "true")).isEqualTo(checksum(sourceDb, "metrics", "time < '" + T + "'"));

            // The target's certificate is no CA of the source's: one sentence naming the settings, exit 3.
            Cli.Result wrongCa = Cli.run("backfill", "--source", uri(sourceServer, sourceDb, "sslmode=verify-full&sslrootcert=" + targetCa),
                    "--target", target, "--until", T);
            assertThat(wrongCa.exitCode()).as(wrongCa.toString()).isEqualTo(3);
            assertThat(wrongCa.err()).hasLineCount(1).startsWith("tsmigrate: cannot connect to the source")
                    .contains("the server's certificate is not signed by a trusted CA (sslmode=verify-full, sslrootcert=" + targetCa + ")")
                    .contains("give sslrootcert the CA certificate").doesNotContain(PASSWORD);
        } finally {
            onlyOverTls(sourceServer, false);
            onlyOverTls(targetServer, false);
            sourceServer.disableTls();
            targetServer.disableTls();
        }
    }

    private static String uri(PgServer server, ConnectionSpec database, String query) {
        return "postgres://" + ROLE + ":" + PASSWORD + "@127.0.0.1:" + server.port() + "/" + database.database() + "?" + query;
    }

    /** Puts (or takes out) a first pg_hba.conf line that refuses the role without TLS, and waits until the server applies it. */
    private static void onlyOverTls(PgServer server, boolean on) throws Exception {
        Path hba = server.directory().resolve("data").resolve("pg_hba.conf");
        String text = Files.readString(hba).replace(REJECT, "");
        Files.writeString(hba, on ? REJECT + text : text);
        TestDatabases.execute(server.connection("postgres", "admin"), "SELECT pg_reload_conf()");
        String clear = "postgres://" + ROLE + ":" + PASSWORD + "@127.0.0.1:" + server.port() + "/postgres?sslmode=disable";
        Await.until("pg_hba.conf " + (on ? "refusing" : "allowing") + " " + ROLE + " without TLS", () -> {
            try (var c = io.tsmigrate.core.connect.PgConnector.open(ConnectionSpec.parse(clear, "probe"))) {
                return !on;
            } catch (io.tsmigrate.core.TsmigrateException refused) {
                return on;
            } catch (java.sql.SQLException e) {
                return false;
            }
        });
    }
}
