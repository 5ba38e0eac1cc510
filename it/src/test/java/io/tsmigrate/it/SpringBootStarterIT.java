package io.tsmigrate.it;

import com.zaxxer.hikari.HikariDataSource;
import io.micrometer.core.instrument.MeterRegistry;
import io.tsmigrate.core.connect.ConnectionSpec;
import io.tsmigrate.dualwrite.DualWriteDataSource;
import io.tsmigrate.dualwrite.spring.DualWriteConfigurationException;
import io.tsmigrate.it.kit.PgServersExtension;
import io.tsmigrate.it.kit.SpringApps;
import io.tsmigrate.it.kit.TestDatabases;
import io.tsmigrate.servers.Await;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.SpringBootConfiguration;
import org.springframework.boot.actuate.health.HealthIndicator;
import org.springframework.boot.actuate.health.Status;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.datasource.DataSourceTransactionManager;
import org.springframework.transaction.support.TransactionTemplate;

import javax.sql.DataSource;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

import static io.tsmigrate.it.kit.TestDatabases.queryLong;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The Spring Boot starter in a real application context (Spring Boot 3.5, its DataSource and
 * Actuator auto-configuration, a Hikari pool) against the suite's servers: off by default and then
 * absent; on, the application's DataSource writes to both sides, its meters count the writes, its
 * health goes DOWN while the target refuses connections and UP once the journal is replayed; bad
 * settings stop the start with one sentence naming the property.
 */
@ExtendWith(PgServersExtension.class)
class SpringBootStarterIT {

    /** The application: nothing but auto-configuration, as a service's main class has. */
    @SpringBootConfiguration
    @EnableAutoConfiguration
    static class Application {
    }

    private static ConfigurableApplicationContext start(Map<String, Object> properties) {
        return SpringApps.start(Application.class, properties);
    }

    private static Map<String, Object> application(ConnectionSpec source) {
        Map<String, Object> p = new HashMap<>();
        p.put("spring.application.name", "starter-it");
        p.put("spring.datasource.url", SpringApps.jdbcUrl(source));
        p.put("spring.datasource.username", source.user());
        p.put("spring.datasource.password", source.password().orElseThrow());
        p.put("spring.datasource.hikari.connection-timeout", "2000");
        p.put("spring.datasource.hikari.maximum-pool-size", "3");
        return p;
    }

    private static Map<String, Object> dualWriting(ConnectionSpec source, ConnectionSpec target, Path journal) {
        Map<String, Object> p = application(source);
        p.put("tsmigrate.dualwrite.enabled", "true");
        p.put("tsmigrate.dualwrite.target.url", SpringApps.jdbcUrl(target));
        p.put("tsmigrate.dualwrite.target.username", target.user());
        p.put("tsmigrate.dualwrite.target.password", target.password().orElseThrow());
        p.put("tsmigrate.dualwrite.journal-directory", journal.toString());
        p.put("tsmigrate.dualwrite.health-check-interval", "200ms");
        return p;
    }

    private static void readings(ConnectionSpec... sides) {
        for (ConnectionSpec side : sides) {
            TestDatabases.execute(side, "CREATE TABLE readings (id bigint PRIMARY KEY, device text NOT NULL, v float8)");
        }
    }

    @Test
    void offByDefaultTheApplicationsDataSourceIsLeftAlone(TestDatabases db) {
        ConnectionSpec source = db.newSourceDatabase("starter_off");
        ConnectionSpec target = db.newTargetDatabase("starter_off", false);
        readings(source, target);
        try (ConfigurableApplicationContext app = start(application(source))) {
            assertThat(app.getBean(DataSource.class)).isInstanceOf(HikariDataSource.class);
            assertThat(app.getBeansOfType(HealthIndicator.class)).doesNotContainKey("tsmigrateDualWrite");
            new JdbcTemplate(app.getBean(DataSource.class)).update("INSERT INTO readings VALUES (1, 'a', 1.0)");
        }
        assertThat(queryLong(source, "SELECT count(*) FROM readings")).isEqualTo(1);
        assertThat(queryLong(target, "SELECT count(*) FROM readings")).isZero();
    }

    @Test
    void onItWritesToBothSidesCountsAndReportsHealthThroughAnOutage(TestDatabases db, @TempDir Path dir) {
        ConnectionSpec source = db.newSourceDatabase("starter_on");
        ConnectionSpec target = db.newTargetDatabase("starter_on", false);
        readings(source, target);
        try (ConfigurableApplicationContext app = start(dualWriting(source, target, dir.resolve("journal")))) {
            DataSource ds = app.getBean(DataSource.class);
            assertThat(ds).isInstanceOf(DualWriteDataSource.class);
            JdbcTemplate jdbc = new JdbcTemplate(ds);
            for (int i = 1; i <= 8; i++) {
                jdbc.update("INSERT INTO readings VALUES (?, ?, ?)", i, "device-" + i, i / 2.0);
            }
            // Two more in one transaction, as @Transactional code writes: one commit on each side.
            new TransactionTemplate(new DataSourceTransactionManager(ds)).executeWithoutResult(tx -> {
                jdbc.update("INSERT INTO readings VALUES (9, 'in a transaction', 4.5)");
                jdbc.update("INSERT INTO readings VALUES (10, 'in a transaction', 5.0)");
            });
            for (ConnectionSpec side : new ConnectionSpec[] {source, target}) {
                assertThat(queryLong(side, "SELECT count(*) FROM readings")).as(side.label()).isEqualTo(10);
            }
            MeterRegistry registry = app.getBean(MeterRegistry.class);
            assertThat(registry.get("tsmigrate.dualwrite.statements.mirrored").functionCounter().count()).isEqualTo(10);
            assertThat(registry.get("tsmigrate.dualwrite.secondary.commit").functionTimer().count()).isEqualTo(1);
            assertThat(registry.get("tsmigrate.dualwrite.transactions.journaled").functionCounter().count()).isZero();
            HealthIndicator health = app.getBean("tsmigrateDualWrite", HealthIndicator.class);
            assertThat(health.health().getStatus()).isEqualTo(Status.UP);
            assertThat(health.health().getDetails()).containsEntry("primary", "source").containsEntry("journalPending", 0L);

            // The target stops taking connections: the write still succeeds (on the source), and is journaled.
            TestDatabases.execute(db.servers().targetAdmin(), "ALTER DATABASE " + target.database() + " ALLOW_CONNECTIONS false");
            TestDatabases.execute(db.servers().targetAdmin(), "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '"
                    + target.database() + "'");
            jdbc.update("INSERT INTO readings VALUES (11, 'during the outage', 5.5)");
            assertThat(health.health().getStatus()).isEqualTo(Status.DOWN);
            assertThat((Long) health.health().getDetails().get("journalPending")).isPositive();
            assertThat(registry.get("tsmigrate.dualwrite.transactions.journaled").functionCounter().count()).isEqualTo(1);
            assertThat(registry.get("tsmigrate.dualwrite.secondary.diverted").gauge().value()).isEqualTo(1);

            TestDatabases.execute(db.servers().targetAdmin(), "ALTER DATABASE " + target.database() + " ALLOW_CONNECTIONS true");
            Await.until("the journal replayed and the health UP again", () -> health.health().getStatus().equals(Status.UP));
            assertThat(registry.get("tsmigrate.dualwrite.journal.entries.replayed").functionCounter().count()).isEqualTo(1);
        }
        assertThat(queryLong(target, "SELECT count(*) FROM readings")).isEqualTo(11);
        assertThat(Fixtures.checksum(target, "readings", "true")).isEqualTo(Fixtures.checksum(source, "readings", "true"));
    }

    @Test
    void badSettingsStopTheStartNamingTheProperty(TestDatabases db, @TempDir Path dir) throws Exception {
        ConnectionSpec source = db.newSourceDatabase("starter_bad");
        ConnectionSpec target = db.newTargetDatabase("starter_bad", false);
        Map<String, Object> noUrl = dualWriting(source, target, dir.resolve("journal"));
        noUrl.remove("tsmigrate.dualwrite.target.url");
        assertThatThrownBy(() -> start(noUrl)).rootCause().isInstanceOf(DualWriteConfigurationException.class)
                .hasMessage("tsmigrate.dualwrite.target.url: is not set, but tsmigrate.dualwrite.enabled is true");

        Path file = Files.writeString(dir.resolve("a-file"), "not a directory");
        Map<String, Object> unwritable = dualWriting(source, target, file.resolve("journal"));
        assertThatThrownBy(() -> start(unwritable)).rootCause().isInstanceOf(DualWriteConfigurationException.class)
                .hasMessageStartingWith("tsmigrate.dualwrite.journal-directory: cannot write to " + file.resolve("journal"));
    }
}
