package io.tsmigrate.core.schema;

import io.tsmigrate.core.catalog.TableRef;
import org.junit.jupiter.api.Test;

import java.io.StringWriter;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

class DumpRewriterTest {

    @Test
    void createsAPartitionedHypertableAsAPlainTable() {
        DumpRewriter r = new DumpRewriter(new StringWriter(), Set.of(new TableRef("public", "events")), Set.of(), 17);
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
        assertThat(new DumpRewriter(new StringWriter(), Set.of(), Set.of(), 16).rewrite("SET transaction_timeout = 0;\n")).isEmpty();
        assertThat(new DumpRewriter(new StringWriter(), Set.of(), Set.of(), 17).rewrite("SET transaction_timeout = 0;\n"))
                .isEqualTo("SET transaction_timeout = 0;\n");
    }

    @Test
    void comparesNonAsciiNamesAsTheCatalogHasThem() {
        String name = "mesures_été";
        String latin1 = new String(name.getBytes(java.nio.charset.StandardCharsets.UTF_8), java.nio.charset.StandardCharsets.ISO_8859_1);
        DumpRewriter r = new DumpRewriter(new StringWriter(), Set.of(new TableRef("public", name)), Set.of(), 17);
        assertThat(r.rewrite("CREATE TABLE \"public\".\"" + latin1 + "\" (\"t\" date) PARTITION BY RANGE (\"t\");\n"))
                .isEqualTo("CREATE TABLE \"public\".\"" + latin1 + "\" (\"t\" date);\n");
    }

    @Test
    void createsForeignKeysIntoTablesWhoseRowsArriveLaterNotValid() {
        DumpRewriter r = new DumpRewriter(new StringWriter(), Set.of(), Set.of(new TableRef("public", "rental")), 17);
        String into = "ALTER TABLE ONLY \"public\".\"payment_p1\"\n    ADD CONSTRAINT \"payment_p1_rental_id_fkey\" FOREIGN KEY "
                + "(\"rental_id\") REFERENCES \"public\".\"rental\"(\"rental_id\");\n";
        assertThat(r.rewrite(into)).isEqualTo(into.replace(");\n", ") NOT VALID;\n"));
        String elsewhere = "ALTER TABLE ONLY \"public\".\"payment_p1\"\n    ADD CONSTRAINT \"payment_p1_staff_id_fkey\" FOREIGN KEY "
                + "(\"staff_id\") REFERENCES \"public\".\"staff\"(\"staff_id\");\n";
        assertThat(r.rewrite(elsewhere)).isEqualTo(elsewhere);
        String alreadyNotValid = into.replace(");\n", ") NOT VALID;\n").replace("p1_rental", "p1_other");
        assertThat(r.rewrite(alreadyNotValid)).isEqualTo(alreadyNotValid);
        assertThat(r.deferred()).containsExactly(new io.tsmigrate.core.state.ConstraintRecords.Deferred(new TableRef("public", "payment_p1"),
                "payment_p1_rental_id_fkey", new TableRef("public", "rental")));
    }
}
