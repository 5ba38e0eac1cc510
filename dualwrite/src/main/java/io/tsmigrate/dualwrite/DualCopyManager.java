package io.tsmigrate.dualwrite;

import org.postgresql.copy.CopyIn;
import org.postgresql.copy.CopyManager;
import org.postgresql.core.BaseConnection;
import org.postgresql.util.ByteStreamWriter;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.Reader;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.sql.SQLException;
import java.sql.SQLFeatureNotSupportedException;
import java.util.List;

/**
 * pgjdbc's {@link CopyManager} for a dual-write connection: {@code copyIn} with a stream or a
 * reader runs on the primary, then on the secondary with the same data (held in memory for the
 * transaction, as the journal may need it). COPY out is a read and runs on the primary only. The
 * low-level {@code copyIn(String)} cannot be repeated and is refused rather than half mirrored.
 */
final class DualCopyManager extends CopyManager {

    private final DualConnection connection;
    // The primary's own manager does the work: CopyManager's methods call each other, and going
    // through this class's overrides would mirror (or refuse) twice.
    private final CopyManager primaryCopy;

    DualCopyManager(BaseConnection primary, DualConnection connection) throws SQLException {
        super(primary);
        this.connection = connection;
        this.primaryCopy = new CopyManager(primary);
    }

    @Override
    public long copyIn(String sql, InputStream from) throws SQLException, IOException {
        return copy(sql, Params.readAll(from));
    }

    @Override
    public long copyIn(String sql, InputStream from, int bufferSize) throws SQLException, IOException {
        return copy(sql, Params.readAll(from));
    }

    @Override
    public long copyIn(String sql, Reader from) throws SQLException, IOException {
        StringWriter text = new StringWriter();
        from.transferTo(text);
        return copy(sql, text.toString().getBytes(StandardCharsets.UTF_8));
    }

    @Override
    public long copyIn(String sql, Reader from, int bufferSize) throws SQLException, IOException {
        return copyIn(sql, from);
    }

    @Override
    public CopyIn copyIn(String sql) throws SQLException {
        throw new SQLFeatureNotSupportedException("tsmigrate dual-write mirrors COPY given as a stream or reader "
                + "(copyIn(sql, InputStream)); the low-level copyIn(sql) cannot be repeated on the secondary");
    }

    @Override
    public long copyIn(String sql, ByteStreamWriter from) throws SQLException {
        throw new SQLFeatureNotSupportedException("tsmigrate dual-write mirrors COPY given as a stream or reader "
                + "(copyIn(sql, InputStream)); copyIn(sql, ByteStreamWriter) cannot be repeated on the secondary");
    }

    private long copy(String sql, byte[] data) throws SQLException, IOException {
        try {
            return (Long) connection.write(() -> primaryCopy.copyIn(sql, new ByteArrayInputStream(data)),
                    List.of(new Write(sql, List.of(), data)), null);
        } catch (SQLException | IOException | RuntimeException e) {
            throw e;
        } catch (Throwable t) {
            throw new SQLException(t.getMessage(), t);
        }
    }
}
