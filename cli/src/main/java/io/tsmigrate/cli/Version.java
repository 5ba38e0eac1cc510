package io.tsmigrate.cli;

import picocli.CommandLine.IVersionProvider;

import java.io.IOException;
import java.io.InputStream;
import java.net.URL;
import java.util.Enumeration;
import java.util.jar.Attributes;
import java.util.jar.Manifest;

/**
 * {@code tsmigrate 0.1.0 (commit 1a2b3c4d5e6f, built 2026-12-02T06:10:07Z)}: the version, the commit
 * and the build time from the runnable jar's manifest ("development build" when run from classes).
 */
final class Version implements IVersionProvider {

    @Override
    public String[] getVersion() throws IOException {
        Attributes a = manifest();
        if (a == null || a.getValue("Implementation-Version") == null) {
            return new String[] {"tsmigrate development build"};
        }
        String commit = a.getValue("Git-Commit");
        boolean known = commit != null && !commit.isBlank() && !commit.startsWith("${");
        String dirty = "true".equals(a.getValue("Git-Dirty")) ? " with uncommitted changes" : "";
        return new String[] {"tsmigrate " + a.getValue("Implementation-Version") + " (commit " + (known ? commit + dirty : "unknown")
                + ", built " + a.getValue("Build-Time") + ")"};
    }

    /** The manifest of the jar that holds this class: the one whose Main-Class is tsmigrate's. */
    private static Attributes manifest() throws IOException {
        Enumeration<URL> all = Version.class.getClassLoader().getResources("META-INF/MANIFEST.MF");
        while (all.hasMoreElements()) {
            try (InputStream in = all.nextElement().openStream()) {
                Attributes a = new Manifest(in).getMainAttributes();
                if (Main.class.getName().equals(a.getValue("Main-Class"))) {
                    return a;
                }
            }
        }
        return null;
    }
}
