package io.tsmigrate.it.kit;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/** The Node.js packages the tests run (pinned in a package-lock.json beside their package.json). */
public final class NpmPackages {

    private NpmPackages() {
    }

    /**
     * Runs {@code npm ci} in {@code dir} unless {@code pkg} is already there at {@code version}.
     *
     * @throws IllegalStateException with npm's output when it fails
     */
    public static synchronized void ensure(Path dir, String pkg, String version) {
        Path manifest = dir.resolve("node_modules").resolve(pkg).resolve("package.json");
        try {
            if (Files.exists(manifest) && Files.readString(manifest).contains("\"version\": \"" + version + "\"")) {
                return;
            }
        } catch (IOException e) {
            // read as absent: npm ci puts it back
        }
        try {
            Process npm = new ProcessBuilder("npm", "ci", "--no-audit", "--no-fund").directory(dir.toFile())
                    .redirectErrorStream(true).start();
            String output = new String(npm.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!npm.waitFor(300, TimeUnit.SECONDS) || npm.exitValue() != 0) {
                throw new IllegalStateException("npm ci in " + dir + " failed: " + output.strip());
            }
        } catch (IOException e) {
            throw new IllegalStateException("cannot run npm ci in " + dir + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while running npm ci in " + dir, e);
        }
    }
}
