package io.tsmigrate.core.schema;

import io.tsmigrate.core.TsmigrateException;
import io.tsmigrate.core.TsmigrateException.Kind;
import io.tsmigrate.core.catalog.TableRef;
import io.tsmigrate.core.connect.ConnectionSpec;
import io.tsmigrate.core.pgtools.ClientTools;
import io.tsmigrate.core.state.ConstraintRecords;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Collectors;

/**
 * Runbook steps 3c and 3d as one atomic pipe: {@code pg_dump} of the source (schema, and the data
 * of every table that is not a hypertable) streams through {@link DumpRewriter} into {@code psql}
 * on the target, inside one transaction that commits only when pg_dump has finished successfully.
 * A failure anywhere leaves the target as it was; no temporary file is written.
 */
final class DumpLoad {

    /** A command line and the environment it needs (the password, never on the command line). */
    record Command(List<String> args, Map<String, String> environment) {
        /** The command as a shell would read it; the password is not part of it. */
        String display() {
            return args.stream().map(DumpLoad::shellQuote).collect(Collectors.joining(" "));
        }
    }

    private DumpLoad() {
    }

    static Command pgDump(ClientTools.Tool tool, ConnectionSpec source, List<TableRef> excludeData, List<TableRef> excludeTables) {
        // --encoding=UTF8: pg_dump reads its name patterns in the dump's encoding, and they reach it
        // as UTF-8; in the source's own encoding (LATIN1, say) a non-ASCII name would match nothing,
        // and the rows of a table to become a hypertable would be copied by the dump.
        List<String> args = new ArrayList<>(List.of(tool.path().toString(), "--format=plain", "--quote-all-identifiers",
                "--no-tablespaces", "--no-owner", "--no-privileges", "--encoding=UTF8", "--exclude-schema=tsmigrate"));
        excludeData.forEach(t -> args.add("--exclude-table-data=" + pattern(t)));
        excludeTables.forEach(t -> args.add("--exclude-table=" + pattern(t)));
        args.add("--dbname=" + source.libpqConninfo());
        return new Command(List.copyOf(args), source.libpqEnvironment());
    }

    static Command psql(ClientTools.Tool tool, ConnectionSpec target) {
        return new Command(List.of(tool.path().toString(), "-X", "-q", "-v", "ON_ERROR_STOP=1", "--echo-errors",
                "--dbname=" + target.libpqConninfo(), "-f", "-"), target.libpqEnvironment());
    }

    /**
     * A pg_dump pattern that matches exactly this table: {@code "schema"."name"}, quoted so that
     * {@code * ? .} and upper case are literal (a {@code "} inside is doubled, as pg_dump expects).
     *
     * @throws TsmigrateException (USAGE) when the name cannot reach pg_dump intact: the JVM passes
     *                            arguments in the locale's encoding, and a non-UTF-8 locale turns
     *                            non-ASCII letters into {@code ?}, a wildcard
     */
    static String pattern(TableRef table) {
        String pattern = table.quoted();
        java.nio.charset.Charset arguments = java.nio.charset.Charset.forName(System.getProperty("sun.jnu.encoding", "UTF-8"));
        if (!arguments.newEncoder().canEncode(pattern)) {
            throw TsmigrateException.usage("the table name " + table + " cannot be passed to pg_dump in this locale's encoding ("
                    + arguments + "); run tsmigrate with a UTF-8 locale, e.g. LC_ALL=C.UTF-8.");
        }
        return pattern;
    }

    /**
     * Runs the pipe.
     *
     * @param prelude     SQL run first in the same transaction (for example DROP of clashing tables)
     * @param unpartition partitioned tables to create as plain tables
     * @param rowsLater   tables whose rows the dump leaves out: foreign keys into them are created
     *                    NOT VALID and recorded in {@code tsmigrate.deferred_constraint}, in the
     *                    load's own transaction
     * @param stop        set when the user asks to stop (Ctrl-C): both processes are killed at once,
     *                    psql's connection ends without COMMIT and the target keeps nothing
     * @return what the rewriter changed, one line each
     * @throws TsmigrateException (FAILED) with pg_dump's or psql's error, (INTERRUPTED) when stopped;
     *                            nothing was loaded then
     */
    static List<String> run(Command dump, Command psql, List<String> prelude, Set<TableRef> unpartition, Set<TableRef> rowsLater,
                            int targetMajor, AtomicBoolean stop) {
        Process load = start(psql);
        Process source;
        try {
            source = start(dump);
        } catch (TsmigrateException e) {
            load.destroyForcibly();
            throw e;
        }
        Thread stopper = stopper(stop, source, load);
        try {
            // A load that committed stands even when Ctrl-C came meanwhile: the next step's check stops the run.
            return pipe(source, load, prelude, unpartition, rowsLater, targetMajor);
        } catch (TsmigrateException e) {
            throw stop.get() ? interrupted() : e;
        } finally {
            stopper.interrupt();
        }
    }

    private static TsmigrateException interrupted() {
        return new TsmigrateException(Kind.INTERRUPTED, "interrupted: pg_dump and psql were stopped and the load's transaction "
                + "rolled back, so nothing of the dump was loaded; run tsmigrate schema again to start it over.");
    }

    /** Kills both processes once {@code stop} is set (checked every 50 ms); ends when interrupted. */
    private static Thread stopper(AtomicBoolean stop, Process dump, Process load) {
        Thread t = new Thread(() -> {
            try {
                while (!stop.get()) {
                    Thread.sleep(50);
                }
                dump.destroyForcibly();
                load.destroyForcibly();
            } catch (InterruptedException done) {
                // the pipe ended first
            }
        }, "tsmigrate-schema-stop");
        t.setDaemon(true);
        t.start();
        return t;
    }

    private static List<String> pipe(Process source, Process load, List<String> prelude, Set<TableRef> unpartition,
                                     Set<TableRef> rowsLater, int targetMajor) {
        Tail dumpErrors = Tail.of(source.getErrorStream(), "tsmigrate-pg_dump-stderr");
        Tail loadErrors = Tail.of(load.getErrorStream(), "tsmigrate-psql-stderr");
        Tail.of(load.getInputStream(), "tsmigrate-psql-stdout");
        DumpRewriter rewriter;
        boolean piped = true;
        try {
            Writer toPsql = new BufferedWriter(new OutputStreamWriter(load.getOutputStream(), StandardCharsets.ISO_8859_1), 1 << 16);
            rewriter = new DumpRewriter(toPsql, unpartition, rowsLater, targetMajor);
            try {
                toPsql.write("BEGIN;\n");
                for (String sql : prelude) {
                    toPsql.write(sql + ";\n");
                }
                // ISO-8859-1 maps every byte to one char and back: the dump passes through unchanged.
                new SqlScanner(rewriter).scan(new InputStreamReader(source.getInputStream(), StandardCharsets.ISO_8859_1));
                toPsql.flush();
            } catch (IOException e) {
                piped = false; // psql stopped reading: it failed, its error says why
                source.destroyForcibly();
            }
            int dumpExit = source.waitFor();
            if (piped && dumpExit == 0) {
                try {
                    for (ConstraintRecords.Deferred d : rewriter.deferred()) {
                        // The dump's client encoding is UTF-8: names go to psql as their UTF-8 bytes.
                        String sql = ConstraintRecords.recordDeferredSql(d) + ";\n";
                        toPsql.write(new String(sql.getBytes(StandardCharsets.UTF_8), StandardCharsets.ISO_8859_1));
                    }
                    toPsql.write("COMMIT;\n");
                    toPsql.close();
                } catch (IOException e) {
                    piped = false;
                }
            } else {
                // Ending psql without COMMIT rolls the whole load back.
                load.destroyForcibly();
            }
            int loadExit = load.waitFor();
            dumpErrors.join();
            loadErrors.join();
            if (piped && dumpExit != 0) {
                throw new TsmigrateException(Kind.FAILED, "pg_dump failed (exit " + dumpExit + "): "
                        + dumpErrors.text() + "; nothing was loaded into the target.");
            }
            if (loadExit != 0 || !piped) {
                throw new TsmigrateException(Kind.FAILED, "loading the dump into the target failed: "
                        + psqlError(loadErrors.lines()) + "; nothing was loaded (one transaction): fix the cause and "
                        + "re-run tsmigrate schema.");
            }
            return rewriter.changes();
        } catch (InterruptedException e) {
            source.destroyForcibly();
            load.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new TsmigrateException(Kind.INTERRUPTED, "interrupted while loading the dump; nothing was loaded.");
        }
    }

    /** psql's error line and the statement that caused it, from its stderr. */
    static String psqlError(List<String> lines) {
        String error = lines.stream().filter(l -> l.contains("ERROR:") || l.contains("FATAL:")).findFirst()
                .orElse(lines.isEmpty() ? "psql ended without an error message" : lines.get(lines.size() - 1));
        String statement = lines.stream().filter(l -> l.contains("STATEMENT:")).findFirst()
                .map(l -> l.substring(l.indexOf("STATEMENT:") + 10).strip()).orElse("");
        if (statement.length() > 200) {
            statement = statement.substring(0, 200) + "...";
        }
        String where = error.replaceFirst("^psql:<stdin>:(\\d+): .*$", "$1");
        String message = error.replaceFirst("^psql:<stdin>:\\d+: ", "").replaceAll("\\s+", " ").strip();
        return message + (where.matches("\\d+") ? " at line " + where + " of the dump" : "")
                + (statement.isEmpty() ? "" : " (statement: " + statement + ")");
    }

    private static Process start(Command command) {
        ProcessBuilder builder = new ProcessBuilder(command.args());
        builder.environment().putAll(command.environment());
        try {
            return builder.start();
        } catch (IOException e) {
            throw new TsmigrateException(Kind.NOT_READY, "cannot start " + command.args().get(0) + ": " + e.getMessage()
                    + "; install the PostgreSQL client tools or pass --pg-bindir.", e);
        }
    }

    static String shellQuote(String arg) {
        if (arg.matches("[A-Za-z0-9_./=:,@%+-]+")) {
            return arg;
        }
        if (arg.indexOf('\'') >= 0 && arg.matches("[^\"$`\\\\!]*")) {
            return "\"" + arg + "\"";
        }
        return "'" + arg.replace("'", "'\\''") + "'";
    }

    /** The last lines a process wrote to a stream, read on a thread of its own. */
    private static final class Tail {
        private static final int MAX_LINES = 50;
        private final Deque<String> lines = new ArrayDeque<>();
        private final Thread thread;

        private Tail(InputStream in, String name) {
            thread = new Thread(() -> read(in), name);
            thread.setDaemon(true);
        }

        static Tail of(InputStream in, String name) {
            Tail tail = new Tail(in, name);
            tail.thread.start();
            return tail;
        }

        private void read(InputStream in) {
            try (var reader = new java.io.BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
                String line;
                while ((line = reader.readLine()) != null) {
                    synchronized (lines) {
                        lines.addLast(line);
                        if (lines.size() > MAX_LINES) {
                            lines.removeFirst();
                        }
                    }
                }
            } catch (IOException e) {
                // The process ended.
            }
        }

        void join() throws InterruptedException {
            thread.join(5_000);
        }

        List<String> lines() {
            synchronized (lines) {
                return List.copyOf(lines);
            }
        }

        String text() {
            return ConnectionSpec.redact(String.join(" ", lines()).strip());
        }
    }
}
