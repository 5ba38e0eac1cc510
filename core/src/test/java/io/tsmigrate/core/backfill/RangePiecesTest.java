package io.tsmigrate.core.backfill;

import io.tsmigrate.core.catalog.TableRef;
import io.tsmigrate.core.state.BackfillRange;
import io.tsmigrate.core.time.TimeAxis;
import io.tsmigrate.core.time.TimeRange;
import io.tsmigrate.core.time.TimeType;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class RangePiecesTest {

    private static final TableRef T = TableRef.parse("public.metrics");

    private static BackfillRange range(long start, long end, long estimatedRows) {
        return new BackfillRange(1, T, 1, new TimeRange(TimeType.TIMESTAMPTZ, start, end), estimatedRows);
    }

    /** Every piece at a constant pace, in the order they are read. */
    private static List<TimeRange> pieces(BackfillRange r, double rowsPerSecond, boolean descending) {
        RangeCopier.Pieces p = new RangeCopier.Pieces(r, descending, TimeRange::toString);
        List<TimeRange> out = new java.util.ArrayList<>();
        for (java.util.Optional<TimeRange> next = p.nextRange(rowsPerSecond); next.isPresent(); next = p.nextRange(rowsPerSecond)) {
            out.add(next.get());
        }
        if (descending) {
            java.util.Collections.reverse(out);
        }
        return out;
    }

    private static List<TimeRange> pieces(BackfillRange r, double rowsPerSecond) {
        return pieces(r, rowsPerSecond, false);
    }

    private static void assertCovers(List<TimeRange> pieces, BackfillRange r) {
        assertThat(pieces.get(0).start()).isEqualTo(r.range().start());
        assertThat(pieces.get(pieces.size() - 1).end()).isEqualTo(r.range().end());
        for (int i = 1; i < pieces.size(); i++) {
            assertThat(pieces.get(i).start()).as("piece %d follows the one before without a gap or overlap", i)
                    .isEqualTo(pieces.get(i - 1).end());
        }
    }

    @Test
    void anUnpacedRangeIsCutIntoPiecesOfAboutAHundredThousandRows() {
        BackfillRange r = range(1_700_000_000_000_000L, 1_700_086_400_000_000L, 1_000_000);
        List<TimeRange> pieces = pieces(r, Double.POSITIVE_INFINITY);
        assertThat(pieces).hasSize(10);
        assertCovers(pieces, r);
    }

    @Test
    void aSlowPaceMakesPiecesOfAboutASecondEach() {
        BackfillRange r = range(1_700_000_000_000_000L, 1_700_086_400_000_000L, 200_000);
        assertThat(pieces(r, 20_000)).hasSize(10);
        // Never below a thousand rows a piece, never more than MAX_PIECES pieces.
        assertThat(pieces(r, 10)).hasSize(200);
        assertThat(pieces(range(0, 1_000_000_000_000L, 50_000_000), 10)).hasSize(RangeCopier.MAX_PIECES);
        assertCovers(pieces(r, 10), r);
    }

    @Test
    void aSmallRangeARangeWithoutAnEstimateAndOneOpenAtItsStartStayWhole() {
        assertThat(pieces(range(0, 1_000_000, 90_000), Double.POSITIVE_INFINITY)).hasSize(1);
        assertThat(pieces(range(0, 1_000_000, 0), 5_000)).hasSize(1);
        assertThat(pieces(range(TimeAxis.LOWEST, 1_000_000, 5_000_000), 5_000)).hasSize(1);
    }

    @Test
    void piecesFollowThePaceAsItChangesAndComeFromTheEndWhenDescending() {
        BackfillRange r = range(1_700_000_000_000_000L, 1_700_086_400_000_000L, 200_000);
        RangeCopier.Pieces p = new RangeCopier.Pieces(r, false, TimeRange::toString);
        TimeRange fast = p.nextRange(Double.POSITIVE_INFINITY).orElseThrow();
        TimeRange slow = p.nextRange(2_000).orElseThrow();
        // 100,000 of 200,000 rows: half the span; then 2,000 of the 100,000 left: a fiftieth of what is left.
        assertThat(fast.end() - fast.start()).isEqualTo(43_200_000_000L);
        assertThat(slow.start()).isEqualTo(fast.end());
        assertThat(slow.end() - slow.start()).isEqualTo(864_000_000L);

        List<TimeRange> down = pieces(r, 20_000, true);
        assertThat(down).hasSize(10);
        assertCovers(down, r);
        RangeCopier.Pieces first = new RangeCopier.Pieces(r, true, TimeRange::toString);
        assertThat(first.nextRange(20_000).orElseThrow().end()).as("the newest piece first").isEqualTo(r.range().end());
    }

    @Test
    void anIntegerRangeNarrowerThanItsPiecesIsCutOnlyWhereValuesDiffer() {
        BackfillRange r = new BackfillRange(1, T, 1, new TimeRange(TimeType.BIGINT, 100, 104), 1_000_000);
        List<TimeRange> pieces = pieces(r, Double.POSITIVE_INFINITY);
        assertThat(pieces).hasSize(4);
        assertCovers(pieces, r);
    }
}
