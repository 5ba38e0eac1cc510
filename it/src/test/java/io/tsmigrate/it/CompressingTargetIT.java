package io.tsmigrate.it;

import io.tsmigrate.core.connect.ConnectionSpec;
import io.tsmigrate.core.connect.PgConnector;
import io.tsmigrate.it.kit.CompressingTarget;
import io.tsmigrate.it.kit.NeedsCompression;
import io.tsmigrate.it.kit.TestDatabases;
import io.tsmigrate.servers.Await;
import org.junit.jupiter.api.Test;
import org.postgresql.PGConnection;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.Statement;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static io.tsmigrate.it.kit.TestDatabases.queryLong;
import static io.tsmigrate.it.kit.TestDatabases.queryString;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The compressing test target itself: that it is the TimescaleDB that compresses, and that its
 * front keeps the promises the compression tests rely on (transactions one at a time, bookkeeping
 * on a second connection inside an open one, COPY from pgjdbc, clean-up after a dropped client).
 */
@NeedsCompression
class CompressingTargetIT {

    @Test
    void isATimescaledbThatCompresses(CompressingTarget target) {
        ConnectionSpec t = target.connection();
        assertThat(queryString(t, "SHOW timescaledb.license")).isEqualTo("timescale");
        TestDatabases.execute(t, "CREATE TABLE m (time timestamptz NOT NULL, v int)",
                "SELECT create_hypertable('m', by_range('time', interval '1 day'))",
                "ALTER TABLE m SET (timescaledb.compress)",
                "INSERT INTO m SELECT now() - g * interval '1 hour', g FROM generate_series(1, 100) g",
                "SELECT count(compress_chunk(c)) FROM show_chunks('m') c");
        assertThat(queryLong(t, "SELECT count(*) FROM timescaledb_information.chunks WHERE hypertable_name = 'm' AND NOT is_compressed"))
                .isZero();
        assertThat(queryLong(t, "SELECT sum(v) FROM m")).isEqualTo(5050);
    }

    @Test
    void runsTransactionsOneAtATimeAndAutoCommitBookkeepingInsideTheOpenOne(CompressingTarget target) throws Exception {
        ConnectionSpec t = target.connection();
        TestDatabases.execute(t, "CREATE TABLE work (id int PRIMARY KEY)", "CREATE TABLE log (id int)");
        try (Connection a = PgConnector.open(t); Connection b = PgConnector.open(t); Connection side = PgConnector.open(t)) {
            a.setAutoCommit(false);
            b.setAutoCommit(false);
            try (Statement st = a.createStatement()) {
                st.execute("INSERT INTO work VALUES (1)");
            }
            // An auto-commit statement of another connection runs now, inside a's transaction.
            try (Statement st = side.createStatement()) {
                st.execute("INSERT INTO log VALUES (1)");
            }
            // A transaction of another connection waits until a's ends.
            long waitsBefore = target.waits();
            CompletableFuture<Long> other = CompletableFuture.supplyAsync(() -> {
                try (Statement st = b.createStatement(); var rs = st.executeQuery("SELECT count(*) FROM work")) {
                    rs.next();
                    long seen = rs.getLong(1);
                    b.commit();
                    return seen;
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            Await.until("the other connection waiting for a's transaction", () -> target.waits() > waitsBefore);
            assertThat(other).isNotDone();
            try (Statement st = a.createStatement()) {
                st.execute("INSERT INTO work VALUES (2)");
            }
            a.commit();
            assertThat(other.get(30, TimeUnit.SECONDS)).isEqualTo(2);
        }
        assertThat(queryLong(t, "SELECT count(*) FROM log")).isEqualTo(1);
    }

    @Test
    void copiesFromPgjdbcAndRollsBackWhatADroppedClientLeftOpen(CompressingTarget target) throws Exception {
        ConnectionSpec t = target.connection();
        TestDatabases.execute(t, "CREATE TABLE c (id int, note text)");
        try (Connection conn = PgConnector.open(t)) {
            long copied = conn.unwrap(PGConnection.class).getCopyAPI().copyIn("COPY c FROM STDIN (FORMAT csv)",
                    new ByteArrayInputStream("1,one\n2,\"two, quoted\"\n3,\n".getBytes(StandardCharsets.UTF_8)));
            assertThat(copied).isEqualTo(3);
            conn.setAutoCommit(false);
            try (PreparedStatement ps = conn.prepareStatement("INSERT INTO c VALUES (?, ?)")) {
                for (int i = 10; i < 20; i++) {
                    ps.setInt(1, i);
                    ps.setString(2, "left open");
                    ps.addBatch();
                }
                ps.executeBatch();
            }
            // Closed without a commit: the front rolls back and frees the backend.
        }
        assertThat(queryString(t, "SELECT string_agg(id || ':' || coalesce(note, '-'), ',' ORDER BY id) FROM c"))
                .isEqualTo("1:one,2:two, quoted,3:-");
    }
}
