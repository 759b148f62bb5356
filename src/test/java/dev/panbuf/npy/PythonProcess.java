package dev.panbuf.npy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs a Python script with the test interpreter ({@code -Dpanbuf.python}, default /usr/bin/python3). */
final class PythonProcess {

    private PythonProcess() {}

    static String python() {
        return System.getProperty("panbuf.python", "/usr/bin/python3");
    }

    /** Runs {@code script} with {@code args}; returns stdout, or fails with stderr. */
    static String run(String script, String... args) throws IOException, InterruptedException {
        Path file = Files.createTempFile("panbuf-npy-", ".py");
        try {
            Files.writeString(file, script);
            List<String> cmd = new ArrayList<>(List.of(python(), "-W", "ignore", file.toString()));
            cmd.addAll(List.of(args));
            Process p = new ProcessBuilder(cmd).redirectErrorStream(false).start();
            byte[] out = p.getInputStream().readAllBytes();
            byte[] err = p.getErrorStream().readAllBytes();
            if (!p.waitFor(120, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new AssertionError("python timed out");
            }
            if (p.exitValue() != 0) {
                throw new AssertionError("python failed (exit " + p.exitValue() + "):\n"
                        + new String(err, StandardCharsets.UTF_8) + "\nstdout:\n" + new String(out, StandardCharsets.UTF_8));
            }
            return new String(out, StandardCharsets.UTF_8);
        } finally {
            Files.deleteIfExists(file);
        }
    }
}
