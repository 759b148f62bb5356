package dev.panbuf.python;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.fail;

/**
 * Runs a {@code main} class in a child JVM on this JVM's class path, with
 * the same Python ({@code -Dpanbuf.python}) and leak level, so that what
 * might crash (a use-after-free from Python, a leak report) cannot take this
 * JVM down or fail its own leak check. A crash is a test failure that shows
 * the child's {@code hs_err} file, which stays under {@code target/child-jvm}.
 */
final class ChildJvm {

    record Result(int exitCode, String stdout, String stderr) {
        /** The value of the first {@code KEY=value} line of stdout. */
        String value(String key) {
            return stdout.lines().filter(l -> l.startsWith(key + "=")).map(l -> l.substring(key.length() + 1)).findFirst()
                    .orElseThrow(() -> new AssertionError("the child printed no " + key + "= line; stdout:\n" + stdout
                            + "\nstderr:\n" + stderr));
        }
    }

    private ChildJvm() {}

    /** Runs {@code main} with {@code args} and extra JVM options; fails on a crash or a timeout. */
    static Result run(Class<?> main, List<String> jvmOptions, String... args) throws IOException, InterruptedException {
        String java = ProcessHandle.current().info().command().orElse(
                Path.of(System.getProperty("java.home"), "bin", "java").toString());
        List<String> classPath = new ArrayList<>();
        for (String prop : List.of("jdk.module.path", "java.class.path")) {
            String v = System.getProperty(prop);
            if (v != null && !v.isBlank()) {
                classPath.add(v);
            }
        }
        Path dir = Path.of("target", "child-jvm").toAbsolutePath();
        Files.createDirectories(dir);
        List<String> cmd = new ArrayList<>(List.of(java, "--enable-native-access=ALL-UNNAMED", "-Xmx512m",
                "-XX:ErrorFile=" + dir.resolve("hs_err_pid%p.log"), "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
                "-Dpanbuf.leakDetection=" + System.getProperty("panbuf.leakDetection", "paranoid")));
        for (String p : List.of("panbuf.python", "panbuf.libpython", "panbuf.library.path", "panbuf.test.numpy")) {
            String v = System.getProperty(p);
            if (v != null) {
                cmd.add("-D" + p + "=" + v);
            }
        }
        cmd.addAll(jvmOptions);
        cmd.addAll(List.of("-cp", String.join(File.pathSeparator, classPath), main.getName()));
        cmd.addAll(List.of(args));
        Path out = Files.createTempFile(dir, "out-", ".txt");
        Path err = Files.createTempFile(dir, "err-", ".txt");
        try {
            Process p = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
            if (!p.waitFor(180, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                fail("the child JVM did not finish in 180 s: " + cmd);
            }
            Result r = new Result(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8),
                    Files.readString(err, StandardCharsets.UTF_8));
            Path crash = dir.resolve("hs_err_pid" + p.pid() + ".log");
            if (Files.exists(crash)) {
                String head;
                try (Stream<String> lines = Files.lines(crash)) {
                    head = String.join("\n", lines.limit(40).toList());
                }
                fail("the child JVM crashed (" + crash + "):\n" + head + "\nstdout:\n" + r.stdout());
            }
            return r;
        } finally {
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }
}
