package io.tsmigrate.core;

import java.util.Optional;

/** The name a process of the migration goes by in the state, so that status can tell who does what. */
public final class ProcessNames {

    private ProcessNames() {
    }

    /** {@code <host>-<pid>}: unique among the processes of one migration at any moment. */
    public static String current() {
        String host = Optional.ofNullable(System.getenv("HOSTNAME")).orElse("host");
        return host + "-" + ProcessHandle.current().pid();
    }
}
