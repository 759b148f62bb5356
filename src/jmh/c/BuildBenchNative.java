import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Builds the benchmarks' C libraries with the system C compiler: the plain
 * baselines (bench_native.c) and their JNI peers (bench_jni.c), the latter
 * against the jni.h of the JDK running this program. Maven runs it with the
 * JDK the build selected (exec-maven-plugin uses the toolchain's java), so it
 * needs nothing beyond a C compiler and that JDK.
 *
 * <pre>java BuildBenchNative.java PROJECT_DIR OUTPUT_DIR</pre>
 *
 * A JDK without include/jni.h only loses the JNI peers: the benchmarks then
 * say JNI is unavailable and compare with the plain FFM downcall.
 */
public class BuildBenchNative {

    public static void main(String[] args) throws IOException, InterruptedException {
        if (args.length != 2) {
            throw new IllegalArgumentException("usage: java BuildBenchNative.java PROJECT_DIR OUTPUT_DIR");
        }
        Path project = Path.of(args[0]);
        Path out = Path.of(args[1]);
        Files.createDirectories(out);
        Path sources = project.resolve("src/jmh/c");
        Path shimInclude = project.resolve("native/include");
        String cc = System.getenv().getOrDefault("CC", "cc");
        List<String> common = List.of(cc, "-std=c11", "-O3", "-march=native", "-fPIC", "-shared", "-fvisibility=hidden",
                "-Wall", "-Wextra", "-Werror", "-I" + shimInclude);

        build(common, List.of(), sources.resolve("bench_native.c"), out.resolve(System.mapLibraryName("panbuf_bench")),
                shimInclude.resolve("panbuf.h"));

        Path jdkInclude = Path.of(System.getProperty("java.home"), "include");
        Path jniLib = out.resolve(System.mapLibraryName("panbuf_bench_jni"));
        if (!Files.isRegularFile(jdkInclude.resolve("jni.h"))) {
            Files.deleteIfExists(jniLib);
            System.err.println("panbuf bench: no jni.h in " + jdkInclude + "; the JNI baselines are skipped");
            return;
        }
        build(common, List.of("-I" + jdkInclude, "-I" + jdkInclude.resolve("linux")), sources.resolve("bench_jni.c"),
                jniLib, shimInclude.resolve("panbuf.h"));
    }

    private static void build(List<String> common, List<String> extra, Path source, Path target, Path header)
            throws IOException, InterruptedException {
        if (Files.exists(target)
                && Files.getLastModifiedTime(target).compareTo(Files.getLastModifiedTime(source)) > 0
                && Files.getLastModifiedTime(target).compareTo(Files.getLastModifiedTime(header)) > 0) {
            return;
        }
        List<String> command = new ArrayList<>(common);
        command.addAll(extra);
        command.add("-o");
        command.add(target.toString());
        command.add(source.toString());
        System.out.println(String.join(" ", command));
        int rc = new ProcessBuilder(command).inheritIO().start().waitFor();
        if (rc != 0) {
            throw new IllegalStateException("panbuf bench: compiling " + source.getFileName() + " failed (exit " + rc + ")");
        }
    }
}
