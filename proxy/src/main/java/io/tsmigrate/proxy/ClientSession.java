package io.tsmigrate.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.tsmigrate.dualwrite.SessionSettings;
import io.tsmigrate.dualwrite.TransactionMirror;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;

/**
 * One client connection: the startup (the proxy answers SSL and GSS requests with 'N', cancels on
 * behalf of the client, authenticates it), then its own connection to the primary, to which every
 * message goes as the client sent it and from which every answer comes back as the server sent it.
 * Writes the primary committed are repeated on the secondary before the client sees the
 * ReadyForQuery that ends them, so a client never runs ahead of its own mirrored writes and the
 * proxy's memory stays bounded. Runs on one event loop, with its connection to the secondary ({@link SecondaryLink});
 * lossless mode writes the secondary from a worker thread.
 */
final class ClientSession extends SimpleChannelInboundHandler<ByteBuf> {

    /** Settings a server reports (ParameterStatus) that change how it reads a literal. */
    private static final Set<String> READS_LITERALS = Set.of("DateStyle", "IntervalStyle", "TimeZone");

    /** Startup parameters that are settings the secondary must share (they change how literals read). */
    private static final Set<String> SETTINGS = Set.of("timezone", "datestyle", "intervalstyle", "extra_float_digits",
            "search_path", "bytea_output", "standard_conforming_strings");

    private enum State { STARTUP, AUTHENTICATING, CONNECTING, RELAY, CLOSED }

    private final ProxyServer server;
    private final FrameDecoder decoder;
    private final int pid = ThreadLocalRandom.current().nextInt(1, Integer.MAX_VALUE);
    private final int key = ThreadLocalRandom.current().nextInt();
    private final MirrorTracker tracker = new MirrorTracker();
    private final Deque<ByteBuf> early = new ArrayDeque<>();
    private final Deque<ByteBuf> held = new ArrayDeque<>();
    private State state = State.STARTUP;
    private Channel client;
    private Channel backend;
    private ServerAddress primary;
    private int backendPid;
    private int backendKey;
    private String user = "";
    private TransactionMirror.Session mirror;
    private SecondaryLink secondary;
    /**
     * How the primary reads the client's literals when the session starts (DateStyle, IntervalStyle,
     * TimeZone, as it reported them then, which the servers' and databases' defaults decide): the
     * secondary's settings and journal entries start with them, and its connection starts with them
     * (so that a RESET returns both sides to the same value).
     */
    private final Map<String, String> readsLiterals = new LinkedHashMap<>();
    private Authenticator.Exchange exchange;
    private Map<String, String> parameters;
    private boolean gated;
    private long gatedAt;
    private Map<String, String> forwarded;
    private BackendEvents events;
    private boolean replaying;
    private char lastStatus = 'I';
    /** Whether the server sends the client text in UTF-8 (client_encoding): only then are its rows read for shadow reads. */
    private boolean utf8;

    {
        tracker.shadows(new MirrorTracker.Shadows() {
            @Override
            public boolean sample() {
                return utf8 && mirror.sampleRead();
            }

            @Override
            public TransactionMirror.ShadowRead start(String sql) {
                return mirror.shadowRead(sql, secondarySettings());
            }
        });
    }

    // ---- lossless mode: the proxy's own messages around a commit (see relay)

    /** What the proxy itself is running on the backend: its answers are the proxy's, never the client's. */
    private enum Step { NONE, BEGIN, PROBE, COMMIT, ROLLBACK }

    private enum Decision { RELAY, COMMIT, WRAP }

    private final Deque<ByteBuf> heldClient = new ArrayDeque<>();
    private Step step = Step.NONE;
    /** The client's pipeline runs in a transaction block the proxy opened (an auto-commit write made explicit). */
    private boolean wrapped;
    /** The wrapped pipeline's end is sent: its ReadyForQuery is the proxy's to answer, after its COMMIT. */
    private boolean awaitingWrappedEnd;
    /** Waiting for the intent to be on disk. */
    private boolean intending;
    /** Client Queries and Syncs not yet answered with a ReadyForQuery, and whether messages went after the last one. */
    private int outstanding;
    private boolean sinceEnd;
    private char serverStatus = 'I';
    private long probedXid;
    private ByteBuf injectedError;
    private ProxyServer.Intended pendingIntent;

    ClientSession(ProxyServer server, FrameDecoder decoder) {
        super(false);
        this.server = server;
        this.decoder = decoder;
    }

    int pid() {
        return pid;
    }

    boolean idle() {
        return state != State.RELAY || (lastStatus == 'I' && !gated && !busy() && !wrapped && heldClient.isEmpty());
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        client = ctx.channel();
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, ByteBuf msg) {
        switch (state) {
            case STARTUP -> {
                try {
                    startup(ctx, msg);
                } finally {
                    msg.release();
                }
            }
            case AUTHENTICATING -> {
                try {
                    if (msg.getByte(0) != 'p') {
                        fatal("08P01", "expected a password message during authentication");
                    } else {
                        authenticate(ctx, msg.slice(5, msg.readableBytes() - 5));
                    }
                } finally {
                    msg.release();
                }
            }
            case CONNECTING -> early.add(msg);
            case RELAY -> {
                if (msg.getByte(0) != 'X' && moveIfPrimaryChanged(ctx)) {
                    early.add(msg);
                } else {
                    relay(msg);
                }
            }
            default -> msg.release();
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        if (backend != null) {
            backend.flush();
        }
    }

    // ---- startup

    private void startup(ChannelHandlerContext ctx, ByteBuf msg) {
        msg.skipBytes(4);
        int code = msg.readInt();
        if (code == Wire.SSL_REQUEST && server.tls().isPresent() && ctx.pipeline().get("tls") == null) {
            // 'S' goes out in the clear, then everything is TLS: the handler joins after the answer left.
            ctx.writeAndFlush(ctx.alloc().buffer(1).writeByte('S'));
            ctx.pipeline().addFirst("tls", server.tls().get().newHandler(ctx.alloc()));
            return;
        }
        if (code == Wire.SSL_REQUEST || code == Wire.GSSENC_REQUEST) {
            ctx.writeAndFlush(ctx.alloc().buffer(1).writeByte('N'));
            return;
        }
        if (code == Wire.CANCEL_REQUEST) {
            server.cancel(msg.readInt(), msg.readInt());
            ctx.close();
            return;
        }
        if (code >> 16 != 3) {
            fatal("0A000", "unsupported frontend protocol " + (code >> 16) + "." + (code & 0xFFFF)
                    + ": the proxy speaks protocol 3.0");
            return;
        }
        parameters = new LinkedHashMap<>();
        while (msg.isReadable() && msg.getByte(msg.readerIndex()) != 0) {
            String k = Wire.cstring(msg);
            parameters.put(k, Wire.cstring(msg));
        }
        String replication = parameters.getOrDefault("replication", "false").toLowerCase(java.util.Locale.ROOT);
        if (!Set.of("false", "off", "no", "0").contains(replication)) {
            fatal("0A000", "replication connections are not supported by tsmigrate proxy: connect to the server itself");
            return;
        }
        user = parameters.getOrDefault("user", "");
        if (user.isEmpty()) {
            fatal("28000", "no PostgreSQL user name specified in startup packet");
            return;
        }
        decoder.typed();
        state = State.AUTHENTICATING;
        exchange = server.authenticator().begin(user);
        authenticate(ctx, null);
    }

    private void authenticate(ChannelHandlerContext ctx, ByteBuf response) {
        switch (exchange.step(ctx, response)) {
            case CONTINUE -> {
            }
            case ACCEPTED -> {
                state = State.CONNECTING;
                connect(ctx, parameters);
            }
            case REFUSED -> {
                // What a server says, and nothing more: the user name only, never the password.
                server.log().info("tsmigrate proxy: password authentication failed for user \"" + user + "\" from "
                        + ctx.channel().remoteAddress());
                fatal("28P01", "password authentication failed for user \"" + user + "\"");
            }
        }
    }

    /** Called once the client is authenticated: opens its connection to the primary. */
    private void connect(ChannelHandlerContext ctx, Map<String, String> parameters) {
        List<String> prelude = new ArrayList<>();
        parameters.forEach((k, v) -> {
            if (SETTINGS.contains(k.toLowerCase(java.util.Locale.ROOT))) {
                prelude.add("SET " + k + " = '" + v.replace("'", "''") + "'");
            }
        });
        this.prelude = prelude;
        forwarded = new LinkedHashMap<>(parameters);
        forwarded.remove("replication");
        open(ctx, true);
    }

    private List<String> prelude;

    /**
     * The session's settings as the secondary must have them: how the primary reads literals, the
     * client's startup settings, then its SETs (each as a pgjdbc connection takes it: the journal's
     * replayer, shadow reads and lossless mode use one).
     */
    private List<String> secondarySettings() {
        List<String> settings = new ArrayList<>();
        prelude.forEach(p -> settings.add(SessionSettings.driverSafe(p)));
        tracker.settings().stream().filter(MirrorTracker::mirrored).map(SessionSettings::driverSafe).forEach(settings::add);
        return settings;
    }

    /**
     * The secondary settings as they were when the session was last outside a transaction: what a
     * repeated transaction starts from (its own SETs follow in it, in order), on a new connection
     * to the secondary as in its journal entry.
     */
    private List<String> idleSettings = List.of();

    /** The session is outside a transaction, its last one repeated: later transactions start from its settings now. */
    private void settled() {
        if (lastStatus == 'I' && mirror != null && (tracker.settingsChanges() != settledChanges || idleSettings.isEmpty())) {
            settledChanges = tracker.settingsChanges();
            List<String> now = secondarySettings();
            if (!now.equals(idleSettings)) {
                idleSettings = now;
                mirror.prelude(now);
            }
        }
    }

    private int settledChanges;

    /**
     * Opens the session's connection to the primary of the roles as they are now. The first time it
     * greets the client; when it moves the session after a cutover, it prepares the session's named
     * statements and settings there again, out of the client's sight.
     */
    private void open(ChannelHandlerContext ctx, boolean greet) {
        // The secondary's connection gets the client's settings so far (its later SETs are mirrored).
        mirror = server.mirror().session(secondarySettings());
        primary = mirror.targetIsPrimary() ? server.target() : server.source();
        BackendEvents listener = new BackendEvents();
        events = listener;
        outstanding = 0;
        sinceEnd = false;
        Backend.connect(ctx.channel().eventLoop(), primary, forwarded, listener).addListener(f -> {
            if (!f.isSuccess()) {
                if (greet && f.cause() instanceof Backend.Refused r) {
                    client.writeAndFlush(r.errorResponse).addListener(ChannelFutureListener.CLOSE);
                } else {
                    fatal("08006", "tsmigrate proxy cannot reach the " + primary + ": " + f.cause().getMessage());
                }
                return;
            }
            Backend.Ready ready = (Backend.Ready) f.getNow();
            backend = ready.channel();
            backendPid = ready.pid();
            backendKey = ready.key();
            if (greet) {
                client.write(Wire.authenticationOk(client.alloc()));
                ready.parameterStatus().forEach(this::parameterStatus);
                // First, so that the client's own startup settings still decide (the primary reported them as it took them).
                List<String> literals = new ArrayList<>();
                readsLiterals.forEach((k, v) -> literals.add("SET " + k + " = '" + v.replace("'", "''") + "'"));
                prelude.addAll(0, literals);
                settled();
                ready.parameterStatus().forEach(client::write);
                client.write(Wire.backendKeyData(client.alloc(), pid, key));
                client.writeAndFlush(Wire.readyForQuery(client.alloc(), 'I'));
                server.opened(this);
                relayEarly();
            } else {
                ready.parameterStatus().forEach(ByteBuf::release);
                prepareAgain();
            }
        });
    }

    private void relayEarly() {
        state = State.RELAY;
        while (!early.isEmpty() && state == State.RELAY) {
            relay(early.poll());
        }
        backend.flush();
        client.config().setAutoRead(true);
    }

    /** After a move: the named statements and settings the client made, sent to the new primary; its answers swallowed. */
    private void prepareAgain() {
        replaying = true;
        List<String> settings = tracker.settings();
        if (!settings.isEmpty()) {
            backend.write(Wire.query(backend.alloc(), String.join("; ", settings)));
        }
        for (Object[] st : tracker.namedStatements()) {
            ByteBuf p = Wire.begin(backend.alloc(), 'P');
            Wire.cstring(p, (String) st[0]);
            Wire.cstring(p, (String) st[1]);
            int[] oids = (int[]) st[2];
            p.writeShort(oids.length);
            for (int oid : oids) {
                p.writeInt(oid == 0 ? 0 : oid);
            }
            backend.write(Wire.end(p));
        }
        backend.writeAndFlush(Wire.end(Wire.begin(backend.alloc(), 'S')));
        pendingReplayReadies = settings.isEmpty() ? 1 : 2;
    }

    private int pendingReplayReadies;

    /** Moves an idle session to the primary that cutover set, before the client's next message runs. */
    private boolean moveIfPrimaryChanged(ChannelHandlerContext ctx) {
        if (server.mirror().targetIsPrimary() == mirror.targetIsPrimary() || gated || lastStatus != 'I' || !tracker.quiet()
                || outstanding > 0 || sinceEnd || busy() || wrapped || !heldClient.isEmpty() || pendingIntent != null) {
            return false;
        }
        ServerAddress from = primary;
        state = State.CONNECTING;
        client.config().setAutoRead(false);
        Channel old = backend;
        backend = null;
        old.writeAndFlush(Wire.end(Wire.begin(old.alloc(), 'X'))).addListener(ChannelFutureListener.CLOSE);
        server.closeInBackground(mirror);
        closeSecondary();
        open(ctx, false);
        server.log().info("tsmigrate proxy: a session of " + user + " moves from the " + from + " to the " + primary
                + " (the primary that tsmigrate cutover set)");
        return true;
    }

    /** A CancelRequest for this session: sent to the backend it runs on, with that backend's own key. */
    void cancel(int key) {
        if (key == this.key && backend != null) {
            Backend.cancel(client.eventLoop(), primary, backendPid, backendKey);
        }
    }

    // ---- client to primary

    /**
     * Relays a client message. In lossless mode, a message that would commit a transaction that
     * wrote (a COMMIT, while the server has answered everything before it) is held while the proxy
     * asks the server for the transaction's id and writes its intent; an auto-commit write that
     * starts a pipeline is run in a transaction block the proxy opens and commits the same way. Copy
     * data always flows (it belongs to the statement under way).
     */
    private void relay(ByteBuf msg) {
        char type = (char) msg.getByte(0);
        if (!server.mirror().lossless() || type == 'd' || type == 'c' || type == 'f') {
            relayNow(msg);
            return;
        }
        if (!heldClient.isEmpty() || busy()) {
            hold(msg);
            return;
        }
        process(msg, true);
    }

    private void process(ByteBuf msg, boolean decide) {
        char type = (char) msg.getByte(0);
        Decision d = decide && outstanding == 0 && !sinceEnd ? decide(msg) : Decision.RELAY;
        if (d == Decision.COMMIT) {
            hold(msg);
            inject(Step.PROBE, "SELECT txid_current()");
            return;
        }
        if (d == Decision.WRAP) {
            hold(msg);
            // The transaction id comes with the BEGIN, in the same round trip: the intent needs nothing more later.
            inject(Step.BEGIN, "BEGIN", "SELECT txid_current()");
            return;
        }
        relayNow(msg);
    }

    private void hold(ByteBuf msg) {
        heldClient.add(msg);
        if (!awaitingWrappedEnd) {
            client.config().setAutoRead(false);
        }
    }

    /** The proxy runs its own messages, or waits for an intent or a wrapped pipeline's end: client messages wait. */
    private boolean busy() {
        return step != Step.NONE || intending || awaitingWrappedEnd || gated;
    }

    /** What a message that starts a pipeline (the server has answered everything before it) asks of the lossless mode. */
    private Decision decide(ByteBuf msg) {
        if (wrapped || pendingIntent != null) {
            return Decision.RELAY;
        }
        ByteBuf body = msg.slice(5, msg.readableBytes() - 5);
        String sql;
        try {
            sql = switch ((char) msg.getByte(0)) {
                case 'Q' -> Wire.cstring(body);
                case 'P' -> {
                    Wire.cstring(body);
                    yield Wire.cstring(body);
                }
                case 'B' -> {
                    Wire.cstring(body);
                    yield tracker.statementSql(Wire.cstring(body));
                }
                default -> null;
            };
        } catch (RuntimeException e) {
            return Decision.RELAY;
        }
        if (sql == null) {
            return Decision.RELAY;
        }
        if (serverStatus == 'T' && COMMIT.matcher(sql).matches() && !tracker.openWrites().isEmpty()) {
            return Decision.COMMIT;
        }
        if (serverStatus == 'I' && MirrorTracker.mirrored(sql) && io.tsmigrate.dualwrite.SqlKind.transactional(sql)
                && !CONTROL.matcher(sql).find()) {
            return Decision.WRAP;
        }
        return Decision.RELAY;
    }

    private static final java.util.regex.Pattern COMMIT = java.util.regex.Pattern.compile(
            "(?is)\\s*(COMMIT|END)(\\s+(WORK|TRANSACTION))?(\\s+AND\\s+(NO\\s+)?CHAIN)?\\s*;?\\s*");
    /** A statement string that controls transactions itself after its first statement: not wrapped. */
    private static final java.util.regex.Pattern CONTROL = java.util.regex.Pattern.compile(
            "(?is);\\s*(BEGIN|START|COMMIT|END|ROLLBACK|ABORT|SAVEPOINT|RELEASE|PREPARE)\\b");

    /**
     * Runs one statement of the proxy's own on the backend, ending with a Sync: a named statement of
     * its own, prepared and closed each time (the client's unnamed statement stays as it was, and a
     * client's DEALLOCATE ALL or DISCARD ALL cannot take it away).
     */
    private void inject(Step s, String... statements) {
        step = s;
        String name = "tsmigrate_" + s.name().toLowerCase(java.util.Locale.ROOT);
        for (String sql : statements) {
            ByteBuf p = Wire.begin(backend.alloc(), 'P');
            Wire.cstring(p, name);
            Wire.cstring(p, sql);
            p.writeShort(0);
            backend.write(Wire.end(p));
            ByteBuf b = Wire.begin(backend.alloc(), 'B');
            Wire.cstring(b, "");
            Wire.cstring(b, name);
            b.writeShort(0).writeShort(0).writeShort(0);
            backend.write(Wire.end(b));
            ByteBuf e = Wire.begin(backend.alloc(), 'E');
            Wire.cstring(e, "");
            e.writeInt(0);
            backend.write(Wire.end(e));
            ByteBuf c = Wire.begin(backend.alloc(), 'C');
            c.writeByte('S');
            Wire.cstring(c, name);
            backend.write(Wire.end(c));
        }
        backend.writeAndFlush(Wire.end(Wire.begin(backend.alloc(), 'S')));
    }

    /** An answer to the proxy's own statement. */
    private void injected(ByteBuf msg) {
        char type = (char) msg.getByte(0);
        try {
            switch (type) {
                case 'D' -> {
                    ByteBuf body = msg.slice(5, msg.readableBytes() - 5);
                    body.readShort();
                    int length = body.readInt();
                    probedXid = Long.parseLong(body.readCharSequence(length, java.nio.charset.StandardCharsets.US_ASCII).toString());
                }
                case 'E' -> {
                    if (injectedError != null) {
                        injectedError.release();
                    }
                    injectedError = msg.retain();
                }
                case 'Z' -> {
                    serverStatus = (char) msg.getByte(5);
                    Step done = step;
                    step = Step.NONE;
                    afterInjected(done);
                }
                default -> {
                    // ParseComplete, BindComplete, CommandComplete: nothing to learn
                }
            }
        } finally {
            msg.release();
        }
    }

    private void afterInjected(Step done) {
        if (injectedError != null && done != Step.COMMIT) {
            String why = Wire.fields(injectedError.slice(5, injectedError.readableBytes() - 5)).getOrDefault('M', "?");
            injectedError.release();
            injectedError = null;
            losslessFailed("tsmigrate proxy: " + done.name().toLowerCase(java.util.Locale.ROOT) + " on the " + primary
                    + " failed (" + why + "); the transaction is rolled back, not committed");
            return;
        }
        switch (done) {
            case BEGIN -> {
                wrapped = true;
                drain(true);
            }
            case PROBE -> intend();
            case COMMIT, ROLLBACK -> {
                if (injectedError != null) {
                    // The COMMIT failed (a deferred constraint, a serialization failure): the client hears it, as from
                    // the server when it commits by itself.
                    ByteBuf error = injectedError;
                    injectedError = null;
                    toClient(error);
                }
                wrapped = false;
                toClient(Wire.readyForQuery(client.alloc(), serverStatus));
                if (!gated) {
                    client.flush();
                }
                drain(false);
            }
            default -> throw new IllegalStateException(done.name());
        }
    }

    /** Writes the open transaction's intent off the event loop; the COMMIT waits for it. */
    private void intend() {
        intending = true;
        server.intendInBackground(mirror, List.copyOf(tracker.openWrites()), probedXid,
                intended -> client.eventLoop().execute(() -> intentWritten(intended)));
    }

    private void intentWritten(ProxyServer.Intended intended) {
        intending = false;
        if (state != State.RELAY) {
            if (intended != null) {
                mirror.abandon(intended.intent()); // the client left: its backend closed, the transaction did not commit
            }
            return;
        }
        if (intended == null) {
            losslessFailed("tsmigrate proxy: the intent log cannot be written (see the proxy's log); the transaction is rolled "
                    + "back, not committed");
            return;
        }
        pendingIntent = intended;
        if (wrapped) {
            inject(Step.COMMIT, "COMMIT");
        } else {
            drain(true);
        }
    }

    /** The client's wrapped pipeline ended: the proxy commits it (after its intent), or rolls it back. */
    private void wrappedEnd(ByteBuf ready) {
        awaitingWrappedEnd = false;
        serverStatus = (char) ready.getByte(5);
        if (serverStatus == 'I') {
            wrapped = false; // the client's own statements ended the block
            forward(ready);
            if (!gated) {
                drain(false);
            }
            return;
        }
        ready.release();
        if (serverStatus == 'E') {
            inject(Step.ROLLBACK, "ROLLBACK");
        } else if (tracker.openWrites().isEmpty()) {
            inject(Step.COMMIT, "COMMIT");
        } else {
            intend(); // its transaction id came with the BEGIN
        }
    }

    /** Relays held client messages until the proxy must hold again; the first was decided on already when it was held. */
    private void drain(boolean firstDecided) {
        boolean first = firstDecided;
        while (!heldClient.isEmpty() && !busy() && state == State.RELAY) {
            process(heldClient.poll(), !first);
            first = false;
        }
        if (backend != null) {
            backend.flush();
        }
        // While a wrapped pipeline runs, the client is read on: its COPY data must flow (other messages wait in order).
        if (state == State.RELAY && backend != null && (awaitingWrappedEnd || (heldClient.isEmpty() && !busy()))) {
            client.config().setAutoRead(backend.isWritable());
        }
    }

    /** The lossless sequence cannot go on: the client hears why, and both connections close (the server rolls back). */
    private void losslessFailed(String message) {
        server.log().severe(message);
        fatal("58030", message);
        if (backend != null) {
            backend.close();
        }
    }

    /** A transaction with an intent ended on the server: without writes committed, the intent is abandoned. */
    private ProxyServer.Intended takeIntent() {
        ProxyServer.Intended i = pendingIntent;
        pendingIntent = null;
        return i;
    }

    private void relayNow(ByteBuf msg) {
        char type = (char) msg.getByte(0);
        // Where the server is in the client's pipelines: a session moves, and the proxy speaks, only between them.
        if (type == 'Q' || type == 'S' || type == 'F') {
            outstanding++;
            sinceEnd = false;
            awaitingWrappedEnd |= wrapped;
        } else if (type != 'X' && type != 'd' && type != 'c' && type != 'f') {
            sinceEnd = true;
        }
        ByteBuf body = msg.slice(5, msg.readableBytes() - 5);
        try {
            switch (type) {
                case 'Q' -> tracker.query(Wire.cstring(body));
                case 'P' -> {
                    String name = Wire.cstring(body);
                    String sql = Wire.cstring(body);
                    int[] oids = new int[body.readUnsignedShort()];
                    for (int i = 0; i < oids.length; i++) {
                        oids[i] = body.readInt();
                    }
                    tracker.parse(name, sql, oids);
                }
                case 'B' -> {
                    String portal = Wire.cstring(body);
                    String statement = Wire.cstring(body);
                    if (!tracker.needsValues(statement)) {
                        tracker.bind(portal, statement, new int[0], new byte[0][]);
                        break;
                    }
                    int[] formats = new int[body.readUnsignedShort()];
                    for (int i = 0; i < formats.length; i++) {
                        formats[i] = body.readShort();
                    }
                    byte[][] values = new byte[body.readUnsignedShort()][];
                    for (int i = 0; i < values.length; i++) {
                        int length = body.readInt();
                        values[i] = length < 0 ? null : ByteBufUtil.getBytes(body.readSlice(length));
                    }
                    int[] resultFormats = new int[body.readUnsignedShort()];
                    for (int i = 0; i < resultFormats.length; i++) {
                        resultFormats[i] = body.readShort();
                    }
                    tracker.bind(portal, statement, formats, values, resultFormats);
                }
                case 'E' -> tracker.execute(Wire.cstring(body));
                case 'S' -> tracker.sync();
                case 'C' -> {
                    char kind = (char) body.readByte();
                    tracker.close(kind, Wire.cstring(body));
                }
                case 'd' -> tracker.copyData(ByteBufUtil.getBytes(body));
                default -> {
                    // Describe, Flush, CopyDone, CopyFail, Terminate: relayed, nothing to learn.
                }
            }
        } catch (RuntimeException e) {
            server.log().warning("tsmigrate proxy: a message from " + user + " could not be read (" + e.getMessage()
                    + "); it is relayed, and writes it carries are not mirrored");
        }
        backend.write(msg);
        if (type == 'X') {
            backend.flush();
            client.close();
        } else if (!backend.isWritable()) {
            client.config().setAutoRead(false);
        }
    }

    // ---- primary to client

    /** What one backend connection says; a connection the session has moved away from is ignored. */
    private final class BackendEvents implements Backend.Listener {
        @Override
        public void message(ByteBuf msg) {
            if (events != this) {
                msg.release();
                return;
            }
            ClientSession.this.message(msg);
        }

        @Override
        public void readComplete() {
            if (events == this && !gated) {
                client.flush();
                ahead();
            }
        }

        @Override
        public void closed() {
            if (events == this) {
                doubtPendingIntent();
                client.close();
            }
        }

        @Override
        public void backendWritable(boolean writable) {
            if (events == this && state == State.RELAY) {
                client.config().setAutoRead(writable);
            }
        }
    }

    private void message(ByteBuf msg) {
        if (step != Step.NONE) {
            injected(msg);
            return;
        }
        if (msg.getByte(0) == 'Z' && !replaying) {
            outstanding = Math.max(0, outstanding - 1);
            serverStatus = (char) msg.getByte(5);
        }
        if (replaying) {
            char type = (char) msg.getByte(0);
            if (type == 'E') {
                server.log().warning("tsmigrate proxy: preparing a session's statements again on the " + primary + " failed: "
                        + Wire.fields(msg.slice(5, msg.readableBytes() - 5)).getOrDefault('M', "?"));
            }
            msg.release();
            if (type == 'Z' && --pendingReplayReadies == 0) {
                replaying = false;
                relayEarly();
            }
            return;
        }
        toClient(msg);
    }

    /** A message for the client, in the server's order: held while a gate is closed; a wrapped pipeline's end is the proxy's. */
    private void toClient(ByteBuf msg) {
        if (gated) {
            held.add(msg);
        } else if (awaitingWrappedEnd && msg.getByte(0) == 'Z') {
            wrappedEnd(msg);
        } else {
            forward(msg);
        }
    }

    private void forward(ByteBuf msg) {
        char type = (char) msg.getByte(0);
        ByteBuf body = msg.slice(5, msg.readableBytes() - 5);
        switch (type) {
            case 'D' -> {
                if (tracker.shadowing()) {
                    tracker.dataRow(dataRow(body));
                }
            }
            case 's' -> tracker.suspended();
            case 'S' -> parameterStatus(msg);
            case 'C' -> tracker.commandComplete(firstWord(Wire.cstring(body)));
            case 'E' -> tracker.error();
            case 'I' -> tracker.emptyQuery();
            case 'Z' -> {
                lastStatus = (char) body.getByte(0);
                List<MirrorTracker.PendingWrite> writes = tracker.ready(lastStatus);
                if (!writes.isEmpty()) {
                    gate(msg, writes, takeIntent());
                    return;
                }
                if (mirror != null && !server.mirror().lossless()) {
                    aheadDue |= lastStatus == 'T';
                    rollbackDue |= lastStatus == 'I' && secondary != null;
                }
                if (lastStatus != 'T' && pendingIntent != null) {
                    mirror.abandon(takeIntent().intent()); // its COMMIT failed: the transaction rolled back
                }
                settled();
                client.write(msg);
                return;
            }
            default -> {
            }
        }
        client.write(msg);
        if (!client.isWritable()) {
            backend.config().setAutoRead(false);
        }
    }

    /** A DataRow's values in text form (null for SQL NULL). */
    private static String[] dataRow(ByteBuf body) {
        String[] values = new String[body.getUnsignedShort(0)];
        int at = 2;
        for (int i = 0; i < values.length; i++) {
            int length = body.getInt(at);
            at += 4;
            if (length >= 0) {
                values[i] = body.toString(at, length, java.nio.charset.StandardCharsets.UTF_8);
                at += length;
            }
        }
        return values;
    }

    /** Follows the server's client_encoding (a ParameterStatus, at start or after a SET). */
    private void parameterStatus(ByteBuf msg) {
        ByteBuf body = msg.slice(5, msg.readableBytes() - 5);
        String name = Wire.cstring(body);
        if (name.equalsIgnoreCase("client_encoding")) {
            String encoding = Wire.cstring(body).toUpperCase(java.util.Locale.ROOT);
            utf8 = encoding.equals("UTF8") || encoding.equals("UTF-8") || encoding.equals("UNICODE");
        } else if (state != State.RELAY && READS_LITERALS.contains(name)) {
            readsLiterals.put(name, Wire.cstring(body));
        }
    }

    /**
     * Holds the ReadyForQuery, and what follows it, until the committed writes are on the secondary or
     * its journal. What went before it in the same read (the transaction's CommandComplete) is written
     * but not flushed until then: a libpq client that has a CommandComplete waits in PQgetResult for the
     * ReadyForQuery, its thread blocked (pgbench serves all its connections from one thread), while one
     * that has nothing yet goes on with its other connections, which may hold the locks the secondary
     * waits for at a cutover.
     */
    private void gate(ByteBuf ready, List<MirrorTracker.PendingWrite> writes, ProxyServer.Intended intended) {
        gated = true;
        gatedAt = System.nanoTime();
        aheadDue = false; // the transaction committed: what did not go ahead goes with its COMMIT
        if (rollbackDue) {
            rollbackDue = false;
            if (secondary != null) {
                secondary.rolledBack(); // an earlier one in the same read did not commit
            }
        }
        held.addFirst(ready);
        backend.config().setAutoRead(false);
        if (server.mirror().lossless()) {
            server.mirrorInBackground(mirror, writes, intended, () -> client.eventLoop().execute(this::release));
            return;
        }
        secondary().repeat(mirror, writes, idleSettings, readsLiterals, this::release);
    }

    /**
     * The secondary's part of what the primary answered, once the client has the answers: the writes
     * of the open transaction go ahead, after the rollback of one that ended without a commit.
     */
    private void ahead() {
        if (state == State.CLOSED) {
            return; // the session ended: its connection to the secondary is closed, and stays so
        }
        if (rollbackDue) {
            rollbackDue = false;
            if (secondary != null) {
                secondary.rolledBack();
            }
        }
        if (aheadDue) {
            aheadDue = false;
            // After a cutover, a session still on the old primary sends nothing ahead: its secondary is the
            // new primary, whose clients must not wait for the locks of a transaction they cannot see end.
            if (lastStatus == 'T' && mirror != null && server.mirror().targetIsPrimary() == mirror.targetIsPrimary()) {
                secondary().ahead(mirror, tracker.openWrites(), idleSettings, readsLiterals);
            }
        }
    }

    /**
     * The roles swapped (cutover or its rollback; any thread): what this session's open transaction
     * sent ahead to its secondary, now the primary, is rolled back there, and its writes go with its COMMIT.
     */
    void rolesSwapped() {
        client.eventLoop().execute(() -> {
            if (secondary != null) {
                secondary.abandonAhead();
            }
        });
    }

    /** A transaction ended without a commit, or has new writes, since the client was last flushed ({@link #ahead}). */
    private boolean rollbackDue;
    private boolean aheadDue;

    private SecondaryLink secondary() {
        if (secondary == null) {
            secondary = new SecondaryLink(server, client.eventLoop());
        }
        return secondary;
    }

    private void release() {
        gated = false;
        settled();
        server.addedLatency(System.nanoTime() - gatedAt);
        client.write(held.poll()); // the ReadyForQuery, already followed
        while (!held.isEmpty() && !gated) {
            ByteBuf next = held.poll();
            if (awaitingWrappedEnd && next.getByte(0) == 'Z') {
                wrappedEnd(next);
            } else {
                forward(next);
            }
        }
        client.flush();
        if (!gated && state == State.RELAY && backend != null) {
            ahead();
            backend.config().setAutoRead(client.isWritable());
        }
        if (state == State.CLOSED) {
            finish();
        } else if (!gated && server.mirror().lossless()) {
            drain(false); // the client's messages held meanwhile, and reading from it again
        }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        if (backend != null && !gated) {
            backend.config().setAutoRead(ctx.channel().isWritable());
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        State was = state;
        state = State.CLOSED;
        early.forEach(ByteBuf::release);
        early.clear();
        if (backend != null) {
            backend.close();
        }
        doubtPendingIntent();
        heldClient.forEach(ByteBuf::release);
        heldClient.clear();
        if (was == State.RELAY) {
            server.closed(this);
        }
        if (!gated) {
            finish();
        }
    }

    /** The connection to the primary ended with an intent whose COMMIT may or may not have happened: the primary is asked later. */
    private void doubtPendingIntent() {
        if (pendingIntent != null && mirror != null) {
            mirror.doubt(takeIntent().intent());
        }
    }

    private void closeSecondary() {
        if (secondary != null) {
            secondary.close();
            secondary = null;
        }
    }

    private void finish() {
        held.forEach(ByteBuf::release);
        held.clear();
        closeSecondary();
        if (mirror != null) {
            TransactionMirror.Session m = mirror;
            mirror = null;
            server.closeInBackground(m);
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (state == State.RELAY) {
            server.log().warning("tsmigrate proxy: connection of " + user + " closed: " + cause.getMessage());
            ctx.close();
        } else {
            fatal("08P01", String.valueOf(cause.getMessage()));
        }
    }

    private void fatal(String sqlState, String message) {
        client.writeAndFlush(Wire.error(client.alloc(), "FATAL", sqlState, message)).addListener(ChannelFutureListener.CLOSE);
    }

    private static String firstWord(String tag) {
        int space = tag.indexOf(' ');
        return space < 0 ? tag : tag.substring(0, space);
    }
}
