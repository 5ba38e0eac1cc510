package io.tsmigrate.core.verify;

import io.tsmigrate.core.time.TimeAxis;
import io.tsmigrate.core.catalog.TableRef;

import java.sql.ResultSet;
import java.sql.Statement;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

/**
 * Narrows a differing part of a table down to the rows that differ: splits it into buckets (by
 * time for a hypertable, by a hash of the key for a plain table), digests every bucket on both
 * sides in one grouped query each, and goes on into the buckets that differ until they are small
 * enough to compare row by row.
 */
final class Narrower {

    /** Pieces with at most this many rows on either side are compared row by row. */
    static final long LEAF_ROWS = 20_000;
    private static final int FAN_OUT = 16;
    private static final int MAX_DEPTH = 12;

    private final TableDigest digest;
    private final SidePool source;
    private final SidePool target;
    private final Differences out;

    Narrower(TableDigest digest, SidePool source, SidePool target, Differences out) {
        this.digest = digest;
        this.source = source;
        this.target = target;
        this.out = out;
    }

    /** Narrows the rows matching {@code where} in the time span [lo, hi) of a hypertable. */
    void byTime(TimeAxis axis, String timeColumn, String where, long lo, long hi, int depth) {
        String position = axis.positionSql(TableRef.quote(timeColumn));
        if (lo == TimeAxis.LOWEST) {
            long min = Math.min(minimum(source, position, where), minimum(target, position, where));
            if (min == Long.MAX_VALUE) {
                return; // no rows on either side
            }
            lo = min;
        }
        long span = Math.max(1, hi - lo);
        long step = Math.max(1, (span + FAN_OUT - 1) / FAN_OUT);
        if (depth >= MAX_DEPTH || step == 1 && span <= FAN_OUT) {
            RowComparer.compare(digest, where, source, target, out);
            return;
        }
        String bucket = "((" + position + " - " + lo + ") / " + step + ")";
        for (Bucket b : differingBuckets(where, bucket)) {
            long from = lo + b.id() * step;
            long to = Math.min(hi, from + step);
            String piece = where + " AND " + position + " >= " + from + " AND " + position + " < " + to;
            if (b.id() < 0 || from >= hi) {
                // Rows outside the expected span (a bound estimated from the data) are compared as they are.
                RowComparer.compare(digest, where + " AND " + bucket + " = " + b.id(), source, target, out);
            } else if (b.rows() <= LEAF_ROWS) {
                RowComparer.compare(digest, piece, source, target, out);
            } else {
                byTime(axis, timeColumn, piece, from, to, depth + 1);
            }
        }
    }

    /** Narrows the rows matching {@code where} of a plain table by the hash of their key. */
    void byHash(String where, long modulus, int depth) {
        long next = modulus * FAN_OUT;
        String bucket = digest.hashBucketSql(next);
        for (Bucket b : differingBuckets(where, bucket)) {
            String piece = where + " AND " + bucket + " = " + b.id();
            if (b.rows() <= LEAF_ROWS || depth >= MAX_DEPTH) {
                RowComparer.compare(digest, piece, source, target, out);
            } else {
                byHash(piece, next, depth + 1);
            }
        }
    }

    /** A bucket whose digests differ, and its larger row count of the two sides. */
    private record Bucket(long id, long rows) {
    }

    private java.util.List<Bucket> differingBuckets(String where, String bucket) {
        CompletableFuture<Map<Long, Digest>> s = source.digest(digest.bucketDigestSql(where, bucket), true);
        CompletableFuture<Map<Long, Digest>> t = target.digest(digest.bucketDigestSql(where, bucket), true);
        Map<Long, Digest> sourceBuckets = SidePool.join(s);
        Map<Long, Digest> targetBuckets = SidePool.join(t);
        Set<Long> all = new HashSet<>(sourceBuckets.keySet());
        all.addAll(targetBuckets.keySet());
        return all.stream().sorted()
                .filter(b -> !sourceBuckets.getOrDefault(b, Digest.EMPTY).equals(targetBuckets.getOrDefault(b, Digest.EMPTY)))
                .map(b -> new Bucket(b, Math.max(sourceBuckets.getOrDefault(b, Digest.EMPTY).rows(),
                        targetBuckets.getOrDefault(b, Digest.EMPTY).rows())))
                .toList();
    }

    private long minimum(SidePool side, String position, String where) {
        return SidePool.join(side.submit(c -> {
            try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT min(" + position + ") FROM "
                    + digest.table().quoted() + " WHERE " + where)) {
                rs.next();
                long v = rs.getLong(1);
                return rs.wasNull() ? Long.MAX_VALUE : v;
            }
        }));
    }
}
