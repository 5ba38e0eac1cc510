package io.tsmigrate.core.constraints;

import io.tsmigrate.core.TsmigrateException;
import io.tsmigrate.core.TsmigrateException.Kind;
import io.tsmigrate.core.backfill.Backfill;
import io.tsmigrate.core.catalog.TableRef;
import io.tsmigrate.core.connect.ConnectionSpec;
import io.tsmigrate.core.connect.PgConnector;
import io.tsmigrate.core.connect.PgErrors;
import io.tsmigrate.core.plan.Plan;
import io.tsmigrate.core.state.ConstraintRecords;
import io.tsmigrate.core.state.PlanStore;
import io.tsmigrate.core.state.StateSchema;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * The constraints step, after the backfill: what could not hold, or was not checked, while the
 * history was copied is checked once, set-based. The foreign keys of every hypertable (the
 * backfill skips their per-row checks) are checked with one anti-join each; the foreign keys
 * schema created NOT VALID (they referenced rows the backfill was still to bring) are validated;
 * materialized views over hypertables are refreshed. Every outcome goes to
 * {@code tsmigrate.constraint_check}. Reads and validations only: re-running it is always safe.
 */
public final class Constraints {

    /** Offending keys shown per constraint. */
    static final int SAMPLE = 5;

    /**
     * One check.
     *
     * @param kind     {@code foreign key}, {@code validate} or {@code refresh}
     * @param outcome  {@code ok}, {@code failed} or {@code gone} (a deferred constraint dropped since)
     * @param sample   offending keys, at most {@link #SAMPLE}
     */
    public record Outcome(TableRef table, String name, String kind, String outcome, long offending, List<String> sample,
                          String detail) {
        public boolean failed() {
            return outcome.equals("failed");
        }
    }

    /** Everything the step checked. */
    public record ConstraintsResult(List<Outcome> outcomes, Duration elapsed) {
        public boolean passed() {
            return outcomes.stream().noneMatch(Outcome::failed);
        }

        /** One sentence per failed check. */
        public List<String> failures() {
            return outcomes.stream().filter(Outcome::failed).map(o -> o.kind() + " " + o.name() + " of " + o.table() + ": "
                    + o.detail()).toList();
        }
    }

    private Constraints() {
    }

    /**
     * @param progress told one line per check
     * @throws TsmigrateException NOT_READY without a plan or before the backfill is complete
     */
    public static ConstraintsResult run(ConnectionSpec targetSpec, Consumer<String> progress) {
        Instant started = Instant.now();
        try (Connection target = PgConnector.open(targetSpec)) {
            Plan plan = PlanStore.load(target).orElseThrow(() -> new TsmigrateException(Kind.NOT_READY,
                    "the target has no migration plan in its state; run tsmigrate schema and backfill first."));
            StateSchema.ensure(target);
            List<String> incomplete = Backfill.incomplete(target, plan);
            if (!incomplete.isEmpty()) {
                // Checked on part of the history, a constraint would pass and never be checked again.
                throw new TsmigrateException(Kind.NOT_READY, "the backfill is not complete for " + String.join(", ", incomplete)
                        + ": run tsmigrate backfill first, then tsmigrate constraints.");
            }
            List<Outcome> outcomes = new ArrayList<>();
            for (Plan.Hypertable h : plan.hypertables()) {
                for (ForeignKey fk : ForeignKey.heldBy(target, h.table())) {
                    outcomes.add(record(target, progress, check(target, fk)));
                }
            }
            for (ForeignKey fk : ForeignKey.deferred(target)) {
                outcomes.add(record(target, progress, validate(target, fk)));
            }
            for (TableRef view : MaterializedViews.over(target, plan.hypertables().stream().map(Plan.Hypertable::table).toList())) {
                try (Statement st = target.createStatement()) {
                    st.execute("REFRESH MATERIALIZED VIEW " + view.quoted());
                }
                outcomes.add(record(target, progress, new Outcome(view, view.name(), "refresh", "ok", 0, List.of(),
                        "refreshed over the backfilled rows")));
            }
            return new ConstraintsResult(List.copyOf(outcomes), Duration.between(started, Instant.now()));
        } catch (SQLException e) {
            throw PgErrors.failure("check the constraints", targetSpec, e);
        }
    }

    /** A foreign key the backfill did not check row by row: one anti-join over the whole table. */
    private static Outcome check(Connection target, ForeignKey fk) throws SQLException {
        Offenders offenders = Offenders.of(target, fk);
        return offenders.count() == 0
                ? new Outcome(fk.table(), fk.name(), "foreign key", "ok", 0, List.of(), "every row references an existing row of "
                + fk.references())
                : new Outcome(fk.table(), fk.name(), "foreign key", "failed", offenders.count(), offenders.sample(), offenders.describe(fk));
    }

    /** A foreign key schema created NOT VALID: VALIDATE CONSTRAINT, and on failure the offending keys. */
    private static Outcome validate(Connection target, ForeignKey fk) throws SQLException {
        if (!fk.exists()) {
            markValidated(target, fk);
            return new Outcome(fk.table(), fk.name(), "validate", "gone", 0, List.of(), "dropped since the schema step "
                    + "(see tsmigrate.dropped_constraint)");
        }
        try (Statement st = target.createStatement()) {
            st.execute("ALTER TABLE " + fk.table().quoted() + " VALIDATE CONSTRAINT " + TableRef.quote(fk.name()));
        } catch (SQLException e) {
            if (!"23503".equals(e.getSQLState())) {
                throw e;
            }
            Offenders offenders = Offenders.of(target, fk);
            return new Outcome(fk.table(), fk.name(), "validate", "failed", offenders.count(), offenders.sample(),
                    offenders.describe(fk));
        }
        validateChunkClones(target, fk);
        markValidated(target, fk);
        return new Outcome(fk.table(), fk.name(), "validate", "ok", 0, List.of(), "validated: every row references an existing "
                + "row of " + fk.references());
    }

    /**
     * A foreign key into a hypertable is kept by TimescaleDB as one more foreign key per chunk of it
     * (the chunks inherit from the hypertable), created NOT VALID like the key they copy: validating
     * the key does not validate them.
     */
    private static void validateChunkClones(Connection target, ForeignKey fk) throws SQLException {
        List<String> clones = new ArrayList<>();
        try (PreparedStatement ps = target.prepareStatement("SELECT co.conname FROM pg_constraint co JOIN pg_inherits i "
                + "ON i.inhrelid = co.confrelid WHERE co.conrelid = to_regclass(?) AND co.contype = 'f' AND NOT co.convalidated "
                + "AND i.inhparent = to_regclass(?) ORDER BY 1")) {
            ps.setString(1, fk.table().quoted());
            ps.setString(2, fk.references().quoted());
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    clones.add(rs.getString(1));
                }
            }
        }
        try (Statement st = target.createStatement()) {
            for (String clone : clones) {
                st.execute("ALTER TABLE " + fk.table().quoted() + " VALIDATE CONSTRAINT " + TableRef.quote(clone));
            }
        }
    }

    private static void markValidated(Connection target, ForeignKey fk) throws SQLException {
        ConstraintRecords.markValidated(target, fk.table(), fk.name());
    }

    private static Outcome record(Connection target, Consumer<String> progress, Outcome o) throws SQLException {
        ConstraintRecords.recordCheck(target, o.table(), o.name(), o.kind(), o.outcome(), o.offending(), o.detail());
        progress.accept(o.kind() + " " + o.name() + " of " + o.table() + ": " + o.outcome());
        return o;
    }

    /** How many rows of a foreign key's table reference nothing, and a sample of their keys. */
    private record Offenders(long count, List<String> sample) {
        static Offenders of(Connection target, ForeignKey fk) throws SQLException {
            String keys = fk.columns().stream().map(c -> "t." + TableRef.quote(c)).reduce((a, b) -> a + ", " + b).orElseThrow();
            // MATCH SIMPLE, PostgreSQL's default: a row with a NULL in the key references nothing and is fine.
            String notNull = String.join(" AND ", fk.columns().stream().map(c -> "t." + TableRef.quote(c) + " IS NOT NULL").toList());
            List<String> join = new ArrayList<>();
            for (int i = 0; i < fk.columns().size(); i++) {
                join.add("r." + TableRef.quote(fk.referencedColumns().get(i)) + " = t." + TableRef.quote(fk.columns().get(i)));
            }
            String sql = "SELECT count(*), (array_agg(DISTINCT ROW(" + keys + ")::text))[1:" + SAMPLE + "] FROM " + fk.table().quoted()
                    + " t WHERE " + notNull + " AND NOT EXISTS (SELECT 1 FROM " + fk.references().quoted() + " r WHERE "
                    + String.join(" AND ", join) + ")";
            try (Statement st = target.createStatement(); ResultSet rs = st.executeQuery(sql)) {
                rs.next();
                java.sql.Array array = rs.getArray(2);
                List<String> sample = array == null ? List.of() : List.of((String[]) array.getArray());
                return new Offenders(rs.getLong(1), sample);
            }
        }

        String describe(ForeignKey fk) {
            return count + " row(s) reference no row of " + fk.references() + " (" + String.join(", ", fk.columns()) + " = "
                    + String.join(", ", sample) + (count > sample.size() ? ", ..." : "") + "); a referenced row written to the source "
                    + "between the schema dump and the start of dual-writes is the usual cause: run tsmigrate verify --repair (it "
                    + "copies the plain tables again), then tsmigrate constraints";
        }
    }
}
