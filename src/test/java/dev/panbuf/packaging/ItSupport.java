package dev.panbuf.packaging;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * What the tests of the packaged jars share: the artifacts of this build (the
 * failsafe execution in pom.xml names them in system properties), a scratch
 * folder under {@code target/it}, and child processes whose output is kept.
 */
final class ItSupport {

    private ItSupport() {}

    /** A system property the failsafe execution sets. */
    static String property(String name) {
        String value = System.getProperty(name);
        assertNotNull(value, "system property " + name + " is not set: run the packaging tests with `mvn verify`");
        return value;
    }

    /** The library jar this build made. */
    static Path libraryJar() {
        Path jar = Path.of(property("panbuf.jar"));
        assertTrue(Files.isRegularFile(jar), "no library jar at " + jar + ": run `mvn verify`, which packages first");
        return jar;
    }

    static String version() {
        return property("panbuf.version");
    }

    /** The slf4j-api jar on this JVM's class path (panbuf's one dependency). */
    static Path slf4jApi() {
        return classPathEntry("slf4j-api-");
    }

    /** The slf4j-simple jar on this JVM's class path (a logging provider). */
    static Path slf4jSimple() {
        return classPathEntry("slf4j-simple-");
    }

    private static Path classPathEntry(String prefix) {
        for (String entry : System.getProperty("java.class.path").split(File.pathSeparator)) {
            Path p = Path.of(entry);
            if (p.getFileName() != null && p.getFileName().toString().startsWith(prefix) && entry.endsWith(".jar")) {
                return p;
            }
        }
        throw new AssertionError("no " + prefix + "*.jar on the class path: " + System.getProperty("java.class.path"));
    }

    /** The {@code java} of this JVM (the JDK 23+ the build selected). */
    static String java() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    static String javac() {
        return Path.of(System.getProperty("java.home"), "bin", "javac").toString();
    }

    /** A fresh folder {@code target/it/<name>}. */
    static Path scratch(String name) throws IOException {
        Path dir = Path.of(property("panbuf.target"), "it", name);
        deleteTree(dir);
        return Files.createDirectories(dir);
    }

    static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root)) {
            return;
        }
        Files.walkFileTree(root, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                Files.delete(file);
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult postVisitDirectory(Path dir, IOException e) throws IOException {
                Files.delete(dir);
                return FileVisitResult.CONTINUE;
            }
        });
    }

    /** What a child process did. */
    record Result(List<String> command, int exitCode, String out, String err) {
        Result assertExit(int expected) {
            if (exitCode != expected) {
                fail("expected exit code " + expected + " from " + String.join(" ", command) + "\n" + this);
            }
            return this;
        }

        @Override
        public String toString() {
            return "exit " + exitCode + "\n--- stdout\n" + out + "--- stderr\n" + err;
        }
    }

    static Result run(Path dir, Map<String, String> env, List<String> command) throws IOException, InterruptedException {
        return run(dir, env, command, 300);
    }

    /** Runs {@code command} in {@code dir}; output goes through files, so neither pipe can stall the child. */
    static Result run(Path dir, Map<String, String> env, List<String> command, int timeoutSeconds)
            throws IOException, InterruptedException {
        Path out = Files.createTempFile(dir, "out-", ".txt");
        Path err = Files.createTempFile(dir, "err-", ".txt");
        ProcessBuilder pb = new ProcessBuilder(command).directory(dir.toFile()).redirectOutput(out.toFile())
                .redirectError(err.toFile());
        pb.environment().putAll(env);
        Process p = pb.start();
        if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            fail("timed out after " + timeoutSeconds + " s: " + String.join(" ", command));
        }
        Result r = new Result(List.copyOf(command), p.exitValue(), Files.readString(out, StandardCharsets.UTF_8),
                Files.readString(err, StandardCharsets.UTF_8));
        Files.delete(out);
        Files.delete(err);
        return r;
    }

    /** Compiles Java sources into {@code classes} against {@code classPath}. */
    static void javac(Path dir, Path classes, List<Path> classPath, List<Path> sources) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(javac(), "-d", classes.toString(), "-cp", join(classPath)));
        sources.forEach(s -> cmd.add(s.toString()));
        run(dir, Map.of(), cmd).assertExit(0);
    }

    static String join(List<Path> paths) {
        return String.join(File.pathSeparator, paths.stream().map(Path::toString).toList());
    }

    static void write(Path file, String text) {
        try {
            Files.createDirectories(file.getParent());
            Files.writeString(file, text);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
