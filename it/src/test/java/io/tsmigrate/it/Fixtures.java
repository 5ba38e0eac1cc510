package io.tsmigrate.it;

import io.tsmigrate.core.catalog.TableRef;
import io.tsmigrate.core.connect.ConnectionSpec;
import io.tsmigrate.core.plan.PlanOptions;
import io.tsmigrate.core.plan.PlanReport;
import io.tsmigrate.core.plan.Planner;
import io.tsmigrate.core.plan.TablePattern;
import io.tsmigrate.core.plan.ChunkInterval;
import io.tsmigrate.core.plan.Plan;
import io.tsmigrate.core.schema.SchemaMigrator;
import io.tsmigrate.core.schema.SchemaOptions;
import io.tsmigrate.it.kit.TestDatabases;

import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;

/** Shared steps of the integration tests: plan and schema in one call, and comparisons of both sides. */
final class Fixtures {

    static final Path CLI_JAR = Path.of("..", "cli", "target", "tsmigrate.jar").toAbsolutePath().normalize();

    private Fixtures() {
    }

    /**
     * Plans the given tables as hypertables (each with the given chunk interval) and runs the schema
     * step into {@code target}; returns the plan.
     */
    static Plan migrateSchema(ConnectionSpec source, ConnectionSpec target, String interval, String... tables) {
        PlanReport report = Planner.plan(source, Optional.of(target), new PlanOptions(0,
                Arrays.stream(tables).map(TablePattern::parse).toList(), List.of(), Optional.of(8L << 30), Clock.systemUTC()));
        List<Plan.Hypertable> hypertables = new ArrayList<>();
        for (String t : tables) {
            Plan.Hypertable h = report.plan().hypertable(TableRef.parse(t)).orElseThrow(() -> new AssertionError(t + " not planned"));
            hypertables.add(new Plan.Hypertable(h.table(), h.timeColumn(), ChunkInterval.parse(interval, h.chunkInterval().integer()),
                    h.timeUnit(), h.compression(), h.extendKeys()));
        }
        Plan plan = new Plan(Plan.VERSION, hypertables);
        SchemaMigrator.run(source, target, plan, new SchemaOptions(true, false, true, Optional.empty()), line -> { });
        return plan;
    }

    /**
     * count:md5 of the rows of {@code table} matching {@code where}, in a stable order; the rows' text
     * in UTF-8 and ordered by its bytes, so that servers of other encodings and collations agree.
     */
    static String checksum(ConnectionSpec spec, String table, String where) {
        return TestDatabases.queryString(spec, "SELECT count(*) || ':' || coalesce(md5(string_agg(convert_to(t::text, 'UTF8'), "
                + "'|'::bytea ORDER BY convert_to(t::text, 'UTF8'))), '') FROM " + table + " t WHERE " + where);
    }

    /**
     * Compares every backfill range of {@code table} on both sides (count and checksum), and
     * asserts each range is done; returns the number of ranges.
     */
    static int assertRangesIdentical(ConnectionSpec source, ConnectionSpec target, String table, String timeColumn, String type) {
        List<List<String>> ranges = TestDatabases.rows(target, "SELECT range_start, range_end, state FROM tsmigrate.backfill_range "
                + "WHERE table_name = '" + TableRef.parse(table) + "' ORDER BY seq");
        assertThat(ranges).isNotEmpty();
        for (List<String> r : ranges) {
            assertThat(r.get(2)).as("range " + r).isEqualTo("done");
            String where = "\"" + timeColumn + "\" >= '" + r.get(0) + "'::" + type + " AND \"" + timeColumn + "\" < '" + r.get(1) + "'::" + type;
            assertThat(checksum(target, table, where)).as("range " + r).isEqualTo(checksum(source, table, where));
        }
        return ranges.size();
    }
}
