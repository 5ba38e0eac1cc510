package io.tsmigrate.dualwrite;

import java.util.List;

/**
 * One write as the primary saw it, to be repeated on the secondary or kept in the journal: a
 * statement with its parameter sets (one set, or one per batch entry; none for plain SQL), or a
 * COPY with its data. Immutable.
 */
record Write(String sql, List<List<Param>> parameterSets, byte[] copyData) {

    /**
     * One parameter: its 1-based index, a type tag, the value (for {@link #NULL}, the SQL type as an
     * Integer), and the SQL type the application named in {@code setObject}, or -1.
     */
    record Param(int index, char type, Object value, int sqlType) {
        static final char NULL = 'n';
    }

    static Write sql(String sql) {
        return new Write(sql, List.of(), null);
    }

    boolean isCopy() {
        return copyData != null;
    }
}
