package io.tsmigrate.core.plan;

import java.util.List;
import java.util.Objects;

/**
 * Something in the source that will break or change in the migration, and what to do about it.
 *
 * @param severity how bad it is
 * @param code     a stable identifier for scripts ({@code key-without-time-column}, ...)
 * @param objects  the objects involved, as {@code schema.table} or {@code schema.table.column}
 * @param message  what is wrong, in one sentence
 * @param remedy   what to do, or what tsmigrate will do, in one sentence
 */
public record Hazard(Severity severity, String code, List<String> objects, String message, String remedy) {

    public enum Severity {
        /** The table cannot become a hypertable until this is fixed; it is left out of the plan. */
        BLOCKER,
        /** Works, but changes behaviour or needs a decision; read it. */
        WARNING,
        /** For information: what tsmigrate will do differently from the source. */
        NOTE
    }

    public Hazard {
        Objects.requireNonNull(severity, "severity");
        Objects.requireNonNull(code, "code");
        objects = List.copyOf(objects);
        Objects.requireNonNull(message, "message");
        Objects.requireNonNull(remedy, "remedy");
    }
}
