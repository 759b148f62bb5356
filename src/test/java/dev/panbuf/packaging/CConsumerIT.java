package dev.panbuf.packaging;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A C library built outside panbuf's build, from the library jar alone: its
 * header and link flags come from {@code java -jar panbuf-VERSION.jar config}
 * (a child process), it is compiled with the system C compiler in a scratch
 * folder, and a Java program (another child JVM, with only the jar and slf4j
 * on its class path) passes it panbuf views. Also the library that calls
 * {@code pb_validate} without having been linked with {@code -lpanbuf}: it
 * works once the shim is loaded (its symbols are global), a library with a
 * truly missing symbol is refused with an exception, and the one order panbuf
 * cannot protect (calling such a library before panbuf loaded its shim) ends
 * the process as the README says.
 */
class CConsumerIT {

    /** A consumer written against panbuf.h: validates the view, then sums its float64 elements through pb_get_pointer. */
    private static final String CONSUMER_C = """
            #include <string.h>
            #include "panbuf.h"

            /* The sum of a 1-d or 2-d float64 view of any strides; *rc is 0 or pb_validate's PB_E... code. */
            double consumer_sum(const pb_buffer *view, int *rc) {
                double sum = 0;
                int64_t idx[2];
                *rc = pb_validate(view);
                if (*rc != 0) {
                    return 0;
                }
                if (view->itemsize != 8 || view->ndim < 1 || view->ndim > 2 || (strcmp(view->format, "d") != 0 && strcmp(view->format, "<d") != 0)) {
                    *rc = PB_EFORMAT;
                    return 0;
                }
                for (idx[0] = 0; idx[0] < view->shape[0]; idx[0]++) {
                    int64_t cols = view->ndim == 2 ? view->shape[1] : 1;
                    for (idx[1] = 0; idx[1] < cols; idx[1]++) {
                        double v;
                        memcpy(&v, pb_get_pointer(view, idx), sizeof v);
                        sum += v;
                    }
                }
                return sum;
            }
            """;

    /** Calls a function that no library defines. */
    private static final String MISSING_C = """
            int pb_not_a_function(int);
            int missing_call(int x) { return pb_not_a_function(x); }
            """;

    /** The Java side: each mode in its own JVM. */
    private static final String PROGRAM = """
            import dev.panbuf.*;
            import java.lang.foreign.*;
            import java.lang.invoke.MethodHandle;
            import java.nio.file.Path;

            public class Consumer {
                static final FunctionDescriptor SUM = FunctionDescriptor.of(ValueLayout.JAVA_DOUBLE, ValueLayout.ADDRESS, ValueLayout.ADDRESS);

                public static void main(String[] args) throws Throwable {
                    String mode = args[0];
                    Path library = Path.of(args[1]);
                    if (mode.equals("missing")) {
                        try {
                            NativeShim.libraryLookup(library, Arena.global());
                            System.out.println("UNEXPECTED: loaded");
                        } catch (UnsatisfiedLinkError e) {
                            System.out.println("refused: " + e.getMessage());
                        }
                        System.out.println("still running");
                        return;
                    }
                    SymbolLookup lookup;
                    switch (mode) {
                        case "shim-lookup" -> lookup = NativeShim.libraryLookup(library, Arena.global());
                        case "after-export" -> {
                            try (BufferArena a = BufferArena.ofConfined(); Export e = NdArray.allocate(a, DType.FLOAT64, 1).export()) {
                                // the first export loads the shim
                            }
                            lookup = SymbolLookup.libraryLookup(library, Arena.global());
                        }
                        case "before-shim" -> lookup = SymbolLookup.libraryLookup(library, Arena.global());
                        default -> throw new IllegalArgumentException(mode);
                    }
                    MethodHandle sum = Linker.nativeLinker().downcallHandle(lookup.findOrThrow("consumer_sum"), SUM);
                    if (mode.equals("before-shim")) {
                        try (Arena arena = Arena.ofConfined()) {
                            MemorySegment rc = arena.allocate(ValueLayout.JAVA_INT);
                            System.out.println("calling before the shim is loaded");
                            System.out.flush();
                            double ignored = (double) sum.invokeExact(MemorySegment.NULL, rc);
                            System.out.println("UNEXPECTED: returned " + ignored);
                        }
                        return;
                    }
                    try (BufferArena arena = BufferArena.ofConfined()) {
                        NdArray m = NdArray.allocate(arena, DType.FLOAT64, 3, 4);
                        double expected = 0;
                        for (int i = 0; i < 3; i++) {
                            for (int j = 0; j < 4; j++) {
                                m.setDouble(i * 4 + j + 0.25 * j, i, j);
                                expected += i * 4 + j + 0.25 * j;
                            }
                        }
                        NdArray view = m.transpose().get("::-1");   // strided and reversed: C walks it by its strides
                        MemorySegment rc = arena.allocate(ValueLayout.JAVA_INT);
                        double got;
                        try (Export e = view.export()) {
                            got = (double) sum.invokeExact(e.pointer(), rc);
                        }
                        System.out.println("rc=" + rc.get(ValueLayout.JAVA_INT, 0) + " sum=" + got + " expected=" + expected);
                    }
                }
            }
            """;

    private static Path dir;
    private static Path classes;
    private static String cflags;
    private static String libs;

    @BeforeAll
    static void buildFromTheJarAlone() throws IOException, InterruptedException {
        dir = ItSupport.scratch("c-consumer");
        Path jar = Files.copy(ItSupport.libraryJar(), dir.resolve("panbuf.jar"));
        ItSupport.Result config = ItSupport.run(dir, Map.of(), List.of(ItSupport.java(), "-jar", jar.toString(), "config",
                "--cache-dir", dir.resolve("cache").toString(), "--cflags", "--libs")).assertExit(0);
        String flags = config.out().strip();
        assertTrue(flags.matches("-I\\S+/include -L\\S+/lib -lpanbuf"), flags);
        cflags = flags.substring(0, flags.indexOf(" -L"));
        libs = flags.substring(flags.indexOf(" -L") + 1);
        ItSupport.write(dir.resolve("consumer.c"), CONSUMER_C);
        ItSupport.write(dir.resolve("missing.c"), MISSING_C);
        // The README's command: cflags and libs from `config`, -z defs proving the link is complete.
        cc("cc -std=c11 -Wall -Wextra -Werror -shared -fPIC -Wl,-z,defs -o libconsumer.so consumer.c " + cflags + " " + libs);
        // Built without -lpanbuf: pb_validate stays undefined until the library is loaded.
        cc("cc -std=c11 -Wall -Wextra -Werror -shared -fPIC -o libunlinked.so consumer.c " + cflags);
        cc("cc -std=c11 -Wall -Wextra -Werror -shared -fPIC -o libmissing.so missing.c");
        ItSupport.write(dir.resolve("src/Consumer.java"), PROGRAM);
        classes = dir.resolve("classes");
        ItSupport.javac(dir, classes, List.of(jar, ItSupport.slf4jApi()), List.of(dir.resolve("src/Consumer.java")));
    }

    private static void cc(String command) throws IOException, InterruptedException {
        ItSupport.run(dir, Map.of(), List.of("sh", "-c", command)).assertExit(0);
    }

    private static ItSupport.Result consumer(String mode, String library) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(ItSupport.java(), "--enable-native-access=ALL-UNNAMED",
                "-XX:ErrorFile=" + dir.resolve("hs_err_" + mode + ".log"), "-cp",
                ItSupport.join(List.of(classes, dir.resolve("panbuf.jar"), ItSupport.slf4jApi())), "Consumer", mode,
                dir.resolve(library).toString()));
        ItSupport.Result r = ItSupport.run(dir, Map.of(), cmd);
        assertFalse(Files.exists(dir.resolve("hs_err_" + mode + ".log")), () -> "the JVM crashed: " + r);
        return r;
    }

    private static void assertSummed(ItSupport.Result r) {
        r.assertExit(0);
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("rc=0 sum=(\\S+) expected=(\\S+)").matcher(r.out());
        assertTrue(m.find(), r::toString);
        assertEquals(m.group(2), m.group(1), r::toString);
    }

    @Test
    void aLibraryLinkedWithTheFlagsOfConfigReadsPanbufViews() throws IOException, InterruptedException {
        assertSummed(consumer("shim-lookup", "libconsumer.so"));
    }

    @Test
    void theLinkedLibraryBindsToTheShimTheJvmLoaded() throws IOException, InterruptedException {
        // Loaded by the JDK's own lookup after an export: its libpanbuf.so dependency is the
        // shim already loaded (same soname), not a second copy from the cache folder.
        assertSummed(consumer("after-export", "libconsumer.so"));
    }

    @Test
    void aLibraryNotLinkedWithLibpanbufFindsTheShimsGlobalSymbols() throws IOException, InterruptedException {
        assertSummed(consumer("shim-lookup", "libunlinked.so"));
        assertSummed(consumer("after-export", "libunlinked.so"));
    }

    @Test
    void aLibraryWithAMissingSymbolIsRefusedAndTheJvmGoesOn() throws IOException, InterruptedException {
        ItSupport.Result r = consumer("missing", "libmissing.so").assertExit(0);
        assertTrue(r.out().contains("refused: panbuf: cannot load " + dir.resolve("libmissing.so") + ": ")
                && r.out().contains("undefined symbol: pb_not_a_function"), r::toString);
        assertTrue(r.out().contains("still running"), r::toString);
    }

    @Test
    void callingAnUnlinkedLibraryBeforeTheShimIsLoadedEndsTheProcessAsDocumented() throws IOException, InterruptedException {
        // The one order panbuf cannot protect: the README says to load such libraries with
        // NativeShim.libraryLookup, or to link them with the flags of `config`.
        ItSupport.Result r = consumer("before-shim", "libunlinked.so");
        assertEquals(127, r.exitCode(), r::toString);
        assertTrue(r.out().contains("calling before the shim is loaded"), r::toString);
        assertTrue(r.err().contains("symbol lookup error") && r.err().contains("undefined symbol: pb_validate"), r::toString);
    }
}
