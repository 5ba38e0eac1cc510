package io.tsmigrate.core.pgtools;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * Finds {@code pg_dump}, {@code pg_dumpall} and {@code psql}: in the directory the user named
 * ({@code --pg-bindir}), or else the newest installation on the machine. A dump needs client tools
 * at least as new as the server it reads; {@link #check} says whether they are.
 */
public final class ClientTools {

    public static final List<String> REQUIRED = List.of("pg_dump", "pg_dumpall", "psql");

    /** One tool found: where, and its version. */
    public record Tool(String name, Path path, int major, int minor) {
        public String version() {
            return major + "." + minor;
        }
    }

    /** Why a tool can or cannot be used against a server of a given major version. */
    public record Check(String name, Optional<Tool> tool, boolean usable, String message) {
    }

    private final Optional<Path> bindir;

    private ClientTools(Optional<Path> bindir) {
        this.bindir = bindir;
    }

    /** Tools from {@code bindir} when given, else from the newest installation that has them. */
    public static ClientTools locate(Optional<Path> bindir) {
        return new ClientTools(bindir);
    }

    /** The named tool, from the chosen directory or the newest installation that has it. */
    public Optional<Tool> find(String name) {
        List<Path> candidates = bindir.map(d -> List.of(d.resolve(name)))
                .orElseGet(() -> PgInstallations.find().stream().map(i -> i.tool(name)).toList());
        for (Path path : candidates) {
            if (Files.isExecutable(path)) {
                Optional<int[]> version = PgInstallations.version(path);
                if (version.isPresent()) {
                    return Optional.of(new Tool(name, path, version.get()[0], version.get()[1]));
                }
            }
        }
        return Optional.empty();
    }

    /**
     * Whether the tool exists and its major version is at least {@code serverMajor}.
     *
     * @param serverMajor the source server's major version (pg_dump refuses newer servers)
     */
    public Check check(String name, int serverMajor) {
        Optional<Tool> tool = find(name);
        String where = bindir.map(d -> " in " + d).orElse("");
        if (tool.isEmpty()) {
            return new Check(name, tool, false, name + " not found" + where
                    + "; install postgresql-client-" + serverMajor + " (or newer)");
        }
        Tool t = tool.get();
        if (t.major() < serverMajor) {
            return new Check(name, tool, false, t.path() + " is version " + t.version()
                    + ", older than the source server (" + serverMajor + "); install postgresql-client-" + serverMajor);
        }
        return new Check(name, tool, true, t.path() + " " + t.version());
    }

    /** The tool, or an explanation of why it cannot be used, as an exception of kind NOT_READY. */
    public Tool require(String name, int serverMajor) {
        Check check = check(name, serverMajor);
        if (!check.usable()) {
            throw new io.tsmigrate.core.TsmigrateException(io.tsmigrate.core.TsmigrateException.Kind.NOT_READY, check.message() + ".");
        }
        return check.tool().orElseThrow();
    }
}
