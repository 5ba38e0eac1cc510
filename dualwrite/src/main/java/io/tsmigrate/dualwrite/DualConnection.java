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
    private final Secondary secondary;
    private final Secondary.Roles roles;
    private Connection side;
    private boolean autoCommit = true;
    private Mode mode = Mode.NONE;
    private final List<Write> writes = new ArrayList<>();
    private final Map<Savepoint, Mark> marks = new IdentityHashMap<>();
    private Connection self;

    private DualConnection(Connection primary, Secondary secondary, Secondary.Roles roles) {
        this.primary = primary;
        this.secondary = secondary;
        this.roles = roles;
    }

    /** A connection with the roles of the moment: they stay until it is closed. */
    static Connection wrap(Secondary secondary, String user, String password) throws SQLException {
        Secondary.Roles roles = secondary.roles();
        Connection primary = user == null ? roles.primary().dataSource.getConnection()
                : roles.primary().dataSource.getConnection(user, password);
        DualConnection handler = new DualConnection(primary, secondary, roles);
        handler.autoCommit = primary.getAutoCommit();
        handler.self = (Connection) Proxy.newProxyInstance(DualConnection.class.getClassLoader(),
                new Class<?>[] {Connection.class}, handler);
        return handler.self;
    }

    Connection self() {
        return self;
    }

    Secondary secondary() {
        return secondary;
    }

    boolean primaryIsTarget() {
        return roles.primary().name.equals("target");
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
        Object result = onPrimary.call();
        if (mode == Mode.NONE) {
            mode = roles.secondary().beginDirect() ? Mode.DIRECT : Mode.JOURNAL;
        }
        writes.addAll(recorded);
        if (mode == Mode.DIRECT) {
            try {
                ensureSide();
                Object sideResult = onSecondary != null ? onSecondary.call(side) : applyAll(recorded);
                if (!sameCount(result, sideResult)) {
                    secondary.countMismatches.increment();
                    LOG.log(Level.WARNING, "tsmigrate dual-write: the secondary counted other rows than the primary for: "
                            + recorded.get(0).sql());
                }
                secondary.wroteDirectly();
            } catch (SQLException e) {
                secondaryFailed(e);
            }
        }
        if (autoCommit) {
            endTransaction(true);
        }
        return result;
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
            side.setAutoCommit(autoCommit);
            // Replay what this transaction wrote before the secondary joined it (nothing, usually).
            if (!autoCommit) {
                for (Write w : writes.subList(0, Math.max(0, writes.size() - 1))) {
                    JournalReplayer.apply(side, w);
                }
            }
        }
    }

    private void secondaryFailed(SQLException e) throws SQLException {
        closeSide();
        switch (secondary.config().policy()) {
            case FAIL -> {
                secondary.failures.increment();
                mode = Mode.DROPPED;
                throw new SQLException("tsmigrate dual-write: the write succeeded on the primary but failed on the secondary: "
                        + e.getMessage(), e.getSQLState(), e);
            }
            case LOG -> {
                secondary.failures.increment();
                LOG.log(Level.WARNING, "tsmigrate dual-write: the secondary missed a write: " + e.getMessage());
                mode = Mode.DROPPED;
            }
            case JOURNAL -> {
                secondary.divert(roles.secondary(), e);
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
        if (on && !writes.isEmpty()) {
            // JDBC commits an open transaction when auto-commit is turned on.
            primary.setAutoCommit(true);
            autoCommit = true;
            endTransaction(true);
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

    private void commit() throws SQLException {
        try {
            primary.commit();
        } catch (SQLException e) {
            endTransaction(false);
            throw e;
        }
        endTransaction(true);
    }

    private void rollback() throws SQLException {
        try {
            primary.rollback();
        } finally {
            endTransaction(false);
        }
    }

    /** Ends the mirrored transaction after the primary's commit (or rollback). */
    private void endTransaction(boolean committed) throws SQLException {
        Mode ended = mode;
        List<Write> done = new ArrayList<>(writes);
        writes.clear();
        marks.clear();
        mode = Mode.NONE;
        if (!committed) {
            if (side != null && !autoCommit) {
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
        if (ended == Mode.DIRECT && side != null && !autoCommit) {
            try {
                side.commit();
            } catch (SQLException e) {
                closeSide();
                if (secondary.config().policy() == FailurePolicy.JOURNAL) {
                    secondary.divert(roles.secondary(), e);
                    secondary.journal(roles.secondary(), done);
                    return;
                }
                secondary.failures.increment();
                if (secondary.config().policy() == FailurePolicy.FAIL) {
                    throw new SQLException("tsmigrate dual-write: the primary committed but the secondary's commit failed: "
                            + e.getMessage(), e.getSQLState(), e);
                }
            }
        } else if (ended == Mode.JOURNAL) {
            try {
                secondary.journal(roles.secondary(), done);
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
                endTransaction(false);
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
