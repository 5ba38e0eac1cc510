package io.tsmigrate.core.plan;

import io.tsmigrate.core.catalog.TableRef;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class TablePatternTest {

    @Test
    void matchesTablePatternsLikePgDump() {
        assertThat(TablePattern.parse("metrics").matches(new TableRef("app", "metrics"))).isTrue();
        assertThat(TablePattern.parse("public.met*").matches(new TableRef("public", "metrics_2024"))).isTrue();
        assertThat(TablePattern.parse("public.Met*").matches(new TableRef("public", "metrics"))).isTrue();
        assertThat(TablePattern.parse("\"Odd\".\"Name?\"").matches(new TableRef("Odd", "Name?"))).isTrue();
        assertThat(TablePattern.parse("public.m?trics").matches(new TableRef("other", "metrics"))).isFalse();
    }

    @Test
    void readsADoubledQuoteInsideQuotesAsOneQuote() {
        assertThat(TablePattern.parse("public.\"Sensor \"\"Data\"\"\"").matches(new TableRef("public", "Sensor \"Data\""))).isTrue();
        assertThat(TablePattern.parse("public.\"Sensor \"\"Data\"\"\"").matches(new TableRef("public", "Sensor Data"))).isFalse();
    }
}
