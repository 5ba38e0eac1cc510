package io.tsmigrate.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.codec.TooLongFrameException;

import java.util.List;

/**
 * Cuts the byte stream into whole protocol messages, each passed on as one buffer holding the
 * message as sent (type byte, length, body). A client's first messages (startup, SSL and cancel
 * requests) have no type byte; the decoder reads those until {@link #typed} is called.
 */
final class FrameDecoder extends ByteToMessageDecoder {

    private volatile boolean typed;

    FrameDecoder(boolean typed) {
        this.typed = typed;
    }

    /** From now on every message starts with its type byte. */
    void typed() {
        typed = true;
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        int header = typed ? 5 : 4;
        while (in.readableBytes() >= header) {
            int start = in.readerIndex();
            int length = in.getInt(start + (typed ? 1 : 0));
            if (length < 4 || length > Wire.MAX_MESSAGE) {
                in.skipBytes(in.readableBytes());
                throw new TooLongFrameException("a protocol message of " + length + " bytes is refused (the limit is "
                        + Wire.MAX_MESSAGE + ")");
            }
            int whole = length + (typed ? 1 : 0);
            if (in.readableBytes() < whole) {
                return;
            }
            out.add(in.readRetainedSlice(whole));
            if (!typed) {
                return; // the handler decides whether the next message is typed
            }
        }
    }
}
