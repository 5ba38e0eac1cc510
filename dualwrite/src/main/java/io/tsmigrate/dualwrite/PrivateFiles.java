package io.tsmigrate.dualwrite;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.channels.FileChannel;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Journals and intent logs hold the application's own rows: their files are created readable by
 * the process's user only (0600), in a directory created 0700. A directory that already exists and
 * that others may read is used as it is, with one warning. Where the file system has no POSIX
 * permissions, files are created as it does.
 */
final class PrivateFiles {

    private static final System.Logger LOG = System.getLogger(PrivateFiles.class.getName());
    private static final boolean POSIX = FileSystems.getDefault().supportedFileAttributeViews().contains("posix");
    private static final Set<Path> WARNED = ConcurrentHashMap.newKeySet();

    private PrivateFiles() {
    }

    /** Creates {@code directory} (and its missing parents) 0700, or warns once if it exists and others may read it. */
    static void directory(Path directory) throws IOException {
        if (!Files.isDirectory(directory)) {
            Files.createDirectories(directory.toAbsolutePath().getParent());
            try {
                if (POSIX) {
                    Files.createDirectory(directory, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
                } else {
                    Files.createDirectory(directory);
                }
            } catch (java.nio.file.FileAlreadyExistsException raced) {
                // Another writer made it first.
            }
            return;
        }
        if (POSIX) {
            Set<PosixFilePermission> p = Files.getPosixFilePermissions(directory);
            if ((p.contains(PosixFilePermission.GROUP_READ) || p.contains(PosixFilePermission.OTHERS_READ))
                    && WARNED.add(directory.toAbsolutePath())) {
                LOG.log(Level.WARNING, "tsmigrate dual-write: the journal directory " + directory + " may be read by other users ("
                        + PosixFilePermissions.toString(p) + "), and its files hold your application's rows: chmod 700 it");
            }
        }
    }

    /** Opens {@code file} for writing, creating it 0600 (an existing file is made 0600 too). */
    static FileChannel openForWriting(Path file) throws IOException {
        if (!POSIX) {
            return FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        }
        FileChannel channel = FileChannel.open(file, Set.of(StandardOpenOption.CREATE, StandardOpenOption.WRITE),
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
        return channel;
    }

    /** Forces a directory's entries (a file created or deleted in it) to disk, where the platform can. */
    static void forceDirectory(Path directory) throws IOException {
        if (!POSIX) {
            return;
        }
        try (FileChannel dir = FileChannel.open(directory, StandardOpenOption.READ)) {
            dir.force(true);
        }
    }
}
