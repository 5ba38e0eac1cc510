package io.tsmigrate.core.plan;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.tsmigrate.core.Human;
import io.tsmigrate.core.TsmigrateException;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * {@code tsmigrate-plan.yaml}: written with a comment on every decision so that people can edit it,
 * and read back strictly: an unknown key, a wrong type or bad YAML is an error naming the line.
 */
public final class PlanFile {

    public static final String DEFAULT_NAME = "tsmigrate-plan.yaml";

    private static final Set<String> ROOT_KEYS = Set.of("version", "hypertables", "writer_roles", "accept_differences");
    private static final Set<String> ACCEPT_KEYS = Set.of("table", "columns");
    private static final Set<String> ENTRY_KEYS = Set.of("table", "time_column", "chunk_interval", "time_unit",
            "extend_keys", "compression");
    private static final Set<String> COMPRESSION_KEYS = Set.of("enabled", "segment_by", "order_by", "after");

    private PlanFile() {
    }

    /**
     * Writes the plan file atomically (a temporary file beside it, then a rename), so that a crash
     * never leaves half a plan.
     */
    public static void save(Path file, PlanReport report, Instant now) throws java.io.IOException {
        io.tsmigrate.core.AtomicFile.write(file, write(report, now));
    }

    /** The plan as a documented YAML file, with the report's reasons as comments. */
    public static String write(PlanReport report, Instant now) {
        StringBuilder y = new StringBuilder();
        y.append("# tsmigrate plan: the tables that become hypertables on the target, and how.\n");
        y.append("# Written by `tsmigrate plan` from ").append(report.source()).append(" at ").append(now).append(".\n");
        y.append("# Edit it, then check it against the source:  tsmigrate plan --check --plan <this file>\n");
        y.append("# Tables not listed under hypertables stay plain tables: pg_dump copies their rows.\n");
        y.append("# Keys: table, time_column, chunk_interval (e.g. \"1 day\"; a number for integer time),\n");
        y.append("#   time_unit (integer time only: epoch_s, epoch_ms, epoch_us, epoch_ns), extend_keys,\n");
        y.append("#   compression: {enabled, segment_by, order_by, after}. Unknown keys are errors.\n");
        y.append("version: ").append(report.plan().version()).append('\n');
        y.append("# The target roles of your dual-writing applications (for example [app_writer]): migrate gives each\n");
        y.append("#   what `tsmigrate grant-writer ROLE` gives, so that they cannot switch the primary or touch the state.\n");
        y.append("writer_roles: ").append(list(report.plan().writerRoles())).append('\n');
        y.append("# Columns whose values each side computes for itself (a DEFAULT now() or clock_timestamp() that the rows\n");
        y.append("#   dual-writing stores get on each side): verify compares those tables without them and says so. Not a\n");
        y.append("#   column of the primary key. tsmigrate proxy, status and verify name such columns. For example:\n");
        y.append("#   accept_differences:\n");
        y.append("#     - table: \"public.events\"\n");
        y.append("#       columns: [\"received_at\"]\n");
        if (report.plan().acceptedDifferences().isEmpty()) {
            y.append("accept_differences: []\n");
        } else {
            y.append("accept_differences:\n");
            for (Plan.AcceptedDifference a : report.plan().acceptedDifferences()) {
                y.append("  - table: ").append(quote(a.table().toString())).append('\n');
                y.append("    columns: ").append(list(a.columns())).append('\n');
            }
        }
        y.append("hypertables:");
        if (report.plan().hypertables().isEmpty()) {
            y.append(" []\n");
        } else {
            y.append('\n');
        }
        boolean canCompress = report.target().map(TargetProfile::canCompress).orElse(false);
        for (Plan.Hypertable h : report.plan().hypertables()) {
            Candidate c = report.candidates().stream().filter(x -> x.table().equals(h.table())).findFirst().orElseThrow();
            y.append("  # ").append(c.table()).append(": ").append(Human.bytes(c.totalBytes())).append(", ")
                    .append(Human.count(c.estimatedRows())).append(" rows, score ").append(c.score()).append('\n');
            y.append("  - table: ").append(quote(h.table().toString())).append('\n');
            y.append("    # ").append(String.join(", ", c.evidence())).append('\n');
            y.append("    time_column: ").append(quote(h.timeColumn())).append('\n');
            y.append("    # ").append(c.chunkExplanation()).append('\n');
            y.append("    chunk_interval: ").append(quote(h.chunkInterval().toString())).append('\n');
            if (c.timeType().isInteger()) {
                y.append("    # the epoch unit of the integer time values; backfill and completion-point need it\n");
                y.append(h.timeUnit().map(u -> "    time_unit: " + u.label() + "\n")
                        .orElse("    # time_unit: epoch_ms   (unknown: set it if the values count from the epoch)\n"));
            }
            y.append("    # add the time column to primary keys and unique constraints that lack it "
                    + "(create_hypertable refuses them otherwise)\n");
            y.append("    extend_keys: ").append(h.extendKeys()).append('\n');
            y.append("    # compression needs TimescaleDB with the timescale license")
                    .append(report.target().isEmpty() ? " (give --target to check)"
                            : canCompress ? " (the target has it)" : " (the target's apache build has not)")
                    .append("; its policy is paused during the backfill\n");
            y.append("    compression:\n");
            y.append("      enabled: ").append(h.compression().enabled()).append('\n');
            y.append("      segment_by: ").append(list(h.compression().segmentBy())).append('\n');
            y.append("      order_by: ").append(list(h.compression().orderBy())).append('\n');
        }
        List<Candidate> rest = report.candidates().stream().filter(c -> !c.chosen()).toList();
        if (!rest.isEmpty()) {
            y.append("# Candidates not chosen (add an entry above to choose one):\n");
            for (Candidate c : rest) {
                y.append("#   ").append(c.table()).append(" (time column ").append(c.timeColumn()).append(", ")
                        .append(Human.bytes(c.totalBytes())).append(", score ").append(c.score()).append("): ")
                        .append(c.decision()).append('\n');
            }
        }
        return y.toString();
    }

    /**
     * Reads a plan file.
     *
     * @throws TsmigrateException (USAGE) for a file that cannot be read, bad YAML, an unknown key or a
     *                            wrong type, naming the file and line
     */
    public static PlanDraft read(Path file) {
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw TsmigrateException.usage("cannot read the plan file " + file + ": " + reason(e)
                    + "; give the path of a file written by tsmigrate plan.");
        }
        try (JsonParser p = new YAMLFactory().createParser(text)) {
            return new Reader(file, p).root();
        } catch (JsonProcessingException e) {
            int line = e.getLocation() == null ? 0 : e.getLocation().getLineNr();
            String problem = String.valueOf(e.getOriginalMessage()).lines().findFirst().orElse("").strip();
            throw TsmigrateException.usage(file + " line " + line + ": not valid YAML (" + problem
                    + "); fix the file or write a new one with tsmigrate plan.");
        } catch (IOException e) {
            throw TsmigrateException.usage("cannot read the plan file " + file + ": " + reason(e) + ".");
        }
    }

    private static String reason(IOException e) {
        return e instanceof java.nio.file.NoSuchFileException ? "no such file"
                : e instanceof java.nio.file.AccessDeniedException ? "permission denied" : String.valueOf(e.getMessage());
    }

    /** A streaming reader that knows the plan's shape and the line of every key. */
    private static final class Reader {
        private final Path file;
        private final JsonParser p;

        Reader(Path file, JsonParser p) {
            this.file = file;
            this.p = p;
        }

        PlanDraft root() throws IOException {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                throw error(line(), "the file must be a mapping with the keys version and hypertables");
            }
            Optional<Integer> version = Optional.empty();
            List<PlanDraft.Entry> entries = new ArrayList<>();
            List<String> writerRoles = List.of();
            List<PlanDraft.Accepted> accepted = new ArrayList<>();
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String key = key(ROOT_KEYS, "at the top level");
                p.nextToken();
                if (key.equals("version")) {
                    if (p.currentToken() != JsonToken.VALUE_NUMBER_INT) {
                        throw error(line(), "version must be a number");
                    }
                    version = Optional.of(p.getIntValue());
                } else if (key.equals("writer_roles")) {
                    writerRoles = p.currentToken() == JsonToken.VALUE_NULL ? List.of() : strings(key);
                } else if (key.equals("accept_differences")) {
                    if (p.currentToken() == JsonToken.VALUE_NULL) {
                        continue;
                    }
                    if (p.currentToken() != JsonToken.START_ARRAY) {
                        throw error(line(), "accept_differences must be a list of entries that start with \"- table:\"");
                    }
                    while (p.nextToken() != JsonToken.END_ARRAY) {
                        accepted.add(accepted());
                    }
                } else {
                    if (p.currentToken() == JsonToken.VALUE_NULL) {
                        continue;
                    }
                    if (p.currentToken() != JsonToken.START_ARRAY) {
                        throw error(line(), "hypertables must be a list of entries that start with \"- table:\"");
                    }
                    while (p.nextToken() != JsonToken.END_ARRAY) {
                        entries.add(entry());
                    }
                }
            }
            int v = version.orElseThrow(() -> error(1, "the key version is missing; write version: " + Plan.VERSION));
            if (v != Plan.VERSION) {
                throw error(1, "version " + v + " is not a plan version this tsmigrate reads (it reads " + Plan.VERSION + ")");
            }
            return new PlanDraft(file, v, entries, writerRoles, List.copyOf(accepted));
        }

        private PlanDraft.Accepted accepted() throws IOException {
            int start = line();
            if (p.currentToken() != JsonToken.START_OBJECT) {
                throw error(start, "each entry of accept_differences must be a mapping with table and columns");
            }
            Optional<String> table = Optional.empty();
            List<String> columns = List.of();
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String key = key(ACCEPT_KEYS, "in an accept_differences entry");
                p.nextToken();
                if (key.equals("table")) {
                    table = Optional.of(scalar(key));
                } else {
                    columns = strings(key);
                }
            }
            return new PlanDraft.Accepted(start, table, columns);
        }

        private PlanDraft.Entry entry() throws IOException {
            int start = line();
            if (p.currentToken() != JsonToken.START_OBJECT) {
                throw error(start, "each hypertable must be a mapping with table, time_column and chunk_interval");
            }
            Map<String, Integer> lines = new HashMap<>();
            Map<String, String> values = new HashMap<>();
            Map<String, Boolean> flags = new HashMap<>();
            List<String> segmentBy = List.of();
            List<String> orderBy = List.of();
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String key = key(ENTRY_KEYS, "in a hypertable entry");
                lines.put(key, line());
                p.nextToken();
                switch (key) {
                    case "extend_keys" -> flags.put(key, bool(key));
                    case "compression" -> {
                        if (p.currentToken() != JsonToken.START_OBJECT) {
                            throw error(line(), "compression must be a mapping with enabled, segment_by and order_by");
                        }
                        while (p.nextToken() == JsonToken.FIELD_NAME) {
                            String ckey = key(COMPRESSION_KEYS, "under compression");
                            lines.put("compression." + ckey, line());
                            p.nextToken();
                            switch (ckey) {
                                case "enabled" -> flags.put("compression.enabled", bool(ckey));
                                case "segment_by" -> segmentBy = strings(ckey);
                                case "order_by" -> orderBy = strings(ckey);
                                default -> values.put("compression.after", scalar(ckey));
                            }
                        }
                    }
                    default -> values.put(key, scalar(key));
                }
            }
            return new PlanDraft.Entry(start, opt(values, "table"), opt(values, "time_column"),
                    opt(values, "chunk_interval"), opt(values, "time_unit"), Optional.ofNullable(flags.get("extend_keys")),
                    Optional.ofNullable(flags.get("compression.enabled")), segmentBy, orderBy,
                    opt(values, "compression.after"), Map.copyOf(lines));
        }

        private String key(Set<String> known, String where) throws IOException {
            String key = p.currentName();
            if (!known.contains(key)) {
                throw error(line(), "unknown key \"" + key + "\" " + where + " (known: "
                        + known.stream().sorted().collect(Collectors.joining(", ")) + ")");
            }
            return key;
        }

        private String scalar(String key) throws IOException {
            JsonToken t = p.currentToken();
            if (t == null || !t.isScalarValue() || t == JsonToken.VALUE_NULL) {
                throw error(line(), key + " must be a single value");
            }
            return p.getText();
        }

        private boolean bool(String key) throws IOException {
            JsonToken t = p.currentToken();
            if (t != JsonToken.VALUE_TRUE && t != JsonToken.VALUE_FALSE) {
                throw error(line(), key + " must be true or false");
            }
            return t == JsonToken.VALUE_TRUE;
        }

        private List<String> strings(String key) throws IOException {
            if (p.currentToken() == JsonToken.VALUE_STRING) {
                return List.of(p.getText());
            }
            if (p.currentToken() != JsonToken.START_ARRAY) {
                throw error(line(), key + " must be a list such as [" + (key.equals("writer_roles") ? "app_writer"
                        : key.equals("columns") ? "received_at" : "device_id") + "]");
            }
            List<String> out = new ArrayList<>();
            while (p.nextToken() != JsonToken.END_ARRAY) {
                out.add(scalar(key));
            }
            return List.copyOf(out);
        }

        private int line() {
            return p.currentTokenLocation().getLineNr();
        }

        private TsmigrateException error(int line, String problem) {
            return TsmigrateException.usage(file + " line " + line + ": " + problem + ".");
        }

        private static Optional<String> opt(Map<String, String> values, String key) {
            return Optional.ofNullable(values.get(key));
        }
    }

    /** A YAML double-quoted string. */
    static String quote(String s) {
        return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }

    private static String list(List<String> items) {
        return items.stream().map(PlanFile::quote).collect(Collectors.joining(", ", "[", "]"));
    }
}
