package dev.panbuf.packaging;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * panbuf in a JVM that denies native access ({@code --illegal-native-access=deny},
 * JDK 24+, without {@code --enable-native-access}), on the class path and on the
 * module path: views keep working; the first native call and every later one
 * throw {@link dev.panbuf.NativeAccessDeniedException} naming the flag to add
 * (never {@code ExceptionInInitializerError} or {@code NoClassDefFoundError}),
 * and nothing is left half done. With the flag the README gives, the same
 * calls work. On a platform the jar has no shim for, every native call names
 * the platforms it does carry.
 */
class NativeAccessIT {

    /**
     * Tries each native entry point twice, then checks nothing was left pinned. With
     * {@code denied}, also the imports of a pointer that is not a pb_buffer: the gate must
     * refuse them before any C code could read it (with access allowed they would crash).
     */
    private static final String PROGRAM = """
            package probe;

            import dev.panbuf.*;
            import dev.panbuf.dlpack.DLPack;
            import java.lang.foreign.*;
            import java.nio.file.Path;

            public class Denied {
                interface Call { Object run() throws Throwable; }

                static void attempt(String name, Call call) {
                    try {
                        Object result = call.run();
                        System.out.println(name + " -> ok " + (result instanceof AutoCloseable ? "(closed)" : ""));
                        if (result instanceof AutoCloseable c) {
                            c.close();
                        }
                    } catch (Throwable t) {
                        System.out.println(name + " -> " + t.getClass().getName() + ": " + String.valueOf(t.getMessage()).lines().findFirst().orElse(""));
                    }
                }

                public static void main(String[] args) {
                    boolean denied = args[0].equals("denied");
                    try (BufferArena arena = BufferArena.ofConfined()) {
                        NdArray m = NdArray.allocate(arena, DType.FLOAT32, 2, 3);
                        m.setFloat(2.5f, 1, 2);
                        System.out.println("view -> " + m.transpose().getFloat(2, 1) + " " + m.get("::-1").shape(0));
                        for (int round = 1; round <= 2; round++) {
                            attempt("export#" + round, m::export);
                            attempt("exportReadOnly#" + round, m::exportReadOnly);
                            attempt("dlpack#" + round, () -> DLPack.export(m));
                            if (denied) {
                                attempt("fromPbBuffer#" + round, () -> NdArray.fromPbBuffer(MemorySegment.ofAddress(4096), arena));
                                attempt("dlpackImport#" + round, () -> DLPack.importVersioned(MemorySegment.ofAddress(4096), arena));
                            }
                            attempt("criticalCall#" + round, () -> CriticalCall.downcall(Linker.nativeLinker().defaultLookup()
                                    .findOrThrow("strlen"), FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.ADDRESS)));
                            attempt("nativeShim.load#" + round, NativeShim::load);
                            attempt("nativeShim.libraryLookup#" + round, () -> NativeShim.libraryLookup(Path.of("/nonexistent.so"), arena));
                        }
                        System.out.println("live exports " + arena.liveExportCount());
                    }
                    System.out.println("closed");
                }
            }
            """;

    private static Path dir;
    private static Path classes;

    @BeforeAll
    static void compile() throws IOException, InterruptedException {
        dir = ItSupport.scratch("native-access");
        ItSupport.write(dir.resolve("src/probe/Denied.java"), PROGRAM);
        classes = dir.resolve("classes");
        ItSupport.javac(dir, classes, List.of(ItSupport.libraryJar(), ItSupport.slf4jApi()), List.of(dir.resolve("src/probe/Denied.java")));
    }

    private static ItSupport.Result classPath(String mode, String... jvmOptions) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(ItSupport.java(), "-XX:ErrorFile=" + dir.resolve("hs_err_%p.log")));
        cmd.addAll(List.of(jvmOptions));
        cmd.addAll(List.of("-cp", ItSupport.join(List.of(classes, ItSupport.libraryJar(), ItSupport.slf4jApi())), "probe.Denied", mode));
        return ItSupport.run(dir, Map.of(), cmd).assertExit(0);
    }

    private static ItSupport.Result modulePath(String mode, String... jvmOptions) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(ItSupport.java(), "-XX:ErrorFile=" + dir.resolve("hs_err_%p.log")));
        cmd.addAll(List.of(jvmOptions));
        cmd.addAll(List.of("-p", ItSupport.join(List.of(ItSupport.libraryJar(), ItSupport.slf4jApi())), "--add-modules", "dev.panbuf",
                "-cp", classes.toString(), "probe.Denied", mode));
        return ItSupport.run(dir, Map.of(), cmd).assertExit(0);
    }

    /** Every native call threw the panbuf exception naming {@code flag}, both times; the views worked; nothing stayed pinned. */
    private static void assertDeniedWithTheFlag(ItSupport.Result r, String flag) {
        assertTrue(r.out().startsWith("view -> 2.5 2\n"), r::toString);
        List<String> calls = r.out().lines().filter(l -> l.contains("#")).toList();
        assertEquals(16, calls.size(), r::toString);
        for (String line : calls) {
            assertTrue(line.contains(" -> dev.panbuf.NativeAccessDeniedException: panbuf needs native access to call its C shim"
                    + " (libpanbuf), and this JVM denies it to "), line + "\n" + r);
            assertTrue(line.contains("start java with " + flag), line);
            assertFalse(line.contains("Error"), line);
        }
        assertTrue(r.out().contains("live exports 0\nclosed\n"), r::toString);
    }

    @Test
    void onTheClassPathEveryNativeCallNamesEnableNativeAccessAllUnnamed() throws IOException, InterruptedException {
        ItSupport.Result r = classPath("denied", "--illegal-native-access=deny");
        assertDeniedWithTheFlag(r, "--enable-native-access=ALL-UNNAMED");
        assertTrue(r.out().contains("denies it to the class path, where panbuf is: start java with --enable-native-access=ALL-UNNAMED"
                + " (for an executable jar, the manifest attribute Enable-Native-Access: ALL-UNNAMED does the same)."), r::toString);
    }

    @Test
    void onTheModulePathEveryNativeCallNamesEnableNativeAccessDevPanbuf() throws IOException, InterruptedException {
        ItSupport.Result r = modulePath("denied", "--illegal-native-access=deny");
        assertDeniedWithTheFlag(r, "--enable-native-access=dev.panbuf");
        assertTrue(r.out().contains("denies it to module dev.panbuf (panbuf on the module path): start java with"
                + " --enable-native-access=dev.panbuf. Views"), r::toString);
    }

    @Test
    void onAPlatformTheJarHasNoShimForEveryNativeCallSaysWhichPlatformsItCarries() throws IOException, InterruptedException {
        ItSupport.Result r = classPath("denied", "-Dos.arch=riscv64", "--enable-native-access=ALL-UNNAMED");
        List<String> calls = r.out().lines().filter(l -> l.contains("#")).toList();
        assertEquals(16, calls.size(), r::toString);
        String built = System.getProperty("os.arch").equals("aarch64") ? "linux-aarch64" : "linux-x86_64";
        for (String line : calls) {
            assertTrue(line.endsWith(" -> java.lang.UnsatisfiedLinkError: panbuf: unsupported platform " + System.getProperty("os.name")
                    + "/riscv64; this jar carries native code for " + built + ". Build native/ for this platform"
                    + " (make -C native lib) and set -Dpanbuf.library.path to the folder holding libpanbuf.so"), line);
            assertFalse(line.contains("NoClassDefFoundError") || line.contains("ExceptionInInitializerError"), line);
        }
        assertTrue(r.out().contains("live exports 0\nclosed\n"), r::toString);
    }

    @Test
    void theReadmesFlagsAllowEveryCallAndSilenceTheWarning() throws IOException, InterruptedException {
        for (ItSupport.Result r : List.of(classPath("allowed", "--illegal-native-access=deny", "--enable-native-access=ALL-UNNAMED"),
                modulePath("allowed", "--illegal-native-access=deny", "--enable-native-access=dev.panbuf"),
                classPath("allowed", "--enable-native-access=ALL-UNNAMED"), modulePath("allowed", "--enable-native-access=dev.panbuf"))) {
            assertTrue(r.out().contains("export#1 -> ok") && r.out().contains("export#2 -> ok")
                    && r.out().contains("exportReadOnly#2 -> ok") && r.out().contains("dlpack#2 -> ok")
                    && r.out().contains("criticalCall#2 -> ok") && r.out().contains("nativeShim.load#2 -> ok"), r::toString);
            // A bad pointer and a missing file are refused for what they are once access is allowed.
            assertTrue(r.out().contains("nativeShim.libraryLookup#2 -> java.lang.IllegalArgumentException: cannot load /nonexistent.so"),
                    r::toString);
            assertFalse(r.err().contains("WARNING: A restricted method"), r::toString);
            assertTrue(r.out().contains("live exports 0\nclosed\n"), r::toString);
        }
    }
}
