package dev.panbuf.bench;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * Downcall handles to the benchmarks' C baselines ({@code src/jmh/c/bench_native.c},
 * built next to these classes in {@code native/}) and to libc. All handles are
 * {@code static final}, so the JIT treats them as constants.
 */
@SuppressWarnings("restricted")   // binding C is what this class is for
final class NativeBaselines {

    /** The folder holding the benchmarks' shared libraries. */
    static final Path DIR = locate();

    private static final Linker LINKER = Linker.nativeLinker();
    private static final SymbolLookup LIB = SymbolLookup.libraryLookup(library("panbuf_bench"), Arena.global());

    /** {@code void pbb_noop(void)}. */
    static final MethodHandle NOOP = handle("pbb_noop", FunctionDescriptor.ofVoid());
    /** {@code pbb_noop} as a critical downcall. */
    static final MethodHandle NOOP_CRITICAL = handle("pbb_noop", FunctionDescriptor.ofVoid(), Linker.Option.critical(false));
    /** {@code float pbb_first_f32(const float *)}: O(1) work on a raw pointer. */
    static final MethodHandle FIRST_F32 = handle("pbb_first_f32", FunctionDescriptor.of(JAVA_FLOAT, ADDRESS));
    /** The address of {@code pbb_first_f32}. */
    static final MemorySegment FIRST_F32_SYMBOL = LIB.find("pbb_first_f32").orElseThrow();
    /** {@code pbb_first_f32} as a critical downcall that may be passed a heap segment (plain FFM, no panbuf). */
    static final MethodHandle FIRST_F32_HEAP = handle("pbb_first_f32", FunctionDescriptor.of(JAVA_FLOAT, ADDRESS),
            Linker.Option.critical(true));
    /** {@code float pbb_pb_first_f32(const pb_buffer *)}: O(1) work on an exported view. */
    static final MethodHandle PB_FIRST_F32 = handle("pbb_pb_first_f32", FunctionDescriptor.of(JAVA_FLOAT, ADDRESS));
    /** {@code float pbb_sum_f32(const float *, int64_t)}: 4 x 16-lane accumulators; heap segments allowed. */
    static final MethodHandle SUM_F32 = handle("pbb_sum_f32", FunctionDescriptor.of(JAVA_FLOAT, ADDRESS, JAVA_LONG),
            Linker.Option.critical(true));
    /** {@code int32_t pbb_sum_i32(const int32_t *, int64_t)}, vectorised by the C compiler; heap segments allowed. */
    static final MethodHandle SUM_I32 = handle("pbb_sum_i32", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG),
            Linker.Option.critical(true));
    /** {@code void pbb_transpose_f32(float *dst, const float *src, int64_t rows, int64_t cols, int64_t tile)}. */
    static final MethodHandle TRANSPOSE_F32 = handle("pbb_transpose_f32",
            FunctionDescriptor.ofVoid(ADDRESS, ADDRESS, JAVA_LONG, JAVA_LONG, JAVA_LONG));
    /** libc {@code void *memcpy(void *, const void *, size_t)}, its result ignored (so not boxed in a segment). */
    static final MethodHandle MEMCPY = libc("memcpy", FunctionDescriptor.ofVoid(ADDRESS, ADDRESS, JAVA_LONG));
    /** libc {@code void *calloc(size_t, size_t)}. */
    static final MethodHandle CALLOC = libc("calloc", FunctionDescriptor.of(ADDRESS, JAVA_LONG, JAVA_LONG));
    /** libc {@code void free(void *)}. */
    static final MethodHandle FREE = libc("free", FunctionDescriptor.ofVoid(ADDRESS));

    private NativeBaselines() {}

    /** The path of {@code lib<name>.so} in {@link #DIR}. */
    static Path library(String name) {
        Path file = DIR.resolve(System.mapLibraryName(name));
        if (!Files.isRegularFile(file)) {
            throw new UnsatisfiedLinkError("panbuf bench: " + file + " is missing; build with `mvn package`"
                    + " (it compiles src/jmh/c into target/jmh-classes/native)");
        }
        return file;
    }

    private static MethodHandle handle(String name, FunctionDescriptor descriptor, Linker.Option... options) {
        MemorySegment symbol = LIB.find(name).orElseThrow(() -> new UnsatisfiedLinkError(name + " not found in libpanbuf_bench"));
        return LINKER.downcallHandle(symbol, descriptor, options);
    }

    private static MethodHandle libc(String name, FunctionDescriptor descriptor) {
        MemorySegment symbol = LINKER.defaultLookup().find(name)
                .orElseThrow(() -> new UnsatisfiedLinkError(name + " not found in libc"));
        return LINKER.downcallHandle(symbol, descriptor);
    }

    private static Path locate() {
        String override = System.getProperty("panbuf.bench.native");
        if (override != null) {
            return Path.of(override);
        }
        try {
            return Path.of(NativeBaselines.class.getProtectionDomain().getCodeSource().getLocation().toURI()).resolve("native");
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }
}
