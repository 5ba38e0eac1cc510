package io.tsmigrate.core.schema;

import io.tsmigrate.core.connect.Transactions;
import io.tsmigrate.core.plan.Plan;
import io.tsmigrate.core.state.PausedJobs;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

/**
 * Compression during the migration: settings and policies as the plan asks (where the target's
 * license allows), then every compression policy on the migrated hypertables paused, so that the
 * backfill does not race the policy into compressed chunks. Exactly the jobs tsmigrate paused are
 * recorded in {@code tsmigrate.paused_job}; the backfill re-enables those and no others.
 */
final class CompressionStep {

    private CompressionStep() {
    }

    /** The target's TimescaleDB license ({@code apache} or {@code timescale}). */
    static String license(Connection target) throws SQLException {
        try (Statement st = target.createStatement();
             ResultSet rs = st.executeQuery("SELECT coalesce(current_setting('timescaledb.license', true), 'apache')")) {
            rs.next();
            return rs.getString(1);
        }
    }

    /**
     * Pauses the scheduled compression policies of {@code tables} and records them.
     *
     * @return the paused job ids, as "job N on table"
     */
    static List<String> pausePolicies(Connection target, List<Plan.Hypertable> tables, boolean dryRun,
                                      List<String> commands) throws SQLException {
        List<String> paused = new ArrayList<>();
        for (Plan.Hypertable h : tables) {
            List<Integer> jobs = new ArrayList<>();
            try (PreparedStatement ps = target.prepareStatement("SELECT job_id FROM timescaledb_information.jobs "
                    + "WHERE proc_name = 'policy_compression' AND hypertable_schema = ? AND hypertable_name = ? "
                    + "AND scheduled ORDER BY job_id")) {
                ps.setString(1, h.table().schema());
                ps.setString(2, h.table().name());
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        jobs.add(rs.getInt(1));
                    }
                }
            }
            for (int job : jobs) {
                String sql = "SELECT alter_job(" + job + ", scheduled => false)";
                commands.add(sql);
                if (!dryRun) {
                    Transactions.inTransaction(target, t -> {
                        try (Statement st = t.createStatement()) {
                            st.execute(sql);
                        }
                        PausedJobs.recordPaused(t, job, h.table().toString());
                        return null;
                    });
                }
                paused.add("paused compression policy job " + job + " on " + h.table());
            }
        }
        return paused;
    }
}
