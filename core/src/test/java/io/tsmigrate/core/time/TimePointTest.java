package io.tsmigrate.core.time;

import io.tsmigrate.core.json.Json;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.Map;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class TimePointTest {

    @Test
    void isWrittenAsPostgresqlWritesItInAUtcIsoSession() {
        // The server's own spelling, so that T reads the same in the state, in status and in messages.
        assertThat(TimePoint.of(TimeType.TIMESTAMPTZ, "2026-11-20 12:00:00.500+00").literal()).isEqualTo("2026-11-20 12:00:00.5+00");
        assertThat(TimePoint.of(TimeType.TIMESTAMPTZ, "2026-11-20 13:00:00.000001+01").literal()).isEqualTo("2026-11-20 12:00:00.000001+00");
        assertThat(TimePoint.of(TimeType.TIMESTAMP, "2026-11-20 12:00:00").literal()).isEqualTo("2026-11-20 12:00:00");
        assertThat(TimePoint.of(TimeType.DATE, "2026-11-20").literal()).isEqualTo("2026-11-20");
        assertThat(TimePoint.of(TimeType.BIGINT, "1763640000000").literal()).isEqualTo("1763640000000");
        assertThat(TimePoint.lowest(TimeType.TIMESTAMPTZ).literal()).isEqualTo("-infinity");
        assertThat(TimePoint.lowest(TimeType.INTEGER).literal()).isEqualTo("-2147483648");
    }

    @Test
    void comparesByPositionNotByText() {
        TimePoint earlier = TimePoint.of(TimeType.TIMESTAMPTZ, "2026-11-20 12:00:00+01");
        TimePoint later = TimePoint.of(TimeType.TIMESTAMPTZ, "2026-11-20 11:30:00+00");
        assertThat(earlier.isBefore(later)).isTrue();
        assertThat(TimePoint.of(TimeType.TIMESTAMPTZ, "2026-11-20 12:00:00.5+00"))
                .isEqualTo(TimePoint.of(TimeType.TIMESTAMPTZ, "2026-11-20 12:00:00.500000+00"));
        assertThat(earlier.until(later)).isEqualTo(new TimeRange(TimeType.TIMESTAMPTZ, earlier.position(), later.position()));
        assertThatThrownBy(() -> later.until(earlier)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> earlier.until(TimePoint.of(TimeType.DATE, "2026-11-21")))
                .hasMessage("a range needs two points of one type, got timestamptz and date");
    }

    @Test
    void standsForAnInstantWhenItsUnitIsKnown() {
        assertThat(TimePoint.of(TimeType.DATE, "2026-11-20").instant(Optional.empty())).contains(Instant.parse("2026-11-20T00:00:00Z"));
        assertThat(TimePoint.of(TimeType.BIGINT, "1763640000000").instant(Optional.of(EpochUnit.EPOCH_MS)))
                .contains(Instant.parse("2025-11-20T12:00:00Z"));
        assertThat(TimePoint.of(TimeType.BIGINT, "1763640000000").instant(Optional.empty())).isEmpty();
        assertThat(TimePoint.lowest(TimeType.TIMESTAMPTZ).instant(Optional.empty())).isEmpty();
    }

    @Test
    void isAJsonValueInTheOutputContract() {
        // --json writes a timestamptz as ISO-8601 UTC, and any other point as its literal.
        assertThat(Json.outputLine(Map.of("until", TimePoint.of(TimeType.TIMESTAMPTZ, "2026-11-20 12:00:00+00"))))
                .isEqualTo("{\"until\":\"2026-11-20T12:00:00Z\"}");
        assertThat(Json.outputLine(Map.of("until", TimePoint.of(TimeType.DATE, "2026-11-20")))).isEqualTo("{\"until\":\"2026-11-20\"}");
        assertThat(Json.outputLine(Map.of("until", TimePoint.of(TimeType.BIGINT, "17")))).isEqualTo("{\"until\":\"17\"}");
    }
}
