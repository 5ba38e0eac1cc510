package io.tsmigrate.cli;

import io.tsmigrate.core.TsmigrateException;
import org.junit.jupiter.api.Test;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** The exit codes the help promises, for what the real commands cannot be made to do on purpose. */
class MainTest {

    private static String[] report(Exception e, boolean verbose) {
        StringWriter err = new StringWriter();
        int code = Main.report(e, new PrintWriter(err, true), verbose);
        return new String[] {String.valueOf(code), err.toString()};
    }

    @Test
    void aBugIsAnInternalErrorExit1WithOneSentenceAndNoPassword() {
        IllegalStateException bug = new IllegalStateException("cannot reach postgres://app:s3cret@db.example:5432/prod");
        String[] quiet = report(bug, false);
        assertThat(quiet[0]).isEqualTo("1");
        assertThat(quiet[1]).isEqualTo("tsmigrate: internal error: java.lang.IllegalStateException: cannot reach "
                + "postgres://app:****@db.example:5432/prod; re-run with --verbose and report it.\n");

        String[] verbose = report(bug, true);
        assertThat(verbose[0]).isEqualTo("1");
        assertThat(verbose[1]).contains("\tat io.tsmigrate.cli.MainTest").doesNotContain("s3cret");
    }

    @Test
    void aUsageErrorIsExit2WithoutATraceEvenWhenVerbose() {
        String[] r = report(TsmigrateException.usage("--workers 0 must be at least 1."), true);
        assertThat(r[0]).isEqualTo("2");
        assertThat(r[1]).isEqualTo("tsmigrate: --workers 0 must be at least 1.\n");
    }

    @Test
    void anInterruptionIsExit130() {
        String[] r = report(new InterruptedException(), false);
        assertThat(r[0]).isEqualTo("130");
        assertThat(r[1]).isEqualTo("tsmigrate: interrupted.\n");
    }

    @Test
    void anUnknownCommandIsExit2() {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Main.run(new PrintWriter(out), new PrintWriter(err), Map.of(), new String[] {"no-such-command"});
        assertThat(code).isEqualTo(2);
        assertThat(err.toString()).startsWith("tsmigrate: ");
    }
}
