package io.tsmigrate.dualwrite.spring;

import com.zaxxer.hikari.HikariDataSource;
import io.tsmigrate.dualwrite.DualWriteDataSource;
import org.springframework.beans.factory.config.DestructionAwareBeanPostProcessor;
import org.springframework.core.Ordered;
import org.springframework.core.PriorityOrdered;

import javax.sql.DataSource;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Wraps the application's DataSource bean (by default {@code dataSource}) in a
 * {@link DualWriteDataSource} once it is initialised: the application's own pool stays the primary,
 * and a Hikari pool configured like it (when it is one) reaches the target. Closes both pools with
 * the application context.
 */
class DualWriteDataSources implements DestructionAwareBeanPostProcessor, PriorityOrdered {

    private final DualWriteProperties properties;
    private final String applicationName;
    private volatile DualWriteDataSource wrapped;
    private volatile HikariDataSource secondary;
    private volatile DataSource primary;

    DualWriteDataSources(DualWriteProperties properties, String applicationName) {
        this.properties = properties;
        this.applicationName = applicationName;
    }

    /** The wrapped DataSource, once the application's was created. */
    DualWriteDataSource dataSource() {
        return wrapped;
    }

    @Override
    public Object postProcessAfterInitialization(Object bean, String beanName) {
        if (!beanName.equals(properties.getDataSourceBean()) || !(bean instanceof DataSource ds) || bean instanceof DualWriteDataSource) {
            return bean;
        }
        String url = properties.getTarget().getUrl();
        if (url == null || url.isBlank()) {
            throw new DualWriteConfigurationException("tsmigrate.dualwrite.target.url", "is not set, but tsmigrate.dualwrite.enabled "
                    + "is true", "Give the target's JDBC URL (jdbc:postgresql://host:port/db), or set tsmigrate.dualwrite.enabled=false.");
        }
        Path journal = properties.getJournalDirectory().toAbsolutePath();
        try {
            Files.createDirectories(journal);
        } catch (IOException e) {
            throw notWritable(journal, e.getMessage());
        }
        if (!Files.isWritable(journal)) {
            throw notWritable(journal, "permission denied");
        }
        HikariDataSource pool = new HikariDataSource();
        if (ds instanceof HikariDataSource like) {
            // Settings the application left unset read as -1 until its pool starts: those stay Hikari's defaults.
            if (like.getMaximumPoolSize() > 0) {
                pool.setMaximumPoolSize(like.getMaximumPoolSize());
            }
            if (like.getMinimumIdle() >= 0) {
                pool.setMinimumIdle(like.getMinimumIdle());
            }
            if (like.getConnectionTimeout() > 0) {
                pool.setConnectionTimeout(like.getConnectionTimeout());
            }
            if (like.getIdleTimeout() >= 0) {
                pool.setIdleTimeout(like.getIdleTimeout());
            }
            if (like.getMaxLifetime() > 0) {
                pool.setMaxLifetime(like.getMaxLifetime());
            }
            pool.setPoolName((like.getPoolName() == null ? "app" : like.getPoolName()) + "-tsmigrate-target");
        } else {
            pool.setPoolName("tsmigrate-target");
        }
        pool.setJdbcUrl(url);
        pool.setUsername(properties.getTarget().getUsername());
        pool.setPassword(properties.getTarget().getPassword());
        String application = properties.getApplication() != null ? properties.getApplication() : applicationName;
        DualWriteDataSource.Builder builder = DualWriteDataSource.builder().primary(ds).secondary(pool).journalDirectory(journal)
                .application(application).failurePolicy(properties.getFailurePolicy())
                .healthCheckInterval(properties.getHealthCheckInterval()).shadowReadShare(properties.getShadowReadShare())
                .lossless(properties.isLossless());
        if (properties.getWriterName() != null) {
            builder.writerName(properties.getWriterName());
        }
        this.primary = ds;
        this.secondary = pool;
        this.wrapped = builder.build();
        return wrapped;
    }

    private static DualWriteConfigurationException notWritable(Path journal, String why) {
        return new DualWriteConfigurationException("tsmigrate.dualwrite.journal-directory", "cannot write to " + journal + " ("
                + why + ")", "Give a directory the application can write to (it holds transactions the target could not take "
                + "until they are replayed).");
    }

    @Override
    public void postProcessBeforeDestruction(Object bean, String beanName) {
        if (bean != wrapped || wrapped == null) {
            return;
        }
        wrapped.close();
        secondary.close();
        if (primary instanceof AutoCloseable closeable) {
            try {
                closeable.close();
            } catch (Exception ignored) {
                // Closing at shutdown: nothing to do about it.
            }
        }
    }

    @Override
    public boolean requiresDestruction(Object bean) {
        return bean instanceof DualWriteDataSource;
    }

    @Override
    public int getOrder() {
        return Ordered.LOWEST_PRECEDENCE;
    }
}
