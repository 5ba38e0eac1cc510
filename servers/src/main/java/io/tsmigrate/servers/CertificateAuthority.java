package io.tsmigrate.servers;

import io.tsmigrate.core.pgtools.ProcessRunner;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A throwaway certificate authority for tests and the demo, made with {@code openssl}: its own
 * certificate (what clients give as {@code sslrootcert}) and the certificates it issues to servers
 * (their host) and to clients (their role, as the common name). Keys are PEM, PKCS#8, unencrypted,
 * readable by their owner only, as libpq, pgjdbc and PostgreSQL require.
 */
public final class CertificateAuthority {

    /** A certificate this authority issued and its private key. */
    public record Issued(Path certificate, Path key) {
    }

    private final Path dir;

    private CertificateAuthority(Path dir) {
        this.dir = dir;
    }

    /** Makes a new authority in {@code dir} (created if missing) named {@code name}. */
    public static CertificateAuthority create(Path dir, String name) {
        CertificateAuthority ca = new CertificateAuthority(dir);
        try {
            Files.createDirectories(dir);
            openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30", "-subj", "/CN=" + name,
                    "-keyout", ca.key().toString(), "-out", ca.certificate().toString());
            ownerOnly(ca.key());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot make a test certificate authority in " + dir + ": " + e.getMessage(), e);
        }
        return ca;
    }

    /** The authority's certificate: a client's {@code sslrootcert}, a server's {@code ssl_ca_file}. */
    public Path certificate() {
        return dir.resolve("ca.crt");
    }

    private Path key() {
        return dir.resolve("ca.key");
    }

    /**
     * Issues a certificate for {@code commonName} into {@code out} as {@code <stem>.crt} and
     * {@code <stem>.key}.
     *
     * @param subjectAltNames such as {@code IP:127.0.0.1} (a server's addresses); none for a client
     */
    public Issued issue(Path out, String stem, String commonName, List<String> subjectAltNames) {
        Path cert = out.resolve(stem + ".crt");
        Path key = out.resolve(stem + ".key");
        Path request = out.resolve(stem + ".csr");
        try {
            List<String> req = new ArrayList<>(List.of("req", "-new", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=" + commonName,
                    "-keyout", key.toString(), "-out", request.toString()));
            if (!subjectAltNames.isEmpty()) {
                req.addAll(List.of("-addext", "subjectAltName=" + String.join(",", subjectAltNames)));
            }
            openssl(req.toArray(String[]::new));
            ownerOnly(key);
            openssl("x509", "-req", "-in", request.toString(), "-CA", certificate().toString(), "-CAkey", key().toString(),
                    "-set_serial", String.valueOf(System.nanoTime()), "-days", "30", "-copy_extensions", "copy",
                    "-out", cert.toString());
            Files.delete(request);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot issue a test certificate for " + commonName + ": " + e.getMessage(), e);
        }
        return new Issued(cert, key);
    }

    private static void ownerOnly(Path key) throws IOException {
        Files.setPosixFilePermissions(key, PosixFilePermissions.fromString("rw-------"));
    }

    private static void openssl(String... args) throws IOException {
        List<String> command = new ArrayList<>(List.of("openssl"));
        command.addAll(List.of(args));
        ProcessRunner.Result r = ProcessRunner.run(command, Map.of());
        if (!r.succeeded()) {
            throw new IOException("openssl " + args[0] + " failed (exit " + r.exitCode() + "): " + (r.output() + r.errors()).strip());
        }
    }
}
