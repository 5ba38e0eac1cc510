package io.tsmigrate.it;

import io.tsmigrate.core.TsmigrateException;
import io.tsmigrate.core.completion.CompletionPoint;
import io.tsmigrate.core.completion.CompletionPointResult;
import io.tsmigrate.core.connect.ConnectionSpec;
import io.tsmigrate.core.time.EpochUnit;
import io.tsmigrate.core.time.TimePoint;
import io.tsmigrate.core.time.TimeType;
import io.tsmigrate.it.kit.PgServersExtension;
import io.tsmigrate.it.kit.TestDatabases;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** {@code tsmigrate completion-point}: T from the writers' registry, the lateness and the clock-skew margin. */
@ExtendWith(PgServersExtension.class)
class CompletionPointIT {

    static final Instant NOW = Instant.parse("2026-11-23T12:34:56Z");

    @BeforeAll
    static void createSource(TestDatabases db) {
        db.source("CREATE TABLE metrics (time timestamptz NOT NULL, v int)",
                "CREATE TABLE ticks (ts_ms bigint NOT NULL, v int)",
                "CREATE TABLE daily (day date NOT NULL, v int)");
    }

    private static ConnectionSpec migrated(TestDatabases db, String name) {
        ConnectionSpec target = db.newTargetDatabase(name, true);
        Fixtures.migrateSchema(db.source(), target, "1 day", "metrics", "daily");
        return target;
    }

    private static void writer(ConnectionSpec target, String name, Instant startedAt) {
        TestDatabases.execute(target, "CREATE SCHEMA IF NOT EXISTS tsmigrate",
                "CREATE TABLE IF NOT EXISTS tsmigrate.writer (name text PRIMARY KEY, application text, host text, pid bigint, "
                        + "started_at timestamptz NOT NULL, registered_at timestamptz NOT NULL DEFAULT now(), "
                        + "last_seen timestamptz NOT NULL DEFAULT now(), journal_pending bigint NOT NULL DEFAULT 0, "
                        + "primary_side text NOT NULL DEFAULT 'source', switched_at timestamptz)",
                "INSERT INTO tsmigrate.writer (name, started_at) VALUES ('" + name + "', '" + startedAt + "')");
    }

    private static CompletionPoint.Options options(Map<TimeType, String> at, boolean set) {
        return new CompletionPoint.Options(Optional.empty(), Duration.ofHours(1), Duration.ofMinutes(1), Optional.of(EpochUnit.EPOCH_MS),
                at, set, Clock.fixed(NOW, ZoneOffset.UTC));
    }

    @Test
    void proposesTheEndOfTheConsistencyRangeForEachGroup(TestDatabases db) {
        ConnectionSpec target = migrated(db, "cp_range");
        writer(target, "app-1", NOW.minus(Duration.ofHours(5)));
        writer(target, "app-2", NOW.minus(Duration.ofHours(3)));
        CompletionPointResult r = CompletionPoint.compute(db.source(), target, options(Map.of(), true));
        assertThat(r.lastWriterStart()).isEqualTo(NOW.minus(Duration.ofHours(3)));
        assertThat(r.rangeStart()).isEqualTo(Instant.parse("2026-11-23T09:35:56Z"));
        assertThat(r.rangeEnd()).isEqualTo(Instant.parse("2026-11-23T11:33:56Z"));
        CompletionPointResult.Group tz = r.groups().stream().filter(g -> g.type() == TimeType.TIMESTAMPTZ).findFirst().orElseThrow();
        assertThat(tz.value().map(TimePoint::literal)).contains("2026-11-23 11:33:00+00");
        // A date group needs a midnight inside the range; this one has none yet, and says from when it will.
        CompletionPointResult.Group date = r.groups().stream().filter(g -> g.type() == TimeType.DATE).findFirst().orElseThrow();
        assertThat(date.value()).isEmpty();
        assertThat(date.explanation()).isEqualTo("no T yet: the consistency range holds no midnight; it will from 2026-11-24T01:01:00Z");
        assertThat(r.complete()).isFalse();
        assertThat(TestDatabases.queryString(target, "SELECT value FROM tsmigrate.completion_point WHERE time_type = 'timestamptz'"))
                .isEqualTo("2026-11-23 11:33:00+00");
    }

    @Test
    void takesAWholeSecondWhileTheRangeHoldsNoWholeMinute(TestDatabases db) {
        ConnectionSpec target = migrated(db, "cp_second");
        writer(target, "app", Instant.parse("2026-11-23T11:32:10Z"));
        CompletionPointResult r = CompletionPoint.compute(db.source(), target, options(Map.of(), false));
        assertThat(r.rangeStart()).isEqualTo(Instant.parse("2026-11-23T11:33:10Z"));
        CompletionPointResult.Group tz = r.groups().stream().filter(g -> g.type() == TimeType.TIMESTAMPTZ).findFirst().orElseThrow();
        assertThat(tz.value().map(TimePoint::literal)).contains("2026-11-23 11:33:56+00");
        assertThat(tz.explanation()).isEqualTo("the end of the consistency range, rounded down to the second (the range holds no "
                + "whole minute yet)");
    }

    @Test
    void refusesWhileTheRangeIsEmptyAndSaysWhenItOpens(TestDatabases db) {
        ConnectionSpec target = migrated(db, "cp_empty");
        writer(target, "late-app", NOW.minus(Duration.ofMinutes(10)));
        assertThatThrownBy(() -> CompletionPoint.compute(db.source(), target, options(Map.of(), false)))
                .isInstanceOf(TsmigrateException.class)
                .hasMessage("the consistency range is still empty: the last writer began dual-writing at 2026-11-23T12:24:56Z, so with "
                        + "a maximum lateness of 1h00m and a clock-skew margin of 1m00s it opens at 2026-11-23T13:26:56Z (in 52m00s); "
                        + "run tsmigrate completion-point again then.");
    }

    @Test
    void refusesWithoutWritersAndATOutsideTheRange(TestDatabases db) {
        ConnectionSpec target = migrated(db, "cp_none");
        assertThatThrownBy(() -> CompletionPoint.compute(db.source(), target, options(Map.of(), false)))
                .hasMessageStartingWith("no writer has registered in tsmigrate.writer yet: start your application in dual-write mode");
        writer(target, "app", NOW.minus(Duration.ofHours(4)));
        assertThatThrownBy(() -> CompletionPoint.compute(db.source(), target,
                options(Map.of(TimeType.TIMESTAMPTZ, "2026-11-23 12:00:00+00"), false)))
                .hasMessageContaining("is outside the consistency range").hasMessageContaining("late-arriving rows");
        CompletionPointResult ok = CompletionPoint.compute(db.source(), target, options(Map.of(TimeType.TIMESTAMPTZ, "2026-11-23 10:00:00+00"), false));
        assertThat(ok.groups().stream().filter(g -> g.type() == TimeType.TIMESTAMPTZ).findFirst().orElseThrow().value().map(TimePoint::literal))
                .contains("2026-11-23 10:00:00+00");
    }

    @Test
    void theCommandLineStoresTForTheBackfill(TestDatabases db) {
        ConnectionSpec target = migrated(db, "cp_cli");
        Cli.Result r = Cli.run("completion-point", "--source", db.sourceUri(), "--target", TestDatabases.uri(target),
                "--dual-write-started-at", "2026-11-20T00:00:00Z", "--max-lateness", "2h", "--set");
        assertThat(r.exitCode()).as(r.toString()).isZero();
        assertThat(r.out()).contains("Missing writes end: 2026-11-20T00:00:00Z (--dual-write-started-at)")
                .containsPattern("T for timestamptz tables \\(public.metrics\\): \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:00\\+00")
                .contains("Stored:");
        String stored = TestDatabases.queryString(target, "SELECT value FROM tsmigrate.completion_point WHERE time_type = 'timestamptz'");
        assertThat(r.out()).contains("T for timestamptz tables (public.metrics): " + stored);
        Cli.Result bad = Cli.run("completion-point", "--source", db.sourceUri(), "--target", TestDatabases.uri(target),
                "--dual-write-started-at", "2026-11-20T00:00:00Z", "--max-lateness", "an hour");
        assertThat(bad.exitCode()).isEqualTo(2);
        assertThat(bad.err()).isEqualTo("tsmigrate: --max-lateness \"an hour\" is not a duration; write it as 1h, 30m, 90s or 2d.\n");
    }

    @Test
    void integerTimeNeedsItsUnitAndTIsInThoseUnits(TestDatabases db) {
        ConnectionSpec target = db.newTargetDatabase("cp_integer", true);
        Fixtures.migrateSchema(db.source(), target, "86400000", "ticks");
        List<String> base = List.of("completion-point", "--source", db.sourceUri(), "--target", TestDatabases.uri(target),
                "--dual-write-started-at", "2026-11-20T00:00:00Z", "--max-lateness", "2h");
        Cli.Result noUnit = Cli.run(base.toArray(String[]::new));
        assertThat(noUnit.exitCode()).as(noUnit.toString()).isEqualTo(2);
        assertThat(noUnit.err()).contains("hold integer time of unknown unit: pass --time-unit");

        List<String> withUnit = new java.util.ArrayList<>(base);
        withUnit.addAll(List.of("--time-unit", "epoch_ms", "--set"));
        Cli.Result r = Cli.run(withUnit.toArray(String[]::new));
        assertThat(r.exitCode()).as(r.toString()).isZero();
        long t = Long.parseLong(TestDatabases.queryString(target, "SELECT value FROM tsmigrate.completion_point WHERE time_type = '"
                + TimeType.BIGINT.label() + "'"));
        assertThat(Instant.ofEpochMilli(t)).as("T in milliseconds, inside the consistency range")
                .isAfter(Instant.parse("2026-11-20T00:01:00Z")).isBefore(Instant.now().minus(Duration.ofHours(2)));

        List<String> outside = new java.util.ArrayList<>(base);
        outside.addAll(List.of("--time-unit", "epoch_ms", "--at", TimeType.BIGINT.label() + "=1000")); // 1970, in milliseconds
        Cli.Result tooEarly = Cli.run(outside.toArray(String[]::new));
        assertThat(tooEarly.exitCode()).as(tooEarly.toString()).isEqualTo(2);
        assertThat(tooEarly.err()).contains("is outside the consistency range");
    }
}
