package io.tsmigrate.core.state;

import io.tsmigrate.core.connect.ConnectionSpec;
import io.tsmigrate.core.connect.PgConnector;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;

/**
 * The slots of {@code --max-source-connections}, shared by every process of one migration: slot
 * {@code k} is the session advisory lock ({@value #LOCK_CLASS}, k) on the target, held by one
 * connection of the process that uses it. A process that ends, or dies, frees its slots with that
 * connection; no row can be left behind claiming them.
 */
public final class SourceSlots implements AutoCloseable {

    /** The advisory lock class of the slots ("tsms"); the second key is the slot's number, from 1. */
    static final int LOCK_CLASS = 0x74736d73;

    private final Connection holder;
    private final int count;

    private SourceSlots(Connection holder, int count) {
        this.holder = holder;
        this.count = count;
    }

    /**
     * Takes up to {@code wanted} of the {@code cap} slots, waiting (and saying so once) until at least
     * {@code least} are free.
     *
     * @return the slots taken; none when {@code stop} was set while waiting
     */
    public static SourceSlots take(ConnectionSpec targetSpec, int cap, int wanted, int least, AtomicBoolean stop,
                                   Consumer<String> waiting) throws SQLException, InterruptedException {
        Connection holder = PgConnector.open(targetSpec);
        try {
            boolean said = false;
            while (!stop.get()) {
                int taken = tryTake(holder, cap, wanted);
                if (taken >= least) {
                    return new SourceSlots(holder, taken);
                }
                release(holder);
                if (!said) {
                    waiting.accept("waiting for a source connection: the " + cap + " that --max-source-connections allows are in "
                            + "use by other processes of this migration");
                    said = true;
                }
                Thread.sleep(500);
            }
            PgConnector.closeQuietly(holder);
            return new SourceSlots(null, 0);
        } catch (SQLException | InterruptedException | RuntimeException e) {
            PgConnector.closeQuietly(holder);
            throw e;
        }
    }

    private static int tryTake(Connection c, int cap, int wanted) throws SQLException {
        int taken = 0;
        try (PreparedStatement ps = c.prepareStatement("SELECT pg_try_advisory_lock(?, ?)")) {
            for (int slot = 1; slot <= cap && taken < wanted; slot++) {
                ps.setInt(1, LOCK_CLASS);
                ps.setInt(2, slot);
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    if (rs.getBoolean(1)) {
                        taken++;
                    }
                }
            }
        }
        return taken;
    }

    private static void release(Connection c) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT pg_advisory_unlock_all()")) {
            ps.execute();
        }
    }

    /** How many source connections this process may hold at once. */
    public int count() {
        return count;
    }

    @Override
    public void close() {
        PgConnector.closeQuietly(holder);
    }
}
