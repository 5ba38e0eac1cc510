package io.tsmigrate.core.throttle;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;

/** The unit of a run's pace follows the operator's rate: rows or bytes, never one read as the other. */
class ThrottleTest {

    private final List<Throttle.State> changes = new ArrayList<>();

    private Throttle throttle(Optional<Double> cap, boolean capInBytes, boolean pacesBytes) throws Exception {
        return new Throttle(LoadLimits.NONE, LoadLimits.NONE, cap, capInBytes, pacesBytes, null, (s, changed) -> {
            if (changed) {
                changes.add(s);
            }
        });
    }

    @Test
    void anOperatorsRateInRowsPacesABackfillStartedWithAByteRateInRows() throws Exception {
        try (Throttle t = throttle(Optional.of(20e6), true, true)) {
            assertThat(t.limitsBytes()).isTrue();
            assertThat(t.limiter().permitsPerSecond()).isEqualTo(20e6);
            t.override(Optional.of(new Throttle.Setting(false, Optional.of(3000.0), Optional.empty(), Optional.empty(), "ops")));
            t.check();
            assertThat(t.limitsBytes()).as("rows, not 3,000 bytes/s").isFalse();
            assertThat(t.limiter().permitsPerSecond()).isEqualTo(3000.0);
            assertThat(Throttle.describe(t.state())).isEqualTo("3,000 rows/s (set by tsmigrate throttle --rate (ops))");
            t.override(Optional.empty()); // tsmigrate throttle --resume
            t.check();
            assertThat(t.limitsBytes()).isTrue();
            assertThat(t.limiter().permitsPerSecond()).isEqualTo(20e6);
            assertThat(Throttle.describe(t.state())).startsWith("19.1 MB/s (--max-rate)");
        }
    }

    @Test
    void anOperatorsByteRatePacesABackfillInBytesAndLeavesAVerifyAtItsOwnPace() throws Exception {
        try (Throttle backfill = throttle(Optional.of(5000.0), false, true); Throttle verify = throttle(Optional.of(5000.0), false, false)) {
            Throttle.Setting bytes = new Throttle.Setting(false, Optional.empty(), Optional.of(2e6), Optional.empty(), "ops");
            for (Throttle t : List.of(backfill, verify)) {
                t.override(Optional.of(bytes));
                t.check();
            }
            assertThat(backfill.limitsBytes()).isTrue();
            assertThat(backfill.limiter().permitsPerSecond()).isEqualTo(2e6);
            assertThat(verify.limitsBytes()).as("a verify counts rows only").isFalse();
            assertThat(verify.limiter().permitsPerSecond()).isEqualTo(5000.0);
            assertThat(changes).extracting(Throttle.State::bytes).containsExactly(true);
        }
    }
}
