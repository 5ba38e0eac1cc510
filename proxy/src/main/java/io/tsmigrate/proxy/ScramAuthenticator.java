package io.tsmigrate.proxy;

import com.ongres.scram.common.ScramFunctions;
import com.ongres.scram.common.ScramMechanism;
import com.ongres.scram.common.StringPreparation;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * SCRAM-SHA-256 as PostgreSQL does it, against a users file in PgBouncer's {@code auth_file}
 * format: one {@code "user" "secret"} per line, the secret either a plain password or a SCRAM
 * verifier ({@code SCRAM-SHA-256$iterations:salt$StoredKey:ServerKey}, as in
 * {@code pg_authid.rolpassword}). An unknown user goes through the same exchange with made-up
 * keys and fails the same way, so that user names cannot be probed.
 */
final class ScramAuthenticator implements Authenticator {

    private static final ScramMechanism SHA256 = ScramMechanism.SCRAM_SHA_256;
    private static final String MECHANISM = "SCRAM-SHA-256";
    private static final int ITERATIONS = 4096;

    /** What the proxy keeps of a password: what PostgreSQL keeps. */
    record Verifier(byte[] salt, int iterations, byte[] storedKey, byte[] serverKey) {

        static Verifier parse(String secret) {
            if (secret.startsWith(MECHANISM + "$")) {
                String[] parts = secret.substring(MECHANISM.length() + 1).split("[$:]");
                if (parts.length != 4) {
                    throw new IllegalArgumentException("a SCRAM secret must read SCRAM-SHA-256$iterations:salt$StoredKey:ServerKey");
                }
                Base64.Decoder b64 = Base64.getDecoder();
                return new Verifier(b64.decode(parts[1]), Integer.parseInt(parts[0]), b64.decode(parts[2]), b64.decode(parts[3]));
            }
            return ofPassword(secret, ScramFunctions.salt(16, RANDOM));
        }

        static Verifier ofPassword(String password, byte[] salt) {
            byte[] salted = ScramFunctions.saltedPassword(SHA256, StringPreparation.POSTGRESQL_PREPARATION, password.toCharArray(),
                    salt, ITERATIONS);
            return new Verifier(salt, ITERATIONS, ScramFunctions.storedKey(SHA256, ScramFunctions.clientKey(SHA256, salted)),
                    ScramFunctions.serverKey(SHA256, salted));
        }
    }

    private static final SecureRandom RANDOM = new SecureRandom();

    private final Map<String, Verifier> users;

    private ScramAuthenticator(Map<String, Verifier> users) {
        this.users = users;
    }

    /**
     * @throws IllegalArgumentException naming the line that cannot be read
     */
    static ScramAuthenticator fromFile(Path file) throws IOException {
        Map<String, Verifier> users = new HashMap<>();
        List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i).strip();
            if (!line.startsWith("\"")) {
                continue; // PgBouncer skips such lines too (comments, blanks)
            }
            List<String> fields = quoted(line);
            if (fields.size() < 2) {
                throw new IllegalArgumentException(file + " line " + (i + 1) + " is not \"user\" \"password\"");
            }
            try {
                users.put(fields.get(0), Verifier.parse(fields.get(1)));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(file + " line " + (i + 1) + ": " + e.getMessage(), e);
            }
        }
        if (users.isEmpty()) {
            throw new IllegalArgumentException(file + " names no user; write one \"user\" \"password\" per line");
        }
        return new ScramAuthenticator(users);
    }

    private static List<String> quoted(String line) {
        List<String> out = new java.util.ArrayList<>();
        int i = 0;
        while (i < line.length()) {
            if (line.charAt(i) != '"') {
                i++;
                continue;
            }
            StringBuilder field = new StringBuilder();
            i++;
            while (i < line.length()) {
                char c = line.charAt(i);
                if (c == '"' && i + 1 < line.length() && line.charAt(i + 1) == '"') {
                    field.append('"');
                    i += 2;
                } else if (c == '"') {
                    i++;
                    break;
                } else {
                    field.append(c);
                    i++;
                }
            }
            out.add(field.toString());
        }
        return out;
    }

    @Override
    public Exchange begin(String user) {
        Verifier known = users.get(user);
        Verifier v = known != null ? known : Verifier.ofPassword(ScramFunctions.nonce(24, RANDOM), ScramFunctions.salt(16, RANDOM));
        return new Exchange() {
            private int stage;
            private String clientFirstBare;
            private String serverFirst;
            private String nonce;

            @Override
            public Step step(ChannelHandlerContext ctx, ByteBuf response) {
                try {
                    switch (stage++) {
                        case 0 -> {
                            ByteBuf mechanisms = ctx.alloc().buffer();
                            Wire.cstring(mechanisms, MECHANISM);
                            mechanisms.writeByte(0);
                            byte[] m = new byte[mechanisms.readableBytes()];
                            mechanisms.readBytes(m).release();
                            ctx.writeAndFlush(Wire.auth(ctx.alloc(), 10, m));
                            return Step.CONTINUE;
                        }
                        case 1 -> {
                            String mechanism = Wire.cstring(response);
                            if (!mechanism.equals(MECHANISM)) {
                                return Step.REFUSED;
                            }
                            int length = response.readInt();
                            String clientFirst = response.readCharSequence(length, StandardCharsets.UTF_8).toString();
                            // gs2-header "n,," or "y,," (PostgreSQL clients send an empty user name; the
                            // startup packet's counts); "p=..." asks for channel binding, which needs TLS.
                            if (clientFirst.startsWith("p=")) {
                                return Step.REFUSED;
                            }
                            clientFirstBare = clientFirst.substring(clientFirst.indexOf(',', clientFirst.indexOf(',') + 1) + 1);
                            String clientNonce = java.util.Arrays.stream(clientFirstBare.split(",")).filter(a -> a.startsWith("r="))
                                    .findFirst().map(a -> a.substring(2)).orElseThrow(() -> new IllegalArgumentException("no nonce"));
                            nonce = clientNonce + ScramFunctions.nonce(24, RANDOM);
                            serverFirst = "r=" + nonce + ",s=" + Base64.getEncoder().encodeToString(v.salt()) + ",i=" + v.iterations();
                            ctx.writeAndFlush(Wire.auth(ctx.alloc(), 11, serverFirst.getBytes(StandardCharsets.UTF_8)));
                            return Step.CONTINUE;
                        }
                        case 2 -> {
                            String clientFinal = response.toString(StandardCharsets.UTF_8);
                            int p = clientFinal.lastIndexOf(",p=");
                            if (p < 0 || !clientFinal.contains("r=" + nonce)) {
                                return Step.REFUSED;
                            }
                            String withoutProof = clientFinal.substring(0, p);
                            byte[] proof = Base64.getDecoder().decode(clientFinal.substring(p + 3));
                            String authMessage = clientFirstBare + "," + serverFirst + "," + withoutProof;
                            if (known == null || !ScramFunctions.verifyClientProof(SHA256, proof, v.storedKey(), authMessage)) {
                                return Step.REFUSED;
                            }
                            String serverFinal = "v=" + Base64.getEncoder().encodeToString(
                                    ScramFunctions.serverSignature(SHA256, v.serverKey(), authMessage));
                            ctx.write(Wire.auth(ctx.alloc(), 12, serverFinal.getBytes(StandardCharsets.UTF_8)));
                            return Step.ACCEPTED;
                        }
                        default -> {
                            return Step.REFUSED;
                        }
                    }
                } catch (IllegalArgumentException | IndexOutOfBoundsException e) {
                    return Step.REFUSED;
                }
            }
        };
    }
}
