package io.tsmigrate.dualwrite.spring;

import io.micrometer.core.instrument.binder.MeterBinder;
import io.tsmigrate.dualwrite.DualWriteDataSource;
import io.tsmigrate.dualwrite.DualWriteMetrics;
import org.springframework.boot.actuate.health.HealthIndicator;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.env.Environment;

import javax.sql.DataSource;
import java.sql.SQLException;

/**
 * With {@code tsmigrate.dualwrite.enabled=true}: the application's DataSource writes to the target
 * too ({@link DualWriteDataSources}), a health indicator {@code tsmigrateDualWrite} says whether
 * writes reach it, and Micrometer meters {@code tsmigrate.dualwrite.*} count what happened. Off by
 * default, and then nothing here exists.
 */
@AutoConfiguration
@ConditionalOnProperty(prefix = "tsmigrate.dualwrite", name = "enabled", havingValue = "true")
public class DualWriteAutoConfiguration {

    /** Static and bound by hand: a post-processor is created before the configuration-properties machinery. */
    @Bean
    static DualWriteDataSources tsmigrateDualWriteDataSources(Environment environment) {
        DualWriteProperties properties = Binder.get(environment).bind("tsmigrate.dualwrite", DualWriteProperties.class)
                .orElseGet(DualWriteProperties::new);
        return new DualWriteDataSources(properties, environment.getProperty("spring.application.name", "application"));
    }

    static DualWriteDataSource dualWrite(DataSource dataSource) {
        try {
            return dataSource.unwrap(DualWriteDataSource.class);
        } catch (SQLException e) {
            throw new IllegalStateException("the DataSource is not dual-writing: check tsmigrate.dualwrite.data-source-bean", e);
        }
    }

    /** The health indicator, where Spring Boot Actuator is on the class path. */
    @Configuration(proxyBeanMethods = false)
    @ConditionalOnClass(HealthIndicator.class)
    static class Health {
        @Bean
        HealthIndicator tsmigrateDualWrite(DataSource dataSource) {
            return new DualWriteHealthIndicator(dualWrite(dataSource));
        }
    }

    /** The meters, where Micrometer is on the class path (Spring Boot binds them to its registries). */
    @Configuration(proxyBeanMethods = false)
    @ConditionalOnClass(MeterBinder.class)
    static class Metrics {
        @Bean
        MeterBinder tsmigrateDualWriteMetrics(DataSource dataSource) {
            return new DualWriteMetrics(dualWrite(dataSource));
        }
    }
}
