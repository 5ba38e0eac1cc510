package io.tsmigrate.core.doctor;

import java.util.Objects;

/**
 * One line of the doctor's checklist: what was checked, how it came out, and why, in one
 * sentence that says what to do when it is not ok.
 */
public record Check(String name, Status status, String message) {

    /** How a check came out. */
    public enum Status {
        OK, WARNING, FAILED
    }

    public Check {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(status, "status");
        Objects.requireNonNull(message, "message");
    }

    static Check ok(String name, String message) {
        return new Check(name, Status.OK, message);
    }

    static Check warning(String name, String message) {
        return new Check(name, Status.WARNING, message);
    }

    static Check failed(String name, String message) {
        return new Check(name, Status.FAILED, message);
    }
}
