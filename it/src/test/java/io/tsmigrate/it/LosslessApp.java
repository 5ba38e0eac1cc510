package io.tsmigrate.it;

import io.tsmigrate.core.connect.ConnectionSpec;
import io.tsmigrate.dualwrite.DualWriteDataSource;
import io.tsmigrate.dualwrite.DualWriteStats;
import io.tsmigrate.it.kit.TestDatabases;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.concurrent.atomic.AtomicLong;

/**
 * An application for {@link LosslessDualWriteIT} to kill: writers on four threads through the
 * dual-write library in lossless mode, each transaction an event row and an increment of a counter
 * (an increment applied twice shows as a counter sum above the row count). Every third transaction
 * is two auto-commit statements instead. Arguments: source, target, journal directory, first id,
 * the primary it waits for ({@code source} or {@code target}), and {@code write} or {@code drain}
 * (wait until nothing is owed to the secondary, close cleanly, exit 0), and optionally the number of
 * writer threads (default 4).
 *
 * <p>Prints {@code RECOVERED <owed> <discarded>} (what the start resolved of the killed run) and
 * {@code READY} once writing.
 */
public final class LosslessApp {

    private LosslessApp() {
    }

    public static void main(String[] args) throws Exception {
        ConnectionSpec source = ConnectionSpec.parse(args[0], "source");
        ConnectionSpec target = ConnectionSpec.parse(args[1], "target");
        AtomicLong next = new AtomicLong(Long.parseLong(args[3]));
        boolean wantTarget = args[4].equals("target");
        DualWriteDataSource ds = DualWriteDataSource.builder().primary(TestDatabases.dataSource(source))
                .secondary(TestDatabases.dataSource(target)).journalDirectory(Path.of(args[2])).writerName("lossless-app")
                .healthCheckInterval(java.time.Duration.ofMillis(200)).lossless(true).build();
        DualWriteStats stats = ds.stats();
        System.out.println("RECOVERED " + stats.recovered() + " " + stats.discarded());
        while (ds.targetIsPrimary() != wantTarget || ds.stats().diverted()) {
            ds.checkSecondaryNow();
            Thread.sleep(50);
        }
        if (args[5].equals("drain")) {
            ds.close();
            System.out.println("DRAINED");
            return;
        }
        int threads = args.length > 6 ? Integer.parseInt(args[6]) : 4;
        for (int t = 0; t < threads; t++) {
            Thread writer = new Thread(() -> write(ds, next), "writer-" + t);
            writer.start();
        }
        System.out.println("READY");
        System.out.flush();
        Thread.sleep(Long.MAX_VALUE);
    }

    private static void write(DualWriteDataSource ds, AtomicLong next) {
        while (true) {
            long id = next.getAndIncrement();
            try (Connection c = ds.getConnection()) {
                boolean explicit = id % 3 != 0;
                c.setAutoCommit(!explicit);
                try (PreparedStatement insert = c.prepareStatement("INSERT INTO lossless_event (id, note) VALUES (?, ?)");
                     PreparedStatement bump = c.prepareStatement("UPDATE lossless_counter SET v = v + 1 WHERE k = ?")) {
                    insert.setLong(1, id);
                    insert.setString(2, explicit ? "in a transaction" : "auto-commit");
                    insert.executeUpdate();
                    bump.setLong(1, id % 4);
                    bump.executeUpdate();
                }
                if (explicit) {
                    c.commit();
                }
            } catch (SQLException e) {
                System.out.println("ERROR " + e.getMessage());
                System.out.flush();
            }
        }
    }
}
