package io.tsmigrate.proxy;

import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class InlinerTest {

    private static Inliner.Value text(String s) {
        return new Inliner.Value(0, 0, s.getBytes(StandardCharsets.UTF_8));
    }

    private static Inliner.Value binary(int oid, byte[] b) {
        return new Inliner.Value(oid, 1, b);
    }

    @Test
    void replacesParametersOnlyOutsideLiteralsIdentifiersCommentsAndDollarQuotes() {
        String sql = "INSERT INTO \"t$1\" (a, b$1) VALUES ($1, '$1') -- $1\n /* $2 /* $2 */ */ RETURNING $$ $1 $$, $tag$ $2 $tag$, $2";
        String out = Inliner.inline(sql, new Inliner.Value[] {text("x"), text("it's")}, oid -> "never");
        assertThat(out).isEqualTo("INSERT INTO \"t$1\" (a, b$1) VALUES ('x', '$1') -- $1\n /* $2 /* $2 */ */ RETURNING $$ $1 $$, "
                + "$tag$ $2 $tag$, 'it''s'");
    }

    @Test
    void anEscapeStringEndsAtItsRealClosingQuote() {
        String out = Inliner.inline("SELECT E'it\\'s $1', e'\\\\', $1, note'$1'", new Inliner.Value[] {text("v")}, oid -> "never");
        assertThat(out).isEqualTo("SELECT E'it\\'s $1', e'\\\\', 'v', note'$1'");
    }

    @Test
    void namesTheTypeTheClientGaveByNameAndWritesNullAsNull() {
        String out = Inliner.inline("SELECT $1, $2, $10", values(), oid -> oid == 16384 ? "public.mood" : "text");
        assertThat(out).isEqualTo("SELECT 'calm'::public.mood, NULL, 'ten'");
    }

    private static Inliner.Value[] values() {
        Inliner.Value[] v = new Inliner.Value[10];
        v[0] = new Inliner.Value(16384, 0, "calm".getBytes(StandardCharsets.UTF_8));
        v[1] = new Inliner.Value(23, 1, null);
        for (int i = 2; i < 9; i++) {
            v[i] = text("unused");
        }
        v[9] = text("ten");
        return v;
    }

    @Test
    void readsTheBinaryFormatsClientsSend() {
        assertThat(Inliner.binaryToText(23, ByteBuffer.allocate(4).putInt(-42).array())).isEqualTo("-42");
        assertThat(Inliner.binaryToText(20, ByteBuffer.allocate(8).putLong(1L << 40).array())).isEqualTo("1099511627776");
        assertThat(Inliner.binaryToText(16, new byte[] {1})).isEqualTo("t");
        assertThat(Inliner.binaryToText(17, new byte[] {(byte) 0xde, (byte) 0xad})).isEqualTo("\\xdead");
        assertThat(Inliner.binaryToText(701, ByteBuffer.allocate(8).putDouble(0.1).array())).isEqualTo("0.1");
        assertThat(Inliner.binaryToText(1184, ByteBuffer.allocate(8).putLong(86_400_000_001L).array()))
                .isEqualTo("2000-01-02 00:00:00.000001+00");
        assertThat(Inliner.binaryToText(1082, ByteBuffer.allocate(4).putInt(-1).array())).isEqualTo("1999-12-31");
        // numeric 12.3450: digits 12 | 3450, weight 0, positive, display scale 4
        ByteBuffer n = ByteBuffer.allocate(12).putShort((short) 2).putShort((short) 0).putShort((short) 0).putShort((short) 4)
                .putShort((short) 12).putShort((short) 3450);
        assertThat(Inliner.binaryToText(1700, n.array())).isEqualTo("12.3450");
        ByteBuffer negative = ByteBuffer.allocate(10).putShort((short) 1).putShort((short) -1).putShort((short) 0x4000)
                .putShort((short) 2).putShort((short) 500);
        assertThat(Inliner.binaryToText(1700, negative.array())).isEqualTo("-0.05");
    }

    @Test
    void refusesABinaryValueItCannotRead() {
        assertThatThrownBy(() -> Inliner.inline("INSERT INTO t VALUES ($1)", new Inliner.Value[] {binary(600, new byte[16])},
                oid -> "point")).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("type OID 600");
    }

    @Test
    void refusesAParameterNumberWithNoValue() {
        assertThatThrownBy(() -> Inliner.inline("SELECT $2", new Inliner.Value[] {text("a")}, oid -> ""))
                .hasMessageContaining("$2 but 1 value(s)");
    }
}
