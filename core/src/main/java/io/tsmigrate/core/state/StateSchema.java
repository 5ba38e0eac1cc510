package io.tsmigrate.core.state;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;

/**
 * The migration's state lives in schema {@code tsmigrate} of the target, so that any number of
 * workers on any machine share one migration and {@code status} can be asked from anywhere. This
 * class creates and upgrades it: each version is a list of statements applied once, in order,
 * under an advisory lock, and {@code tsmigrate.meta.schema_version} records how far it got.
 */
public final class StateSchema {

    /** Advisory lock key that serializes upgrades of the state schema ("tsmi" in ASCII). */
    private static final long UPGRADE_LOCK = 0x74736d69L;

    private static final List<List<String>> VERSIONS = List.of(
            List.of(
                    "CREATE TABLE tsmigrate.meta (key text PRIMARY KEY, value text NOT NULL)",
                    "CREATE TABLE tsmigrate.plan (id int PRIMARY KEY DEFAULT 1 CHECK (id = 1), plan jsonb NOT NULL, "
                            + "source text NOT NULL, saved_at timestamptz NOT NULL DEFAULT now())",
                    "CREATE TABLE tsmigrate.step (name text PRIMARY KEY, status text NOT NULL "
                            + "CHECK (status IN ('running', 'done', 'failed')), started_at timestamptz NOT NULL, "
                            + "finished_at timestamptz, message text, detail jsonb)",
                    "CREATE TABLE tsmigrate.event (id bigserial PRIMARY KEY, at timestamptz NOT NULL DEFAULT now(), "
                            + "phase text NOT NULL, level text NOT NULL, message text NOT NULL, detail jsonb)",
                    "CREATE TABLE tsmigrate.paused_job (job_id int PRIMARY KEY, hypertable text NOT NULL, "
                            + "paused_at timestamptz NOT NULL DEFAULT now(), resumed_at timestamptz)",
                    "CREATE TABLE tsmigrate.dropped_constraint (table_name text NOT NULL, constraint_name text NOT NULL, "
                            + "definition text NOT NULL, reason text NOT NULL, dropped_at timestamptz NOT NULL DEFAULT now(), "
                            + "PRIMARY KEY (table_name, constraint_name))"),
            List.of(
                    // One completion point T per time-type group (runbook step 5), as a literal of that type.
                    "CREATE TABLE tsmigrate.completion_point (time_type text PRIMARY KEY, value text NOT NULL, "
                            + "set_at timestamptz NOT NULL DEFAULT now(), detail jsonb)",
                    // The bounds a table's ranges were made for; a later run with a later T adds ranges.
                    "CREATE TABLE tsmigrate.backfill_table (table_name text PRIMARY KEY, time_column text NOT NULL, "
                            + "time_type text NOT NULL, range_from text NOT NULL, range_until text NOT NULL, "
                            + "created_at timestamptz NOT NULL DEFAULT now())",
                    "CREATE TABLE tsmigrate.backfill_range (id bigserial PRIMARY KEY, table_name text NOT NULL, seq int NOT NULL, "
                            + "range_start text NOT NULL, range_end text NOT NULL, estimated_rows bigint NOT NULL DEFAULT 0, "
                            + "state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'done', 'failed')), "
                            + "rows bigint, bytes bigint, worker text, started_at timestamptz, finished_at timestamptz, "
                            + "error text, sqlstate text, UNIQUE (table_name, seq))",
                    "CREATE INDEX backfill_range_todo ON tsmigrate.backfill_range (table_name, seq) WHERE state <> 'done'",
                    // Every attempt at a range, written outside the range's own transaction so that it
                    // survives the rollback of a failed attempt.
                    "CREATE TABLE tsmigrate.backfill_attempt (id bigserial PRIMARY KEY, range_id bigint NOT NULL, "
                            + "worker text NOT NULL, started_at timestamptz NOT NULL DEFAULT now(), finished_at timestamptz, "
                            + "outcome text, rows bigint, error text, sqlstate text)",
                    "CREATE INDEX backfill_attempt_range ON tsmigrate.backfill_attempt (range_id)",
                    "CREATE TABLE tsmigrate.backfill_worker (worker text PRIMARY KEY, range_id bigint, table_name text, "
                            + "started_at timestamptz NOT NULL DEFAULT now(), heartbeat timestamptz NOT NULL DEFAULT now(), "
                            + "rows_done bigint NOT NULL DEFAULT 0)"),
            List.of(
                    "CREATE TABLE tsmigrate.verification_run (id bigserial PRIMARY KEY, started_at timestamptz NOT NULL DEFAULT now(), "
                            + "finished_at timestamptz, mode text NOT NULL, verdict text, summary jsonb)",
                    "CREATE TABLE tsmigrate.verification_range (id bigserial PRIMARY KEY, run_id bigint NOT NULL "
                            + "REFERENCES tsmigrate.verification_run (id) ON DELETE CASCADE, table_name text NOT NULL, "
                            + "range_start text, range_end text, source_rows bigint, target_rows bigint, source_sum text, "
                            + "target_sum text, verdict text NOT NULL, checked_at timestamptz NOT NULL DEFAULT now())",
                    "CREATE INDEX verification_range_run ON tsmigrate.verification_range (run_id)"),
            // The dual-write library creates these two itself when it meets a target first (it depends
            // on nothing but JDBC); the definitions must stay the same as its StateTables.
            List.of(
                    "CREATE TABLE IF NOT EXISTS tsmigrate.writer (name text PRIMARY KEY, application text, "
                            + "host text, pid bigint, started_at timestamptz NOT NULL, registered_at timestamptz NOT NULL DEFAULT now(), "
                            + "last_seen timestamptz NOT NULL DEFAULT now(), journal_pending bigint NOT NULL DEFAULT 0, "
                            + "primary_side text NOT NULL DEFAULT 'source', switched_at timestamptz)",
                    "CREATE TABLE IF NOT EXISTS tsmigrate.journal_applied (journal text NOT NULL, "
                            + "seq bigint NOT NULL, applied_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (journal, seq))"),
            List.of(
                    "CREATE TABLE IF NOT EXISTS tsmigrate.shadow_read (writer text NOT NULL, shape text NOT NULL, "
                            + "calls bigint NOT NULL, compared bigint NOT NULL, mismatches bigint NOT NULL, expected_mismatches bigint NOT NULL, "
                            + "dropped bigint NOT NULL, example text, source_micros bigint[] NOT NULL, target_micros bigint[] NOT NULL, "
                            + "updated_at timestamptz NOT NULL, PRIMARY KEY (writer, shape))",
                    "INSERT INTO tsmigrate.meta (key, value) VALUES ('primary', 'source') ON CONFLICT (key) DO NOTHING"),
            List.of(
                    "CREATE TABLE IF NOT EXISTS tsmigrate.journal_skipped (journal text NOT NULL, "
                            + "file_offset bigint NOT NULL, length bigint NOT NULL, seq bigint NOT NULL, reason text NOT NULL, "
                            + "skipped_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (journal, file_offset))"),
            List.of(
                    // Foreign keys schema created NOT VALID (the rows they reference arrive with the
                    // backfill), validated by the constraints step; and what that step found.
                    "CREATE TABLE tsmigrate.deferred_constraint (table_name text NOT NULL, constraint_name text NOT NULL, "
                            + "references_table text NOT NULL, created_at timestamptz NOT NULL DEFAULT now(), validated_at timestamptz, "
                            + "PRIMARY KEY (table_name, constraint_name))",
                    "CREATE TABLE tsmigrate.constraint_check (id bigserial PRIMARY KEY, checked_at timestamptz NOT NULL DEFAULT now(), "
                            + "table_name text NOT NULL, name text NOT NULL, kind text NOT NULL, outcome text NOT NULL, "
                            + "offending bigint NOT NULL DEFAULT 0, detail text)"),
            // The backfill's throttle, per process: what it decided at its last check, and why.
            List.of(
                    "CREATE TABLE tsmigrate.throttle (process text PRIMARY KEY, paused boolean NOT NULL, "
                            + "rows_per_second double precision, reason text NOT NULL, updated_at timestamptz NOT NULL DEFAULT now())"),
            // The pace an operator set for every process of the migration (tsmigrate throttle).
            List.of(
                    "CREATE TABLE tsmigrate.pace (id int PRIMARY KEY CHECK (id = 1), paused boolean NOT NULL DEFAULT false, "
                            + "rows_per_second double precision, set_by text NOT NULL, set_at timestamptz NOT NULL DEFAULT now())"),
            // Least privilege (tsmigrate grant-writer): a writer's row belongs to the database role that
            // registered it, and a role that is neither the owner nor a superuser sees and changes only its own.
            List.of(
                    "ALTER TABLE tsmigrate.writer ADD COLUMN IF NOT EXISTS db_role text NOT NULL DEFAULT current_user",
                    "ALTER TABLE tsmigrate.writer ENABLE ROW LEVEL SECURITY",
                    "CREATE POLICY writer_own_row ON tsmigrate.writer USING (db_role = current_user) WITH CHECK (db_role = current_user)"),
            // Writes whose values each side computes for itself (now(), a sequence default), per writer and
            // query shape, as tsmigrate proxy finds them: status, compare-load and verify say so. Written
            // by writers when it exists (they never create it).
            List.of(
                    "CREATE TABLE tsmigrate.computed_write (writer text NOT NULL, shape text NOT NULL, table_name text, "
                            + "reason text NOT NULL, first_seen timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (writer, shape))"),
            // A pace in bytes per second (tsmigrate throttle --rate 20MB/s, backfill --max-rate 20MB/s) beside the one
            // in rows, and the operator's --max-load for every run that watches the source's load.
            List.of(
                    "ALTER TABLE tsmigrate.throttle ADD COLUMN IF NOT EXISTS bytes_per_second double precision",
                    "ALTER TABLE tsmigrate.pace ADD COLUMN IF NOT EXISTS bytes_per_second double precision",
                    "ALTER TABLE tsmigrate.pace ADD COLUMN IF NOT EXISTS max_load text",
                    // A writer that closed says so (status then tells a clean stop from a kill), and where its journal is.
                    "ALTER TABLE tsmigrate.writer ADD COLUMN IF NOT EXISTS stopped_at timestamptz",
                    "ALTER TABLE tsmigrate.writer ADD COLUMN IF NOT EXISTS journal_dir text"));

    /** The version this build of tsmigrate writes. */
    public static final int CURRENT = VERSIONS.size();

    private StateSchema() {
    }

    /** Whether the target has the state schema at all (without creating it). */
    public static boolean exists(Connection target) throws SQLException {
        return hasTable(target, "meta");
    }

    /**
     * Whether the state holds table {@code tsmigrate.<name>}: the writers create theirs when they first
     * meet a target, and a state made by an older tsmigrate lacks the newer ones.
     */
    static boolean hasTable(Connection target, String name) throws SQLException {
        try (PreparedStatement ps = target.prepareStatement("SELECT to_regclass(?) IS NOT NULL")) {
            ps.setString(1, "tsmigrate." + name);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getBoolean(1);
            }
        }
    }

    /**
     * Which side is the primary, as cutover last set it: {@code source} or {@code target};
     * {@code source} before any state exists.
     */
    public static String primary(Connection target) throws SQLException {
        if (!exists(target)) {
            return "source";
        }
        try (Statement st = target.createStatement(); ResultSet rs = st.executeQuery(
                "SELECT coalesce((SELECT value FROM tsmigrate.meta WHERE key = 'primary'), 'source')")) {
            rs.next();
            return rs.getString(1);
        }
    }

    /** Makes {@code side} ({@code source} or {@code target}) the primary that every writer follows. */
    public static void setPrimary(Connection target, String side) throws SQLException {
        try (java.sql.PreparedStatement ps = target.prepareStatement("INSERT INTO tsmigrate.meta (key, value) VALUES ('primary', ?) "
                + "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value")) {
            ps.setString(1, side);
            ps.executeUpdate();
        }
    }

    /**
     * Creates or upgrades the state schema to {@link #CURRENT}; safe to call from many processes at
     * once. Commits its own transaction; the connection is left in auto-commit mode.
     *
     * @throws IllegalStateException when the target's state was written by a newer tsmigrate
     */
    public static void ensure(Connection target) throws SQLException {
        io.tsmigrate.core.connect.Transactions.inTransaction(target, c -> {
            upgrade(c);
            return null;
        });
    }

    private static void upgrade(Connection target) throws SQLException {
        try (Statement st = target.createStatement()) {
            st.execute("SELECT pg_advisory_xact_lock(" + UPGRADE_LOCK + ")");
            st.execute("CREATE SCHEMA IF NOT EXISTS tsmigrate");
            int version = 0;
            try (ResultSet rs = st.executeQuery("SELECT to_regclass('tsmigrate.meta') IS NOT NULL")) {
                rs.next();
                if (rs.getBoolean(1)) {
                    try (ResultSet v = st.executeQuery("SELECT value::int FROM tsmigrate.meta WHERE key = 'schema_version'")) {
                        version = v.next() ? v.getInt(1) : 0;
                    }
                }
            }
            if (version > CURRENT) {
                throw new IllegalStateException("the target's tsmigrate state is version " + version
                        + ", newer than this tsmigrate understands (" + CURRENT + "); use a newer tsmigrate");
            }
            for (int v = version; v < CURRENT; v++) {
                for (String sql : VERSIONS.get(v)) {
                    st.execute(sql);
                }
            }
            if (version < CURRENT) {
                st.execute("INSERT INTO tsmigrate.meta (key, value) VALUES ('schema_version', '" + CURRENT + "') "
                        + "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value");
            }
        }
    }
}
