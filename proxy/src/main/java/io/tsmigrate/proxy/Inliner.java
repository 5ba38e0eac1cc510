package io.tsmigrate.proxy;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.HexFormat;
import java.util.UUID;
import java.util.function.IntFunction;

/**
 * Turns an extended-protocol statement and its bound values into one SQL text with the values
 * written as literals, so that the secondary (and the journal) can run it as the primary did.
 * Each {@code $n} outside string literals, quoted identifiers, comments and dollar quotes becomes
 * {@code 'value'::type} when the client named the parameter's type, and {@code 'value'} (a literal
 * of unknown type, which the server types from its context exactly as it types an unnamed
 * parameter) when it did not. Types are named, never numbered: type OIDs differ between servers.
 */
final class Inliner {

    /** A bound value as the client sent it: its type OID (0 when unnamed), format (0 text, 1 binary) and bytes (null for NULL). */
    record Value(int typeOid, int format, byte[] bytes) {
    }

    private Inliner() {
    }

    /**
     * @param typeName the qualified name of a type OID ({@code format_type}), looked up on the primary
     * @throws IllegalArgumentException for a binary value of a type the proxy cannot read
     */
    static String inline(String sql, Value[] values, IntFunction<String> typeName) {
        StringBuilder out = new StringBuilder(sql.length() + 16 * values.length);
        int i = 0;
        int n = sql.length();
        while (i < n) {
            char c = sql.charAt(i);
            if (c == '\'' || c == '"') {
                // E'...' strings take backslash escapes (E'it\'s'); others only a doubled quote.
                boolean escapes = c == '\'' && i > 0 && (sql.charAt(i - 1) == 'E' || sql.charAt(i - 1) == 'e')
                        && (i < 2 || !(Character.isLetterOrDigit(sql.charAt(i - 2)) || sql.charAt(i - 2) == '_'));
                int end = closing(sql, i + 1, c, escapes);
                out.append(sql, i, end);
                i = end;
            } else if (c == '-' && i + 1 < n && sql.charAt(i + 1) == '-') {
                int end = sql.indexOf('\n', i);
                end = end < 0 ? n : end;
                out.append(sql, i, end);
                i = end;
            } else if (c == '/' && i + 1 < n && sql.charAt(i + 1) == '*') {
                int end = blockCommentEnd(sql, i);
                out.append(sql, i, end);
                i = end;
            } else if (c == '$') {
                int j = i + 1;
                while (j < n && Character.isDigit(sql.charAt(j))) {
                    j++;
                }
                boolean partOfIdentifier = i > 0 && (Character.isLetterOrDigit(sql.charAt(i - 1)) || sql.charAt(i - 1) == '_');
                if (j > i + 1 && !partOfIdentifier) {
                    int index = Integer.parseInt(sql.substring(i + 1, j));
                    if (index < 1 || index > values.length) {
                        throw new IllegalArgumentException("the statement uses $" + index + " but " + values.length
                                + " value(s) are bound");
                    }
                    out.append(literal(values[index - 1], typeName));
                    i = j;
                } else if (!partOfIdentifier) {
                    int tagEnd = dollarTagEnd(sql, i);
                    if (tagEnd > 0) {
                        String tag = sql.substring(i, tagEnd + 1);
                        int close = sql.indexOf(tag, tagEnd + 1);
                        int end = close < 0 ? n : close + tag.length();
                        out.append(sql, i, end);
                        i = end;
                    } else {
                        out.append(c);
                        i++;
                    }
                } else {
                    out.append(c);
                    i++;
                }
            } else {
                out.append(c);
                i++;
            }
        }
        return out.toString();
    }

    static String literal(Value v, IntFunction<String> typeName) {
        if (v.bytes() == null) {
            return "NULL";
        }
        String text = v.format() == 0 ? new String(v.bytes(), StandardCharsets.UTF_8) : binaryToText(v.typeOid(), v.bytes());
        String quoted = "'" + text.replace("'", "''") + "'";
        return v.typeOid() == 0 ? quoted : quoted + "::" + typeName.apply(v.typeOid());
    }

    private static final LocalDate PG_EPOCH = LocalDate.of(2000, 1, 1);
    private static final DateTimeFormatter TS = DateTimeFormatter.ofPattern("uuuu-MM-dd HH:mm:ss.SSSSSS");

    /** The text form of a binary value, for the types clients send in binary. */
    static String binaryToText(int oid, byte[] b) {
        ByteBuffer buf = ByteBuffer.wrap(b);
        return switch (oid) {
            case 16 -> b[0] != 0 ? "t" : "f";
            case 17 -> "\\x" + HexFormat.of().formatHex(b);
            case 20 -> Long.toString(buf.getLong());
            case 21 -> Short.toString(buf.getShort());
            case 23, 26 -> Integer.toString(buf.getInt());
            case 700 -> floatText(buf.getFloat());
            case 701 -> doubleText(buf.getDouble());
            case 25, 1042, 1043, 19, 114, 0 -> new String(b, StandardCharsets.UTF_8);
            case 3802 -> new String(b, 1, b.length - 1, StandardCharsets.UTF_8); // jsonb: a version byte, then text
            case 2950 -> new UUID(buf.getLong(), buf.getLong()).toString();
            case 1082 -> PG_EPOCH.plusDays(buf.getInt()).toString();
            case 1114 -> timestamp(buf.getLong());
            case 1184 -> timestamp(buf.getLong()) + "+00";
            case 1700 -> numeric(buf);
            default -> throw new IllegalArgumentException("a binary value of type OID " + oid + " cannot be repeated on the "
                    + "secondary (send it in text format)");
        };
    }

    private static String timestamp(long micros) {
        if (micros == Long.MAX_VALUE) {
            return "infinity";
        }
        if (micros == Long.MIN_VALUE) {
            return "-infinity";
        }
        LocalDateTime t = PG_EPOCH.atStartOfDay().plusSeconds(Math.floorDiv(micros, 1_000_000L))
                .plusNanos(Math.floorMod(micros, 1_000_000L) * 1000L);
        return t.atOffset(ZoneOffset.UTC).toLocalDateTime().format(TS);
    }

    private static String floatText(float f) {
        return Float.isNaN(f) ? "NaN" : Float.isInfinite(f) ? (f > 0 ? "Infinity" : "-Infinity") : Float.toString(f);
    }

    private static String doubleText(double d) {
        return Double.isNaN(d) ? "NaN" : Double.isInfinite(d) ? (d > 0 ? "Infinity" : "-Infinity") : Double.toString(d);
    }

    /** PostgreSQL's binary numeric: base-10000 digits with a weight, a sign and a display scale. */
    private static String numeric(ByteBuffer buf) {
        int ndigits = buf.getShort();
        int weight = buf.getShort();
        int sign = buf.getShort() & 0xFFFF;
        int dscale = buf.getShort();
        if (sign == 0xC000) {
            return "NaN";
        }
        if (sign == 0xD000) {
            return "Infinity";
        }
        if (sign == 0xF000) {
            return "-Infinity";
        }
        BigInteger unscaled = BigInteger.ZERO;
        for (int i = 0; i < ndigits; i++) {
            unscaled = unscaled.multiply(BigInteger.valueOf(10000)).add(BigInteger.valueOf(buf.getShort()));
        }
        BigDecimal value = new BigDecimal(unscaled).scaleByPowerOfTen(4 * (weight - ndigits + 1));
        if (sign == 0x4000) {
            value = value.negate();
        }
        return value.setScale(dscale, java.math.RoundingMode.UNNECESSARY).toPlainString();
    }

    private static int closing(String sql, int from, char quote, boolean backslashEscapes) {
        int i = from;
        while (i < sql.length()) {
            if (backslashEscapes && sql.charAt(i) == '\\') {
                i += 2;
                continue;
            }
            if (sql.charAt(i) == quote) {
                if (i + 1 < sql.length() && sql.charAt(i + 1) == quote) {
                    i += 2;
                    continue;
                }
                return i + 1;
            }
            i++;
        }
        return sql.length();
    }

    private static int blockCommentEnd(String sql, int start) {
        int depth = 0;
        int i = start;
        while (i < sql.length() - 1) {
            if (sql.charAt(i) == '/' && sql.charAt(i + 1) == '*') {
                depth++;
                i += 2;
            } else if (sql.charAt(i) == '*' && sql.charAt(i + 1) == '/') {
                depth--;
                i += 2;
                if (depth == 0) {
                    return i;
                }
            } else {
                i++;
            }
        }
        return sql.length();
    }

    /** The index of the closing {@code $} of a dollar-quote tag starting at {@code start}, or -1. */
    private static int dollarTagEnd(String sql, int start) {
        int i = start + 1;
        while (i < sql.length() && (Character.isLetterOrDigit(sql.charAt(i)) || sql.charAt(i) == '_')) {
            i++;
        }
        return i < sql.length() && sql.charAt(i) == '$' && (i == start + 1 || !Character.isDigit(sql.charAt(start + 1))) ? i : -1;
    }
}
