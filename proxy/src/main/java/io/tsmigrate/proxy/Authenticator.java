package io.tsmigrate.proxy;

import io.netty.channel.ChannelHandlerContext;

import java.util.function.BiConsumer;

/**
 * How the proxy checks who a client is. The proxy ends client authentication itself (a SCRAM
 * exchange cannot be relayed to two servers) and logs in to each server with the credentials of
 * that server's URI.
 */
interface Authenticator {

    /**
     * Runs the exchange on the client's channel; then either {@code accepted} runs, or
     * {@code refused} with a SQLSTATE and a message for a FATAL error.
     */
    void authenticate(ChannelHandlerContext ctx, String user, Runnable accepted, BiConsumer<String, String> refused);

    /** Every client is who it says it is: for local use only. */
    static Authenticator trust() {
        return (ctx, user, accepted, refused) -> accepted.run();
    }
}
