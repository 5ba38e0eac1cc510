package io.tsmigrate.core.schema;

import org.junit.jupiter.api.Test;

import java.io.StringReader;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class SqlScannerTest {

    private static List<String> pieces(String script) throws Exception {
        List<String> out = new ArrayList<>();
        new SqlScanner(new SqlScanner.Sink() {
            @Override
            public void statement(String text) {
                out.add("S:" + text);
            }

            @Override
            public void metaCommand(String line) {
                out.add("M:" + line);
            }

            @Override
            public void copyData(String line) {
                out.add("D:" + line);
            }
        }).scan(new StringReader(script));
        return out;
    }

    @Test
    void splitsOnSemicolonsOutsideQuotesCommentsAndBodies() throws Exception {
        String script = "SELECT 'a;b', \"c;d\" FROM t; -- x;y\n"
                + "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $body$ SELECT 1; $body$;\n"
                + "/* a; /* nested; */ b; */ SELECT E'it\\'s;'; SELECT $$;$$;\n"
                + "CREATE RULE r AS ON INSERT TO t DO ALSO (INSERT INTO u VALUES (1); INSERT INTO u VALUES (2));\n";
        List<String> p = pieces(script);
        assertThat(p).containsExactly(
                "S:SELECT 'a;b', \"c;d\" FROM t;",
                "S: -- x;y\nCREATE FUNCTION f() RETURNS int LANGUAGE sql AS $body$ SELECT 1; $body$;\n",
                "S:/* a; /* nested; */ b; */ SELECT E'it\\'s;';",
                "S: SELECT $$;$$;\n",
                "S:CREATE RULE r AS ON INSERT TO t DO ALSO (INSERT INTO u VALUES (1); INSERT INTO u VALUES (2));\n");
        assertThat(String.join("", p.stream().map(s -> s.substring(2)).toList())).isEqualTo(script);
    }

    @Test
    void passesCopyDataAndMetaCommandsThrough() throws Exception {
        String script = "\\restrict abc\nSET x = 1;\nCOPY \"public\".\"t\" (\"a\", \"b\") FROM stdin;\n1\t'; DROP TABLE x;\n"
                + "2\t\\N\n\\.\n\nSELECT 1;\n\\unrestrict abc\n";
        assertThat(pieces(script)).containsExactly("M:\\restrict abc\n", "S:SET x = 1;\n",
                "S:COPY \"public\".\"t\" (\"a\", \"b\") FROM stdin;\n", "D:1\t'; DROP TABLE x;\n", "D:2\t\\N\n", "D:\\.\n",
                "S:\nSELECT 1;\n", "M:\\unrestrict abc\n");
    }

    @Test
    void keepsMultiLineStringsWhole() throws Exception {
        assertThat(pieces("COMMENT ON TABLE t IS 'line one;\nline two';\n"))
                .containsExactly("S:COMMENT ON TABLE t IS 'line one;\nline two';\n");
    }
}
