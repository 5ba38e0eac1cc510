package io.tsmigrate.cli;

import io.tsmigrate.core.AtomicFile;
import io.tsmigrate.core.TsmigrateException;
import io.tsmigrate.core.connect.ConnectionSpec;
import io.tsmigrate.core.connect.PgConnector;
import io.tsmigrate.core.connect.PgErrors;
import io.tsmigrate.core.report.HtmlReport;

import java.io.IOException;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;

/** Writes the HTML report of the migration whose state the target holds. */
final class Reports {

    private Reports() {
    }

    static void write(ConnectionSpec target, Path file, String title) {
        String html;
        try (Connection t = PgConnector.open(target)) {
            html = HtmlReport.render(t, title, target.describe(), new Version().getVersion()[0]);
        } catch (SQLException e) {
            throw PgErrors.failure("read the migration state for the report", target, e);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException("cannot read this tsmigrate's version: " + e.getMessage(), e);
        }
        try {
            AtomicFile.write(file, html);
        } catch (IOException e) {
            throw TsmigrateException.usage("cannot write the report " + file + ": " + e.getMessage());
        }
    }
}
