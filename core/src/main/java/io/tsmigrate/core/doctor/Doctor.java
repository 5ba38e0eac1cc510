package io.tsmigrate.core.doctor;

import io.tsmigrate.core.Human;
import io.tsmigrate.core.TsmigrateException;
import io.tsmigrate.core.connect.ConnectionSpec;
import io.tsmigrate.core.connect.PgConnector;
import io.tsmigrate.core.doctor.DoctorResult.SourceFacts;
import io.tsmigrate.core.doctor.DoctorResult.TargetFacts;
import io.tsmigrate.core.doctor.DoctorResult.Verdict;
import io.tsmigrate.core.pgtools.ClientTools;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Runbook step 1: can a migration from this source to this target start? Checks both logins,
 * server versions, TimescaleDB on the target and its license, the target role's privileges, the
 * client tools, the source's size, and a target that already holds tables. Never throws for what
 * it finds: every finding is a {@link Check}.
 */
public final class Doctor {

    /** The oldest source server tsmigrate supports. */
    static final int MIN_SOURCE_MAJOR = 13;

    private Doctor() {
    }

    /**
     * Runs every check. A server that cannot be reached gives one failed check and the checks
     * that need it are left out; the other server is still checked.
     *
     * @param pgBindir where to take pg_dump, pg_dumpall and psql from; empty to search
     */
    public static DoctorResult run(ConnectionSpec source, ConnectionSpec target, Optional<Path> pgBindir) {
        List<Check> checks = new ArrayList<>();
        boolean unreachable = false;

        Optional<SourceFacts> sourceFacts = Optional.empty();
        try (Connection connection = PgConnector.open(source)) {
            SourceInspection inspection = new SourceInspection(connection);
            sourceFacts = Optional.of(inspection.facts());
            inspection.checks(source, checks);
        } catch (TsmigrateException e) {
            checks.add(Check.failed("source", e.getMessage()));
            unreachable = true;
        } catch (SQLException e) {
            checks.add(Check.failed("source", "cannot inspect the source (" + source.describe() + "): " + e.getMessage()));
        }

        Optional<TargetFacts> targetFacts = Optional.empty();
        try (Connection connection = PgConnector.open(target)) {
            TargetInspection inspection = new TargetInspection(connection);
            targetFacts = Optional.of(inspection.facts());
            inspection.checks(target, checks);
        } catch (TsmigrateException e) {
            checks.add(Check.failed("target", e.getMessage()));
            unreachable = true;
        } catch (SQLException e) {
            checks.add(Check.failed("target", "cannot inspect the target (" + target.describe() + "): " + e.getMessage()));
        }

        int sourceMajor = sourceFacts.map(f -> f.versionNum() / 10000).orElse(0);
        ClientTools tools = ClientTools.locate(pgBindir);
        for (String name : ClientTools.REQUIRED) {
            ClientTools.Check tool = tools.check(name, sourceMajor);
            checks.add(tool.usable() ? Check.ok(name, tool.message()) : Check.failed(name, tool.message()));
        }

        Verdict verdict = unreachable ? Verdict.CANNOT_CONNECT
                : checks.stream().anyMatch(c -> c.status() == Check.Status.FAILED) ? Verdict.NOT_READY
                : Verdict.READY;
        return new DoctorResult(List.copyOf(checks), verdict, sourceFacts, targetFacts);
    }

    /** The size check on its own: a warning above the runbook's 400 GB. */
    static Check sizeCheck(long databaseBytes, List<DoctorResult.TableSize> largest) {
        StringBuilder message = new StringBuilder(Human.bytes(databaseBytes));
        if (!largest.isEmpty()) {
            message.append("; largest: ");
            for (int i = 0; i < largest.size(); i++) {
                DoctorResult.TableSize t = largest.get(i);
                message.append(i > 0 ? ", " : "").append(t.table()).append(' ').append(Human.bytes(t.bytes()));
            }
        }
        if (databaseBytes > SourceInspection.LARGE_SOURCE_BYTES) {
            return Check.warning("source size", message + "; above 400 GB the target's disk must be provisioned "
                    + "ahead (on Timescale Cloud, open a support request before you start)");
        }
        return Check.ok("source size", message.toString());
    }
}
