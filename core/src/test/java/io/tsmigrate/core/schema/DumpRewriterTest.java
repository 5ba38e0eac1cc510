package io.tsmigrate.core.schema;

import io.tsmigrate.core.catalog.TableRef;
import org.junit.jupiter.api.Test;

import java.io.StringWriter;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

class DumpRewriterTest {

    @Test
    void createsAPartitionedHypertableAsAPlainTable() {
        DumpRewriter r = new DumpRewriter(new StringWriter(), Set.of(new TableRef("public", "events")), 17);
        String create = "CREATE TABLE \"public\".\"events\" (\n    \"time\" timestamp with time zone NOT NULL,\n"
                + "    \"kind\" \"text\" DEFAULT 'PARTITION BY'\n)\nPARTITION BY RANGE (\"time\");\n";
        assertThat(r.rewrite(create)).isEqualTo("CREATE TABLE \"public\".\"events\" (\n    \"time\" timestamp with time zone NOT NULL,\n"
                + "    \"kind\" \"text\" DEFAULT 'PARTITION BY'\n);\n");
        String other = "CREATE TABLE \"public\".\"logs\" (\"t\" date) PARTITION BY RANGE (\"t\");\n";
        assertThat(r.rewrite(other)).isEqualTo(other);
        assertThat(r.changes()).containsExactly("created public.events as a plain table, without its PARTITION BY clause");
    }

    @Test
    void dropsTransactionTimeoutForTargetsBefore17() {
        assertThat(new DumpRewriter(new StringWriter(), Set.of(), 16).rewrite("SET transaction_timeout = 0;\n")).isEmpty();
        assertThat(new DumpRewriter(new StringWriter(), Set.of(), 17).rewrite("SET transaction_timeout = 0;\n"))
                .isEqualTo("SET transaction_timeout = 0;\n");
    }

    @Test
    void comparesNonAsciiNamesAsTheCatalogHasThem() {
        String name = "mesures_été";
        String latin1 = new String(name.getBytes(java.nio.charset.StandardCharsets.UTF_8), java.nio.charset.StandardCharsets.ISO_8859_1);
        DumpRewriter r = new DumpRewriter(new StringWriter(), Set.of(new TableRef("public", name)), 17);
        assertThat(r.rewrite("CREATE TABLE \"public\".\"" + latin1 + "\" (\"t\" date) PARTITION BY RANGE (\"t\");\n"))
                .isEqualTo("CREATE TABLE \"public\".\"" + latin1 + "\" (\"t\" date);\n");
    }
}
