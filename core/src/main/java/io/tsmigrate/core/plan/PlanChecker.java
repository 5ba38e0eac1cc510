package io.tsmigrate.core.plan;

import io.tsmigrate.core.time.EpochUnit;
import io.tsmigrate.core.time.TimeType;
import io.tsmigrate.core.TsmigrateException;
import io.tsmigrate.core.catalog.Catalog;
import io.tsmigrate.core.catalog.Catalog.Column;
import io.tsmigrate.core.catalog.Catalog.Table;
import io.tsmigrate.core.catalog.TableRef;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Checks a plan against the source's catalog: every table exists and is not a partition, every
 * time column exists and holds time, intervals are positive, compression columns exist. Used on an
 * edited plan file ({@link #resolve}, errors name the line) and on a stored plan before a step
 * acts on it ({@link #differences}, "the source changed since the plan was made").
 */
public final class PlanChecker {

    private PlanChecker() {
    }

    /**
     * Makes a {@link Plan} of a draft, checking it against {@code catalog}.
     *
     * @throws TsmigrateException (USAGE) for the first problem, naming the file and line
     */
    public static Plan resolve(PlanDraft draft, Catalog catalog) {
        List<Plan.Hypertable> hypertables = new ArrayList<>();
        Set<TableRef> seen = new HashSet<>();
        for (PlanDraft.Entry e : draft.hypertables()) {
            String tableText = e.table().orElseThrow(() -> fail(draft, e.line(), "a hypertable entry has no table"));
            TableRef ref;
            try {
                ref = TableRef.parse(tableText);
            } catch (TsmigrateException ex) {
                throw fail(draft, e.lineOf("table"), ex.getMessage().replaceAll("\\.$", ""));
            }
            if (!seen.add(ref)) {
                throw fail(draft, e.lineOf("table"), "table " + ref + " is listed twice");
            }
            Table table = catalog.table(ref).orElseThrow(() -> fail(draft, e.lineOf("table"),
                    "table " + ref + " does not exist in the source"));
            problemWithTable(table).ifPresent(p -> {
                throw fail(draft, e.lineOf("table"), p);
            });
            String timeName = e.timeColumn().orElseThrow(() -> fail(draft, e.line(),
                    "table " + ref + " has no time_column"));
            Column column = table.column(timeName).orElseThrow(() -> fail(draft, e.lineOf("time_column"),
                    "table " + ref + " has no column \"" + timeName + "\""));
            TimeType type = timeType(table, column).orElseThrow(() -> fail(draft, e.lineOf("time_column"),
                    "column \"" + timeName + "\" of " + ref + " is " + column.type() + ", not a time column (use a "
                            + "timestamptz, timestamp or date column, or an integer that holds time)"));
            ChunkInterval interval;
            try {
                interval = ChunkInterval.parse(e.chunkInterval().orElseThrow(() -> fail(draft, e.line(),
                        "table " + ref + " has no chunk_interval")), type.isInteger());
            } catch (TsmigrateException ex) {
                if (ex.getMessage().startsWith(draft.file().toString())) {
                    throw ex;
                }
                throw fail(draft, e.lineOf("chunk_interval"), ex.getMessage().replaceAll("\\.$", ""));
            }
            Optional<EpochUnit> unit = Optional.empty();
            if (e.timeUnit().isPresent()) {
                if (!type.isInteger()) {
                    throw fail(draft, e.lineOf("time_unit"), "time_unit applies only to integer time columns, and \""
                            + timeName + "\" is " + column.type());
                }
                unit = Optional.of(EpochUnit.ofLabel(e.timeUnit().get()).orElseThrow(() -> fail(draft, e.lineOf("time_unit"),
                        "time_unit \"" + e.timeUnit().get() + "\" is not one of epoch_s, epoch_ms, epoch_us, epoch_ns")));
            }
            for (String col : e.segmentBy()) {
                if (table.column(col).isEmpty()) {
                    throw fail(draft, e.lineOf("compression.segment_by"), "segment_by names column \"" + col
                            + "\", which " + ref + " does not have");
                }
            }
            for (String entry : e.orderBy()) {
                String col = orderByColumnOf(entry);
                if (table.column(col).isEmpty()) {
                    throw fail(draft, e.lineOf("compression.order_by"), "order_by names column \"" + col
                            + "\", which " + ref + " does not have");
                }
            }
            Optional<ChunkInterval> after = Optional.empty();
            if (e.compressAfter().isPresent()) {
                try {
                    after = Optional.of(ChunkInterval.parse(e.compressAfter().get(), type.isInteger()));
                } catch (TsmigrateException ex) {
                    throw fail(draft, e.lineOf("compression.after"), ex.getMessage().replaceAll("\\.$", ""));
                }
            }
            hypertables.add(new Plan.Hypertable(ref, timeName, interval, unit,
                    new Plan.Compression(e.compress().orElse(false), e.segmentBy(), e.orderBy(), after),
                    e.extendKeys().orElse(false)));
        }
        return new Plan(draft.version(), hypertables, draft.writerRoles(), accepted(draft, catalog));
    }

    /** The columns verify is to leave out: each names a table of the source, columns it has, none of its primary key. */
    private static List<Plan.AcceptedDifference> accepted(PlanDraft draft, Catalog catalog) {
        List<Plan.AcceptedDifference> out = new ArrayList<>();
        Set<TableRef> seen = new HashSet<>();
        for (PlanDraft.Accepted a : draft.acceptDifferences()) {
            String tableText = a.table().orElseThrow(() -> fail(draft, a.line(), "an accept_differences entry has no table"));
            TableRef ref;
            try {
                ref = TableRef.parse(tableText);
            } catch (TsmigrateException ex) {
                throw fail(draft, a.line(), ex.getMessage().replaceAll("\\.$", ""));
            }
            if (!seen.add(ref)) {
                throw fail(draft, a.line(), "table " + ref + " is listed twice under accept_differences");
            }
            Table table = catalog.table(ref).orElseThrow(() -> fail(draft, a.line(), "table " + ref + " does not exist in the source"));
            if (a.columns().isEmpty()) {
                throw fail(draft, a.line(), "the accept_differences entry of " + ref + " names no columns");
            }
            List<String> key = table.primaryKey().map(Catalog.Constraint::columns).orElse(List.of());
            for (String column : a.columns()) {
                if (table.column(column).isEmpty()) {
                    throw fail(draft, a.line(), "accept_differences names column \"" + column + "\", which " + ref + " does not have");
                }
                if (key.contains(column)) {
                    throw fail(draft, a.line(), "column \"" + column + "\" is in the primary key of " + ref + ", by which verify "
                            + "matches rows: it cannot be left out (send its value from the application instead)");
                }
            }
            out.add(new Plan.AcceptedDifference(ref, a.columns()));
        }
        return out;
    }

    /**
     * What no longer matches between a plan and the source: missing tables or columns, a time
     * column whose type changed. Empty when the plan still holds.
     */
    public static List<String> differences(Plan plan, Catalog catalog) {
        List<String> out = new ArrayList<>();
        for (Plan.Hypertable h : plan.hypertables()) {
            Optional<Table> table = catalog.table(h.table());
            if (table.isEmpty()) {
                out.add("table " + h.table() + " no longer exists in the source");
                continue;
            }
            problemWithTable(table.get()).ifPresent(out::add);
            Optional<Column> column = table.get().column(h.timeColumn());
            if (column.isEmpty()) {
                out.add("table " + h.table() + " no longer has its time column \"" + h.timeColumn() + "\"");
            } else if (timeType(table.get(), column.get()).map(TimeType::isInteger).orElse(null) != Boolean.valueOf(h.chunkInterval().integer())) {
                out.add("the time column " + h.table() + "." + h.timeColumn() + " is now " + column.get().type()
                        + ", which does not match the plan's chunk interval " + h.chunkInterval());
            }
        }
        return out;
    }

    /** The time type of a column named as time column, if it can be one. */
    public static Optional<TimeType> timeType(Table table, Column column) {
        return column.generated() ? Optional.empty() : TimeType.ofTypeName(column.typeName());
    }

    private static Optional<String> problemWithTable(Table table) {
        if (table.partitionOf().isPresent()) {
            return Optional.of("table " + table.ref() + " is a partition of " + table.partitionOf().get()
                    + "; name the partitioned table instead, it becomes one hypertable");
        }
        return Optional.empty();
    }

    /** An order_by entry: its column, and what follows it ({@code DESC NULLS LAST}, or nothing). */
    public record OrderBy(String column, String rest) {
    }

    /**
     * Reads an order_by entry such as {@code time DESC NULLS LAST} or {@code "My ""Col""" ASC}: a
     * bare name is taken as written, like time_column and segment_by; a quoted one may hold spaces
     * and quotes (doubled).
     */
    public static OrderBy orderBy(String entry) {
        String s = entry.strip();
        if (!s.startsWith("\"")) {
            String column = s.split("\\s+")[0];
            return new OrderBy(column, s.substring(column.length()));
        }
        StringBuilder name = new StringBuilder();
        int i = 1;
        while (i < s.length()) {
            char c = s.charAt(i);
            if (c == '"') {
                if (i + 1 < s.length() && s.charAt(i + 1) == '"') {
                    name.append('"');
                    i += 2;
                    continue;
                }
                return new OrderBy(name.toString(), s.substring(i + 1));
            }
            name.append(c);
            i++;
        }
        return new OrderBy(s, ""); // unterminated: no column has this name, and the check says so
    }

    /** The column of an order_by entry. */
    public static String orderByColumnOf(String entry) {
        return orderBy(entry).column();
    }

    static TsmigrateException fail(PlanDraft draft, int line, String problem) {
        return TsmigrateException.usage(draft.file() + " line " + line + ": " + problem
                + "; fix the plan file or write a new one with tsmigrate plan.");
    }
}
