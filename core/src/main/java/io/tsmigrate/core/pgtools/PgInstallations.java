package io.tsmigrate.core.pgtools;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The PostgreSQL installations on this machine: the directory {@code pg_config --bindir} names and
 * every {@code /usr/lib/postgresql/<major>/bin} (Debian installs each major there), newest first.
 * Used to pick client tools at least as new as a server, and by the servers module to find servers.
 */
public final class PgInstallations {

    private static final Path DEBIAN_ROOT = Path.of("/usr/lib/postgresql");
    private static final Pattern VERSION = Pattern.compile("\\(PostgreSQL\\)\\s+(\\d+)(?:\\.(\\d+))?");

    /** One installation: its bin directory and its major version. */
    public record Installation(Path bindir, int major) {
        public Path tool(String name) {
            return bindir.resolve(name);
        }

        public boolean has(String name) {
            return Files.isExecutable(tool(name));
        }
    }

    private PgInstallations() {
    }

    /** Every installation found, newest major first; empty when PostgreSQL is not installed. */
    public static List<Installation> find() {
        Set<Path> dirs = new LinkedHashSet<>();
        pgConfigBindir().ifPresent(dirs::add);
        if (Files.isDirectory(DEBIAN_ROOT)) {
            try (Stream<Path> majors = Files.list(DEBIAN_ROOT)) {
                majors.map(p -> p.resolve("bin")).filter(Files::isDirectory).sorted().forEach(dirs::add);
            } catch (IOException e) {
                // An unreadable directory holds no installation we could use.
            }
        }
        List<Installation> found = new ArrayList<>();
        for (Path dir : dirs) {
            inspect(dir).filter(i -> found.stream().noneMatch(f -> same(f.bindir(), i.bindir()))).ifPresent(found::add);
        }
        found.sort(Comparator.comparingInt(Installation::major).reversed());
        return found;
    }

    /** The installation in {@code bindir}, read from the version its tools print. */
    public static Optional<Installation> inspect(Path bindir) {
        for (String tool : List.of("pg_config", "postgres", "pg_dump", "psql")) {
            Path path = bindir.resolve(tool);
            if (Files.isExecutable(path)) {
                Optional<int[]> version = version(path);
                if (version.isPresent()) {
                    return Optional.of(new Installation(bindir, version.get()[0]));
                }
            }
        }
        return Optional.empty();
    }

    /** {@code {major, minor}} from a tool's {@code --version} output. */
    public static Optional<int[]> version(Path tool) {
        return ProcessRunner.output(List.of(tool.toString(), "--version")).flatMap(PgInstallations::parseVersion);
    }

    static Optional<int[]> parseVersion(String text) {
        Matcher m = VERSION.matcher(text);
        if (!m.find()) {
            return Optional.empty();
        }
        int major = Integer.parseInt(m.group(1));
        int minor = m.group(2) == null ? 0 : Integer.parseInt(m.group(2));
        return Optional.of(new int[] {major, minor});
    }

    private static Optional<Path> pgConfigBindir() {
        return ProcessRunner.output(List.of("pg_config", "--bindir"))
                .map(String::strip).filter(s -> !s.isEmpty()).map(Path::of).filter(Files::isDirectory);
    }

    private static boolean same(Path a, Path b) {
        try {
            return Files.isSameFile(a, b);
        } catch (IOException e) {
            return a.equals(b);
        }
    }
}
