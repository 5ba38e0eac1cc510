package io.tsmigrate.proxy;

import io.tsmigrate.core.connect.ConnectionSpec;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;

/**
 * Where one side listens and how the proxy logs in there (from the side's connection URI), TLS
 * included: {@code sslmode} as libpq reads it (default {@code prefer}), {@code sslrootcert}
 * (default {@code ~/.postgresql/root.crt}, as libpq and pgjdbc) and the client certificate
 * {@code sslcert}/{@code sslkey} (default {@code ~/.postgresql/postgresql.crt} and {@code .key}
 * when both exist; the key in PEM, PKCS#8).
 */
record ServerAddress(String label, String host, int port, String user, String database, Optional<String> password,
                     String sslmode, Optional<Path> sslrootcert, Optional<ClientCertificate> clientCertificate) {

    /** The certificate the proxy shows a server that asks for one, and its key. */
    record ClientCertificate(Path certificate, Path key) {
    }

    private static final Set<String> MODES = Set.of("disable", "allow", "prefer", "require", "verify-ca", "verify-full");

    static ServerAddress of(ConnectionSpec spec) {
        ConnectionSpec.Endpoint e = spec.endpoints().get(0);
        if (e.isUnixSocket()) {
            throw new IllegalArgumentException("the proxy connects to the " + spec.label() + " over TCP; give it a host name or "
                    + "address, not the Unix socket " + e.socketPath());
        }
        String mode = spec.setting("sslmode").orElse("prefer").toLowerCase(Locale.ROOT);
        if (!MODES.contains(mode)) {
            throw new IllegalArgumentException("sslmode=" + mode + " of the " + spec.label() + " is not one of " + String.join(", ",
                    MODES.stream().sorted().toList()));
        }
        Optional<Path> root = spec.setting("sslrootcert").map(Path::of);
        if (root.isEmpty()) {
            Path home = Path.of(System.getProperty("user.home"), ".postgresql", "root.crt");
            root = Files.isReadable(home) ? Optional.of(home) : Optional.empty();
        }
        if (mode.startsWith("verify") && root.isEmpty()) {
            throw new IllegalArgumentException("sslmode=" + mode + " of the " + spec.label() + " needs the certificate of the CA that "
                    + "signed the server's: give sslrootcert=FILE (or put it in ~/.postgresql/root.crt)");
        }
        Path home = Path.of(System.getProperty("user.home"), ".postgresql");
        Path cert = spec.setting("sslcert").map(Path::of).orElse(home.resolve("postgresql.crt"));
        Path key = spec.setting("sslkey").map(Path::of).orElse(home.resolve("postgresql.key"));
        Optional<ClientCertificate> client = Optional.empty();
        if (Files.isReadable(cert) && Files.isReadable(key)) {
            client = Optional.of(new ClientCertificate(cert, key));
        } else if (spec.setting("sslcert").isPresent() || spec.setting("sslkey").isPresent()) {
            throw new IllegalArgumentException("the client certificate of the " + spec.label() + " cannot be read: sslcert=" + cert
                    + ", sslkey=" + key + " must both be readable files");
        }
        return new ServerAddress(spec.label(), e.host(), e.port(), spec.user(), spec.database(), spec.password(), mode, root, client);
    }

    /** Whether the proxy asks the server for TLS. */
    boolean asksTls() {
        return !sslmode.equals("disable") && !sslmode.equals("allow");
    }

    /** Whether a server that refuses TLS is refused in turn. */
    boolean requiresTls() {
        return sslmode.equals("require") || sslmode.startsWith("verify");
    }

    /** Whether the server's certificate chain is checked (verify-*, or require with a root certificate, as libpq does). */
    boolean verifiesChain() {
        return sslmode.startsWith("verify") || (sslmode.equals("require") && sslrootcert.isPresent());
    }

    /** Whether the certificate must name the host (verify-full). */
    boolean verifiesHost() {
        return sslmode.equals("verify-full");
    }

    @Override
    public String toString() {
        return label + " (" + host + ":" + port + "/" + database + ")";
    }
}
