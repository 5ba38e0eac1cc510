package io.tsmigrate.it;

import io.tsmigrate.core.connect.ConnectionSpec;
import io.tsmigrate.dualwrite.DualWriteConfig;
import io.tsmigrate.dualwrite.FailurePolicy;
import io.tsmigrate.it.kit.PgServersExtension;
import io.tsmigrate.it.kit.TestDatabases;
import io.tsmigrate.proxy.ProxyServer;
import io.tsmigrate.servers.Await;
import io.tsmigrate.servers.CertificateAuthority;
import io.tsmigrate.servers.PgServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

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
        ConnectionSpec sourceDb = metrics(db, "tls_source", 20000);
        ConnectionSpec targetDb = db.newTargetDatabase("tls_target", true);
        roleOnBoth(db, ROLE, "LOGIN PASSWORD '" + PASSWORD + "'");
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

            // pg_dump and psql are refused without TLS too: the schema step proves they get sslmode and sslrootcert.
            everyStepMigrates(source, target, sourceDb, targetDb, dir);

            // Another authority's certificate as the root: one sentence naming the settings, exit 3.
            Path otherCa = CertificateAuthority.create(dir.resolve("other-ca"), "another CA").certificate();
            Cli.Result wrongCa = Cli.run("backfill", "--source", uri(sourceServer, sourceDb, "sslmode=verify-full&sslrootcert=" + otherCa),
                    "--target", target, "--until", T);
            assertThat(wrongCa.exitCode()).as(wrongCa.toString()).isEqualTo(3);
            assertThat(wrongCa.err()).hasLineCount(1).startsWith("tsmigrate: cannot connect to the source")
                    .contains("the server's certificate is not signed by a trusted CA (sslmode=verify-full, sslrootcert=" + otherCa + ")")
                    .contains("give sslrootcert the CA certificate").doesNotContain(PASSWORD);

            // localhost reaches the same server, but its certificate names 127.0.0.1 only: verify-full
            // refuses with one sentence; verify-ca checks the chain alone and connects.
            String byName = "postgres://" + ROLE + ":" + PASSWORD + "@localhost:" + sourceServer.port() + "/" + sourceDb.database();
            Cli.Result otherName = Cli.run("doctor", "--source", byName + "?sslmode=verify-full&sslrootcert=" + sourceCa, "--target", target);
            assertThat(otherName.exitCode()).as(otherName.toString()).isEqualTo(3);
            assertThat(otherName.out()).contains("the server's certificate is not for the host name connected to (sslmode=verify-full, "
                    + "sslrootcert=" + sourceCa + ")").contains("connect with a host name the certificate names, or use sslmode=verify-ca.")
                    .doesNotContain(PASSWORD);
            Cli.Result chainOnly = Cli.run("doctor", "--source", byName + "?sslmode=verify-ca&sslrootcert=" + sourceCa, "--target", target);
            assertThat(chainOnly.exitCode()).as(chainOnly.toString()).isZero();
        } finally {
            onlyOverTls(sourceServer, false);
            onlyOverTls(targetServer, false);
        }
    }

    /**
     * Client certificates on both sides: both servers log the role in by its certificate only (pg_hba
     * {@code cert}), so tsmigrate's own connections (pgjdbc) and pg_dump's and psql's (libpq) must all
     * present the same PEM certificate and key from the connection string; without them, one sentence.
     */
    @Test
    void clientCertificatesLogInOnBothSidesForEveryCommandAndTheClientTools(TestDatabases db, @TempDir Path dir) throws Exception {
        assumeTrue(db.servers().pair().isPresent(), "needs servers whose TLS and pg_hba.conf the suite may change");
        PgServer sourceServer = db.servers().pair().get().source();
        PgServer targetServer = db.servers().pair().get().target();
        ConnectionSpec sourceDb = metrics(db, "cert_source", 5000);
        ConnectionSpec targetDb = db.newTargetDatabase("cert_target", true);
        roleOnBoth(db, CERT_ROLE, "LOGIN");
        // A client CA, and a certificate it issued for the role (its common name), with a PEM key only the owner reads.
        CertificateAuthority clients = CertificateAuthority.create(dir.resolve("client-ca"), "tsmigrate test client CA");
        CertificateAuthority.Issued issued = clients.issue(dir, "client", CERT_ROLE, List.of());
        Path ca = clients.certificate();
        Path cert = issued.certificate();
        Path key = issued.key();
        Path sourceCa = sourceServer.enableTls();
        Path targetCa = targetServer.enableTls();
        try {
            for (PgServer server : List.of(sourceServer, targetServer)) {
                server.trustClientCertificates(Optional.of(ca));
                hba(server, CERT_ONLY, true);
                String noCertificate = "postgres://" + CERT_ROLE + "@127.0.0.1:" + server.port() + "/postgres?sslmode=require";
                Await.until("pg_hba.conf logging " + CERT_ROLE + " in by certificate only", () -> {
                    try (var c = io.tsmigrate.core.connect.PgConnector.open(ConnectionSpec.parse(noCertificate, "probe"))) {
                        return false;
                    } catch (io.tsmigrate.core.TsmigrateException refused) {
                        return refused.getMessage().contains("certificate");
                    } catch (java.sql.SQLException e) {
                        return false;
                    }
                });
            }
            String certs = "&sslcert=" + cert + "&sslkey=" + key;
            String source = certUri(sourceServer, sourceDb, "sslmode=verify-full&sslrootcert=" + sourceCa + certs);
            String target = certUri(targetServer, targetDb, "sslmode=verify-full&sslrootcert=" + targetCa + certs);

            Cli.Result without = Cli.run("doctor", "--source", certUri(sourceServer, sourceDb, "sslmode=verify-full&sslrootcert=" + sourceCa),
                    "--target", target);
            assertThat(without.exitCode()).as(without.toString()).isEqualTo(3);
            assertThat(without.out()).contains("cannot log in to the source").contains("give sslcert and sslkey a client certificate");

            // pg_dump and psql log in by certificate too: the schema step proves they get sslcert and sslkey.
            everyStepMigrates(source, target, sourceDb, targetDb, dir);

            // The proxy shows the certificate to the source itself (Netty) and the library to the target (pgjdbc).
            try (ProxyServer proxy = ProxyServer.start(new ProxyServer.Config("127.0.0.1", 0, ConnectionSpec.parse(source, "source"),
                    ConnectionSpec.parse(target, "target"), ProxyServer.AuthMode.TRUST, Optional.empty(),
                    new DualWriteConfig(FailurePolicy.JOURNAL, dir.resolve("journal"), "tls-proxy", "tls-it", Duration.ofSeconds(1), 0),
                    Duration.ofSeconds(5), Optional.empty(), Optional.empty()));
                 Connection app = DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + proxy.address().getPort() + "/"
                         + sourceDb.database() + "?user=" + CERT_ROLE + "&sslmode=disable");
                 Statement st = app.createStatement()) {
                st.executeUpdate("INSERT INTO metrics VALUES ('2026-11-20 00:00:00+00', 99, 4.5)");
            }
            for (ConnectionSpec side : List.of(sourceDb, targetDb)) {
                assertThat(TestDatabases.queryLong(side, "SELECT count(*) FROM metrics WHERE device = 99")).as(side.label()).isEqualTo(1);
            }
        } finally {
            for (PgServer server : List.of(sourceServer, targetServer)) {
                hba(server, CERT_ONLY, false);
                server.trustClientCertificates(Optional.empty());
            }
        }
    }

    /** doctor, plan, schema (pg_dump, psql), backfill and verify through these URIs, and the data arrives. */
    private static void everyStepMigrates(String source, String target, ConnectionSpec sourceDb, ConnectionSpec targetDb, Path dir) {
        assertThat(Cli.run("doctor", "--source", source, "--target", target).exitCode()).isZero();
        Path plan = dir.resolve("plan.yaml");
        Cli.Result planned = Cli.run("plan", "--source", source, "--target", target, "--include", "metrics", "--plan", plan.toString());
        assertThat(planned.exitCode()).as(planned.toString()).isZero();
        Cli.Result schema = Cli.run("schema", "--source", source, "--target", target, "--plan", plan.toString(), "--skip-roles");
        assertThat(schema.exitCode()).as(schema.toString()).isZero();
        Cli.Result backfill = Cli.run("backfill", "--source", source, "--target", target, "--until", T);
        assertThat(backfill.exitCode()).as(backfill.toString()).isZero();
        Cli.Result verify = Cli.run("verify", "--source", source, "--target", target, "--until", T);
        assertThat(verify.exitCode()).as(verify.toString()).isZero();
        assertThat(checksum(targetDb, "metrics", "true")).isEqualTo(checksum(sourceDb, "metrics", "time < '" + T + "'"));
    }

    /** A source database with a table of {@code rows} readings to migrate. */
    private static ConnectionSpec metrics(TestDatabases db, String name, int rows) {
        ConnectionSpec source = db.newSourceDatabase(name);
        TestDatabases.execute(source, "CREATE TABLE metrics (time timestamptz NOT NULL, device int, v float8)",
                "INSERT INTO metrics SELECT timestamptz '2026-11-01' + g * interval '30 seconds', g % 10, g FROM generate_series(1, "
                        + rows + ") g", "CREATE INDEX ON metrics (time)", "ANALYZE");
        return source;
    }

    /** A superuser role on both servers (once per suite), logging in as {@code login} says. */
    private static void roleOnBoth(TestDatabases db, String role, String login) {
        for (ConnectionSpec admin : List.of(db.servers().sourceAdmin(), db.servers().targetAdmin())) {
            TestDatabases.execute(admin, "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '" + role + "') THEN "
                    + "CREATE ROLE " + role + " SUPERUSER " + login + "; END IF; END $$");
        }
    }

    private static final String CERT_ROLE = "cert_only";
    private static final String CERT_ONLY = "hostssl all " + CERT_ROLE + " all cert\nhost all " + CERT_ROLE + " all reject\n";

    private static String certUri(PgServer server, ConnectionSpec database, String query) {
        return "postgres://" + CERT_ROLE + "@127.0.0.1:" + server.port() + "/" + database.database() + "?" + query;
    }

    /** Puts (or takes out) first lines of pg_hba.conf and reloads; callers wait for the effect they need. */
    private static void hba(PgServer server, String lines, boolean on) throws Exception {
        Path hba = server.directory().resolve("data").resolve("pg_hba.conf");
        String text = Files.readString(hba).replace(lines, "");
        Files.writeString(hba, on ? lines + text : text);
        TestDatabases.execute(server.connection("postgres", "admin"), "SELECT pg_reload_conf()");
    }

    private static String uri(PgServer server, ConnectionSpec database, String query) {
        return "postgres://" + ROLE + ":" + PASSWORD + "@127.0.0.1:" + server.port() + "/" + database.database() + "?" + query;
    }

    /** Puts (or takes out) a first pg_hba.conf line that refuses the role without TLS, and waits until the server applies it. */
    private static void onlyOverTls(PgServer server, boolean on) throws Exception {
        hba(server, REJECT, on);
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
