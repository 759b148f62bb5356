package dev.panbuf.bench;

import org.openjdk.jmh.util.Version;

import java.time.Duration;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * The Markdown report of one {@code panbuf bench} run: the machine and command,
 * every target with its figures and verdict, then every benchmark with its
 * median, error, allocation and ratio to its baseline, then NumPy's figures.
 */
final class Report {

    /** One goal of one benchmark run, evaluated. */
    record Verdict(Plan.Case c, Goal goal, String baseline, double valueNs, double baselineNs, double ratio,
                   Boolean met, boolean withinError, String why, Forks forks) {

        boolean hasTarget() {
            return Goals.hasTarget(goal);
        }

        /** What was measured, in the target's terms: {@code 0.98×}, {@code +1.2 ns}, {@code 14.1 ns}. */
        String measured() {
            if (why != null) {
                return why;
            }
            List<String> parts = new ArrayList<>();
            if (!Double.isNaN(ratio) && (!Double.isNaN(goal.maxRatio()) || Double.isNaN(goal.maxExtraNs()) && Double.isNaN(goal.maxNs()))) {
                parts.add(Goals.ratio(ratio) + "× " + baseline);
            }
            if (!Double.isNaN(goal.maxExtraNs())) {
                parts.add(String.format(Locale.ROOT, "%+.1f ns vs %s", valueNs - baselineNs, baseline));
            }
            if (!Double.isNaN(goal.maxNs())) {
                parts.add(time(valueNs, Double.NaN));
            }
            return String.join(", ", parts) + (forks == null ? "" : "; " + forks.text());
        }

        String status() {
            if (met == null) {
                return "n/a";
            }
            return (met ? "met" : "**not met**") + (withinError ? " (within error)" : "");
        }
    }

    /**
     * A target judged fork by fork: fork k of the benchmark against fork k of
     * its JMH baseline (or alone, for an absolute target). Different JVMs can
     * compile the same loop differently, so a target that holds for the
     * pooled median may still fail in one JVM in five.
     */
    record Forks(int met, int count, double lowest, double highest, boolean ratios) {
        String text() {
            String range = ratios ? Goals.ratio(lowest) + "–" + Goals.ratio(highest) + "×"
                    : time(lowest, Double.NaN) + "–" + time(highest, Double.NaN);
            return "met in " + met + " of " + count + " forks (" + range + ")";
        }

        boolean all() {
            return met == count;
        }
    }

    private final BenchMain.Mode mode;
    private final int forkCount;
    private final String command;
    private final Map<Plan.Case, BenchMain.Measured> results;
    private final Map<String, Object> numpy;
    private final Duration duration;
    private final String loadBefore;
    private final String loadAfter;
    private final Map<Plan.Case, List<Verdict>> verdicts = new LinkedHashMap<>();

    Report(BenchMain.Mode mode, int forkCount, String command, Map<Plan.Case, BenchMain.Measured> results, Map<String, Object> numpy,
           Duration duration, String loadBefore, String loadAfter) {
        this.mode = mode;
        this.forkCount = forkCount;
        this.command = command;
        this.results = results;
        this.numpy = numpy;
        this.duration = duration;
        this.loadBefore = loadBefore;
        this.loadAfter = loadAfter;
        for (Plan.Case c : results.keySet()) {
            List<Verdict> list = new ArrayList<>();
            for (Goal g : c.goals()) {
                if (Goals.applies(g, c)) {
                    list.add(evaluate(c, g));
                }
            }
            verdicts.put(c, list);
        }
    }

    List<Verdict> verdicts() {
        List<Verdict> all = new ArrayList<>();
        verdicts.values().forEach(all::addAll);
        return all;
    }

    private Verdict evaluate(Plan.Case c, Goal g) {
        BenchMain.Measured m = results.get(c);
        String label = Goals.baselineLabel(g);
        if (!m.ok()) {
            return new Verdict(c, g, label, Double.NaN, Double.NaN, Double.NaN, null, false, "benchmark failed", null);
        }
        double value = m.medianNs();
        double error = m.errorNs();
        double base = Double.NaN;
        double baseError = Double.NaN;
        if (!g.baseline().isEmpty()) {
            double[] b = baselineOf(g, c);
            if (b == null) {
                return new Verdict(c, g, label, value, Double.NaN, Double.NaN, null, false,
                        "baseline " + label + " not measured", null);
            }
            base = b[0];
            baseError = b[1];
        }
        double ratio = value / base;
        if (!Goals.hasTarget(g)) {
            return new Verdict(c, g, label, value, base, ratio, null, false, null, null);
        }
        boolean met = true;
        boolean withinError = false;
        double relError = Math.sqrt(sq(error / value) + (Double.isNaN(baseError) ? 0 : sq(baseError / base)));
        if (Double.isNaN(relError)) {
            relError = 0;
        }
        if (!Double.isNaN(g.maxRatio())) {
            boolean ok = ratio <= g.maxRatio();
            met &= ok;
            withinError |= ok ? ratio * (1 + relError) > g.maxRatio() : ratio * (1 - relError) <= g.maxRatio();
        }
        if (!Double.isNaN(g.maxExtraNs())) {
            double extra = value - base;
            double extraError = Math.sqrt(sq(error) + sq(Double.isNaN(baseError) ? 0 : baseError));
            boolean ok = extra <= g.maxExtraNs();
            met &= ok;
            withinError |= ok ? extra + extraError > g.maxExtraNs() : extra - extraError <= g.maxExtraNs();
        }
        if (!Double.isNaN(g.maxNs())) {
            boolean ok = value <= g.maxNs();
            met &= ok;
            withinError |= ok ? value + error > g.maxNs() : value - error <= g.maxNs();
        }
        return new Verdict(c, g, label, value, base, ratio, met, withinError, null, byFork(c, g));
    }

    /** The target fork by fork, when the run had two forks or more and the baseline is a JMH benchmark (or none). */
    private Forks byFork(Plan.Case c, Goal g) {
        double[] mine = results.get(c).forkMediansNs();
        if (forkCount < 2 || mine.length < 2 || g.baseline().startsWith(Goals.NUMPY)) {
            return null;
        }
        double[] theirs = null;
        if (!g.baseline().isEmpty()) {
            BenchMain.Measured b = results.get(Goals.javaBaseline(g, c));
            if (b == null || b.forkMediansNs().length != mine.length) {
                return null;
            }
            theirs = b.forkMediansNs();
        }
        boolean ratios = theirs != null && (!Double.isNaN(g.maxRatio()) || Double.isNaN(g.maxExtraNs()) && Double.isNaN(g.maxNs()));
        int met = 0;
        double lowest = Double.POSITIVE_INFINITY;
        double highest = Double.NEGATIVE_INFINITY;
        for (int k = 0; k < mine.length; k++) {
            double base = theirs == null ? Double.NaN : theirs[k];
            boolean ok = (Double.isNaN(g.maxRatio()) || mine[k] / base <= g.maxRatio())
                    && (Double.isNaN(g.maxExtraNs()) || mine[k] - base <= g.maxExtraNs())
                    && (Double.isNaN(g.maxNs()) || mine[k] <= g.maxNs());
            met += ok ? 1 : 0;
            double shown = ratios ? mine[k] / base : mine[k];
            lowest = Math.min(lowest, shown);
            highest = Math.max(highest, shown);
        }
        return new Forks(met, mine.length, lowest, highest, ratios);
    }

    private static double sq(double v) {
        return v * v;
    }

    /** {median, error} of the baseline in ns, or {@code null} when it was not measured. */
    @SuppressWarnings("unchecked")
    private double[] baselineOf(Goal g, Plan.Case c) {
        if (g.baseline().startsWith(Goals.NUMPY)) {
            if (numpy == null) {
                return null;
            }
            String name = g.baseline().substring(Goals.NUMPY.length());
            Map<String, String> wanted = Goals.baselineParams(g, c);
            for (Object o : (List<Object>) numpy.get("results")) {
                Map<String, Object> r = (Map<String, Object>) o;
                Map<String, Object> params = (Map<String, Object>) r.get("params");
                if (name.equals(r.get("name")) && params.size() == wanted.size()
                        && params.entrySet().stream().allMatch(e -> Objects.equals(wanted.get(e.getKey()), String.valueOf(e.getValue())))) {
                    return new double[] {(Double) r.get("median_ns"), (Double) r.get("error_ns")};
                }
            }
            return null;
        }
        Plan.Case base = Goals.javaBaseline(g, c);
        BenchMain.Measured m = results.get(base);
        return m == null || !m.ok() ? null : new double[] {m.medianNs(), m.errorNs()};
    }

    // ----------------------------------------------------------------- text

    String summary() {
        long met = verdicts().stream().filter(v -> v.hasTarget() && Boolean.TRUE.equals(v.met())).count();
        long missed = verdicts().stream().filter(v -> v.hasTarget() && Boolean.FALSE.equals(v.met())).count();
        long unknown = verdicts().stream().filter(v -> v.hasTarget() && v.met() == null).count();
        StringBuilder sb = new StringBuilder("targets: " + met + " met, " + missed + " not met"
                + (unknown > 0 ? ", " + unknown + " not evaluated" : ""));
        for (Verdict v : verdicts()) {
            if (v.hasTarget() && !Boolean.TRUE.equals(v.met())) {
                sb.append("\n  ").append(v.status().replace("*", "")).append(": ").append(v.c())
                        .append(" ").append(Goals.targetText(v.goal())).append(" — ").append(v.measured());
            }
        }
        for (Verdict v : verdicts()) {
            if (v.hasTarget() && Boolean.TRUE.equals(v.met()) && v.forks() != null && !v.forks().all()) {
                sb.append("\n  met, but not in every fork: ").append(v.c()).append(" ").append(Goals.targetText(v.goal()))
                        .append(" — ").append(v.measured());
            }
        }
        return sb.toString();
    }

    String markdown() {
        StringBuilder md = new StringBuilder();
        md.append("# panbuf benchmarks\n\n");
        md.append("Generated by `").append(command).append("` on ")
                .append(ZonedDateTime.now().format(DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm z"))).append(" in ")
                .append(BenchMain.clock(duration)).append(" (").append(mode.name().toLowerCase(Locale.ROOT))
                .append(" mode: ").append(mode.describe(forkCount)).append(").\n\n");
        md.append("| | |\n|---|---|\n");
        md.append("| CPU | ").append(Machine.cpuModel()).append(", ").append(Machine.cores()).append(" cores; ")
                .append(Machine.caches()).append(" |\n");
        md.append("| memory, OS | ").append(Machine.memory()).append("; ").append(Machine.os()).append(" |\n");
        md.append("| JDK | ").append(Machine.jdk()).append("; JMH ").append(Version.getPlainVersion()).append(" |\n");
        md.append("| fork JVM options | `").append(String.join(" ", BenchMain.FORK_JVM_ARGS))
                .append("` (`ExportCallBenchmark` adds `-XX:MaxDirectMemorySize=3g` for its 1 GiB array, `NpyIoBenchmark`"
                        + " `-XX:+UseTransparentHugePages`: see its javadoc) |\n");
        md.append("| C baselines | ").append(Machine.compiler()).append(", `-O3 -march=native`; JNI built against this JDK's `jni.h`"
                + (Jni.AVAILABLE ? "" : " — **not available in this run**")).append(" |\n");
        md.append("| NumPy | ").append(numpy == null ? "not run" : "NumPy " + numpy.get("numpy") + ", Python " + numpy.get("python")
                + " (`src/jmh/python/numpy_bench.py`, timeit: median of " + Math.round((Double) numpy.get("repeats")) + " repeats)").append(" |\n");
        md.append("| load average | ").append(loadBefore).append(" before, ").append(loadAfter).append(" after |\n\n");
        md.append("Scores are the median time per operation over all measurement iterations of all forks; ± is JMH's 99.9% "
                + "confidence half-interval (NumPy: half the interquartile range of the repeats). Ratios divide two times measured "
                + "in this run, so < 1 is faster than the baseline. A verdict marked \"within error\" would flip within the "
                + "errors of the two figures. Allocation is JMH's `gc.alloc.rate.norm` (`-prof gc`).\n\n");

        md.append("## Targets\n\n");
        md.append("| benchmark | params | measured | target | met |\n|---|---|---|---|---|\n");
        for (Verdict v : verdicts()) {
            if (v.hasTarget()) {
                md.append("| ").append(v.c().name()).append(" | ").append(params(v.c())).append(" | ").append(v.measured())
                        .append(" | ").append(Goals.targetText(v.goal())).append(" | ").append(v.status()).append(" |\n");
            }
        }
        allocationTarget(md);
        md.append('\n');

        Class<?> section = null;
        for (Map.Entry<Plan.Case, BenchMain.Measured> e : results.entrySet()) {
            Plan.Case c = e.getKey();
            if (c.type() != section) {
                md.append(section == null ? "" : "\n");
                section = c.type();
                md.append("## ").append(section.getSimpleName()).append("\n\n");
                md.append("| benchmark | params | median ± error | unit | alloc B/op | ratio to baseline | target | met |\n");
                md.append("|---|---|--:|---|--:|---|---|---|\n");
            }
            BenchMain.Measured m = e.getValue();
            List<Verdict> vs = verdicts.get(c);
            md.append("| ").append(c.method()).append(" | ").append(params(c)).append(" | ");
            if (m.ok()) {
                String[] t = scaled(m.medianNs(), m.errorNs());
                md.append(t[0]).append(" | ").append(t[1]).append(" | ")
                        .append(Double.isNaN(m.allocBytes()) ? "" : String.format(Locale.ROOT, "%.0f", m.allocBytes()));
            } else {
                md.append("failed: ").append(m.failure().replace("|", "\\|")).append(" | | ");
            }
            md.append(" | ").append(join(vs, Verdict::measured)).append(" | ")
                    .append(join(vs, v -> v.hasTarget() ? Goals.targetText(v.goal()) : "")).append(" | ")
                    .append(join(vs, v -> v.hasTarget() ? v.status() : "")).append(" |\n");
        }
        md.append('\n');
        numpyTable(md);
        return md.toString();
    }

    /**
     * Element access must not allocate: each view loop's {@code gc.alloc.rate.norm}
     * beyond that of its own {@code float[]}/{@code int[]} baseline loop, per
     * element summed. JMH's bookkeeping shows up in both (hundreds of bytes per
     * operation when a 64 MiB loop runs only a dozen times per iteration); an
     * allocation per element would be at least 16 bytes per element.
     */
    private void allocationTarget(StringBuilder md) {
        double worst = Double.NEGATIVE_INFINITY;
        String where = "";
        int count = 0;
        for (Map.Entry<Plan.Case, BenchMain.Measured> e : results.entrySet()) {
            Plan.Case c = e.getKey();
            BenchMain.Measured m = e.getValue();
            String size = c.params().get("size");
            if (!c.type().getSimpleName().contains("Sum") || !c.method().contains("View") || !m.ok() || size == null
                    || Double.isNaN(m.allocBytes()) || c.goals().isEmpty()) {
                continue;
            }
            Plan.Case base = Goals.javaBaseline(c.goals().get(0), c);
            BenchMain.Measured b = base == null ? null : results.get(base);
            if (b == null || !b.ok() || Double.isNaN(b.allocBytes())) {
                continue;
            }
            count++;
            double perElement = (m.allocBytes() - b.allocBytes()) / (Sizes.bytes(size) / 4.0);
            if (perElement > worst) {
                worst = perElement;
                where = String.format(Locale.ROOT, "%s: %.0f B/op, %s %.0f B/op", c, m.allocBytes(), base.method(), b.allocBytes());
            }
        }
        if (count > 0) {
            md.append("| element access (").append(count).append(" view loops) | | most beyond its baseline loop: ")
                    .append(String.format(Locale.ROOT, "%.1e B per element", Math.max(worst, 0))).append(" (").append(where)
                    .append(") | 0 B/op (≤ 0.001 B per element beyond the baseline loop) | ")
                    .append(worst <= 0.001 ? "met" : "**not met**").append(" |\n");
        }
    }

    @SuppressWarnings("unchecked")
    private void numpyTable(StringBuilder md) {
        if (numpy == null) {
            return;
        }
        md.append("## NumPy ").append(numpy.get("numpy")).append("\n\n");
        md.append("| operation | code | params | median ± error | unit |\n|---|---|---|--:|---|\n");
        for (Object o : (List<Object>) numpy.get("results")) {
            Map<String, Object> r = (Map<String, Object>) o;
            Map<String, Object> params = (Map<String, Object>) r.get("params");
            StringBuilder p = new StringBuilder();
            params.forEach((k, v) -> p.append(p.isEmpty() ? "" : ",").append(k).append('=').append(v));
            String[] t = scaled((Double) r.get("median_ns"), (Double) r.get("error_ns"));
            md.append("| ").append(r.get("name")).append(" | `").append(r.get("code")).append("` | ").append(p)
                    .append(" | ").append(t[0]).append(" | ").append(t[1]).append(" |\n");
        }
        md.append('\n');
    }

    private static String params(Plan.Case c) {
        return c.paramText().replace(",", ", ");
    }

    private static String join(List<Verdict> vs, java.util.function.Function<Verdict, String> f) {
        List<String> parts = new ArrayList<>();
        for (Verdict v : vs) {
            String s = f.apply(v);
            parts.add(s == null ? "" : s);
        }
        String joined = String.join("<br>", parts);
        return joined.replaceAll("(<br>)+$", "");
    }

    /** {@code {"231.4 ± 3.1", "µs/op"}}: median and error in one unit chosen by the median. */
    static String[] scaled(double ns, double errorNs) {
        String[] units = {"ns/op", "µs/op", "ms/op", "s/op"};
        int u = 0;
        double v = ns;
        double e = errorNs;
        while (Math.abs(v) >= 1000 && u < units.length - 1) {
            v /= 1000;
            e /= 1000;
            u++;
        }
        int decimals = Math.abs(v) >= 100 ? 1 : Math.abs(v) >= 10 ? 2 : 3;
        String fmt = "%." + decimals + "f";
        String text = String.format(Locale.ROOT, fmt, v)
                + (Double.isNaN(e) ? "" : " ± " + String.format(Locale.ROOT, fmt, e));
        return new String[] {text, units[u]};
    }

    /** {@code 231.4 ± 3.1 µs/op}. */
    static String time(double ns, double errorNs) {
        String[] t = scaled(ns, errorNs);
        return t[0] + " " + t[1];
    }
}
