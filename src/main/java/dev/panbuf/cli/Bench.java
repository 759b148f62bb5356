package dev.panbuf.cli;

import java.io.File;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

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

    private Bench() {}

    static int run(String[] args, PrintStream out) {
        Path home = Path.of(System.getProperty("panbuf.home", ".")).toAbsolutePath().normalize();
        Path classes = home.resolve("target/jmh-classes");
        if (!Files.isRegularFile(classes.resolve("META-INF/BenchmarkList"))) {
            throw new IllegalArgumentException("no compiled benchmarks in " + classes + "; run it from a source checkout"
                    + " with ./panbuf (which builds them with `mvn package`)");
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
            throw new IllegalArgumentException("cannot start the benchmark JVM: " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return 130;
        }
    }
}
