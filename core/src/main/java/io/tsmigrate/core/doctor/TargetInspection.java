package io.tsmigrate.core.doctor;

import io.tsmigrate.core.connect.ConnectionSpec;
import io.tsmigrate.core.doctor.DoctorResult.TargetFacts;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** What the doctor reads from the target server. */
final class TargetInspection {

    /** Schemas that are not the user's: the system's, TimescaleDB's and tsmigrate's own. */
    static final String NOT_USER_SCHEMA = "n.nspname NOT IN ('pg_catalog', 'information_schema', "
            + "'timescaledb_information', 'timescaledb_experimental', 'toolkit_experimental', 'tsmigrate') "
            + "AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%' "
            + "AND n.nspname NOT LIKE '\\_timescaledb%'";

    private final TargetFacts facts;
    private final boolean preloaded;
    private final boolean canCreateInDatabase;
    private final List<String> sampleTables;
    private Optional<String> sameRoleWriters = Optional.empty();

    TargetInspection(Connection connection) throws SQLException {
        try (Statement st = connection.createStatement()) {
            String version;
            int versionNum;
            boolean superuser;
            Optional<String> installed;
            Optional<String> available;
            try (ResultSet rs = st.executeQuery("SELECT current_setting('server_version'), "
                    + "current_setting('server_version_num')::int, "
                    + "(SELECT rolsuper FROM pg_roles WHERE rolname = current_user), "
                    + "(SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'), "
                    + "(SELECT default_version FROM pg_available_extensions WHERE name = 'timescaledb'), "
                    // TimescaleDB's loader defines timescaledb.disable_load only when preloaded; reading
                    // shared_preload_libraries itself needs pg_read_all_settings.
                    + "current_setting('timescaledb.disable_load', true) IS NOT NULL, "
                    + "has_database_privilege(current_database(), 'CREATE')")) {
                rs.next();
                version = rs.getString(1);
                versionNum = rs.getInt(2);
                superuser = rs.getBoolean(3);
                installed = Optional.ofNullable(rs.getString(4));
                available = Optional.ofNullable(rs.getString(5));
                preloaded = rs.getBoolean(6);
                canCreateInDatabase = rs.getBoolean(7);
            }
            // The setting exists only once the library is loaded (preloaded, or the extension created).
            Optional<String> license = Optional.empty();
            try (ResultSet rs = st.executeQuery("SELECT current_setting('timescaledb.license', true)")) {
                rs.next();
                license = Optional.ofNullable(rs.getString(1)).filter(s -> !s.isEmpty());
            }
            sampleTables = new ArrayList<>();
            long userTables;
            try (ResultSet rs = st.executeQuery("SELECT format('%I.%I', n.nspname, c.relname), count(*) OVER () "
                    + "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                    + "WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND " + NOT_USER_SCHEMA
                    + " ORDER BY 1 LIMIT 5")) {
                userTables = 0;
                while (rs.next()) {
                    sampleTables.add(rs.getString(1));
                    userTables = rs.getLong(2);
                }
            }
            facts = new TargetFacts(version, versionNum, superuser, installed, available, license, userTables);
            // Writers that dual-write as the role tsmigrate runs as could switch the primary or rewrite the state.
            sameRoleWriters = io.tsmigrate.core.state.Writers.asCurrentRole(connection);
        }
    }

    TargetFacts facts() {
        return facts;
    }

    void checks(ConnectionSpec spec, List<Check> checks) {
        checks.add(Check.ok("target", "PostgreSQL " + facts.version() + " at " + spec.describe()));
        checks.add(timescaledb(spec));
        facts.license().ifPresent(license -> checks.add(license(license)));
        if (facts.superuser()) {
            checks.add(Check.ok("target role", spec.user() + " is a superuser"));
        } else if (!canCreateInDatabase) {
            checks.add(Check.failed("target role", spec.user() + " may not create schemas in database \""
                    + spec.database() + "\"; GRANT CREATE ON DATABASE to it (tsmigrate keeps its state in schema tsmigrate)"));
        } else {
            checks.add(Check.ok("target role", spec.user() + " is not a superuser (as on a managed service): roles are "
                    + "created without SUPERUSER, REPLICATION and BYPASSRLS, and every object is owned by " + spec.user()));
        }
        sameRoleWriters.ifPresent(names -> checks.add(Check.warning("writer roles", "the writer(s) " + names + " dual-write as "
                + spec.user() + ", the role tsmigrate runs as, so they could switch the primary or rewrite the migration's state; "
                + "give the application a role of its own and run tsmigrate grant-writer ROLE")));
        if (facts.userTables() > 0) {
            checks.add(Check.warning("target tables", "database \"" + spec.database() + "\" already holds "
                    + facts.userTables() + " table(s) (" + String.join(", ", sampleTables)
                    + (facts.userTables() > sampleTables.size() ? ", ..." : "")
                    + "); tsmigrate schema refuses tables that clash with the source's unless --force is given"));
        } else {
            checks.add(Check.ok("target tables", "database \"" + spec.database() + "\" holds no tables yet"));
        }
    }

    private Check timescaledb(ConnectionSpec spec) {
        String db = spec.database();
        if (facts.timescaledbVersion().isPresent()) {
            return Check.ok("timescaledb", facts.timescaledbVersion().get() + " installed in database \"" + db + "\"");
        }
        if (facts.timescaledbAvailable().isEmpty()) {
            int major = facts.versionNum() / 10000;
            return Check.failed("timescaledb", "the TimescaleDB extension is not installed on the target server; "
                    + "install it (Debian: postgresql-" + major + "-timescaledb) and add timescaledb to shared_preload_libraries");
        }
        String version = facts.timescaledbAvailable().get();
        if (!preloaded) {
            return Check.failed("timescaledb", "TimescaleDB " + version + " is installed but not preloaded; add "
                    + "timescaledb to shared_preload_libraries in postgresql.conf and restart the target server");
        }
        if (!facts.superuser()) {
            return Check.failed("timescaledb", "TimescaleDB " + version + " is available but not created in database \""
                    + db + "\"; ask an administrator to run CREATE EXTENSION timescaledb there");
        }
        return Check.warning("timescaledb", "TimescaleDB " + version + " is available but not created in database \""
                + db + "\" yet; tsmigrate schema will run CREATE EXTENSION timescaledb");
    }

    private static Check license(String license) {
        if (license.equals("apache")) {
            return Check.warning("license", "timescaledb.license is apache: hypertables work but compression does not, "
                    + "so the plan's compression settings and policies will be skipped; use a target with the "
                    + "timescale license (such as Timescale Cloud) to compress");
        }
        return Check.ok("license", "timescaledb.license is " + license + ": compression is available");
    }
}
