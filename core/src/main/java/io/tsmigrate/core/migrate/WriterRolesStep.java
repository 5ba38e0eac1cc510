package io.tsmigrate.core.migrate;

import io.tsmigrate.core.TsmigrateException;
import io.tsmigrate.core.TsmigrateException.Kind;
import io.tsmigrate.core.plan.Plan;
import io.tsmigrate.core.state.WriterGrants;

import java.sql.Connection;
import java.sql.SQLException;

/**
 * Before applications start dual-writing: gives each role the plan names under {@code writer_roles}
 * what {@code tsmigrate grant-writer} gives (and nothing more). Run again on every run (granting
 * again changes nothing, and a role dropped and created again gets its grants back); the roles are
 * the plan's as the schema step stored it: a role added later is granted with grant-writer.
 */
final class WriterRolesStep implements MigrationStep<Void> {

    private final Plan plan;

    WriterRolesStep(Plan plan) {
        this.plan = plan;
    }

    @Override
    public String name() {
        return "writer-roles";
    }

    @Override
    public boolean repeats() {
        return true;
    }

    @Override
    public StepOutcome<Void> run(MigrationContext c) throws SQLException {
        if (plan.writerRoles().isEmpty()) {
            return StepOutcome.done("none named in the plan (writer_roles); applications that dual-write as the role tsmigrate "
                    + "runs as can switch the primary: see tsmigrate grant-writer");
        }
        try (Connection t = c.openTarget()) {
            for (String role : plan.writerRoles()) {
                WriterGrants.grant(t, role);
            }
        } catch (TsmigrateException e) {
            if (e.kind() != Kind.USAGE) {
                throw e;
            }
            return StepOutcome.stopped(Kind.USAGE, e.getMessage().replaceAll("\\.$", "") + " (writer_roles in the plan file).");
        }
        return StepOutcome.done("granted " + String.join(", ", plan.writerRoles()) + " what a dual-writing application needs, "
                + "and nothing more");
    }
}
