package io.tsmigrate.core.verify;

import io.tsmigrate.core.catalog.TableRef;

import java.util.ArrayList;
import java.util.List;

/**
 * Collects differing rows: every one is counted, at most {@code limit} are kept for the listing.
 * Thread-safe.
 */
final class Differences {

    private final int limit;
    private final List<VerifyResult.Difference> listed = new ArrayList<>();
    private long missing;
    private long extra;
    private long changed;

    Differences(int limit) {
        this.limit = limit;
    }

    synchronized void add(VerifyResult.Difference d) {
        switch (d.kind()) {
            case "missing" -> missing++;
            case "extra" -> extra++;
            default -> changed++;
        }
        if (listed.size() < limit) {
            listed.add(d);
        }
    }

    synchronized long missing() {
        return missing;
    }

    synchronized long extra() {
        return extra;
    }

    synchronized long changed() {
        return changed;
    }

    synchronized long total() {
        return missing + extra + changed;
    }

    synchronized List<VerifyResult.Difference> listed() {
        return List.copyOf(listed);
    }

    static VerifyResult.Difference missing(TableRef table, String key) {
        return new VerifyResult.Difference(table, "missing", key, List.of(), List.of(), List.of());
    }

    static VerifyResult.Difference extra(TableRef table, String key) {
        return new VerifyResult.Difference(table, "extra", key, List.of(), List.of(), List.of());
    }
}
