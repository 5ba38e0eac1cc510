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
 * loop: TLS as the side's {@code sslmode} asks (negotiated with an SSLRequest, the chain and the
 * host name checked for {@code verify-ca}/{@code verify-full}), startup with the proxy's own
 * credentials for that server (trust, password, md5 or SCRAM-SHA-256), then every message the
 * server sends is handed to the session as it arrives.
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
        new Bootstrap().group(loop).channel(Transport.socket())
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 10_000)
                .handler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        Handler handler = new Handler(server, startup, promise, listener);
                        if (server.asksTls()) {
                            ch.pipeline().addLast("negotiate", new TlsNegotiation(server, promise, handler));
                        } else {
                            ch.pipeline().addLast(new FrameDecoder(true), handler);
                        }
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
        new Bootstrap().group(loop).channel(Transport.socket())
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

    private static final Map<ServerAddress, io.netty.handler.ssl.SslContext> TLS = new java.util.concurrent.ConcurrentHashMap<>();

    /** The client TLS context for a server: what its sslmode checks of the server's certificate. */
    private static io.netty.handler.ssl.SslContext tls(ServerAddress server) {
        return TLS.computeIfAbsent(server, s -> {
            try {
                io.netty.handler.ssl.SslContextBuilder b = io.netty.handler.ssl.SslContextBuilder.forClient()
                        .endpointIdentificationAlgorithm(s.verifiesHost() ? "HTTPS" : null);
                if (s.verifiesChain()) {
                    b.trustManager(s.sslrootcert().orElseThrow().toFile());
                } else {
                    // sslmode prefer or require without a root certificate: encrypted, the server not authenticated (as libpq).
                    b.trustManager(io.netty.handler.ssl.util.InsecureTrustManagerFactory.INSTANCE);
                }
                s.clientCertificate().ifPresent(c -> b.keyManager(c.certificate().toFile(), c.key().toFile()));
                return b.build();
            } catch (javax.net.ssl.SSLException | IllegalArgumentException e) {
                throw new IllegalStateException("cannot use the TLS files of the " + s.label() + " (sslrootcert="
                        + s.sslrootcert().map(Object::toString).orElse("none") + s.clientCertificate().map(c -> ", sslcert="
                        + c.certificate() + ", sslkey=" + c.key() + " (PEM, the key in PKCS#8)").orElse("") + "): " + e.getMessage(), e);
            }
        });
    }

    /**
     * Sends the SSLRequest and reads the server's one-byte answer: 'S' starts TLS (then the startup
     * once the handshake is done), 'N' goes on in the clear unless the sslmode requires TLS.
     */
    private static final class TlsNegotiation extends SimpleChannelInboundHandler<ByteBuf> {
        private final ServerAddress server;
        private final Promise<Ready> promise;
        private final Handler handler;

        TlsNegotiation(ServerAddress server, Promise<Ready> promise, Handler handler) {
            this.server = server;
            this.promise = promise;
            this.handler = handler;
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            ctx.writeAndFlush(ctx.alloc().buffer(8).writeInt(8).writeInt(Wire.SSL_REQUEST));
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, ByteBuf msg) {
            byte answer = msg.readByte();
            if (msg.isReadable()) {
                // Bytes after the answer, before the handshake: what CVE-2021-23214 was about. Refused.
                promise.tryFailure(new IllegalStateException("the " + server + " sent data before the TLS handshake"));
                ctx.close();
                return;
            }
            io.netty.channel.ChannelPipeline p = ctx.pipeline();
            if (answer == 'S') {
                io.netty.handler.ssl.SslHandler ssl;
                try {
                    ssl = tls(server).newHandler(ctx.alloc(), server.host(), server.port());
                } catch (IllegalStateException e) {
                    promise.tryFailure(e);
                    ctx.close();
                    return;
                }
                p.replace(this, "tls", ssl);
                p.addLast(new FrameDecoder(true), handler);
                ssl.handshakeFuture().addListener(f -> {
                    if (f.isSuccess()) {
                        handler.start(ctx.channel());
                    } else {
                        promise.tryFailure(new IllegalStateException("TLS with the " + server + " failed (sslmode="
                                + server.sslmode() + "): " + f.cause().getMessage(), f.cause()));
                        ctx.close();
                    }
                });
            } else if (server.requiresTls()) {
                promise.tryFailure(new IllegalStateException("the " + server + " does not accept TLS, and its sslmode is "
                        + server.sslmode()));
                ctx.close();
            } else {
                p.replace(this, "frames", new FrameDecoder(true));
                p.addLast(handler);
                handler.start(ctx.channel());
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            promise.tryFailure(cause);
            ctx.close();
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            promise.tryFailure(new IllegalStateException("the " + server + " closed the connection while negotiating TLS"));
        }
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
            if (!server.asksTls()) {
                start(ctx.channel());
            }
            ctx.fireChannelActive();
        }

        /** Sends the startup message (after TLS, when negotiated). */
        void start(Channel channel) {
            channel.writeAndFlush(Wire.startup(channel.alloc(), startup));
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
