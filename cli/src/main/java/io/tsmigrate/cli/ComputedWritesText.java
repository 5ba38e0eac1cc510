package io.tsmigrate.cli;

import io.tsmigrate.core.state.ComputedWriteRecords.ComputedWrite;

import java.io.PrintWriter;
import java.util.List;

/** How status and compare-load show the writes whose values each side computes for itself. */
final class ComputedWritesText {

    private ComputedWritesText() {
    }

    static void print(PrintWriter out, List<ComputedWrite> writes) {
        if (writes.isEmpty()) {
            return;
        }
        out.println("Writes whose values each side computes for itself (their rows differ between the sides by design: send "
                + "the value from the application, or name the column under accept_differences in the plan):");
        for (ComputedWrite w : writes) {
            out.printf("  %-22s %s: %s%n      %s%n", w.table().orElse("(table not known)"), w.writer(), w.reason(),
                    abbreviate(w.shape()));
        }
    }

    private static String abbreviate(String shape) {
        return shape.length() > 140 ? shape.substring(0, 137) + "..." : shape;
    }
}
