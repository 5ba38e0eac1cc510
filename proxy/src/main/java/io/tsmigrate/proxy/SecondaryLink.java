package io.tsmigrate.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.EventLoop;
import io.tsmigrate.dualwrite.TransactionMirror;

import java.sql.SQLException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * One client session's own connection to the secondary, on the session's event loop: the proxy
 * repeats each transaction the primary committed there itself, in one round trip (a simple Query of
 * its statements between BEGIN and COMMIT), with no thread hand-off and no driver in between: most
 * of a commit's wait for the secondary is then the secondary's own work. What may block runs on the
 * proxy's worker threads: the first lookup of a type name or of a table's defaults, journaling, and
 * registering the writer. When the secondary refuses a transaction or cannot be reached, the
 * transaction goes to the journal as in the library ({@link TransactionMirror.Session#failed}) and this
 * connection is closed; the next direct transaction opens a new one. Lossless mode does not use it
 * (the library claims each intent inside the secondary's transaction). Not thread-safe: the session's
 * event loop calls it.
 */
final class SecondaryLink {

    private final ProxyServer server;
    private final EventLoop loop;
    private Connection connection;

    SecondaryLink(ProxyServer server, EventLoop loop) {
        this.server = server;
        this.loop = loop;
    }

    /**
     * Repeats a committed transaction on the session's secondary, or journals it; {@code done} runs on
     * the event loop once the secondary or its journal has it.
     *
     * @param settings   the session's settings before the transaction, as the secondary must have them (run on a new connection first)
     * @param parameters startup parameters for a new connection (how the primary reads literals: DateStyle, TimeZone)
     */
    void repeat(TransactionMirror.Session mirror, List<MirrorTracker.PendingWrite> writes, List<String> settings,
                Map<String, String> parameters, Runnable done) {
        List<TransactionMirror.Op> ops = server.opsWithoutBlocking(mirror, writes);
        if (ops != null) {
            send(mirror, ops, settings, parameters, done);
            return;
        }
        server.inBackground(() -> {
            List<TransactionMirror.Op> looked;
            try {
                looked = server.ops(mirror, writes);
            } catch (RuntimeException e) {
                server.log().severe("tsmigrate proxy: mirroring failed: " + e);
                loop.execute(done);
                return;
            }
            loop.execute(() -> send(mirror, looked, settings, parameters, done));
        });
    }

    private void send(TransactionMirror.Session mirror, List<TransactionMirror.Op> ops, List<String> settings,
                      Map<String, String> parameters, Runnable done) {
        if (ops.isEmpty()) {
            done.run();
            return;
        }
        if (!mirror.beginDirect()) {
            server.outcomeInBackground(() -> mirror.journal(ops), () -> loop.execute(done));
            return;
        }
        if (connection == null || connection.dead) {
            ServerAddress secondary = mirror.targetIsPrimary() ? server.source() : server.target();
            List<String> first = new ArrayList<>(settings);
            first.add(TransactionMirror.secondarySession());
            connection = new Connection(secondary, String.join("\n;\n", first), parameters);
        }
        Connection on = connection;
        on.run(TransactionMirror.transaction(ops), ops, error -> {
            if (error == null) {
                if (!mirror.appliedWithoutBlocking()) {
                    server.inBackground(mirror::applied);
                }
                server.mirrored();
                done.run();
            } else {
                on.close();
                server.outcomeInBackground(() -> mirror.failed(ops, error), () -> loop.execute(done));
            }
        });
    }

    /** Closes the connection (the session ended, or moved and has another secondary now). */
    void close() {
        if (connection != null) {
            connection.close();
            connection = null;
        }
    }

    /**
     * A connection to the secondary, opened on the event loop: one transaction at a time, the first
     * preceded by the session's settings in the same string (a refused setting skips the transaction
     * too). A transaction's outcome is null when it committed, else the error: the server's (its
     * message and SQLSTATE) or the connection's.
     */
    private final class Connection implements Backend.Listener {
        /** The transaction's Query while the connection is being opened (one transaction at a time). */
        private ByteBuf unsent;
        private final Deque<byte[]> copies = new ArrayDeque<>();
        private Channel channel;
        private boolean dead;
        /** The session's settings, until the first transaction carries them. */
        private String settings;
        private SQLException error;
        private Consumer<SQLException> outcome;

        Connection(ServerAddress secondary, String settings, Map<String, String> parameters) {
            Map<String, String> startup = new LinkedHashMap<>(parameters);
            startup.put("application_name", ProxyServer.APPLICATION_NAME);
            startup.put("client_encoding", "UTF8");
            this.settings = settings;
            Backend.connect(loop, secondary, startup, this).addListener(f -> {
                if (!f.isSuccess()) {
                    if (f.cause() instanceof Backend.Refused r) {
                        r.errorResponse.release();
                    }
                    fail(new SQLException("cannot reach the " + secondary + ": " + f.cause().getMessage(), "08001", f.cause()));
                    return;
                }
                Backend.Ready ready = (Backend.Ready) f.getNow();
                ready.parameterStatus().forEach(ByteBuf::release);
                channel = ready.channel();
                if (dead) {
                    channel.close();
                    return;
                }
                if (unsent != null) {
                    channel.writeAndFlush(unsent);
                    unsent = null;
                }
            });
        }

        /** Runs a transaction (its COPY data sent as the server asks for it); {@code then} gets its outcome. */
        void run(String transaction, List<TransactionMirror.Op> ops, Consumer<SQLException> then) {
            outcome = then;
            copies.clear();
            ops.stream().filter(op -> op.copyData() != null).forEach(op -> copies.add(op.copyData()));
            String sql = settings == null ? transaction : settings + "\n;\n" + transaction;
            settings = null;
            if (channel == null) {
                unsent = Wire.query(io.netty.buffer.ByteBufAllocator.DEFAULT, sql);
            } else {
                channel.writeAndFlush(Wire.query(channel.alloc(), sql));
            }
        }

        @Override
        public void message(ByteBuf msg) {
            try {
                switch ((char) msg.getByte(0)) {
                    case 'E' -> {
                        if (error == null) {
                            Map<Character, String> fields = Wire.fields(msg.slice(5, msg.readableBytes() - 5));
                            error = new SQLException(fields.getOrDefault('M', "the secondary refused the transaction"),
                                    fields.get('C'));
                        }
                    }
                    case 'G' -> copyData();
                    case 'Z' -> finish(error);
                    default -> {
                        // CommandComplete, NOTICE, ParameterStatus, rows of a write that returns some: nothing to act on.
                    }
                }
            } finally {
                msg.release();
            }
        }

        /** The server asks for a COPY's data: the next COPY's, whole, then its end. */
        private void copyData() {
            byte[] data = copies.poll();
            if (data == null) {
                ByteBuf fail = Wire.begin(channel.alloc(), 'f');
                Wire.cstring(fail, "tsmigrate proxy: no data for this COPY");
                channel.writeAndFlush(Wire.end(fail));
                return;
            }
            ByteBuf d = Wire.begin(channel.alloc(), 'd');
            d.writeBytes(data);
            channel.write(Wire.end(d));
            channel.writeAndFlush(Wire.end(Wire.begin(channel.alloc(), 'c')));
        }

        private void finish(SQLException result) {
            error = null;
            Consumer<SQLException> then = outcome;
            outcome = null;
            if (then != null) {
                then.accept(result);
            }
        }

        private void fail(SQLException cause) {
            drop();
            finish(cause);
        }

        /** No more use: what was not sent is released. */
        private void drop() {
            dead = true;
            if (unsent != null) {
                unsent.release();
                unsent = null;
            }
        }

        @Override
        public void readComplete() {
        }

        @Override
        public void closed() {
            if (!dead) {
                fail(new SQLException("the connection to the secondary closed", "08006"));
            }
        }

        @Override
        public void backendWritable(boolean writable) {
        }

        void close() {
            drop();
            if (channel != null) {
                channel.writeAndFlush(Wire.end(Wire.begin(channel.alloc(), 'X'))).addListener(ChannelFutureListener.CLOSE);
            }
        }
    }
}
