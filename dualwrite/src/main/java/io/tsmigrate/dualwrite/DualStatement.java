package io.tsmigrate.dualwrite;

import io.tsmigrate.dualwrite.Write.Param;

import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;

/**
 * A statement of a {@link DualConnection}: runs on the primary; a write also runs on the secondary
 * with the same SQL and parameters (one set, or one per batch entry). Parameters are captured as
 * they are set, so that they can be repeated now or journaled. A prepared statement keeps its twin
 * on the secondary for its lifetime, as the application keeps its own.
 */
final class DualStatement implements InvocationHandler {

    private final DualConnection connection;
    private final Statement primary;
    private final String sql;
    private final TreeMap<Integer, Param> params = new TreeMap<>();
    private final List<List<Param>> batchParams = new ArrayList<>();
    private final List<String> batchSql = new ArrayList<>();
    private PreparedStatement twin;
    private Connection twinConnection;

    private DualStatement(DualConnection connection, Statement primary, String sql) {
        this.connection = connection;
        this.primary = primary;
        this.sql = sql;
    }

    static Object wrap(DualConnection connection, Statement primary, String sql, Class<? extends Statement> type) {
        return Proxy.newProxyInstance(DualStatement.class.getClassLoader(), new Class<?>[] {type},
                new DualStatement(connection, primary, sql));
    }

    @Override
    public Object invoke(Object proxy, Method method, Object[] args) throws Throwable {
        String name = method.getName();
        if (sql != null && name.startsWith("set") && args != null && args.length >= 2 && args[0] instanceof Integer
                && method.getDeclaringClass() != Statement.class) {
            Param p = Params.of(name, args);
            params.put(p.index(), p);
            Params.apply((PreparedStatement) primary, p);
            return null;
        }
        switch (name) {
            case "clearParameters":
                params.clear();
                return call(method, args);
            case "addBatch":
                if (args == null || args.length == 0) {
                    batchParams.add(List.copyOf(params.values()));
                } else {
                    batchSql.add((String) args[0]);
                }
                return call(method, args);
            case "clearBatch":
                batchParams.clear();
                batchSql.clear();
                return call(method, args);
            case "execute", "executeQuery", "executeUpdate", "executeLargeUpdate":
                return execute(method, args);
            case "executeBatch", "executeLargeBatch":
                return executeBatch(method, args);
            case "getConnection":
                return connection.self();
            case "close":
                closeTwin();
                return call(method, args);
            case "unwrap":
                return ((Class<?>) args[0]).isInstance(proxy) ? proxy : primary.unwrap((Class<?>) args[0]);
            case "isWrapperFor":
                return ((Class<?>) args[0]).isInstance(proxy) || primary.isWrapperFor((Class<?>) args[0]);
            case "equals":
                return proxy == args[0];
            case "hashCode":
                return System.identityHashCode(proxy);
            case "toString":
                return "dual-write " + primary;
            default:
                return call(method, args);
        }
    }

    private Object execute(Method method, Object[] args) throws Throwable {
        boolean prepared = args == null || args.length == 0;
        String text = prepared ? sql : (String) args[0];
        if (SessionSettings.changesSettings(text)) {
            return connection.changeSettings(() -> call(method, args), text);
        }
        if (SqlKind.of(text) == SqlKind.READ) {
            ShadowReads shadow = connection.writer().shadow();
            if (!method.getName().equals("executeQuery") || !shadow.sample() || connection.hasUncommittedWrites()
                    || !ShadowReads.comparable(text)) {
                return call(method, args);
            }
            List<Param> set = prepared ? List.copyOf(params.values()) : null;
            boolean toTarget = connection.primaryIsTarget();
            List<String> settings = connection.sessionSettings();
            long start = System.nanoTime();
            java.sql.ResultSet rs = (java.sql.ResultSet) call(method, args);
            long nanos = System.nanoTime() - start;
            return DigestingResultSet.wrap(rs, digest -> shadow.submit(text, set, settings, digest, nanos, toTarget));
        }
        if (!prepared) {
            return connection.write(() -> call(method, args), List.of(Write.sql(text)), null);
        }
        List<Param> set = List.copyOf(params.values());
        return connection.write(() -> call(method, args), List.of(new Write(sql, List.of(set), null)), side -> {
            PreparedStatement ps = twin(side);
            ps.clearParameters();
            for (Param p : set) {
                Params.apply(ps, p);
            }
            ps.execute();
            return ps.getUpdateCount();
        });
    }

    private Object executeBatch(Method method, Object[] args) throws Throwable {
        if (sql != null) {
            List<List<Param>> sets = List.copyOf(batchParams);
            batchParams.clear();
            if (sets.isEmpty() || SqlKind.of(sql) == SqlKind.READ) {
                return call(method, args);
            }
            return connection.write(() -> call(method, args), List.of(new Write(sql, sets, null)), side -> {
                PreparedStatement ps = twin(side);
                for (List<Param> set : sets) {
                    ps.clearParameters();
                    for (Param p : set) {
                        Params.apply(ps, p);
                    }
                    ps.addBatch();
                }
                return ps.executeBatch();
            });
        }
        List<String> statements = List.copyOf(batchSql);
        batchSql.clear();
        List<Write> writes = statements.stream().filter(s -> SqlKind.of(s) == SqlKind.WRITE).map(Write::sql).toList();
        if (writes.isEmpty()) {
            return call(method, args);
        }
        return connection.write(() -> call(method, args), writes, side -> {
            try (Statement st = side.createStatement()) {
                for (Write w : writes) {
                    st.addBatch(w.sql());
                }
                return st.executeBatch();
            }
        });
    }

    /** The statement's twin on the secondary, prepared once per secondary connection. */
    private PreparedStatement twin(Connection side) throws SQLException {
        if (twin == null || twinConnection != side) {
            closeTwin();
            twin = side.prepareStatement(sql);
            twinConnection = side;
        }
        return twin;
    }

    private void closeTwin() {
        Quietly.close(twin);
        twin = null;
        twinConnection = null;
    }

    private Object call(Method method, Object[] args) throws Throwable {
        try {
            return method.invoke(primary, args);
        } catch (InvocationTargetException e) {
            throw e.getCause();
        }
    }
}
