package io.tsmigrate.cli;

import picocli.CommandLine.Option;

/** {@code --json}, the same for every command: the result as one JSON document on stdout, progress (if any) on stderr. */
final class JsonOutput {

    @Option(names = "--json", description = "Print the result as JSON on stdout, for scripts; progress, if any, goes to stderr.")
    boolean json;
}
