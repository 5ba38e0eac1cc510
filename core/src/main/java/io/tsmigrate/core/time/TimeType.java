package io.tsmigrate.core.time;

import java.util.Arrays;
import java.util.Locale;
import java.util.Optional;

/**
 * The type of a hypertable's time column. Each type is its own time-type group: runbook step 5
 * needs one completion point T per group, expressed in that type.
 */
public enum TimeType {
    TIMESTAMPTZ("timestamptz", "timestamp with time zone"),
    TIMESTAMP("timestamp", "timestamp without time zone"),
    DATE("date", "date"),
    BIGINT("int8", "bigint"),
    INTEGER("int4", "integer"),
    SMALLINT("int2", "smallint");

    private final String typeName;
    private final String sqlName;

    TimeType(String typeName, String sqlName) {
        this.typeName = typeName;
        this.sqlName = sqlName;
    }

    /** The pg_type name: {@code timestamptz}, {@code int8}. */
    public String typeName() {
        return typeName;
    }

    /** The name format_type prints: {@code timestamp with time zone}, {@code bigint}. */
    public String sqlName() {
        return sqlName;
    }

    public boolean isInteger() {
        return this == BIGINT || this == INTEGER || this == SMALLINT;
    }

    /** The lower-case name used in plan files and output: {@code timestamptz}, {@code bigint}. */
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The time type of a column of pg_type {@code typeName}, if it can be one. */
    public static Optional<TimeType> ofTypeName(String typeName) {
        return Arrays.stream(values()).filter(t -> t.typeName.equals(typeName)).findFirst();
    }

    public static Optional<TimeType> ofLabel(String label) {
        return Arrays.stream(values()).filter(t -> t.label().equals(label)).findFirst();
    }
}
