package io.tsmigrate.core.state;

import io.tsmigrate.core.json.Json;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.Optional;

/**
 * The record of each step of the migration ({@code schema.roles}, {@code schema.dump}, ...) in
 * {@code tsmigrate.step}, and the event log in {@code tsmigrate.event}. A step is {@code running},
 * {@code done} or {@code failed}; a re-run skips steps that are done.
 */
public final class Steps {

    /** A step's last recorded outcome. */
    public record Step(String name, String status, Instant startedAt, Optional<Instant> finishedAt, Optional<String> message) {
        public boolean done() {
            return status.equals("done");
        }
    }

    private final Connection connection;

    /** @param connection to the target, in auto-commit mode; the caller closes it */
    public Steps(Connection connection) {
        this.connection = connection;
    }

    public Optional<Step> get(String name) throws SQLException {
        try (PreparedStatement ps = connection.prepareStatement(
                "SELECT status, started_at, finished_at, message FROM tsmigrate.step WHERE name = ?")) {
            ps.setString(1, name);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    return Optional.empty();
                }
                return Optional.of(new Step(name, rs.getString(1), rs.getTimestamp(2).toInstant(),
                        Optional.ofNullable(rs.getTimestamp(3)).map(java.sql.Timestamp::toInstant),
                        Optional.ofNullable(rs.getString(4))));
            }
        }
    }

    public boolean isDone(String name) throws SQLException {
        return get(name).map(Step::done).orElse(false);
    }

    /** What a recorded step reports when it ends: a summary and detail, or why it did not finish. */
    public interface Outcome {
        String summary();

        /** Stored as JSON with the step; null for none. */
        default Object detail() {
            return null;
        }

        /** Why the step did not finish (recorded as failed); empty when it finished. */
        default Optional<String> failure() {
            return Optional.empty();
        }
    }

    /** A step's work. */
    @FunctionalInterface
    public interface Work<R extends Outcome> {
        R run() throws SQLException;
    }

    /**
     * The one way a step is run and recorded (by {@code migrate} and {@code schema} alike): recorded
     * {@code running} before, then {@code done} with the outcome's summary and detail, or
     * {@code failed} with the outcome's failure or the message of what the work threw (rethrown). A
     * failure that cannot be recorded (the connection is what failed) leaves the step
     * {@code running}; a re-run starts it again.
     */
    public <R extends Outcome> R run(String name, Work<R> work) throws SQLException {
        start(name);
        R outcome;
        try {
            outcome = work.run();
        } catch (SQLException | RuntimeException e) {
            try {
                fail(name, e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage());
            } catch (SQLException recording) {
                e.addSuppressed(recording);
            }
            throw e;
        }
        if (outcome.failure().isPresent()) {
            fail(name, outcome.failure().get());
        } else {
            finish(name, outcome.summary(), outcome.detail());
        }
        return outcome;
    }

    public void start(String name) throws SQLException {
        try (PreparedStatement ps = connection.prepareStatement("INSERT INTO tsmigrate.step (name, status, started_at) "
                + "VALUES (?, 'running', now()) ON CONFLICT (name) DO UPDATE SET status = 'running', "
                + "started_at = now(), finished_at = NULL, message = NULL, detail = NULL")) {
            ps.setString(1, name);
            ps.executeUpdate();
        }
        event(name, "info", "started", null);
    }

    public void finish(String name, String message, Object detail) throws SQLException {
        end(name, "done", message, detail);
    }

    public void fail(String name, String message) throws SQLException {
        end(name, "failed", message, null);
    }

    private void end(String name, String status, String message, Object detail) throws SQLException {
        try (PreparedStatement ps = connection.prepareStatement("UPDATE tsmigrate.step SET status = ?, finished_at = now(), "
                + "message = ?, detail = ?::jsonb WHERE name = ?")) {
            ps.setString(1, status);
            ps.setString(2, message);
            ps.setString(3, detail == null ? null : Json.write(detail));
            ps.setString(4, name);
            ps.executeUpdate();
        }
        event(name, status.equals("failed") ? "error" : "info", message, detail);
    }

    /** Appends to the event log. */
    public void event(String phase, String level, String message, Object detail) throws SQLException {
        try (PreparedStatement ps = connection.prepareStatement(
                "INSERT INTO tsmigrate.event (phase, level, message, detail) VALUES (?, ?, ?, ?::jsonb)")) {
            ps.setString(1, phase);
            ps.setString(2, level);
            ps.setString(3, message);
            ps.setString(4, detail == null ? null : Json.write(detail));
            ps.executeUpdate();
        }
    }

    /** Every step, by when it started. */
    public java.util.List<Step> all() throws SQLException {
        java.util.List<Step> out = new java.util.ArrayList<>();
        try (PreparedStatement ps = connection.prepareStatement("SELECT name, status, started_at, finished_at, message "
                + "FROM tsmigrate.step ORDER BY started_at, name"); ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                out.add(new Step(rs.getString(1), rs.getString(2), rs.getTimestamp(3).toInstant(),
                        Optional.ofNullable(rs.getTimestamp(4)).map(java.sql.Timestamp::toInstant), Optional.ofNullable(rs.getString(5))));
            }
        }
        return out;
    }

    /** The detail (JSON text) of the last event of {@code phase} with {@code message}. */
    public Optional<String> lastEventDetail(String phase, String message) throws SQLException {
        try (PreparedStatement ps = connection.prepareStatement("SELECT detail::text FROM tsmigrate.event WHERE phase = ? "
                + "AND message = ? ORDER BY id DESC LIMIT 1")) {
            ps.setString(1, phase);
            ps.setString(2, message);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? Optional.ofNullable(rs.getString(1)) : Optional.empty();
            }
        }
    }
}
