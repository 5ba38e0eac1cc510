package io.tsmigrate.core.backfill;

import io.tsmigrate.core.TsmigrateException;
import io.tsmigrate.core.connect.ConnectionSpec;
import io.tsmigrate.core.connect.PgConnector;
import io.tsmigrate.core.connect.PgErrors;
import io.tsmigrate.core.state.PaceRecords;
import io.tsmigrate.core.state.ThrottleRecords;
import io.tsmigrate.core.throttle.Throttle;

import java.sql.Connection;
import java.sql.SQLException;

/**
 * A backfill run's throttle on the source's load, with each of its checks recorded in the state
 * under the run's worker name (for {@code status}) and each change said to the listener. Closing
 * stops the throttle and removes the record.
 */
final class RecordedThrottle implements AutoCloseable {

    private final Throttle throttle;
    private final ConnectionSpec targetSpec;
    private final String process;
    private Connection state;

    private RecordedThrottle(Throttle throttle, ConnectionSpec targetSpec, String process) {
        this.throttle = throttle;
        this.targetSpec = targetSpec;
        this.process = process;
    }

    /** Every run has one: the operator may pause it or set its rate at any time (tsmigrate throttle). */
    /**
     * @param source the connection to read the source's load on, handed over (the throttle closes it); null
     *               when there are no load limits: then there is none (--max-source-connections counts it)
     */
    static RecordedThrottle open(Connection source, ConnectionSpec sourceSpec, ConnectionSpec targetSpec, BackfillOptions options,
                                 BackfillListener listener) {
        RecordedThrottle[] self = new RecordedThrottle[1];
        try {
            Throttle t = new Throttle(options.maxLoad(), options.criticalLoad(), options.maxRate().map(MaxRate::perSecond), source,
                    (s, changed) -> {
                        if (changed) {
                            listener.note("throttle: " + Throttle.describe(s));
                        }
                        if (self[0] != null) {
                            self[0].record(s);
                        }
                    });
            self[0] = new RecordedThrottle(t, targetSpec, options.workerName());
            t.start();
            return self[0];
        } catch (SQLException e) {
            PgConnector.closeQuietly(source);
            throw PgErrors.failure("measure the source's load before the copy", sourceSpec, e);
        }
    }

    Throttle throttle() {
        return throttle;
    }

    private synchronized void record(Throttle.State s) {
        try {
            if (state == null || state.isClosed()) {
                state = PgConnector.open(targetSpec);
            }
            ThrottleRecords.record(state, process, s.paused(), s.rowsPerSecond(), s.reason());
            throttle.override(PaceRecords.get(state).map(p -> new Throttle.Setting(p.paused(), p.rowsPerSecond(),
                    p.setBy() + " at " + p.setAt().truncatedTo(java.time.temporal.ChronoUnit.SECONDS))));
        } catch (SQLException | TsmigrateException e) {
            PgConnector.closeQuietly(state);
            state = null; // recorded again at the next check
        }
    }

    @Override
    public synchronized void close() {
        throttle.close();
        try {
            if (state != null && !state.isClosed()) {
                ThrottleRecords.forget(state, process);
            }
        } catch (SQLException ignored) {
            // The record of a process that ended stays until the next run of that name replaces it.
        }
        PgConnector.closeQuietly(state);
    }
}
