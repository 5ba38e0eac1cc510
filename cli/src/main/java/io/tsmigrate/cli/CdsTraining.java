package io.tsmigrate.cli;

import io.tsmigrate.core.catalog.TableRef;
import io.tsmigrate.core.json.Json;
import io.tsmigrate.core.plan.ChunkInterval;
import io.tsmigrate.core.plan.Plan;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A training run for the JVM's class-data sharing archive that {@code bin/tsmigrate} builds next
 * to the jar: it loads and initializes the classes every command needs (picocli's command model,
 * Jackson with its modules, the PostgreSQL driver, the progress bar), so that later starts map
 * them from the archive instead of loading them one by one. Needs no database.
 */
public final class CdsTraining {

    private CdsTraining() {
    }

    public static void main(String[] args) throws Exception {
        StringWriter sink = new StringWriter();
        for (String command : new picocli.CommandLine(new TsmigrateCommand()).getSubcommands().keySet()) {
            Main.run(new PrintWriter(sink), new PrintWriter(sink), Map.of(), command, "--help");
        }
        Plan plan = new Plan(Plan.VERSION, List.of(new Plan.Hypertable(new TableRef("public", "metrics"), "time",
                ChunkInterval.parse("1 day", false), Optional.empty(), Plan.Compression.off(), false)));
        Json.mapper().readValue(Json.write(plan), Plan.class);
        for (String name : List.of("org.postgresql.Driver", "org.postgresql.core.v3.QueryExecutorImpl",
                "org.postgresql.core.v3.ConnectionFactoryImpl", "org.postgresql.jdbc.PgConnection",
                "org.postgresql.jdbc.PgPreparedStatement", "org.postgresql.jdbc.PgResultSet",
                "org.postgresql.copy.CopyManager", "org.postgresql.core.v3.CopyOutImpl", "org.postgresql.core.v3.CopyInImpl",
                "org.postgresql.jdbc.PgArray", "com.ongres.scram.client.ScramClient", "me.tongfei.progressbar.ProgressBar",
                "ch.qos.logback.classic.Logger")) {
            try {
                Class.forName(name, true, CdsTraining.class.getClassLoader());
            } catch (ClassNotFoundException e) {
                // A class renamed in a newer library: the archive is an optimization only.
            }
        }
    }
}
