package io.tsmigrate.core.plan;

import io.tsmigrate.core.time.EpochUnit;
import io.tsmigrate.core.time.TimeType;
import io.tsmigrate.core.catalog.Catalog;
import io.tsmigrate.core.catalog.Catalog.Column;
import io.tsmigrate.core.catalog.Catalog.Table;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Finds a table's time column: a {@code timestamptz}, {@code timestamp} or {@code date} column, or
 * an integer column that evidence shows holds time (its name, its default, or statistics whose
 * values are plausible epoch times). When a table has several, the best is chosen: NOT NULL,
 * leading an index, named like a time, correlated with physical order.
 */
final class TimeColumns {

    private static final Pattern TIME_NAME = Pattern.compile(
            "(^|_)(time|ts|timestamp|tstamp|epoch|datetime|date|day|created|updated|inserted|recorded|observed|"
                    + "measured|received|sampled|logged|occurred|event)($|_)|_at$|_on$|_ts$|_time$|_ms$|_epoch$");
    private static final List<String> PREFERRED = List.of("time", "ts", "timestamp", "event_time", "created_at",
            "recorded_at", "observed_at", "occurred_at", "measured_at");

    /** A usable time column and why it is one. */
    record Choice(Column column, TimeType type, List<String> evidence, Optional<EpochUnit> unit, int preference) {
    }

    private TimeColumns() {
    }

    /** The table's best time column, if it has one. */
    static Optional<Choice> choose(Catalog catalog, Table table) {
        return table.columns().stream()
                .map(c -> inspect(catalog, table, c))
                .flatMap(Optional::stream)
                .max(Comparator.comparingInt(Choice::preference).thenComparing(c -> -c.column().position()));
    }

    /** Whether {@code column} can be the table's time column, with the evidence. */
    static Optional<Choice> inspect(Catalog catalog, Table table, Column column) {
        Optional<TimeType> type = TimeType.ofTypeName(column.typeName());
        if (type.isEmpty() || column.generated()) {
            return Optional.empty();
        }
        List<String> evidence = new ArrayList<>();
        String name = column.name().toLowerCase(Locale.ROOT);
        boolean nameSaysTime = TIME_NAME.matcher(name).find();
        int preference = 0;
        Optional<EpochUnit> unit = Optional.empty();
        if (type.get().isInteger()) {
            if (name.equals("id") || name.endsWith("_id") || column.identity().isPresent()
                    || catalog.sequenceFilling(new Catalog.ColumnRef(table.ref(), column.name())).isPresent()) {
                return Optional.empty();
            }
            boolean defaultSaysTime = column.defaultExpression().map(d -> d.toLowerCase(Locale.ROOT))
                    .filter(d -> d.contains("epoch") || d.contains("now()") || d.contains("clock_timestamp")
                            || d.contains("current_timestamp")).isPresent();
            unit = column.stats().flatMap(s -> s.highestBound()).flatMap(TimeColumns::asLong).flatMap(EpochUnit::guess);
            if (!nameSaysTime && !defaultSaysTime && unit.isEmpty()) {
                return Optional.empty();
            }
            evidence.add("integer time (" + column.type() + ")");
            if (nameSaysTime) {
                evidence.add("name \"" + column.name() + "\"");
            }
            if (defaultSaysTime) {
                evidence.add("default " + column.defaultExpression().orElseThrow());
            }
            unit.ifPresent(u -> evidence.add("values look like " + u.label()));
        } else {
            evidence.add("type " + column.type());
            preference += 2;
            if (nameSaysTime) {
                preference += 1;
            }
        }
        if (PREFERRED.contains(name)) {
            preference += 2;
        }
        if (column.notNull()) {
            evidence.add("NOT NULL");
            preference += 3;
        }
        if (leadsAnIndex(table, column.name())) {
            evidence.add("indexed");
            preference += 3;
        }
        Optional<Double> correlation = column.stats().flatMap(Catalog.ColumnStats::correlation);
        if (correlation.isPresent() && Math.abs(correlation.get()) >= 0.9) {
            preference += 2;
        }
        return Optional.of(new Choice(column, type.get(), List.copyOf(evidence), unit, preference));
    }

    static boolean leadsAnIndex(Table table, String column) {
        return table.indexes().stream().anyMatch(i -> !i.columns().isEmpty() && column.equals(i.columns().get(0)));
    }

    static Optional<Long> asLong(String text) {
        try {
            return Optional.of(Long.parseLong(text.strip()));
        } catch (NumberFormatException e) {
            return Optional.empty();
        }
    }
}
