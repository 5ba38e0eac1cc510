package io.tsmigrate.core.plan;

import io.tsmigrate.core.time.TimeType;
import io.tsmigrate.core.catalog.TableRef;

import java.util.List;

/**
 * A table with a time column, scored as a hypertable candidate.
 *
 * @param score       0 to 100: higher is a better hypertable
 * @param reasons     what the score is made of, one phrase each
 * @param chosen      whether the plan makes it a hypertable
 * @param decision    why it is or is not chosen
 * @param chunk       the recommended chunk interval and its explanation
 */
public record Candidate(TableRef table, long totalBytes, long estimatedRows, String timeColumn, TimeType timeType,
                        List<String> evidence, int score, List<String> reasons, boolean chosen, String decision,
                        ChunkInterval chunkInterval, String chunkExplanation, List<String> segmentBy,
                        List<String> orderBy) {
}
