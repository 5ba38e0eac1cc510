package io.tsmigrate.cli;

import io.tsmigrate.core.TsmigrateException;
import io.tsmigrate.core.connect.ConnectionSpec;
import picocli.CommandLine.Option;

/** {@code --source} and {@code --target}, shared by every command that talks to both servers. */
final class ConnectionOptions {

    @Option(names = "--source", paramLabel = "URI",
            description = "The source PostgreSQL database: a libpq URI such as "
                    + "postgres://user:password@host:5432/db?sslmode=require, or key=value settings. "
                    + "Default: the SOURCE environment variable.")
    String source;

    @Option(names = "--target", paramLabel = "URI",
            description = "The target PostgreSQL + TimescaleDB database, in the same forms. "
                    + "Default: the TARGET environment variable.")
    String target;

    ConnectionSpec source() {
        return parse(source, "source", "--source", "SOURCE");
    }

    ConnectionSpec target() {
        return parse(target, "target", "--target", "TARGET");
    }

    /** The target, when one was given (commands for which it is optional). */
    java.util.Optional<ConnectionSpec> optionalTarget() {
        return target == null || target.isBlank() ? java.util.Optional.empty()
                : java.util.Optional.of(ConnectionSpec.parse(target, "target"));
    }

    static ConnectionSpec parse(String text, String label, String flag, String variable) {
        if (text == null || text.isBlank()) {
            throw TsmigrateException.usage("no " + label + " database given; pass " + flag
                    + " with a postgres:// URI or set " + variable + ".");
        }
        return ConnectionSpec.parse(text, label);
    }
}
