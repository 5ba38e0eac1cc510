package io.tsmigrate.core.connect;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketAddress;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import javax.net.SocketFactory;

/**
 * Lets pgjdbc, which only knows TCP, reach a server through its Unix socket file, with the JDK's
 * own Unix domain channels (no native library). pgjdbc creates it by reflection with the socket
 * file's path ({@code socketFactoryArg}); {@link ConnectionSpec#jdbc()} sets both properties.
 *
 * <p>The socket honours {@link Socket#setSoTimeout(int)} on reads, because pgjdbc relies on it
 * for its socket timeout and to peek for pending messages.
 */
public final class UnixDomainSocketFactory extends SocketFactory {

    private final Path socketFile;

    public UnixDomainSocketFactory(String socketFile) {
        this.socketFile = Path.of(socketFile);
    }

    @Override
    public Socket createSocket() {
        return new UnixSocket(socketFile);
    }

    @Override
    public Socket createSocket(String host, int port) throws IOException {
        return connected();
    }

    @Override
    public Socket createSocket(String host, int port, InetAddress localHost, int localPort) throws IOException {
        return connected();
    }

    @Override
    public Socket createSocket(InetAddress host, int port) throws IOException {
        return connected();
    }

    @Override
    public Socket createSocket(InetAddress address, int port, InetAddress localAddress, int localPort) throws IOException {
        return connected();
    }

    private Socket connected() throws IOException {
        UnixSocket socket = new UnixSocket(socketFile);
        socket.connect(null, 0);
        return socket;
    }

    /** The slice of {@link Socket} that pgjdbc uses, over a non-blocking Unix channel. */
    private static final class UnixSocket extends Socket {
        private final Path file;
        private SocketChannel channel;
        private Selector readSelector;
        private Selector writeSelector;
        private volatile int soTimeoutMillis;
        private volatile boolean closed;

        UnixSocket(Path file) {
            this.file = file;
        }

        @Override
        public void connect(SocketAddress ignored, int timeout) throws IOException {
            // The TCP address pgjdbc passes is a placeholder; the socket file is the address.
            channel = SocketChannel.open(StandardProtocolFamily.UNIX);
            try {
                channel.connect(UnixDomainSocketAddress.of(file));
                channel.configureBlocking(false);
                readSelector = Selector.open();
                writeSelector = Selector.open();
                channel.register(readSelector, SelectionKey.OP_READ);
                channel.register(writeSelector, SelectionKey.OP_WRITE);
            } catch (IOException e) {
                close();
                throw new SocketException("cannot connect to the server's socket " + file + ": " + e.getMessage());
            }
        }

        @Override
        public void connect(SocketAddress endpoint) throws IOException {
            connect(endpoint, 0);
        }

        @Override
        public boolean isConnected() {
            return channel != null && channel.isConnected();
        }

        @Override
        public boolean isClosed() {
            return closed;
        }

        @Override
        public InputStream getInputStream() throws IOException {
            requireOpen();
            return new InputStream() {
                @Override
                public int read() throws IOException {
                    byte[] one = new byte[1];
                    int n = read(one, 0, 1);
                    return n < 0 ? -1 : one[0] & 0xff;
                }

                @Override
                public int read(byte[] b, int off, int len) throws IOException {
                    if (len == 0) {
                        return 0;
                    }
                    ByteBuffer buffer = ByteBuffer.wrap(b, off, len);
                    while (true) {
                        requireOpen();
                        int n = channel.read(buffer);
                        if (n != 0) {
                            return n;
                        }
                        int timeout = soTimeoutMillis;
                        if (readSelector.select(timeout) == 0 && timeout > 0) {
                            throw new SocketTimeoutException("read timed out after " + timeout + " ms");
                        }
                        readSelector.selectedKeys().clear();
                    }
                }

                @Override
                public int available() throws IOException {
                    return 0;
                }

                @Override
                public void close() throws IOException {
                    UnixSocket.this.close();
                }
            };
        }

        @Override
        public OutputStream getOutputStream() throws IOException {
            requireOpen();
            return new OutputStream() {
                @Override
                public void write(int b) throws IOException {
                    write(new byte[] {(byte) b}, 0, 1);
                }

                @Override
                public void write(byte[] b, int off, int len) throws IOException {
                    ByteBuffer buffer = ByteBuffer.wrap(b, off, len);
                    while (buffer.hasRemaining()) {
                        requireOpen();
                        if (channel.write(buffer) == 0) {
                            writeSelector.select();
                            writeSelector.selectedKeys().clear();
                        }
                    }
                }

                @Override
                public void close() throws IOException {
                    UnixSocket.this.close();
                }
            };
        }

        private void requireOpen() throws SocketException {
            if (closed || channel == null) {
                throw new SocketException("socket is closed");
            }
        }

        @Override
        public synchronized void close() throws IOException {
            if (closed) {
                return;
            }
            closed = true;
            try {
                if (readSelector != null) {
                    readSelector.close();
                }
                if (writeSelector != null) {
                    writeSelector.close();
                }
            } finally {
                if (channel != null) {
                    channel.close();
                }
            }
        }

        @Override
        public void setSoTimeout(int timeout) {
            soTimeoutMillis = timeout;
        }

        @Override
        public int getSoTimeout() {
            return soTimeoutMillis;
        }

        // TCP options mean nothing on a Unix socket; pgjdbc sets them anyway.
        @Override
        public void setTcpNoDelay(boolean on) {
        }

        @Override
        public boolean getTcpNoDelay() {
            return true;
        }

        @Override
        public void setKeepAlive(boolean on) {
        }

        @Override
        public boolean getKeepAlive() {
            return false;
        }

        @Override
        public int getSendBufferSize() {
            return 65536;
        }

        @Override
        public void setSendBufferSize(int size) {
        }

        @Override
        public int getReceiveBufferSize() {
            return 65536;
        }

        @Override
        public void setReceiveBufferSize(int size) {
        }
    }
}
