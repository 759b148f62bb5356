package dev.panbuf;

import dev.panbuf.shim.Shim;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;
import java.lang.foreign.StructLayout;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.reflect.Method;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What the lifetime tests need from outside panbuf: libc functions, the
 * AddressSanitizer runtime when it is preloaded (the sanitizer run), the
 * JVM's Native Memory Tracking read in-process, and a Java "producer" of
 * {@code pb_buffer} structs for import tests.
 */
final class NativeTestSupport {

    private NativeTestSupport() {}

    static final Linker LINKER = Linker.nativeLinker();
    static final SymbolLookup LIBC = LINKER.defaultLookup();

    /** {@code void qsort(void *base, size_t n, size_t size, int (*compar)(const void *, const void *))}. */
    static final MethodHandle QSORT = LINKER.downcallHandle(LIBC.findOrThrow("qsort"),
            FunctionDescriptor.ofVoid(ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.ADDRESS));

    /** {@code void *memcpy(void *dst, const void *src, size_t n)}, critical: may take heap segments. */
    static final MethodHandle MEMCPY_CRITICAL = CriticalCall.downcall(LIBC.findOrThrow("memcpy"),
            FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG));

    /** Runs qsort over {@code n} items of {@code size} bytes at {@code base} with an int comparator upcall. */
    static void qsort(MemorySegment base, long n, long size, MemorySegment comparator) {
        try {
            QSORT.invokeExact(base, n, size, comparator);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** An upcall stub {@code int (*)(const void *, const void *)} calling {@code comparator}. */
    static MemorySegment comparator(java.lang.invoke.MethodHandle comparator, ValueLayout element, Arena arena) {
        FunctionDescriptor fd = FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS.withTargetLayout(element),
                ValueLayout.ADDRESS.withTargetLayout(element));
        return LINKER.upcallStub(comparator, fd, arena);
    }

    static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) {
            return r;
        }
        if (t instanceof Error e) {
            throw e;
        }
        return new IllegalStateException(t);
    }

    // ------------------------------------------------------------ AddressSanitizer

    private static final MethodHandle ASAN_POISONED = asanPoisoned();

    private static MethodHandle asanPoisoned() {
        String preload = System.getenv("LD_PRELOAD");
        if (preload == null || !preload.contains("libasan")) {
            return null;
        }
        for (String lib : preload.split("[: ]")) {
            if (lib.contains("libasan")) {
                // dlopen of the preloaded runtime returns the one already in the process
                SymbolLookup asan = SymbolLookup.libraryLookup(Path.of(lib), Arena.global());
                return LINKER.downcallHandle(asan.findOrThrow("__asan_address_is_poisoned"),
                        FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG));
            }
        }
        return null;
    }

    /** True when this JVM runs with the AddressSanitizer runtime preloaded (the sanitizer run). */
    static boolean underAsan() {
        return ASAN_POISONED != null;
    }

    /** Whether ASan considers the byte at {@code address} poisoned (freed or redzone); empty without ASan. */
    static Optional<Boolean> asanPoisoned(long address) {
        if (ASAN_POISONED == null) {
            return Optional.empty();
        }
        try {
            return Optional.of((int) ASAN_POISONED.invokeExact(address) != 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    // ------------------------------------------------------------ malloc statistics

    private static final StructLayout MALLINFO2 = MemoryLayout.structLayout(ValueLayout.JAVA_LONG.withName("arena"),
            ValueLayout.JAVA_LONG.withName("ordblks"), ValueLayout.JAVA_LONG.withName("smblks"),
            ValueLayout.JAVA_LONG.withName("hblks"), ValueLayout.JAVA_LONG.withName("hblkhd"),
            ValueLayout.JAVA_LONG.withName("usmblks"), ValueLayout.JAVA_LONG.withName("fsmblks"),
            ValueLayout.JAVA_LONG.withName("uordblks"), ValueLayout.JAVA_LONG.withName("fordblks"),
            ValueLayout.JAVA_LONG.withName("keepcost"));
    private static final MethodHandle MALLINFO2_HANDLE = LIBC.find("mallinfo2")
            .map(s -> LINKER.downcallHandle(s, FunctionDescriptor.of(MALLINFO2))).orElse(null);

    /**
     * Bytes that glibc's malloc has handed out and not taken back, in every
     * malloc arena ({@code mallinfo2().uordblks + hblkhd}): where C's
     * {@code calloc} in {@code pb_export_alloc} shows (NMT does not see C
     * allocations). Empty when glibc lacks {@code mallinfo2} or ASan replaced malloc.
     */
    static Optional<Long> mallocInUseBytes() {
        if (MALLINFO2_HANDLE == null || underAsan()) {
            return Optional.empty();
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment m = (MemorySegment) MALLINFO2_HANDLE.invokeExact((SegmentAllocator) arena);
            return Optional.of(m.get(ValueLayout.JAVA_LONG, MALLINFO2.byteOffset(MemoryLayout.PathElement.groupElement("uordblks")))
                    + m.get(ValueLayout.JAVA_LONG, MALLINFO2.byteOffset(MemoryLayout.PathElement.groupElement("hblkhd"))));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    // ------------------------------------------------------------ Native Memory Tracking

    private static final Pattern NMT_CATEGORY = Pattern.compile(
            "^-\\s+(.+?) \\(reserved=(\\d+), committed=(\\d+)\\)", Pattern.MULTILINE);
    private static final Pattern NMT_MALLOC = Pattern.compile("\\(malloc=(\\d+)(?: tag=[^#]*)? #(\\d+)\\)");

    /** One NMT category in bytes: committed, and malloc'd bytes and count when NMT lists them. */
    record NmtCategory(long reserved, long committed, long mallocBytes, long mallocCount) {}

    /**
     * {@code VM.native_memory summary scale=b}, read in-process through the
     * {@code DiagnosticCommand} MBean (operation {@code vmNativeMemory}),
     * by category. Reflection because the test module does not read
     * {@code java.management}; the JVM must run with
     * {@code -XX:NativeMemoryTracking=summary}.
     */
    static Map<String, NmtCategory> nativeMemory() {
        String text = nmtText();
        Map<String, NmtCategory> out = new TreeMap<>();
        Matcher m = NMT_CATEGORY.matcher(text);
        while (m.find()) {
            String name = m.group(1).strip();
            int lineEnd = text.indexOf('\n', m.end());
            int nextLineEnd = lineEnd < 0 ? -1 : text.indexOf('\n', lineEnd + 1);
            String next = lineEnd < 0 ? "" : text.substring(lineEnd, nextLineEnd < 0 ? text.length() : nextLineEnd);
            Matcher mm = NMT_MALLOC.matcher(next);
            long mallocBytes = -1;
            long mallocCount = -1;
            if (mm.find()) {
                mallocBytes = Long.parseLong(mm.group(1));
                mallocCount = Long.parseLong(mm.group(2));
            }
            out.put(name, new NmtCategory(Long.parseLong(m.group(2)), Long.parseLong(m.group(3)), mallocBytes, mallocCount));
        }
        if (out.isEmpty()) {
            throw new IllegalStateException("Native Memory Tracking gave no categories (is -XX:NativeMemoryTracking=summary"
                    + " on?): " + text);
        }
        return out;
    }

    static String nmtText() {
        try {
            Class<?> factory = Class.forName("java.lang.management.ManagementFactory");
            Object server = factory.getMethod("getPlatformMBeanServer").invoke(null);
            Class<?> objectName = Class.forName("javax.management.ObjectName");
            Object name = objectName.getConstructor(String.class).newInstance("com.sun.management:type=DiagnosticCommand");
            Method invoke = Class.forName("javax.management.MBeanServerConnection").getMethod("invoke", objectName,
                    String.class, Object[].class, String[].class);
            return (String) invoke.invoke(server, name, "vmNativeMemory", new Object[] {new String[] {"summary", "scale=b"}},
                    new String[] {String[].class.getName()});
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("cannot read Native Memory Tracking through the DiagnosticCommand MBean", e);
        }
    }

    // ------------------------------------------------------------ a Java producer of pb_buffers

    /**
     * A {@code pb_buffer} made the way a C library would make one, but from
     * Java: struct, shape, strides, format and data in the producer's own
     * shared arena, and a release callback (an upcall through
     * {@link Shim#newStruct}) that counts calls. Every field can be set wrong
     * before {@link #publish()}, to test what import refuses.
     */
    static final class Producer implements AutoCloseable {
        final Arena arena = Arena.ofShared();
        final AtomicInteger releases = new AtomicInteger();
        volatile RuntimeException throwOnRelease;
        volatile Consumer<MemorySegment> alsoOnRelease;
        final MemorySegment data;
        final MemorySegment struct;
        private final MemorySegment shapeArray = arena.allocate(ValueLayout.JAVA_LONG, 70);
        private final MemorySegment strideArray = arena.allocate(ValueLayout.JAVA_LONG, 70);

        // the fields, valid by default: a C-ordered float32 (rows, cols) matrix filled with 0, 1, 2, ...
        long bufOffset;
        boolean nullBuf;
        long len;
        long itemSize = 4;
        boolean readOnly;
        int ndim = 2;
        String format = "<f";
        long[] shape;
        long[] strides;
        boolean nullShape;
        int magic = Shim.MAGIC_LIVE;
        int abiVersion = Shim.ABI_VERSION;
        boolean nullBase;
        long baseLen;

        Producer(long rows, long cols) {
            data = arena.allocate(rows * cols * 4, 64);
            for (long i = 0; i < rows * cols; i++) {
                data.setAtIndex(ValueLayout.JAVA_FLOAT, i, i);
            }
            struct = Shim.newStruct(arena, self -> {
                releases.incrementAndGet();
                Consumer<MemorySegment> also = alsoOnRelease;
                if (also != null) {
                    also.accept(self);
                }
                RuntimeException e = throwOnRelease;
                if (e != null) {
                    throw e;
                }
            });
            shape = new long[] {rows, cols};
            strides = new long[] {cols * 4, 4};
            len = rows * cols * 4;
            baseLen = data.byteSize();
        }

        /** Writes every field (magic last). */
        Producer publish() {
            for (int i = 0; i < shape.length; i++) {
                shapeArray.setAtIndex(ValueLayout.JAVA_LONG, i, shape[i]);
            }
            if (strides != null) {
                for (int i = 0; i < strides.length; i++) {
                    strideArray.setAtIndex(ValueLayout.JAVA_LONG, i, strides[i]);
                }
            }
            MemorySegment fmt = format == null ? MemorySegment.NULL : arena.allocateFrom(format);
            Shim.fill(struct, nullBuf ? 0 : data.address() + bufOffset, len, itemSize, readOnly, ndim, fmt,
                    nullShape ? MemorySegment.NULL : shapeArray, strides == null ? MemorySegment.NULL : strideArray, magic,
                    abiVersion, nullBase ? 0 : data.address(), baseLen);
            return this;
        }

        MemorySegment pointer() {
            return struct;
        }

        /** Frees the producer's memory; release the buffer (or close the importing arena) first. */
        @Override
        public void close() {
            arena.close();
        }
    }
}
