package io.tsmigrate.dualwrite;

import org.postgresql.PGConnection;
import org.postgresql.core.BaseConnection;

import java.lang.System.Logger.Level;
import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.sql.CallableStatement;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Savepoint;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * One application connection: every statement runs on the primary; every write also runs on the
 * secondary, in a mirrored transaction that commits after the primary's commit succeeded and rolls
 * back with it. The application sees only the primary's results. When the secondary fails, the
 * transaction's writes go to the journal at commit instead. Not thread-safe, like a JDBC connection.
 *
 * <p>Implemented as a {@link java.lang.reflect.Proxy} handler: a JDBC connection has some hundred
 * methods, and all but the few that write or end transactions simply go to the primary.
 */
final class DualConnection implements InvocationHandler {

    private static final System.Logger LOG = System.getLogger(DualConnection.class.getName());

    private enum Mode { NONE, DIRECT, JOURNAL, DROPPED }

    /** A savepoint of the primary, its twin on the secondary (if one was open), and the writes before it. */
    private record Mark(int writes, Savepoint side) {
    }

    @FunctionalInterface
    interface PrimaryCall {
        Object call() throws Throwable;
    }

    @FunctionalInterface
    interface SideCall {
        Object call(Connection side) throws SQLException;
    }

    private final Connection primary;
    private final DualWriter writer;
    private final DualWriter.Roles roles;
    private Connection side;
    private boolean autoCommit = true;
    /** Lossless mode: an auto-commit write runs in a transaction of its own, so that its intent precedes its commit. */
    private boolean implicit;
    private Mode mode = Mode.NONE;
    private final List<Write> writes = new ArrayList<>();
    private final Map<Savepoint, Mark> marks = new IdentityHashMap<>();
    /** The primary connection's session settings (a pool's connection keeps them from one borrower to the next). */
    private final SessionSettings settings;
    /** The settings before the open transaction changed them: the session's again if it rolls back. */
    private List<String> settingsBeforeTransaction;
    /** The settings when the open transaction first wrote: a journaled transaction runs them first. */
    private List<String> settingsAtFirstWrite = List.of();
    private Connection self;

    private DualConnection(Connection primary, DualWriter writer, DualWriter.Roles roles) {
        this.primary = primary;
        this.writer = writer;
        this.roles = roles;
        this.settings = writer.sessions().of(primary);
    }

    /** A connection with the roles of the moment: they stay until it is closed. */
    static Connection wrap(DualWriter writer, String user, String password) throws SQLException {
        writer.recover();
        DualWriter.Roles roles = writer.roles();
        Connection primary = user == null ? roles.primary().dataSource.getConnection()
                : roles.primary().dataSource.getConnection(user, password);
        DualConnection handler = new DualConnection(primary, writer, roles);
        handler.autoCommit = primary.getAutoCommit();
        handler.self = (Connection) Proxy.newProxyInstance(DualConnection.class.getClassLoader(),
                new Class<?>[] {Connection.class}, handler);
        return handler.self;
    }

    Connection self() {
        return self;
    }

    DualWriter writer() {
        return writer;
    }

    boolean primaryIsTarget() {
        return roles.primary().name.equals("target");
    }

    /** The session settings the primary's connection holds now, one SET statement each. */
    List<String> sessionSettings() {
        return settings.statements();
    }

    /**
     * Whether the open transaction has written: its reads see rows the secondary's separate session
     * cannot see yet, so they are not shadowed.
     */
    boolean hasUncommittedWrites() {
        return !writes.isEmpty();
    }

    @Override
    public Object invoke(Object proxy, Method method, Object[] args) throws Throwable {
        switch (method.getName()) {
            case "createStatement":
                return DualStatement.wrap(this, (Statement) call(method, args), null, Statement.class);
            case "prepareStatement":
                return DualStatement.wrap(this, (Statement) call(method, args), (String) args[0], PreparedStatement.class);
            case "prepareCall":
                return DualStatement.wrap(this, (Statement) call(method, args), (String) args[0], CallableStatement.class);
            case "setAutoCommit":
                setAutoCommit((Boolean) args[0]);
                return null;
            case "getAutoCommit":
                return autoCommit;
            case "commit":
                commit();
                return null;
            case "rollback":
                if (args == null || args.length == 0) {
                    rollback();
                } else {
                    rollbackTo((Savepoint) args[0]);
                }
                return null;
            case "setSavepoint":
                return setSavepoint(method, args);
            case "releaseSavepoint":
                release((Savepoint) args[0]);
                return null;
            case "close":
                close();
                return null;
            case "unwrap":
                return unwrap((Class<?>) args[0]);
            case "isWrapperFor":
                return ((Class<?>) args[0]).isInstance(proxy) || args[0] == PGConnection.class || primary.isWrapperFor((Class<?>) args[0]);
            case "equals":
                return proxy == args[0];
            case "hashCode":
                return System.identityHashCode(proxy);
            case "toString":
                return "dual-write connection (primary " + primary + ")";
            default:
                return call(method, args);
        }
    }

    private Object call(Method method, Object[] args) throws Throwable {
        try {
            return method.invoke(primary, args);
        } catch (InvocationTargetException e) {
            throw e.getCause();
        }
    }

    /**
     * Runs a write on the primary, then (unless the secondary is diverted) on the secondary.
     *
     * @param onSecondary how to run it there; null to use the recorded writes
     */
    Object write(PrimaryCall onPrimary, List<Write> recorded, SideCall onSecondary) throws Throwable {
        if (autoCommit && writer.lossless() && recorded.stream().allMatch(w -> SqlKind.transactional(w.sql()))) {
            beginImplicit();
        }
        Object result;
        try {
            result = onPrimary.call();
        } catch (Throwable t) {
            if (implicit) {
                try {
                    rollback();
                } finally {
                    endImplicit();
                }
            }
            throw t;
        }
        for (Write w : recorded) {
            // Once per query shape, asked of the primary's catalog on this connection: values each side computes.
            String reason = writer.computedWrites().examine(w.sql(), ComputedValues.on(primary));
            if (reason != null) {
                LOG.log(Level.WARNING, ComputedWrites.warning("tsmigrate dual-write", QueryShape.of(w.sql()), reason));
            }
        }
        if (mode == Mode.NONE) {
            mode = roles.secondary().beginDirect() ? Mode.DIRECT : Mode.JOURNAL;
        }
        if (writes.isEmpty()) {
            settingsAtFirstWrite = settings.statements();
        }
        writes.addAll(recorded);
        if (mode == Mode.DIRECT) {
            try {
                ensureSide();
                Object sideResult = onSecondary != null ? onSecondary.call(side) : applyAll(recorded);
                if (!sameCount(result, sideResult)) {
                    writer.counters().countMismatch();
                    LOG.log(Level.WARNING, "tsmigrate dual-write: the secondary counted other rows than the primary for: "
                            + recorded.get(0).sql());
                }
                writer.wroteDirectly();
            } catch (SQLException e) {
                secondaryFailed(e);
            }
        }
        if (implicit) {
            try {
                commit();
            } finally {
                endImplicit();
            }
        } else if (autoCommit) {
            endTransaction(true, null);
        }
        return result;
    }

    /**
     * Runs a statement that changes the session's settings (a session SET, RESET, DISCARD ALL) on the
     * primary and follows it: an open connection to the secondary is brought to the same settings,
     * one opened later gets them when it opens, and a journaled transaction runs them first as SET
     * LOCAL. The statement is never journaled itself: a replayer's connection serves every session.
     */
    Object changeSettings(PrimaryCall onPrimary, String sql) throws Throwable {
        Object result = onPrimary.call();
        if (inTransaction() && settingsBeforeTransaction == null) {
            settingsBeforeTransaction = settings.statements();
        }
        if (inTransaction() && !writes.isEmpty()) {
            settings.localChange(sql).forEach(local -> writes.add(Write.sql(local)));
        }
        settings.accepted(sql);
        if (side != null && mode != Mode.JOURNAL && mode != Mode.DROPPED) {
            try {
                writer.sessions().align(side, settings.statements());
            } catch (SQLException e) {
                if (mode == Mode.DIRECT) {
                    secondaryFailed(e);
                } else {
                    closeSide();
                }
            }
        }
        return result;
    }

    /** The open transaction's writes as a journal or an intent holds them: after the session's settings, made local. */
    private List<Write> journaled() {
        if (writes.isEmpty()) {
            return List.of();
        }
        List<Write> out = new ArrayList<>();
        settingsAtFirstWrite.forEach(set -> out.add(Write.sql(SessionSettings.local(set))));
        out.addAll(writes);
        return out;
    }

    private void beginImplicit() throws SQLException {
        implicit = true;
        primary.setAutoCommit(false);
        if (side != null) {
            try {
                side.setAutoCommit(false);
            } catch (SQLException e) {
                closeSide();
            }
        }
    }

    private void endImplicit() throws SQLException {
        implicit = false;
        primary.setAutoCommit(true);
        if (side != null) {
            try {
                side.setAutoCommit(true);
            } catch (SQLException e) {
                closeSide();
            }
        }
    }

    /** Whether the secondary's connection runs statements in a transaction that ends with the primary's. */
    private boolean inTransaction() {
        return !autoCommit || implicit;
    }

    private Object applyAll(List<Write> recorded) throws SQLException {
        Object last = null;
        for (Write w : recorded) {
            last = JournalReplayer.apply(side, w);
        }
        return last;
    }

    private void ensureSide() throws SQLException {
        if (side == null) {
            side = roles.secondary().dataSource.getConnection();
            // The session's settings as the primary holds them outside this transaction; its own changes
            // are made inside the secondary's transaction, so that a rollback undoes them there too.
            writer.sessions().align(side, settingsBeforeTransaction != null ? settingsBeforeTransaction : settings.statements());
            if (writer.lossless()) {
                writer.ensureStateTables(roles.secondary(), side);
            }
            side.setAutoCommit(!inTransaction());
            // Replay what this transaction wrote before the secondary joined it (nothing, usually).
            if (inTransaction()) {
                writer.sessions().align(side, settings.statements());
                for (Write w : writes.subList(0, Math.max(0, writes.size() - 1))) {
                    JournalReplayer.apply(side, w);
                }
            }
        }
    }

    private void secondaryFailed(SQLException e) throws SQLException {
        closeSide();
        switch (writer.config().policy()) {
            case FAIL -> {
                writer.counters().failure();
                mode = Mode.DROPPED;
                throw new SQLException("tsmigrate dual-write: the write succeeded on the primary but failed on the secondary: "
                        + e.getMessage(), e.getSQLState(), e);
            }
            case LOG -> {
                writer.counters().failure();
                LOG.log(Level.WARNING, "tsmigrate dual-write: the secondary missed a write: " + e.getMessage());
                mode = Mode.DROPPED;
            }
            case JOURNAL -> {
                writer.divert(roles.secondary(), e);
                // This transaction's writes so far, and its later ones, go to the journal at commit.
                mode = Mode.JOURNAL;
                roles.secondary().joinJournal();
            }
            default -> throw new IllegalStateException();
        }
    }

    private void setAutoCommit(boolean on) throws SQLException {
        if (on == autoCommit) {
            return;
        }
        if (on && !writes.isEmpty() && writer.lossless()) {
            // JDBC commits an open transaction when auto-commit is turned on: its intent comes first.
            commit();
            primary.setAutoCommit(true);
            autoCommit = true;
        } else if (on && !writes.isEmpty()) {
            // JDBC commits an open transaction when auto-commit is turned on.
            primary.setAutoCommit(true);
            autoCommit = true;
            endTransaction(true, null);
        } else {
            primary.setAutoCommit(on);
            autoCommit = on;
        }
        if (side != null) {
            try {
                side.setAutoCommit(on);
            } catch (SQLException e) {
                closeSide();
            }
        }
    }

    /**
     * Commits on the primary, then on the secondary. In lossless mode a transaction that wrote first
     * gets its intent: the primary's transaction id and its writes, on disk before the COMMIT is sent,
     * and (when the secondary takes it directly) recorded in the secondary's transaction under the
     * intent's identity, so that whatever happens between the two commits, the next start applies it
     * there exactly once.
     */
    private void commit() throws SQLException {
        IntentLog.Intent intent = null;
        List<Write> intended = List.of();
        long xid = 0;
        if (writer.lossless() && !writes.isEmpty() && (mode == Mode.DIRECT || mode == Mode.JOURNAL)) {
            try {
                xid = currentXid();
                intended = journaled();
                intent = writer.intents().intend(roles.secondary(), intended, xid);
            } catch (SQLException e) {
                rollback();
                throw e;
            }
            TestHook.reached(TestHook.BEFORE_COMMIT);
            if (mode == Mode.DIRECT && side != null) {
                try {
                    JournalReplayer.claim(side, intent.origin().journal(), intent.origin().seq());
                } catch (SQLException e) {
                    secondaryFailed(e);
                }
            }
        }
        try {
            primary.commit();
        } catch (SQLException e) {
            endTransaction(false, null);
            if (intent != null) {
                String state = e.getSQLState() == null ? "" : e.getSQLState();
                if (state.startsWith("08") || state.startsWith("57P") || state.isEmpty()) {
                    writer.intents().doubt(roles.secondary(), intent, intended, xid);
                } else {
                    writer.intents().resolved(roles.secondary(), intent);
                }
            }
            throw e;
        }
        if (intent != null) {
            TestHook.reached(TestHook.BETWEEN_COMMITS);
        }
        endTransaction(true, intent);
    }

    private long currentXid() throws SQLException {
        try (Statement st = primary.createStatement(); java.sql.ResultSet rs = st.executeQuery("SELECT txid_current()")) {
            rs.next();
            return rs.getLong(1);
        }
    }

    private void rollback() throws SQLException {
        try {
            primary.rollback();
        } finally {
            endTransaction(false, null);
        }
    }

    /**
     * Ends the mirrored transaction after the primary's commit (or rollback); a committed one's
     * intent, if it has one, is resolved once the secondary or its journal has the transaction.
     */
    private void endTransaction(boolean committed, IntentLog.Intent intent) throws SQLException {
        Mode ended = mode;
        List<Write> done = journaled();
        writes.clear();
        marks.clear();
        mode = Mode.NONE;
        settingsAtFirstWrite = List.of();
        List<String> before = settingsBeforeTransaction;
        settingsBeforeTransaction = null;
        if (!committed && before != null) {
            settings.restore(before); // the primary undid them with the transaction, and so does the secondary's
            if (side != null) {
                writer.sessions().aligned(side, before);
            }
        }
        if (!committed) {
            if (side != null && inTransaction()) {
                try {
                    side.rollback();
                } catch (SQLException e) {
                    closeSide();
                }
            }
            if (ended == Mode.JOURNAL) {
                roles.secondary().endJournalTransaction();
            }
            return;
        }
        if (ended == Mode.DIRECT && side != null && inTransaction()) {
            try {
                long started = System.nanoTime();
                side.commit();
                writer.counters().secondaryCommit(System.nanoTime() - started);
                if (intent != null) {
                    writer.intents().resolved(roles.secondary(), intent);
                }
            } catch (SQLException e) {
                closeSide();
                if (writer.config().policy() == FailurePolicy.JOURNAL) {
                    writer.divert(roles.secondary(), e);
                    writer.journal(roles.secondary(), done, intent == null ? null : intent.origin());
                    if (intent != null) {
                        writer.intents().resolved(roles.secondary(), intent);
                    }
                    return;
                }
                writer.counters().failure();
                if (writer.config().policy() == FailurePolicy.FAIL) {
                    throw new SQLException("tsmigrate dual-write: the primary committed but the secondary's commit failed: "
                            + e.getMessage(), e.getSQLState(), e);
                }
            }
        } else if (ended == Mode.JOURNAL) {
            try {
                writer.journal(roles.secondary(), done, intent == null ? null : intent.origin());
                if (intent != null) {
                    writer.intents().resolved(roles.secondary(), intent);
                }
            } finally {
                roles.secondary().endJournalTransaction();
            }
        }
    }

    private Savepoint setSavepoint(Method method, Object[] args) throws Throwable {
        Savepoint sp = (Savepoint) call(method, args);
        Savepoint twin = null;
        if (mode == Mode.DIRECT && side != null) {
            try {
                twin = side.setSavepoint();
            } catch (SQLException e) {
                secondaryFailed(e);
            }
        }
        marks.put(sp, new Mark(writes.size(), twin));
        return sp;
    }

    private void rollbackTo(Savepoint sp) throws SQLException {
        primary.rollback(sp);
        Mark mark = marks.get(sp);
        if (mark == null) {
            return;
        }
        writes.subList(mark.writes(), writes.size()).clear();
        if (mode == Mode.DIRECT && side != null) {
            try {
                if (mark.side() != null) {
                    side.rollback(mark.side());
                } else {
                    // The secondary joined after the savepoint: start it over with the writes before it.
                    side.rollback();
                    for (Write w : writes) {
                        JournalReplayer.apply(side, w);
                    }
                }
            } catch (SQLException e) {
                secondaryFailed(e);
            }
        }
    }

    private void release(Savepoint sp) throws SQLException {
        primary.releaseSavepoint(sp);
        Mark mark = marks.remove(sp);
        if (mark != null && mark.side() != null && side != null && mode == Mode.DIRECT) {
            try {
                side.releaseSavepoint(mark.side());
            } catch (SQLException e) {
                secondaryFailed(e);
            }
        }
    }

    private Object unwrap(Class<?> iface) throws SQLException {
        if (iface.isInstance(self)) {
            return self;
        }
        if (iface == PGConnection.class) {
            PGConnection pg = primary.unwrap(PGConnection.class);
            DualCopyManager copy = new DualCopyManager(primary.unwrap(BaseConnection.class), this);
            return Proxy.newProxyInstance(DualConnection.class.getClassLoader(), new Class<?>[] {PGConnection.class},
                    (p, m, a) -> {
                        if (m.getName().equals("getCopyAPI")) {
                            return copy;
                        }
                        try {
                            return m.invoke(pg, a);
                        } catch (InvocationTargetException e) {
                            throw e.getCause();
                        }
                    });
        }
        return primary.unwrap(iface);
    }

    private void close() throws SQLException {
        try {
            if (!autoCommit && !writes.isEmpty()) {
                // Closing with a transaction open discards it, as the primary does.
                endTransaction(false, null);
            }
            primary.close();
        } finally {
            closeSide();
        }
    }

    private void closeSide() {
        Quietly.close(side);
        side = null;
    }

    private static boolean sameCount(Object primaryResult, Object sideResult) {
        Long p = count(primaryResult);
        Long s = count(sideResult);
        return p == null || s == null || p.equals(s);
    }

    private static Long count(Object result) {
        if (result instanceof Integer i) {
            return i.longValue();
        }
        if (result instanceof Long l) {
            return l;
        }
        if (result instanceof int[] a) {
            long sum = 0;
            for (int v : a) {
                sum += Math.max(v, 0);
            }
            return sum;
        }
        return null;
    }
}
