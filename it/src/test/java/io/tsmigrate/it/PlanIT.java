package io.tsmigrate.it;

import io.tsmigrate.core.catalog.TableRef;
import io.tsmigrate.core.plan.Candidate;
import io.tsmigrate.core.plan.ChunkInterval;
import io.tsmigrate.core.plan.Hazard;
import io.tsmigrate.core.plan.PlanOptions;
import io.tsmigrate.core.plan.PlanReport;
import io.tsmigrate.core.plan.Planner;
import io.tsmigrate.core.plan.TablePattern;
import io.tsmigrate.core.time.TimeType;
import io.tsmigrate.it.kit.PgServersExtension;
import io.tsmigrate.it.kit.TestDatabases;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Candidate rules of {@code tsmigrate plan}, each on a schema built for it on the real source. */
@ExtendWith(PgServersExtension.class)
class PlanIT {

    static final Instant NOW = Instant.parse("2026-11-23T12:00:00Z");

    private final TestDatabases db;

    PlanIT(TestDatabases db) {
        this.db = db;
    }

    static PlanOptions include(String... patterns) {
        return new PlanOptions(PlanOptions.DEFAULT_MIN_SIZE, Arrays.stream(patterns).map(TablePattern::parse).toList(),
                List.of(), Optional.of(8L << 30), Clock.fixed(NOW, ZoneOffset.UTC));
    }

    PlanReport plan(PlanOptions options) {
        return Planner.plan(db.source(), Optional.of(db.target()), options);
    }

    static Candidate candidate(PlanReport report, String table) {
        return report.candidates().stream().filter(c -> c.table().equals(TableRef.parse(table))).findFirst()
                .orElseThrow(() -> new AssertionError(table + " is not a candidate: " + report.candidates()));
    }

    static boolean isCandidate(PlanReport report, String table) {
        return report.candidates().stream().anyMatch(c -> c.table().equals(TableRef.parse(table)));
    }

    @Test
    void findsEveryKindOfTimeColumn() {
        db.source("CREATE TABLE k_tstz (t timestamptz NOT NULL, v int)",
                "CREATE TABLE k_ts (t timestamp, v int)",
                "CREATE TABLE k_date (day date, v int)",
                "CREATE TABLE k_epoch_name (event_epoch bigint, v int)",
                "CREATE TABLE k_epoch_default (stamp bigint DEFAULT (extract(epoch from now()) * 1000)::bigint, v int)",
                "CREATE TABLE k_epoch_stats (v bigint, w int)",
                "INSERT INTO k_epoch_stats SELECT 1700000000000 + g * 1000, g FROM generate_series(1, 2000) g",
                "CREATE TABLE k_counter (hits bigint, v int)",
                "INSERT INTO k_counter SELECT g, g FROM generate_series(1, 2000) g",
                "CREATE TABLE k_ids (id bigserial PRIMARY KEY, parent_id bigint)",
                "ANALYZE k_epoch_stats", "ANALYZE k_counter");
        PlanReport r = plan(include("public.k_*"));
        assertThat(candidate(r, "k_tstz").timeType()).isEqualTo(TimeType.TIMESTAMPTZ);
        assertThat(candidate(r, "k_ts").timeType()).isEqualTo(TimeType.TIMESTAMP);
        assertThat(candidate(r, "k_date").timeColumn()).isEqualTo("day");
        assertThat(candidate(r, "k_date").timeType()).isEqualTo(TimeType.DATE);
        assertThat(candidate(r, "k_epoch_name").evidence()).contains("name \"event_epoch\"");
        assertThat(candidate(r, "k_epoch_default").evidence()).anyMatch(e -> e.startsWith("default "));
        assertThat(candidate(r, "k_epoch_stats").timeColumn()).isEqualTo("v");
        assertThat(candidate(r, "k_epoch_stats").evidence()).contains("values look like epoch_ms");
        assertThat(candidate(r, "k_epoch_stats").chunkExplanation()).contains("in epoch_ms");
        assertThat(isCandidate(r, "k_counter")).isFalse();
        assertThat(isCandidate(r, "k_ids")).isFalse();
        assertThat(r.timeGroups().get(TimeType.TIMESTAMPTZ)).contains(TableRef.parse("k_tstz"));
        assertThat(r.timeGroups().get(TimeType.DATE)).contains(TableRef.parse("k_date"));
        assertThat(r.timeGroups().get(TimeType.BIGINT)).contains(TableRef.parse("k_epoch_stats"), TableRef.parse("k_epoch_name"));
    }

    @Test
    void prefersTheNotNullIndexedTimeColumn() {
        db.source("CREATE TABLE two_times (updated_at timestamptz, recorded timestamptz NOT NULL, v int)",
                "CREATE INDEX ON two_times (recorded)");
        Candidate c = candidate(plan(include("two_times")), "two_times");
        assertThat(c.timeColumn()).isEqualTo("recorded");
        assertThat(c.evidence()).contains("NOT NULL", "indexed");
    }

    @Test
    void scoresAppendOnlyTablesAboveRandomOnesAndExplains() {
        db.source("CREATE TABLE s_append (time timestamptz NOT NULL, device_id int, v float8)",
                "CREATE INDEX ON s_append (time)",
                "INSERT INTO s_append SELECT timestamptz '2026-11-01' + g * interval '1 second', g % 20, g "
                        + "FROM generate_series(1, 50000) g",
                "CREATE TABLE s_random (time timestamptz NOT NULL, v float8)",
                "INSERT INTO s_random SELECT timestamptz '2026-11-01' + (random() * 50000) * interval '1 second', g "
                        + "FROM generate_series(1, 50000) g",
                "ANALYZE s_append", "ANALYZE s_random");
        PlanReport r = plan(include("s_append", "s_random"));
        Candidate append = candidate(r, "s_append");
        Candidate random = candidate(r, "s_random");
        assertThat(append.score()).isGreaterThan(random.score() + 20);
        assertThat(append.reasons()).anyMatch(s -> s.matches("time correlation 1\\.00: append-mostly \\(\\+20\\)"))
                .contains("indexed on time (+10)").contains("latest time about 2026-11-01 (recent, +5)");
        assertThat(random.reasons()).anyMatch(s -> s.matches("time correlation -?0\\.\\d\\d \\(\\+\\d\\)"));
        assertThat(append.segmentBy()).containsExactly("device_id");
        assertThat(append.orderBy()).containsExactly("time DESC");
    }

    @Test
    void choosesBySizeUnlessIncludedOrExcluded() {
        db.source("CREATE TABLE z_small (time timestamptz NOT NULL, v int)",
                "CREATE TABLE z_big (time timestamptz NOT NULL, v int, pad text)",
                "CREATE INDEX ON z_big (time)",
                "INSERT INTO z_big SELECT timestamptz '2026-11-20' + g * interval '1 second', g, repeat('x', 200) "
                        + "FROM generate_series(1, 20000) g",
                "ANALYZE z_big");
        long bigBytes = TestDatabases.queryLong(db.source(), "SELECT pg_total_relation_size('z_big')");
        PlanOptions sized = new PlanOptions(bigBytes - 1, List.of(), List.of(), Optional.of(8L << 30), Clock.fixed(NOW, ZoneOffset.UTC));
        PlanReport r = plan(sized);
        assertThat(candidate(r, "z_big").chosen()).isTrue();
        assertThat(candidate(r, "z_small").chosen()).isFalse();
        assertThat(candidate(r, "z_small").decision()).startsWith("not chosen: ").contains("is below --min-size");
        PlanReport included = plan(new PlanOptions(bigBytes - 1, List.of(TablePattern.parse("z_sm*")),
                List.of(TablePattern.parse("public.z_big")), Optional.of(8L << 30), Clock.fixed(NOW, ZoneOffset.UTC)));
        assertThat(candidate(included, "z_small").decision()).isEqualTo("chosen: matches --include");
        assertThat(candidate(included, "z_big").chosen()).isFalse();
        assertThat(candidate(included, "z_big").decision()).isEqualTo("excluded by --exclude");
        assertThat(included.plan().hypertable(TableRef.parse("z_small"))).isPresent();
        assertThat(included.plan().hypertable(TableRef.parse("z_big"))).isEmpty();
    }

    @Test
    void sumsPartitionSizesIntoTheParentAndSkipsPartitions() {
        db.source("CREATE TABLE p_events (time timestamptz NOT NULL, kind text) PARTITION BY RANGE (time)",
                "CREATE TABLE p_events_a PARTITION OF p_events FOR VALUES FROM ('2026-01-01') TO ('2026-06-01')",
                "CREATE TABLE p_events_b PARTITION OF p_events FOR VALUES FROM ('2026-06-01') TO ('2027-01-01')",
                "INSERT INTO p_events SELECT timestamptz '2026-02-01' + g * interval '5 minutes', 'k' || (g % 3) "
                        + "FROM generate_series(1, 60000) g",
                "ANALYZE p_events_a", "ANALYZE p_events_b");
        PlanReport r = plan(include("p_events"));
        long partitions = TestDatabases.queryLong(db.source(),
                "SELECT pg_total_relation_size('p_events_a') + pg_total_relation_size('p_events_b')");
        Candidate c = candidate(r, "p_events");
        assertThat(c.totalBytes()).isEqualTo(partitions);
        assertThat(c.estimatedRows()).isEqualTo(60000);
        assertThat(c.chunkExplanation()).contains("rows/day");
        assertThat(isCandidate(r, "p_events_a")).isFalse();
    }

    @Test
    void sizesChunksFromRowsPerDayBytesPerRowAndMemory() {
        // 86,400 rows a day for 2 days; a chunk budget that holds about 3 days of this table.
        db.source("CREATE TABLE c_sized (time timestamptz NOT NULL, v int)",
                "INSERT INTO c_sized SELECT timestamptz '2026-11-20' + g * interval '1 second', g FROM generate_series(1, 172800) g",
                "ANALYZE c_sized");
        long bytes = TestDatabases.queryLong(db.source(), "SELECT pg_total_relation_size('c_sized')");
        double perDay = bytes / 2.0;
        long memory = (long) (perDay * 3.5 * 4);
        PlanReport r = Planner.plan(db.source(), Optional.of(db.target()), new PlanOptions(0, List.of(TablePattern.parse("c_sized")),
                List.of(), Optional.of(memory), Clock.fixed(NOW, ZoneOffset.UTC)));
        Candidate c = candidate(r, "c_sized");
        assertThat(c.chunkInterval()).isEqualTo(ChunkInterval.parse("3 days", false));
        assertThat(c.chunkExplanation()).startsWith("3 days: ").containsPattern("about 8[5-7],\\d{3} rows/day")
                .contains("fits in 25% of").contains("(--target-memory)");
        PlanReport fromTarget = Planner.plan(db.source(), Optional.of(db.target()), new PlanOptions(0,
                List.of(TablePattern.parse("c_sized")), List.of(), Optional.empty(), Clock.fixed(NOW, ZoneOffset.UTC)));
        assertThat(candidate(fromTarget, "c_sized").chunkExplanation()).contains("4 x the target's shared_buffers");
    }

    @Test
    void rejectsPatternsThatMatchNothingOrNoTimeTable() {
        db.source("CREATE TABLE nt_lookup (id int, name text)");
        assertThatThrownBy(() -> plan(include("public.nothing_like_this*")))
                .hasMessage("--include public.nothing_like_this* matches no table in the source; check the name "
                        + "(patterns are schema.table, with * and ?).");
        assertThatThrownBy(() -> plan(include("nt_lookup")))
                .hasMessageStartingWith("--include nt_lookup matches only tables without a time column");
    }

    static List<Hazard> hazards(PlanReport report, String code, String object) {
        return report.hazards().stream().filter(h -> h.code().equals(code))
                .filter(h -> h.objects().stream().anyMatch(o -> o.contains(object))).toList();
    }

    static Hazard hazard(PlanReport report, String code, String object) {
        List<Hazard> found = hazards(report, code, object);
        assertThat(found).as("hazard " + code + " on " + object + " in " + report.hazards()).hasSize(1);
        return found.get(0);
    }

    @Test
    void planStopsAtNoHazardForACleanTable() {
        db.source("CREATE TABLE clean (time timestamptz NOT NULL, device_id int, v float8)");
        PlanReport r = plan(include("clean"));
        assertThat(r.hazards().stream().filter(h -> h.objects().stream().anyMatch(o -> o.startsWith("public.clean"))))
                .isEmpty();
        assertThat(candidate(r, "clean").chosen()).isTrue();
        assertThat(r.hazards()).noneMatch(h -> h.severity() == Hazard.Severity.BLOCKER && h.code().equals("missing-extensions"));
    }

    @Test
    void dateColumnsGetAtLeastOneDay() {
        db.source("CREATE TABLE d_daily (day date NOT NULL, v int)",
                "INSERT INTO d_daily SELECT date '2026-01-01' + g, g FROM generate_series(1, 300) g",
                "ANALYZE d_daily");
        Candidate c = candidate(Planner.plan(db.source(), Optional.empty(), new PlanOptions(0,
                List.of(TablePattern.parse("d_daily")), List.of(), Optional.of(1L << 20), Clock.fixed(NOW, ZoneOffset.UTC))), "d_daily");
        assertThat(c.chunkInterval().micros()).isGreaterThanOrEqualTo(86_400_000_000L);
    }
}
