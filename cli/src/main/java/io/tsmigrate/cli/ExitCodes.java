package io.tsmigrate.cli;

import io.tsmigrate.core.TsmigrateException;

/**
 * The process exit codes, decided in one place. Scripts may rely on them; they are listed in
 * {@code tsmigrate --help}.
 */
final class ExitCodes {

    static final int OK = 0;
    static final int INTERNAL_ERROR = 1;
    static final int USAGE = 2;
    static final int CONNECTION = 3;
    static final int NOT_READY = 4;
    static final int MISMATCH = 5;
    static final int INCOMPLETE = 6;
    static final int FAILED = 7;
    static final int INTERRUPTED = 130;

    static final String HELP = "%nExit codes:%n"
            + "  0  done, or ready%n"
            + "  1  internal error (re-run with --verbose and report it)%n"
            + "  2  bad usage or input%n"
            + "  3  cannot connect to a server%n"
            + "  4  not ready: a check failed or a step must run first%n"
            + "  5  verification found differences%n"
            + "  6  incomplete: some work failed; a re-run continues%n"
            + "  7  a server or tool reported an error%n"
            + "  130 interrupted%n";

    private ExitCodes() {
    }

    static int of(TsmigrateException.Kind kind) {
        return switch (kind) {
            case USAGE -> USAGE;
            case CONNECTION -> CONNECTION;
            case NOT_READY -> NOT_READY;
            case MISMATCH -> MISMATCH;
            case INCOMPLETE -> INCOMPLETE;
            case FAILED -> FAILED;
            case INTERRUPTED -> INTERRUPTED;
        };
    }
}
