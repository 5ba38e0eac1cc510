package io.tsmigrate.it;

import io.tsmigrate.core.connect.ConnectionSpec;
import io.tsmigrate.core.pgtools.PgInstallations;
import io.tsmigrate.it.kit.PgServersExtension;
import io.tsmigrate.it.kit.TestDatabases;
import io.tsmigrate.it.kit.TestServers;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.Map;

import static io.tsmigrate.it.kit.TestDatabases.queryLong;
import static io.tsmigrate.it.kit.TestDatabases.queryString;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** The embedded servers are real, separate, and as the migration needs them. */
@ExtendWith(PgServersExtension.class)
class ServersIT {

    @Test
    void targetHasTimescaledbPreloadedAndSourceDoesNot(TestDatabases db) {
        assertThat(queryString(db.target(), "SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'"))
                .matches("2\\.\\d+\\.\\d+.*");
        assertThat(queryString(db.target(), "SHOW shared_preload_libraries")).contains("timescaledb");
        assertThat(queryLong(db.source(), "SELECT count(*) FROM pg_available_extensions WHERE name = 'timescaledb'"))
                .isZero();
    }

    @Test
    void sourceRunsAnOlderMajorWhereOneIsInstalled(TestDatabases db) {
        long sourceMajor = queryLong(db.source(), "SELECT current_setting('server_version_num')::int / 10000");
        long targetMajor = queryLong(db.target(), "SELECT current_setting('server_version_num')::int / 10000");
        assumeTrue(PgInstallations.find().stream().map(PgInstallations.Installation::major).distinct().count() > 1,
                "only one PostgreSQL major is installed");
        assertThat(sourceMajor).isLessThan(targetMajor);
    }

    /** The suite's logins verify the servers' certificates and names, as managed services ask: every test runs over TLS. */
    @Test
    void everyConnectionOfTheSuiteUsesVerifiedTls(TestDatabases db) {
        org.junit.jupiter.api.Assumptions.assumeTrue(db.servers().pair().isPresent(), "external servers keep their own settings");
        for (io.tsmigrate.core.connect.ConnectionSpec side : java.util.List.of(db.source(), db.target())) {
            assertThat(side.setting("sslmode")).as(side.label()).contains("verify-full");
            assertThat(TestDatabases.uri(side)).contains("sslmode=verify-full&sslrootcert=");
            assertThat(queryString(side, "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")).as(side.label()).isEqualTo("t");
        }
    }

    @Test
    void eachTestClassGetsItsOwnDatabases(TestDatabases db) {
        assertThat(db.source().database()).startsWith("t_serversit_");
        assertThat(queryLong(db.source(), "SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace"))
                .isZero();
    }

    @Test
    void connectsThroughTheServersUnixSocket(TestServers servers, TestDatabases db) {
        assumeTrue(servers.pair().isPresent(), "the suite runs against existing servers");
        var source = servers.pair().get().source();
        ConnectionSpec socket = ConnectionSpec.parse("postgres://postgres@/" + db.source().database()
                + "?host=" + source.socketDirectory() + "&port=" + source.port(), "source", Map.of());
        assertThat(queryString(socket, "SELECT coalesce(inet_server_addr()::text, 'unix socket')")).isEqualTo("unix socket");
        assertThat(queryLong(socket, "SELECT count(*) FROM generate_series(1, 100000)")).isEqualTo(100000);
    }
}
