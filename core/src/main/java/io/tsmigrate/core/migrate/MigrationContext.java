package io.tsmigrate.core.migrate;

import io.tsmigrate.core.connect.ConnectionSpec;
import io.tsmigrate.core.connect.PgConnector;

import java.sql.Connection;
import java.util.concurrent.atomic.AtomicBoolean;

/** What every step of one run reads: the two databases, the options, where to say things, Ctrl-C. */
record MigrationContext(ConnectionSpec source, ConnectionSpec target, Migration.Options options,
                        Migration.Listener listener, AtomicBoolean interrupted) {

    Connection openTarget() {
        return PgConnector.open(target);
    }
}
