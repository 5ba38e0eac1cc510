package io.tsmigrate.dualwrite;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;

/**
 * The tables of tsmigrate's state on the target that the library writes: the writer registry, the
 * record of applied (and of skipped damaged) journal entries, and shadow-read results. Created when missing, with the same definitions
 * tsmigrate's own state schema uses (this module depends on nothing but JDBC, so it cannot call it).
 */
final class StateTables {

    static final String WRITER = "CREATE TABLE IF NOT EXISTS tsmigrate.writer (name text PRIMARY KEY, application text, "
            + "host text, pid bigint, started_at timestamptz NOT NULL, registered_at timestamptz NOT NULL DEFAULT now(), "
            + "last_seen timestamptz NOT NULL DEFAULT now(), journal_pending bigint NOT NULL DEFAULT 0, "
            + "primary_side text NOT NULL DEFAULT 'source', switched_at timestamptz, db_role text NOT NULL DEFAULT current_user, "
            + "stopped_at timestamptz, journal_dir text)";
    static final String JOURNAL_APPLIED = "CREATE TABLE IF NOT EXISTS tsmigrate.journal_applied (journal text NOT NULL, "
            + "seq bigint NOT NULL, applied_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (journal, seq))";
    /** Damaged journal records a person chose to skip ({@code tsmigrate replay --skip-damaged}): later replays pass them. */
    static final String JOURNAL_SKIPPED = "CREATE TABLE IF NOT EXISTS tsmigrate.journal_skipped (journal text NOT NULL, "
            + "file_offset bigint NOT NULL, length bigint NOT NULL, seq bigint NOT NULL, reason text NOT NULL, "
            + "skipped_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (journal, file_offset))";

    static final String SHADOW_READ = "CREATE TABLE IF NOT EXISTS tsmigrate.shadow_read (writer text NOT NULL, shape text NOT NULL, "
            + "calls bigint NOT NULL, compared bigint NOT NULL, mismatches bigint NOT NULL, expected_mismatches bigint NOT NULL, "
            + "dropped bigint NOT NULL, example text, source_micros bigint[] NOT NULL, target_micros bigint[] NOT NULL, "
            + "updated_at timestamptz NOT NULL, PRIMARY KEY (writer, shape))";

    private StateTables() {
    }

    /** Whether the writer registry exists (a writer met this target before). */
    static boolean writerTableExists(Connection target) throws SQLException {
        try (Statement st = target.createStatement();
             java.sql.ResultSet rs = st.executeQuery("SELECT to_regclass('tsmigrate.writer') IS NOT NULL")) {
            return rs.next() && rs.getBoolean(1);
        }
    }

    /**
     * Creates what is missing. When everything exists nothing is run: an application's role granted
     * only what it needs ({@code tsmigrate grant-writer}) may not create anything in the schema, not
     * even with {@code IF NOT EXISTS}.
     */
    static void ensure(Connection target) throws SQLException {
        try (Statement st = target.createStatement()) {
            try (java.sql.ResultSet rs = st.executeQuery("SELECT to_regclass('tsmigrate.writer') IS NOT NULL "
                    + "AND to_regclass('tsmigrate.journal_applied') IS NOT NULL AND to_regclass('tsmigrate.journal_skipped') IS NOT NULL "
                    + "AND to_regclass('tsmigrate.shadow_read') IS NOT NULL")) {
                if (rs.next() && rs.getBoolean(1)) {
                    return;
                }
            }
            st.execute("CREATE SCHEMA IF NOT EXISTS tsmigrate");
            st.execute(WRITER);
            st.execute(JOURNAL_APPLIED);
            st.execute(JOURNAL_SKIPPED);
            st.execute(SHADOW_READ);
        }
    }
}
