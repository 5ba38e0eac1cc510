package io.tsmigrate.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * The PostgreSQL frontend/backend protocol 3.0 as far as the proxy speaks it itself: the startup
 * codes, and the few messages it writes rather than relays. Everything else passes through as the
 * bytes the client or the server sent.
 */
final class Wire {

    static final int PROTOCOL_3 = 196608;
    static final int SSL_REQUEST = 80877103;
    static final int GSSENC_REQUEST = 80877104;
    static final int CANCEL_REQUEST = 80877102;

    /** The largest message the proxy accepts from either side (PostgreSQL's own limit for a field is 1 GB). */
    static final int MAX_MESSAGE = 1 << 30;

    private Wire() {
    }

    static String cstring(ByteBuf b) {
        int end = b.bytesBefore((byte) 0);
        if (end < 0) {
            throw new IllegalArgumentException("unterminated string in a protocol message");
        }
        String s = b.toString(b.readerIndex(), end, StandardCharsets.UTF_8);
        b.skipBytes(end + 1);
        return s;
    }

    static void cstring(ByteBuf b, String s) {
        b.writeBytes(s.getBytes(StandardCharsets.UTF_8));
        b.writeByte(0);
    }

    /** Starts a typed message; finish it with {@link #end}. */
    static ByteBuf begin(ByteBufAllocator alloc, char type) {
        ByteBuf b = alloc.buffer();
        b.writeByte(type);
        b.writeInt(0);
        return b;
    }

    static ByteBuf end(ByteBuf b) {
        b.setInt(1, b.writerIndex() - 1);
        return b;
    }

    /** A simple Query. */
    static ByteBuf query(ByteBufAllocator alloc, String sql) {
        ByteBuf b = begin(alloc, 'Q');
        cstring(b, sql);
        return end(b);
    }

    static ByteBuf authenticationOk(ByteBufAllocator alloc) {
        ByteBuf b = begin(alloc, 'R');
        b.writeInt(0);
        return end(b);
    }

    static ByteBuf auth(ByteBufAllocator alloc, int code, byte[] data) {
        ByteBuf b = begin(alloc, 'R');
        b.writeInt(code);
        b.writeBytes(data);
        return end(b);
    }

    static ByteBuf backendKeyData(ByteBufAllocator alloc, int pid, int key) {
        ByteBuf b = begin(alloc, 'K');
        b.writeInt(pid);
        b.writeInt(key);
        return end(b);
    }

    static ByteBuf readyForQuery(ByteBufAllocator alloc, char status) {
        ByteBuf b = begin(alloc, 'Z');
        b.writeByte(status);
        return end(b);
    }

    /** An ErrorResponse as a server sends it: severity (localized and not), SQLSTATE, message. */
    static ByteBuf error(ByteBufAllocator alloc, String severity, String sqlState, String message) {
        ByteBuf b = begin(alloc, 'E');
        b.writeByte('S');
        cstring(b, severity);
        b.writeByte('V');
        cstring(b, severity);
        b.writeByte('C');
        cstring(b, sqlState);
        b.writeByte('M');
        cstring(b, message);
        b.writeByte(0);
        return end(b);
    }

    static ByteBuf startup(ByteBufAllocator alloc, Map<String, String> parameters) {
        ByteBuf b = alloc.buffer();
        b.writeInt(0);
        b.writeInt(PROTOCOL_3);
        parameters.forEach((k, v) -> {
            cstring(b, k);
            cstring(b, v);
        });
        b.writeByte(0);
        b.setInt(0, b.writerIndex());
        return b;
    }

    static ByteBuf cancel(ByteBufAllocator alloc, int pid, int key) {
        ByteBuf b = alloc.buffer(16);
        b.writeInt(16);
        b.writeInt(CANCEL_REQUEST);
        b.writeInt(pid);
        b.writeInt(key);
        return b;
    }

    static ByteBuf password(ByteBufAllocator alloc, String password) {
        ByteBuf b = begin(alloc, 'p');
        cstring(b, password);
        return end(b);
    }

    static ByteBuf saslInitial(ByteBufAllocator alloc, String mechanism, String data) {
        ByteBuf b = begin(alloc, 'p');
        cstring(b, mechanism);
        byte[] bytes = data.getBytes(StandardCharsets.UTF_8);
        b.writeInt(bytes.length);
        b.writeBytes(bytes);
        return end(b);
    }

    static ByteBuf saslResponse(ByteBufAllocator alloc, String data) {
        ByteBuf b = begin(alloc, 'p');
        b.writeBytes(data.getBytes(StandardCharsets.UTF_8));
        return end(b);
    }

    /** The fields of an ErrorResponse or NoticeResponse body (after type and length), by field code. */
    static Map<Character, String> fields(ByteBuf body) {
        Map<Character, String> out = new java.util.HashMap<>();
        while (body.isReadable()) {
            byte code = body.readByte();
            if (code == 0) {
                break;
            }
            out.put((char) code, cstring(body));
        }
        return out;
    }
}
