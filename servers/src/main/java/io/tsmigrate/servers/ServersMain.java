package io.tsmigrate.servers;

import java.io.IOException;
import java.nio.file.Path;

/**
 * Starts a source and a target server for scripts (benchmarks): prints {@code SOURCE_ADMIN=<uri>}
 * and {@code TARGET_ADMIN=<uri>} (superuser URIs of the {@code postgres} database), then
 * {@code READY}, and stops both servers when its standard input closes. If it is killed instead,
 * the servers' watchdogs stop them.
 */
public final class ServersMain {

    private ServersMain() {
    }

    public static void main(String[] args) throws IOException {
        Path parent = Path.of(args.length > 0 ? args[0] : System.getProperty("java.io.tmpdir"));
        try (ServerPair pair = ServerPair.start(parent)) {
            System.out.println("SOURCE_ADMIN=" + pair.source().uri("postgres"));
            System.out.println("TARGET_ADMIN=" + pair.target().uri("postgres"));
            System.out.println("SOURCE_MAJOR=" + pair.source().major());
            System.out.println("TARGET_MAJOR=" + pair.target().major());
            System.out.println("READY");
            System.out.flush();
            while (System.in.read() >= 0) {
                // Wait for the caller to close our input.
            }
        }
    }
}
