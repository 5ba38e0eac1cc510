package io.tsmigrate.dualwrite;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.WeakHashMap;

/**
 * Session settings per physical connection. A pool hands a connection out again with the settings
 * an earlier borrower made on it, so the settings of a primary's connection outlive the
 * {@link DualConnection} that wrapped it, and a secondary's pooled connection must be brought to the
 * settings of the primary it is paired with each time it is borrowed. Connections are held weakly:
 * a pool that closes one forgets it here too.
 */
final class PooledSessions {

    private final Map<Connection, SessionSettings> primaries = Collections.synchronizedMap(new WeakHashMap<>());
    private final Map<Connection, List<String>> secondaries = Collections.synchronizedMap(new WeakHashMap<>());

    /** The settings of the physical connection behind {@code primary} (a pool's proxy or the driver's own). */
    SessionSettings of(Connection primary) {
        return primaries.computeIfAbsent(physical(primary), c -> new SessionSettings());
    }

    /**
     * Brings a connection to the secondary to {@code wanted} in one round trip: RESET of each setting
     * an earlier borrower made that is not wanted, SET of each wanted one it lacks. Never RESET ALL:
     * that would also drop what the driver or the pool set on it (pgjdbc sets application_name with a
     * SET unless told the server's version).
     */
    void align(Connection secondary, List<String> wanted) throws SQLException {
        Connection key = physical(secondary);
        List<String> had = secondaries.getOrDefault(key, List.of());
        if (had.equals(wanted)) {
            return;
        }
        Set<String> names = new HashSet<>();
        wanted.forEach(set -> names.add(name(set)));
        StringBuilder sql = new StringBuilder();
        for (String set : had) {
            if (!names.contains(name(set))) {
                sql.append(sql.length() == 0 ? "" : ";\n").append("RESET ").append(SessionSettings.settingName(set));
            }
        }
        for (String set : wanted) {
            if (!had.contains(set)) {
                sql.append(sql.length() == 0 ? "" : ";\n").append(set);
            }
        }
        secondaries.put(key, unknown(had, wanted));
        if (sql.length() > 0) {
            try (Statement st = secondary.createStatement()) {
                st.execute(sql.toString());
            }
        }
        secondaries.put(key, List.copyOf(wanted));
    }

    /** Records what a connection to the secondary holds after a transaction on it undid a change. */
    void aligned(Connection secondary, List<String> now) {
        secondaries.put(physical(secondary), List.copyOf(now));
    }

    /**
     * What a connection holds while statements that change {@code had} into {@code wanted} run on it:
     * not known if they fail, so every setting of both counts as made, by a statement that matches
     * none, and the next use resets or sets each again.
     */
    private static List<String> unknown(List<String> had, List<String> wanted) {
        Set<String> names = new java.util.LinkedHashSet<>();
        had.forEach(set -> names.add(SessionSettings.settingName(set)));
        wanted.forEach(set -> names.add(SessionSettings.settingName(set)));
        return names.stream().map(name -> "SET " + name + " TO DEFAULT /* not known */").toList();
    }

    private static String name(String set) {
        return SessionSettings.settingName(set).toLowerCase(Locale.ROOT);
    }

    private static Connection physical(Connection c) {
        try {
            return c.unwrap(Connection.class);
        } catch (SQLException | RuntimeException e) {
            return c;
        }
    }
}
