package io.tsmigrate.examples.timeseries;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;

/**
 * A service that records sensor readings: Spring Data JPA over the application's DataSource. To
 * dual-write during a migration it needs no code: the tsmigrate starter and, in application.yml,
 * {@code tsmigrate.dualwrite.enabled: true} with the target's URL and login.
 */
@SpringBootApplication
public class TimeseriesApplication {

    public static void main(String[] args) {
        SpringApplication.run(TimeseriesApplication.class, args);
    }
}
