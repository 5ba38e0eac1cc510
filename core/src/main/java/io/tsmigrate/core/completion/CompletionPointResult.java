package io.tsmigrate.core.completion;

import io.tsmigrate.core.catalog.TableRef;
import io.tsmigrate.core.time.TimePoint;
import io.tsmigrate.core.time.TimeType;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * The consistency range (runbook step 5) and the completion point T proposed for each time-type group.
 *
 * @param lastWriterStart when the last writer began dual-writing: the end of the missing writes
 * @param basis           where that time came from (the registry, or --dual-write-started-at)
 * @param rangeStart      lastWriterStart plus the clock-skew margin
 * @param rangeEnd        now minus the maximum lateness and the margin: the start of late-arriving data
 * @param stored          whether T was stored in the state (--set)
 */
public record CompletionPointResult(Instant lastWriterStart, String basis, List<WriterSeen> writers, Duration maxLateness,
                                    Duration clockSkew, Instant rangeStart, Instant rangeEnd, List<Group> groups, boolean stored) {

    /** A registered writer. */
    public record WriterSeen(String name, Instant startedAt, Instant lastSeen, long journalPending) {
    }

    /**
     * One time-type group and its T; empty when the range holds no
     * usable T for the type yet (a date group needs a midnight inside it), with the explanation saying when.
     */
    public record Group(TimeType type, List<TableRef> tables, Optional<TimePoint> value, Optional<Instant> at, String explanation) {
    }

    /** Whether every group has its T. */
    public boolean complete() {
        return groups.stream().allMatch(g -> g.value().isPresent());
    }
}
