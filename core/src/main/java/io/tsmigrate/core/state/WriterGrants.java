package io.tsmigrate.core.state;

import io.tsmigrate.core.TsmigrateException;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;

/**
 * What a dual-writing application's role may do in the state, and nothing more: read which side
 * is primary and whether the backfill is done, register and keep up its own writer row (row-level
 * security: {@code db_role = current_user}), record the journal entries it applied (and delete the
 * records of a lossless writer's applied intents it no longer needs) and its shadow
 * reads and the writes each side computes for itself, read the entries a person chose to skip. It cannot change {@code tsmigrate.meta} (the
 * primary), ranges, completion points or verification results.
 */
public final class WriterGrants {

    /** The grants, in the order they are made; {@code %s} is the role, quoted. */
    static final List<String> GRANTS = List.of(
            "GRANT USAGE ON SCHEMA tsmigrate TO %s",
            "GRANT SELECT ON tsmigrate.meta, tsmigrate.backfill_range, tsmigrate.journal_skipped TO %s",
            "GRANT SELECT, INSERT, UPDATE ON tsmigrate.writer TO %s",
            "GRANT SELECT, INSERT, DELETE ON tsmigrate.journal_applied TO %s",
            "GRANT SELECT, INSERT, UPDATE ON tsmigrate.shadow_read TO %s",
            "GRANT SELECT, INSERT ON tsmigrate.computed_write TO %s");

    private WriterGrants() {
    }

    /**
     * Grants {@code role} what a writer needs, in one transaction; run again, it changes nothing.
     *
     * @return the statements run
     * @throws TsmigrateException (usage) when the role does not exist, or is the role this runs as
     */
    public static List<String> grant(Connection target, String role) throws SQLException {
        String quoted;
        try (PreparedStatement ps = target.prepareStatement("SELECT quote_ident(rolname), rolname = current_user, rolsuper "
                + "FROM pg_roles WHERE rolname = ?")) {
            ps.setString(1, role);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    throw TsmigrateException.usage("there is no role \"" + role + "\" on the target; create it first "
                            + "(CREATE ROLE " + role + " LOGIN PASSWORD '...'), then grant it.");
                }
                if (rs.getBoolean(2)) {
                    throw TsmigrateException.usage("\"" + role + "\" is the role tsmigrate runs as; give the application a role "
                            + "of its own, so that it cannot switch the primary or rewrite the migration's state.");
                }
                if (rs.getBoolean(3)) {
                    throw TsmigrateException.usage("\"" + role + "\" is a superuser, which no grant can restrict; give the "
                            + "application a role that is not one.");
                }
                quoted = rs.getString(1);
            }
        }
        StateSchema.ensure(target);
        List<String> made = GRANTS.stream().map(g -> String.format(g, quoted)).toList();
        io.tsmigrate.core.connect.Transactions.inTransaction(target, c -> {
            try (Statement st = c.createStatement()) {
                for (String sql : made) {
                    st.execute(sql);
                }
            }
            return null;
        });
        return made;
    }
}
