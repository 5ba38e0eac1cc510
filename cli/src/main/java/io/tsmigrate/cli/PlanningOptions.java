package io.tsmigrate.cli;

import io.tsmigrate.core.Human;
import io.tsmigrate.core.TsmigrateException;
import io.tsmigrate.core.plan.PlanOptions;
import io.tsmigrate.core.plan.TablePattern;
import picocli.CommandLine.Option;

import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** How to choose hypertables: shared by {@code plan} and {@code migrate}. */
final class PlanningOptions {

    @Option(names = "--min-size", paramLabel = "SIZE", defaultValue = "1GB",
            description = "Choose tables at least this large (with indexes and TOAST). Default: ${DEFAULT-VALUE}.")
    String minSize;

    @Option(names = "--include", paramLabel = "PATTERN",
            description = "Choose tables matching this pattern whatever their size (schema.table, * and ? allowed; repeatable).")
    List<String> include = new ArrayList<>();

    @Option(names = "--exclude", paramLabel = "PATTERN",
            description = "Never choose tables matching this pattern (repeatable).")
    List<String> exclude = new ArrayList<>();

    @Option(names = "--target-memory", paramLabel = "SIZE",
            description = "The target's memory, for chunk sizing. Default: 4 x the target's shared_buffers "
                    + "when --target is given, else 8GB.")
    String targetMemory;

    PlanOptions toOptions(Clock clock) {
        Optional<Long> memory = Optional.ofNullable(targetMemory).map(m -> Human.parseBytes(m, "--target-memory"));
        if (memory.isPresent() && memory.get() == 0) {
            throw TsmigrateException.usage("--target-memory must be greater than zero; give the target's memory, such as 16GB.");
        }
        return new PlanOptions(Human.parseBytes(minSize, "--min-size"), include.stream().map(TablePattern::parse).toList(),
                exclude.stream().map(TablePattern::parse).toList(), memory, clock);
    }
}
