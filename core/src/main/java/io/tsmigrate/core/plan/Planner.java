package io.tsmigrate.core.plan;

import io.tsmigrate.core.time.TimeType;
import io.tsmigrate.core.Human;
import io.tsmigrate.core.TsmigrateException;
import io.tsmigrate.core.catalog.Catalog;
import io.tsmigrate.core.catalog.Catalog.Table;
import io.tsmigrate.core.catalog.CatalogReader;
import io.tsmigrate.core.catalog.TableRef;
import io.tsmigrate.core.connect.ConnectionSpec;
import io.tsmigrate.core.connect.PgConnector;
import io.tsmigrate.core.connect.PgErrors;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * Runbook steps 3b and 2: reads the source catalog, finds every table with a time column, scores
 * it, chooses the hypertables, sizes their chunks, suggests compression, and reports every hazard
 * with its remedy. The result's {@link Plan} is what the later steps follow.
 */
public final class Planner {

    /** A candidate related to a chosen table by a foreign key is a likely addition from this score on. */
    static final int LIKELY_AT = 30;

    private Planner() {
    }

    /**
     * Plans the migration from {@code source}; opens and closes its own connections.
     *
     * @param target the target, when known (see {@link #plan(Connection, Optional, String, PlanOptions)})
     */
    public static PlanReport plan(ConnectionSpec source, Optional<ConnectionSpec> target, PlanOptions options) {
        try (Connection s = PgConnector.open(source)) {
            Connection t = target.map(PgConnector::open).orElse(null);
            try {
                return plan(s, Optional.ofNullable(t), source.describe(), options);
            } catch (SQLException e) {
                throw PgErrors.failure("read the catalog", source, e);
            } finally {
                PgConnector.closeQuietly(t);
            }
        } catch (SQLException e) {
            throw PgErrors.failure("read the catalog", source, e);
        }
    }

    /**
     * Checks an edited plan file against the source's catalog.
     *
     * @throws TsmigrateException (USAGE) naming the file and line of the first problem
     */
    public static Plan check(java.nio.file.Path file, ConnectionSpec source) {
        PlanDraft draft = PlanFile.read(file);
        try (Connection s = PgConnector.open(source)) {
            Catalog catalog = CatalogReader.read(s);
            Plan plan = PlanChecker.resolve(draft, catalog);
            refuseNullTimes(draft, catalog, new RowCounter(Optional.of(s)));
            return plan;
        } catch (SQLException e) {
            throw PgErrors.failure("read the catalog", source, e);
        }
    }

    /** Rows with a NULL time fit in no hypertable: a plan that names such a table would lose them. */
    private static void refuseNullTimes(PlanDraft draft, Catalog catalog, RowCounter counter) {
        for (PlanDraft.Entry e : draft.hypertables()) {
            Table table = catalog.table(TableRef.parse(e.table().orElseThrow())).orElseThrow();
            Catalog.Column column = table.column(e.timeColumn().orElseThrow()).orElseThrow();
            RowCounter.Count nulls = column.notNull() ? new RowCounter.Count(0, true) : counter.nullTimes(table, column);
            if (nulls.rows() > 0) {
                throw PlanChecker.fail(draft, e.lineOf("time_column"), table.ref() + " has " + nulls.describe() + " whose "
                        + TableRef.readable(column.name()) + " is NULL, and a hypertable cannot hold them: give them a time (or "
                        + "delete them) on the source, or remove the table from the plan to keep it plain");
            }
        }
    }

    /**
     * Plans the migration of the database {@code source} is connected to.
     *
     * @param target the target, when known: TimescaleDB version and license, extensions, memory
     * @throws TsmigrateException (USAGE) when an include or exclude pattern matches no table
     */
    public static PlanReport plan(Connection source, Optional<Connection> target, String sourceName,
                                  PlanOptions options) throws SQLException {
        Catalog catalog = CatalogReader.read(source);
        Optional<TargetProfile> profile = target.isPresent() ? Optional.of(TargetProfile.read(target.get())) : Optional.empty();
        checkPatternsMatch(catalog, options);
        Instant now = options.clock().instant();
        ChunkSizing.Memory memory = memory(options, profile);
        HazardFinder hazards = new HazardFinder(catalog, profile, new RowCounter(Optional.of(source)), now);

        List<Candidate> candidates = new ArrayList<>();
        List<Hazard> found = new ArrayList<>();
        List<Plan.Hypertable> hypertables = new ArrayList<>();
        List<TablePattern> includesWithTime = new ArrayList<>();
        for (Table table : catalog.tables().values()) {
            if (table.isPartition()) {
                continue; // its parent is the candidate
            }
            Optional<TimeColumns.Choice> time = TimeColumns.choose(catalog, table);
            if (time.isEmpty()) {
                continue;
            }
            options.include().stream().filter(p -> p.matches(table.ref())).forEach(includesWithTime::add);
            Scoring.Score score = Scoring.score(table, time.get(), now);
            boolean excluded = options.exclude().stream().anyMatch(p -> p.matches(table.ref()));
            boolean included = options.include().stream().anyMatch(p -> p.matches(table.ref()));
            boolean wanted = !excluded && (included
                    || (table.totalBytes() >= options.minSizeBytes() && score.value() >= Scoring.CHOOSE_AT));
            List<Hazard> tableHazards = wanted ? hazards.forHypertable(table, time.get()) : List.of();
            found.addAll(tableHazards);
            List<Hazard> blockers = tableHazards.stream().filter(h -> h.severity() == Hazard.Severity.BLOCKER).toList();
            boolean chosen = wanted && blockers.isEmpty();
            String decision = excluded ? "excluded by --exclude"
                    : !blockers.isEmpty() ? "not chosen: blocked by " + blockers.get(0).code() + " (see hazards)"
                    : included ? "chosen: matches --include"
                    : chosen ? "chosen: " + Human.bytes(table.totalBytes()) + " and score " + score.value()
                    : table.totalBytes() < options.minSizeBytes()
                    ? "not chosen: " + Human.bytes(table.totalBytes()) + " is below --min-size " + Human.bytes(options.minSizeBytes())
                    : "not chosen: score " + score.value() + " is below " + Scoring.CHOOSE_AT;
            ChunkSizing.Recommendation chunk = ChunkSizing.recommend(table, time.get(), memory);
            List<String> segmentBy = Scoring.segmentBy(table, time.get());
            List<String> orderBy = List.of(TableRef.readable(time.get().column().name()) + " DESC");
            candidates.add(new Candidate(table.ref(), table.totalBytes(), Math.round(Math.max(table.estimatedRows(), 0)),
                    time.get().column().name(), time.get().type(), time.get().evidence(), score.value(), score.reasons(),
                    chosen, decision, chunk.interval(), chunk.explanation(), segmentBy, orderBy));
            if (chosen) {
                boolean compress = profile.map(TargetProfile::canCompress).orElse(false);
                if (compress) {
                    found.add(hazards.directCompression(table));
                }
                boolean extend = tableHazards.stream().anyMatch(h -> h.code().equals("key-without-time-column"));
                hypertables.add(new Plan.Hypertable(table.ref(), time.get().column().name(), chunk.interval(),
                        time.get().unit(), new Plan.Compression(compress, segmentBy, orderBy, Optional.empty()), extend));
            }
        }
        for (TablePattern p : options.include()) {
            if (!includesWithTime.contains(p)) {
                throw TsmigrateException.usage("--include " + p + " matches only tables without a time column "
                        + "(timestamptz, timestamp, date, or an integer holding time); a hypertable needs one.");
            }
        }
        found.addAll(likelyAdditions(catalog, hazards, candidates, hypertables));
        found.addAll(hazards.global());
        candidates.sort(Comparator.comparing(Candidate::chosen).reversed().thenComparing(Comparator.comparingInt(Candidate::score).reversed())
                .thenComparing(Candidate::table));
        found.sort(Comparator.comparing(Hazard::severity));
        Map<TimeType, List<TableRef>> groups = new EnumMap<>(TimeType.class);
        for (Candidate c : candidates) {
            if (c.chosen()) {
                groups.computeIfAbsent(c.timeType(), k -> new ArrayList<>()).add(c.table());
            }
        }
        hypertables.sort(Comparator.comparing(Plan.Hypertable::table));
        return new PlanReport(List.copyOf(candidates), List.copyOf(found), new TreeMap<>(groups),
                new Plan(Plan.VERSION, hypertables), profile, sourceName, catalog.tables().size());
    }

    /**
     * The hazards of candidates not chosen that a user is likely to add: tables already partitioned
     * by range on their time column, and tables that reference or are referenced by a chosen one.
     * Listed as "if you add it", so that editing the plan never meets a surprise.
     */
    private static List<Hazard> likelyAdditions(Catalog catalog, HazardFinder hazards, List<Candidate> candidates,
                                                List<Plan.Hypertable> hypertables) {
        java.util.Set<TableRef> chosen = hypertables.stream().map(Plan.Hypertable::table).collect(java.util.stream.Collectors.toSet());
        List<Hazard> out = new ArrayList<>();
        for (Candidate c : candidates) {
            Table table = catalog.table(c.table()).orElseThrow();
            boolean assessed = c.chosen() || c.decision().startsWith("not chosen: blocked") || c.decision().startsWith("excluded");
            boolean related = table.foreignKeys().stream().anyMatch(fk -> fk.references().map(chosen::contains).orElse(false))
                    || catalog.foreignKeysInto(table.ref()).stream().anyMatch(fk -> chosen.contains(root(catalog, fk.from())));
            // A related table whose only time is when a row last changed (a dimension table) scores low: not likely.
            boolean likely = table.partitionedByRangeOn(c.timeColumn()) || (related && c.score() >= LIKELY_AT);
            if (assessed || !likely) {
                continue;
            }
            TimeColumns.Choice time = TimeColumns.choose(catalog, table).orElseThrow();
            for (Hazard h : hazards.forHypertable(table, time)) {
                out.add(new Hazard(h.severity(), h.code(), h.objects(), "if you add " + table.ref() + " to the plan: " + h.message(),
                        h.remedy()));
            }
        }
        return out;
    }

    /** The partitioned table a partition belongs to, at any depth; the table itself otherwise. */
    private static TableRef root(Catalog catalog, TableRef ref) {
        TableRef at = ref;
        for (Optional<TableRef> up = catalog.table(at).flatMap(Table::partitionOf); up.isPresent();
             up = catalog.table(at).flatMap(Table::partitionOf)) {
            at = up.get();
        }
        return at;
    }

    private static ChunkSizing.Memory memory(PlanOptions options, Optional<TargetProfile> profile) {
        if (options.targetMemory().isPresent()) {
            return new ChunkSizing.Memory(options.targetMemory().get(), "--target-memory");
        }
        if (profile.isPresent() && profile.get().sharedBuffersBytes() > 0) {
            long sb = profile.get().sharedBuffersBytes();
            return new ChunkSizing.Memory(4 * sb, "4 x the target's shared_buffers " + Human.bytes(sb));
        }
        return new ChunkSizing.Memory(PlanOptions.DEFAULT_MEMORY, "assumed; give --target or --target-memory");
    }

    private static void checkPatternsMatch(Catalog catalog, PlanOptions options) {
        for (TablePattern p : options.include()) {
            if (catalog.tables().keySet().stream().noneMatch(p::matches)) {
                throw TsmigrateException.usage("--include " + p + " matches no table in the source; "
                        + "check the name (patterns are schema.table, with * and ?).");
            }
        }
        for (TablePattern p : options.exclude()) {
            if (catalog.tables().keySet().stream().noneMatch(p::matches)) {
                throw TsmigrateException.usage("--exclude " + p + " matches no table in the source; "
                        + "check the name (patterns are schema.table, with * and ?).");
            }
        }
    }
}
