package io.tsmigrate.cli;

import io.tsmigrate.core.Human;
import io.tsmigrate.core.TsmigrateException;
import io.tsmigrate.core.TsmigrateException.Kind;
import io.tsmigrate.core.connect.ConnectionSpec;
import io.tsmigrate.core.connect.PgConnector;
import io.tsmigrate.core.migrate.Migration;
import io.tsmigrate.core.plan.PlanOptions;
import io.tsmigrate.core.plan.TablePattern;
import io.tsmigrate.core.verify.Verifier;
import io.tsmigrate.core.verify.VerifyOptions;
import io.tsmigrate.core.verify.VerifyResult;
import io.tsmigrate.dualwrite.DualWriteConfig;
import io.tsmigrate.dualwrite.DualWriteDataSource;
import io.tsmigrate.dualwrite.FailurePolicy;
import io.tsmigrate.proxy.ProxyServer;
import io.tsmigrate.servers.ServerPair;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;

/** {@code tsmigrate demo}: the whole method on local servers, with an application writing throughout. */
@Command(name = "demo", mixinStandardHelpOptions = true, usageHelpAutoWidth = true,
        description = {
            "Shows the whole method working, on this machine, in a few minutes.",
            "",
            "Starts a local source PostgreSQL and a local target TimescaleDB (data in a work directory), creates an "
                + "application database on the source (devices with SERIAL ids; sensor readings over 30 days with a "
                + "foreign key into devices; an events table partitioned by week; orders), starts a simulated "
                + "application that keeps writing through the dual-write library (some readings arrive late) and "
                + "reading (a share of reads shadowed on the target), and runs tsmigrate migrate --cutover end to "
                + "end. The application keeps writing through the switch. When it has stopped, every row of every "
                + "table is compared once more. Then everything it started is stopped and removed (--keep leaves "
                + "the servers running).",
            ""
        },
        footer = {"%nExit codes: 0 migrated and equal, 5 differences found, 4 or 6 the migration stopped (the message says why)."})
final class DemoCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--rows", paramLabel = "N", defaultValue = "1000000",
            description = "Sensor readings to create on the source (and a fifth as many events). Default: ${DEFAULT-VALUE}.")
    long rows;

    /**
     * The slowdown of the target's reads the demo tolerates: on one machine shared by both servers, the
     * application and tsmigrate, a p95 of a few dozen reads swings several-fold with the load (a 5x was seen
     * with the suite beside it), which says nothing about a real target.
     */
    private static final double DEMO_MAX_SLOWDOWN = 20.0;

    @picocli.CommandLine.Mixin
    ProgressOptions display;

    @Option(names = "--keep", description = "Leave the servers running at the end and print their URIs.")
    boolean keep;

    @Option(names = "--dir", paramLabel = "DIR", description = "The work directory (default: a new temporary one, removed at the end).")
    Path dir;

    @Option(names = "--report", paramLabel = "FILE.html", description = "Write the HTML report of the migration here.")
    Path report;

    @Override
    public Integer call() throws IOException, java.sql.SQLException, InterruptedException {
        if (rows < 1000 || rows > 100_000_000) {
            throw TsmigrateException.usage("--rows must be between 1000 and 100000000.");
        }
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        boolean ownDir = dir == null;
        Path work = ownDir ? Files.createTempDirectory("tsmigrate-demo-") : Files.createDirectories(dir);
        ServerPair servers = null;
        DualWriteDataSource dataSource = null;
        DemoApplication app = null;
        ProxyServer proxy = null;
        Process[] billingProcess = new Process[1]; // started by the migration's listener, once dual-writing begins
        boolean detached = false;
        try {
            say(err, "starting a source PostgreSQL and a target PostgreSQL + TimescaleDB under " + work);
            // The servers run as their own user (postgres, when this runs as root): it must reach its directories.
            Path serversDir = Files.createDirectories(work.resolve("servers"));
            for (Path p : List.of(work, serversDir)) {
                Files.setPosixFilePermissions(p, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
            }
            servers = ServerPair.start(serversDir);
            DemoDatabase.execute(servers.sourceConnection("postgres"), "CREATE DATABASE app");
            DemoDatabase.execute(servers.targetConnection("postgres"), "CREATE DATABASE app");
            ConnectionSpec source = servers.sourceConnection("app");
            ConnectionSpec target = servers.targetConnection("app");
            DemoDatabase.execute(target, "CREATE EXTENSION IF NOT EXISTS timescaledb");
            say(err, "source PostgreSQL " + servers.source().major() + " on port " + servers.source().port() + ", target PostgreSQL "
                    + servers.target().major() + " + TimescaleDB on port " + servers.target().port());

            Instant made = Instant.now();
            say(err, "creating the application's database on the source: " + Human.count(rows) + " sensor readings over 30 days, "
                    + Human.count(rows / 5) + " events in weekly partitions, " + DemoDatabase.DEVICES + " devices, "
                    + DemoDatabase.ORDERS + " orders ...");
            DemoDatabase.create(source, rows);
            say(err, "created in " + Human.duration(Duration.between(made, Instant.now())));

            dataSource = DualWriteDataSource.builder().primary(PgConnector.dataSource(source, "application"))
                    .secondary(PgConnector.dataSource(target, "application")).journalDirectory(work.resolve("journal"))
                    .application("demo-app").healthCheckInterval(Duration.ofSeconds(1)).shadowReadShare(0.2).build();
            DemoApplication application = new DemoApplication(dataSource);
            app = application;
            // A second application, not on the JVM: pgbench as a billing job, writing through tsmigrate proxy.
            ProxyServer billingProxy = ProxyServer.start(new ProxyServer.Config("127.0.0.1", 0, source, target,
                    ProxyServer.AuthMode.TRUST, Optional.empty(), new DualWriteConfig(FailurePolicy.JOURNAL,
                    work.resolve("proxy-journal"), "demo-proxy", "demo billing (pgbench)", Duration.ofSeconds(1), 0),
                    Duration.ofSeconds(10), Optional.empty(), Optional.empty()));
            proxy = billingProxy;
            Path billingScript = work.resolve("billing.sql");
            // One client: its updates of one order reach both sides in the order it made them.
            Files.writeString(billingScript, "\\set id random(1, " + DemoDatabase.ORDERS + ")\n\\set cents random(100, 50000)\n"
                    + "BEGIN;\nUPDATE orders SET amount = :cents / 100.0 WHERE id = :id AND status = 'delivered';\nCOMMIT;\n");
            Path pgbench = servers.source().installation().tool("pgbench");

            Duration lateness = DemoApplication.LATENESS.plusSeconds(2);
            Migration.Options options = Migration.Options.builder(new PlanOptions(PlanOptions.DEFAULT_MIN_SIZE,
                            List.of(TablePattern.parse("public.readings"), TablePattern.parse("public.events")), List.of(),
                            Optional.empty(), Clock.systemUTC()))
                    .planFile(work.resolve("tsmigrate-plan.yaml")).waitForWriters(Duration.ofMinutes(2)).maxLateness(lateness)
                    .clockSkew(Duration.ofSeconds(2)).verifyAttempts(5).maxSlowdown(DEMO_MAX_SLOWDOWN).cutover(true).workerName("demo").build();
            say(err, "running tsmigrate migrate --cutover (maximum lateness " + Human.duration(lateness)
                    + "; both servers, the application and tsmigrate share this machine's cores, so read latency is shown but "
                    + "only a " + (int) DEMO_MAX_SLOWDOWN + "x slowdown stops the run)");
            int code = MigrateCommand.run(source, target, options, null, false, out, err, display.open(err), display.quiet(), step -> {
                if (step.equals("dual-write")) {
                    say(err, "the application starts: it writes and reads through the dual-write library from now on");
                    application.start();
                    say(err, "a billing job in another language starts too: pgbench, through tsmigrate proxy on port "
                            + billingProxy.address().getPort());
                    try {
                        billingProcess[0] = new ProcessBuilder(pgbench.toString(), "-n",
                                "-M", "prepared", "-c", "1", "-R", "20", "-T", "86400", "-f", billingScript.toString(),
                                "postgres://billing@127.0.0.1:" + billingProxy.address().getPort() + "/app")
                                .redirectErrorStream(true).redirectOutput(work.resolve("billing.log").toFile()).start();
                    } catch (IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                }
            });
            if (code != ExitCodes.OK) {
                return code;
            }
            Process billing = billingProcess[0];
            say(err, "the application keeps writing, now to the target first and to the source as a backup ...");
            Thread.sleep(3000);
            app.close();
            dataSource.close();
            if (billing != null) {
                billing.destroy();
                billing.waitFor();
            }
            proxy.close();
            say(err, "the billing job stopped: " + Human.count(billingProxy.stats().transactionsMirrored())
                    + " transactions went through tsmigrate proxy to both sides, " + billingProxy.stats().dualWrite().journaled()
                    + " journaled");
            say(err, "the application stopped: " + Human.count(application.transactions()) + " write transactions ("
                    + Human.count(application.writesOnTarget()) + " after the switch), " + Human.count(application.readings())
                    + " readings, " + Human.count(application.reads()) + " reads, " + application.errors() + " errors"
                    + (application.lastError() == null ? "" : " (last: " + application.lastError() + ")"));

            // Up to now: the application has stopped, so every row it wrote is older (no range ending in the future).
            String until = Instant.now().plusSeconds(1).truncatedTo(ChronoUnit.SECONDS).toString();
            VerifyResult last = Verifier.run(source, target, VerifyOptions.builder().until(until).build(), line -> { });
            out.println();
            out.println("Final check, after the application stopped: every row of every table, including those written after T:");
            VerifyCommand.render(last, out);
            long expected = rows + application.readings();
            long onSource = DemoDatabase.readings(source);
            long onTarget = DemoDatabase.readings(target);
            out.printf("readings: %s created + %s written by the application = %s; the source holds %s, the target %s%n",
                    Human.count(rows), Human.count(application.readings()), Human.count(expected), Human.count(onSource),
                    Human.count(onTarget));
            boolean equal = last.match() && onSource == expected && onTarget == expected;
            out.println(equal ? "Nothing lost, nothing doubled: the target is the primary and holds exactly what the source holds."
                    : "DIFFERENCES: see above.");
            if (report != null) {
                Reports.write(target, report, "tsmigrate demo: PostgreSQL " + servers.source().major() + " to TimescaleDB");
                say(err, "report written to " + report.toAbsolutePath());
            }
            if (keep) {
                servers.detach();
                detached = true;
                out.println();
                out.println("The servers keep running (--keep):");
                out.println("  SOURCE=" + servers.source().uri("app"));
                out.println("  TARGET=" + servers.target().uri("app"));
                out.println("Stop them with: " + stopCommand(servers));
            }
            if (!equal) {
                throw new TsmigrateException(Kind.MISMATCH, "the final check found differences");
            }
            return ExitCodes.OK;
        } finally {
            try {
                if (billingProcess[0] != null) {
                    billingProcess[0].destroyForcibly();
                }
                if (proxy != null) {
                    proxy.close();
                }
                if (app != null) {
                    app.close();
                }
                if (dataSource != null) {
                    dataSource.close();
                }
                if (servers != null && !detached) {
                    servers.close();
                }
            } finally {
                // Whatever a close above threw, the work directory goes (it held the servers' data).
                if (ownDir && !detached) {
                    delete(work);
                }
            }
        }
    }

    private static String stopCommand(ServerPair servers) {
        return String.join(" && ", java.util.stream.Stream.of(servers.source(), servers.target()).map(s ->
                (isRoot() ? "runuser -u postgres -- " : "") + s.installation().tool("pg_ctl") + " -D " + s.directory().resolve("data")
                        + " stop").toList());
    }

    private static boolean isRoot() {
        return "root".equals(System.getProperty("user.name"));
    }

    private static void say(PrintWriter err, String line) {
        err.println("demo: " + line);
        err.flush();
    }

    private static void delete(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (var paths = Files.walk(dir)) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
