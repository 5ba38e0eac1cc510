package io.tsmigrate.core.load;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class LoadComparisonTest {

    @Test
    void aBucketIsReportedAsItsMiddle() {
        // Bucket 80 holds [1024, 1152) µs, bucket 87 holds [1920, 2048) µs.
        assertThat(LoadComparison.middle(80)).isEqualTo(1088);
        assertThat(LoadComparison.middle(87)).isEqualTo(1984);
        assertThat(LoadComparison.middle(0)).isEqualTo(1);
    }

    @Test
    void percentilesCountFromTheFastestBucket() {
        long[] buckets = new long[LoadComparison.BUCKETS];
        buckets[80] = 94;
        buckets[88] = 5;
        buckets[100] = 1;
        LoadComparison.Percentiles p = LoadComparison.percentiles(buckets);
        assertThat(p.samples()).isEqualTo(100);
        assertThat(p.p50()).isEqualTo(1088);
        assertThat(p.p95()).isEqualTo(LoadComparison.middle(88));
        assertThat(p.p99()).isEqualTo(LoadComparison.middle(88));
        assertThat(LoadComparison.percentiles(new long[LoadComparison.BUCKETS]).p95()).isZero();
    }
}
