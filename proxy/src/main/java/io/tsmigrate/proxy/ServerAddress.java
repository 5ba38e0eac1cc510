package io.tsmigrate.proxy;

import io.tsmigrate.core.connect.ConnectionSpec;

import java.util.Optional;

/** Where one side listens and how the proxy logs in there (from the side's connection URI). */
record ServerAddress(String label, String host, int port, String user, String database, Optional<String> password) {

    static ServerAddress of(ConnectionSpec spec) {
        ConnectionSpec.Endpoint e = spec.endpoints().get(0);
        if (e.isUnixSocket()) {
            throw new IllegalArgumentException("the proxy connects to the " + spec.label() + " over TCP; give it a host name or "
                    + "address, not the Unix socket " + e.socketPath());
        }
        return new ServerAddress(spec.label(), e.host(), e.port(), spec.user(), spec.database(), spec.password());
    }

    @Override
    public String toString() {
        return label + " (" + host + ":" + port + "/" + database + ")";
    }
}
