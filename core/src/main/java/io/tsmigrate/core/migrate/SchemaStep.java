package io.tsmigrate.core.migrate;

import io.tsmigrate.core.TsmigrateException;
import io.tsmigrate.core.TsmigrateException.Kind;
import io.tsmigrate.core.plan.Plan;
import io.tsmigrate.core.schema.SchemaMigrator;
import io.tsmigrate.core.schema.SchemaOptions;
import io.tsmigrate.core.schema.SchemaResult;

/** Runbook step 3: roles, the dump, hypertables and compression settings, each recorded by the schema step itself. */
final class SchemaStep implements MigrationStep<Void> {

    private final Plan plan;

    SchemaStep(Plan plan) {
        this.plan = plan;
    }

    @Override
    public String name() {
        return "schema";
    }

    @Override
    public StepOutcome<Void> run(MigrationContext c) {
        SchemaResult r;
        try {
            r = SchemaMigrator.run(c.source(), c.target(), plan, new SchemaOptions(c.options().skipRoles(), false, false,
                    c.options().pgBindir()), line -> c.listener().line("schema: " + line), c.interrupted());
        } catch (TsmigrateException e) {
            if (e.kind() != Kind.INTERRUPTED) {
                throw e;
            }
            return StepOutcome.stopped(Kind.INTERRUPTED, e.getMessage().replace("tsmigrate schema", "tsmigrate migrate"));
        }
        return StepOutcome.done(String.join("; ", r.steps().stream().map(s -> s.name() + " " + s.summary()).toList()));
    }
}
