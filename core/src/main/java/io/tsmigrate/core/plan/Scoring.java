package io.tsmigrate.core.plan;

import io.tsmigrate.core.time.TimeValues;
import io.tsmigrate.core.Human;
import io.tsmigrate.core.catalog.Catalog;
import io.tsmigrate.core.catalog.Catalog.Column;
import io.tsmigrate.core.catalog.Catalog.Table;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Scores a candidate from 0 to 100 with the reasons behind the score: size (up to 40), rows (15),
 * append-mostly order of the time column (20), an index leading with it (10), partitioned by range
 * on it (15), recent data (10), NOT NULL (5). Also suggests compression settings: a low-cardinality grouping column to segment
 * by, and time descending to order by.
 */
final class Scoring {

    /** Candidates at or above this score are chosen when they are large enough. */
    static final int CHOOSE_AT = 40;

    private static final Pattern GROUPING_NAME = Pattern.compile(
            "(^|_)(device|host|hostname|sensor|symbol|ticker|tenant|customer|user|account|metric|tag|location|region|"
                    + "site|source|asset|machine|meter|station|vehicle|node|service|instance)(_id|_name|_key)?$|_id$");
    private static final List<String> GROUPING_TYPES = List.of("int2", "int4", "int8", "text", "varchar", "bpchar", "uuid");

    record Score(int value, List<String> reasons) {
    }

    private Scoring() {
    }

    static Score score(Table table, TimeColumns.Choice time, Instant now) {
        List<String> reasons = new ArrayList<>();
        double bytes = Math.max(table.totalBytes(), 1);
        // 1 MB scores 0, 1 GB 30, 100 GB and more 40.
        int size = (int) Math.round(Math.max(0, Math.min(40, (Math.log10(bytes) - 6) * 10)));
        reasons.add(Human.bytes(table.totalBytes()) + " (+" + size + ")");
        double rows = Math.max(table.estimatedRows(), 0);
        // 10,000 rows score 0, 100 million 15.
        int rowScore = rows < 1 ? 0 : (int) Math.round(Math.max(0, Math.min(15, (Math.log10(rows) - 4) * 3.75)));
        reasons.add(table.estimatedRows() < 0 ? "row count unknown (never analyzed)"
                : Human.count((long) rows) + " rows (+" + rowScore + ")");
        Optional<Double> correlation = time.column().stats().flatMap(Catalog.ColumnStats::correlation);
        int order;
        if (correlation.isPresent()) {
            double c = Math.abs(correlation.get());
            order = c >= 0.9 ? 20 : c <= 0.5 ? 0 : (int) Math.round((c - 0.5) / 0.4 * 20);
            reasons.add(String.format(Locale.ROOT, "%s correlation %.2f%s (+%d)", time.column().name(), correlation.get(),
                    c >= 0.9 ? ": append-mostly" : "", order));
        } else {
            order = 5;
            reasons.add("no statistics on " + time.column().name() + " (+5)");
        }
        int index = TimeColumns.leadsAnIndex(table, time.column().name()) ? 10 : 0;
        if (index > 0) {
            reasons.add("indexed on " + time.column().name() + " (+10)");
        }
        // Someone already split it by time: the strongest sign of time-series data there is.
        int partitioned = table.partitionedByRangeOn(time.column().name()) ? 15 : 0;
        if (partitioned > 0) {
            reasons.add("partitioned by range on " + time.column().name() + " (+15)");
        }
        int recent = 0;
        Optional<Instant> latest = time.column().stats().flatMap(Catalog.ColumnStats::highestBound)
                .flatMap(v -> TimeValues.toInstant(v, time.type(), time.unit()));
        if (latest.isPresent()) {
            Duration age = Duration.between(latest.get(), now);
            recent = age.compareTo(Duration.ofDays(7)) <= 0 ? 10 : age.compareTo(Duration.ofDays(90)) <= 0 ? 5 : 0;
            reasons.add("latest " + time.column().name() + " about " + latest.get().toString().substring(0, 10)
                    + (recent > 0 ? " (recent, +" + recent + ")" : " (old)"));
        }
        int notNull = time.column().notNull() ? 5 : 0;
        if (notNull > 0) {
            reasons.add(time.column().name() + " NOT NULL (+5)");
        }
        return new Score(Math.min(100, size + rowScore + order + index + partitioned + recent + notNull), List.copyOf(reasons));
    }

    /** A column to segment compressed data by: low cardinality, a grouping name; empty if none. */
    static List<String> segmentBy(Table table, TimeColumns.Choice time) {
        double rows = Math.max(table.estimatedRows(), 0);
        return table.columns().stream()
                .filter(c -> !c.name().equals(time.column().name()) && !c.generated() && GROUPING_TYPES.contains(c.typeName()))
                .filter(c -> c.stats().map(s -> {
                    double distinct = s.distinctValues(rows);
                    return distinct >= 2 && distinct <= 10_000;
                }).orElse(GROUPING_NAME.matcher(c.name()).find()))
                .max(Comparator.comparingInt((Column c) -> GROUPING_NAME.matcher(c.name()).find() ? 1 : 0)
                        .thenComparing(c -> -c.stats().map(s -> s.distinctValues(rows)).orElse(1e9))
                        .thenComparing(c -> -c.position()))
                .map(c -> List.of(c.name()))
                .orElse(List.of());
    }
}
