package io.tsmigrate.dualwrite;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The settings a client's session holds on the primary ({@code SET TimeZone ...}, one statement
 * each, in order), so that the secondary sees later statements as the primary did: a literal
 * timestamp without a zone, for one, means another instant under another {@code TimeZone}. The
 * library and the proxy follow what the primary accepted ({@link #accepted}) and give the settings
 * to each new connection to the secondary, and to each journaled transaction as {@code SET LOCAL}
 * (a replayer runs the entries of many sessions on one connection, where a plain {@code SET}
 * would stay for the entries after it).
 */
public final class SessionSettings {

    private static final Pattern SESSION_SET = Pattern.compile(
            "(?is)SET\\s+(?!LOCAL\\b|TRANSACTION\\b|SESSION\\s+CHARACTERISTICS\\b)[^;]*;?\\s*");
    private static final Pattern SET_NAME = Pattern.compile("(?is)SET\\s+(?:SESSION\\s+)?(\"?[\\w.]+\"?).*");
    private static final Pattern RESET = Pattern.compile("(?is)RESET\\s+(\"?[\\w.]+\"?)\\s*;?\\s*");
    private static final Pattern DISCARD_ALL = Pattern.compile("(?is)DISCARD\\s+ALL\\s*;?\\s*");

    private final List<String> sets = new ArrayList<>();
    private int changes;

    /** Whether a statement changes the session's settings: a session {@code SET}, {@code RESET}, or {@code DISCARD ALL}. */
    public static boolean changesSettings(String sql) {
        int i = 0;
        while (i < sql.length() && Character.isWhitespace(sql.charAt(i))) {
            i++;
        }
        // Every statement of the application passes here: most are told apart by their first letter.
        if (i == sql.length() || "SsRrDd".indexOf(sql.charAt(i)) < 0) {
            return false;
        }
        String s = sql.strip();
        return SESSION_SET.matcher(s).matches() || RESET.matcher(s).matches() || DISCARD_ALL.matcher(s).matches();
    }

    /** Follows a statement the primary accepted: a session {@code SET} replaces an earlier one of its name; RESET and DISCARD ALL drop. */
    public void accepted(String sql) {
        changes++;
        String s = sql.strip();
        if (SESSION_SET.matcher(s).matches()) {
            String name = settingName(s);
            sets.removeIf(set -> settingName(set).equalsIgnoreCase(name));
            sets.add(s);
            return;
        }
        if (DISCARD_ALL.matcher(s).matches()) {
            sets.clear();
            return;
        }
        Matcher reset = RESET.matcher(s);
        if (reset.matches()) {
            String name = reset.group(1).replace("\"", "");
            if (name.equalsIgnoreCase("ALL")) {
                sets.clear();
            } else {
                sets.removeIf(set -> settingName(set).equalsIgnoreCase(name));
            }
        }
    }

    /** How many changes ({@link #accepted}, {@link #restore}) were followed: {@link #statements()} can differ only after another. */
    public int changes() {
        return changes;
    }

    /** The settings, one {@code SET} statement each, in the order the session made them. */
    public List<String> statements() {
        return List.copyOf(sets);
    }

    /** Puts back settings read with {@link #statements()} (a transaction that changed them rolled back). */
    public void restore(List<String> statements) {
        changes++;
        sets.clear();
        sets.addAll(statements);
    }

    private static final Pattern DATESTYLE_SET = Pattern.compile(
            "(?is)(SET\\s+(?:SESSION\\s+|LOCAL\\s+)?\"?datestyle\"?\\s*(?:=|\\bTO\\b)\\s*)(.*?)\\s*;?\\s*");

    /**
     * A {@code SET} that a pgjdbc connection takes: pgjdbc closes a connection whose DateStyle output
     * is not ISO, so a DateStyle keeps only what reads a literal, its input order ({@code SET
     * DateStyle = 'SQL, DMY'}: {@code 'ISO, DMY'}; German alone means DMY, as the server takes it;
     * a style alone keeps the order). Any other statement is returned as it is.
     */
    public static String driverSafe(String sql) {
        int i = 0;
        while (i < sql.length() && Character.isWhitespace(sql.charAt(i))) {
            i++;
        }
        if (i == sql.length() || "Ss".indexOf(sql.charAt(i)) < 0) {
            return sql; // every repeated write passes here
        }
        Matcher m = DATESTYLE_SET.matcher(sql.strip());
        if (!m.matches()) {
            return sql;
        }
        String order = null;
        boolean german = false;
        for (String token : m.group(2).replace("'", " ").replace("\"", " ").split("[\\s,]+")) {
            switch (token.toUpperCase(java.util.Locale.ROOT)) {
                case "DMY", "EURO", "EUROPEAN" -> order = "DMY";
                case "MDY", "US", "NONEURO", "NONEUROPEAN" -> order = "MDY";
                case "YMD" -> order = "YMD";
                case "GERMAN" -> german = true;
                case "DEFAULT" -> {
                    return sql;
                }
                default -> {
                }
            }
        }
        if (order == null && german) {
            order = "DMY";
        }
        return m.group(1) + "'ISO" + (order == null ? "" : ", " + order) + "'";
    }

    /** {@code SET x ...} as {@code SET LOCAL x ...}: for a transaction that a connection shared with other sessions runs. */
    public static String local(String set) {
        return set.strip().replaceFirst("^(?i)SET\\s+(?:SESSION\\s+)?(?!LOCAL\\b)", "SET LOCAL ");
    }

    /**
     * The same change as {@code sql} made for the open transaction only ({@code SET LOCAL}, or
     * {@code SET LOCAL x TO DEFAULT} for each setting a RESET drops), to be read before
     * {@link #accepted} follows it: what a journaled transaction runs where the session changed its
     * settings between two writes.
     */
    public List<String> localChange(String sql) {
        String s = sql.strip();
        if (SESSION_SET.matcher(s).matches()) {
            return List.of(local(s));
        }
        Matcher reset = RESET.matcher(s);
        boolean all = dropsAll(s);
        List<String> names = all ? sets.stream().map(SessionSettings::settingName).toList()
                : reset.matches() ? List.of(reset.group(1).replace("\"", "")) : List.of();
        return names.stream().map(name -> "SET LOCAL " + name + " TO DEFAULT").toList();
    }

    /** The parameter a {@code SET} statement sets, as written ({@code SET TimeZone = 'UTC'}: TimeZone). */
    public static String settingName(String set) {
        Matcher m = SET_NAME.matcher(set.strip());
        return m.matches() ? m.group(1).replace("\"", "") : "";
    }

    /** Whether a statement is one session {@code SET} (not LOCAL, not TRANSACTION). */
    public static boolean isSessionSet(String sql) {
        return SESSION_SET.matcher(sql.strip()).matches();
    }

    public static boolean isDiscardAll(String sql) {
        return DISCARD_ALL.matcher(sql.strip()).matches();
    }

    /**
     * Whether a statement drops every setting: DISCARD ALL or RESET ALL. A secondary's connection
     * is given a RESET of each setting the session made instead ({@link #statements()} before the
     * statement is followed): DISCARD ALL cannot run in the transaction block the proxy mirrors in,
     * and RESET ALL would also drop what the driver set there with a SET of its own (pgjdbc's
     * application_name, unless told the server's version).
     */
    public static boolean dropsAll(String sql) {
        Matcher reset = RESET.matcher(sql.strip());
        return isDiscardAll(sql) || reset.matches() && reset.group(1).equalsIgnoreCase("ALL");
    }
}
