package io.tsmigrate.core.plan;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * A plan file as written, before it is checked against the source: every value still as text,
 * with the line it stands on so that errors can name it. {@link PlanChecker#resolve} makes a
 * {@link Plan} of it.
 */
public record PlanDraft(Path file, int version, List<Entry> hypertables, List<String> writerRoles, List<Accepted> acceptDifferences) {

    /** One entry of {@code accept_differences:}; {@code line} is where it starts. */
    public record Accepted(int line, Optional<String> table, List<String> columns) {
    }

    /** One entry of {@code hypertables:}; {@code line} is where it starts. */
    public record Entry(int line, Optional<String> table, Optional<String> timeColumn, Optional<String> chunkInterval,
                        Optional<String> timeUnit, Optional<Boolean> extendKeys, Optional<Boolean> compress,
                        List<String> segmentBy, List<String> orderBy, Optional<String> compressAfter,
                        java.util.Map<String, Integer> keyLines) {

        /** The line of {@code key} in this entry, or the entry's first line. */
        public int lineOf(String key) {
            return keyLines.getOrDefault(key, line);
        }
    }
}
