package io.tsmigrate.core.state;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The writes whose values each side computes for itself ({@code now()}, a sequence default), as
 * the writers found them, in {@code computed_write}: per writer and query shape, the table written
 * and what is computed. Rows such writes stored differ between the sides by design. The writers
 * write them; tsmigrate only reads.
 */
public final class ComputedWriteRecords {

    /** One writer's query shape; {@code table} as {@code schema.table}, when the writer could tell. */
    public record ComputedWrite(String writer, String shape, Optional<String> table, String reason, Instant firstSeen) {
    }

    private ComputedWriteRecords() {
    }

    /** Every record, oldest first; none when the state predates the table. */
    public static List<ComputedWrite> all(Connection target) throws SQLException {
        List<ComputedWrite> out = new ArrayList<>();
        if (!StateSchema.hasTable(target, "computed_write")) {
            return out;
        }
        try (PreparedStatement ps = target.prepareStatement("SELECT writer, shape, table_name, reason, first_seen "
                + "FROM tsmigrate.computed_write ORDER BY first_seen, writer, shape");
             ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                out.add(new ComputedWrite(rs.getString(1), rs.getString(2), Optional.ofNullable(rs.getString(3)), rs.getString(4),
                        rs.getTimestamp(5).toInstant()));
            }
        }
        return out;
    }
}
