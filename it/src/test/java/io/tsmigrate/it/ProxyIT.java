package io.tsmigrate.it;

import io.tsmigrate.core.connect.ConnectionSpec;
import io.tsmigrate.core.pgtools.PgInstallations;
import io.tsmigrate.dualwrite.DualWriteConfig;
import io.tsmigrate.dualwrite.FailurePolicy;
import io.tsmigrate.proxy.ProxyServer;
import io.tsmigrate.servers.Await;
import io.tsmigrate.it.kit.PgServersExtension;
import io.tsmigrate.it.kit.TestDatabases;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Timestamp;
import java.sql.Types;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * {@code tsmigrate proxy} with real clients (psql, pgbench in each query mode, pgjdbc) against the
 * real servers: every committed write lands on the target, nothing rolled back does, and clients
 * see what the source answers.
 */
@ExtendWith(PgServersExtension.class)
class ProxyIT {

    private static ConnectionSpec source;
    private static ConnectionSpec target;
    private static ProxyServer proxy;
    private static Path journals;
    private static Path bindir;

    @BeforeAll
    static void start(TestDatabases db) throws Exception {
        source = db.newSourceDatabase("proxy");
        target = db.newTargetDatabase("proxy", true);
        String schema = "CREATE TYPE mood AS ENUM ('calm', 'odd', 'alarmed'); "
                + "CREATE TABLE readings (id bigint PRIMARY KEY, device text NOT NULL, at timestamptz NOT NULL, "
                + "value double precision, mood mood, note text); CREATE TABLE logins (id int PRIMARY KEY, who text); "
                + "CREATE TABLE notes (id serial PRIMARY KEY, body text, at timestamptz NOT NULL DEFAULT now())";
        TestDatabases.execute(source, schema);
        TestDatabases.execute(target, "CREATE TYPE filler AS ENUM ('x')", schema); // mood gets another OID on the target
        bindir = PgInstallations.find().stream().max(Comparator.comparingInt(PgInstallations.Installation::major)).orElseThrow().bindir();
        for (ConnectionSpec side : List.of(source, target)) {
            run(List.of(bindir.resolve("pgbench").toString(), "-i", "-q", "-s", "1", side.libpqConninfo()), "", side);
        }
        journals = Files.createTempDirectory("tsmigrate-proxy-it");
        proxy = ProxyServer.start(new ProxyServer.Config("127.0.0.1", 0, source, target, ProxyServer.AuthMode.TRUST, java.util.Optional.empty(),
                new DualWriteConfig(FailurePolicy.JOURNAL, journals, "proxy-it", "proxy-it", Duration.ofSeconds(1), 0),
                Duration.ofSeconds(5), java.util.Optional.of(new java.net.InetSocketAddress("127.0.0.1", 0)), java.util.Optional.empty()));
    }

    @AfterAll
    static void stop() throws Exception {
        if (proxy != null) {
            proxy.close();
        }
        if (journals != null) {
            try (var files = Files.walk(journals)) {
                files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    private static String proxyConninfo() {
        return "host=127.0.0.1 port=" + proxy.address().getPort() + " user=app dbname=" + source.database();
    }

    @Test
    void psqlWritesCommittedTransactionsAndCopyToBothSidesAndNothingItRolledBack() throws Exception {
        String script = String.join("\n",
                "INSERT INTO readings VALUES (1, 'a', '2026-01-01 00:00:00+00', 1.5, 'calm', 'it''s');",
                "BEGIN;",
                "INSERT INTO readings VALUES (2, 'rolled back', '2026-01-01 00:01:00+00', 2, 'odd', NULL);",
                "ROLLBACK;",
                "BEGIN;",
                "INSERT INTO readings VALUES (3, 'b', '2026-01-01 00:02:00+00', 3, 'odd', NULL);",
                "SAVEPOINT s;",
                "INSERT INTO readings VALUES (3, 'duplicate', '2026-01-01 00:02:00+00', 3, 'odd', NULL);",
                "ROLLBACK TO SAVEPOINT s;",
                "INSERT INTO readings VALUES (4, 'c', '2026-01-01 00:03:00+00', NULL, NULL, $$dollar 'quoted'$$);",
                "COMMIT;",
                "INSERT INTO readings VALUES (1, 'fails: duplicate key', now(), 0, NULL, NULL);",
                "\\copy readings (id, device, at, value, mood, note) from stdin",
                "5\tcopied\t2026-01-01 00:04:00+00\t5.25\talarmed\t\\N",
                "6\tcopied too\t2026-01-01 00:05:00+00\t\\N\tcalm\ttab\\there",
                "\\.",
                "UPDATE readings SET value = value * 2 WHERE id IN (1, 5);",
                "DELETE FROM readings WHERE id = 6;",
                "SELECT count(*) AS proxied FROM readings WHERE id < 100;");
        Output out = run(List.of(bindir.resolve("psql").toString(), "-X", "-v", "ON_ERROR_STOP=0", "-d", proxyConninfo()),
                script, null);
        assertThat(out.stdout()).contains("proxied").containsPattern("\\n\\s+4\\n");
        assertThat(out.stderr()).contains("duplicate key value violates unique constraint \"readings_pkey\"");
        assertThat(rows(target, "SELECT id, device, at, value, mood, note FROM readings WHERE id < 100 ORDER BY id"))
                .isEqualTo(rows(source, "SELECT id, device, at, value, mood, note FROM readings WHERE id < 100 ORDER BY id"))
                .extracting(r -> r.get(0)).containsExactly("1", "3", "4", "5");
    }

    @Test
    void aStringOfSeveralStatementsIsMirroredStatementByStatement() throws Exception {
        // psql -c sends its string as one simple Query: a write after a read, a transaction, and a
        // session setting in one string must all reach the target as the source ran them.
        List<String> psql = List.of(bindir.resolve("psql").toString(), "-X", "-v", "ON_ERROR_STOP=1", "-d", proxyConninfo(), "-c");
        List<String> strings = List.of(
                "SELECT count(*) FROM readings; INSERT INTO readings (id, device, at) VALUES (520, 'after a read', '2026-05-01 00:00:00+00')",
                "BEGIN; INSERT INTO readings (id, device, at) VALUES (521, 'in; a transaction', '2026-05-01 00:00:01+00'); "
                        + "UPDATE readings SET note = 'updated' WHERE id = 520; COMMIT",
                "SET datestyle = 'SQL, DMY'; INSERT INTO readings (id, device, at) VALUES (522, 'day first', '03/04/2026 10:00+00')",
                "INSERT INTO readings (id, device, at) VALUES (523, 'rolled back with the string', '2026-05-01 00:00:03+00'); "
                        + "INSERT INTO readings (id, device, at) VALUES (520, 'duplicate', now())");
        for (String string : strings) {
            List<String> command = new ArrayList<>(psql);
            command.add(string);
            Output out = exec(command, "", null);
            assertThat(out.exit()).as(string + ": " + out.stderr()).isEqualTo(string.contains("duplicate") ? 1 : 0);
        }
        String q = "SELECT id, device, at, note FROM readings WHERE id BETWEEN 520 AND 529 ORDER BY id";
        assertThat(rows(target, q)).isEqualTo(rows(source, q)).extracting(r -> r.get(0)).containsExactly("520", "521", "522");
        assertThat(TestDatabases.queryString(source, "SELECT to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD') FROM readings WHERE id = 522"))
                .isEqualTo("2026-04-03");
    }

    @Test
    void theSecondaryReadsALiteralAsThePrimaryDoesWhenTheirDefaultsDiffer() throws Exception {
        // The source's database reads times in New York and dates day first; the target keeps its
        // server's defaults. A time written without a zone must be the same instant on both, directly
        // and through the journal: the secondary's settings start with the TimeZone and DateStyle the
        // primary reported, then the session's own (a month-first DateStyle in a style pgjdbc, the
        // journal's replayer, refuses).
        String db = "\"" + source.database().replace("\"", "\"\"") + "\"";
        TestDatabases.execute(source, "ALTER DATABASE " + db + " SET timezone = 'America/New_York'",
                "ALTER DATABASE " + db + " SET datestyle = 'SQL, DMY'");
        long journaled = proxy.stats().dualWrite().journaled();
        try {
            List<String> psql = List.of(bindir.resolve("psql").toString(), "-X", "-v", "ON_ERROR_STOP=1", "-d", proxyConninfo());
            Output direct = run(psql, "INSERT INTO readings (id, device, at) VALUES (960, 'local time', '02/03/2026 10:00');", null);
            assertThat(direct.exit()).as(direct.stderr()).isZero();
            TestDatabases.execute(target, "ALTER TABLE readings RENAME TO readings_away");
            try {
                Output later = run(psql, "SET datestyle = 'Postgres, MDY';\n"
                        + "INSERT INTO readings (id, device, at) VALUES (961, 'journaled', '03/04/2026 11:00');", null);
                assertThat(later.exit()).as(later.stderr()).isZero();
            } finally {
                TestDatabases.execute(target, "ALTER TABLE readings_away RENAME TO readings");
            }
        } finally {
            TestDatabases.execute(source, "ALTER DATABASE " + db + " RESET timezone", "ALTER DATABASE " + db + " RESET datestyle");
        }
        assertThat(proxy.stats().dualWrite().journaled()).as("transactions journaled").isEqualTo(journaled + 1);
        awaitJournalReplayed();
        assertThat(TestDatabases.queryString(source, "SELECT string_agg(to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI'), ', ' "
                + "ORDER BY id) FROM readings WHERE id IN (960, 961)")).isEqualTo("2026-03-02 15:00, 2026-03-04 16:00");
        String q = "SELECT id, at FROM readings WHERE id IN (960, 961) ORDER BY id";
        assertThat(rows(target, q)).isEqualTo(rows(source, q)).hasSize(2);
    }

    @ParameterizedTest
    @ValueSource(strings = {"simple", "extended", "prepared"})
    void pgbenchInEachQueryModeLeavesBothSidesIdentical(String mode) throws Exception {
        long before = TestDatabases.queryLong(source, "SELECT count(*) FROM pgbench_history");
        Output out = run(List.of(bindir.resolve("pgbench").toString(), "-n", "-M", mode, "-c", "3", "-j", "1", "-t", "40",
                proxyConninfo()), "", null);
        assertThat(out.stdout()).contains("number of failed transactions: 0");
        assertThat(TestDatabases.queryLong(source, "SELECT count(*) FROM pgbench_history")).isEqualTo(before + 120);
        assertPgbenchTablesEqual();
    }

    @Test
    void pgjdbcPreparedStatementsWithBinaryValuesAnEnumAndABatchLandOnTheTarget() throws Exception {
        try (Connection c = DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + proxy.address().getPort() + "/"
                + source.database() + "?user=app&prepareThreshold=1")) {
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO readings (id, device, at, value, mood, note) "
                    + "VALUES (?, ?, ?, ?, ?, ?)")) {
                for (int i = 0; i < 5; i++) { // past prepareThreshold: named statements, binary integers
                    ps.setLong(1, 100 + i);
                    ps.setString(2, "jdbc");
                    ps.setTimestamp(3, Timestamp.from(Instant.parse("2026-02-01T00:00:00Z").plusSeconds(i)));
                    ps.setDouble(4, i / 3.0);
                    ps.setObject(5, i % 2 == 0 ? "calm" : "alarmed", Types.OTHER);
                    ps.setString(6, i == 3 ? null : "note $1 ? " + i);
                    ps.executeUpdate();
                }
            }
            c.setAutoCommit(false);
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO readings (id, device, at, value) VALUES (?, 'batch', now(), ?)")) {
                for (int i = 0; i < 50; i++) {
                    ps.setInt(1, 200 + i);
                    ps.setBigDecimal(2, new java.math.BigDecimal("12.345").add(java.math.BigDecimal.valueOf(i)));
                    ps.addBatch();
                }
                ps.executeBatch();
            }
            c.commit();
            try (Statement st = c.createStatement()) {
                st.executeUpdate("INSERT INTO readings (id, device, at) VALUES (300, 'rolled back', now())");
            }
            c.rollback();
            c.setAutoCommit(true);
            try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT count(*) FROM readings WHERE device = 'jdbc'")) {
                rs.next();
                assertThat(rs.getLong(1)).isEqualTo(5);
            }
        }
        // now() is each side's own: compared apart from it (the proxy's log says so)
        String q = "SELECT id, device, value, mood, note FROM readings WHERE id BETWEEN 100 AND 299 ORDER BY id";
        assertThat(rows(target, q)).isEqualTo(rows(source, q)).hasSize(55);
        assertThat(TestDatabases.queryString(target, "SELECT mood::text FROM readings WHERE id = 101")).isEqualTo("alarmed");
    }

    @Test
    void nodePostgresWritesThroughTheProxyAndReadsWhatTheSourceHolds() throws Exception {
        Path dir = Path.of("clients", "node").toAbsolutePath();
        io.tsmigrate.it.kit.NpmPackages.ensure(dir, "pg", "8.23.1");
        String url = "postgres://app@127.0.0.1:" + proxy.address().getPort() + "/" + source.database();
        Output out = run(List.of("node", dir.resolve("client.mjs").toString(), url, "600"), "", null);
        String q = "SELECT id, device, value, mood FROM readings WHERE id BETWEEN 600 AND 609 ORDER BY id";
        assertThat(rows(target, q)).isEqualTo(rows(source, q)).extracting(r -> r.get(0)).containsExactly("600", "601", "602");
        // What the client read through the proxy is what the source holds.
        assertThat(out.stdout().strip()).isEqualTo("[{\"id\":\"600\",\"device\":\"node\",\"value\":2.25,\"mood\":\"odd\"},"
                + "{\"id\":\"601\",\"device\":\"node prepared\",\"value\":10,\"mood\":null},"
                + "{\"id\":\"602\",\"device\":\"node prepared\",\"value\":20,\"mood\":null}]");
    }

    @Test
    void psycopgWritesPreparedManyAndCopyThroughTheProxy() throws Exception {
        String conninfo = proxyConninfo();
        Output out = run(List.of("/usr/bin/python3", Path.of("clients", "python", "client.py").toAbsolutePath().toString(),
                conninfo, "700"), "", null);
        String q = "SELECT id, device, at, value, mood, note FROM readings WHERE id BETWEEN 700 AND 709 ORDER BY id";
        assertThat(rows(target, q)).isEqualTo(rows(source, q)).hasSize(8);
        assertThat(out.stdout()).startsWith("[[700, \"python\", 0.0, \"calm\"], [701, \"python\", 0.25, \"calm\"]")
                .contains("[707, \"python copy\", null, null]");
        assertThat(TestDatabases.queryString(target, "SELECT note FROM readings WHERE id = 706")).isEqualTo("tab\there");
    }

    @Test
    void anOpenSessionFollowsTheCutoverAtItsNextTransactionWithItsPreparedStatementsAndSettings() throws Exception {
        try (Connection c = DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + proxy.address().getPort() + "/"
                + source.database() + "?user=app&prepareThreshold=1&ApplicationName=follower")) {
            try (Statement st = c.createStatement()) {
                st.execute("SET TimeZone = 'Asia/Kolkata'");
            }
            PreparedStatement ins = c.prepareStatement("INSERT INTO readings (id, device, at) VALUES (?, ?, ?::timestamp)");
            insert(ins, 900, "before cutover");
            insert(ins, 901, "before cutover"); // named on the server by now
            assertThat(TestDatabases.queryLong(source, "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'follower'"))
                    .isEqualTo(1);
            try {
                switchPrimary("target");
                insert(ins, 902, "after cutover");
                assertThat(TestDatabases.queryLong(target, "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'follower'"))
                        .as("the session runs on the target now: " + rows(target, "SELECT application_name, state, query FROM "
                                + "pg_stat_activity WHERE datname = current_database()")).isEqualTo(1);
                try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT current_setting('TimeZone')")) {
                    rs.next();
                    assertThat(rs.getString(1)).isEqualTo("Asia/Kolkata");
                }
            } finally {
                switchPrimary("source");
            }
            insert(ins, 903, "after rollback");
        }
        // Written first on whichever side was primary, then repeated on the other: identical, the session's
        // time zone applied to the timestamp literal on both.
        String q = "SELECT id, device, at FROM readings WHERE id BETWEEN 900 AND 999 ORDER BY id";
        assertThat(rows(target, q)).isEqualTo(rows(source, q)).hasSize(4);
        assertThat(TestDatabases.queryString(source, "SELECT at FROM readings WHERE id = 902")).startsWith("2026-08-01 06:30:00");
    }

    @Test
    void aPoolsDiscardAllReachesTheSecondaryAndAMoveDoesNotBringBackWhatItDropped() throws Exception {
        try (Connection c = DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + proxy.address().getPort() + "/"
                + source.database() + "?user=app&prepareThreshold=1&ApplicationName=pooled")) {
            try (Statement st = c.createStatement()) {
                st.execute("SET TimeZone = 'Asia/Kolkata'");
            }
            PreparedStatement ins = c.prepareStatement("INSERT INTO readings (id, device, at) VALUES (?, ?, ?::timestamp)");
            insert(ins, 910, "in Kolkata");
            insert(ins, 911, "in Kolkata"); // named on the server by now
            // What a pool runs when it hands the connection to its next user.
            try (Statement st = c.createStatement()) {
                st.execute("DISCARD ALL");
            }
            PreparedStatement again = c.prepareStatement("INSERT INTO readings (id, device, at) VALUES (?, ?, ?::timestamp)");
            insert(again, 912, "after discard");
            try {
                switchPrimary("target");
                insert(again, 913, "after discard and cutover");
                try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT current_setting('TimeZone')")) {
                    rs.next();
                    assertThat(rs.getString(1)).as("the session moved without its discarded setting").isNotEqualTo("Asia/Kolkata");
                }
            } finally {
                switchPrimary("source");
            }
        }
        String q = "SELECT id, device, at FROM readings WHERE id BETWEEN 910 AND 919 ORDER BY id";
        assertThat(rows(target, q)).as("the secondary dropped the time zone too").isEqualTo(rows(source, q)).hasSize(4);
        assertThat(TestDatabases.queryString(source, "SELECT at FROM readings WHERE id = 911")).startsWith("2026-08-01 06:30:00");
        assertThat(TestDatabases.queryString(source, "SELECT at FROM readings WHERE id = 912"))
                .isEqualTo(TestDatabases.queryString(source, "SELECT at FROM readings WHERE id = 913"))
                .doesNotStartWith("2026-08-01 06:30:00");
    }

    private static void insert(PreparedStatement ins, int id, String device) throws SQLException {
        ins.setInt(1, id);
        ins.setString(2, device);
        ins.setString(3, "2026-08-01 12:00:00");
        ins.executeUpdate();
    }

    /** What tsmigrate cutover (and --rollback) writes last, then the proxy's health check that reads it. */
    private static void switchPrimary(String side) throws SQLException {
        try (Connection c = io.tsmigrate.core.connect.PgConnector.open(target)) {
            io.tsmigrate.core.state.StateSchema.ensure(c); // as tsmigrate schema leaves it
        }
        TestDatabases.execute(target, "INSERT INTO tsmigrate.meta (key, value) VALUES ('primary', '" + side + "') "
                + "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value");
        // The health check reads it (checkNow runs one after any check under way).
        Await.until("the proxy follows the " + side, () -> {
            proxy.checkNow();
            return proxy.stats().dualWrite().targetIsPrimary() == side.equals("target");
        });
    }

    /**
     * Reported in the proxy's log and metrics, and recorded in the migration's state, from where
     * status lists them and verify names them as the reason its table differs.
     */
    @Test
    void writesWhoseValuesEachSideComputesAreReportedOncePerShape() throws Exception {
        try (Connection c = io.tsmigrate.core.connect.PgConnector.open(target)) {
            io.tsmigrate.core.state.StateSchema.ensure(c); // as tsmigrate schema leaves it
        }
        try (Connection c = DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + proxy.address().getPort() + "/"
                + source.database() + "?user=app"); Statement st = c.createStatement()) {
            for (int i = 0; i < 3; i++) {
                st.executeUpdate("INSERT INTO notes (body) VALUES ('note " + i + "')");
            }
            st.executeUpdate("INSERT INTO readings (id, device, at) VALUES (1000, 'clock', clock_timestamp())");
            st.executeUpdate("INSERT INTO logins VALUES (1000, 'nothing computed')");
        }
        assertThat(proxy.computedValues())
                .containsEntry("INSERT INTO notes (body) VALUES (?)", "column id (nextval('notes_id_seq'::regclass)) left to its "
                        + "default; column at (now()) left to its default")
                .containsEntry("INSERT INTO readings (id, device, at) VALUES (?, ?, clock_timestamp())", "clock_timestamp() in the statement")
                .doesNotContainKey("INSERT INTO logins VALUES (?, ?)");
        assertThat(metric("tsmigrate_proxy_write_shapes_computed_per_side")).isGreaterThanOrEqualTo(2);

        proxy.checkNow(); // the background check records them
        assertThat(rows(target, "SELECT table_name, reason FROM tsmigrate.computed_write WHERE writer = 'proxy-it' "
                + "AND shape = 'INSERT INTO notes (body) VALUES (?)'")).containsExactly(List.of("public.notes",
                "column id (nextval('notes_id_seq'::regclass)) left to its default; column at (now()) left to its default"));
        Cli.Result status = Cli.run("status", "--target", TestDatabases.uri(target));
        assertThat(status.out()).contains("Writes whose values each side computes for itself")
                .containsPattern("public\\.notes +proxy-it: column id \\(nextval").contains("INSERT INTO notes (body) VALUES (?)");
        try (Connection c = io.tsmigrate.core.connect.PgConnector.open(target)) {
            if (!io.tsmigrate.core.state.PlanStore.exists(c)) {
                io.tsmigrate.core.state.PlanStore.save(c, new io.tsmigrate.core.plan.Plan(io.tsmigrate.core.plan.Plan.VERSION, List.of()),
                        "proxy-it"); // plain tables only
            }
        }
        Cli.Result verify = Cli.run("verify", "--source", TestDatabases.uri(source), "--target", TestDatabases.uri(target),
                "--table", "public.notes");
        assertThat(verify.exitCode()).as(verify.toString()).isEqualTo(5);
        assertThat(verify.out()).contains("public.notes: writer proxy-it writes it with values each side computes for itself "
                + "(column id (nextval('notes_id_seq'::regclass)) left to its default; column at (now()) left to its default) in "
                + "INSERT INTO notes (body) VALUES (?): the rows it wrote differ between the sides by design");

        // Accepted in the plan (the ids match: both sides' sequences handed out the same), verify leaves the column out.
        try (Connection c = io.tsmigrate.core.connect.PgConnector.open(target)) {
            io.tsmigrate.core.plan.Plan stored = io.tsmigrate.core.state.PlanStore.load(c).orElseThrow();
            io.tsmigrate.core.state.PlanStore.save(c, new io.tsmigrate.core.plan.Plan(stored.version(), stored.hypertables(),
                    stored.writerRoles(), List.of(new io.tsmigrate.core.plan.Plan.AcceptedDifference(
                            io.tsmigrate.core.catalog.TableRef.parse("public.notes"), List.of("at")))), "proxy-it");
        }
        Cli.Result accepted = Cli.run("verify", "--source", TestDatabases.uri(source), "--target", TestDatabases.uri(target),
                "--table", "public.notes");
        assertThat(accepted.exitCode()).as(accepted.toString()).isZero();
        assertThat(accepted.out()).contains("not compared: at (accept_differences in the plan: each side computes them)");
    }

    /**
     * With --shadow-read-share 1 every read that comes in text form also runs on the secondary: pgbench's
     * select-only load in the extended and the simple protocol, compared equal per query shape; a row
     * changed on the target alone shows as a mismatch of psql's read, with its shape; a client whose
     * session sets another time zone reads timestamps that still compare equal (the shadow read runs
     * under the session's settings); pgjdbc's binary-format reads are not compared.
     */
    @Test
    void aShareOfReadsIsShadowedOnTheSecondaryAndADifferenceIsReportedWithItsShape() throws Exception {
        Path dir = Files.createTempDirectory("tsmigrate-proxy-shadow-it");
        String writer = "proxy-shadow-it";
        try (ProxyServer shadowing = ProxyServer.start(new ProxyServer.Config("127.0.0.1", 0, source, target, ProxyServer.AuthMode.TRUST,
                java.util.Optional.empty(), new DualWriteConfig(FailurePolicy.JOURNAL, dir, writer, "proxy-it", Duration.ofSeconds(1), 1.0),
                Duration.ofSeconds(5), java.util.Optional.of(new java.net.InetSocketAddress("127.0.0.1", 0)), java.util.Optional.empty()))) {
            String conninfo = "host=127.0.0.1 port=" + shadowing.address().getPort() + " user=app client_encoding=UTF8 dbname="
                    + source.database();
            for (String mode : List.of("extended", "simple")) {
                Output out = run(List.of(bindir.resolve("pgbench").toString(), "-n", "-S", "-M", mode, "-c", "2", "-j", "1", "-t", "50",
                        conninfo), "", null);
                assertThat(out.stdout()).contains("number of failed transactions: 0");
            }
            TestDatabases.execute(target, "UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid = 7");
            try {
                Output out = run(List.of(bindir.resolve("psql").toString(), "-X", "-d", conninfo), String.join("\n",
                        "SELECT aid, abalance FROM pgbench_accounts WHERE aid = 7;",
                        "SET TimeZone = 'Asia/Kolkata';",
                        "SELECT timestamptz '2026-01-01 00:00:00+00' AS at;"), null);
                assertThat(out.stdout()).contains("+05:30");
                shadowing.checkNow();
            } finally {
                TestDatabases.execute(target, "UPDATE pgbench_accounts SET abalance = abalance - 1 WHERE aid = 7");
            }
            try (Connection c = DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + shadowing.address().getPort() + "/"
                    + source.database() + "?user=app&prepareThreshold=-1");
                 PreparedStatement ps = c.prepareStatement("SELECT abalance FROM pgbench_accounts WHERE aid = ?")) {
                ps.setInt(1, 7); // binary-format value and result: not compared
                try (ResultSet rs = ps.executeQuery()) {
                    assertThat(rs.next()).isTrue();
                }
            }
            shadowing.checkNow();
            assertThat(metric(shadowing, "tsmigrate_proxy_shadow_reads_compared_total")).isGreaterThanOrEqualTo(202);
            assertThat(metric(shadowing, "tsmigrate_proxy_shadow_reads_dropped_total")).isZero();
        } finally {
            try (var files = Files.walk(dir)) {
                files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
        List<List<String>> shapes = rows(target, "SELECT rtrim(shape, ';'), compared, mismatches + expected_mismatches FROM tsmigrate.shadow_read "
                + "WHERE writer = '" + writer + "' ORDER BY shape");
        // pgbench's 200 reads (pgjdbc's binary one of the same shape not among them), psql's two, and pgbench's own
        // catalog reads at start; the one row changed on the target is the only difference.
        assertThat(shapes).contains(
                List.of("SELECT abalance FROM pgbench_accounts WHERE aid = ?", "200", "0"),
                List.of("SELECT aid, abalance FROM pgbench_accounts WHERE aid = ?", "1", "1"),
                List.of("SELECT timestamptz ? AS at", "1", "0"));
        assertThat(shapes).filteredOn(row -> !row.get(2).equals("0")).hasSize(1);
    }

    @Test
    void cutoverAndRollbackUnderPgbenchLoadLoseAndDoubleNothing() throws Exception {
        long before = TestDatabases.queryLong(source, "SELECT count(*) FROM pgbench_history");
        ProcessBuilder pb = new ProcessBuilder(bindir.resolve("pgbench").toString(), "-n", "-M", "prepared", "-c", "3", "-j", "1",
                "-t", "300", proxyConninfo()).redirectErrorStream(true);
        Path log = Files.createTempFile("proxy-it-pgbench", ".log");
        try {
            Process load = pb.redirectOutput(log.toFile()).start();
            try {
                double start = proxy.stats().transactionsMirrored();
                Await.until("pgbench writes through the proxy", () -> proxy.stats().transactionsMirrored() > start + 50 || !load.isAlive());
                try {
                    switchPrimary("target");
                    double switched = proxy.stats().transactionsMirrored();
                    Await.until("pgbench writes with the target as primary",
                            () -> proxy.stats().transactionsMirrored() > switched + 100 || !load.isAlive());
                } finally {
                    switchPrimary("source");
                }
                assertThat(load.waitFor(300, TimeUnit.SECONDS)).isTrue();
                assertThat(load.exitValue()).as(Files.readString(log)).isZero();
                assertThat(Files.readString(log)).contains("number of failed transactions: 0");
            } finally {
                load.destroyForcibly();
            }
        } finally {
            Files.deleteIfExists(log);
        }
        assertThat(TestDatabases.queryLong(source, "SELECT count(*) FROM pgbench_history")).isEqualTo(before + 900);
        assertPgbenchTablesEqual();
    }

    /**
     * At a cutover, a session still in a transaction on the old primary holds a row lock there; a
     * session already on the new primary writes the same row, and its repetition on the old primary
     * waits for that lock, while the proxy holds its ReadyForQuery. A client that waits for that
     * ReadyForQuery before it goes on with the other session (pgbench, one thread for many
     * connections; here the test's own thread) closes a cycle across the two servers that neither
     * server's deadlock detection sees. The repetition gives up the wait and goes to the journal.
     */
    @Test
    void aWriteOnTheNewPrimaryDoesNotWaitForeverForASessionStillInATransactionOnTheOldOne() throws Exception {
        for (ConnectionSpec side : List.of(source, target)) {
            TestDatabases.execute(side, "CREATE TABLE hot (id int PRIMARY KEY, v int NOT NULL)", "INSERT INTO hot VALUES (1, 0)");
        }
        String url = "jdbc:postgresql://127.0.0.1:" + proxy.address().getPort() + "/" + source.database() + "?user=app";
        long journaled = proxy.stats().dualWrite().journaled();
        try (Connection old = DriverManager.getConnection(url); Statement oldSt = old.createStatement()) {
            oldSt.executeUpdate("UPDATE hot SET v = v + 0 WHERE id = 1"); // its shape examined: the next goes ahead to the target
            old.setAutoCommit(false);
            oldSt.executeUpdate("UPDATE hot SET v = v + 1 WHERE id = 1"); // holds the row on the source, the primary, and the target
            try {
                switchPrimary("target");
                try (Connection moved = DriverManager.getConnection(url); Statement st = moved.createStatement()) {
                    CompletableFuture<Integer> write = CompletableFuture.supplyAsync(() -> {
                        try {
                            return st.executeUpdate("UPDATE hot SET v = v + 10 WHERE id = 1");
                        } catch (SQLException e) {
                            throw new IllegalStateException(e);
                        }
                    });
                    // The test's thread waits for this write before it ends the old session's transaction, as pgbench does.
                    try {
                        assertThat(write.get(120, TimeUnit.SECONDS)).isEqualTo(1);
                    } catch (java.util.concurrent.TimeoutException e) {
                        old.rollback(); // breaks the cycle, so that the connections can close
                        throw new AssertionError("the write on the new primary waits for ever: for a lock of the session "
                                + "still on the old primary (there, for its repetition; or on the new primary, where that "
                                + "session's write went ahead), which waits for this client", e);
                    }
                }
                assertThat(proxy.stats().dualWrite().journaled()).isEqualTo(journaled + 1);
                old.commit();
                Await.until("the journal is replayed on the source", () -> {
                    proxy.checkNow();
                    return !proxy.stats().dualWrite().diverted();
                });
            } finally {
                switchPrimary("source");
            }
        }
        assertThat(rows(target, "SELECT id, v FROM hot")).isEqualTo(rows(source, "SELECT id, v FROM hot"))
                .containsExactly(List.of("1", "11"));
    }

    @Test
    void aReplicationConnectionAndAnUnknownProtocolAreRefusedAsAServerWould() throws Exception {
        Output replication = psqlRaw(proxyConninfo() + " replication=database", "IDENTIFY_SYSTEM");
        assertThat(replication.exit()).isEqualTo(2);
        assertThat(replication.stderr()).contains("replication connections are not supported by tsmigrate proxy");
        try (java.net.Socket socket = new java.net.Socket("127.0.0.1", proxy.address().getPort())) {
            java.io.DataOutputStream out = new java.io.DataOutputStream(socket.getOutputStream());
            out.writeInt(8);
            out.writeInt(2 << 16); // protocol 2.0
            out.flush();
            byte[] answer = socket.getInputStream().readAllBytes();
            assertThat((char) answer[0]).isEqualTo('E');
            assertThat(new String(answer, StandardCharsets.UTF_8)).contains("0A000").contains("unsupported frontend protocol 2.0");
        }
    }

    @Test
    void aTargetUnreachableAtStartDoesNotStopTheProxyItsWritesAreJournaled(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        int closed;
        try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
            closed = s.getLocalPort();
        }
        ConnectionSpec nowhere = ConnectionSpec.parse("postgres://nobody@127.0.0.1:" + closed + "/none?connect_timeout=2", "target");
        try (ProxyServer alone = ProxyServer.start(new ProxyServer.Config("127.0.0.1", 0, source, nowhere, ProxyServer.AuthMode.TRUST,
                java.util.Optional.empty(), new DualWriteConfig(FailurePolicy.JOURNAL, dir, "proxy-alone", "proxy-it",
                Duration.ofSeconds(1), 0), Duration.ofSeconds(5), java.util.Optional.empty(), java.util.Optional.empty()))) {
            Output w = psqlRaw("host=127.0.0.1 port=" + alone.address().getPort() + " user=app dbname=" + source.database(),
                    "INSERT INTO logins VALUES (3, 'while the target was away')");
            assertThat(w.exit()).as(w.stderr()).isZero();
            assertThat(alone.stats().dualWrite().journaled()).isEqualTo(1);
            assertThat(alone.stats().dualWrite().diverted()).isTrue();
        }
        assertThat(Files.size(dir.resolve("proxy-alone-target.journal"))).isPositive();
    }

    private static Output psqlRaw(String conninfo, String sql) throws Exception {
        return psql(conninfo, "", sql);
    }

    @Test
    void metricsCountMirroredTransactionsAndTheLatencyAdded() throws Exception {
        try (Connection c = DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + proxy.address().getPort() + "/"
                + source.database() + "?user=app"); Statement st = c.createStatement()) {
            // Counted from here: pgjdbc's own settings at connect (SET extra_float_digits) are mirrored too.
            double before = metric("tsmigrate_proxy_transactions_mirrored_total");
            double latencies = metric("tsmigrate_proxy_added_latency_seconds_count");
            st.executeUpdate("INSERT INTO readings (id, device, at) VALUES (800, 'counted', '2026-07-01 00:00:00+00')");
            st.executeUpdate("UPDATE readings SET device = 'counted twice' WHERE id = 800");
            st.executeQuery("SELECT count(*) FROM readings").close(); // a read: nothing to mirror
            assertThat(metric("tsmigrate_proxy_connections_open")).isGreaterThanOrEqualTo(1);
            assertThat(metric("tsmigrate_proxy_transactions_mirrored_total")).isEqualTo(before + 2);
            assertThat(metric("tsmigrate_proxy_added_latency_seconds_count")).isEqualTo(latencies + 2);
        }
        assertThat(metric("tsmigrate_proxy_secondary_diverted")).isZero();
    }

    /** One sample of the proxy's /metrics, as Prometheus scrapes it. */
    private static double metric(String name) throws Exception {
        return metric(proxy, name);
    }

    private static double metric(ProxyServer of, String name) throws Exception {
        java.net.http.HttpResponse<String> r = java.net.http.HttpClient.newHttpClient().send(java.net.http.HttpRequest.newBuilder(
                java.net.URI.create("http://127.0.0.1:" + of.metricsPort().getAsInt() + "/metrics")).build(),
                java.net.http.HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(200);
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("(?m)^" + name + "(?:\\{[^}]*})? ([0-9.eE+-]+)$").matcher(r.body());
        assertThat(m.find()).as(name + " in\n" + r.body()).isTrue();
        return Double.parseDouble(m.group(1));
    }

    @Test
    void aCancelThroughTheProxyStopsTheQueryOnTheSource() throws Exception {
        try (Connection c = DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + proxy.address().getPort() + "/"
                + source.database() + "?user=app&ApplicationName=cancel-me")) {
            Statement st = c.createStatement();
            CompletableFuture<Void> running = CompletableFuture.runAsync(() -> {
                try {
                    st.execute("SELECT pg_sleep(600)");
                } catch (SQLException e) {
                    throw new java.util.concurrent.CompletionException(e);
                }
            });
            Await.until("the sleep runs on the source", () -> TestDatabases.queryLong(source, "SELECT count(*) FROM pg_stat_activity "
                    + "WHERE application_name = 'cancel-me' AND query LIKE 'SELECT pg_sleep%' AND state = 'active'") == 1);
            st.cancel();
            assertThatThrownBy(() -> running.get(60, TimeUnit.SECONDS)).hasRootCauseInstanceOf(SQLException.class)
                    .rootCause().satisfies(e -> assertThat(((SQLException) e).getSQLState()).isEqualTo("57014"));
        }
    }

    @Test
    void writesTheTargetMissedGoToTheJournalAndAreReplayedInOrder() throws Exception {
        long journaled = proxy.stats().dualWrite().journaled();
        try (Connection c = DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + proxy.address().getPort() + "/"
                + source.database() + "?user=app")) {
            try (Statement st = c.createStatement()) {
                st.executeUpdate("INSERT INTO readings (id, device, at) VALUES (400, 'before', '2026-03-01 00:00:00+00')");
                st.executeUpdate("INSERT INTO readings (id, device, at) VALUES (402, 'before', '2026-03-01 00:00:02+00')");
            }
            // The proxy's own connections to the target die: the next commit reaches it on a new one, or
            // (when the proxy sent it before it saw its connection close) through the journal.
            TestDatabases.execute(target, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = '"
                    + ProxyServer.APPLICATION_NAME + "' AND datname = current_database()");
            try (Statement st = c.createStatement()) {
                st.executeUpdate("UPDATE readings SET device = 'after the connections died' WHERE id = 402");
            }
            Await.until("the target has the write made after its connections died", () -> {
                proxy.checkNow();
                return rows(target, "SELECT device FROM readings WHERE id = 402").equals(List.of(List.of("after the connections died")));
            });
            journaled = proxy.stats().dualWrite().journaled();
            // Then the target cannot take the table's writes: they go to the journal, the second after the first.
            TestDatabases.execute(target, "ALTER TABLE readings RENAME TO readings_away");
            try (Statement st = c.createStatement()) {
                st.executeUpdate("INSERT INTO readings (id, device, at) VALUES (401, 'journaled', '2026-03-01 00:00:01+00')");
                st.executeUpdate("UPDATE readings SET device = 'journaled, then changed' WHERE id = 401");
            } finally {
                TestDatabases.execute(target, "ALTER TABLE readings_away RENAME TO readings");
            }
        }
        assertThat(proxy.stats().dualWrite().journaled()).as("transactions journaled").isEqualTo(journaled + 2);
        awaitJournalReplayed();
        String q = "SELECT id, device FROM readings WHERE id BETWEEN 400 AND 499 ORDER BY id";
        assertThat(rows(target, q)).isEqualTo(rows(source, q)).containsExactly(List.of("400", "before"),
                List.of("401", "journaled, then changed"), List.of("402", "after the connections died"));
    }

    @Test
    void aTransactionTheTargetRefusesOnlyAtItsCommitGoesToTheJournalWhole() throws Exception {
        // The repetition sends a transaction's statements and its COMMIT in one round trip: a refusal
        // at the COMMIT (a deferred check only the target has) must still send the whole transaction
        // to the journal, and the replay must bring it once the target accepts it.
        TestDatabases.execute(source, "CREATE TABLE plans (id int PRIMARY KEY)", "CREATE TABLE tasks (id int PRIMARY KEY, plan int)");
        TestDatabases.execute(target, "CREATE TABLE plans (id int PRIMARY KEY)", "CREATE TABLE tasks (id int PRIMARY KEY, "
                + "plan int REFERENCES plans DEFERRABLE INITIALLY DEFERRED)");
        long journaledBefore = proxy.stats().dualWrite().journaled();
        try (Connection c = DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + proxy.address().getPort() + "/"
                + source.database() + "?user=app")) {
            c.setAutoCommit(false);
            try (Statement st = c.createStatement()) {
                st.executeUpdate("INSERT INTO tasks VALUES (1, 7)");
                st.executeUpdate("INSERT INTO tasks VALUES (2, 7)");
            }
            c.commit(); // the source has no such check
        }
        assertThat(proxy.stats().dualWrite().journaled()).as("transactions journaled").isEqualTo(journaledBefore + 1);
        assertThat(rows(target, "SELECT count(*) FROM tasks")).containsExactly(List.of("0"));
        TestDatabases.execute(target, "INSERT INTO plans VALUES (7)");
        awaitJournalReplayed();
        String q = "SELECT id, plan FROM tasks ORDER BY id";
        assertThat(rows(target, q)).isEqualTo(rows(source, q)).containsExactly(List.of("1", "7"), List.of("2", "7"));
    }

    @Test
    void aTransactionsWritesGoAheadToTheTargetWhileItIsOpenAndItsRollbackUndoesThemThere() throws Exception {
        try (Connection c = DriverManager.getConnection(proxyJdbcUrl())) {
            try (Statement st = c.createStatement()) {
                // Its shape is examined once (the table's defaults looked up off the event loop): later
                // texts of that shape, with other values, go ahead.
                st.executeUpdate("INSERT INTO readings (id, device, at) VALUES (510, 'ahead shape', '2026-04-01 00:00:00+00')");
            }
            c.setAutoCommit(false);
            try (Statement st = c.createStatement()) {
                st.executeUpdate("INSERT INTO readings (id, device, at) VALUES (511, 'ahead, rolled back', '2026-04-01 00:00:01+00')");
                Await.until("the target has the open transaction's write, not committed",
                        () -> !targetBackends("idle in transaction", "ahead, rolled back").isEmpty());
                String pid = targetBackends("idle in transaction", "ahead, rolled back").get(0);
                assertThat(rows(target, "SELECT count(*) FROM readings WHERE id = 511")).containsExactly(List.of("0"));
                c.rollback();
                Await.until("the target rolled it back too", () -> rows(target, "SELECT state, query FROM pg_stat_activity WHERE pid = " + pid)
                        .equals(List.of(List.of("idle", "ROLLBACK"))));
                st.executeUpdate("INSERT INTO readings (id, device, at) VALUES (512, 'ahead, committed', '2026-04-01 00:00:02+00')");
                Await.until("the next transaction's write went ahead on the same connection", () -> rows(target,
                        "SELECT state, strpos(query, 'ahead, committed') > 0 FROM pg_stat_activity WHERE pid = " + pid)
                        .equals(List.of(List.of("idle in transaction", "t"))));
            }
            c.commit();
        }
        String q = "SELECT id, device FROM readings WHERE id BETWEEN 510 AND 519 ORDER BY id";
        assertThat(rows(target, q)).isEqualTo(rows(source, q)).containsExactly(List.of("510", "ahead shape"), List.of("512", "ahead, committed"));
    }

    @Test
    void aWriteTheTargetRefusesAheadSendsTheWholeTransactionToTheJournalAndNoneOfItCommitsThere() throws Exception {
        TestDatabases.execute(source, "CREATE TABLE gauges (id int PRIMARY KEY, level int)");
        TestDatabases.execute(target, "CREATE TABLE gauges (id int PRIMARY KEY, level int CONSTRAINT level_low CHECK (level < 100))");
        long journaled;
        try (Connection c = DriverManager.getConnection(proxyJdbcUrl())) {
            try (Statement st = c.createStatement()) {
                st.executeUpdate("INSERT INTO gauges VALUES (1, 1)"); // the shape, examined
            }
            journaled = proxy.stats().dualWrite().journaled();
            c.setAutoCommit(false);
            try (Statement st = c.createStatement()) {
                st.executeUpdate("INSERT INTO gauges VALUES (2, 2)");
                st.executeUpdate("INSERT INTO gauges VALUES (3, 300)"); // only the target refuses it
                Await.until("the target refused the write that went ahead",
                        () -> !targetBackends("idle in transaction (aborted)", "").isEmpty());
            }
            // Only the COMMIT is left to send: the target answers it with ROLLBACK, and no error.
            c.commit();
        }
        assertThat(proxy.stats().dualWrite().journaled()).as("transactions journaled").isEqualTo(journaled + 1);
        assertThat(rows(target, "SELECT id FROM gauges ORDER BY id")).containsExactly(List.of("1"));
        TestDatabases.execute(target, "ALTER TABLE gauges DROP CONSTRAINT level_low");
        awaitJournalReplayed();
        String q = "SELECT id, level FROM gauges ORDER BY id";
        assertThat(rows(target, q)).isEqualTo(rows(source, q)).hasSize(3);
    }

    @Test
    void aWriteAheadThatFailsAfterItsCommitWasSentStillSendsTheWholeTransactionToTheJournal() throws Exception {
        // The write ahead waits for a lock on the target while the client commits: the proxy sends the
        // target's COMMIT behind it. The write then fails (cancelled), so the target answers that COMMIT
        // with ROLLBACK and no error: the transaction must still go to the journal.
        for (ConnectionSpec side : List.of(source, target)) {
            TestDatabases.execute(side, "CREATE TABLE meters (id int PRIMARY KEY)");
        }
        long journaled;
        try (Connection c = DriverManager.getConnection(proxyJdbcUrl());
             Connection holder = TestDatabases.dataSource(target).getConnection()) {
            try (Statement st = c.createStatement()) {
                st.executeUpdate("INSERT INTO meters VALUES (1)"); // the shape, examined
            }
            journaled = proxy.stats().dualWrite().journaled();
            holder.setAutoCommit(false);
            try (Statement lock = holder.createStatement()) {
                lock.execute("LOCK TABLE meters IN ACCESS EXCLUSIVE MODE");
            }
            c.setAutoCommit(false);
            try (Statement st = c.createStatement()) {
                st.executeUpdate("INSERT INTO meters VALUES (2)");
            }
            Await.until("the write ahead waits for the lock on the target", () -> !rows(target, "SELECT pid FROM pg_stat_activity "
                    + "WHERE application_name = '" + ProxyServer.APPLICATION_NAME + "' AND wait_event_type = 'Lock' "
                    + "AND strpos(query, 'INSERT INTO meters VALUES (2)') > 0").isEmpty());
            CompletableFuture<Void> commit = CompletableFuture.runAsync(() -> {
                try {
                    c.commit();
                } catch (SQLException e) {
                    throw new IllegalStateException(e);
                }
            });
            Await.until("the source committed (the proxy then sends the target's COMMIT)",
                    () -> rows(source, "SELECT count(*) FROM meters").equals(List.of(List.of("2"))));
            TestDatabases.execute(target, "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE application_name = '"
                    + ProxyServer.APPLICATION_NAME + "' AND wait_event_type = 'Lock' AND strpos(query, 'INSERT INTO meters') > 0");
            commit.get(60, TimeUnit.SECONDS);
            holder.rollback();
        }
        assertThat(proxy.stats().dualWrite().journaled()).as("transactions journaled").isEqualTo(journaled + 1);
        awaitJournalReplayed();
        String q = "SELECT id FROM meters ORDER BY id";
        assertThat(rows(target, q)).isEqualTo(rows(source, q)).containsExactly(List.of("1"), List.of("2"));
    }

    @Test
    void theSessionsSettingsReachTheTargetAgainAfterTheFirstTransactionThatCarriedThemRolledBack() throws Exception {
        // A new connection to the target gets the session's settings in its first transaction, after
        // BEGIN; when that transaction rolls back, so do they: the next one must carry them again, or
        // its writes go by the target's defaults (here: into public.dup, not field.dup).
        for (ConnectionSpec side : List.of(source, target)) {
            TestDatabases.execute(side, "CREATE SCHEMA field", "CREATE TABLE field.dup (id int PRIMARY KEY)",
                    "CREATE TABLE public.dup (id int PRIMARY KEY)");
        }
        String url = proxyJdbcUrl() + "&currentSchema=field"; // pgjdbc sends it as the startup parameter search_path
        try (Connection warm = DriverManager.getConnection(url); Statement st = warm.createStatement()) {
            st.executeUpdate("INSERT INTO dup VALUES (1)"); // the shape, examined
        }
        try (Connection c = DriverManager.getConnection(url)) {
            c.setAutoCommit(false);
            try (Statement st = c.createStatement()) {
                st.executeUpdate("INSERT INTO dup VALUES (2)");
                Await.until("the write went ahead, with the session's settings", () -> !targetBackends("idle in transaction",
                        "search_path").isEmpty());
                c.rollback();
                st.executeUpdate("INSERT INTO dup VALUES (3)");
            }
            c.commit();
        }
        String q = "SELECT id FROM field.dup ORDER BY id";
        assertThat(rows(target, q)).isEqualTo(rows(source, q)).containsExactly(List.of("1"), List.of("3"));
        assertThat(rows(target, "SELECT count(*) FROM public.dup")).containsExactly(List.of("0"));
    }

    /** Runs the proxy's background check until the journal is replayed and writes go to the target directly again. */
    private static void awaitJournalReplayed() {
        Await.until("the journal is replayed", () -> {
            proxy.checkNow();
            return !proxy.stats().dualWrite().diverted();
        });
    }

    private static String proxyJdbcUrl() {
        return "jdbc:postgresql://127.0.0.1:" + proxy.address().getPort() + "/" + source.database() + "?user=app";
    }

    /** The pids of the proxy's connections to the target in this state whose last query contains the text. */
    private static List<String> targetBackends(String state, String queryContains) {
        return rows(target, "SELECT pid FROM pg_stat_activity WHERE application_name = '" + ProxyServer.APPLICATION_NAME
                + "' AND datname = current_database() AND state = '" + state + "' AND strpos(query, '"
                + queryContains.replace("'", "''") + "') > 0").stream().map(r -> r.get(0)).toList();
    }

    @Test
    void theCommandAuthenticatesClientsWithScramAndStopsOnSigterm(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        TestDatabases.execute(source, "DROP ROLE IF EXISTS proxy_scram", "CREATE ROLE proxy_scram LOGIN PASSWORD 'hashed secret'");
        String verifier = TestDatabases.queryString(source, "SELECT rolpassword FROM pg_authid WHERE rolname = 'proxy_scram'");
        assertThat(verifier).startsWith("SCRAM-SHA-256$");
        Path users = dir.resolve("users.txt");
        Files.writeString(users, "; clients of the proxy\n\"app\" \"s3cret \"\"quoted\"\"\"\n\"scrammed\" \"" + verifier + "\"\n");
        try (CliProcess p = CliProcess.start(List.of("proxy", "--source", TestDatabases.uri(source), "--target",
                TestDatabases.uri(target), "--listen", "127.0.0.1:0", "--auth-file", users.toString(), "--journal",
                dir.resolve("journal").toString(), "--writer-name", "proxy-cli", "--health-check", "1s"))) {
            Await.until("the proxy listens", () -> p.output().contains("listening on /127.0.0.1:") || !p.isAlive());
            java.util.regex.Matcher m = java.util.regex.Pattern.compile("listening on /127.0.0.1:(\\d+)").matcher(p.output());
            assertThat(m.find()).as(p.output()).isTrue();
            String conninfo = "host=127.0.0.1 port=" + m.group(1) + " dbname=" + source.database();
            Output ok = psql(conninfo + " user=app", "s3cret \"quoted\"",
                    "INSERT INTO logins VALUES (1, current_user)");
            assertThat(ok.exit()).as(ok.stderr()).isZero();
            Output byVerifier = psql(conninfo + " user=scrammed", "hashed secret", "SELECT 41 + 1");
            assertThat(byVerifier.stdout()).contains("42");
            Output wrong = psql(conninfo + " user=app", "not the password", "SELECT 1");
            assertThat(wrong.exit()).isEqualTo(2);
            assertThat(wrong.stderr()).contains("password authentication failed for user \"app\"");
            Output plain = psql(conninfo + " user=app sslmode=require", "s3cret \"quoted\"", "SELECT 1");
            assertThat(plain.exit()).as("no --tls-cert: no TLS").isEqualTo(2);
            assertThat(plain.stderr()).contains("server does not support SSL");
            Output unknown = psql(conninfo + " user=nobody", "whatever", "SELECT 1");
            assertThat(unknown.stderr()).contains("password authentication failed for user \"nobody\"");
            // The proxy logs in to the source with the source URI's role: that is the user the row names, on both sides.
            assertThat(rows(target, "SELECT id, who FROM logins")).isEqualTo(rows(source, "SELECT id, who FROM logins")).hasSize(1);
            assertThat(TestDatabases.queryLong(target, "SELECT count(*) FROM tsmigrate.writer WHERE name = 'proxy-cli'")).isEqualTo(1);
            p.terminate();
            assertThat(p.waitFor(60)).isTrue();
            assertThat(p.exitValue()).as(p.output()).isZero();
            assertThat(p.output()).contains("tsmigrate proxy: stopped").doesNotContain("not the password").doesNotContain("s3cret");
            // One log format, one line per event: the proxy's (java.util.logging) and the library's (System.Logger)
            // lines go through the CLI's logging, stamped in ISO-8601 UTC.
            List<String> events = p.output().lines().filter(l -> l.contains("tsmigrate proxy:") || l.contains("tsmigrate dual-write:"))
                    .toList();
            assertThat(events).isNotEmpty().allMatch(l -> l.matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z "
                    + "(INFO|WARN|ERROR) .*"));
            assertThat(p.output()).doesNotContainPattern("(?m)^[A-Z][a-z]{2} \\d\\d?, \\d{4} ");
        }
    }

    @Test
    void withACertificateClientsConnectOverVerifiedTls(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        Path cert = dir.resolve("proxy.crt");
        Path key = dir.resolve("proxy.key");
        run(List.of("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key.toString(), "-out", cert.toString(),
                "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"), "", null);
        try (ProxyServer tls = ProxyServer.start(new ProxyServer.Config("127.0.0.1", 0, source, target, ProxyServer.AuthMode.TRUST,
                java.util.Optional.empty(), new DualWriteConfig(FailurePolicy.JOURNAL, dir.resolve("journal"), "proxy-tls", "proxy-it",
                Duration.ofSeconds(1), 0), Duration.ofSeconds(5), java.util.Optional.empty(),
                java.util.Optional.of(new ProxyServer.Tls(cert, key))))) {
            String conninfo = "host=127.0.0.1 port=" + tls.address().getPort() + " dbname=" + source.database() + " user=app";
            Output verified = psql(conninfo + " sslmode=verify-full sslrootcert=" + cert, "", "\\conninfo");
            assertThat(verified.exit()).as(verified.stderr()).isZero();
            assertThat(verified.stdout()).contains("SSL connection (protocol: TLSv1.");
            Output written = psql(conninfo + " sslmode=require", "", "INSERT INTO logins VALUES (2, 'over tls')");
            assertThat(written.exit()).as(written.stderr()).isZero();
            Output clear = psql(conninfo + " sslmode=disable", "", "SELECT 'in the clear'");
            assertThat(clear.stdout()).contains("in the clear");
        }
        assertThat(rows(target, "SELECT who FROM logins WHERE id = 2")).isEqualTo(List.of(List.of("over tls")));
    }

    @Test
    void aPrimaryThatAsksForTlsIsReachedOverVerifiedTlsAndAWrongCertificateIsRefused(TestDatabases db,
            @org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        io.tsmigrate.servers.PgServer server = db.servers().pair().map(io.tsmigrate.servers.ServerPair::source).orElse(null);
        org.junit.jupiter.api.Assumptions.assumeTrue(server != null,
                "the source is an external server (TSMIGRATE_TEST_SOURCE): the test cannot turn its TLS on");
        Path other = io.tsmigrate.servers.CertificateAuthority.create(dir.resolve("other-ca"), "another CA").certificate();
        Path root = server.enableTls();
        try (ProxyServer p = proxyTo(withSsl(source, "sslmode=verify-full&sslrootcert=" + root), dir.resolve("j1"))) {
            String conninfo = "host=127.0.0.1 port=" + p.address().getPort() + " user=app dbname=" + source.database();
            Output tls = psql(conninfo, "", "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()");
            assertThat(tls.stdout().strip()).as(tls.stderr()).isEqualTo("t");
            Output written = psql(conninfo, "", "INSERT INTO logins VALUES (30, 'through a TLS primary')");
            assertThat(written.exit()).as(written.stderr()).isZero();
        }
        try (ProxyServer p = proxyTo(withSsl(source, "sslmode=verify-full&sslrootcert=" + other), dir.resolve("j2"))) {
            Output refused = psql("host=127.0.0.1 port=" + p.address().getPort() + " user=app dbname=" + source.database(), "",
                    "SELECT 1");
            assertThat(refused.exit()).isNotZero();
            assertThat(refused.stderr()).contains("tsmigrate proxy cannot reach the source").contains("TLS with the source")
                    .contains("(sslmode=verify-full)");
        }
        // The suite's servers use TLS; this part needs a source without it, and gives it back.
        server.disableTls();
        try (ProxyServer p = proxyTo(withSsl(source, "sslmode=require"), dir.resolve("j3"))) {
            Output refused = psql("host=127.0.0.1 port=" + p.address().getPort() + " user=app dbname=" + source.database(), "",
                    "SELECT 1");
            assertThat(refused.exit()).isNotZero();
            assertThat(refused.stderr()).contains("does not accept TLS, and its sslmode is require");
        } finally {
            server.enableTls();
        }
        assertThat(rows(target, "SELECT who FROM logins WHERE id = 30")).isEqualTo(List.of(List.of("through a TLS primary")));
    }

    private static ConnectionSpec withSsl(ConnectionSpec spec, String query) {
        return ConnectionSpec.parse(TestDatabases.uri(spec, query), spec.label());
    }

    private static ProxyServer proxyTo(ConnectionSpec primary, Path journal) throws Exception {
        return ProxyServer.start(new ProxyServer.Config("127.0.0.1", 0, primary, target, ProxyServer.AuthMode.TRUST,
                java.util.Optional.empty(), new DualWriteConfig(FailurePolicy.JOURNAL, journal, "proxy-tls-" + journal.getFileName(),
                "proxy-it", Duration.ofSeconds(1), 0), Duration.ofSeconds(5), java.util.Optional.empty(), java.util.Optional.empty()));
    }

    // ---- helpers

    private static void assertPgbenchTablesEqual() {
        for (String q : List.of("SELECT aid, abalance FROM pgbench_accounts WHERE abalance <> 0 ORDER BY aid",
                "SELECT bid, bbalance FROM pgbench_branches ORDER BY bid", "SELECT tid, tbalance FROM pgbench_tellers ORDER BY tid",
                // mtime is each side's own CURRENT_TIMESTAMP: compared apart from it
                "SELECT tid, bid, aid, delta, count(*) FROM pgbench_history GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4")) {
            assertThat(rows(target, q)).as(q).isEqualTo(rows(source, q));
        }
    }

    private static Output psql(String conninfo, String password, String sql) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(bindir.resolve("psql").toString(), "-X", "-At", "-d", conninfo, "-c", sql);
        pb.environment().put("PGPASSWORD", password);
        pb.environment().remove("PGSSLMODE");
        Process proc = pb.start();
        byte[] out = proc.getInputStream().readAllBytes();
        byte[] err = proc.getErrorStream().readAllBytes();
        assertThat(proc.waitFor(120, TimeUnit.SECONDS)).isTrue();
        return new Output(proc.exitValue(), new String(out, StandardCharsets.UTF_8), new String(err, StandardCharsets.UTF_8));
    }

    private record Output(int exit, String stdout, String stderr) {
    }

    /** Runs a client to completion, with {@code input} on stdin; fails the test on a non-zero exit. */
    private static Output run(List<String> command, String input, ConnectionSpec passwordOf) throws Exception {
        Output o = exec(command, input, passwordOf);
        assertThat(o.exit()).as(command + "\n" + o.stdout() + o.stderr()).isZero();
        return o;
    }

    /** Runs a command to its end: its exit status and output. */
    private static Output exec(List<String> command, String input, ConnectionSpec passwordOf) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(command);
        if (passwordOf != null) {
            passwordOf.password().ifPresent(p -> pb.environment().put("PGPASSWORD", p));
        }
        Path out = Files.createTempFile("proxy-it", ".out");
        Path err = Files.createTempFile("proxy-it", ".err");
        try {
            pb.redirectOutput(out.toFile()).redirectError(err.toFile());
            Process p = pb.start();
            try {
                p.getOutputStream().write(input.getBytes(StandardCharsets.UTF_8));
                p.getOutputStream().close();
                if (!p.waitFor(300, TimeUnit.SECONDS)) {
                    throw new AssertionError(command.get(0) + " did not finish");
                }
            } finally {
                p.destroyForcibly();
            }
            return new Output(p.exitValue(), Files.readString(out), Files.readString(err));
        } finally {
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }

    private static List<List<String>> rows(ConnectionSpec spec, String sql) {
        return new ArrayList<>(TestDatabases.rows(spec, sql));
    }
}
