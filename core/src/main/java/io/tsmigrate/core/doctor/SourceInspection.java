package io.tsmigrate.core.doctor;

import io.tsmigrate.core.connect.ConnectionSpec;
import io.tsmigrate.core.doctor.DoctorResult.SourceFacts;
import io.tsmigrate.core.doctor.DoctorResult.TableSize;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

/** What the doctor reads from the source server. */
final class SourceInspection {

    /** The runbook's threshold: above 400 GB the target's disk must be provisioned ahead. */
    static final long LARGE_SOURCE_BYTES = 400L * 1000 * 1000 * 1000;

    private static final String USER_RELATIONS = "n.nspname NOT IN ('pg_catalog', 'information_schema') "
            + "AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'";

    private final SourceFacts facts;
    private final List<String> unreadable;

    SourceInspection(Connection connection) throws SQLException {
        try (Statement st = connection.createStatement()) {
            String version;
            int versionNum;
            boolean superuser;
            long size;
            try (ResultSet rs = st.executeQuery("SELECT current_setting('server_version'), "
                    + "current_setting('server_version_num')::int, "
                    + "(SELECT rolsuper FROM pg_roles WHERE rolname = current_user), "
                    + "pg_database_size(current_database())")) {
                rs.next();
                version = rs.getString(1);
                versionNum = rs.getInt(2);
                superuser = rs.getBoolean(3);
                size = rs.getLong(4);
            }
            List<TableSize> largest = new ArrayList<>();
            try (ResultSet rs = st.executeQuery("SELECT format('%I.%I', n.nspname, c.relname), "
                    + "CASE WHEN c.relkind = 'p' THEN (SELECT coalesce(sum(pg_total_relation_size(t.relid)), 0) "
                    + "FROM pg_partition_tree(c.oid) t) ELSE pg_total_relation_size(c.oid) END AS bytes "
                    + "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                    + "WHERE c.relkind IN ('r', 'p', 'm') AND NOT c.relispartition AND " + USER_RELATIONS
                    + " ORDER BY bytes DESC, 1 LIMIT 5")) {
                while (rs.next()) {
                    largest.add(new TableSize(rs.getString(1), rs.getLong(2)));
                }
            }
            facts = new SourceFacts(version, versionNum, superuser, size, List.copyOf(largest));
            unreadable = new ArrayList<>();
            try (ResultSet rs = st.executeQuery("SELECT format('%I.%I', n.nspname, c.relname) "
                    + "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                    + "WHERE c.relkind IN ('r', 'p') AND " + USER_RELATIONS
                    + " AND NOT has_table_privilege(c.oid, 'SELECT') ORDER BY 1")) {
                while (rs.next()) {
                    unreadable.add(rs.getString(1));
                }
            }
        }
    }

    SourceFacts facts() {
        return facts;
    }

    void checks(ConnectionSpec spec, List<Check> checks) {
        int major = facts.versionNum() / 10000;
        String server = "PostgreSQL " + facts.version() + " at " + spec.describe();
        if (major < Doctor.MIN_SOURCE_MAJOR) {
            checks.add(Check.failed("source", server + "; PostgreSQL " + major + " is older than "
                    + Doctor.MIN_SOURCE_MAJOR + ", the oldest source tsmigrate supports; upgrade the source first"));
        } else {
            checks.add(Check.ok("source", server));
        }
        if (!unreadable.isEmpty()) {
            checks.add(Check.failed("source privileges", spec.user() + " cannot read " + unreadable.size()
                    + " table(s) (" + String.join(", ", unreadable.subList(0, Math.min(5, unreadable.size())))
                    + (unreadable.size() > 5 ? ", ..." : "") + "); GRANT SELECT on them or connect as their owner"));
        } else if (!facts.superuser()) {
            checks.add(Check.warning("source privileges", spec.user() + " reads every table but is not a superuser, "
                    + "so pg_dumpall cannot read role passwords; roles are copied without passwords (set them on the target)"));
        } else {
            checks.add(Check.ok("source privileges", spec.user() + " is a superuser and reads every table"));
        }
        checks.add(Doctor.sizeCheck(facts.databaseBytes(), facts.largestTables()));
    }
}
