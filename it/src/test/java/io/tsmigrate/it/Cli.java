package io.tsmigrate.it;

import io.tsmigrate.cli.Main;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.HashMap;
import java.util.Map;

/** Runs the command line in this JVM, as {@code bin/tsmigrate} would, and keeps what it printed. */
final class Cli {

    record Result(int exitCode, String out, String err) {
        @Override
        public String toString() {
            return "exit " + exitCode + "\n--- stdout\n" + out + "--- stderr\n" + err;
        }
    }

    private Cli() {
    }

    static Result run(String... args) {
        return run(Map.of(), args);
    }

    /** Runs with these environment variables on top of none (the real environment is not read). */
    static Result run(Map<String, String> environment, String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Main.run(new PrintWriter(out), new PrintWriter(err), new HashMap<>(environment), args);
        return new Result(code, out.toString(), err.toString());
    }
}
