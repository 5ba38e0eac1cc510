package io.tsmigrate.core.schema;

import java.nio.file.Path;
import java.util.Optional;

/**
 * How to run the schema step.
 *
 * @param skipRoles leave the roles out (create them yourself)
 * @param dryRun    print every command and statement; change nothing
 * @param force     drop target tables that clash with the source's before loading them
 * @param pgBindir  where to take pg_dump, pg_dumpall and psql from
 */
public record SchemaOptions(boolean skipRoles, boolean dryRun, boolean force, Optional<Path> pgBindir) {
}
