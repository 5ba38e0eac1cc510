package io.tsmigrate.it.kit;

import io.tsmigrate.core.connect.ConnectionSpec;
import org.springframework.boot.Banner;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;

import java.util.Map;

/** Spring Boot applications in a test: started as a service is, with its settings on the command line. */
public final class SpringApps {

    private SpringApps() {
    }

    /**
     * Starts {@code application} without a web server, with {@code settings} as command-line
     * arguments: they win over any application.yml on the class path (the sample application's keeps
     * dual-write off), as an operator's flags do.
     */
    public static ConfigurableApplicationContext start(Class<?> application, Map<String, Object> settings) {
        // The suite's own Logback configuration stays; Spring Boot would otherwise reset it.
        System.setProperty("org.springframework.boot.logging.LoggingSystem", "none");
        String[] args = settings.entrySet().stream().map(e -> "--" + e.getKey() + "=" + e.getValue()).toArray(String[]::new);
        return new SpringApplicationBuilder(application).web(WebApplicationType.NONE).bannerMode(Banner.Mode.OFF)
                .logStartupInfo(false).run(args);
    }

    /** A JDBC URL for a suite login, with its TLS settings as pgjdbc parameters. */
    public static String jdbcUrl(ConnectionSpec spec) {
        return spec.jdbc().url() + "?sslmode=" + spec.setting("sslmode").orElse("prefer")
                + spec.setting("sslrootcert").map(r -> "&sslrootcert=" + r).orElse("");
    }
}
