package io.tsmigrate.it;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The command line in a process of its own, for tests that kill or interrupt it: what it prints
 * (stdout and stderr together) is collected as it comes. Closing it kills the process if it still
 * runs and waits for the output to end.
 */
final class CliProcess implements AutoCloseable {

    private final Process process;
    private final StringBuffer output = new StringBuffer();
    private final Thread reader;

    private CliProcess(Process process) {
        this.process = process;
        this.reader = new Thread(() -> {
            // When the process exits while a read is blocked, the JDK drains the pipe into a buffer and
            // closes it under the read ("Stream closed"): what was drained is read from the same stream after.
            for (int attempt = 0; attempt < 3; attempt++) {
                try {
                    BufferedReader lines = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
                    String line;
                    while ((line = lines.readLine()) != null) {
                        output.append(line).append('\n');
                    }
                    return;
                } catch (IOException e) {
                    if (attempt == 2) {
                        output.append("(output ended: ").append(e.getMessage()).append(")\n");
                    }
                }
            }
        }, "cli-process-output");
        reader.start();
    }

    /** Starts {@code tsmigrate ARGS} from the built jar. */
    static CliProcess start(List<String> args) throws IOException {
        return start(List.of(), args);
    }

    /** Starts {@code tsmigrate ARGS} from the built jar, with options for its JVM (system properties for test hooks). */
    static CliProcess start(List<String> jvmOptions, List<String> args) throws IOException {
        return start(jvmOptions, java.util.Map.of(), args);
    }

    /** Starts {@code tsmigrate ARGS} from the built jar, with JVM options and environment variables (SOURCE, TARGET, ...). */
    static CliProcess start(List<String> jvmOptions, java.util.Map<String, String> environment, List<String> args) throws IOException {
        List<String> command = new ArrayList<>(List.of("java"));
        command.addAll(jvmOptions);
        command.addAll(List.of("-cp", Fixtures.CLI_JAR.toString(), "io.tsmigrate.cli.Main"));
        command.addAll(args);
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
        builder.environment().putAll(environment);
        return new CliProcess(builder.start());
    }

    /** What it printed so far. */
    String output() {
        return output.toString();
    }

    /** Whether it printed this exact line. */
    boolean printed(String line) {
        return ("\n" + output).contains("\n" + line + "\n");
    }

    boolean isAlive() {
        return process.isAlive();
    }

    /** Ctrl-C: SIGINT, as a terminal sends it. */
    void interrupt() throws IOException, InterruptedException {
        if (new ProcessBuilder("kill", "-INT", Long.toString(process.pid())).start().waitFor() != 0) {
            throw new IllegalStateException("kill -INT " + process.pid() + " failed");
        }
    }

    /** SIGTERM, as a service manager stops a service (not Process.destroy, which also closes the output). */
    void terminate() throws IOException, InterruptedException {
        if (new ProcessBuilder("kill", "-TERM", Long.toString(process.pid())).start().waitFor() != 0) {
            throw new IllegalStateException("kill -TERM " + process.pid() + " failed");
        }
    }

    /** SIGKILL: no shutdown hook runs, transactions are cut wherever they are. */
    void kill() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor(30, TimeUnit.SECONDS);
    }

    /** Waits for the process to exit and for its output to be read to the end. */
    boolean waitFor(long seconds) throws InterruptedException {
        boolean exited = process.waitFor(seconds, TimeUnit.SECONDS);
        if (exited) {
            reader.join(TimeUnit.SECONDS.toMillis(10));
        }
        return exited;
    }

    int exitValue() {
        return process.exitValue();
    }

    @Override
    public void close() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor(30, TimeUnit.SECONDS);
        reader.join(TimeUnit.SECONDS.toMillis(10));
    }
}
