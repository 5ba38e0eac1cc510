package io.tsmigrate.dualwrite;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class StatementsTest {

    @Test
    void splitsAtSemicolonsOutsideQuotesCommentsAndParentheses() {
        assertThat(Statements.split("BEGIN; INSERT INTO t VALUES (1, 'a;b'); COMMIT;"))
                .containsExactly("BEGIN", "INSERT INTO t VALUES (1, 'a;b')", "COMMIT");
        assertThat(Statements.split("SELECT 'it''s;' AS \"x;\"\"y\"; -- a comment; still\nUPDATE t SET a = E'\\';' /* c; */"))
                .containsExactly("SELECT 'it''s;' AS \"x;\"\"y\"", "-- a comment; still\nUPDATE t SET a = E'\\';' /* c; */");
        assertThat(Statements.split("DO $body$ BEGIN PERFORM 1; END $body$; SELECT $1;"))
                .containsExactly("DO $body$ BEGIN PERFORM 1; END $body$", "SELECT $1");
        assertThat(Statements.split("CREATE RULE r AS ON INSERT TO t DO ALSO (INSERT INTO u VALUES (1); INSERT INTO u VALUES (2)); SELECT 1"))
                .hasSize(2);
    }

    @Test
    void aSqlStandardFunctionBodyIsOneStatement() {
        String body = "CREATE FUNCTION f(a int) RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT CASE WHEN a > 0 THEN 1 END; SELECT 2; END";
        assertThat(Statements.split(body + "; INSERT INTO t VALUES (1)")).containsExactly(body, "INSERT INTO t VALUES (1)");
        // Columns named begin, case and end are no body: the COMMIT after them is a statement of its own.
        assertThat(Statements.split("CREATE TABLE t (begin int, \"case\" int, \"end\" int); COMMIT"))
                .containsExactly("CREATE TABLE t (begin int, \"case\" int, \"end\" int)", "COMMIT");
        assertThat(Statements.split("CREATE VIEW v AS SELECT CASE WHEN true THEN 1 END AS x; COMMIT")).hasSize(2);
    }

    @Test
    void leavesOutPiecesWithNothingButCommentsAndWhiteSpace() {
        assertThat(Statements.split(" ; -- nothing\n ;/* none */")).isEmpty();
        assertThat(Statements.split("SELECT 1")).containsExactly("SELECT 1");
        assertThat(Statements.split("")).isEmpty();
    }

    @Test
    void aStringOfSeveralStatementsWritesWhenAnyOfThemWrites() {
        assertThat(SqlKind.of("SELECT 1; INSERT INTO t VALUES (1)")).isEqualTo(SqlKind.WRITE);
        assertThat(SqlKind.of("BEGIN; UPDATE t SET a = 1; COMMIT")).isEqualTo(SqlKind.WRITE);
        assertThat(SqlKind.of("SELECT 1; SELECT ';INSERT'")).isEqualTo(SqlKind.READ);
    }
}
