package io.tsmigrate.core.state;

import com.fasterxml.jackson.core.JsonProcessingException;
import io.tsmigrate.core.json.Json;
import io.tsmigrate.core.plan.Plan;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Optional;

/** The plan the migration follows, kept in {@code tsmigrate.plan} once the schema step has run. */
public final class PlanStore {

    private PlanStore() {
    }

    public static void save(Connection target, Plan plan, String source) throws SQLException {
        try (PreparedStatement ps = target.prepareStatement("INSERT INTO tsmigrate.plan (id, plan, source, saved_at) "
                + "VALUES (1, ?::jsonb, ?, now()) ON CONFLICT (id) DO UPDATE SET plan = EXCLUDED.plan, "
                + "source = EXCLUDED.source, saved_at = now()")) {
            ps.setString(1, Json.write(plan));
            ps.setString(2, source);
            ps.executeUpdate();
        }
    }

    /** The stored plan, or empty when the schema step has not stored one (or there is no state). */
    public static Optional<Plan> load(Connection target) throws SQLException {
        if (!StateSchema.exists(target)) {
            return Optional.empty();
        }
        try (PreparedStatement ps = target.prepareStatement("SELECT plan::text FROM tsmigrate.plan WHERE id = 1");
             ResultSet rs = ps.executeQuery()) {
            if (!rs.next()) {
                return Optional.empty();
            }
            return Optional.of(Json.mapper().readValue(rs.getString(1), Plan.class));
        } catch (JsonProcessingException e) {
            throw new SQLException("tsmigrate.plan holds a plan this tsmigrate cannot read: " + e.getOriginalMessage(), e);
        }
    }

    /** The source the stored plan was made for, as the schema step described it (no password). */
    public static Optional<String> source(Connection target) throws SQLException {
        if (!StateSchema.exists(target)) {
            return Optional.empty();
        }
        try (PreparedStatement ps = target.prepareStatement("SELECT source FROM tsmigrate.plan WHERE id = 1");
             ResultSet rs = ps.executeQuery()) {
            return rs.next() ? Optional.ofNullable(rs.getString(1)) : Optional.empty();
        }
    }

    /** Whether a plan is stored. */
    public static boolean exists(Connection target) throws SQLException {
        if (!StateSchema.exists(target)) {
            return false;
        }
        try (PreparedStatement ps = target.prepareStatement("SELECT 1 FROM tsmigrate.plan"); ResultSet rs = ps.executeQuery()) {
            return rs.next();
        }
    }
}
