package io.tsmigrate.core;

import java.util.Objects;

/**
 * A failure that tsmigrate explains to its user in one sentence: what is wrong, the offending
 * value (passwords redacted) and what to do. The {@link Kind} decides the process exit code, in
 * one place in the command line.
 */
public class TsmigrateException extends RuntimeException {

    /** What kind of failure this is; each kind has its own exit code. */
    public enum Kind {
        /** Bad flags, arguments, files or values given by the user. */
        USAGE,
        /** A server could not be reached or refused the login. */
        CONNECTION,
        /** A precondition is not met (doctor found blockers, a step must run first). */
        NOT_READY,
        /** Verification found differences between source and target. */
        MISMATCH,
        /** Work stopped before it was complete (some ranges failed); a re-run continues. */
        INCOMPLETE,
        /** A server or tool reported an error that is neither of the above. */
        FAILED,
        /** The work was interrupted by the user. */
        INTERRUPTED
    }

    private final Kind kind;

    public TsmigrateException(Kind kind, String message) {
        this(kind, message, null);
    }

    public TsmigrateException(Kind kind, String message, Throwable cause) {
        super(Objects.requireNonNull(message, "message"), cause);
        this.kind = Objects.requireNonNull(kind, "kind");
    }

    public Kind kind() {
        return kind;
    }

    public static TsmigrateException usage(String message) {
        return new TsmigrateException(Kind.USAGE, message);
    }
}
