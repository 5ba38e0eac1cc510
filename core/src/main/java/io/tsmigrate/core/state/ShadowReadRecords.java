package io.tsmigrate.core.state;

import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The shadow reads the writers recorded in {@code shadow_read}: per writer and query shape, calls,
 * results compared and mismatched, and latency histograms of both sides (microsecond buckets).
 * The writers write them; tsmigrate only reads.
 */
public final class ShadowReadRecords {

    /** One writer's record of one query shape. */
    public record Shape(String writer, String shape, long calls, long compared, long mismatches, long expectedMismatches,
                        long dropped, Optional<String> example, long[] sourceBuckets, long[] targetBuckets) {
    }

    private ShadowReadRecords() {
    }

    /** Every record; none when no writer has created the table yet. */
    public static List<Shape> all(Connection target) throws SQLException {
        List<Shape> out = new ArrayList<>();
        if (!StateSchema.hasTable(target, "shadow_read")) {
            return out;
        }
        try (PreparedStatement ps = target.prepareStatement("SELECT writer, shape, calls, compared, mismatches, expected_mismatches, "
                + "dropped, example, source_micros, target_micros FROM tsmigrate.shadow_read ORDER BY writer, shape");
             ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                out.add(new Shape(rs.getString(1), rs.getString(2), rs.getLong(3), rs.getLong(4), rs.getLong(5), rs.getLong(6),
                        rs.getLong(7), Optional.ofNullable(rs.getString(8)), longs(rs.getArray(9)), longs(rs.getArray(10))));
            }
        }
        return out;
    }

    private static long[] longs(Array array) throws SQLException {
        if (array == null) {
            return new long[0];
        }
        Object[] values = (Object[]) array.getArray();
        long[] out = new long[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = ((Number) values[i]).longValue();
        }
        return out;
    }
}
