package io.tsmigrate.core.throttle;

import io.tsmigrate.core.TsmigrateException;
import io.tsmigrate.core.connect.ConnectionSpec;
import io.tsmigrate.core.connect.PgConnector;
import io.tsmigrate.core.connect.PgErrors;
import io.tsmigrate.core.state.PaceRecords;
import io.tsmigrate.core.state.ThrottleRecords;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * A run's throttle on the source's load (a backfill's or an exact verify's: both read every row of
 * the source), with each of its checks recorded in the state under the process's name (for
 * {@code status}), the operator's {@code tsmigrate throttle} setting applied from the state, and
 * each change said to {@code note}. Closing stops the throttle and removes the record.
 */
public final class RecordedThrottle implements AutoCloseable {

    private final Throttle throttle;
    private final ConnectionSpec targetSpec;
    private final String process;
    private Connection state;
    private boolean closed;

    private RecordedThrottle(Throttle throttle, ConnectionSpec targetSpec, String process) {
        this.throttle = throttle;
        this.targetSpec = targetSpec;
        this.process = process;
    }

    /**
     * Every run has one: the operator may pause it or set its rate at any time (tsmigrate throttle).
     *
     * @param source  the connection to read the source's load on, handed over (the throttle closes it); null
     *                when there are no load limits: then there is none (--max-source-connections counts it)
     * @param cap     --max-rate in rows (or bytes, with {@code capInBytes}) per second, if any
     * @param pacesBytes whether the run reports bytes and can be paced by them (see {@link Throttle})
     * @param process the name the throttle is recorded under
     */
    public static RecordedThrottle open(Connection source, ConnectionSpec sourceSpec, ConnectionSpec targetSpec, LoadLimits maxLoad,
                                        LoadLimits criticalLoad, Optional<Double> cap, boolean capInBytes, boolean pacesBytes,
                                        String process, Consumer<String> note) {
        RecordedThrottle[] self = new RecordedThrottle[1];
        try {
            Throttle t = new Throttle(maxLoad, criticalLoad, cap, capInBytes, pacesBytes, source, (s, changed) -> {
                if (changed) {
                    note.accept("throttle: " + Throttle.describe(s));
                }
                if (self[0] != null) {
                    self[0].record(s);
                }
            });
            self[0] = new RecordedThrottle(t, targetSpec, process);
            self[0].startPaced();
            return self[0];
        } catch (SQLException e) {
            PgConnector.closeQuietly(source);
            throw PgErrors.failure("measure the source's load", sourceSpec, e);
        }
    }

    public Throttle throttle() {
        return throttle;
    }

    /** A migration the operator paused stays paused for a process started since: from its first check. */
    private void startPaced() {
        try {
            followOperator();
        } catch (SQLException | TsmigrateException e) {
            PgConnector.closeQuietly(state);
            state = null; // the target's failure is the workers' to report; the next check reads the setting again
        }
        throttle.start();
    }

    /** Records the check, then reads the operator's setting for the next one. */
    private synchronized void record(Throttle.State s) {
        if (closed) {
            return; // a last check that ran while the run closed: its record is gone, and stays gone
        }
        try {
            ThrottleRecords.record(state(), process, s.paused(), s.perSecond().filter(r -> !s.bytes()),
                    s.perSecond().filter(r -> s.bytes()), s.reason());
            followOperator();
        } catch (SQLException | TsmigrateException e) {
            PgConnector.closeQuietly(state);
            state = null; // recorded again at the next check
        }
    }

    /** The operator's {@code tsmigrate throttle} setting, for the throttle's next check. */
    private synchronized void followOperator() throws SQLException {
        throttle.override(PaceRecords.get(state()).map(p -> new Throttle.Setting(p.paused(), p.rowsPerSecond(), p.bytesPerSecond(),
                p.maxLoad().map(m -> LoadLimits.parse("--max-load", m)),
                p.setBy() + " at " + p.setAt().truncatedTo(java.time.temporal.ChronoUnit.SECONDS))));
    }

    private Connection state() throws SQLException {
        if (state == null || state.isClosed()) {
            state = PgConnector.open(targetSpec);
        }
        return state;
    }

    @Override
    public void close() {
        // Not under this object's lock: the throttle's thread may be waiting for it to record a check,
        // and closing the throttle waits for that thread.
        throttle.close();
        forget();
    }

    private synchronized void forget() {
        closed = true;
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
