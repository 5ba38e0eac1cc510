package io.tsmigrate.dualwrite;

/** Closing what may be broken already (a secondary's connection after its failure): nothing to report. */
final class Quietly {

    private Quietly() {
    }

    static void close(AutoCloseable c) {
        if (c != null) {
            try {
                c.close();
            } catch (Exception ignored) {
                // Broken or gone already: the failure that got here is the one that counts.
            }
        }
    }
}
