package dev.panbuf.cli;

import java.io.File;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * {@code panbuf bench}: starts the benchmark runner ({@code dev.panbuf.bench.BenchMain},
 * compiled from {@code src/jmh/java} into {@code target/jmh-classes}) in a child
 * JVM on this JDK, with the benchmarks added to this class path and the Vector
 * API module enabled. Keeping JMH and the charting library in that child keeps
 * them out of the library's module.
 */
final class Bench {

    /** The runner's main class, named here and nowhere else in the library. */
    private static final String RUNNER = "dev.panbuf.bench.BenchMain";

    static final String USAGE = """
            usage: panbuf bench [--quick | --targets | --full | --smoke] [--forks N] [--only REGEX] [--out DIR] [--no-numpy]

              (no mode)    full: every benchmark and size; 2 forks, 5 x 0.5 s warm-up, 10 x 0.5 s (about 2 hours)
              --quick      the benchmarks behind each target; 1 fork, shorter (about 4 minutes on 2 cores)
              --targets    the same benchmarks with the full mode's timing, to settle close calls
              --smoke      two benchmarks for 0.1 s each, no report: proves the suite starts
              --forks N    run each benchmark in N forked JVMs (1 to 50) instead of the mode's; from 2 forks,
                           each target is also judged fork by fork against the same fork of its baseline
              --only REGEX only the benchmarks whose Class.method matches (their baselines are added)
              --out DIR    where the report goes (default: bench/ in the checkout)
              --no-numpy   skip NumPy's side of the comparison

            Writes DIR/results.md (every result, its ratio to its baseline, whether its target is met),
            DIR/ratios.png and the raw JMH and NumPy JSON.""";

    private Bench() {}

    /**
     * Checks what the launcher can check without starting the benchmark JVM:
     * the options that take a value have one, and --only's is a valid regular
     * expression. Unknown options are the runner's to report.
     */
    static void checkArguments(String[] args) {
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (a.equals("--only") || a.equals("--out") || a.equals("--forks")) {
                if (i + 1 >= args.length || args[i + 1].isEmpty() || args[i + 1].startsWith("--")) {
                    throw new Main.UsageException(a + " needs a value" + (a.equals("--only")
                            ? " (a regular expression over Class.method, such as 'ViewCreate|Transpose')"
                            : a.equals("--forks") ? " (a number of forked JVMs, 1 to 50)" : " (the folder the report goes to)"));
                }
                String value = args[++i];
                if (a.equals("--forks") && !value.matches("[1-9][0-9]?") || a.equals("--forks") && Integer.parseInt(value) > 50) {
                    throw new Main.UsageException("--forks takes a number of forked JVMs from 1 to 50, not '" + value + "'");
                }
                if (a.equals("--only")) {
                    try {
                        Pattern.compile(value);
                    } catch (PatternSyntaxException e) {
                        throw new Main.UsageException("--only " + value + " is not a valid regular expression: "
                                + e.getDescription() + " near index " + e.getIndex());
                    }
                }
            }
        }
    }

    static int run(String[] args, PrintStream out, PrintStream err) {
        checkArguments(args);
        for (String a : args) {
            if (a.equals("-h") || a.equals("--help")) {
                out.println(USAGE);
                return 0;
            }
        }
        Path home = Path.of(System.getProperty("panbuf.home", ".")).toAbsolutePath().normalize();
        Path classes = home.resolve("target/jmh-classes");
        if (!Files.isRegularFile(classes.resolve("META-INF/BenchmarkList"))) {
            err.println("panbuf bench: no compiled benchmarks in " + classes + "; run it from a source checkout"
                    + " with ./panbuf (which builds them with `mvn package`)");
            return 1;
        }
        List<String> command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED",
                "--add-modules=jdk.incubator.vector",
                "--sun-misc-unsafe-memory-access=allow",   // JMH 1.37 uses sun.misc.Unsafe
                "-Djava.awt.headless=true",
                "-Dpanbuf.home=" + home,
                "-cp", classes + File.pathSeparator + System.getProperty("java.class.path"),
                RUNNER));
        command.addAll(Arrays.asList(args));
        out.flush();
        try {
            Process child = new ProcessBuilder(command).inheritIO().start();
            return child.waitFor();
        } catch (IOException e) {
            err.println("panbuf bench: cannot start the benchmark JVM: " + e.getMessage());
            return 1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return 130;
        }
    }
}
