package io.tsmigrate.core.backfill;

import io.tsmigrate.core.throttle.RateLimiter;
import io.tsmigrate.core.throttle.Throttle;

import io.tsmigrate.core.state.BackfillRange;
import io.tsmigrate.core.state.BackfillRanges;
import io.tsmigrate.core.TsmigrateException;
import io.tsmigrate.core.catalog.TableRef;
import io.tsmigrate.core.connect.ConnectionSpec;
import io.tsmigrate.core.connect.PgConnector;
import io.tsmigrate.core.connect.PgErrors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One backfill worker: claims ranges one at a time and copies each in its own target transaction,
 * with one source and one target connection of its own. A transient failure (connection lost,
 * backend terminated, serialization failure, deadlock) closes both connections and retries the
 * range with backoff; a permanent one, or the last attempt, marks the range failed and moves on.
 * Stops at the next range boundary when asked.
 */
final class BackfillWorker implements Runnable {

    private static final Logger LOG = LoggerFactory.getLogger(BackfillWorker.class);

    /** What all workers of one run share. */
    record Shared(ConnectionSpec source, ConnectionSpec target, Map<TableRef, TableCopy> tables, List<TableRef> order,
                  RateLimiter limiter, boolean limitBytes, int maxAttempts, BackfillListener listener,
                  Set<Long> givenUp, Map<Long, Integer> attempts, AtomicBoolean stop, java.time.Instant runStart,
                  Optional<Throttle> throttle) {
        /** Thread-safe sets and maps for a new run. */
        /** @param runStart the target server's clock when this run began */
        static Shared of(ConnectionSpec source, ConnectionSpec target, Map<TableRef, TableCopy> tables, List<TableRef> order,
                         RateLimiter limiter, boolean limitBytes, int maxAttempts, BackfillListener listener, AtomicBoolean stop,
                         java.time.Instant runStart, Optional<Throttle> throttle) {
            return new Shared(source, target, tables, order, limiter, limitBytes, maxAttempts, listener,
                    ConcurrentHashMap.newKeySet(), new ConcurrentHashMap<>(), stop, runStart, throttle);
        }
    }

    private final String name;
    private final Shared shared;
    private Connection side;
    // Closed from another thread by abort(): what it sees must be what this worker opened.
    private volatile Connection source;
    private volatile Connection target;

    BackfillWorker(String name, Shared shared) {
        this.name = name;
        this.shared = shared;
    }

    @Override
    public void run() {
        int idleFailures = 0;
        try {
            while (!shared.stop().get() && !Thread.currentThread().isInterrupted()) {
                // Paused by the source's load: between ranges, holding no claim and no snapshot.
                if (shared.throttle().isPresent() && !shared.throttle().get().awaitOpen(shared.stop())) {
                    break;
                }
                Optional<BackfillRange> claimed;
                try {
                    ensureConnections();
                    claimed = BackfillRanges.claim(target, shared.order(), shared.givenUp(), shared.runStart());
                    idleFailures = 0;
                } catch (SQLException | TsmigrateException e) {
                    // The target (or source) is unreachable between ranges: wait and try again.
                    dropConnections();
                    if (++idleFailures >= shared.maxAttempts()) {
                        shared.listener().note(name + " stopped: " + message(e));
                        return;
                    }
                    LOG.debug("{}: cannot claim a range ({}); retrying", name, message(e));
                    Thread.sleep(backoff(idleFailures));
                    continue;
                }
                if (claimed.isEmpty()) {
                    target.rollback();
                    if (BackfillRanges.inProgressElsewhere(target, shared.order(), shared.givenUp(), shared.runStart()) == 0) {
                        return;
                    }
                    // Another process holds the last ranges: wait, and take them over if it dies.
                    target.rollback();
                    Thread.sleep(500);
                    continue;
                }
                if (shared.givenUp().contains(claimed.get().id())) {
                    // Another worker gave up on it while this claim was on its way: leave it.
                    target.rollback();
                    continue;
                }
                copy(claimed.get());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (SQLException e) {
            shared.listener().note(name + " stopped: " + message(e));
        } finally {
            dropConnections();
            PgConnector.closeQuietly(side);
        }
    }

    /**
     * Stops the range in hand now (Ctrl-C): closing the connections cuts its COPY short, and its
     * transaction, never committed, rolls back; the range stays to do for the next run. Called from
     * another thread.
     */
    void abort() {
        PgConnector.closeQuietly(source);
        PgConnector.closeQuietly(target);
    }

    private void copy(BackfillRange range) throws InterruptedException, SQLException {
        TableCopy table = shared.tables().get(range.table());
        int attempt = shared.attempts().merge(range.id(), 1, Integer::sum);
        long attemptId = sideCall(c -> BackfillRanges.startAttempt(c, range, name));
        sideCall(c -> {
            BackfillRanges.heartbeat(c, name, Optional.of(range), 0);
            return null;
        });
        try {
            long[] lastBeat = {System.nanoTime()};
            // The throttle's unit may change while the run goes (tsmigrate throttle --rate 20MB/s); a range keeps the one it began with.
            boolean limitBytes = shared.throttle().map(Throttle::limitsBytes).orElse(shared.limitBytes());
            CopyPipe.Moved moved = RangeCopier.copy(source, target, table, range, shared.limiter(), limitBytes, (rows, bytes) -> {
                shared.listener().rowsMoving(range.table(), rows);
                shared.throttle().ifPresent(t -> t.moved(rows, bytes)); // rows of this batch
                if (System.nanoTime() - lastBeat[0] > BEAT_NANOS) {
                    lastBeat[0] = System.nanoTime();
                    beat(range, rows);
                }
            });
            BackfillRanges.markDone(target, range, moved.rows(), moved.bytes(), name);
            target.commit();
            sideCall(c -> {
                BackfillRanges.finishAttempt(c, attemptId, "done", moved.rows(), null, null);
                return null;
            });
            shared.listener().rangeDone(range.table(), moved.rows(), moved.bytes());
        } catch (InterruptedException e) {
            recordStopped(attemptId);
            throw e;
        } catch (SQLException | TsmigrateException e) {
            if (shared.stop().get()) {
                // Cut short by abort(): not a failure of the range, which stays to do.
                recordStopped(attemptId);
                dropConnections();
                return;
            }
            boolean transientError = PgErrors.isTransient(e);
            boolean retry = transientError && attempt < shared.maxAttempts();
            String error = message(e);
            String state = PgErrors.sqlState(e);
            if (!retry) {
                shared.givenUp().add(range.id());
            }
            sideCall(c -> {
                BackfillRanges.finishAttempt(c, attemptId, retry ? "retry" : "failed", 0, error, state.isEmpty() ? null : state);
                return null;
            });
            shared.listener().rangeFailed(range.table(), range.range().toString(), error, retry);
            if (retry) {
                // After a failed COPY a connection is in an unknown state: never reuse it.
                dropConnections();
                LOG.debug("{}: {} attempt {} failed ({}); retrying", name, range, attempt, error);
                Thread.sleep(backoff(attempt));
                return;
            }
            if (!markFailedHoldingClaim(range, error, state)) {
                dropConnections();
                sideCall(c -> {
                    BackfillRanges.markFailed(c, range, error, state.isEmpty() ? null : state, name);
                    return null;
                });
            }
        }
    }

    /** Every few seconds during a range: status tells a running backfill from one nobody runs any more by this. */
    private static final long BEAT_NANOS = java.util.concurrent.TimeUnit.SECONDS.toNanos(5);

    /** One try on the bookkeeping connection, never a wait: the copy must not stall for a heartbeat. */
    private void beat(BackfillRange range, long rows) {
        try {
            if (side != null && !side.isClosed()) {
                BackfillRanges.heartbeat(side, name, Optional.of(range), rows);
            }
        } catch (SQLException e) {
            LOG.debug("{}: heartbeat not recorded ({})", name, message(e));
        }
    }

    private void recordStopped(long attemptId) {
        try {
            sideCall(c -> {
                BackfillRanges.finishAttempt(c, attemptId, "stopped", 0, "stopped by the user; the range rolled back", null);
                return null;
            });
        } catch (SQLException e) {
            LOG.debug("{}: cannot record the stopped attempt ({})", name, message(e));
        }
    }

    /**
     * Marks a range failed in the transaction that still holds its claim (the copy was undone to
     * its savepoint), so that no worker of any process takes it up before the failure is recorded.
     */
    private boolean markFailedHoldingClaim(BackfillRange range, String error, String state) {
        try {
            BackfillRanges.markFailed(target, range, error, state.isEmpty() ? null : state, name);
            target.commit();
            return true;
        } catch (SQLException | RuntimeException e) {
            return false;
        } finally {
            // The source connection saw the COPY cut short; the target's stays only if it committed.
            PgConnector.closeQuietly(source);
            source = null;
        }
    }

    private void ensureConnections() throws SQLException {
        if (source == null) {
            source = PgConnector.open(shared.source());
        }
        if (target == null) {
            target = PgConnector.open(shared.target());
            target.setAutoCommit(false);
        }
    }

    private void dropConnections() {
        PgConnector.closeQuietly(source);
        PgConnector.closeQuietly(target);
        source = null;
        target = null;
    }

    @FunctionalInterface
    private interface SideWork<T> {
        T apply(Connection side) throws SQLException;
    }

    /** State bookkeeping on its own auto-commit connection, reopened once if it was lost. */
    private <T> T sideCall(SideWork<T> work) throws SQLException {
        for (int attempt = 1; ; attempt++) {
            try {
                if (side == null || side.isClosed()) {
                    side = PgConnector.open(shared.target());
                }
                return work.apply(side);
            } catch (SQLException | TsmigrateException e) {
                PgConnector.closeQuietly(side);
                side = null;
                if (attempt >= shared.maxAttempts() || !PgErrors.isTransient(e)) {
                    throw e instanceof SQLException s ? s : new SQLException(e.getMessage(), e);
                }
                try {
                    Thread.sleep(backoff(attempt));
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    throw new SQLException("interrupted", ie);
                }
            }
        }
    }

    static long backoff(int attempt) {
        return Math.min(15_000L, 500L << Math.min(attempt - 1, 5));
    }

    private static String message(Exception e) {
        return e instanceof SQLException s ? PgErrors.message(s) : e.getMessage();
    }
}
