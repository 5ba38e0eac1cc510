package io.tsmigrate.core.schema;

import io.tsmigrate.core.TsmigrateException;
import io.tsmigrate.core.TsmigrateException.Kind;
import io.tsmigrate.core.connect.ConnectionSpec;
import io.tsmigrate.core.connect.PgErrors;
import io.tsmigrate.core.pgtools.ClientTools;
import io.tsmigrate.core.pgtools.ProcessRunner;

import java.io.IOException;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Runbook step 3a: the source's roles, dumped with {@code pg_dumpall --roles-only} and sanitized by
 * {@link RoleSanitizer}, created on the target in one transaction. Roles the target already has
 * are not an error: their CREATE is left out and the rest applies.
 */
final class RolesStep {

    /** Roles tsmigrate never creates or alters: the bootstrap superuser and managed services' admin. */
    static final Set<String> NEVER_TOUCHED = Set.of("postgres", "tsdbadmin");

    private RolesStep() {
    }

    /** The sanitized statements and what the sanitizer changed. */
    static RoleSanitizer.Result prepare(ClientTools.Tool pgDumpall, ConnectionSpec source, boolean sourceSuperuser,
                                        Connection target, ConnectionSpec targetSpec, List<String> commands) {
        List<String> args = new ArrayList<>(List.of(pgDumpall.path().toString(), "--roles-only", "--quote-all-identifiers"));
        if (!sourceSuperuser) {
            // Only a superuser may read pg_authid; without it the roles come without passwords.
            args.add("--no-role-passwords");
        }
        args.add("--dbname=" + source.libpqConninfo());
        commands.add(String.join(" ", args.stream().map(DumpLoad::shellQuote).toList()));
        ProcessRunner.Result dump;
        try {
            dump = ProcessRunner.capture(args, source.libpqEnvironment());
        } catch (IOException e) {
            throw new TsmigrateException(Kind.FAILED, "pg_dumpall could not run: " + e.getMessage() + ".", e);
        }
        if (!dump.succeeded()) {
            throw new TsmigrateException(Kind.FAILED, "pg_dumpall --roles-only failed: "
                    + ConnectionSpec.redact(dump.errors().strip()) + "; pass --skip-roles to create the roles yourself.");
        }
        Set<String> skip = new HashSet<>(NEVER_TOUCHED);
        skip.add(targetSpec.user());
        return RoleSanitizer.sanitize(dump.output(), skip, existingRoles(target));
    }

    /** Runs the statements in one transaction; a failure names the statement. */
    static void apply(Connection target, ConnectionSpec targetSpec, List<String> statements) throws SQLException {
        target.setAutoCommit(false);
        try (Statement st = target.createStatement()) {
            for (String sql : statements) {
                try {
                    st.execute(sql);
                } catch (SQLException e) {
                    target.rollback();
                    throw new TsmigrateException(Kind.FAILED, "creating the roles on the target failed at "
                            + RoleSanitizer.redactPasswords(sql) + ": " + PgErrors.message(e) + " (SQLSTATE " + e.getSQLState()
                            + "); no role was created: fix it, or pass --skip-roles and create the roles yourself.", e);
                }
            }
            target.commit();
        } finally {
            target.setAutoCommit(true);
        }
    }

    private static Set<String> existingRoles(Connection target) {
        Set<String> roles = new HashSet<>();
        try (Statement st = target.createStatement(); ResultSet rs = st.executeQuery("SELECT rolname FROM pg_roles")) {
            while (rs.next()) {
                roles.add(rs.getString(1));
            }
        } catch (SQLException e) {
            throw new TsmigrateException(Kind.FAILED, "cannot list the target's roles: " + PgErrors.message(e) + ".", e);
        }
        return roles;
    }
}
