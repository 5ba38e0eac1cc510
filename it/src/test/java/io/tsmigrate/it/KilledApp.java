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
 * With a fourth argument {@code journaled N} (its target unreachable), it commits N auto-commit
 * INSERTs, each journaled for the target before it returns, says {@code JOURNALED N} and waits.
 */
public final class KilledApp {

    private KilledApp() {
    }

    public static void main(String[] args) throws Exception {
        ConnectionSpec source = ConnectionSpec.parse(args[0], "source");
        ConnectionSpec target = ConnectionSpec.parse(args[1], "target");
        try (DualWriteDataSource ds = DualWriteDataSource.builder().primary(TestDatabases.dataSource(source))
                .secondary(TestDatabases.dataSource(target)).journalDirectory(Path.of(args[2])).writerName("killed-app").build();
             Connection c = ds.getConnection()) {
            if (args.length > 4 && args[3].equals("journaled")) {
                int n = Integer.parseInt(args[4]);
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
                return;
            }
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
}
