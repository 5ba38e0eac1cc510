package io.tsmigrate.core.pgtools;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * Runs a short external command and collects what it prints. Long-running tools (pg_dump into
 * psql) have their own pipeline; this is for version probes and small commands.
 */
public final class ProcessRunner {

    private static final long TIMEOUT_SECONDS = 60;

    /** What a finished command printed (stdout, and stderr when not merged) and its exit status. */
    public record Result(int exitCode, String output, String errors) {
        Result(int exitCode, String output) {
            this(exitCode, output, "");
        }

        public boolean succeeded() {
            return exitCode == 0;
        }
    }

    private ProcessRunner() {
    }

    /** Runs the command; the output of a command that could not start or failed is empty. */
    public static Optional<String> output(List<String> command) {
        try {
            Result result = run(command, Map.of());
            return result.succeeded() ? Optional.of(result.output()) : Optional.empty();
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /**
     * Runs the command with extra environment variables and waits for it (at most a minute).
     *
     * @throws IOException when it cannot be started or does not finish in time
     */
    public static Result run(List<String> command, Map<String, String> environment) throws IOException {
        return execute(command, environment, true);
    }

    /** As {@link #run}, keeping stdout ({@code output}) and stderr ({@code errors}) apart. */
    public static Result capture(List<String> command, Map<String, String> environment) throws IOException {
        return execute(command, environment, false);
    }

    private static Result execute(List<String> command, Map<String, String> environment, boolean merge) throws IOException {
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(merge);
        builder.environment().putAll(environment);
        builder.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        Process process = builder.start();
        ByteArrayOutputStream output = new ByteArrayOutputStream();
        ByteArrayOutputStream errors = new ByteArrayOutputStream();
        Thread reader = new Thread(() -> copy(process.getInputStream(), output), "tsmigrate-process-output");
        reader.setDaemon(true);
        reader.start();
        Thread errorReader = new Thread(() -> copy(process.getErrorStream(), errors), "tsmigrate-process-errors");
        errorReader.setDaemon(true);
        errorReader.start();
        try {
            if (!process.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                throw new IOException(command.get(0) + " did not finish within " + TIMEOUT_SECONDS + " s");
            }
            reader.join(TimeUnit.SECONDS.toMillis(5));
            errorReader.join(TimeUnit.SECONDS.toMillis(5));
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while waiting for " + command.get(0), e);
        }
        synchronized (output) {
            synchronized (errors) {
                return new Result(process.exitValue(), output.toString(StandardCharsets.UTF_8),
                        errors.toString(StandardCharsets.UTF_8));
            }
        }
    }

    private static void copy(InputStream in, ByteArrayOutputStream out) {
        byte[] buffer = new byte[8192];
        try (in) {
            int n;
            while ((n = in.read(buffer)) >= 0) {
                synchronized (out) {
                    out.write(buffer, 0, n);
                }
            }
        } catch (IOException e) {
            // The process ended; what was read is what there is.
        }
    }
}
