package io.tsmigrate.core;

import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The one duration grammar every option uses, and numbers written for a glance. */
class HumanTest {

    @Test
    void readsEveryUnitMillisecondsIncluded() {
        assertThat(Human.parseDuration("200ms", "--x")).isEqualTo(Duration.ofMillis(200));
        assertThat(Human.parseDuration("1h 30m", "--x")).isEqualTo(Duration.ofMinutes(90));
        assertThat(Human.parseDuration("2d", "--x")).isEqualTo(Duration.ofDays(2));
        assertThat(Human.parseDuration("90s", "--x")).isEqualTo(Duration.ofSeconds(90));
        assertThat(Human.parseDuration("1m500ms", "--x")).isEqualTo(Duration.ofMillis(60_500));
        assertThat(Human.parseDuration("PT5S", "--x")).isEqualTo(Duration.ofSeconds(5));
    }

    @Test
    void refusesWhatIsNotADurationWithOneSentence() {
        assertThatThrownBy(() -> Human.parseDuration("5 parsecs", "--x")).isInstanceOf(TsmigrateException.class)
                .hasMessage("--x \"5 parsecs\" is not a duration; write it as 1h, 30m, 90s or 2d.");
    }

    @Test
    void compactNumbersKeepThreeSignificantDigits() {
        assertThat(Human.compact(0)).isEqualTo("0");
        assertThat(Human.compact(999)).isEqualTo("999");
        assertThat(Human.compact(1_000)).isEqualTo("1.00 k");
        assertThat(Human.compact(12_345)).isEqualTo("12.3 k");
        assertThat(Human.compact(245_000.4)).isEqualTo("245 k");
        assertThat(Human.compact(999_600)).isEqualTo("1.00 M");
        assertThat(Human.compact(1_234_567)).isEqualTo("1.23 M");
        assertThat(Human.compact(3_400_000_000L)).isEqualTo("3.40 G");
    }
}
