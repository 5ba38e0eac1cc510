package io.tsmigrate.cli;

import io.tsmigrate.core.TsmigrateException;

import java.io.PrintWriter;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Ctrl-C for long work: instead of dying mid-transaction, the JVM's shutdown waits (up to a bound)
 * while the work sees {@link #requested()} and stops at its next safe point. Close it when the work
 * is over.
 */
final class Interruption implements AutoCloseable {

    private final AtomicBoolean requested = new AtomicBoolean();
    private final CountDownLatch finished = new CountDownLatch(1);
    private final Thread hook;

    Interruption(String name) {
        hook = new Thread(() -> {
            requested.set(true);
            // Said at once: the stop takes a moment (transactions roll back), and silence invites kill -9.
            System.err.println("tsmigrate: stopping " + name + " (Ctrl-C): work in progress rolls back ...");
            System.err.flush();
            try {
                finished.await(35, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "tsmigrate-" + name + "-stop");
        Runtime.getRuntime().addShutdownHook(hook);
    }

    /**
     * Says why the work stopped and returns the exit code for it, when {@code e} is the interruption;
     * anything else is rethrown.
     */
    static int stopped(TsmigrateException e, PrintWriter err) {
        if (e.kind() != TsmigrateException.Kind.INTERRUPTED) {
            throw e;
        }
        err.println("tsmigrate: " + e.getMessage());
        err.flush();
        return ExitCodes.INTERRUPTED;
    }

    /** Set once the user asked to stop. */
    AtomicBoolean requested() {
        return requested;
    }

    @Override
    public void close() {
        finished.countDown();
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException shuttingDown) {
            // The JVM is already stopping (Ctrl-C): the hook runs and lets us finish.
        }
    }
}
