package io.tsmigrate.core;

/** Compares version strings such as TimescaleDB's {@code 2.19.3} or {@code 2.23.0-dev}. */
public final class Versions {

    private Versions() {
    }

    /** Whether {@code version} is at least {@code major.minor}. */
    public static boolean atLeast(String version, int major, int minor) {
        String[] parts = version.strip().split("[.-]");
        int ma = Integer.parseInt(parts[0].replaceAll("\\D.*", ""));
        int mi = parts.length > 1 ? Integer.parseInt("0" + parts[1].replaceAll("\\D.*", "")) : 0;
        return ma > major || (ma == major && mi >= minor);
    }
}
