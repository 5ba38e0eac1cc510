package io.tsmigrate.cli;

import io.tsmigrate.core.TsmigrateException;

/** Checks of numeric flags, each failure one sentence that names the flag and the value given. */
final class Flags {

    private Flags() {
    }

    static void atLeast(String flag, long value, long min) {
        if (value < min) {
            throw TsmigrateException.usage(flag + " must be at least " + min + ", got " + value + ".");
        }
    }

    static void notNegative(String flag, long value) {
        if (value < 0) {
            throw TsmigrateException.usage(flag + " must not be negative, got " + value + ".");
        }
    }

    /** A factor such as --max-slowdown: 1.5 allows 50% more. */
    static void factor(String flag, double value) {
        if (!(value >= 1.0) || Double.isInfinite(value)) {
            throw TsmigrateException.usage(flag + " " + value + " is not a factor of at least 1 (1.5 allows 50% more).");
        }
    }
}
