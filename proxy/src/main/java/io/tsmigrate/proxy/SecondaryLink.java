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
 * repeats each transaction the primary committed there itself, with no thread hand-off and no
 * driver in between. While the primary's transaction is open, its writes go ahead to the secondary
 * as each completes (in a transaction of the secondary's own, after BEGIN), so that at the primary's
 * COMMIT only the secondary's COMMIT is left to wait for: the secondary's work overlaps the
 * client's next statements. A transaction the primary rolls back is rolled back there too. What may
 * block runs on the proxy's worker threads: the first lookup of a type name or of a table's
 * defaults, journaling, and registering the writer; a write that needs one (or is several
 * statements) is not sent ahead, and neither are those after it: they go with the
 * COMMIT, in one round trip. When the secondary refuses a transaction or cannot be reached, the
 * whole transaction goes to the journal as in the library ({@link TransactionMirror.Session#failed})
 * and this connection is closed (the secondary rolls back what it had); the next transaction opens
 * a new one. Lossless mode does not use it (the library claims each intent inside the secondary's
 * transaction). Not thread-safe: the session's event loop calls it.
 */
final class SecondaryLink {

    private final ProxyServer server;
    private final EventLoop loop;
    private Connection connection;
    /** The writes of the primary's open transaction sent ahead, or null when none were. */
    private Ahead ahead;
    /** A write of the primary's open transaction could not be sent ahead: it and the rest go with the COMMIT. */
    private boolean aheadStopped;

    /** A prefix of the primary's open transaction's writes, sent ahead in a transaction open on the secondary. */
    private static final class Ahead {
        final Connection on;
        final List<MirrorTracker.PendingWrite> writes = new ArrayList<>();
        final List<TransactionMirror.Op> ops = new ArrayList<>();
        /** The first error the secondary answered to them (or the connection's): the transaction cannot commit there. */
        SQLException error;

        Ahead(Connection on) {
            this.on = on;
        }

        void failed(SQLException e) {
            if (e != null && error == null) {
                error = e;
            }
        }
    }

    SecondaryLink(ProxyServer server, EventLoop loop) {
        this.server = server;
        this.loop = loop;
    }

    /**
     * The primary's transaction is open and these are its writes so far (in order, each completed
     * there): those not sent yet go ahead to the secondary, when they can without blocking.
     *
     * @param settings   the session's settings before the transaction, as the secondary must have them (run on a new connection first)
     * @param parameters startup parameters for a new connection (how the primary reads literals: DateStyle, TimeZone)
     */
    void ahead(TransactionMirror.Session mirror, List<MirrorTracker.PendingWrite> open, List<String> settings,
               Map<String, String> parameters) {
        int sent = ahead == null ? 0 : ahead.writes.size();
        if (aheadStopped || open.size() <= sent) {
            return;
        }
        if (sent > 0 && open.get(sent - 1) != ahead.writes.get(sent - 1)) {
            rollBack(ahead); // not the transaction the writes ahead belong to (never expected): it all goes with the COMMIT
            ahead = null;
            aheadStopped = true;
            return;
        }
        List<MirrorTracker.PendingWrite> next = open.subList(sent, open.size());
        boolean single = next.stream().allMatch(w -> w.values.length > 0 || oneStatement(w.sql));
        List<TransactionMirror.Op> ops = single && mirror.likelyDirect() ? server.opsWithoutBlocking(mirror, next) : null;
        if (ops == null || (ahead != null && (ahead.error != null || ahead.on.dead))) {
            aheadStopped = true;
            return;
        }
        List<String> statements = new ArrayList<>();
        if (ahead == null) {
            ahead = new Ahead(connection(mirror, settings, parameters));
            statements.add("BEGIN");
            ahead.on.settingsOnce(statements);
        }
        Ahead a = ahead;
        a.writes.addAll(next);
        a.ops.addAll(ops);
        ops.forEach(op -> statements.add(op.sql()));
        a.on.run(TransactionMirror.joined(statements), ops, a::failed);
    }

    /** What went ahead of the open transaction is rolled back on the secondary; the transaction's writes all go with its COMMIT. */
    void abandonAhead() {
        rollBack(ahead);
        ahead = null;
        aheadStopped = true;
    }

    /** The primary's transaction ended without a commit: what went ahead is rolled back. */
    void rolledBack() {
        aheadStopped = false;
        rollBack(ahead);
        ahead = null;
    }

    /** Rolls back on the secondary what went ahead ({@code a}, or nothing when null). */
    private static void rollBack(Ahead a) {
        if (a != null && !a.on.dead) {
            a.on.rolledBack();
            a.on.run("ROLLBACK", List.of(), error -> {
            });
        }
    }

    /**
     * Repeats a committed transaction on the session's secondary (its COMMIT there, after what went
     * ahead), or journals it; {@code done} runs on the event loop once the secondary or its journal
     * has it.
     *
     * @param settings   the session's settings before the transaction, as the secondary must have them (run on a new connection first)
     * @param parameters startup parameters for a new connection (how the primary reads literals: DateStyle, TimeZone)
     */
    void repeat(TransactionMirror.Session mirror, List<MirrorTracker.PendingWrite> writes, List<String> settings,
                Map<String, String> parameters, Runnable done) {
        Ahead went = ahead;
        ahead = null;
        aheadStopped = false;
        List<MirrorTracker.PendingWrite> rest = writes;
        if (went != null) {
            int n = went.writes.size();
            if (writes.size() >= n && writes.get(n - 1) == went.writes.get(n - 1)) {
                rest = writes.subList(n, writes.size());
            } else {
                rollBack(went); // not this transaction's writes (never expected): it all goes now
                went = null;
            }
        }
        Ahead a = went;
        List<TransactionMirror.Op> ops = server.opsWithoutBlocking(mirror, rest);
        if (ops != null) {
            send(mirror, a, ops, settings, parameters, done);
            return;
        }
        List<MirrorTracker.PendingWrite> blocking = rest;
        server.inBackground(() -> {
            List<TransactionMirror.Op> looked;
            try {
                looked = server.ops(mirror, blocking);
            } catch (RuntimeException e) {
                server.log().severe("tsmigrate proxy: mirroring failed: " + e);
                loop.execute(() -> {
                    if (a != null) {
                        a.on.close(); // the secondary rolls back what went ahead
                    }
                    done.run();
                });
                return;
            }
            loop.execute(() -> send(mirror, a, looked, settings, parameters, done));
        });
    }

    /** {@code a}: what went ahead of the transaction, or null; {@code ops}: the rest of its writes. */
    private void send(TransactionMirror.Session mirror, Ahead a, List<TransactionMirror.Op> ops, List<String> settings,
                      Map<String, String> parameters, Runnable done) {
        List<TransactionMirror.Op> all = a == null ? ops : new ArrayList<>(a.ops);
        if (a != null) {
            all.addAll(ops);
        }
        if (all.isEmpty()) {
            rollBack(a);
            done.run();
            return;
        }
        if (!mirror.beginDirect()) {
            rollBack(a);
            server.outcomeInBackground(() -> mirror.journal(all), () -> loop.execute(done));
            return;
        }
        List<String> statements = new ArrayList<>();
        Connection on;
        if (a == null) {
            on = connection(mirror, settings, parameters);
            statements.add("BEGIN");
            on.settingsOnce(statements);
        } else {
            on = a.on;
            if (a.error != null || on.dead) {
                SQLException cause = a.error != null ? a.error : new SQLException("the connection to the secondary closed", "08006");
                on.close();
                server.outcomeInBackground(() -> mirror.failed(all, cause), () -> loop.execute(done));
                return;
            }
        }
        ops.forEach(op -> statements.add(op.sql()));
        statements.add("COMMIT");
        on.run(TransactionMirror.joined(statements), ops, error -> {
            // What went ahead was answered before this: a refusal there aborted the transaction, and its COMMIT then says ROLLBACK.
            SQLException cause = a != null && a.error != null ? a.error : error;
            if (cause == null) {
                on.committed();
                if (!mirror.appliedWithoutBlocking()) {
                    server.inBackground(mirror::applied);
                }
                server.mirrored();
                done.run();
            } else {
                on.close();
                server.outcomeInBackground(() -> mirror.failed(all, cause), () -> loop.execute(done));
            }
        });
    }

    /** The connection to the secondary of the roles as they are now: a new one when there is none or it failed. */
    private Connection connection(TransactionMirror.Session mirror, List<String> settings, Map<String, String> parameters) {
        if (connection == null || connection.dead) {
            ServerAddress secondary = mirror.targetIsPrimary() ? server.source() : server.target();
            List<String> first = new ArrayList<>(settings);
            first.add(TransactionMirror.secondarySession());
            connection = new Connection(secondary, first, parameters);
        }
        return connection;
    }

    /**
     * Whether a write is one statement: several (DISCARD ALL repeated as a RESET of each setting)
     * would each be answered, and could end the transaction the writes ahead are in.
     */
    static boolean oneStatement(String sql) {
        return sql.indexOf(';') < 0 || io.tsmigrate.dualwrite.Statements.split(sql).size() <= 1;
    }

    /** Closes the connection (the session ended, or moved and has another secondary now). */
    void close() {
        ahead = null; // the secondary rolls it back as the connection closes
        aheadStopped = false;
        if (connection != null) {
            connection.close();
            connection = null;
        }
    }

    /**
     * A connection to the secondary, opened on the event loop. It runs simple Queries in order, several
     * in flight (the writes of a transaction sent ahead, then its COMMIT), each with its own COPY data,
     * sent as the server asks for it. The first transaction carries the session's settings after its
     * BEGIN (a refused setting aborts the transaction; one rolled back carries them again). A Query's
     * outcome is null when the server answered it without an error, else the error: the server's
     * (its message and SQLSTATE) or the connection's.
     */
    private final class Connection implements Backend.Listener {
        /** A Query sent and not yet answered. */
        private record Pending(Consumer<SQLException> outcome, Deque<byte[]> copies) {
        }

        private final Deque<Pending> pending = new ArrayDeque<>();
        /** The Queries while the connection is being opened. */
        private ByteBuf unsent;
        private Channel channel;
        private boolean dead;
        /** The session's settings, until a committed transaction carried them; {@code carried}: while an open one does. */
        private List<String> settings;
        private List<String> carried;
        private SQLException error;

        Connection(ServerAddress secondary, List<String> settings, Map<String, String> parameters) {
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

        /** Adds the session's settings to a transaction being begun, when no transaction carried them yet. */
        void settingsOnce(List<String> statements) {
            if (settings != null) {
                statements.addAll(settings);
                carried = settings;
                settings = null;
            }
        }

        void committed() {
            carried = null;
        }

        void rolledBack() {
            if (carried != null) {
                settings = carried;
                carried = null;
            }
        }

        /** Sends a Query (the data of its COPYs sent as the server asks for them); {@code then} gets its outcome. */
        void run(String sql, List<TransactionMirror.Op> ops, Consumer<SQLException> then) {
            if (dead) {
                then.accept(new SQLException("the connection to the secondary closed", "08006"));
                return;
            }
            Deque<byte[]> copies = new ArrayDeque<>();
            ops.stream().filter(op -> op.copyData() != null).forEach(op -> copies.add(op.copyData()));
            pending.add(new Pending(then, copies));
            if (channel == null) {
                ByteBuf query = Wire.query(io.netty.buffer.ByteBufAllocator.DEFAULT, sql);
                unsent = unsent == null ? query : io.netty.buffer.Unpooled.wrappedBuffer(unsent, query);
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
                    case 'Z' -> answered(error);
                    default -> {
                        // CommandComplete, NOTICE, ParameterStatus, rows of a write that returns some: nothing to act on.
                    }
                }
            } finally {
                msg.release();
            }
        }

        /** The server asks for a COPY's data: the Query's next COPY's, whole, then its end. */
        private void copyData() {
            Pending head = pending.peek();
            byte[] data = head == null ? null : head.copies().poll();
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

        private void answered(SQLException result) {
            error = null;
            Pending head = pending.poll();
            if (head != null) {
                head.outcome().accept(result);
            }
        }

        /** Every Query not answered gets the connection's failure. */
        private void fail(SQLException cause) {
            drop();
            while (!pending.isEmpty()) {
                answered(cause);
            }
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
