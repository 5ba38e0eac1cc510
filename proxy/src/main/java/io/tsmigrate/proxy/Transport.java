package io.tsmigrate.proxy;

import io.netty.channel.IoHandlerFactory;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.ServerSocketChannel;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;

/**
 * The event loops' I/O: Netty's native epoll transport on Linux (x86_64, aarch64) where its library
 * loads, else Java NIO. Epoll relays a message with fewer system calls and wake-ups than NIO's
 * selector, which on a busy machine is most of what a relay costs. {@code -Dtsmigrate.proxy.transport=nio}
 * chooses NIO anyway. Every channel of a loop must be of the loop's kind.
 */
final class Transport {

    private static final boolean EPOLL = !"nio".equalsIgnoreCase(System.getProperty("tsmigrate.proxy.transport"))
            && Epoll.isAvailable();

    private Transport() {
    }

    static IoHandlerFactory ioHandler() {
        return EPOLL ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
    }

    static Class<? extends SocketChannel> socket() {
        return EPOLL ? EpollSocketChannel.class : NioSocketChannel.class;
    }

    static Class<? extends ServerSocketChannel> serverSocket() {
        return EPOLL ? EpollServerSocketChannel.class : NioServerSocketChannel.class;
    }

    /** For the start-up log line. */
    static String name() {
        return EPOLL ? "epoll" : "nio";
    }
}
