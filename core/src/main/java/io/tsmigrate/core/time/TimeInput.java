package io.tsmigrate.core.time;

import io.tsmigrate.core.TsmigrateException;
import io.tsmigrate.core.connect.PgErrors;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Optional;

/**
 * The one parser of time values a user types ({@code --until}, {@code --from}, {@code --at}) for
 * every command: the server itself reads the value as the column's type, so that what is accepted
 * is exactly what PostgreSQL accepts, and it becomes a {@link TimePoint}.
 */
public final class TimeInput {

    private TimeInput() {
    }

    /**
     * The point the value stands for, as {@code server} reads it for {@code type} (the session must be
     * UTC/ISO, as every tsmigrate session is).
     *
     * @param what how to name the value in an error, e.g. {@code --until}
     * @throws TsmigrateException USAGE when the value is not of the type, or not a finite point in
     *                            time ({@code -infinity} is accepted as "from the beginning")
     */
    public static TimePoint point(Connection server, String value, TimeType type, String what) throws SQLException {
        String text;
        try (PreparedStatement ps = server.prepareStatement("SELECT (?::" + type.sqlName() + ")::text")) {
            ps.setString(1, value.strip());
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                text = rs.getString(1);
            }
        } catch (SQLException e) {
            if (PgErrors.sqlState(e).startsWith("22")) {
                throw TsmigrateException.usage(what + " \"" + value + "\" is not a " + type.sqlName() + " value ("
                        + PgErrors.message(e) + "); write it like " + example(type) + ".");
            }
            throw e;
        }
        Optional<Long> position = TimeAxis.positionOf(text, type);
        if (position.isEmpty()) {
            throw TsmigrateException.usage(what + " \"" + value + "\" is not a point in time; write it like " + example(type) + ".");
        }
        return new TimePoint(type, position.get());
    }

    /** A literal of the type, for messages. */
    public static String example(TimeType type) {
        return switch (type) {
            case TIMESTAMPTZ -> "2026-11-20 12:00:00+00";
            case TIMESTAMP -> "2026-11-20 12:00:00";
            case DATE -> "2026-11-20";
            default -> "1763640000000";
        };
    }
}
