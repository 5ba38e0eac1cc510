package io.tsmigrate.cli;

import picocli.CommandLine.IDefaultValueProvider;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.OptionSpec;

import java.util.Locale;
import java.util.Map;

/**
 * Configuration precedence, implemented once: a flag on the command line wins; else the
 * environment ({@code SOURCE} and {@code TARGET} as the runbook names them, {@code TSMIGRATE_<OPTION>}
 * for every other option, e.g. {@code TSMIGRATE_PG_BINDIR} for {@code --pg-bindir}); else the
 * option's own default.
 */
final class EnvironmentDefaults implements IDefaultValueProvider {

    private final Map<String, String> environment;

    EnvironmentDefaults(Map<String, String> environment) {
        this.environment = Map.copyOf(environment);
    }

    @Override
    public String defaultValue(ArgSpec argSpec) {
        if (!(argSpec instanceof OptionSpec option) || option.longestName().length() < 3 || option.usageHelp()
                || option.versionHelp()) {
            return null;
        }
        String value = environment.get(variable(option.longestName()));
        return value == null || value.isEmpty() ? null : value;
    }

    /** The environment variable that sets an option: {@code --source} → SOURCE, {@code --max-rate} → TSMIGRATE_MAX_RATE. */
    static String variable(String longName) {
        String name = longName.replaceFirst("^--", "").replace('-', '_').toUpperCase(Locale.ROOT);
        return name.equals("SOURCE") || name.equals("TARGET") ? name : "TSMIGRATE_" + name;
    }
}
