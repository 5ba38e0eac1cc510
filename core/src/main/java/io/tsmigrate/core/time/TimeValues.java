package io.tsmigrate.core.time;

import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeFormatterBuilder;
import java.time.format.DateTimeParseException;
import java.time.temporal.ChronoField;
import java.util.Optional;

/**
 * Values of a time column as text in a tsmigrate session ({@code TimeZone=UTC}, {@code DateStyle=ISO}):
 * {@code 2024-05-01 12:00:00.123456+00}, {@code 2024-05-01 12:00:00}, {@code 2024-05-01}, or an
 * integer. Converts them to instants and back, for sizing, completion points and ranges.
 */
public final class TimeValues {

    private static final DateTimeFormatter LOCAL = new DateTimeFormatterBuilder()
            .appendPattern("uuuu-MM-dd[ ]['T']HH:mm:ss")
            .optionalStart().appendFraction(ChronoField.NANO_OF_SECOND, 0, 9, true).optionalEnd()
            .toFormatter();
    private static final DateTimeFormatter OFFSET = new DateTimeFormatterBuilder()
            .append(LOCAL)
            .appendPattern("[XXXXX][XXXX][XXX][X]")
            .toFormatter();

    private TimeValues() {
    }

    /**
     * The instant a value stands for; a {@code timestamp} or {@code date} is read as UTC, an
     * integer by its epoch unit. Empty for infinity, values that do not parse, or integers whose
     * unit is unknown.
     */
    public static Optional<Instant> toInstant(String text, TimeType type, Optional<EpochUnit> unit) {
        String s = text.strip();
        try {
            return Optional.of(switch (type) {
                case TIMESTAMPTZ -> OffsetDateTime.parse(s, OFFSET).toInstant();
                case TIMESTAMP -> LocalDateTime.parse(s, LOCAL).toInstant(ZoneOffset.UTC);
                case DATE -> LocalDate.parse(s).atStartOfDay(ZoneOffset.UTC).toInstant();
                case BIGINT, INTEGER, SMALLINT -> {
                    if (unit.isEmpty()) {
                        yield null;
                    }
                    long value = Long.parseLong(s);
                    long perSecond = unit.get().perSecond();
                    yield Instant.ofEpochSecond(Math.floorDiv(value, perSecond),
                            Math.floorMod(value, perSecond) * (1_000_000_000L / perSecond));
                }
            });
        } catch (DateTimeParseException | NumberFormatException | NullPointerException e) {
            return Optional.empty();
        }
    }

    /** The SQL literal of {@code instant} for a column of {@code type}, e.g. {@code '2024-05-01 00:00:00+00'}. */
    public static String literal(Instant instant, TimeType type, Optional<EpochUnit> unit) {
        return switch (type) {
            case TIMESTAMPTZ -> "'" + instant.atOffset(ZoneOffset.UTC).toLocalDateTime() + "+00'::timestamptz";
            case TIMESTAMP -> "'" + instant.atOffset(ZoneOffset.UTC).toLocalDateTime() + "'::timestamp";
            case DATE -> "'" + instant.atOffset(ZoneOffset.UTC).toLocalDate() + "'::date";
            case BIGINT, INTEGER, SMALLINT -> Long.toString(units(instant,
                    unit.orElseThrow(() -> new IllegalArgumentException("an integer time needs its unit"))));
        };
    }

    /** Unix microseconds of {@code instant}. */
    public static long micros(Instant instant) {
        return Math.addExact(Math.multiplyExact(instant.getEpochSecond(), 1_000_000L), instant.getNano() / 1000);
    }

    /** {@code instant} in an integer time column's units since the Unix epoch. */
    public static long units(Instant instant, EpochUnit unit) {
        return Math.addExact(Math.multiplyExact(instant.getEpochSecond(), unit.perSecond()),
                instant.getNano() / (1_000_000_000L / unit.perSecond()));
    }
}
