package io.tsmigrate.it;

import io.tsmigrate.core.connect.ConnectionSpec;
import io.tsmigrate.core.connect.PgConnector;
import io.tsmigrate.core.state.StateSchema;
import io.tsmigrate.dualwrite.JournalReplayer;
import io.tsmigrate.it.kit.PgServersExtension;
import io.tsmigrate.it.kit.TestDatabases;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The dual-write library creates the few state tables it writes itself (it depends on nothing but
 * JDBC, so it cannot call the CLI's state schema): both must create exactly the same tables.
 */
@ExtendWith(PgServersExtension.class)
class StateTablesIT {

    private static final List<String> SHARED = List.of("writer", "journal_applied", "journal_skipped", "shadow_read");

    @Test
    void theLibraryCreatesTheSharedStateTablesExactlyAsTheStateSchemaDoes(TestDatabases db, @TempDir Path dir) throws Exception {
        ConnectionSpec byCli = db.newTargetDatabase("state_cli", false);
        ConnectionSpec byLibrary = db.newTargetDatabase("state_library", false);
        try (Connection c = PgConnector.open(byCli)) {
            StateSchema.ensure(c);
        }
        Path journal = Files.createFile(dir.resolve("w-target.journal"));
        try (Connection c = PgConnector.open(byLibrary)) {
            JournalReplayer.replay(journal, c); // an empty journal: the library only creates its tables
        }
        for (String table : SHARED) {
            assertThat(definition(byLibrary, table)).as(table).isNotEmpty().isEqualTo(definition(byCli, table));
        }
    }

    /** Columns (name, type, nullability, default) and the primary key, as the catalog has them. */
    private static List<List<String>> definition(ConnectionSpec spec, String table) {
        List<List<String>> out = new java.util.ArrayList<>(TestDatabases.rows(spec, "SELECT column_name, data_type, is_nullable, "
                + "coalesce(column_default, '') FROM information_schema.columns WHERE table_schema = 'tsmigrate' AND table_name = '"
                + table + "' ORDER BY ordinal_position"));
        out.addAll(TestDatabases.rows(spec, "SELECT coalesce(string_agg(a.attname, ',' ORDER BY a.attnum), '') FROM pg_index i "
                + "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey) "
                + "WHERE i.indrelid = to_regclass('tsmigrate." + table + "') AND i.indisprimary"));
        return out;
    }
}
