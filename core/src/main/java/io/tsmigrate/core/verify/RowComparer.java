package io.tsmigrate.core.verify;

import io.tsmigrate.core.catalog.TableRef;

import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;

/**
 * Compares the rows of a small piece of a table on both sides: by primary key when there is one
 * (missing, extra, or changed with the columns that differ), else as a multiset of whole rows.
 * Values are compared in their text forms, which tsmigrate's sessions make identical across
 * server versions.
 */
final class RowComparer {

    private static final int SHOWN_VALUE_CHARS = 120;

    private RowComparer() {
    }

    static void compare(TableDigest d, String where, SidePool source, SidePool target, Differences out) {
        CompletableFuture<List<String[]>> s = source.submit(c -> rows(c, d.rowsSql(where), d.key().size() + d.columns().size()));
        CompletableFuture<List<String[]>> t = target.submit(c -> rows(c, d.rowsSql(where), d.key().size() + d.columns().size()));
        List<String[]> sourceRows = SidePool.join(s);
        List<String[]> targetRows = SidePool.join(t);
        int k = d.key().size();
        if (k == 0) {
            Map<List<String>, Integer> counts = new HashMap<>();
            sourceRows.forEach(r -> counts.merge(Arrays.asList(r), 1, Integer::sum));
            targetRows.forEach(r -> counts.merge(Arrays.asList(r), -1, Integer::sum));
            counts.forEach((row, n) -> {
                for (int i = 0; i < Math.abs(n); i++) {
                    out.add(n > 0 ? Differences.missing(d.table(), render(d.columns(), row, 0))
                            : Differences.extra(d.table(), render(d.columns(), row, 0)));
                }
            });
            return;
        }
        Map<List<String>, String[]> targetByKey = new HashMap<>();
        List<String[]> duplicates = new ArrayList<>();
        for (String[] r : targetRows) {
            if (targetByKey.putIfAbsent(Arrays.asList(r).subList(0, k), r) != null) {
                duplicates.add(r);
            }
        }
        for (String[] r : sourceRows) {
            List<String> key = Arrays.asList(r).subList(0, k);
            String[] other = targetByKey.remove(key);
            String keyText = render(d.key(), key, 0);
            if (other == null) {
                out.add(Differences.missing(d.table(), keyText));
                continue;
            }
            List<String> columns = new ArrayList<>();
            List<String> sourceValues = new ArrayList<>();
            List<String> targetValues = new ArrayList<>();
            for (int i = 0; i < d.columns().size(); i++) {
                if (!Objects.equals(r[k + i], other[k + i])) {
                    columns.add(d.columns().get(i));
                    sourceValues.add(shown(r[k + i]));
                    targetValues.add(shown(other[k + i]));
                }
            }
            if (!columns.isEmpty()) {
                out.add(new VerifyResult.Difference(d.table(), "changed", keyText, columns, sourceValues, targetValues));
            }
        }
        targetByKey.values().forEach(r -> out.add(Differences.extra(d.table(), render(d.key(), Arrays.asList(r).subList(0, k), 0))));
        duplicates.forEach(r -> out.add(Differences.extra(d.table(), render(d.key(), Arrays.asList(r).subList(0, k), 0) + " (duplicate)")));
    }

    private static List<String[]> rows(java.sql.Connection c, String sql, int width) throws java.sql.SQLException {
        List<String[]> out = new ArrayList<>();
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            while (rs.next()) {
                String[] row = new String[width];
                for (int i = 0; i < width; i++) {
                    row[i] = rs.getString(i + 1);
                }
                out.add(row);
            }
        }
        return out;
    }

    private static String render(List<String> names, List<String> values, int offset) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < names.size(); i++) {
            sb.append(i > 0 ? ", " : "").append(TableRef.readable(names.get(i))).append('=').append(shown(values.get(offset + i)));
        }
        return sb.toString();
    }

    private static String shown(String value) {
        if (value == null) {
            return "NULL";
        }
        String quoted = "'" + value.replace("'", "''") + "'";
        return quoted.length() > SHOWN_VALUE_CHARS ? quoted.substring(0, SHOWN_VALUE_CHARS) + "...'" : quoted;
    }
}
