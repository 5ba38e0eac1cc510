package io.tsmigrate.core.plan;

import io.tsmigrate.core.TsmigrateException;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ChunkIntervalTest {

    @Test
    void parsesAndPrintsTimeIntervals() {
        assertThat(ChunkInterval.parse("1 day", false).micros()).isEqualTo(86_400_000_000L);
        assertThat(ChunkInterval.parse("6 hours", false).toString()).isEqualTo("6 hours");
        assertThat(ChunkInterval.parse("1 day 12 hours", false).toString()).isEqualTo("1 day 12 hours");
        assertThat(ChunkInterval.parse("14 days", false).toString()).isEqualTo("2 weeks");
        assertThat(ChunkInterval.parse("90 minutes", false).toString()).isEqualTo("1 hour 30 minutes");
        assertThat(ChunkInterval.parse("2 weeks", false).sql()).isEqualTo("INTERVAL '2 weeks'");
    }

    @Test
    void parsesIntegerIntervals() {
        assertThat(ChunkInterval.parse("86400000", true).units()).isEqualTo(86_400_000L);
        assertThat(ChunkInterval.parse("86400000", true).sql()).isEqualTo("86400000");
    }

    @Test
    void rejectsZeroNegativeAndNonsense() {
        assertThatThrownBy(() -> ChunkInterval.parse("0 days", false)).isInstanceOf(TsmigrateException.class)
                .hasMessageContaining("must be greater than zero");
        assertThatThrownBy(() -> ChunkInterval.parse("-1 day", false)).hasMessageContaining("must be greater than zero");
        assertThatThrownBy(() -> ChunkInterval.parse("0", true)).hasMessageContaining("must be greater than zero");
        assertThatThrownBy(() -> ChunkInterval.parse("1 fortnight", false)).hasMessageContaining("unknown unit \"fortnight\"");
        assertThatThrownBy(() -> ChunkInterval.parse("daily", false)).hasMessageContaining("is not an interval");
        assertThatThrownBy(() -> ChunkInterval.parse("1 day", true)).hasMessageContaining("is not a whole number");
    }
}
