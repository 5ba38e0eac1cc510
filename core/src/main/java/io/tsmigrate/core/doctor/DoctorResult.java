package io.tsmigrate.core.doctor;

import java.util.List;
import java.util.Optional;

/**
 * What {@link Doctor} found: the checklist, the verdict, and the facts behind them for scripts.
 *
 * @param checks  one entry per check, in the order they ran
 * @param verdict whether a migration can start
 * @param source  facts about the source, when it could be reached
 * @param target  facts about the target, when it could be reached
 */
public record DoctorResult(List<Check> checks, Verdict verdict, Optional<SourceFacts> source,
                           Optional<TargetFacts> target) {

    /** Whether a migration between the two servers can start. */
    public enum Verdict {
        /** No check failed (warnings may remain). */
        READY,
        /** Both servers answered, but at least one check failed. */
        NOT_READY,
        /** At least one server could not be reached or refused the login. */
        CANNOT_CONNECT
    }

    /** A table and its total size (with indexes and TOAST; summed over partitions). */
    public record TableSize(String table, long bytes) {
    }

    public record SourceFacts(String version, int versionNum, boolean superuser, long databaseBytes,
                              List<TableSize> largestTables) {
    }

    public record TargetFacts(String version, int versionNum, boolean superuser,
                              Optional<String> timescaledbVersion, Optional<String> timescaledbAvailable,
                              Optional<String> license, long userTables) {
    }

    public long count(Check.Status status) {
        return checks.stream().filter(c -> c.status() == status).count();
    }
}
