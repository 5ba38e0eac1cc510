package io.tsmigrate.core.verify;

import io.tsmigrate.core.catalog.TableRef;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * The SQL that digests a table's rows the same way on both sides: the columns both sides have,
 * in the source's order, and a 64-bit hash per row: {@code hash_record_extended} over the row
 * (fast; it needs hash support for every column type), else {@code hashtextextended} over the
 * row's text form (slower; works for every type, and is the arbiter when the fast hashes of a
 * range disagree, since text forms are identical across server versions in tsmigrate's sessions).
 * When the two servers' encodings differ (a LATIN1 source, a UTF8 target), both hash the row's
 * text converted to UTF-8 instead: PostgreSQL's own hashes read a value's bytes in the server's
 * encoding, so the same {@code é} would hash differently on each side.
 */
final class TableDigest {

    private final TableRef table;
    private final List<String> columns;
    private final List<String> key;
    private final boolean recordHash;
    private final boolean utf8;

    private TableDigest(TableRef table, List<String> columns, List<String> key, boolean recordHash, boolean utf8) {
        this.table = table;
        this.columns = columns;
        this.key = key;
        this.recordHash = recordHash;
        this.utf8 = utf8;
    }

    /**
     * Reads both sides' columns and decides the hash; {@code key} is the source's primary key, if any;
     * {@code leftOut} the columns the plan accepts as different (never compared).
     */
    static TableDigest prepare(Connection source, Connection target, TableRef table, List<String> key, List<String> leftOut)
            throws SQLException {
        List<String> sourceColumns = columns(source, table);
        Set<String> targetColumns = new LinkedHashSet<>(columns(target, table));
        List<String> common = sourceColumns.stream().filter(targetColumns::contains).filter(c -> !leftOut.contains(c)).toList();
        boolean utf8 = !encoding(source).equals(encoding(target));
        TableDigest text = new TableDigest(table, common, List.copyOf(key), false, utf8);
        boolean record = !utf8 && supportsRecordHash(source, text) && supportsRecordHash(target, text);
        return new TableDigest(table, common, List.copyOf(key), record, utf8);
    }

    TableRef table() {
        return table;
    }

    List<String> columns() {
        return columns;
    }

    List<String> key() {
        return key;
    }

    boolean recordHash() {
        return recordHash;
    }

    String method() {
        return recordHash ? "hash_record_extended" : utf8 ? "row text in UTF-8" : "row text";
    }

    /** The same table digested by row text, the version-proof arbiter. */
    TableDigest byText() {
        return new TableDigest(table, columns, key, false, utf8);
    }

    private String row() {
        return "ROW(" + columns.stream().map(TableRef::quote).collect(Collectors.joining(", ")) + ")";
    }

    private String hash() {
        return recordHash ? "hash_record_extended(" + row() + ", 0)" : textHash(row() + "::text", 0);
    }

    /** A 64-bit hash of a text expression, the same on both sides. */
    private String textHash(String text, int seed) {
        if (!utf8) {
            return "hashtextextended(" + text + ", " + seed + ")";
        }
        return "('x' || left(md5(convert_to('" + seed + ":' || " + text + ", 'UTF8')), 16))::bit(64)::bigint";
    }

    /** count and sum of the row hashes of the rows matching {@code where}. */
    String digestSql(String where) {
        return "SELECT count(*), coalesce(sum(" + hash() + "), 0) FROM " + table.quoted() + " WHERE " + where;
    }

    /** The digest per bucket: {@code bucketSql} names each row's bucket (a bigint). */
    String bucketDigestSql(String where, String bucketSql) {
        return "SELECT " + bucketSql + " AS b, count(*), coalesce(sum(" + hash() + "), 0) FROM " + table.quoted()
                + " WHERE " + where + " GROUP BY 1";
    }

    /** A bucket for rows by their key (or whole row) hash, stable across server versions. */
    String hashBucketSql(long modulus) {
        String basis = key.isEmpty() ? row() : "ROW(" + key.stream().map(TableRef::quote).collect(Collectors.joining(", ")) + ")";
        return "mod(abs(" + textHash(basis + "::text", 7) + "), " + modulus + ")";
    }

    /** Key columns, then every column, as text. */
    String rowsSql(String where) {
        List<String> select = new ArrayList<>();
        key.forEach(k -> select.add(TableRef.quote(k) + "::text"));
        columns.forEach(c -> select.add(TableRef.quote(c) + "::text"));
        return "SELECT " + String.join(", ", select) + " FROM " + table.quoted() + " WHERE " + where;
    }

    private static boolean supportsRecordHash(Connection c, TableDigest digest) {
        // Probing is the only reliable check: hash support depends on every column's type (json,
        // point and others have none), on collations, and on the server version (PostgreSQL 14+).
        try (Statement st = c.createStatement()) {
            st.execute("SELECT hash_record_extended(" + digest.row() + ", 0) FROM " + digest.table.quoted() + " LIMIT 1");
            return !nondeterministicCollation(c, digest.table);
        } catch (SQLException e) {
            try {
                if (!c.getAutoCommit()) {
                    c.rollback();
                }
            } catch (SQLException ignored) {
                // The probe's failure is the answer.
            }
            return false;
        }
    }

    private static String encoding(Connection c) throws SQLException {
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SHOW server_encoding")) {
            rs.next();
            return rs.getString(1);
        }
    }

    private static boolean nondeterministicCollation(Connection c, TableRef table) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT count(*) FROM pg_attribute a JOIN pg_collation co ON co.oid = a.attcollation "
                + "WHERE a.attrelid = to_regclass(?) AND a.attnum > 0 AND NOT co.collisdeterministic")) {
            ps.setString(1, table.quoted());
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getLong(1) > 0;
            }
        }
    }

    private static List<String> columns(Connection c, TableRef table) throws SQLException {
        List<String> out = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement("SELECT attname FROM pg_attribute WHERE attrelid = to_regclass(?) "
                + "AND attnum > 0 AND NOT attisdropped ORDER BY attnum")) {
            ps.setString(1, table.quoted());
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(rs.getString(1));
                }
            }
        }
        return out;
    }
}
