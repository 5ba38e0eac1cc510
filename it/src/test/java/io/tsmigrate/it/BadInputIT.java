package io.tsmigrate.it;

import io.tsmigrate.core.backfill.BackfillOptions;
import io.tsmigrate.core.connect.ConnectionSpec;
import io.tsmigrate.it.kit.PgServersExtension;
import io.tsmigrate.it.kit.TestDatabases;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Bad input of every kind, to every command: a non-zero exit of the documented kind, one sentence
 * on stderr, no stack trace, no password, and the migration's state exactly as it was.
 */
@ExtendWith(PgServersExtension.class)
class BadInputIT {

    static final String T = "2026-11-11 00:00:00+00";
    static final String SECRET = "s3cret-Pw";

    private static ConnectionSpec target;

    @BeforeAll
    static void migrate(TestDatabases db) {
        db.source("CREATE TABLE metrics (time timestamptz NOT NULL, device int, v float8)",
                "INSERT INTO metrics SELECT timestamptz '2026-11-04' + g * interval '10 minutes', g % 7, g FROM generate_series(0, 999) g",
                "ANALYZE");
        target = db.newTargetDatabase("bad_input", true);
        Fixtures.migrateSchema(db.source(), target, "1 day", "metrics");
        assertThat(BackfillIT.backfill(db.source(), target, BackfillOptions.builder().until(T)
                .maxRangeRows(100_000).maxAttempts(3).workerName("bad-input").build()).complete()).isTrue();
    }

    /** Every row of every table of the state schema, as one text: any change to the state changes it. */
    private static String state() {
        StringBuilder out = new StringBuilder();
        for (List<String> t : TestDatabases.rows(target, "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                + "WHERE n.nspname = 'tsmigrate' AND c.relkind = 'r' ORDER BY 1")) {
            out.append(t.get(0)).append(": ").append(TestDatabases.queryString(target, "SELECT count(*) || ' ' || coalesce(md5(string_agg("
                    + "t::text, '|' ORDER BY t::text)), '') FROM tsmigrate." + t.get(0) + " t")).append('\n');
        }
        return out.toString();
    }

    private record Case(int exit, String[] args) {
        static Case of(int exit, String... args) {
            return new Case(exit, args);
        }
    }

    @Test
    void everyBadInvocationExitsWithItsKindInOneSentenceAndChangesNothing(TestDatabases db, @TempDir Path dir) throws Exception {
        String src = db.sourceUri();
        String tgt = TestDatabases.uri(target);
        String[] both = {"--source", src, "--target", tgt};
        int port = target.endpoints().get(0).port();
        String wrongPassword = "postgres://postgres:" + SECRET + "@127.0.0.1:" + port + "/" + target.database();
        String closedPort = "postgres://postgres:" + SECRET + "@127.0.0.1:1/postgres?connect_timeout=5";
        Path badPlan = dir.resolve("typo.yaml");
        Files.writeString(badPlan, "version: 1\nhypertables:\n  - table: public.metrics\n    time_colum: time\n");
        ConnectionSpec stateless = db.newTargetDatabase("bad_input_stateless", true);

        List<Case> cases = new ArrayList<>(List.of(
                Case.of(2, "no-such-command"),
                Case.of(2, "verify", "--no-such-flag"),
                Case.of(2, "verify", "--until", "xyz"),
                Case.of(2, "verify", "--from", "yesterday-ish"),
                Case.of(2, "verify", "--from", "2026-11-09", "--until", "2026-11-08"),
                Case.of(2, "verify", "--until", "infinity"),
                Case.of(2, "verify", "--until", "12345x"),
                Case.of(2, "verify", "--workers", "0"),
                Case.of(2, "verify", "--max-rows", "-1"),
                Case.of(2, "verify", "--past-t=1h", "--until", T),
                Case.of(2, "verify", "--past-t=banana"),
                Case.of(2, "verify", "--estimate", "--repair"),
                Case.of(2, "verify", "--table", "public.no_such_table"),
                Case.of(2, "verify", "--max-rate", "fast"),
                Case.of(2, "verify", "--max-rate", "20MB/s"),
                Case.of(2, "backfill", "--until", "xyz"),
                Case.of(2, "backfill", "--until", T, "--from", "nope"),
                Case.of(2, "backfill", "--until", "2999-01-01 00:00:00+00"),
                Case.of(2, "backfill", "--until", T, "--from", "2026-11-12"),
                Case.of(2, "backfill", "--workers", "0"),
                Case.of(2, "backfill", "--max-range-rows", "0"),
                Case.of(2, "backfill", "--max-attempts", "0"),
                Case.of(2, "backfill", "--max-source-connections", "0"),
                Case.of(2, "backfill", "--max-source-connections", "1", "--max-load", "active-sessions=5"),
                Case.of(2, "backfill", "--max-rate", "lots"),
                Case.of(2, "proxy", "--auth", "trust", "--shadow-read-share", "1.5"),
                Case.of(2, "proxy", "--auth", "trust", "--shadow-read-share", "most"),
                Case.of(2, "backfill", "--until"),
                Case.of(2, "compare-load", "--max-slowdown", "-1"),
                Case.of(2, "compare-load", "--max-slowdown", "0.5"),
                Case.of(2, "compare-load", "--min-samples", "0"),
                Case.of(2, "completion-point", "--max-lateness", "banana"),
                Case.of(2, "completion-point", "--at", "timestamptz=xyz"),
                Case.of(2, "completion-point", "--clock-skew", "-5m"),
                Case.of(2, "cutover", "--advance-sequences", "-5"),
                Case.of(2, "cutover", "--max-verify-age", "soon"),
                Case.of(2, "migrate", "--workers", "0"),
                Case.of(2, "migrate", "--verify-attempts", "0"),
                Case.of(2, "migrate", "--max-range-rows", "0"),
                Case.of(2, "migrate", "--max-slowdown", "0.5"),
                Case.of(2, "plan", "--min-size", "lots", "-o", dir.resolve("p1.yaml").toString()),
                Case.of(2, "plan", "--include", "public.no_such_*", "-o", dir.resolve("p2.yaml").toString()),
                Case.of(2, "plan", "--check", "--plan", dir.resolve("missing.yaml").toString()),
                Case.of(2, "plan", "--check", dir.resolve("missing.yaml").toString()), // the form before --plan, kept
                Case.of(2, "plan", "--check", badPlan.toString()),
                Case.of(2, "schema", "--plan", badPlan.toString(), "--dry-run"),
                Case.of(2, "replay", "--journal", dir.resolve("no-such-dir").toString()),
                Case.of(2, "status", "--watch", "0")));
        // Connection strings: bad settings are bad input (2); a server that refuses is a connection failure (3).
        List<Case> connections = List.of(
                Case.of(2, "verify", "--source", "postgres://postgres:" + SECRET + "@127.0.0.1:" + port + "/db?sslmode=bogus", "--target", tgt),
                Case.of(2, "verify", "--source", src, "--target", TestDatabases.uri(target, "target_session_attrs=maybe")),
                Case.of(2, "verify", "--source", "host=127.0.0.1 password=" + SECRET + " bogus_setting=1", "--target", tgt),
                Case.of(2, "verify", "--source", "postgres://postgres:" + SECRET + "@127.0.0.1:99999/db", "--target", tgt),
                Case.of(2, "verify", "--source", src, "--target", "mysql://root:" + SECRET + "@127.0.0.1/db"),
                Case.of(2, "verify", "--source", src, "--target", TestDatabases.uri(target, "connect_timeout=soon")),
                Case.of(3, "verify", "--source", closedPort, "--target", tgt),
                Case.of(3, "verify", "--source", src, "--target", wrongPassword.replace("postgres:" + SECRET, "nobody:" + SECRET)),
                Case.of(3, "doctor", "--source", closedPort, "--target", tgt),
                Case.of(4, "compare-load", "--target", TestDatabases.uri(stateless)),
                Case.of(4, "verify", "--source", src, "--target", TestDatabases.uri(stateless)),
                Case.of(4, "cutover", "--source", src, "--target", TestDatabases.uri(stateless)),
                Case.of(2, "status"));

        String before = state();
        List<String> problems = new ArrayList<>();
        int count = 0;
        for (Case c : cases) {
            List<String> args = new ArrayList<>(List.of(c.args()));
            if (!List.of("no-such-command", "status").contains(args.get(0)) && !args.contains("--source")) {
                args.addAll(List.of(both));
            }
            if (args.get(0).equals("status")) {
                args.addAll(List.of("--target", tgt));
            }
            problems.addAll(check(c.exit(), args));
            count++;
        }
        for (Case c : connections) {
            problems.addAll(check(c.exit(), List.of(c.args())));
            count++;
        }
        assertThat(count).as("bad invocations tried").isGreaterThanOrEqualTo(40);
        assertThat(problems).as("invocations that broke a promise").isEmpty();
        assertThat(state()).as("the migration's state after " + count + " bad invocations").isEqualTo(before);
        assertThat(TestDatabases.queryLong(stateless, "SELECT count(*) FROM pg_namespace WHERE nspname = 'tsmigrate'"))
                .as("no state created on a target by a refused command").isZero();
    }

    /** What the invocation got wrong, if anything. */
    private static List<String> check(int exit, List<String> args) {
        Cli.Result r = Cli.run(Map.of(), args.toArray(String[]::new));
        List<String> problems = new ArrayList<>();
        String what = String.join(" ", args) + " -> " + r;
        // doctor's report is its output: its verdict is the last line of stdout.
        String err = args.get(0).equals("doctor") ? r.out().strip().replaceAll("(?s).*\n", "").replaceFirst("^verdict:", "tsmigrate:")
                : r.err().strip();
        if (r.exitCode() != exit) {
            problems.add("expected exit " + exit + ": " + what);
        }
        if (!err.startsWith("tsmigrate: ") || err.contains("\n")) {
            problems.add("not one sentence on stderr: " + what);
        }
        if (err.contains("Exception") || err.contains("\tat ") || err.contains("internal error")) {
            problems.add("a stack trace or internal error: " + what);
        }
        if (r.err().contains(SECRET) || r.out().contains(SECRET)) {
            problems.add("the password is shown: " + what);
        }
        return problems;
    }
}
