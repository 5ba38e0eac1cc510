package io.tsmigrate.core.time;

import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;

class TimeValuesTest {

    @Test
    void readsTheTextFormsOfAUtcIsoSession() {
        assertThat(TimeValues.toInstant("2024-05-01 12:00:00.123456+00", TimeType.TIMESTAMPTZ, Optional.empty()))
                .contains(Instant.parse("2024-05-01T12:00:00.123456Z"));
        assertThat(TimeValues.toInstant("2024-05-01 12:00:00+05:30", TimeType.TIMESTAMPTZ, Optional.empty()))
                .contains(Instant.parse("2024-05-01T06:30:00Z"));
        assertThat(TimeValues.toInstant("2024-05-01 12:00:00", TimeType.TIMESTAMP, Optional.empty()))
                .contains(Instant.parse("2024-05-01T12:00:00Z"));
        assertThat(TimeValues.toInstant("2024-05-01", TimeType.DATE, Optional.empty()))
                .contains(Instant.parse("2024-05-01T00:00:00Z"));
        assertThat(TimeValues.toInstant("1700000000123", TimeType.BIGINT, Optional.of(EpochUnit.EPOCH_MS)))
                .contains(Instant.parse("2023-11-14T22:13:20.123Z"));
        assertThat(TimeValues.toInstant("1700000000123", TimeType.BIGINT, Optional.empty())).isEmpty();
        assertThat(TimeValues.toInstant("infinity", TimeType.TIMESTAMPTZ, Optional.empty())).isEmpty();
    }

    @Test
    void writesLiteralsForEachType() {
        Instant t = Instant.parse("2024-05-01T12:00:00.5Z");
        assertThat(TimeValues.literal(t, TimeType.TIMESTAMPTZ, Optional.empty())).isEqualTo("'2024-05-01T12:00:00.500+00'::timestamptz");
        assertThat(TimeValues.literal(t, TimeType.DATE, Optional.empty())).isEqualTo("'2024-05-01'::date");
        assertThat(TimeValues.literal(t, TimeType.BIGINT, Optional.of(EpochUnit.EPOCH_MS))).isEqualTo("1714564800500");
        assertThat(TimeValues.literal(t, TimeType.BIGINT, Optional.of(EpochUnit.EPOCH_S))).isEqualTo("1714564800");
    }

    @Test
    void guessesEpochUnitsFromMagnitude() {
        assertThat(EpochUnit.guess(1_700_000_000L)).contains(EpochUnit.EPOCH_S);
        assertThat(EpochUnit.guess(1_700_000_000_000L)).contains(EpochUnit.EPOCH_MS);
        assertThat(EpochUnit.guess(1_700_000_000_000_000L)).contains(EpochUnit.EPOCH_US);
        assertThat(EpochUnit.guess(42)).isEmpty();
    }
}
