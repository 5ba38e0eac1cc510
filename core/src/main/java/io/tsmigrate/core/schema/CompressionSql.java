package io.tsmigrate.core.schema;

import io.tsmigrate.core.catalog.TableRef;
import io.tsmigrate.core.plan.ChunkInterval;
import io.tsmigrate.core.time.EpochUnit;
import io.tsmigrate.core.plan.Plan;
import io.tsmigrate.core.plan.PlanChecker;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * The SQL that sets up compression for a hypertable (runbook 3e): the compression settings, an
 * integer-now function for integer time, and the compression policy. Pausing the policy during
 * the backfill is done by {@link CompressionStep}, which records the jobs it paused.
 */
final class CompressionSql {

    private CompressionSql() {
    }

    /**
     * @param timeType pg_type name of the time column ({@code timestamptz}, {@code int8}, ...)
     */
    static List<String> forHypertable(Plan.Hypertable h, String timeType) {
        Plan.Compression c = h.compression();
        String t = h.table().quoted();
        List<String> sql = new ArrayList<>();
        List<String> options = new ArrayList<>(List.of("timescaledb.compress"));
        if (!c.segmentBy().isEmpty()) {
            options.add("timescaledb.compress_segmentby = " + HypertableSql.literal(
                    c.segmentBy().stream().map(TableRef::quote).collect(Collectors.joining(", "))));
        }
        if (!c.orderBy().isEmpty()) {
            options.add("timescaledb.compress_orderby = " + HypertableSql.literal(
                    c.orderBy().stream().map(CompressionSql::orderByEntry).collect(Collectors.joining(", "))));
        }
        sql.add("ALTER TABLE " + t + " SET (" + String.join(", ", options) + ")");
        ChunkInterval after = c.after().orElseGet(() -> h.chunkInterval().integer()
                ? ChunkInterval.ofUnits(h.chunkInterval().units() * 2) : ChunkInterval.ofMicros(h.chunkInterval().micros() * 2));
        if (h.chunkInterval().integer()) {
            Optional<EpochUnit> unit = h.timeUnit();
            if (unit.isEmpty()) {
                return sql; // a policy on integer time needs to know "now" in the column's units
            }
            String function = "tsmigrate.integer_now_" + unit.get().label() + "_" + timeType;
            sql.add("CREATE OR REPLACE FUNCTION " + function + "() RETURNS " + timeType + " LANGUAGE sql STABLE AS $$ "
                    + "SELECT (extract(epoch FROM now()) * " + unit.get().perSecond() + ")::" + timeType + " $$");
            sql.add("SELECT set_integer_now_func(" + h.table().literal() + "::regclass, " + HypertableSql.literal(function)
                    + "::regproc, replace_if_exists => true)");
        }
        sql.add("SELECT add_compression_policy(" + h.table().literal() + "::regclass, " + after.sql() + ", if_not_exists => true)");
        return sql;
    }

    /** {@code time DESC} with the column quoted: {@code "time" DESC}. */
    private static String orderByEntry(String entry) {
        PlanChecker.OrderBy o = PlanChecker.orderBy(entry);
        return TableRef.quote(o.column()) + o.rest();
    }
}
