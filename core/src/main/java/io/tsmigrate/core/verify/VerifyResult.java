package io.tsmigrate.core.verify;

import io.tsmigrate.core.catalog.TableRef;

import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * What {@code tsmigrate verify} found.
 *
 * @param match        every table checked is equal on both sides (after repair, if asked)
 * @param differences  the differing rows, at most --max-rows of them
 * @param differenceCount all differing rows, listed or not
 */
public record VerifyResult(boolean match, String mode, long runId, List<TableVerdict> tables, List<Difference> differences,
                           long differenceCount, List<SequenceVerdict> sequences, List<String> notes, Duration elapsed) {

    public enum Verdict { MATCH, DIFFERS, REPAIRED, UNCHECKED }

    /**
     * One table.
     *
     * @param scope    what was compared: {@code [start, T)} for a hypertable, {@code whole table} for a plain one
     * @param method   how rows were hashed: {@code hash_record_extended} or {@code row text}
     * @param accounting hypertables, exact check: where every source row is (checked, before the
     *                 start, past the end, NULL time)
     */
    public record TableVerdict(TableRef table, boolean hypertable, String scope, int ranges, int rangesDiffering,
                               long sourceRows, long targetRows, long missing, long extra, long changed, Verdict verdict,
                               String method, String note, Optional<Accounting> accounting) {
    }

    /**
     * One differing row: {@code missing} on the target, {@code extra} on the target, or {@code changed}.
     *
     * @param key      the primary key (or the whole row, for a table without one)
     * @param columns  for a changed row: the columns that differ
     */
    public record Difference(TableRef table, String kind, String key, List<String> columns, List<String> sourceValues,
                             List<String> targetValues) {
    }

    /** A sequence's last value on both sides; {@code behind} when the target would hand out used ids. */
    public record SequenceVerdict(TableRef sequence, Long source, Long target, boolean behind) {
    }
}
