package dev.panbuf.bench;

import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.profile.GCProfiler;
import org.openjdk.jmh.results.Result;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.results.format.ResultFormatFactory;
import org.openjdk.jmh.results.format.ResultFormatType;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.format.OutputFormatFactory;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;
import org.openjdk.jmh.runner.options.VerboseMode;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

/**
 * {@code panbuf bench}: runs the JMH suite in forked JVMs and NumPy's same
 * operations, then writes {@code bench/results.md} (every result, its ratio to
 * its baseline measured in the same run, and whether its target is met),
 * {@code bench/ratios.png}, and the raw results as JSON ({@code jmh-results.json},
 * {@code numpy-results.json}).
 *
 * <pre>
 * panbuf bench            full mode: every benchmark and size; 2 forks, 5 x 0.5 s warm-up, 10 x 0.5 s measurement
 * panbuf bench --quick    the benchmarks behind the targets; 1 fork, 3 x 0.2 s + 5 x 0.2 s (about 8 minutes on 2 cores)
 * panbuf bench --targets  the same benchmarks with the full mode's timing, to settle close calls (about 25 minutes)
 * panbuf bench --smoke    two benchmarks in this JVM for 0.1 s each, no report: proves the suite starts (CI)
 *   --only REGEX          benchmarks of the whole suite whose Class.method matches (their targets' baselines are added)
 *   --out DIR             where the report goes (default: bench/ in the checkout)
 *   --no-numpy            skip NumPy
 * </pre>
 *
 * <p>Started by {@code dev.panbuf.cli.Main} in a child JVM whose class path adds
 * the compiled benchmarks, so the library itself never depends on JMH.
 */
public final class BenchMain {

    /** JVM options of every forked benchmark JVM (PERFORMANCE.md, pitfall 14). */
    static final List<String> FORK_JVM_ARGS = List.of("--enable-native-access=ALL-UNNAMED",
            "--add-opens=java.base/java.nio=ALL-UNNAMED",   // Arrow Java's memory module (the Arrow benchmarks)
            "--add-modules=jdk.incubator.vector", "-Xms1g", "-Xmx1g", "-XX:+AlwaysPreTouch");

    /** How long and how often each benchmark runs. */
    enum Mode {
        QUICK(1, 3, 200, 5, 200), TARGETS(2, 5, 500, 10, 500), FULL(2, 5, 500, 10, 500), SMOKE(0, 0, 100, 1, 100);

        final int forks;
        final int warmups;
        final int warmupMs;
        final int iterations;
        final int iterationMs;

        Mode(int forks, int warmups, int warmupMs, int iterations, int iterationMs) {
            this.forks = forks;
            this.warmups = warmups;
            this.warmupMs = warmupMs;
            this.iterations = iterations;
            this.iterationMs = iterationMs;
        }

        String describe(int forkCount) {
            return (forkCount == 0 ? "no fork" : forkCount + (forkCount == 1 ? " fork" : " forks")) + ", " + warmups + " × "
                    + warmupMs + " ms warm-up, " + iterations + " × " + iterationMs + " ms measurement";
        }
    }

    /**
     * One benchmark's outcome, times in nanoseconds per operation;
     * {@code forkMediansNs} holds each fork's median, in fork order.
     */
    record Measured(double medianNs, double errorNs, double allocBytes, double[] forkMediansNs, RunResult raw,
                    String failure) {
        boolean ok() {
            return failure == null;
        }
    }

    private BenchMain() {}

    /**
     * Where JMH prints what the forked JVMs write to stderr: every fork repeats
     * the same start-up warnings, which would break up the progress lines.
     * Anything else (a benchmark's exception, say) goes through.
     */
    private static final PrintStream FORK_OUTPUT = new PrintStream(new LineFilter(System.err, List.of(
            "WARNING: Using incubator modules", "WARNING: A terminally deprecated method in sun.misc.Unsafe",
            "WARNING: sun.misc.Unsafe::", "WARNING: Please consider reporting this to the maintainers of class org.openjdk.jmh")),
            true, StandardCharsets.UTF_8);

    public static void main(String[] args) {
        System.exit(run(args, System.out));
    }

    /** Passes lines through, except those starting with one of the given prefixes. */
    private static final class LineFilter extends java.io.OutputStream {
        private final PrintStream target;
        private final List<String> drop;
        private final java.io.ByteArrayOutputStream line = new java.io.ByteArrayOutputStream();

        LineFilter(PrintStream target, List<String> drop) {
            this.target = target;
            this.drop = drop;
        }

        @Override
        public synchronized void write(int b) {
            line.write(b);
            if (b == '\n') {
                String text = line.toString(StandardCharsets.UTF_8);
                line.reset();
                if (drop.stream().noneMatch(text::startsWith)) {
                    target.print(text);
                }
            }
        }

        @Override
        public synchronized void flush() {
            target.flush();
        }
    }

    static int run(String[] args, PrintStream out) {
        Mode mode = Mode.FULL;
        int forks = -1;
        Pattern only = null;
        boolean numpy = true;
        Path home = Path.of(System.getProperty("panbuf.home", ".")).toAbsolutePath().normalize();
        Path outDir = home.resolve("bench");
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--quick" -> mode = Mode.QUICK;
                case "--targets" -> mode = Mode.TARGETS;
                case "--full" -> mode = Mode.FULL;
                case "--smoke" -> mode = Mode.SMOKE;
                case "--no-numpy" -> numpy = false;
                case "--only" -> only = Pattern.compile(value(args, ++i, "--only"));
                case "--out" -> outDir = Path.of(value(args, ++i, "--out")).toAbsolutePath();
                case "--forks" -> {
                    String v = value(args, ++i, "--forks");
                    try {
                        forks = Integer.parseInt(v);
                    } catch (NumberFormatException e) {
                        forks = -2;
                    }
                    if (forks < 1 || forks > 50) {
                        System.err.println("panbuf bench: --forks takes a number of forked JVMs from 1 to 50, not '" + v + "'");
                        return 2;
                    }
                }
                case "-h", "--help" -> {
                    out.println("usage: panbuf bench [--quick | --targets | --full | --smoke] [--forks N] [--only REGEX] [--out DIR]"
                            + " [--no-numpy]");
                    return 0;
                }
                default -> {
                    System.err.println("panbuf bench: unknown option '" + args[i] + "' (try --help)");
                    return 2;
                }
            }
        }
        if (mode == Mode.SMOKE && forks > 0) {
            System.err.println("panbuf bench: --smoke runs in this JVM, without forks; leave out --forks");
            return 2;
        }
        int forkCount = forks > 0 ? forks : mode.forks;
        // --only picks from the whole suite, whatever the mode; the mode sets the timing.
        List<Plan.Case> cases = Plan.complete(switch (mode) {
            case QUICK, TARGETS -> only != null ? Plan.full() : Plan.quick();
            case FULL -> Plan.full();
            case SMOKE -> Plan.smoke();
        }, only, mode != Mode.SMOKE);
        if (cases.isEmpty()) {
            System.err.println("panbuf bench: no benchmark matches " + only);
            return 2;
        }
        forkPython = pythonForForks(home);
        if (cases.stream().anyMatch(c -> c.type() == PythonHandOffBenchmark.class)) {
            String missing = pythonPeersMissing();
            if (missing != null) {
                out.println("panbuf bench: leaving out the Python hand-off benchmarks: " + missing + "; make the peer venv"
                        + " with scripts/python-venv (panbuf bench then uses target/python-venv), or name a Python with"
                        + " NumPy and PyTorch with -Dpanbuf.python");
                cases = cases.stream().filter(c -> c.type() != PythonHandOffBenchmark.class).toList();
                if (cases.isEmpty()) {
                    return 2;
                }
            }
        }
        String command = "./panbuf bench" + (args.length == 0 ? "" : " " + String.join(" ", args));
        Instant start = Instant.now();
        String loadBefore = Machine.loadAverage();
        out.println("panbuf bench: " + cases.size() + " benchmarks, " + mode.describe(forkCount) + "; load average " + loadBefore);
        if (forkPython != null && cases.stream().anyMatch(c -> c.type() == PythonHandOffBenchmark.class)) {
            out.println("panbuf bench: the Python benchmarks run with -Dpanbuf.python=" + forkPython);
        }

        Map<String, Object> numpyResults = null;
        if (numpy && mode != Mode.SMOKE) {
            numpyResults = runNumpy(home, mode, out);
        }
        Map<Plan.Case, Measured> results = new LinkedHashMap<>();
        int n = 0;
        int failures = 0;
        Instant jmhStart = Instant.now();
        for (Plan.Case c : cases) {
            n++;
            Duration elapsed = Duration.between(start, Instant.now());
            String eta = n > 3 ? ", ~" + clock(Duration.between(jmhStart, Instant.now()).dividedBy(n - 1)
                    .multipliedBy(cases.size() - n + 1)) + " left" : "";
            out.printf(Locale.ROOT, "[%3d/%d %s%s] %-62s ", n, cases.size(), clock(elapsed), eta, c.toString());
            out.flush();
            Measured m = measure(c, mode, forkCount);
            results.put(c, m);
            if (m.ok()) {
                out.println(Report.time(m.medianNs(), m.errorNs()) + (Double.isNaN(m.allocBytes()) ? ""
                        : String.format(Locale.ROOT, "  %.0f B/op", m.allocBytes())));
            } else {
                failures++;
                out.println("FAILED: " + m.failure());
            }
        }
        Duration total = Duration.between(start, Instant.now());
        if (mode == Mode.SMOKE) {
            out.println("panbuf bench --smoke: " + (cases.size() - failures) + " of " + cases.size()
                    + " benchmarks ran, in " + clock(total));
            return failures == 0 ? 0 : 1;
        }
        try {
            Files.createDirectories(outDir);
            List<RunResult> raw = new ArrayList<>();
            results.values().stream().filter(Measured::ok).forEach(m -> raw.add(m.raw()));
            Files.writeString(outDir.resolve("jmh-results.json"), withoutMachinePaths(jmhJson(raw), home));
            if (numpyResults != null) {
                Files.writeString(outDir.resolve("numpy-results.json"), (String) numpyResults.get("$text"));
            }
            Report report = new Report(mode, forkCount, command, results, numpyResults, total, loadBefore, Machine.loadAverage());
            Files.writeString(outDir.resolve("results.md"), report.markdown());
            Chart.write(report, outDir.resolve("ratios.png"));
            out.println();
            out.println(report.summary());
            out.println("panbuf bench: wrote results.md, ratios.png, jmh-results.json"
                    + (numpyResults != null ? ", numpy-results.json" : "") + " to " + outDir + " in " + clock(total));
        } catch (IOException e) {
            System.err.println("panbuf bench: cannot write the report to " + outDir + ": " + e.getMessage());
            return 1;
        }
        return failures == 0 ? 0 : 1;
    }

    /** JMH's JSON for {@code raw}, as its own writer makes it. */
    private static String jmhJson(List<RunResult> raw) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (PrintStream json = new PrintStream(bytes, true, StandardCharsets.UTF_8)) {
            ResultFormatFactory.getInstance(ResultFormatType.JSON, json).writeOut(raw);
        }
        return bytes.toString(StandardCharsets.UTF_8);
    }

    /**
     * {@code json} with the paths of this machine left out, so that a report
     * committed with the project names none: the checkout's folder becomes
     * relative ({@code -Dpanbuf.python=target/python-venv/bin/python}) and
     * each fork's JVM is named by its file ({@code "jvm" : "java"}).
     */
    static String withoutMachinePaths(String json, Path home) {
        String relative = json.replace((home + File.separator).replace("\\", "\\\\"), "");
        return JVM_PATH.matcher(relative).replaceAll("$1$2");
    }

    /** JMH's {@code "jvm"} entry with a path: group 1 is the key, group 2 the file name and closing quote. */
    private static final Pattern JVM_PATH = Pattern.compile("(\"jvm\" : \")[^\"]*[/\\\\]([^\"/\\\\]+\")");

    /** The Python the forks embed ({@code -Dpanbuf.python}), or null to let them find it themselves. */
    private static String forkPython;

    /**
     * {@code -Dpanbuf.python} when given; else, unless {@code $PANBUF_PYTHON}
     * says otherwise (forks inherit the environment), the project's peer venv
     * ({@code target/python-venv}, with NumPy and PyTorch) when it exists.
     */
    static String pythonForForks(Path home) {
        String p = System.getProperty("panbuf.python");
        if (p != null && !p.isBlank()) {
            return p;
        }
        String env = System.getenv("PANBUF_PYTHON");
        if (env != null && !env.isBlank()) {
            return null;
        }
        Path venv = home.resolve("target/python-venv/bin/python");
        return Files.isExecutable(venv) ? venv.toString() : null;
    }

    private static Measured measure(Plan.Case c, Mode mode, int forkCount) {
        // A benchmark (or class) that needs a longer warm-up than the mode gives says so with @Warmup.
        Warmup w;
        try {
            w = c.type().getMethod(c.method()).getAnnotation(Warmup.class);
        } catch (NoSuchMethodException e) {
            throw new IllegalStateException(e);
        }
        if (w == null) {
            w = c.type().getAnnotation(Warmup.class);
        }
        int warmups = mode.warmups;
        long warmupMs = mode.warmupMs;
        if (w != null && mode != Mode.SMOKE) {
            warmups = Math.max(warmups, w.iterations());
            warmupMs = Math.max(warmupMs, w.timeUnit().toMillis(w.time()));
        }
        ChainedOptionsBuilder b = new OptionsBuilder()
                .include("^" + Pattern.quote(c.type().getName() + "." + c.method()) + "$")
                .forks(forkCount)
                .warmupIterations(warmups)
                .warmupTime(TimeValue.milliseconds(warmupMs))
                .measurementIterations(mode.iterations)
                .measurementTime(TimeValue.milliseconds(mode.iterationMs))
                .threads(1)
                .jvmArgs(forkJvmArgs())
                .shouldFailOnError(true)
                .verbosity(VerboseMode.SILENT);
        if (mode != Mode.SMOKE) {
            b.addProfiler(GCProfiler.class);
        }
        c.params().forEach(b::param);
        try {
            RunResult r = new Runner(b.build(), OutputFormatFactory.createFormatInstance(FORK_OUTPUT, VerboseMode.SILENT))
                    .runSingle();
            Result<?> primary = r.getPrimaryResult();
            double scale = TimeUnit.NANOSECONDS.convert(1, r.getParams().getTimeUnit());
            double median = primary.getStatistics().getPercentile(50) * scale;
            double error = primary.getScoreError() * scale;
            Result<?> alloc = r.getSecondaryResults().get("gc.alloc.rate.norm");
            double[] forkMedians = r.getBenchmarkResults().stream()
                    .mapToDouble(fork -> median(fork.getIterationResults().stream()
                            .mapToDouble(it -> it.getPrimaryResult().getScore() * scale).toArray()))
                    .toArray();
            return new Measured(median, error, alloc == null ? Double.NaN : alloc.getScore(), forkMedians, r, null);
        } catch (RunnerException | RuntimeException e) {
            Throwable cause = e;
            while (cause.getCause() != null) {
                cause = cause.getCause();
            }
            String message = cause.getMessage() == null ? cause.toString() : cause.getMessage();
            return new Measured(Double.NaN, Double.NaN, Double.NaN, new double[0], null, message.lines().findFirst().orElse(message));
        }
    }

    /** The median of {@code values} (the mean of the middle two for an even count); NaN when empty. */
    static double median(double[] values) {
        if (values.length == 0) {
            return Double.NaN;
        }
        double[] v = values.clone();
        java.util.Arrays.sort(v);
        int mid = v.length / 2;
        return v.length % 2 == 1 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
    }

    /**
     * Why the forks' Python cannot run the hand-off benchmarks (no such
     * interpreter, or no NumPy or PyTorch in it), or null when it can.
     */
    private static String pythonPeersMissing() {
        String python = forkPython != null ? forkPython
                : System.getenv("PANBUF_PYTHON") != null && !System.getenv("PANBUF_PYTHON").isBlank()
                ? System.getenv("PANBUF_PYTHON") : "python3";
        try {
            Process p = new ProcessBuilder(python, "-c", "import numpy, torch").redirectErrorStream(true).start();
            String said;
            try (InputStream in = p.getInputStream()) {
                said = new String(in.readAllBytes(), StandardCharsets.UTF_8).strip();
            }
            if (p.waitFor() != 0) {
                String last = said.lines().reduce((a, b) -> b).orElse("exit " + p.exitValue());
                return python + " cannot import NumPy and PyTorch (" + last + ")";
            }
            return null;
        } catch (IOException e) {
            return "cannot run " + python + " (" + e.getMessage() + ")";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "interrupted";
        }
    }

    private static String[] forkJvmArgs() {
        List<String> args = new ArrayList<>(FORK_JVM_ARGS);
        if (forkPython != null) {
            args.add("-Dpanbuf.python=" + forkPython);
        }
        return args.toArray(String[]::new);
    }

    /** Runs {@code src/jmh/python/numpy_bench.py}; {@code null} (and a message) when NumPy is not available. */
    @SuppressWarnings("unchecked")
    private static Map<String, Object> runNumpy(Path home, Mode mode, PrintStream out) {
        Path script = home.resolve("src/jmh/python/numpy_bench.py");
        String python = System.getProperty("panbuf.python", "/usr/bin/python3");
        List<String> cmd = new ArrayList<>(List.of(python, script.toString()));
        if (mode == Mode.QUICK) {
            cmd.add("--quick");
        }
        out.println("[numpy] " + String.join(" ", cmd));
        try {
            Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
            String json;
            try (InputStream in = p.getInputStream()) {
                json = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            }
            int rc = p.waitFor();
            if (rc != 0) {
                out.println("[numpy] failed (exit " + rc + "); the report has no NumPy ratios");
                return null;
            }
            Map<String, Object> parsed = (Map<String, Object>) Json.parse(json);
            parsed.put("$text", json);
            return parsed;
        } catch (IOException | IllegalArgumentException e) {
            out.println("[numpy] cannot run " + python + " (" + e.getMessage() + "); the report has no NumPy ratios");
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }

    static String clock(Duration d) {
        long s = d.toSeconds();
        return s >= 3600 ? String.format(Locale.ROOT, "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60)
                : String.format(Locale.ROOT, "%d:%02d", s / 60, s % 60);
    }

    private static String value(String[] args, int i, String option) {
        if (i >= args.length) {
            throw new IllegalArgumentException(option + " needs a value");
        }
        return args[i];
    }
}
