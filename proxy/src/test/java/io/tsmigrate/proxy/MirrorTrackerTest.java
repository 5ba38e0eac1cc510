package io.tsmigrate.proxy;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The tracker's verdicts on sequences of messages as PostgreSQL answers them. */
class MirrorTrackerTest {

    private final MirrorTracker t = new MirrorTracker();

    private static List<String> sql(List<MirrorTracker.PendingWrite> writes) {
        return writes.stream().map(w -> w.sql).toList();
    }

    @Test
    void anAutocommitWriteIsRepeatedAtItsReadyForQueryAndAReadIsNot() {
        t.query("SELECT 1");
        t.commandComplete("SELECT");
        assertThat(t.ready('I')).isEmpty();
        t.query("INSERT INTO t VALUES (1)");
        t.commandComplete("INSERT");
        assertThat(sql(t.ready('I'))).containsExactly("INSERT INTO t VALUES (1)");
    }

    @Test
    void aStringOfSeveralStatementsIsFollowedStatementByStatement() {
        // A write after a read, and a transaction in one string: each statement is classified on its own.
        t.query("SELECT 1; INSERT INTO t VALUES (1)");
        t.commandComplete("SELECT 1");
        t.commandComplete("INSERT 0 1");
        assertThat(sql(t.ready('I'))).containsExactly("INSERT INTO t VALUES (1)");
        t.query("BEGIN; INSERT INTO t VALUES (';'); SET datestyle = 'ISO, DMY'; COMMIT");
        t.commandComplete("BEGIN");
        t.commandComplete("INSERT 0 1");
        t.commandComplete("SET");
        t.commandComplete("COMMIT");
        assertThat(sql(t.ready('I'))).containsExactly("INSERT INTO t VALUES (';')", "SET datestyle = 'ISO, DMY'");
        assertThat(t.settings()).containsExactly("SET datestyle = 'ISO, DMY'");
        // An error rolls back the implicit transaction and skips the rest of the string.
        t.query("INSERT INTO t VALUES (2); INSERT INTO t VALUES (1); INSERT INTO t VALUES (3)");
        t.commandComplete("INSERT 0 1");
        t.error();
        assertThat(t.ready('I')).isEmpty();
        // What committed before an error in the same string stays committed.
        t.query("BEGIN; INSERT INTO t VALUES (4); COMMIT; INSERT INTO t VALUES (1)");
        t.commandComplete("BEGIN");
        t.commandComplete("INSERT 0 1");
        t.commandComplete("COMMIT");
        t.error();
        assertThat(sql(t.ready('I'))).containsExactly("INSERT INTO t VALUES (4)");
        assertThat(t.quiet()).isTrue();
    }

    @Test
    void anExplicitTransactionIsRepeatedAtItsCommitAndForgottenAtItsRollback() {
        t.query("BEGIN");
        t.commandComplete("BEGIN");
        assertThat(t.ready('T')).isEmpty();
        t.query("INSERT INTO t VALUES (1)");
        t.commandComplete("INSERT");
        assertThat(t.ready('T')).isEmpty();
        t.query("ROLLBACK");
        t.commandComplete("ROLLBACK");
        assertThat(t.ready('I')).isEmpty();

        t.query("BEGIN");
        t.commandComplete("BEGIN");
        t.ready('T');
        t.query("UPDATE t SET a = 2");
        t.commandComplete("UPDATE");
        t.ready('T');
        t.query("COMMIT");
        t.commandComplete("COMMIT");
        assertThat(sql(t.ready('I'))).containsExactly("UPDATE t SET a = 2");
    }

    @Test
    void aCommitOfAFailedTransactionRollsBack() {
        t.query("BEGIN");
        t.commandComplete("BEGIN");
        t.ready('T');
        t.query("INSERT INTO t VALUES (1)");
        t.commandComplete("INSERT");
        t.ready('T');
        t.query("INSERT INTO t VALUES (1)");
        t.error();
        t.ready('E');
        t.query("COMMIT");
        t.commandComplete("ROLLBACK");
        assertThat(t.ready('I')).isEmpty();
    }

    @Test
    void aSavepointUndoesTheFailedStatementOnlyInTheExtendedProtocol() {
        t.parse("", "BEGIN", new int[0]);
        t.bind("", "", new int[0], new byte[0][]);
        t.execute("");
        t.sync();
        t.commandComplete("BEGIN");
        t.ready('T');
        for (String s : List.of("INSERT INTO t VALUES ($1)", "SAVEPOINT s", "INSERT INTO t VALUES ($1)")) {
            t.parse("", s, new int[] {23});
            t.bind("", "", new int[0], new byte[][] {"1".getBytes()});
            t.execute("");
        }
        t.sync();
        t.commandComplete("INSERT 0 1");
        t.commandComplete("SAVEPOINT");
        t.error(); // the second INSERT: duplicate key; the server skips to Sync
        assertThat(t.ready('E')).isEmpty();
        t.parse("", "ROLLBACK TO SAVEPOINT s", new int[0]);
        t.bind("", "", new int[0], new byte[0][]);
        t.execute("");
        t.parse("", "COMMIT", new int[0]);
        t.bind("", "", new int[0], new byte[0][]);
        t.execute("");
        t.sync();
        t.commandComplete("ROLLBACK");
        t.commandComplete("COMMIT");
        assertThat(sql(t.ready('I'))).containsExactly("INSERT INTO t VALUES ($1)", "SAVEPOINT s", "ROLLBACK TO SAVEPOINT s");
    }

    @Test
    void anErrorInAnImplicitTransactionOfSeveralExecutesRepeatsNoneOfThem() {
        for (int i = 0; i < 3; i++) {
            t.parse("", "INSERT INTO t VALUES (" + i + ")", new int[0]);
            t.bind("", "", new int[0], new byte[0][]);
            t.execute("");
        }
        t.sync();
        t.commandComplete("INSERT 0 1");
        t.error();
        assertThat(t.ready('I')).isEmpty();
    }

    @Test
    void pipelinedSyncsEachEndTheirOwnImplicitTransaction() {
        t.parse("ins", "INSERT INTO t VALUES ($1)", new int[0]);
        for (String v : List.of("1", "2")) {
            t.bind("", "ins", new int[0], new byte[][] {v.getBytes()});
            t.execute("");
            t.sync();
        }
        t.commandComplete("INSERT 0 1");
        assertThat(t.ready('I')).hasSize(1).allSatisfy(w -> assertThat(new String(w.values[0].bytes())).isEqualTo("1"));
        t.error();
        assertThat(t.ready('I')).isEmpty();
    }

    @Test
    void aCopyFromStdinCarriesItsData() {
        t.query("COPY t FROM STDIN");
        t.copyData("1\n".getBytes());
        t.copyData("2\n".getBytes());
        t.commandComplete("COPY 2");
        List<MirrorTracker.PendingWrite> writes = t.ready('I');
        assertThat(writes).hasSize(1);
        assertThat(writes.get(0).copyData.toString()).isEqualTo("1\n2\n");
    }

    @Test
    void transactionControlIsNotMirroredButSavepointsAndSettingsAre() {
        assertThat(MirrorTracker.mirrored("begin isolation level serializable")).isFalse();
        assertThat(MirrorTracker.mirrored("COMMIT")).isFalse();
        assertThat(MirrorTracker.mirrored("rollback")).isFalse();
        assertThat(MirrorTracker.mirrored("ROLLBACK TO SAVEPOINT s")).isTrue();
        assertThat(MirrorTracker.mirrored("SET TimeZone = 'UTC'")).isTrue();
        assertThat(MirrorTracker.mirrored("SET application_name = 'PostgreSQL JDBC Driver'")).isFalse();
        assertThat(MirrorTracker.mirrored("SELECT * FROM t")).isFalse();
        assertThat(MirrorTracker.mirrored("PREPARE TRANSACTION 'x'")).isFalse();
    }
    @Test
    void discardResetAndDeallocateDropWhatAMoveWouldBringBackAndTheSecondaryResetsToo() {
        t.query("SET TimeZone = 'Asia/Kolkata'");
        t.commandComplete("SET");
        t.ready('I');
        t.query("SET search_path TO app, public");
        t.commandComplete("SET");
        t.ready('I');
        t.parse("S_1", "INSERT INTO t VALUES ($1)", new int[] {23});
        t.parse("S_2", "SELECT $1", new int[] {23});
        assertThat(t.namedStatements()).hasSize(2);

        t.query("RESET search_path");
        t.commandComplete("RESET");
        assertThat(sql(t.ready('I'))).containsExactly("RESET search_path");
        assertThat(t.settings()).containsExactly("SET TimeZone = 'Asia/Kolkata'");

        t.query("DEALLOCATE \"S_2\"");
        t.commandComplete("DEALLOCATE");
        t.ready('I');
        assertThat(t.namedStatements()).extracting(st -> st[0]).containsExactly("S_1");

        // A pool's DISCARD ALL on checkout: nothing of the session is prepared again after a move, and the
        // secondary's session drops its settings as well (a RESET of each: its statements run in a transaction,
        // and RESET ALL would also drop what the driver set on the proxy's own connection).
        t.query("SET application_name = 'app'");
        t.commandComplete("SET");
        t.ready('I');
        t.query("DISCARD ALL");
        t.commandComplete("DISCARD");
        assertThat(sql(t.ready('I'))).containsExactly("RESET TimeZone");
        t.query("RESET ALL");
        t.commandComplete("RESET");
        assertThat(t.ready('I')).as("nothing left to reset: nothing mirrored").isEmpty();
        assertThat(t.settings()).isEmpty();
        assertThat(t.namedStatements()).isEmpty();
        assertThat(io.tsmigrate.dualwrite.SessionSettings.settingName("SET SESSION \"TimeZone\" TO 'UTC'")).isEqualTo("TimeZone");
    }

    @Test
    void onlyOneQueryThatChangesNothingIsShadowed() {
        assertThat(MirrorTracker.shadowable("SELECT abalance FROM pgbench_accounts WHERE aid = $1;")).isTrue();
        assertThat(MirrorTracker.shadowable("  with t AS (SELECT 1) SELECT * FROM t")).isTrue();
        assertThat(MirrorTracker.shadowable("VALUES (1), (2)")).isTrue();
        assertThat(MirrorTracker.shadowable("WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d")).as("a write").isFalse();
        assertThat(MirrorTracker.shadowable("SELECT * INTO copy FROM t")).as("creates a table").isFalse();
        assertThat(MirrorTracker.shadowable("SELECT 1; SELECT 2")).as("two results").isFalse();
        assertThat(MirrorTracker.shadowable("SHOW TimeZone")).isFalse();
        assertThat(MirrorTracker.shadowable("FETCH 10 FROM c")).isFalse();
    }
}
