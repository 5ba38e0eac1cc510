package io.tsmigrate.dualwrite;

import io.tsmigrate.dualwrite.Write.Param;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.Reader;
import java.io.StringWriter;
import java.math.BigDecimal;
import java.sql.Array;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.SQLFeatureNotSupportedException;
import java.sql.Types;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.LocalTime;
import java.time.OffsetDateTime;
import java.util.UUID;

/**
 * Turns the application's {@code setXxx} calls into {@link Param}s that can be applied again, to
 * the secondary now or from the journal later, and applies them. Streams are read once into memory
 * (they cannot be read twice); arrays travel as their text form and are cast by the server.
 */
final class Params {

    private Params() {
    }

    /** The parameter a setter call makes, or an exception for a setter dual-write cannot repeat. */
    static Param of(String method, Object[] args) throws SQLException {
        int index = (Integer) args[0];
        Object value = args.length > 1 ? args[1] : null;
        try {
            return switch (method) {
                case "setNull" -> new Param(index, Param.NULL, args[1], -1);
                case "setString", "setNString" -> typed(index, value, 's', -1);
                case "setInt" -> typed(index, value, 'i', -1);
                case "setLong" -> typed(index, value, 'l', -1);
                case "setShort" -> typed(index, ((Short) value).intValue(), 'h', -1);
                case "setByte" -> typed(index, ((Byte) value).intValue(), 'h', -1);
                case "setBoolean" -> typed(index, value, 'b', -1);
                case "setDouble" -> typed(index, value, 'd', -1);
                case "setFloat" -> typed(index, value, 'f', -1);
                case "setBigDecimal" -> typed(index, value, 'D', -1);
                case "setBytes" -> typed(index, value, 'y', -1);
                case "setTimestamp" -> typed(index, value, 't', -1);
                case "setDate" -> typed(index, value, 'a', -1);
                case "setTime" -> typed(index, value, 'T', -1);
                case "setBinaryStream", "setBlob" -> typed(index, value instanceof InputStream in ? in.readAllBytes() : value, 'y', -1);
                case "setCharacterStream", "setNCharacterStream", "setAsciiStream", "setClob", "setNClob" ->
                        typed(index, value instanceof Reader r ? read(r) : value instanceof InputStream in
                                ? new String(in.readAllBytes(), java.nio.charset.StandardCharsets.US_ASCII) : value, 's', -1);
                case "setArray" -> typed(index, value == null ? null : ((Array) value).toString(), 'x', Types.OTHER);
                case "setObject" -> object(index, value, args.length > 2 && args[2] instanceof Integer t ? t
                        : args.length > 2 && args[2] instanceof java.sql.SQLType st && st.getVendorTypeNumber() != null
                        ? st.getVendorTypeNumber() : -1);
                default -> throw new SQLFeatureNotSupportedException(method + " cannot be repeated on the secondary by "
                        + "tsmigrate dual-write; pass the value with setObject, setString or setBytes instead");
            };
        } catch (IOException e) {
            throw new SQLException("cannot read the stream given to " + method + ": " + e.getMessage(), e);
        }
    }

    private static Param typed(int index, Object value, char type, int sqlType) {
        return value == null ? new Param(index, Param.NULL, Types.NULL, -1) : new Param(index, type, value, sqlType);
    }

    private static Param object(int index, Object value, int sqlType) {
        if (value == null) {
            return new Param(index, Param.NULL, sqlType == -1 ? Types.NULL : sqlType, -1);
        }
        char type;
        Object v = value;
        if (value instanceof String) {
            type = 's';
        } else if (value instanceof Integer || value instanceof Short || value instanceof Byte) {
            type = 'i';
            v = ((Number) value).intValue();
        } else if (value instanceof Long) {
            type = 'l';
        } else if (value instanceof Boolean) {
            type = 'b';
        } else if (value instanceof Double) {
            type = 'd';
        } else if (value instanceof Float) {
            type = 'f';
        } else if (value instanceof BigDecimal) {
            type = 'D';
        } else if (value instanceof byte[]) {
            type = 'y';
        } else if (value instanceof java.sql.Timestamp) {
            type = 't';
        } else if (value instanceof java.sql.Date) {
            type = 'a';
        } else if (value instanceof java.sql.Time) {
            type = 'T';
        } else if (value instanceof UUID) {
            type = 'u';
        } else if (value instanceof OffsetDateTime) {
            type = 'o';
        } else if (value instanceof LocalDateTime) {
            type = 'L';
        } else if (value instanceof LocalDate) {
            type = 'A';
        } else if (value instanceof LocalTime) {
            type = 'M';
        } else {
            // Anything else travels as text and is cast by the server (enums, intervals, json objects, ...).
            return new Param(index, 'x', value.toString(), Types.OTHER);
        }
        return new Param(index, type, v, sqlType);
    }

    /** Sets the parameter on a statement of either side. */
    static void apply(PreparedStatement ps, Param p) throws SQLException {
        int i = p.index();
        Object v = p.value();
        if (p.type() != Param.NULL && p.sqlType() != -1) {
            ps.setObject(i, v, p.sqlType());
            return;
        }
        switch (p.type()) {
            case Param.NULL -> ps.setNull(i, (Integer) v);
            case 's' -> ps.setString(i, (String) v);
            case 'i', 'h' -> ps.setInt(i, ((Number) v).intValue());
            case 'l' -> ps.setLong(i, (Long) v);
            case 'b' -> ps.setBoolean(i, (Boolean) v);
            case 'd' -> ps.setDouble(i, (Double) v);
            case 'f' -> ps.setFloat(i, (Float) v);
            case 'D' -> ps.setBigDecimal(i, (BigDecimal) v);
            case 'y' -> ps.setBytes(i, (byte[]) v);
            case 't' -> ps.setTimestamp(i, (java.sql.Timestamp) v);
            case 'a' -> ps.setDate(i, (java.sql.Date) v);
            case 'T' -> ps.setTime(i, (java.sql.Time) v);
            case 'x' -> ps.setObject(i, v, Types.OTHER);
            default -> ps.setObject(i, v);
        }
    }

    private static String read(Reader r) throws IOException {
        StringWriter w = new StringWriter();
        r.transferTo(w);
        return w.toString();
    }

    static byte[] readAll(InputStream in) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        in.transferTo(out);
        return out.toByteArray();
    }
}
