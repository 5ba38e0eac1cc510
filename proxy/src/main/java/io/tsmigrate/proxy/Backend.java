package io.tsmigrate.proxy;

import com.ongres.scram.client.ScramClient;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.util.concurrent.Promise;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One connection to a server (the primary of a client session), opened on the session's event
 * loop: startup with the proxy's own credentials for that server (trust, password, md5 or
 * SCRAM-SHA-256), then every message the server sends is handed to the session as it arrives.
 */
final class Backend {

    /** A server ready for queries: its channel, its own cancel key, and the ParameterStatus messages of its startup. */
    record Ready(Channel channel, int pid, int key, List<ByteBuf> parameterStatus) {
    }

    /** The server refused the startup: its ErrorResponse, to relay to the client as it is. */
    static final class Refused extends Exception {
        final transient ByteBuf errorResponse;

        Refused(ByteBuf errorResponse, String message) {
            super(message, null, false, false);
            this.errorResponse = errorResponse;
        }
    }

    private Backend() {
    }

    /** What the session hears from its server once the startup is done. */
    interface Listener {
        /** One whole message; the listener releases it. */
        void message(ByteBuf message);

        /** The end of what one read brought: a moment to flush. */
        void readComplete();

        void closed();

        /** The server's socket can take more (or no more) without buffering. */
        void backendWritable(boolean writable);
    }

    static Promise<Ready> connect(EventLoop loop, ServerAddress server, Map<String, String> clientParameters, Listener listener) {
        Promise<Ready> promise = loop.newPromise();
        Map<String, String> startup = new LinkedHashMap<>();
        startup.put("user", server.user());
        startup.put("database", server.database());
        clientParameters.forEach((k, v) -> {
            if (!k.equals("user") && !k.equals("database")) {
                startup.put(k, v);
            }
        });
        new Bootstrap().group(loop).channel(NioSocketChannel.class)
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 10_000)
                .handler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ch.pipeline().addLast(new FrameDecoder(true), new Handler(server, startup, promise, listener));
                    }
                })
                .connect(server.host(), server.port()).addListener(f -> {
                    if (!f.isSuccess()) {
                        promise.tryFailure(f.cause());
                    }
                });
        return promise;
    }

    /** Sends a CancelRequest for a backend to the server it runs on. */
    static void cancel(EventLoop loop, ServerAddress server, int pid, int key) {
        new Bootstrap().group(loop).channel(NioSocketChannel.class)
                .handler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        // The server answers nothing; it closes the connection.
                    }
                })
                .connect(server.host(), server.port()).addListener(f -> {
                    if (f.isSuccess()) {
                        Channel ch = ((io.netty.channel.ChannelFuture) f).channel();
                        ch.writeAndFlush(Wire.cancel(ch.alloc(), pid, key)).addListener(w -> ch.close());
                    }
                });
    }

    private static final class Handler extends SimpleChannelInboundHandler<ByteBuf> {
        private final ServerAddress server;
        private final Map<String, String> startup;
        private final Promise<Ready> promise;
        private final Listener listener;
        private final List<ByteBuf> parameterStatus = new ArrayList<>();
        private int pid;
        private int key;
        private ScramClient scram;

        Handler(ServerAddress server, Map<String, String> startup, Promise<Ready> promise, Listener listener) {
            super(false);
            this.server = server;
            this.startup = startup;
            this.promise = promise;
            this.listener = listener;
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            ctx.writeAndFlush(Wire.startup(ctx.alloc(), startup));
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, ByteBuf msg) throws Exception {
            if (promise.isDone()) {
                listener.message(msg);
                return;
            }
            char type = (char) msg.getByte(0);
            try {
                switch (type) {
                    case 'R' -> authenticate(ctx, msg.slice(5, msg.readableBytes() - 5));
                    case 'S' -> {
                        parameterStatus.add(msg.retain());
                    }
                    case 'K' -> {
                        pid = msg.getInt(5);
                        key = msg.getInt(9);
                    }
                    case 'E' -> {
                        String message = Wire.fields(msg.slice(5, msg.readableBytes() - 5)).getOrDefault('M', "refused");
                        promise.tryFailure(new Refused(msg.retain(), message));
                        ctx.close();
                    }
                    case 'Z' -> promise.trySuccess(new Ready(ctx.channel(), pid, key, parameterStatus));
                    default -> {
                        // NoticeResponse and the like during startup: nothing the client needs.
                    }
                }
            } finally {
                msg.release();
            }
        }

        private void authenticate(ChannelHandlerContext ctx, ByteBuf body) throws Exception {
            int code = body.readInt();
            String password = server.password().orElse("");
            switch (code) {
                case 0 -> {
                }
                case 3 -> ctx.writeAndFlush(Wire.password(ctx.alloc(), password));
                case 5 -> {
                    byte[] salt = new byte[4];
                    body.readBytes(salt);
                    String inner = md5Hex((password + server.user()).getBytes(StandardCharsets.UTF_8));
                    byte[] outer = concat(inner.getBytes(StandardCharsets.US_ASCII), salt);
                    ctx.writeAndFlush(Wire.password(ctx.alloc(), "md5" + md5Hex(outer)));
                }
                case 10 -> {
                    List<String> mechanisms = new ArrayList<>();
                    while (body.isReadable() && body.getByte(body.readerIndex()) != 0) {
                        mechanisms.add(Wire.cstring(body));
                    }
                    scram = ScramClient.builder().advertisedMechanisms(mechanisms).username("*")
                            .password(password.toCharArray()).build();
                    ctx.writeAndFlush(Wire.saslInitial(ctx.alloc(), scram.getScramMechanism().getName(),
                            scram.clientFirstMessage().toString()));
                }
                case 11 -> {
                    scram.serverFirstMessage(body.toString(StandardCharsets.UTF_8));
                    ctx.writeAndFlush(Wire.saslResponse(ctx.alloc(), scram.clientFinalMessage().toString()));
                }
                case 12 -> scram.serverFinalMessage(body.toString(StandardCharsets.UTF_8));
                default -> throw new IllegalStateException("the server asks for an authentication method the proxy does not "
                        + "speak (code " + code + ")");
            }
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            if (promise.isSuccess()) {
                listener.readComplete();
            }
        }

        @Override
        public void channelWritabilityChanged(ChannelHandlerContext ctx) {
            if (promise.isSuccess()) {
                listener.backendWritable(ctx.channel().isWritable());
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            promise.tryFailure(new IllegalStateException("the server closed the connection during startup"));
            listener.closed();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            promise.tryFailure(cause);
            ctx.close();
        }
    }

    private static String md5Hex(byte[] data) throws NoSuchAlgorithmException {
        return HexFormat.of().formatHex(MessageDigest.getInstance("MD5").digest(data));
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
