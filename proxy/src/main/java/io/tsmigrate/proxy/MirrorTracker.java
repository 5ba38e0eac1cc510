package io.tsmigrate.proxy;

import io.tsmigrate.dualwrite.SessionSettings;
import io.tsmigrate.dualwrite.SqlKind;
import io.tsmigrate.dualwrite.Statements;
import io.tsmigrate.dualwrite.TransactionMirror.ShadowRead;

import java.io.ByteArrayOutputStream;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Follows one client session's traffic to learn which writes the primary committed, in the order
 * it committed them, without holding the traffic up. Client messages say what was asked
 * (a simple Query, or Parse/Bind/Execute up to Sync); the server's answers say what happened
 * (CommandComplete, ErrorResponse, and ReadyForQuery with the transaction status). A write joins
 * the open transaction when it completes, leaves it when it fails, and the transaction's writes
 * are handed over when a {@code COMMIT} completes or an implicit transaction ends without an error.
 * Not thread-safe: the session's event loop calls it.
 */
final class MirrorTracker {

    /** A write the session will repeat: SQL with its values inlined later (off the event loop), or a COPY with its data. */
    static final class PendingWrite {
        final String sql;
        final Inliner.Value[] values;
        final ByteArrayOutputStream copyData;

        PendingWrite(String sql, Inliner.Value[] values, boolean copy) {
            this.sql = sql;
            this.values = values;
            this.copyData = copy ? new ByteArrayOutputStream() : null;
        }
    }

    /** Where shadow reads go: the session's mirror, as it is after any move. */
    interface Shadows {
        Shadows NONE = new Shadows() {
            @Override
            public boolean sample() {
                return false;
            }

            @Override
            public ShadowRead start(String sql) {
                return null;
            }
        };

        /** Whether to shadow the next read (cheap: asked before anything of the read is parsed). */
        boolean sample();

        /** A read to shadow (its values written in as literals), or null when it cannot be compared. */
        ShadowRead start(String sql);
    }

    /** A parsed statement, with whether it writes, or may be shadowed, decided once (Execute runs it many times). */
    private record Statement(String sql, int[] typeOids, boolean mirrored, boolean shadowable) {
    }

    /**
     * A bound portal; {@code shadowValues}: when its read is to be shadowed, its values in text form
     * and untyped (written in as literals of unknown type, which the secondary types from their
     * context as it types a parameter the client left unnamed), else null.
     */
    private record Portal(Statement statement, Inliner.Value[] values, Inliner.Value[] shadowValues) {
    }

    /** What the client asked for, in order: each answered by the server in the same order. */
    private sealed interface Asked permits Query, Execute, Sync {
    }

    /**
     * One statement of a simple Query (a string of several is answered statement by statement, then
     * one ReadyForQuery); {@code shadow}: the read being shadowed, or null; {@code last}: the string's
     * last statement, which its ReadyForQuery ends.
     */
    private record Query(String sql, PendingWrite write, ShadowRead shadow, boolean last) implements Asked {
        /** The statement answered (or refused): what stays of it until the ReadyForQuery. */
        Query answered() {
            return new Query(sql, null, null, last);
        }
    }

    private record Execute(String sql, PendingWrite write, ShadowRead shadow) implements Asked {
    }

    private record Sync() implements Asked {
    }

    private final Deque<Asked> asked = new ArrayDeque<>();
    private final Map<String, Statement> statements = new HashMap<>();
    private final Map<String, Portal> portals = new HashMap<>();
    private final List<PendingWrite> transaction = new ArrayList<>();
    private final List<PendingWrite> committed = new ArrayList<>();
    private PendingWrite copying;
    private boolean errorSinceReady;
    private final SessionSettings settings = new SessionSettings();
    private Shadows shadows = Shadows.NONE;
    /** The next Bind's read is to be shadowed (decided by needsValues). */
    private boolean shadowNextBind;

    void shadows(Shadows shadows) {
        this.shadows = shadows;
    }

    // ---- what the client sends

    void query(String sql) {
        List<String> statements = Statements.split(sql);
        copying = null;
        if (statements.size() <= 1) {
            PendingWrite w = write(sql); // as the client wrote it, its semicolon too: the same shape as with the extended protocol
            ShadowRead shadow = w == null && transaction.isEmpty() && shadowable(sql) && shadows.sample() ? shadows.start(sql) : null;
            asked.add(new Query(sql, w, shadow, true));
            return;
        }
        for (int i = 0; i < statements.size(); i++) {
            asked.add(new Query(statements.get(i), write(statements.get(i)), null, i == statements.size() - 1));
        }
    }

    /** What a simple Query's statement writes, null for nothing; the first COPY FROM STDIN's data is read into it. */
    private PendingWrite write(String statement) {
        String mirror = mirroredAs(statement);
        PendingWrite w = mirror == null ? null : new PendingWrite(mirror, new Inliner.Value[0], isCopyIn(statement));
        if (copying == null && w != null && w.copyData != null) {
            copying = w;
        }
        return w;
    }

    void parse(String name, String sql, int[] typeOids) {
        boolean mirrored = mirrored(sql);
        statements.put(name, new Statement(sql, typeOids, mirrored, !mirrored && shadowable(sql)));
    }

    /**
     * Whether a Bind of this statement carries values the tracker needs: a write's, or a read's that
     * is to be shadowed (decided here, so that other reads' values are not read at all).
     */
    boolean needsValues(String statement) {
        Statement s = statements.get(statement);
        shadowNextBind = s != null && s.shadowable() && transaction.isEmpty() && shadows.sample();
        return s != null && (s.mirrored() || shadowNextBind);
    }

    /**
     * A Bind: the values of a write (to repeat it), or of a read to shadow when its values and
     * results are all in text form (what a shadow read's digest compares).
     */
    void bind(String portal, String statement, int[] formats, byte[][] values, int[] resultFormats) {
        Statement s = statements.get(statement);
        boolean shadow = shadowNextBind;
        shadowNextBind = false;
        if (s == null) {
            portals.remove(portal);
            return;
        }
        Inliner.Value[] v = new Inliner.Value[values.length];
        for (int i = 0; i < values.length; i++) {
            int format = formats.length == 0 ? 0 : formats.length == 1 ? formats[0] : formats[i];
            int oid = i < s.typeOids().length ? s.typeOids()[i] : 0;
            v[i] = new Inliner.Value(oid, format, values[i]);
        }
        Inliner.Value[] shadowValues = null;
        if (shadow && java.util.Arrays.stream(formats).allMatch(f -> f == 0) && java.util.Arrays.stream(resultFormats).allMatch(f -> f == 0)) {
            shadowValues = java.util.Arrays.stream(values).map(b -> new Inliner.Value(0, 0, b)).toArray(Inliner.Value[]::new);
        }
        portals.put(portal, new Portal(s, s.mirrored() ? v : new Inliner.Value[0], shadowValues));
    }

    void bind(String portal, String statement, int[] formats, byte[][] values) {
        bind(portal, statement, formats, values, new int[0]);
    }

    void execute(String portal) {
        Portal p = portals.get(portal);
        String mirror = p != null && p.statement().mirrored() ? mirroredAs(p.statement().sql()) : null;
        PendingWrite w = mirror == null ? null : new PendingWrite(mirror, p.values(), isCopyIn(p.statement().sql()));
        copying = w != null && w.copyData != null ? w : null;
        ShadowRead shadow = null;
        if (p != null && p.shadowValues() != null && transaction.isEmpty()) {
            try {
                shadow = shadows.start(Inliner.inline(p.statement().sql(), p.shadowValues(), oid -> null));
            } catch (IllegalArgumentException e) {
                shadow = null; // a $n without its value: the server refuses the Execute anyway
            }
            portals.put(portal, new Portal(p.statement(), p.values(), null)); // a portal's rows are read once
        }
        asked.add(new Execute(p == null ? "" : p.statement().sql(), w, shadow));
    }

    void close(char kind, String name) {
        if (kind == 'S') {
            statements.remove(name);
        } else {
            portals.remove(name);
        }
    }

    void sync() {
        asked.add(new Sync());
    }

    void copyData(byte[] data) {
        if (copying != null) {
            copying.copyData.writeBytes(data);
        }
    }

    // ---- what the server answers

    /** Whether the rows now coming belong to a read being shadowed (only then are they read). */
    boolean shadowing() {
        return shadowOf(asked.peek()) != null;
    }

    /** A row of the read being shadowed, its values in text form. */
    void dataRow(String[] values) {
        ShadowRead shadow = shadowOf(asked.peek());
        if (shadow != null) {
            shadow.row(values);
        }
    }

    private static ShadowRead shadowOf(Asked a) {
        return a instanceof Query q ? q.shadow() : a instanceof Execute e ? e.shadow() : null;
    }

    /** A PortalSuspended: the Execute ends with rows left in its portal (a shadowed read is then not compared). */
    void suspended() {
        if (asked.peek() instanceof Execute) {
            asked.poll();
        }
    }

    void commandComplete(String tag) {
        Asked head = asked.peek();
        ShadowRead shadow = shadowOf(head);
        if (shadow != null) {
            shadow.completed();
        }
        String headSql = head instanceof Query q ? q.sql() : head instanceof Execute e ? e.sql() : "";
        if (tag.equalsIgnoreCase("SET") && SessionSettings.changesSettings(headSql)) {
            settings.accepted(headSql);
        }
        forget(tag.toUpperCase(Locale.ROOT), headSql.strip());
        PendingWrite completed = null;
        if (head instanceof Execute e) {
            asked.poll();
            completed = e.write();
            if (completed != null) {
                transaction.add(completed);
            }
        } else if (head instanceof Query q) {
            asked.poll();
            if (q.last()) {
                asked.addFirst(q.answered()); // its ReadyForQuery ends the string
            }
            completed = q.write();
            if (completed != null) {
                transaction.add(completed);
            }
        }
        if (completed != null) {
            return; // ROLLBACK TO SAVEPOINT and its kind: mirrored, so the secondary undoes the same
        }
        String word = tag.toUpperCase(Locale.ROOT);
        if (word.equals("COMMIT")) {
            committed.addAll(transaction);
            transaction.clear();
        } else if (word.equals("ROLLBACK")) {
            transaction.clear();
        }
    }

    void emptyQuery() {
        if (asked.peek() instanceof Execute) {
            asked.poll();
        }
    }

    void error() {
        errorSinceReady = true;
        Asked head = asked.peek();
        if (head instanceof Execute) {
            asked.poll(); // the server skips the rest up to the Sync; ready() drops their writes
        } else if (head instanceof Query q) {
            asked.poll();
            asked.addFirst(q.answered()); // its write did not happen; the server skips the string's later statements
        }
        copying = null;
    }

    /**
     * A ReadyForQuery: ends a Query or a Sync. Returns the writes to repeat now (the transactions
     * that committed since the last ReadyForQuery), in commit order; empty when none.
     */
    List<PendingWrite> ready(char status) {
        // Executes and statements the server skipped after an error answer nothing: their writes never happened.
        while (!asked.isEmpty()) {
            Asked a = asked.poll();
            if (a instanceof Query q && q.last() || a instanceof Sync) {
                break;
            }
        }
        copying = null;
        if (status == 'I') {
            if (!errorSinceReady) {
                committed.addAll(transaction);
            }
            transaction.clear();
        }
        errorSinceReady = false;
        if (committed.isEmpty()) {
            return List.of();
        }
        List<PendingWrite> out = List.copyOf(committed);
        committed.clear();
        return out;
    }

    /**
     * The writes of the open transaction that completed so far, in order: what goes ahead to the
     * secondary, and what an intent must hold before the COMMIT. A view: it changes as the
     * transaction goes on (copy it to hand it to another thread).
     */
    List<PendingWrite> openWrites() {
        return java.util.Collections.unmodifiableList(transaction);
    }

    /**
     * What the server dropped of the session's state (by the first word of its command tag and the
     * statement's text), so that a move to another server does not bring it back: DISCARD ALL
     * (settings, prepared statements, portals), RESET ALL or RESET one setting, DEALLOCATE ALL or
     * one statement (SQL's DEALLOCATE also drops the protocol's named statements).
     */
    private void forget(String tag, String sql) {
        switch (tag) {
            case "DISCARD" -> {
                if (!SessionSettings.isDiscardAll(sql)) {
                    return; // DISCARD PLANS, SEQUENCES, TEMP: nothing a move would bring back
                }
                settings.accepted(sql);
                statements.keySet().removeIf(name -> !name.isEmpty());
                portals.clear();
            }
            case "RESET" -> settings.accepted(sql);
            case "DEALLOCATE" -> {
                java.util.regex.Matcher m = DEALLOCATE.matcher(sql);
                if (DEALLOCATE_ALL.matcher(sql).matches()) {
                    statements.keySet().removeIf(name -> !name.isEmpty());
                } else if (m.matches()) {
                    statements.remove(m.group(1) != null ? m.group(1).replace("\"\"", "\"") : m.group(2).toLowerCase(Locale.ROOT));
                }
            }
            default -> {
            }
        }
    }

    private static final java.util.regex.Pattern DEALLOCATE_ALL = java.util.regex.Pattern.compile("(?is)DEALLOCATE\\s+(?:PREPARE\\s+)?ALL\\s*;?\\s*");
    private static final java.util.regex.Pattern DEALLOCATE = java.util.regex.Pattern.compile(
            "(?is)DEALLOCATE\\s+(?:PREPARE\\s+)?(?:\"((?:[^\"]|\"\")+)\"|(\\w+))\\s*;?\\s*");

    /**
     * What the secondary runs for a statement the session ran, null for nothing: DISCARD ALL and
     * RESET ALL become a RESET of each mirrored setting the session made (SessionSettings.dropsAll).
     */
    private String mirroredAs(String sql) {
        if (!mirrored(sql)) {
            return null;
        }
        if (!SessionSettings.dropsAll(sql)) {
            return SessionSettings.driverSafe(sql); // the journal's replayer is a pgjdbc connection
        }
        List<String> resets = settings.statements().stream().filter(MirrorTracker::mirrored)
                .map(set -> "RESET " + SessionSettings.settingName(set)).toList();
        return resets.isEmpty() ? null : String.join(";\n", resets);
    }

    /** The SQL of a prepared statement the client named (empty name: the unnamed one), or null. */
    String statementSql(String name) {
        Statement s = statements.get(name);
        return s == null ? null : s.sql();
    }

    /** Nothing asked is unanswered and no transaction is open: the session may move to another server. */
    boolean quiet() {
        return asked.isEmpty() && transaction.isEmpty() && committed.isEmpty() && copying == null;
    }

    /** The session's named prepared statements: name, SQL, parameter type OIDs (to prepare them again elsewhere). */
    List<Object[]> namedStatements() {
        List<Object[]> out = new ArrayList<>();
        statements.forEach((name, st) -> {
            if (!name.isEmpty()) {
                out.add(new Object[] {name, st.sql(), st.typeOids()});
            }
        });
        return out;
    }

    /** How many statements changed the settings so far: {@link #settings()} differs only after one. */
    int settingsChanges() {
        return settings.changes();
    }

    /** The session settings ({@code SET ...}, one statement each) the server accepted, in order. */
    List<String> settings() {
        return settings.statements();
    }

    /** Writes are mirrored; transaction control is not (the secondary's transaction is the proxy's own). */
    static boolean mirrored(String sql) {
        if (SessionSettings.isDiscardAll(sql)) {
            return true; // as a RESET of each setting (mirroredAs): the secondary's session must not keep settings the primary's dropped
        }
        if (SqlKind.of(sql) != SqlKind.WRITE) {
            return false;
        }
        String s = sql.strip().toUpperCase(Locale.ROOT);
        String first = s.split("[\\s;(]+", 2)[0];
        return switch (first) {
            case "BEGIN", "START", "COMMIT", "END", "ABORT" -> false;
            case "ROLLBACK" -> s.matches("(?s)ROLLBACK\\s+(WORK\\s+|TRANSACTION\\s+)?TO\\b.*"); // to a savepoint: mirrored
            case "PREPARE" -> !s.matches("(?s)PREPARE\\s+TRANSACTION\\b.*");
            // The proxy's own connection keeps its name (tsmigrate-proxy) in the secondary's pg_stat_activity.
            case "SET" -> !s.matches("(?s)SET\\s+(SESSION\\s+)?APPLICATION_NAME\\b.*");
            case "" -> false;
            default -> true;
        };
    }

    /**
     * Whether a statement is a read the proxy may shadow: one query (no second statement in the
     * string) that returns rows and changes nothing (SELECT, VALUES, TABLE, or WITH without a
     * write; not SELECT ... INTO, which creates a table).
     */
    static boolean shadowable(String sql) {
        String s = sql.strip();
        while (s.endsWith(";")) {
            s = s.substring(0, s.length() - 1).strip();
        }
        String upper = s.toUpperCase(Locale.ROOT);
        String first = upper.split("[\\s(]+", 2)[0];
        return switch (first) {
            case "SELECT", "VALUES", "TABLE", "WITH" -> SqlKind.of(s) == SqlKind.READ && !s.contains(";")
                    && !upper.matches("(?s).*\\bINTO\\b.*");
            default -> false;
        };
    }

    static boolean isCopyIn(String sql) {
        String s = sql.strip().toUpperCase(Locale.ROOT);
        return s.startsWith("COPY") && s.matches("(?s).*\\bFROM\\s+STDIN\\b.*");
    }
}
