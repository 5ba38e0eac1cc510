package io.tsmigrate.core.report;

import com.fasterxml.jackson.databind.JsonNode;
import io.tsmigrate.core.Human;
import io.tsmigrate.core.json.Json;
import io.tsmigrate.core.load.LoadComparison;
import io.tsmigrate.core.migrate.MigrationStatus;
import io.tsmigrate.core.state.BackfillRanges;
import io.tsmigrate.core.state.PlanStore;
import io.tsmigrate.core.state.Steps;
import io.tsmigrate.core.state.VerificationRuns;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * The migration report as one self-contained HTML file (no scripts, no external resources), drawn
 * from the target's {@code tsmigrate} state alone: the steps and their timings, backfill throughput
 * over time per table, verification per range, source and target read latency per query shape, and
 * the plan's hazards. Plots are inline SVG.
 */
public final class HtmlReport {

    private static final String[] COLORS = {"#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf"};
    private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss 'UTC'").withZone(ZoneOffset.UTC);

    private final StringBuilder html = new StringBuilder();

    private HtmlReport() {
    }

    /**
     * The report, its header naming both databases (as tsmigrate describes them: no password), the
     * tsmigrate that made it, and when the migration began, ended and how long it took.
     */
    public static String render(Connection target, String title, String targetDescription, String version) throws SQLException {
        HtmlReport r = new HtmlReport();
        MigrationStatus.Report status = MigrationStatus.read(target);
        r.head(title, status);
        r.identity(PlanStore.source(target).orElse("not recorded (the schema step has not run)"), targetDescription, version, status);
        r.steps(status);
        r.backfill(target);
        r.verification(target);
        r.latency(LoadComparison.read(target, 1.5, 20));
        r.hazards(target);
        r.html.append("</body></html>\n");
        return r.html.toString();
    }

    private void head(String title, MigrationStatus.Report status) {
        html.append("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>").append(esc(title)).append("</title>")
                .append("<style>body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222;max-width:1100px}")
                .append("h1{font-size:22px}h2{font-size:17px;margin-top:2em;border-bottom:1px solid #ddd}")
                .append("table{border-collapse:collapse}td,th{padding:3px 8px;border-bottom:1px solid #eee;text-align:left;vertical-align:top}")
                .append("th{background:#f6f6f6}.ok{color:#2a7d2a}.bad{color:#b22}.muted{color:#777}svg text{font:11px sans-serif}")
                .append("</style></head><body>\n");
        html.append("<h1>").append(esc(title)).append("</h1>\n");
        html.append("<p id=\"phase\"><b>").append(esc(status.phase())).append("</b> &middot; primary: ").append(esc(status.primary()))
                .append(" &middot; report made ").append(TIME.format(status.at())).append("</p>\n");
    }

    private void identity(String source, String target, String version, MigrationStatus.Report status) {
        Optional<Instant> began = status.steps().stream().map(MigrationStatus.StepRow::startedAt).min(Instant::compareTo);
        boolean running = status.steps().stream().anyMatch(st -> st.finishedAt().isEmpty());
        Optional<Instant> ended = running ? Optional.empty()
                : status.steps().stream().map(st -> st.finishedAt().orElseThrow()).max(Instant::compareTo);
        html.append("<table id=\"identity\"><tr><th>source</th><td>").append(esc(source)).append("</td></tr>\n<tr><th>target</th><td>")
                .append(esc(target)).append("</td></tr>\n<tr><th>made by</th><td>").append(esc(version)).append("</td></tr>\n")
                .append("<tr><th>began</th><td>").append(began.map(TIME::format).orElse("not yet")).append("</td></tr>\n")
                .append("<tr><th>ended</th><td>").append(ended.map(TIME::format).orElse(running ? "still running" : "not yet"))
                .append("</td></tr>\n<tr><th>took</th><td>").append(began.map(b -> esc(Human.duration(Duration.between(b,
                        ended.orElse(status.at()))))).orElse("")).append(ended.isEmpty() && began.isPresent() ? " so far" : "")
                .append("</td></tr></table>\n");
    }

    private void steps(MigrationStatus.Report status) {
        html.append("<h2>Steps</h2>\n<table id=\"steps\"><tr><th>step</th><th>status</th><th>started</th><th>took</th><th>what it did</th></tr>\n");
        Instant first = status.steps().stream().map(MigrationStatus.StepRow::startedAt).min(Instant::compareTo).orElse(status.at());
        Instant last = status.steps().stream().map(s -> s.finishedAt().orElse(status.at())).max(Instant::compareTo).orElse(status.at());
        double span = Math.max(1, Duration.between(first, last).toMillis());
        for (MigrationStatus.StepRow s : status.steps()) {
            Duration took = Duration.between(s.startedAt(), s.finishedAt().orElse(status.at()));
            double x = Duration.between(first, s.startedAt()).toMillis() / span * 200;
            double w = Math.max(1, took.toMillis() / span * 200);
            html.append("<tr><td>").append(esc(s.name())).append("</td><td class=\"").append(s.status().equals("failed") ? "bad" : "ok")
                    .append("\">").append(esc(s.status())).append("</td><td>").append(TIME.format(s.startedAt())).append("</td><td>")
                    .append("<svg width=\"210\" height=\"12\"><rect x=\"").append(fmt(x)).append("\" y=\"2\" width=\"").append(fmt(w))
                    .append("\" height=\"8\" fill=\"#1f77b4\"/></svg> ").append(esc(Human.duration(took))).append("</td><td>")
                    .append(esc(s.message().orElse(""))).append("</td></tr>\n");
        }
        html.append("</table>\n");
    }

    /** Rows per second over time per table: each range's rows spread evenly over its own duration. */
    private void backfill(Connection target) throws SQLException {
        Map<String, List<double[]>> ranges = new LinkedHashMap<>();
        long min = Long.MAX_VALUE;
        long max = Long.MIN_VALUE;
        for (BackfillRanges.Copied c : BackfillRanges.copied(target)) {
            long s = c.started().toEpochMilli();
            long f = Math.max(s + 1, c.finished().toEpochMilli());
            ranges.computeIfAbsent(c.table(), k -> new ArrayList<>()).add(new double[] {s, f, c.rows()});
            min = Math.min(min, s);
            max = Math.max(max, f);
        }
        html.append("<h2>Backfill throughput</h2>\n");
        if (ranges.isEmpty()) {
            html.append("<p id=\"backfill-throughput\" class=\"muted\">No backfill range has finished yet.</p>\n");
            return;
        }
        // Up to 60 bins of a tenth of a second at least, so that a range of a few milliseconds does not draw a spike.
        int bins = (int) Math.max(10, Math.min(60, (max - min) / 100));
        double binMillis = Math.max(1, (max - min) / (double) bins);
        Map<String, double[]> series = new LinkedHashMap<>();
        Map<String, Integer> lastBin = new LinkedHashMap<>();
        double top = 1;
        for (Map.Entry<String, List<double[]>> e : ranges.entrySet()) {
            double end = e.getValue().stream().mapToDouble(r -> r[1]).max().orElse(max);
            lastBin.put(e.getKey(), (int) Math.min(bins - 1, Math.floor((end - min) / binMillis)));
            double[] rate = new double[bins];
            for (double[] r : e.getValue()) {
                double perMilli = r[2] / (r[1] - r[0]);
                for (int b = 0; b < bins; b++) {
                    double lo = min + b * binMillis;
                    double overlap = Math.min(lo + binMillis, r[1]) - Math.max(lo, r[0]);
                    if (overlap > 0) {
                        rate[b] += perMilli * overlap / binMillis * 1000;
                    }
                }
            }
            for (double v : rate) {
                top = Math.max(top, v);
            }
            series.put(e.getKey(), rate);
        }
        int w = 760;
        int h = 260;
        int left = 70;
        int bottom = 30;
        html.append("<svg id=\"backfill-throughput\" width=\"").append(w + 220).append("\" height=\"").append(h + bottom + 10)
                .append("\" role=\"img\" aria-label=\"backfill rows per second over time per table\">\n");
        axes(left, h, w, top, "rows/s");
        // Five ticks on the time axis: the first at the backfill's start (clock time), the others as time since.
        for (int t = 0; t <= 4; t++) {
            double x = left + w * t / 4.0;
            String label = t == 0 ? TIME.format(Instant.ofEpochMilli(min)) : "+" + Human.duration(Duration.ofMillis((max - min) * t / 4));
            html.append("<line x1=\"").append(fmt(x)).append("\" y1=\"").append(h).append("\" x2=\"").append(fmt(x)).append("\" y2=\"")
                    .append(h + 5).append("\" stroke=\"#999\"/><text x=\"").append(fmt(x)).append("\" y=\"").append(h + 18)
                    .append("\" text-anchor=\"").append(t == 0 ? "start" : t == 4 ? "end" : "middle").append("\">").append(esc(label))
                    .append("</text>\n");
        }
        int i = 0;
        for (Map.Entry<String, double[]> e : series.entrySet()) {
            String color = COLORS[i % COLORS.length];
            StringBuilder points = new StringBuilder();
            // A table's line ends when its last range did, instead of lying at zero for the others.
            for (int b = 0; b <= lastBin.get(e.getKey()); b++) {
                points.append(fmt(left + (b + 0.5) * w / bins)).append(',').append(fmt(h - e.getValue()[b] / top * (h - 10))).append(' ');
            }
            html.append("<polyline fill=\"none\" stroke=\"").append(color).append("\" stroke-width=\"2\" points=\"").append(points)
                    .append("\"/>\n<text x=\"").append(left + w + 10).append("\" y=\"").append(20 + 16 * i).append("\" fill=\"")
                    .append(color).append("\">").append(esc(e.getKey())).append("</text>\n");
            i++;
        }
        html.append("</svg>\n");
    }

    /** The last exact verification, range by range: one cell per range, green when equal. */
    private void verification(Connection target) throws SQLException {
        html.append("<h2>Verification</h2>\n");
        Optional<VerificationRuns.Run> last = VerificationRuns.lastExact(target);
        if (last.isEmpty()) {
            html.append("<p id=\"verification\" class=\"muted\">No exact verification has run yet.</p>\n");
            return;
        }
        String verdict = last.get().verdict().orElse("");
        html.append("<p>Last exact verification: <b class=\"").append("match".equals(verdict) ? "ok" : "bad").append("\">")
                .append(esc(verdict)).append("</b> at ").append(TIME.format(last.get().finishedAt().orElseThrow())).append("</p>\n");
        Map<String, List<VerificationRuns.CheckedRow>> tables = new LinkedHashMap<>();
        for (VerificationRuns.CheckedRow r : VerificationRuns.checked(target, last.get().id())) {
            tables.computeIfAbsent(r.table(), k -> new ArrayList<>()).add(r);
        }
        int cell = 14;
        int perRow = 50;
        int rows = tables.values().stream().mapToInt(l -> (l.size() + perRow - 1) / perRow).sum();
        html.append("<svg id=\"verification\" width=\"").append(200 + perRow * cell).append("\" height=\"").append(rows * (cell + 2) + 30)
                .append("\" role=\"img\" aria-label=\"verification verdict per range\">\n");
        int y = 0;
        for (Map.Entry<String, List<VerificationRuns.CheckedRow>> e : tables.entrySet()) {
            long same = e.getValue().stream().filter(r -> r.verdict().equals("match")).count();
            html.append("<text x=\"0\" y=\"").append(y + 11).append("\">").append(esc(e.getKey())).append(" (").append(same).append('/')
                    .append(e.getValue().size()).append(")</text>\n");
            for (int i = 0; i < e.getValue().size(); i++) {
                VerificationRuns.CheckedRow r = e.getValue().get(i);
                int x = 200 + (i % perRow) * cell;
                int yy = y + (i / perRow) * (cell + 2);
                html.append("<rect class=\"range ").append(r.verdict().equals("match") ? "match" : "differs").append("\" x=\"").append(x)
                        .append("\" y=\"").append(yy).append("\" width=\"").append(cell - 2).append("\" height=\"").append(cell - 2)
                        .append("\" fill=\"").append(r.verdict().equals("match") ? "#3a3" : "#d33").append("\"><title>")
                        .append(esc(r.bounds())).append(": ")
                        .append(r.sourceRows()).append(" rows on the source, ").append(r.targetRows()).append(" on the target, ")
                        .append(esc(r.verdict())).append("</title></rect>\n");
            }
            y += ((e.getValue().size() + perRow - 1) / perRow) * (cell + 2);
        }
        html.append("<text x=\"0\" y=\"").append(y + 22).append("\" fill=\"#777\">one square per range: green equal, red different</text>\n");
        html.append("</svg>\n");
        // The numbers as text too: a printed or pasted report has no tooltips.
        html.append("<table id=\"verification-counts\"><tr><th>table</th><th>ranges equal</th><th>source rows</th><th>target rows</th></tr>\n");
        for (Map.Entry<String, List<VerificationRuns.CheckedRow>> e : tables.entrySet()) {
            long same = e.getValue().stream().filter(r -> r.verdict().equals("match")).count();
            long sourceRows = e.getValue().stream().mapToLong(VerificationRuns.CheckedRow::sourceRows).sum();
            long targetRows = e.getValue().stream().mapToLong(VerificationRuns.CheckedRow::targetRows).sum();
            html.append("<tr><td>").append(esc(e.getKey())).append("</td><td class=\"").append(same == e.getValue().size() ? "ok" : "bad")
                    .append("\">").append(same).append(" of ").append(e.getValue().size()).append("</td><td>").append(Human.count(sourceRows))
                    .append("</td><td>").append(Human.count(targetRows)).append("</td></tr>\n");
        }
        html.append("</table>\n");
    }

    /** p50 and p95 per query shape on both sides, as bars on one scale. */
    private void latency(LoadComparison.Report load) {
        html.append("<h2>Read latency, source vs target</h2>\n");
        if (load.shapes().isEmpty()) {
            html.append("<p id=\"read-latency\" class=\"muted\">No shadow reads were recorded (the dual-write DataSource's "
                    + "shadowReadShare is off).</p>\n");
            return;
        }
        List<LoadComparison.Shape> shapes = load.shapes().stream().limit(12).toList();
        double top = shapes.stream().mapToDouble(s -> Math.max(s.source().p95(), s.target().p95())).max().orElse(1);
        int barW = 360;
        int rowH = 58;
        html.append("<svg id=\"read-latency\" width=\"").append(barW + 520).append("\" height=\"").append(shapes.size() * rowH + 30)
                .append("\" role=\"img\" aria-label=\"read latency per query shape\">\n");
        int y = 0;
        for (LoadComparison.Shape s : shapes) {
            String label = s.shape().length() > 70 ? s.shape().substring(0, 67) + "..." : s.shape();
            html.append("<text x=\"0\" y=\"").append(y + 12).append("\">").append(esc(label)).append("<title>").append(esc(s.shape()))
                    .append("</title></text>\n");
            bar("source", s.source(), top, barW, y + 16, "#1f77b4");
            bar("target", s.target(), top, barW, y + 29, "#ff7f0e");
            html.append("<text x=\"50\" y=\"").append(y + 52).append("\" fill=\"#555\">").append(s.calls()).append(" calls, ")
                    .append(s.mismatches()).append(" mismatches").append(s.expectedMismatches() > 0 ? " (+" + s.expectedMismatches()
                    + " expected before backfill)" : "").append(String.format(Locale.ROOT, ", p95 %.2fx", s.p95Ratio())).append("</text>\n");
            y += rowH;
        }
        html.append("<text x=\"0\" y=\"").append(y + 14).append("\" fill=\"#777\">bars: p50 (dark) and p95 (light); blue source, "
                + "orange target</text>\n</svg>\n");
    }

    private void bar(String side, LoadComparison.Percentiles p, double top, int width, int y, String color) {
        double p95 = p.p95() / top * width;
        double p50 = p.p50() / top * width;
        html.append("<text x=\"0\" y=\"").append(y + 9).append("\" fill=\"#777\">").append(side).append("</text>")
                .append("<rect x=\"50\" y=\"").append(y).append("\" width=\"").append(fmt(Math.max(1, p95))).append("\" height=\"10\" fill=\"")
                .append(color).append("\" opacity=\"0.35\"/><rect x=\"50\" y=\"").append(y).append("\" width=\"").append(fmt(Math.max(1, p50)))
                .append("\" height=\"10\" fill=\"").append(color).append("\"/><text x=\"").append(width + 60).append("\" y=\"").append(y + 9)
                .append("\">").append(String.format(Locale.ROOT, "p50 %.2f ms, p95 %.2f ms", p.p50() / 1000.0, p.p95() / 1000.0))
                .append("</text>\n");
    }

    /** The hazards the planner found, as the migrate run recorded them. */
    private void hazards(Connection target) throws SQLException {
        html.append("<h2>Plan hazards</h2>\n");
        JsonNode hazards = null;
        Optional<String> detail = new Steps(target).lastEventDetail("migrate.plan", "hazards");
        if (detail.isPresent()) {
            try {
                hazards = Json.mapper().readTree(detail.get()).path("hazards");
            } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                hazards = null;
            }
        }
        if (hazards == null) {
            html.append("<p id=\"hazards\" class=\"muted\">Not recorded: the plan was not made by tsmigrate migrate "
                    + "(tsmigrate plan prints its hazards).</p>\n");
            return;
        }
        html.append("<table id=\"hazards\"><tr><th>severity</th><th>hazard</th><th>what</th><th>remedy</th></tr>\n");
        if (hazards.isEmpty()) {
            html.append("<tr><td colspan=\"4\" class=\"ok\">none</td></tr>\n");
        }
        for (JsonNode h : hazards) {
            String severity = h.path("severity").asText().toLowerCase(Locale.ROOT);
            html.append("<tr><td class=\"").append(severity.equals("blocker") ? "bad" : "").append("\">").append(esc(severity))
                    .append("</td><td>").append(esc(h.path("code").asText())).append("</td><td>").append(esc(h.path("message").asText()))
                    .append("</td><td>").append(esc(h.path("remedy").asText())).append("</td></tr>\n");
        }
        html.append("</table>\n");
    }

    private void axes(int left, int h, int w, double top, String unit) {
        html.append("<line x1=\"").append(left).append("\" y1=\"").append(h).append("\" x2=\"").append(left + w).append("\" y2=\"")
                .append(h).append("\" stroke=\"#999\"/><line x1=\"").append(left).append("\" y1=\"0\" x2=\"").append(left)
                .append("\" y2=\"").append(h).append("\" stroke=\"#999\"/>\n");
        for (int t = 0; t <= 4; t++) {
            double v = top * t / 4;
            double y = h - v / top * (h - 10);
            html.append("<text x=\"").append(left - 6).append("\" y=\"").append(fmt(y + 4)).append("\" text-anchor=\"end\">")
                    .append(esc(Human.count((long) v))).append("</text>\n");
        }
        html.append("<text x=\"").append(left + 6).append("\" y=\"12\">").append(esc(unit)).append("</text>\n");
    }

    private static String fmt(double v) {
        return String.format(Locale.ROOT, "%.1f", v);
    }

    static String esc(String s) {
        StringBuilder out = new StringBuilder(s.length());
        for (char c : s.toCharArray()) {
            switch (c) {
                case '<' -> out.append("&lt;");
                case '>' -> out.append("&gt;");
                case '&' -> out.append("&amp;");
                case '"' -> out.append("&quot;");
                case '\'' -> out.append("&#39;");
                default -> out.append(c);
            }
        }
        return out.toString();
    }
}
