package io.tsmigrate.core.throttle;

import io.tsmigrate.core.TsmigrateException;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class LoadLimitsTest {

    @Test
    void readsTheSignalsInAnyOrder() {
        LoadLimits l = LoadLimits.parse("--max-load", "replica-lag=30s, active-sessions=20,probe-latency=2.5x");
        assertThat(l.probeLatencyFactor()).contains(2.5);
        assertThat(l.activeSessions()).hasValue(20);
        assertThat(l.replicaLag()).contains(Duration.ofSeconds(30));
        assertThat(l.any()).isTrue();
        assertThat(LoadLimits.NONE.any()).isFalse();
    }

    @Test
    void saysWhichLimitsTheSignalsReach() {
        LoadLimits l = LoadLimits.parse("--max-load", "probe-latency=2x,active-sessions=5,replica-lag=10s");
        assertThat(l.reached(new SourceSignals(0.9, 4, Optional.of(Duration.ofSeconds(9))), 0.5)).isEmpty();
        assertThat(l.reached(new SourceSignals(1.0, 5, Optional.empty()), 0.5))
                .contains("probe latency 1.00 ms >= 2.0x the 0.50 ms before the copy, active sessions 5 >= 5");
        assertThat(l.reached(new SourceSignals(0.1, 0, Optional.of(Duration.ofSeconds(12))), 0.5))
                .contains("replica lag 12.0s >= 10.0s");
    }

    @Test
    void refusesWhatItCannotRead() {
        assertThatThrownBy(() -> LoadLimits.parse("--max-load", "cpu=90")).isInstanceOf(TsmigrateException.class)
                .hasMessageContaining("unknown signal \"cpu\"");
        assertThatThrownBy(() -> LoadLimits.parse("--critical-load", "active-sessions=0"))
                .hasMessageContaining("active-sessions needs a whole number of at least 1");
        assertThatThrownBy(() -> LoadLimits.parse("--max-load", "probe-latency=0.5x"))
                .hasMessageContaining("probe-latency needs a factor above 1");
        assertThatThrownBy(() -> LoadLimits.parse("--max-load", "replica-lag=soon")).isInstanceOf(TsmigrateException.class);
    }
}
