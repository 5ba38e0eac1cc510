package io.tsmigrate.it;

import com.fasterxml.jackson.databind.JsonNode;
import io.tsmigrate.core.connect.ConnectionSpec;
import io.tsmigrate.core.json.Json;
import io.tsmigrate.core.pgtools.PgInstallations;
import io.tsmigrate.it.kit.PgServersExtension;
import io.tsmigrate.it.kit.TestDatabases;
import io.tsmigrate.it.kit.TestServers;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** {@code tsmigrate doctor} against real servers, good and bad. */
@ExtendWith(PgServersExtension.class)
class DoctorIT {

    private final TestDatabases db;

    DoctorIT(TestDatabases db) {
        this.db = db;
    }

    private Cli.Result doctor(String source, String target, String... more) {
        List<String> args = new ArrayList<>(List.of("doctor", "--source", source, "--target", target));
        args.addAll(List.of(more));
        return Cli.run(args.toArray(String[]::new));
    }

    private static JsonNode check(JsonNode result, String name) {
        for (JsonNode check : result.get("checks")) {
            if (check.get("name").asText().equals(name)) {
                return check;
            }
        }
        throw new AssertionError("no check named " + name + " in " + result);
    }

    @Test
    void readyBetweenTheSuitesServersWithJson() throws Exception {
        Cli.Result r = doctor(db.sourceUri(), db.targetUri(), "--json");
        assertThat(r.exitCode()).as(r.toString()).isZero();
        JsonNode json = Json.mapper().readTree(r.out());
        assertThat(json.get("verdict").asText()).isEqualTo("ready");
        assertThat(check(json, "source").get("status").asText()).isEqualTo("ok");
        assertThat(check(json, "source").get("message").asText()).startsWith("PostgreSQL ")
                .contains("/" + db.source().database() + " as postgres");
        assertThat(check(json, "timescaledb").get("message").asText()).matches("2\\.\\d+\\.\\d+ installed in database .*");
        String license = TestDatabases.queryString(db.target(), "SHOW timescaledb.license");
        assertThat(check(json, "license").get("status").asText()).isEqualTo(license.equals("apache") ? "warning" : "ok");
        assertThat(check(json, "target role").get("message").asText()).isEqualTo("postgres is a superuser");
        for (String tool : List.of("pg_dump", "pg_dumpall", "psql")) {
            assertThat(check(json, tool).get("status").asText()).isEqualTo("ok");
        }
        long size = TestDatabases.queryLong(db.source(), "SELECT pg_database_size(current_database())");
        assertThat(json.at("/source/database_bytes").asLong()).isEqualTo(size);
        assertThat(json.at("/target/timescaledb_version").asText())
                .isEqualTo(TestDatabases.queryString(db.target(), "SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'"));
        assertThat(r.out()).doesNotContain(db.servers().pair().map(p -> p.source().superuserPassword()).orElse("\u0000"));
    }

    @Test
    void printsAChecklistAndVerdict() {
        db.source("CREATE TABLE IF NOT EXISTS big_one (id int)", "INSERT INTO big_one SELECT generate_series(1, 50000)");
        Cli.Result r = doctor(db.sourceUri(), db.targetUri());
        assertThat(r.exitCode()).as(r.toString()).isZero();
        assertThat(r.out()).containsPattern("(?m)^  ok +source +PostgreSQL \\d+\\.\\d+")
                .containsPattern("(?m)^  ok +source size +\\d.*largest: public\\.big_one ")
                .containsPattern("(?m)^  ok +pg_dump +/\\S+/pg_dump \\d+\\.\\d+$")
                .containsPattern("(?m)^verdict: ready");
        assertThat(r.err()).isEmpty();
    }

    @Test
    void readsSourceAndTargetFromTheEnvironment() {
        Cli.Result r = Cli.run(Map.of("SOURCE", db.sourceUri(), "TARGET", db.targetUri()), "doctor");
        assertThat(r.exitCode()).as(r.toString()).isZero();
    }

    @Test
    void aUriWithSeveralHostsConnectsToTheFirstThatAnswersForJdbcAndPgDumpAlike() throws Exception {
        // Port 1 refuses: libpq (pg_dump, psql) and pgjdbc must both move on to the next host, as libpq documents.
        ConnectionSpec.Endpoint real = db.source().endpoints().get(0);
        String several = db.sourceUri().replace("@" + real, "@127.0.0.1:1," + real);
        assertThat(several).contains(",");
        Cli.Result r = doctor(several, db.targetUri(), "--json");
        assertThat(r.exitCode()).as(r.toString()).isZero();
        assertThat(check(Json.mapper().readTree(r.out()), "source").get("status").asText()).isEqualTo("ok");
        ConnectionSpec target = db.newTargetDatabase("several_hosts", true);
        Path plan = java.nio.file.Files.createTempFile("several-hosts", ".yaml");
        try {
            java.nio.file.Files.delete(plan);
            assertThat(Cli.run("plan", "--source", several, "-o", plan.toString()).exitCode()).isZero();
            Cli.Result schema = Cli.run("schema", "--source", several, "--target", TestDatabases.uri(target), "--plan", plan.toString(),
                    "--skip-roles");
            assertThat(schema.exitCode()).as("pg_dump over the same URI: " + schema).isZero();
        } finally {
            java.nio.file.Files.deleteIfExists(plan);
        }
    }

    @Test
    void rejectsAMalformedUriWithOneSentence() {
        Cli.Result r = doctor("postgres://u:secret@host:notaport/db", db.targetUri());
        assertThat(r.exitCode()).isEqualTo(2);
        assertThat(r.err()).isEqualTo("tsmigrate: the source connection string has an invalid port \"notaport\"; "
                + "give a number from 1 to 65535.\n");
        assertThat(r.out()).isEmpty();
    }

    @Test
    void saysWhenNoSourceIsGiven() {
        Cli.Result r = Cli.run("doctor", "--target", db.targetUri());
        assertThat(r.exitCode()).isEqualTo(2);
        assertThat(r.err()).isEqualTo("tsmigrate: no source database given; pass --source "
                + "with a postgres:// URI or set SOURCE.\n");
    }

    @Test
    void reportsAnUnknownHost() {
        Cli.Result r = doctor("postgres://postgres:pw@no-such-host.invalid:5432/db", db.targetUri());
        assertThat(r.exitCode()).isEqualTo(3);
        assertThat(r.out()).contains("failed   source").contains("unknown host \"no-such-host.invalid\"")
                .contains("check the host name").contains("verdict: cannot connect");
        assertThat(r.out()).contains("ok       target");
    }

    @Test
    void reportsARefusedPort() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        Cli.Result r = doctor("postgres://postgres:pw@127.0.0.1:" + port + "/db", db.targetUri());
        assertThat(r.exitCode()).isEqualTo(3);
        assertThat(r.out()).contains("cannot connect to the source (127.0.0.1:" + port + "/db as postgres): connection refused; "
                + "check the host and port, and that the server is running and accepts TCP/IP connections");
    }

    @Test
    void reportsAWrongPasswordWithoutPrintingIt() {
        String wrong = db.targetUri().replaceFirst(":[^:@/]+@", ":Wr0ngPassw0rd@");
        Cli.Result r = doctor(db.sourceUri(), wrong, "--verbose");
        assertThat(r.exitCode()).isEqualTo(3);
        assertThat(r.out()).contains("cannot log in to the target").contains("password authentication failed for user \"postgres\"")
                .contains("check the user name and password");
        assertThat(r.out() + r.err()).doesNotContain("Wr0ngPassw0rd");
    }

    /**
     * The logs (stderr, through the logging library, debug level with --verbose) never carry a
     * password either: run in processes of their own, everything they write is checked, for a login
     * that fails and for a backfill that connects to both sides (and stops: there is no plan).
     */
    @Test
    void noPasswordReachesTheLogsEvenWithVerbose() throws Exception {
        String password = db.servers().pair().map(p -> p.source().superuserPassword()).orElse("\u0000");
        String wrong = db.targetUri().replaceFirst(":[^:@/]+@", ":Wr0ngPassw0rd@");
        try (CliProcess failing = CliProcess.start(List.of("doctor", "--source", db.sourceUri(), "--target", wrong, "--verbose"));
             CliProcess connected = CliProcess.start(List.of("backfill", "--source", db.sourceUri(), "--target", db.targetUri(),
                     "--until", "2026-11-01", "--verbose"))) {
            assertThat(failing.waitFor(120)).isTrue();
            assertThat(connected.waitFor(120)).isTrue();
            assertThat(failing.exitValue()).as(failing.output()).isEqualTo(3);
            assertThat(connected.exitValue()).as(connected.output()).isEqualTo(4);
            assertThat(connected.output()).as("debug logs were written").contains("DEBUG").contains("connected at")
                    .contains("no migration plan");
            for (CliProcess p : List.of(failing, connected)) {
                assertThat(p.output()).doesNotContain("Wr0ngPassw0rd").doesNotContain(password);
            }
        }
    }

    @Test
    void reportsAMissingDatabase() {
        String missing = db.sourceUri().replaceFirst("/[^/]+$", "/no_such_db");
        Cli.Result r = doctor(missing, db.targetUri());
        assertThat(r.exitCode()).isEqualTo(3);
        assertThat(r.out()).contains("database \"no_such_db\" does not exist; create it (createdb) or fix the database name");
    }

    @Test
    void failsOnATargetServerWithoutTimescaledb() {
        // The source server has no TimescaleDB at all: as a target it must be refused.
        Cli.Result r = doctor(db.sourceUri(), db.sourceUri().replace("source", "target"));
        assertThat(r.exitCode()).as(r.toString()).isEqualTo(4);
        assertThat(r.out()).containsPattern("failed +timescaledb +the TimescaleDB extension is not installed on the target "
                + "server; install it \\(Debian: postgresql-\\d+-timescaledb\\) and add timescaledb to shared_preload_libraries");
        assertThat(r.out()).contains("verdict: not ready: 1 check failed");
    }

    @Test
    void warnsWhenTimescaledbIsAvailableButNotCreated() throws Exception {
        var bare = db.newTargetDatabase("bare", false);
        String uri = db.targetUri().replaceFirst("/[^/]+$", "/" + bare.database());
        Cli.Result r = doctor(db.sourceUri(), uri, "--json");
        assertThat(r.exitCode()).as(r.toString()).isZero();
        JsonNode ts = check(Json.mapper().readTree(r.out()), "timescaledb");
        assertThat(ts.get("status").asText()).isEqualTo("warning");
        assertThat(ts.get("message").asText()).contains("is available but not created").contains("tsmigrate schema will run CREATE EXTENSION");
    }

    @Test
    void failsWhenPgDumpIsMissing() throws Exception {
        Path empty = Files.createTempDirectory("no-pg-tools");
        try {
            Cli.Result r = doctor(db.sourceUri(), db.targetUri(), "--pg-bindir", empty.toString());
            assertThat(r.exitCode()).isEqualTo(4);
            assertThat(r.out()).containsPattern("failed +pg_dump +pg_dump not found in " + empty + "; install postgresql-client-\\d+");
        } finally {
            Files.delete(empty);
        }
    }

    @Test
    void failsWhenPgDumpIsOlderThanTheSource() {
        // The target server (the newest major) serves as the source; the oldest installation's tools are too old for it.
        List<PgInstallations.Installation> all = PgInstallations.find();
        PgInstallations.Installation oldest = all.get(all.size() - 1);
        long newest = TestDatabases.queryLong(db.target(), "SELECT current_setting('server_version_num')::int / 10000");
        assumeTrue(oldest.major() < newest, "only one PostgreSQL major is installed");
        Cli.Result r = doctor(db.targetUri(), db.targetUri(), "--pg-bindir", oldest.bindir().toString());
        assertThat(r.exitCode()).isEqualTo(4);
        assertThat(r.out()).containsPattern("failed +pg_dump +" + oldest.bindir() + "/pg_dump is version " + oldest.major()
                + "\\.\\d+, older than the source server \\(" + newest + "\\); install postgresql-client-" + newest);
    }

    @Test
    void explainsANonSuperuserTargetRole(TestServers servers) {
        db.target("DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'doctor_app') THEN "
                        + "CREATE ROLE doctor_app LOGIN PASSWORD 'app-pw'; END IF; END $$",
                "GRANT CREATE ON DATABASE \"" + db.target().database() + "\" TO doctor_app");
        String uri = db.targetUri().replaceFirst("//postgres:[^@]+@", "//doctor_app:app-pw@");
        Cli.Result r = doctor(db.sourceUri(), uri);
        assertThat(r.exitCode()).as(r.toString()).isZero();
        assertThat(r.out()).contains("doctor_app is not a superuser (as on a managed service)");
    }

    @Test
    void warnsWhenTheTargetAlreadyHoldsTables() {
        var used = db.newTargetDatabase("used", true);
        TestDatabases.execute(used, "CREATE TABLE leftover (id int)");
        String uri = db.targetUri().replaceFirst("/[^/]+$", "/" + used.database());
        Cli.Result r = doctor(db.sourceUri(), uri);
        assertThat(r.exitCode()).isZero();
        assertThat(r.out()).containsPattern("warning +target tables +database \"" + used.database()
                + "\" already holds 1 table\\(s\\) \\(public.leftover\\)");
    }
}
