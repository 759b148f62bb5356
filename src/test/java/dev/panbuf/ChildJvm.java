package dev.panbuf;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Runs a {@code main} class of the test sources in a child JVM with this
 * JVM's class path, native library and leak-detection level, so that a test
 * of something that could crash the JVM turns a crash into a finding: the
 * child's exit code, its output and its {@code hs_err} file (kept under
 * {@code target/crashes/}, where {@code ./run-tests} also looks) instead of a
 * dead test run.
 */
final class ChildJvm {

    /** What the child did. {@code crashReport} is the hs_err file when the JVM crashed, else null. */
    record Result(int exitCode, String stdout, String stderr, Path crashReport, List<String> command) {

        boolean crashed() {
            return crashReport != null;
        }

        /** Everything needed to understand a failure, for assertion messages. */
        String explain() {
            StringBuilder sb = new StringBuilder("child JVM exited with ").append(exitCode).append(": ")
                    .append(String.join(" ", command)).append("\nstdout:\n").append(tail(stdout, 80)).append("\nstderr:\n")
                    .append(tail(stderr, 80));
            if (crashReport != null) {
                sb.append("\nthe JVM CRASHED; crash report: ").append(crashReport);
                try {
                    sb.append('\n').append(tail(Files.readString(crashReport, StandardCharsets.UTF_8), 40));
                } catch (IOException e) {
                    sb.append(" (unreadable: ").append(e).append(')');
                }
            }
            return sb.toString();
        }

        private static String tail(String text, int lines) {
            List<String> all = text.lines().toList();
            return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
        }
    }

    private ChildJvm() {}

    static Result run(Class<?> main, List<String> jvmArgs, List<String> args, long timeoutSeconds)
            throws IOException, InterruptedException {
        return run(main, jvmArgs, args, timeoutSeconds, true);
    }

    /** As {@link #run(Class, List, List, long)}; without {@code nativeAccess} the child is not given native access. */
    static Result run(Class<?> main, List<String> jvmArgs, List<String> args, long timeoutSeconds, boolean nativeAccess)
            throws IOException, InterruptedException {
        String java = ProcessHandle.current().info().command().orElse(
                Path.of(System.getProperty("java.home"), "bin", "java").toString());
        List<String> classPath = new ArrayList<>();
        for (String prop : List.of("jdk.module.path", "java.class.path")) {
            String v = System.getProperty(prop);
            if (v != null && !v.isBlank()) {
                classPath.add(v);
            }
        }
        Path crashes = Path.of("target", "crashes").toAbsolutePath();
        Files.createDirectories(crashes);
        String tag = main.getSimpleName() + "-" + System.nanoTime();
        Path crashFile = crashes.resolve("hs_err_pid-" + tag + ".log");
        List<String> cmd = new ArrayList<>(List.of(java));
        if (nativeAccess) {
            cmd.add("--enable-native-access=ALL-UNNAMED");
        }
        cmd.addAll(List.of("-Xmx512m",
                "-XX:ErrorFile=" + crashFile, "-XX:-CreateCoredumpOnCrash",
                "-Dpanbuf.leakDetection=" + System.getProperty("panbuf.leakDetection", "paranoid"),
                "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn"));
        for (String prop : List.of("panbuf.library.path", "panbuf.python", "panbuf.libpython")) {
            String v = System.getProperty(prop);
            if (v != null) {
                cmd.add("-D" + prop + "=" + v);
            }
        }
        cmd.addAll(jvmArgs);
        cmd.addAll(List.of("-cp", String.join(File.pathSeparator, classPath), main.getName()));
        cmd.addAll(args);
        Path out = Files.createTempFile("panbuf-child-", ".out");
        Path err = Files.createTempFile("panbuf-child-", ".err");
        try {
            Process p = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
            if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                p.destroyForcibly().waitFor();
                throw new AssertionError("child JVM did not finish in " + timeoutSeconds + " s: " + String.join(" ", cmd)
                        + "\nstdout so far:\n" + Files.readString(out, StandardCharsets.UTF_8));
            }
            Path report = Files.exists(crashFile) ? crashFile : null;
            return new Result(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8),
                    Files.readString(err, StandardCharsets.UTF_8), report, cmd);
        } finally {
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }

    /** hs_err files that children left in {@code target/crashes/}. */
    static List<Path> crashReports() throws IOException {
        Path crashes = Path.of("target", "crashes");
        if (!Files.isDirectory(crashes)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(crashes)) {
            return s.filter(f -> f.getFileName().toString().startsWith("hs_err")).toList();
        }
    }
}
