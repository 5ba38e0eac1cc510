package io.tsmigrate.dualwrite.spring;

import io.tsmigrate.dualwrite.FailurePolicy;
import org.springframework.boot.context.properties.ConfigurationProperties;

import java.nio.file.Path;
import java.time.Duration;

/**
 * {@code tsmigrate.dualwrite.*}: whether the application's DataSource also writes to the target,
 * and how. Off unless {@code enabled} is true; then {@code target.url} is required.
 */
@ConfigurationProperties(prefix = "tsmigrate.dualwrite")
public class DualWriteProperties {

    /** Write to the target too (runbook step 2). Off by default: nothing changes. */
    private boolean enabled;

    /** The target, as a JDBC URL with its login; its pool copies the primary Hikari pool's settings. */
    private final Target target = new Target();

    /** Where transactions the target could not take are journaled (durably) until it is back. */
    private Path journalDirectory = Path.of("tsmigrate-journal");

    /** The application's name in tsmigrate status; default spring.application.name. */
    private String application;

    /** This process's writer name in the migration's state; default a new one per start. */
    private String writerName;

    /** Share of reads also run on the secondary and compared (0 to 1). */
    private double shadowReadShare;

    /** How often the secondary's health, the journal's replay and the cutover are checked. */
    private Duration healthCheckInterval = Duration.ofSeconds(5);

    /** What a write the secondary refuses becomes: journal (the default), fail, or log. */
    private FailurePolicy failurePolicy = FailurePolicy.JOURNAL;

    /** Survive a crash between the two commits (an intent journaled before each primary commit). */
    private boolean lossless;

    /** The DataSource bean to wrap. */
    private String dataSourceBean = "dataSource";

    /** The target's connection. */
    public static class Target {
        private String url;
        private String username;
        private String password;

        public String getUrl() {
            return url;
        }

        public void setUrl(String url) {
            this.url = url;
        }

        public String getUsername() {
            return username;
        }

        public void setUsername(String username) {
            this.username = username;
        }

        public String getPassword() {
            return password;
        }

        public void setPassword(String password) {
            this.password = password;
        }
    }

    public boolean isEnabled() {
        return enabled;
    }

    public void setEnabled(boolean enabled) {
        this.enabled = enabled;
    }

    public Target getTarget() {
        return target;
    }

    public Path getJournalDirectory() {
        return journalDirectory;
    }

    public void setJournalDirectory(Path journalDirectory) {
        this.journalDirectory = journalDirectory;
    }

    public String getApplication() {
        return application;
    }

    public void setApplication(String application) {
        this.application = application;
    }

    public String getWriterName() {
        return writerName;
    }

    public void setWriterName(String writerName) {
        this.writerName = writerName;
    }

    public double getShadowReadShare() {
        return shadowReadShare;
    }

    public void setShadowReadShare(double shadowReadShare) {
        this.shadowReadShare = shadowReadShare;
    }

    public Duration getHealthCheckInterval() {
        return healthCheckInterval;
    }

    public void setHealthCheckInterval(Duration healthCheckInterval) {
        this.healthCheckInterval = healthCheckInterval;
    }

    public FailurePolicy getFailurePolicy() {
        return failurePolicy;
    }

    public void setFailurePolicy(FailurePolicy failurePolicy) {
        this.failurePolicy = failurePolicy;
    }

    public boolean isLossless() {
        return lossless;
    }

    public void setLossless(boolean lossless) {
        this.lossless = lossless;
    }

    public String getDataSourceBean() {
        return dataSourceBean;
    }

    public void setDataSourceBean(String dataSourceBean) {
        this.dataSourceBean = dataSourceBean;
    }
}
