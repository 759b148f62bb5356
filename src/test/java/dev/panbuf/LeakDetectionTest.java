package dev.panbuf;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The leak detector (DESIGN.md "Lifetimes" rule 8): an export handle dropped
 * while live and Java-owned, and a BufferArena never closed, are reported as
 * {@code LEAK:} lines through slf4j naming the creation site; released and
 * handed-off exports are not; the levels disabled/simple/paranoid are honoured.
 * Leaks are made in a child JVM ({@link LeakScenarios}) so that their reports
 * do not fail this JVM's own {@link LeakCheck}.
 */
@ExtendWith(LeakCheck.class)
class LeakDetectionTest {

    record Run(int exitCode, String stdout, String stderr) {
        long reports() {
            Matcher m = Pattern.compile("REPORTS=(\\d+)").matcher(stdout);
            assertTrue(m.find(), "the child printed no REPORTS= line; stdout: " + stdout + "\nstderr: " + stderr);
            return Long.parseLong(m.group(1));
        }

        String level() {
            Matcher m = Pattern.compile("LEVEL=(\\w+)").matcher(stdout);
            assertTrue(m.find(), stdout);
            return m.group(1);
        }

        long leakLines() {
            return stderr.lines().filter(l -> l.contains("LEAK:")).count();
        }
    }

    static Run runChild(String level, String scenario, int count) throws IOException, InterruptedException {
        String java = ProcessHandle.current().info().command().orElse(
                Path.of(System.getProperty("java.home"), "bin", "java").toString());
        List<String> classPath = new ArrayList<>();
        for (String prop : List.of("jdk.module.path", "java.class.path")) {
            String v = System.getProperty(prop);
            if (v != null && !v.isBlank()) {
                classPath.add(v);
            }
        }
        List<String> cmd = new ArrayList<>(List.of(java, "--enable-native-access=ALL-UNNAMED", "-Xmx256m",
                "-Dpanbuf.leakDetection=" + level, "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn"));
        String libraryPath = System.getProperty("panbuf.library.path");
        if (libraryPath != null) {
            cmd.add("-Dpanbuf.library.path=" + libraryPath);
        }
        cmd.addAll(List.of("-cp", String.join(File.pathSeparator, classPath), LeakScenarios.class.getName(), scenario,
                Integer.toString(count)));
        Path out = Files.createTempFile("panbuf-leak-", ".out");
        Path err = Files.createTempFile("panbuf-leak-", ".err");
        try {
            Process p = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
            if (!p.waitFor(120, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new AssertionError("child JVM did not finish in 120 s: " + cmd);
            }
            Run run = new Run(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8), Files.readString(err, StandardCharsets.UTF_8));
            assertEquals(0, run.exitCode(), "child JVM failed: " + cmd + "\nstdout: " + run.stdout() + "\nstderr: "
                    + run.stderr().lines().limit(60).toList());
            return run;
        } finally {
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }

    @Test
    void thisJvmRunsAtTheLevelItWasGiven() {
        String asked = System.getProperty(LeakDetector.PROPERTY, "simple");
        assertEquals(asked.toUpperCase(java.util.Locale.ROOT), LeakDetector.LEVEL.name());
    }

    @Test
    void paranoidReportsEveryDroppedExportWithItsCreationSite() throws Exception {
        Run run = runChild("paranoid", "export", 200);
        assertEquals("PARANOID", run.level());
        assertEquals(200, run.reports());
        assertEquals(200, run.leakLines(), "one LEAK: line per export");
        String first = run.stderr().lines().filter(l -> l.contains("LEAK:")).findFirst().orElseThrow();
        assertTrue(first.contains("LEAK: export #"), first);
        assertTrue(first.contains("was never released (Export.close() or pb_release) before its handle became unreachable"), first);
        assertTrue(first.contains("Created at dev.panbuf.LeakScenarios.leakExports(LeakScenarios.java:"),
                "names the user's frame that created it: " + first);
        assertTrue(run.stderr().contains("java.lang.Throwable: created here"), "and the whole creation stack");
    }

    @Test
    void paranoidReportsArenasNeverClosed() throws Exception {
        Run run = runChild("paranoid", "arena", 50);
        assertEquals(50, run.reports());
        String first = run.stderr().lines().filter(l -> l.contains("LEAK:")).findFirst().orElseThrow();
        assertTrue(first.contains("LEAK: confined BufferArena was never closed: its 100 bytes are never freed"), first);
        assertTrue(first.contains("Created at dev.panbuf.LeakScenarios.leakArenas(LeakScenarios.java:"), first);
    }

    @Test
    void paranoidReportsArrowExportsAndStreamsDroppedWhileJavaOwnsThem() throws Exception {
        Run arrays = runChild("paranoid", "arrow", 50);
        assertEquals(50, arrays.reports());
        String first = arrays.stderr().lines().filter(l -> l.contains("LEAK:")).findFirst().orElseThrow();
        assertTrue(first.contains("was never released (ArrowExport.close()) nor handed off before its handle became"
                + " unreachable; its memory stays pinned"), first);
        assertTrue(first.contains("Created at dev.panbuf.LeakScenarios.leakArrowExports(LeakScenarios.java:"), first);

        Run streams = runChild("paranoid", "arrowStream", 50);
        assertEquals(50, streams.reports());
        assertEquals(50, streams.leakLines());
        first = streams.stderr().lines().filter(l -> l.contains("LEAK:")).findFirst().orElseThrow();
        assertTrue(first.matches(".*LEAK: Arrow stream #\\d+ was never released \\(ArrowStreamExport.close\\(\\)\\) nor handed off"
                + " before its handle became unreachable; its iterator is never closed and its producer never freed.*"), first);
        assertTrue(first.contains("Created at dev.panbuf.LeakScenarios.leakArrowStreams(LeakScenarios.java:"), first);
    }

    @Test
    void releasedAndHandedOffExportsAreNotReported() throws Exception {
        for (String scenario : List.of("closed", "handoff", "arrowDone")) {
            Run run = runChild("paranoid", scenario, 200);
            assertEquals(0, run.reports(), scenario + ": " + run.stderr());
            assertFalse(run.stderr().contains("LEAK:"), scenario + ": " + run.stderr());
        }
    }

    @Test
    void simpleSamplesAboutOneIn128() throws Exception {
        Run run = runChild("simple", "export", 2000);
        assertEquals("SIMPLE", run.level());
        long n = run.reports();
        // binomial(2000, 1/128): mean 15.6; outside [1, 60] with probability below 1e-7
        assertTrue(n >= 1 && n <= 60, "simple reported " + n + " of 2000 leaks");
        assertEquals(n, run.leakLines());
        assertTrue(run.stderr().contains("Created at dev.panbuf.LeakScenarios.leakExports(LeakScenarios.java:"), run.stderr());
    }

    @Test
    void disabledReportsNothing() throws Exception {
        Run run = runChild("disabled", "export", 500);
        assertEquals("DISABLED", run.level());
        assertEquals(0, run.reports());
        assertFalse(run.stderr().contains("LEAK:"), run.stderr());
    }

    @Test
    void anUnknownLevelFallsBackToSimpleAndSaysSo() throws Exception {
        Run run = runChild("loud", "closed", 1);
        assertEquals("SIMPLE", run.level());
        assertTrue(run.stderr().contains("-Dpanbuf.leakDetection=loud is not one of disabled, simple, paranoid; using simple"),
                run.stderr());
    }
}
