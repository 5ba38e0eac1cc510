package io.tsmigrate.dualwrite;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class ShadowReadsTest {

    private static final long MICRO = 1000;

    @Test
    void latencyBucketsAreEighthsOfEachPowerOfTwo() {
        // 1024 µs = 2^10: bucket 8 * 10 + 0; 1151 µs is still below 1024 * 9/8 = 1152.
        assertThat(ShadowReads.bucket(1024 * MICRO)).isEqualTo(80);
        assertThat(ShadowReads.bucket(1151 * MICRO)).isEqualTo(80);
        assertThat(ShadowReads.bucket(1152 * MICRO)).isEqualTo(81);
        assertThat(ShadowReads.bucket(2047 * MICRO)).isEqualTo(87);
        assertThat(ShadowReads.bucket(2048 * MICRO)).isEqualTo(88);
        // Below 8 µs a power of two has fewer than 8 distinct values; sub-millisecond nanos count as 1 µs.
        assertThat(ShadowReads.bucket(1)).isEqualTo(0);
        assertThat(ShadowReads.bucket(3 * MICRO)).isEqualTo(8 + 4);
        assertThat(ShadowReads.bucket(Long.MAX_VALUE)).isEqualTo(ShadowReads.BUCKETS - 1);
    }

    @Test
    void latencyBucketsNeverGoDownAsDurationsGrow() {
        int previous = 0;
        for (long micros = 1; micros < 5_000_000; micros += 1 + micros / 97) {
            int b = ShadowReads.bucket(micros * MICRO);
            assertThat(b).isGreaterThanOrEqualTo(previous);
            previous = b;
        }
    }

    @Test
    void queryShapesDropLiteralsAndFoldWhiteSpace() {
        assertThat(QueryShape.of("SELECT * FROM t WHERE id = 42 AND name = 'it''s'"))
                .isEqualTo("SELECT * FROM t WHERE id = ? AND name = ?");
        assertThat(QueryShape.of("select a\n  from t where x in (1, 2, 3) and y = $1"))
                .isEqualTo("select a from t where x in (?) and y = ?");
        assertThat(QueryShape.of("SELECT col1, t2.x FROM t2 WHERE v > -1.5e3"))
                .isEqualTo("SELECT col1, t2.x FROM t2 WHERE v > ?");
    }

    @Test
    void onlyAnOrderByAtTheEndMakesTheResultOrdered() {
        assertThat(RowDigest.ordered("SELECT * FROM t ORDER BY time DESC LIMIT 10")).isTrue();
        assertThat(RowDigest.ordered("SELECT * FROM (SELECT * FROM t ORDER BY time) s")).isFalse();
        assertThat(RowDigest.ordered("SELECT 'ORDER BY' FROM t")).isFalse();
        assertThat(RowDigest.ordered("SELECT * FROM t")).isFalse();
    }

    @Test
    void readsWithSideEffectsOnTheSecondaryAreNotShadowed() {
        assertThat(ShadowReads.comparable("SELECT * FROM orders WHERE id = ?")).isTrue();
        assertThat(ShadowReads.comparable("SELECT nextval('orders_id_seq')")).isFalse();
        assertThat(ShadowReads.comparable("SELECT * FROM orders WHERE id = ? FOR UPDATE")).isFalse();
        assertThat(ShadowReads.comparable("select * from jobs for no key update skip locked")).isFalse();
        assertThat(ShadowReads.comparable("SELECT pg_try_advisory_lock(42)")).isFalse();
        assertThat(ShadowReads.comparable("SELECT * FROM t WHERE kind = 'forupdate'")).isTrue();
    }
}
