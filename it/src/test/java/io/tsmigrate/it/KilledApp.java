package io.tsmigrate.it;

import io.tsmigrate.core.connect.ConnectionSpec;
import io.tsmigrate.dualwrite.DualWriteDataSource;
import io.tsmigrate.it.kit.TestDatabases;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;

/**
 * An application for {@link DualWriteIT} to kill. By default it opens a transaction through the
 * dual-write library, writes to both sides, says {@code IN_TRANSACTION} and waits to be killed.
 * With the arguments {@code journaled N} (its secondary unreachable), it commits N auto-commit
 * INSERTs, each journaled for the secondary before it returns, says {@code JOURNALED N} and waits;
 * with {@code journaled N after-cutover} it first waits until it follows the target as primary.
 */
public final class KilledApp {

    private KilledApp() {
    }

    public static void main(String[] args) throws Exception {
        ConnectionSpec source = ConnectionSpec.parse(args[0], "source");
        ConnectionSpec target = ConnectionSpec.parse(args[1], "target");
        boolean journaled = args.length > 4 && args[3].equals("journaled");
        try (DualWriteDataSource ds = DualWriteDataSource.builder().primary(TestDatabases.dataSource(source))
                .secondary(TestDatabases.dataSource(target)).journalDirectory(Path.of(args[2])).writerName("killed-app").build()) {
            if (journaled && args.length > 5 && args[5].equals("after-cutover")) {
                // The target is the primary by the migration's state: writes go there first, the source is the backup.
                long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(60);
                while (!ds.targetIsPrimary() && System.nanoTime() < deadline) {
                    ds.checkSecondaryNow();
                }
                if (!ds.targetIsPrimary()) {
                    throw new IllegalStateException("the library did not follow the target as primary");
                }
            }
            try (Connection c = ds.getConnection()) {
                if (journaled) {
                    writeJournaled(ds, c, Integer.parseInt(args[4]));
                } else {
                    openTransaction(c);
                }
            }
        }
    }

    private static void writeJournaled(DualWriteDataSource ds, Connection c, int n) throws Exception {
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO accounts (id, owner, balance) VALUES (?, ?, ?)")) {
            for (int i = 0; i < n; i++) {
                ps.setLong(1, 800_000 + i);
                ps.setString(2, "journaled");
                ps.setBigDecimal(3, java.math.BigDecimal.valueOf(i));
                ps.executeUpdate();
            }
        }
        System.out.println("JOURNALED " + n + " " + ds.stats().journaled());
        System.out.flush();
        Thread.sleep(60_000);
    }

    private static void openTransaction(Connection c) throws Exception {
        c.setAutoCommit(false);
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO accounts (id, owner, balance) VALUES (?, ?, ?)")) {
            for (int i = 0; i < 100; i++) {
                ps.setLong(1, 900_000 + i);
                ps.setString(2, "half transaction");
                ps.setBigDecimal(3, java.math.BigDecimal.ONE);
                ps.executeUpdate();
            }
        }
        System.out.println("IN_TRANSACTION");
        System.out.flush();
        Thread.sleep(60_000);
    }
}
