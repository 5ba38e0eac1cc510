package io.tsmigrate.core.load;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonProperty;
import io.tsmigrate.core.state.ComputedWriteRecords;
import io.tsmigrate.core.state.ShadowReadRecords;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Runbook step 8 from the shadow reads the dual-write library recorded in
 * {@code tsmigrate.shadow_read}: per query shape, calls, result mismatches (those seen before the
 * backfill finished are expected), and latency percentiles on the source and the target with their
 * ratio. Percentiles come from microsecond buckets, 8 per power of two (each within 12.5%), as the
 * dual-write library's ShadowReads fills them.
 */
public final class LoadComparison {

    /** p50, p95 and p99 latency in microseconds. */
    /** Latency percentiles in microseconds; in JSON as milliseconds, in fields that say so ({@code p95_ms}). */
    public record Percentiles(@JsonIgnore long p50, @JsonIgnore long p95, @JsonIgnore long p99, long samples) {
        @JsonProperty("p50_ms")
        public double p50Ms() {
            return p50 / 1000.0;
        }

        @JsonProperty("p95_ms")
        public double p95Ms() {
            return p95 / 1000.0;
        }

        @JsonProperty("p99_ms")
        public double p99Ms() {
            return p99 / 1000.0;
        }
    }

    /**
     * One query shape.
     *
     * @param judged whether it had enough comparisons (--min-samples) for its latency to be judged
     */
    public record Shape(String shape, long calls, long compared, long mismatches, long expectedMismatches, long dropped,
                        String example, Percentiles source, Percentiles target, double p95Ratio, boolean judged) {
    }

    /** The whole comparison and its verdict; {@code shapes} is empty when no shadow read was recorded. */
    /**
     * @param computedWrites writes whose values each side computes for itself (reported beside the reads: the
     *                       rows they stored differ by design, and so may reads of them)
     */
    public record Report(List<Shape> shapes, long realMismatches, double maxSlowdown, long minSamples, List<String> problems,
                         List<ComputedWriteRecords.ComputedWrite> computedWrites) {
        public boolean passed() {
            return problems.isEmpty();
        }

        /** Shapes whose latency was not judged: too few comparisons. */
        public long unjudged() {
            return shapes.stream().filter(s -> !s.judged()).count();
        }
    }

    /** Bucket {@code 8e + s} holds [2^e (1 + s/8), 2^e (1 + (s+1)/8)) microseconds. */
    static final int SUB_BUCKETS = 8;
    static final int BUCKETS = 40 * SUB_BUCKETS;

    private LoadComparison() {
    }

    /** The middle of a bucket, in microseconds. */
    static long middle(int bucket) {
        int e = bucket / SUB_BUCKETS;
        int sub = bucket % SUB_BUCKETS;
        return Math.round(Math.pow(2, e) * (1 + (sub + 0.5) / SUB_BUCKETS));
    }

    /**
     * @param maxSlowdown the target's p95 may exceed the source's by at most this factor
     * @param minSamples  shapes with fewer compared calls are reported but not judged on latency
     * @throws IllegalArgumentException for a factor below 1 or fewer than 1 sample
     */
    public static Report read(Connection target, double maxSlowdown, long minSamples) throws SQLException {
        if (!(maxSlowdown >= 1.0) || minSamples < 1) {
            throw new IllegalArgumentException("maxSlowdown must be at least 1 and minSamples at least 1, got "
                    + maxSlowdown + " and " + minSamples);
        }
        Map<String, long[]> totals = new LinkedHashMap<>();
        Map<String, long[]> sourceBuckets = new LinkedHashMap<>();
        Map<String, long[]> targetBuckets = new LinkedHashMap<>();
        Map<String, String> examples = new LinkedHashMap<>();
        List<ShadowReadRecords.Shape> records = ShadowReadRecords.all(target);
        if (records.isEmpty()) {
            return new Report(List.of(), 0, maxSlowdown, minSamples, List.of(), ComputedWriteRecords.all(target));
        }
        for (ShadowReadRecords.Shape r : records) {
            long[] t = totals.computeIfAbsent(r.shape(), k -> new long[5]);
            t[0] += r.calls();
            t[1] += r.compared();
            t[2] += r.mismatches();
            t[3] += r.expectedMismatches();
            t[4] += r.dropped();
            if (r.example().isPresent() && (examples.get(r.shape()) == null || r.mismatches() > 0)) {
                examples.put(r.shape(), r.example().get());
            }
            add(sourceBuckets.computeIfAbsent(r.shape(), k -> new long[BUCKETS]), r.sourceBuckets());
            add(targetBuckets.computeIfAbsent(r.shape(), k -> new long[BUCKETS]), r.targetBuckets());
        }
        List<Shape> shapes = new ArrayList<>();
        List<String> problems = new ArrayList<>();
        long real = 0;
        for (Map.Entry<String, long[]> e : totals.entrySet()) {
            long[] t = e.getValue();
            Percentiles s = percentiles(sourceBuckets.get(e.getKey()));
            Percentiles g = percentiles(targetBuckets.get(e.getKey()));
            double ratio = s.p95() > 0 ? (double) g.p95() / s.p95() : 0;
            boolean judged = t[1] >= minSamples;
            shapes.add(new Shape(e.getKey(), t[0], t[1], t[2], t[3], t[4], examples.get(e.getKey()), s, g, ratio, judged));
            real += t[2];
            if (t[2] > 0) {
                problems.add(t[2] + " result mismatch(es) for " + e.getKey());
            }
            if (judged && ratio > maxSlowdown) {
                problems.add(String.format(java.util.Locale.ROOT, "the target's p95 is %.1fx the source's for %s (limit %.1fx)",
                        ratio, e.getKey(), maxSlowdown));
            }
        }
        shapes.sort(Comparator.comparingLong((Shape x) -> x.target().p95()).reversed());
        return new Report(List.copyOf(shapes), real, maxSlowdown, minSamples, List.copyOf(problems), ComputedWriteRecords.all(target));
    }

    private static void add(long[] into, long[] values) {
        for (int i = 0; i < values.length && i < into.length; i++) {
            into[i] += values[i];
        }
    }

    /** Percentiles from bucket counts, each reported as its bucket's middle. */
    static Percentiles percentiles(long[] buckets) {
        long total = 0;
        for (long b : buckets) {
            total += b;
        }
        return new Percentiles(at(buckets, total, 0.50), at(buckets, total, 0.95), at(buckets, total, 0.99), total);
    }

    private static long at(long[] buckets, long total, double q) {
        if (total == 0) {
            return 0;
        }
        long rank = (long) Math.ceil(q * total);
        long seen = 0;
        for (int i = 0; i < buckets.length; i++) {
            seen += buckets[i];
            if (seen >= rank) {
                return middle(i);
            }
        }
        return 0;
    }
}
