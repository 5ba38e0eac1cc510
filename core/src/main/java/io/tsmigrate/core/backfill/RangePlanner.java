package io.tsmigrate.core.backfill;

import io.tsmigrate.core.time.TimeAxis;
import java.util.ArrayList;
import java.util.List;

/**
 * Splits {@code [from, until)} of one table into ranges aligned with the target's chunks, then
 * splits any range whose estimated rows exceed the budget into equal parts. The first range
 * starts at {@code from}, or at {@link TimeAxis#LOWEST} so that no row older than the estimated
 * start of the data is missed. Pure arithmetic on axis positions.
 */
final class RangePlanner {

    /** A range's bounds on the axis and its estimated rows. */
    record Span(long start, long end, long estimatedRows) {
    }

    /**
     * How rows are spread over the axis: for each part of the table (the table, or each partition),
     * its histogram bounds (equal rows between neighbours, as pg_stats keeps them) and its rows.
     */
    record Density(List<Part> parts) {
        record Part(List<Long> bounds, double rows) {
        }

        static Density unknown() {
            return new Density(List.of());
        }

        /** Estimated rows in [a, b). */
        double rowsIn(long a, long b) {
            double sum = 0;
            for (Part part : parts) {
                List<Long> bounds = part.bounds();
                if (bounds.size() < 2 || part.rows() <= 0) {
                    continue;
                }
                double perBucket = part.rows() / (bounds.size() - 1);
                for (int i = 0; i + 1 < bounds.size(); i++) {
                    long lo = bounds.get(i);
                    long hi = bounds.get(i + 1);
                    long from = Math.max(lo, a);
                    long to = Math.min(hi, b);
                    if (to > from && hi > lo) {
                        sum += perBucket * ((double) to - from) / ((double) hi - lo);
                    } else if (hi == lo && lo >= a && lo < b) {
                        sum += perBucket;
                    }
                }
            }
            return sum;
        }

        long lowest() {
            return parts.stream().filter(p -> !p.bounds().isEmpty()).mapToLong(p -> p.bounds().get(0)).min().orElse(Long.MAX_VALUE);
        }
    }

    private RangePlanner() {
    }

    /**
     * @param from     the first position to copy, or {@link TimeAxis#LOWEST} for everything
     * @param until    the completion point T (exclusive)
     * @param interval the target's chunk interval, in axis units
     * @param maxRows  the row budget of one range
     */
    static List<Span> plan(long from, long until, long interval, Density density, long maxRows) {
        if (until <= from) {
            return List.of();
        }
        long dataStart = from != TimeAxis.LOWEST ? from : Math.min(density.lowest(), until - 1);
        List<long[]> chunks = new ArrayList<>();
        long previous = from;
        long boundary = TimeAxis.alignDown(dataStart, interval) + interval;
        while (boundary < until) {
            if (boundary > previous) {
                chunks.add(new long[] {previous, boundary});
                previous = boundary;
            }
            boundary += interval;
        }
        chunks.add(new long[] {previous, until});

        List<Span> spans = new ArrayList<>();
        for (long[] c : chunks) {
            long start = c[0];
            long end = c[1];
            double rows = density.rowsIn(start == TimeAxis.LOWEST ? Long.MIN_VALUE : start, end);
            int parts = maxRows > 0 ? (int) Math.min(1000, Math.ceil(rows / maxRows)) : 1;
            long splitFrom = start == TimeAxis.LOWEST ? Math.max(dataStart, end - interval) : start;
            if (parts <= 1 || end - splitFrom < parts) {
                spans.add(new Span(start, end, Math.round(rows)));
                continue;
            }
            long step = (end - splitFrom) / parts;
            long lo = start;
            for (int i = 1; i < parts; i++) {
                long hi = splitFrom + step * i;
                spans.add(new Span(lo, hi, Math.round(density.rowsIn(lo == TimeAxis.LOWEST ? Long.MIN_VALUE : lo, hi))));
                lo = hi;
            }
            spans.add(new Span(lo, end, Math.round(density.rowsIn(lo, end))));
        }
        return spans;
    }
}
