package dev.panbuf;

import dev.panbuf.NativeTestSupport.Producer;
import dev.panbuf.dlpack.DLPack;
import dev.panbuf.npy.Npy;
import dev.panbuf.shim.Shim;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.function.Executable;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

/**
 * The executable half of {@code docs/BAD_INPUTS.md}: every row of that
 * catalogue has a probe here, keyed by the row's id, that makes the bad input
 * happen. {@link #everyCatalogueRowThrowsExactlyWhatItSays} runs each probe
 * and checks the exception type and the whole message against the row ("…"
 * in the document stands for a part that varies: an address, an export
 * number, a thread), then checks that nothing changed: the fixture's 256
 * bytes, and panbuf's {@link Accounting} counters (open arenas, their bytes,
 * live exports, live imports) are exactly as before. A row without a probe,
 * or a probe without a row, fails the test too, so the document cannot drift
 * from the code. {@code -Dpanbuf.catalogue.print=FILE} writes what each probe
 * throws today, to update the document from.
 *
 * <p>The {@code @Test} methods below cover the entries no other test did,
 * each with its own "nothing changed" checks.
 */
@Tag("native")
@ExtendWith(LeakCheck.class)
class BadInputCatalogTest {

    private static final Path DOCUMENT = Path.of("docs", "BAD_INPUTS.md");
    /**
     * In the native-asan execution AddressSanitizer's allocator serves the JVM's malloc and
     * reports (and by default aborts on) a request past its 1 TiB limit; the huge-allocation
     * row is checked in the normal run only.
     */
    private static final boolean UNDER_ASAN = String.valueOf(System.getenv("LD_PRELOAD")).contains("libasan");
    private static final long SIZE = 256;

    /** The memory most probes abuse: 256 bytes of a pattern in a confined BufferArena, and a (4, 16) int32 view of them. */
    private BufferArena arena;
    private MemorySegment memory;
    private NdArray m;

    /** Row L28: the buffer a comparator upcall tries to grow while qsort (a downcall) holds its memory. */
    private static volatile GrowableBuffer growing;
    private static volatile Throwable growFailure;

    static int growThenCompare(MemorySegment a, MemorySegment b) {
        GrowableBuffer g = growing;
        if (g != null && growFailure == null) {
            try {
                g.append(new byte[64]);   // must move: refused while the downcall holds the memory
                growFailure = new AssertionError("the buffer moved under a downcall");
            } catch (Throwable t) {
                growFailure = t;
            }
        }
        return Long.compare(a.get(ValueLayout.JAVA_LONG, 0), b.get(ValueLayout.JAVA_LONG, 0));
    }

    @BeforeEach
    void setUp() {
        arena = BufferArena.builder().name("catalogue arena").build();
        memory = arena.allocate(SIZE, 64);
        for (long i = 0; i < SIZE; i++) {
            memory.set(ValueLayout.JAVA_BYTE, i, (byte) (i * 37 + 11));
        }
        m = NdArray.of(memory, DType.INT32, 4, 16);
    }

    @AfterEach
    void tearDown() {
        if (!arena.isClosed()) {
            arena.close();
        }
    }

    /** A bad input: runs it and returns what it threw, or null when it returned. */
    @FunctionalInterface
    interface Probe {
        Throwable run() throws Exception;
    }

    private static Throwable thrown(Executable call) {
        try {
            call.execute();
            return null;
        } catch (Throwable t) {
            return t;
        }
    }

    private static Throwable onAnotherThread(Executable call) throws InterruptedException {
        AtomicReference<Throwable> t = new AtomicReference<>();
        Thread thread = Thread.ofPlatform().name("other").start(() -> t.set(thrown(call)));
        thread.join();
        return t.get();
    }

    private NdArray strided(DType t, long offset, long[] shape, long[] strides) {
        return NdArray.asStrided(memory, t, offset, shape, strides);
    }

    private static long[] ones(int n) {
        long[] a = new long[n];
        Arrays.fill(a, 1);
        return a;
    }

    /** Every catalogue row's probe, by id, in the document's order. */
    private static MemorySegment[] arrowData(dev.panbuf.arrow.ForeignArrow f) {
        return new MemorySegment[] {MemorySegment.NULL, Arena.global().allocate(64, 8)};
    }

    /** An Arrow import of a foreign producer's structs, which the refusal releases (checked). */
    private static Throwable arrowImport(java.util.function.Function<dev.panbuf.arrow.ForeignArrow, MemorySegment> array,
                                         java.util.function.Function<dev.panbuf.arrow.ForeignArrow, MemorySegment> schema) {
        try (Arena structs = Arena.ofConfined(); Arena into = Arena.ofConfined()) {
            var f = new dev.panbuf.arrow.ForeignArrow(structs);
            MemorySegment a = array.apply(f);
            MemorySegment s = schema.apply(f);
            Throwable t = thrown(() -> dev.panbuf.arrow.Arrow.importColumn(a, s, into));
            if (t instanceof IllegalArgumentException && t.getMessage().contains("import it with Arrow.importBatch")) {
                t = thrown(() -> dev.panbuf.arrow.Arrow.importBatch(a, s, into));
            }
            assertEquals(0, dev.panbuf.shim.ArrowShim.readArray(a.address()).release(), "the refusal released the array");
            return t;
        }
    }

    private Map<String, Probe> probes() {
        Map<String, Probe> p = new LinkedHashMap<>();
        // ---- shape, strides, extents
        p.put("S1", () -> thrown(() -> NdArray.allocate(arena, DType.INT32, 2, -3)));
        p.put("S2", () -> thrown(() -> NdArray.allocate(arena, DType.INT8, ones(65))));
        p.put("S3", () -> thrown(() -> m.reshape(ones(65))));
        p.put("S4", () -> thrown(() -> strided(DType.INT32, 0, new long[] {2, 3}, new long[] {4})));
        p.put("S5", () -> thrown(() -> NdArray.allocate(arena, DType.INT8, 1L << 32, 1L << 32)));
        p.put("S6", () -> thrown(() -> NdArray.allocate(arena, DType.INT64, 1L << 61)));
        p.put("S7", () -> thrown(() -> NdArray.allocate(arena, DType.INT8, 0, 1L << 62, 4)));
        p.put("S8", () -> thrown(() -> strided(DType.INT8, 0, new long[] {3}, new long[] {Long.MAX_VALUE / 2 + 1})));
        p.put("S9", () -> thrown(() -> strided(DType.INT8, Long.MAX_VALUE - 1, new long[] {3}, new long[] {1})));
        p.put("S10", () -> thrown(() -> strided(DType.INT8, Long.MIN_VALUE + 1, new long[] {3}, new long[] {-1})));
        p.put("S11", () -> thrown(() -> NdArray.asStrided(m.get("1:"), Long.MAX_VALUE, new long[] {1}, new long[] {4})));
        p.put("S12", () -> thrown(() -> strided(DType.INT32, 4, new long[] {3}, new long[] {-4})));
        p.put("S13", () -> thrown(() -> strided(DType.INT32, 0, new long[] {65}, new long[] {4})));
        p.put("S14", () -> thrown(() -> NdArray.of(memory, DType.INT32, 65)));
        p.put("S15", () -> thrown(() -> NdArray.of(memory.asSlice(0, 10), DType.INT32)));
        p.put("S16", () -> thrown(() -> strided(DType.INT32, SIZE + 1, new long[] {0}, new long[] {4})));
        p.put("S17", () -> thrown(() -> strided(DType.INT32, SIZE, new long[] {0, 3}, new long[] {4, 4}).getInt(0, 0)));
        p.put("S18", () -> thrown(() -> strided(DType.INT32, 8, new long[] {4, 3}, new long[] {0, 4}).setInt(1, 0, 0)));
        p.put("S19", () -> thrown(() -> strided(DType.INT32, 0, new long[] {4}, new long[] {2}).fillInt(0)));
        p.put("S20", () -> thrown(() -> strided(DType.INT32, 1, new long[] {4}, new long[] {4}).varHandle()
                .compareAndSet(0L, 0, 1)));
        p.put("S21", () -> thrown(() -> strided(DType.INT32, 1, new long[] {4}, new long[] {3}).getInt(2)));
        // ---- indices and element access
        p.put("I1", () -> thrown(() -> m.getInt(4, 0)));
        p.put("I2", () -> thrown(() -> m.getInt(Long.MAX_VALUE, 0)));
        p.put("I3", () -> thrown(() -> m.getInt(-5, 0)));
        p.put("I4", () -> thrown(() -> m.get(Index.at(-5))));
        p.put("I5", () -> thrown(() -> m.getInt(1)));
        p.put("I6", () -> thrown(() -> m.get(Index.at(0), Index.at(0), Index.at(0))));
        p.put("I7", () -> thrown(() -> m.get("..., 0, ...")));
        p.put("I8", () -> thrown(() -> m.get("1, y")));
        p.put("I9", () -> thrown(() -> Slice.of(0, 3, 0)));
        p.put("I10", () -> thrown(() -> NdArray.of(memory, DType.parse("<f4"), 4).getDouble(0)));
        p.put("I11", () -> thrown(() -> m.get(Index.at(0), Index.at(0)).broadcastTo(1L << 31).toArray()));
        p.put("I12", () -> thrown(() -> NdArray.of(memory, DType.record(List.of(new DType.Field("x", DType.INT32, 0)), 8), 4)
                .toArray()));
        p.put("I13", () -> thrown(() -> m.fillBytes(new byte[3])));
        p.put("I14", () -> thrown(() -> NdArray.of(memory, DType.parse("<f4"), 4).forEachDouble(Order.C, x -> { })));
        p.put("I15", () -> thrown(() -> NdArray.copyOf(new boolean[5], 2, 3)));
        // ---- view operations
        p.put("V1", () -> thrown(() -> m.reshape(7, 9)));
        p.put("V2", () -> thrown(() -> m.reshape(-1, -1)));
        p.put("V3", () -> thrown(() -> m.get(":, :8").reshape(32)));
        p.put("V4", () -> thrown(() -> m.get("0").broadcastTo(3, 5)));
        p.put("V5", () -> thrown(() -> m.reshape(2, 2, 16).transpose(0, 0, 1)));
        p.put("V6", () -> thrown(() -> m.swapAxes(0, 2)));
        p.put("V7", () -> thrown(() -> m.get("1:2, newaxis").squeeze(2)));
        p.put("V8", () -> thrown(() -> m.field("x")));
        p.put("V9", () -> thrown(() -> m.view(DType.INT64)));
        p.put("V10", () -> {
            NdArray src = NdArray.allocate(Arena.ofAuto(), DType.INT32, 4, 8);
            return thrown(() -> src.copyTo(m.get(":, :4")));
        });
        p.put("V11", () -> thrown(() -> NdArray.allocate(Arena.ofAuto(), DType.INT32, 4, 16)
                .copyTo(NdArray.of(memory, DType.FLOAT32, 4, 16))));
        // ---- dtype and format strings
        p.put("D1", () -> thrown(() -> DType.scalar(DType.Kind.BYTES, 0, null)));
        p.put("D2", () -> thrown(() -> DType.scalar(DType.Kind.FLOAT, 3, java.nio.ByteOrder.LITTLE_ENDIAN)));
        p.put("D3", () -> thrown(() -> DType.record(List.of(new DType.Field("x", DType.INT32, 0)), 0)));
        p.put("D4", () -> thrown(() -> DType.record(List.of(new DType.Field("x", DType.INT32, 0),
                new DType.Field("y", DType.INT32, 2)), 8)));
        p.put("D5", () -> thrown(() -> DType.fromFormat("")));
        p.put("D6", () -> thrown(() -> DType.parse("")));
        p.put("D7", () -> thrown(() -> DType.fromFormat("<z")));
        p.put("D8", () -> thrown(() -> DType.fromFormat("T{<i:x:")));
        p.put("D9", () -> thrown(() -> DType.fromFormat("99999999999s")));
        p.put("D10", () -> thrown(() -> DType.fromFormat("<i}")));
        p.put("D11", () -> thrown(() -> DType.parse("<f4x")));
        p.put("D12", () -> thrown(() -> DType.parse("<c8")));
        p.put("D13", () -> thrown(() -> DType.fromFormat("2i")));
        p.put("D14", () -> thrown(() -> dev.panbuf.format.NumpyDescr.parseDescr("[('x', '<i4', (3,))]")));
        p.put("D15", () -> thrown(() -> DLPack.export(NdArray.allocate(Arena.ofAuto(), DType.parse(">f4"), 2))));
        p.put("D16", () -> {
            try (Producer pb = new Producer(3, 4)) {
                pb.format = "<d";
                pb.publish();
                Throwable t = thrown(() -> NdArray.fromPbBuffer(pb.pointer(), arena));
                assertEquals(0, pb.releases.get());
                return t;
            }
        });
        p.put("D17", () -> {
            try (Producer pb = new Producer(3, 4)) {
                pb.format = "T{<f";
                pb.publish();
                return thrown(() -> NdArray.fromPbBuffer(pb.pointer(), arena));
            }
        });
        p.put("D18", () -> thrown(() -> DType.fromFormat("T{Q:f0:2147483647xQ:f1:}")));
        p.put("D19", () -> thrown(() -> DType.scalar(DType.Kind.BYTES, 1L << 31, null)));
        p.put("D20", () -> thrown(() -> DType.record(List.of(new DType.Field("a", DType.UINT8, 0)), 1L << 31)));
        // ---- lifetimes
        p.put("L1", () -> {
            BufferArena a = BufferArena.ofConfined();
            NdArray v = NdArray.allocate(a, DType.FLOAT32, 2);
            a.close();
            return thrown(() -> v.getFloat(0));
        });
        p.put("L2", () -> {
            BufferArena a = BufferArena.ofConfined();
            NdArray v = NdArray.allocate(a, DType.FLOAT32, 2);
            a.close();
            return thrown(v::export);
        });
        p.put("L3", () -> {
            BufferArena a = BufferArena.builder().name("frames").build();
            a.close();
            return thrown(a::close);
        });
        p.put("L4", () -> {
            BufferArena a = BufferArena.builder().name("frames").build();
            a.close();
            return thrown(() -> a.allocate(8));
        });
        p.put("L5", () -> {
            BufferArena a = BufferArena.builder().name("frames").build();
            Export e = NdArray.allocate(a, DType.UINT8, 3).export();
            try {
                return thrown(a::close);
            } finally {
                e.close();
                a.close();
            }
        });
        p.put("L6", () -> {
            try (GrowableBuffer buf = GrowableBuffer.ofConfined(4)) {
                buf.append(new byte[] {1, 2, 3, 4});
                Export e = buf.view(DType.UINT8).export();
                try {
                    return thrown(() -> buf.append(new byte[] {5}));
                } finally {
                    e.close();
                }
            }
        });
        p.put("L7", () -> {
            BufferArena a = BufferArena.ofConfined();
            Export e = NdArray.allocate(a, DType.UINT8, 3).export();
            e.close();
            Throwable t = thrown(e::close);
            a.close();
            return t;
        });
        p.put("L8", () -> {
            BufferArena a = BufferArena.ofConfined();
            Export e = NdArray.allocate(a, DType.UINT8, 3).export();
            e.close();
            Throwable t = thrown(e::pointer);
            a.close();
            return t;
        });
        p.put("L9", () -> {
            BufferArena a = BufferArena.ofConfined();
            Export e = NdArray.allocate(a, DType.UINT8, 3).export();
            MemorySegment c = e.handOff();
            Throwable t = thrown(e::handOff);
            Shim.release(c);
            a.close();
            return t;
        });
        p.put("L10", () -> {
            try (Producer pb = new Producer(2, 2)) {
                pb.throwOnRelease = new IllegalStateException("producer failed");
                pb.publish();
                BufferArena a = BufferArena.ofConfined();
                NdArray.fromPbBuffer(pb.pointer(), a);
                Throwable t = thrown(a::close);
                assertTrue(a.isClosed(), "the arena ends closed");
                assertEquals(1, pb.releases.get());
                return t;
            }
        });
        p.put("L11", () -> thrown(() -> NdArray.fromPbBuffer(MemorySegment.NULL, arena)));
        p.put("L12", () -> {
            try (Producer pb = new Producer(3, 4)) {
                pb.nullBuf = true;
                pb.publish();
                return thrown(() -> NdArray.fromPbBuffer(pb.pointer(), arena));
            }
        });
        p.put("L13", () -> {
            try (Producer pb = new Producer(3, 4)) {
                pb.nullShape = true;
                pb.publish();
                return thrown(() -> NdArray.fromPbBuffer(pb.pointer(), arena));
            }
        });
        p.put("L14", () -> {
            try (Producer pb = new Producer(3, 4)) {
                pb.len = 50;
                pb.publish();
                return thrown(() -> NdArray.fromPbBuffer(pb.pointer(), arena));
            }
        });
        p.put("L15", () -> {
            try (Producer pb = new Producer(3, 4)) {
                pb.shape = new long[] {4, 4};
                pb.len = 64;
                pb.publish();
                return thrown(() -> NdArray.fromPbBuffer(pb.pointer(), arena));
            }
        });
        p.put("L16", () -> {
            try (Producer pb = new Producer(3, 4)) {
                pb.magic = Shim.MAGIC_RELEASED;
                pb.publish();
                return thrown(() -> NdArray.fromPbBuffer(pb.pointer(), arena));
            }
        });
        p.put("L17", () -> {
            try (Producer pb = new Producer(2, 2).publish()) {
                BufferArena closed = BufferArena.ofConfined();
                closed.close();
                return thrown(() -> NdArray.fromPbBuffer(pb.pointer(), closed));
            }
        });
        p.put("L18", () -> thrown(() -> NdArray.wrap(new float[4]).export()));
        p.put("L19", () -> {
            try (Arena plain = Arena.ofConfined()) {
                return thrown(() -> NdArray.allocate(plain, DType.FLOAT32, 2).export());
            }
        });
        p.put("L20", () -> {
            try (BufferArena other = BufferArena.ofConfined(); Export e = m.export()) {
                return thrown(() -> NdArray.fromPbBuffer(e.pointer(), other));
            }
        });
        p.put("L21", () -> {
            BufferArena a2 = BufferArena.builder().name("arena2").build();
            BufferArena a3 = BufferArena.ofConfined();
            MemorySegment handed = m.export().handOff();
            NdArray.fromPbBuffer(handed, a2);
            try {
                return thrown(() -> NdArray.fromPbBuffer(handed, a3));
            } finally {
                a3.close();
                a2.close();   // releases the export
            }
        });
        p.put("L22", () -> {
            try (BufferArena other = BufferArena.ofConfined(); var tensor = DLPack.export(m)) {
                return thrown(() -> DLPack.importVersioned(tensor.pointer(), other));
            }
        });
        p.put("L23", () -> {
            BufferArena a2 = BufferArena.builder().name("arena2").build();
            BufferArena a3 = BufferArena.ofConfined();
            MemorySegment handed = DLPack.export(m).handOff();
            DLPack.importVersioned(handed, a2);
            try {
                return thrown(() -> DLPack.importVersioned(handed, a3));
            } finally {
                a3.close();
                a2.close();   // deletes the tensor
            }
        });
        p.put("L24", () -> {
            BufferArena a1 = BufferArena.builder().name("arena1").build();
            BufferArena a2 = BufferArena.builder().name("arena2").build();
            NdArray.fromPbBuffer(NdArray.allocate(a1, DType.UINT8, 3).export().handOff(), a2);
            try {
                return thrown(a1::close);
            } finally {
                a2.close();
                a1.close();
            }
        });
        p.put("L25", () -> {
            BufferArena self = BufferArena.builder().name("self").build();
            NdArray.fromPbBuffer(NdArray.allocate(self, DType.UINT8, 3).export().handOff(), self);
            DLPack.importVersioned(DLPack.export(NdArray.allocate(self, DType.UINT8, 3)).handOff(), self);
            Throwable t = thrown(self::close);
            assertTrue(self.isClosed(), "an arena that imported its own exports closes");
            return t;
        });
        p.put("L26", () -> {
            BufferArena self = BufferArena.builder().name("self").build();
            NdArray same = NdArray.fromPbBuffer(NdArray.allocate(self, DType.UINT8, 3).export().handOff(), self);
            Export again = same.export();
            try {
                return thrown(self::close);
            } finally {
                again.close();
                self.close();
            }
        });
        p.put("L27", () -> {
            try (GrowableBuffer buf = GrowableBuffer.ofConfined(8)) {
                buf.resize(8);
                NdArray before = buf.view(DType.INT64);
                buf.append(new byte[8]);   // moves
                return thrown(() -> before.setLong(1, 0));
            }
        });
        p.put("L28", () -> {
            try (GrowableBuffer buf = GrowableBuffer.ofConfined(24); Arena stubs = Arena.ofConfined()) {
                buf.resize(24);
                growing = buf;
                growFailure = null;
                MemorySegment cmp = NativeTestSupport.comparator(MethodHandles.lookup().findStatic(BadInputCatalogTest.class,
                        "growThenCompare", MethodType.methodType(int.class, MemorySegment.class, MemorySegment.class)),
                        ValueLayout.JAVA_LONG, stubs);
                NativeTestSupport.qsort(buf.segment(), 3, 8, cmp);
                assertEquals(24, buf.byteSize(), "nothing changed");
                return growFailure;
            } finally {
                growing = null;
            }
        });
        p.put("L29", () -> {
            Export e = m.export();
            MemorySegment pointer = e.pointer();
            e.close();
            return thrown(() -> pointer.get(ValueLayout.JAVA_LONG, 0));
        });
        // ---- threads
        p.put("T1", () -> onAnotherThread(() -> m.getInt(0, 0)));
        p.put("T2", () -> onAnotherThread(arena::close));
        p.put("T3", () -> onAnotherThread(() -> NdArray.allocate(arena, DType.INT8, 4)));
        p.put("T4", () -> {
            try (GrowableBuffer buf = GrowableBuffer.ofConfined(4)) {
                return onAnotherThread(() -> buf.append(new byte[1]));
            }
        });
        p.put("T5", () -> {
            AtomicReference<Throwable> t = new AtomicReference<>();
            Thread.ofVirtual().start(() -> t.set(thrown(() -> m.getInt(0, 0)))).join();
            return t.get();
        });
        // ---- read-only
        p.put("R1", () -> thrown(() -> m.asReadOnly().setInt(1, 0, 0)));
        p.put("R2", () -> thrown(() -> m.asReadOnly().varHandle().set(0L, 0L, 1)));
        p.put("R3", () -> thrown(() -> m.get("0").copyTo(m.asReadOnly().get("1"))));
        p.put("R4", () -> thrown(() -> m.get("0").broadcastTo(3, 16).setInt(1, 0, 0)));
        p.put("R5", () -> thrown(() -> NdArray.of(memory.asReadOnly(), DType.INT32, 4, 16).fillInt(0)));
        p.put("R6", () -> {
            try (Export e = m.exportReadOnly(); Arena scratch = Arena.ofConfined()) {
                MemorySegment src = scratch.allocate(16);
                int rc = Shim.fromContiguous(e.pointer(), src, 16, 'C');
                return new IllegalStateException("pb_from_contiguous returned " + rc + " (" + Shim.strerror(rc) + ")");
            }
        });
        p.put("R7", () -> thrown(() -> DLPack.exportLegacy(m.asReadOnly())));
        p.put("R8", () -> thrown(() -> m.broadcastTo(3, 4, 16).segment().set(ValueLayout.JAVA_INT, 0, 1)));
        p.put("R9", () -> thrown(() -> NdArray.of(m.asReadOnly().segment(), DType.INT32).setInt(1, 0)));
        p.put("R10", () -> {
            try (BufferArena other = BufferArena.ofConfined()) {
                NdArray in = DLPack.importVersioned(DLPack.export(m.asReadOnly()).handOff(), other);
                return thrown(() -> in.segment().set(ValueLayout.JAVA_INT, 0, 1));
            }
        });
        p.put("R11", () -> thrown(() -> CriticalCall.dataOf(NdArray.wrap(new int[4]).asReadOnly())));
        // ---- resources
        p.put("X1", () -> thrown(() -> NdArray.allocate(arena, DType.INT8, Long.MAX_VALUE)));
        // 256 TiB: more than the 47-bit address space, so it fails even where the kernel overcommits memory
        p.put("X2", () -> thrown(() -> NdArray.allocate(arena, DType.INT8, 1L << 48)));
        p.put("X3", () -> thrown(() -> arena.allocate(16, 3)));
        p.put("X4", () -> {
            try (BufferArena budget = BufferArena.builder().budgetBytes(1000).name("budgeted").build()) {
                NdArray.allocate(budget, DType.UINT8, 600);
                return thrown(() -> NdArray.allocate(budget, DType.UINT8, 401));
            }
        });
        p.put("X5", () -> {
            try (BufferArena budget = BufferArena.builder().budgetBytes(100).name("budgeted").build()) {
                return thrown(() -> m.copy(Order.F, budget));
            }
        });
        p.put("X6", () -> {
            try (GrowableBuffer buf = GrowableBuffer.withBudget(false, 16, 40)) {
                buf.append(new byte[40]);
                return thrown(() -> buf.append(new byte[1]));
            }
        });
        p.put("X7", () -> {
            try (BufferArena budget = BufferArena.builder().budgetBytes(1 << 20).name("npy budget").build()) {
                return thrown(() -> Npy.read(new ByteArrayInputStream(npy("{'descr': '<f8', 'fortran_order': False, 'shape': (1000000,), }")),
                        budget));
            }
        });
        p.put("X8", () -> {
            try (BufferArena a = BufferArena.ofConfined()) {
                return thrown(() -> exportOfARecordNoFormatCanSay(a));
            }
        });
        p.put("X9", () -> {
            try (BufferArena a = BufferArena.ofConfined()) {
                DType nul = DType.record(List.of(new DType.Field("a\0b", DType.INT32, 0)), 4);
                return thrown(() -> NdArray.allocate(a, nul, 2).export());
            }
        });
        // ---- native code and C consumers
        p.put("N1", () -> thrown(() -> NativeShim.libraryLookup(Path.of("/nonexistent/libconsumer.so"), arena)));
        p.put("N2", () -> {
            Path dir = Files.createTempDirectory("panbuf-catalogue-");
            try {
                Path source = Files.writeString(dir.resolve("missing.c"),
                        "int pb_not_a_function(int);\nint missing_call(int x) { return pb_not_a_function(x); }\n");
                Path library = dir.resolve("libmissing.so");
                Process cc = new ProcessBuilder("cc", "-shared", "-fPIC", "-o", library.toString(), source.toString())
                        .redirectErrorStream(true).start();
                cc.getInputStream().transferTo(java.io.OutputStream.nullOutputStream());
                assertEquals(0, cc.waitFor(), "cc could not build the probe library");
                return thrown(() -> NativeShim.libraryLookup(library, arena));
            } finally {
                try (Stream<Path> files = Files.list(dir)) {
                    for (Path f : files.toList()) {
                        Files.delete(f);
                    }
                }
                Files.delete(dir);
            }
        });
        // ---- .npy files
        p.put("F1", () -> thrown(() -> Npy.read(new ByteArrayInputStream("\u0093NUMPX".getBytes(StandardCharsets.ISO_8859_1)),
                arena)));
        p.put("F2", () -> thrown(() -> Npy.read(new ByteArrayInputStream(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }")),
                arena)));
        p.put("F3", () -> {
            byte[] file = npy("{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }");
            // A stream's data memory is allocated once its header is read (as NumPy does), before the
            // data turns out short: it belongs to the arena until that closes, so use one of its own.
            try (BufferArena own = BufferArena.ofConfined()) {
                return thrown(() -> Npy.read(new ByteArrayInputStream(Arrays.copyOf(file, file.length + 8)), own));
            }
        });
        p.put("F4", () -> inFolder(dir -> thrown(() -> Npy.write(Files.createDirectory(dir.resolve("d.npy")), m))));
        p.put("F5", () -> inFolder(dir -> thrown(() -> Npy.write(dir.resolve("no/such/x.npy"), m))));
        p.put("F6", () -> inFolder(dir -> thrown(() -> Npy.write(Files.createSymbolicLink(dir.resolve("x.npy"),
                Path.of("missing.npy")), m))));
        p.put("F7", () -> inFolder(dir -> {
            Path fifo = dir.resolve("pipe.npy");
            assertEquals(0, new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor(), "mkfifo");
            return thrown(() -> Npy.write(fifo, m));
        }));
        p.put("F8", () -> inFolder(dir -> {
            Path f = dir.resolve("x.npy");
            Npy.write(f, m);
            try (Arena mapping = Arena.ofConfined()) {
                NdArray mapped = Npy.map(f, mapping, Npy.MapMode.COPY_ON_WRITE);
                return thrown(() -> Npy.write(f, mapped.get("::-1"), Npy.WriteMode.IN_PLACE));
            }
        }));
        p.put("F9", () -> inFolder(dir -> {
            Arena closed = Arena.ofConfined();
            NdArray gone = NdArray.allocate(closed, DType.INT32, 4);
            closed.close();
            return thrown(() -> Npy.write(dir.resolve("x.npy"), gone));
        }));
        p.put("F10", () -> thrown(() -> Npy.flush(m)));
        p.put("F11", () -> inFolder(dir -> {
            Path f = dir.resolve("x.npy");
            Npy.write(f, m);
            try (Arena mapping = Arena.ofConfined()) {
                return thrown(() -> Npy.flush(Npy.map(f, mapping, Npy.MapMode.COPY_ON_WRITE)));
            }
        }));
        p.put("F12", () -> inFolder(dir -> {
            Path f = dir.resolve("x.npy");
            Npy.write(f, m);
            try (Arena mapping = Arena.ofConfined()) {
                NdArray mapped = Npy.map(f, mapping, Npy.MapMode.READ_WRITE);
                return thrown(() -> Npy.flush(mapped, 200, 100));
            }
        }));
        // ---- Arrow
        p.put("A1", () -> thrown(() -> dev.panbuf.arrow.Arrow.exportArray(m.get(":, 1"))));
        p.put("A2", () -> thrown(() -> dev.panbuf.arrow.Arrow.exportArray(m.transpose())));
        p.put("A3", () -> thrown(() -> dev.panbuf.arrow.Arrow.exportArray(
                NdArray.allocate(Arena.ofAuto(), DType.parse(">f4"), 2))));
        p.put("A4", () -> thrown(() -> dev.panbuf.arrow.Arrow.exportArray(NdArray.allocate(Arena.ofAuto(), DType.BOOL, 2))));
        p.put("A5", () -> {
            try (var e = dev.panbuf.arrow.Arrow.exportArray(m)) {
                return thrown(() -> dev.panbuf.arrow.Arrow.importArray(e.array(), e.schema(), Arena.ofAuto()));
            }
        });
        p.put("A6", () -> arrowImport(f -> f.array(2, 0, 0, arrowData(f)), f -> f.schema("z", "x", null)));
        p.put("A7", () -> arrowImport(f -> f.array(-1, 0, 0, arrowData(f)), f -> f.schema("i", "x", null)));
        p.put("A8", () -> arrowImport(f -> f.array(2, 0, 0, new MemorySegment[] {MemorySegment.NULL}, f.array(2, 0, 0,
                arrowData(f))), f -> f.schema("+s", "", null, f.schema("i", "a", null), f.schema("i", "b", null))));
        p.put("A9", () -> {
            try (Arena structs = Arena.ofConfined()) {
                var f = new dev.panbuf.arrow.ForeignArrow(structs);
                MemorySegment a = f.array(2, 0, 0, arrowData(f));
                MemorySegment s = f.schema("i", "x", null);
                dev.panbuf.shim.ArrowShim.markReleased(a);
                Throwable t = thrown(() -> dev.panbuf.arrow.Arrow.importArray(a, s, Arena.ofAuto()));
                dev.panbuf.shim.ArrowShim.releaseSchema(s.address());
                return t;
            }
        });
        return p;
    }

    /** A probe that needs files: it runs in a new folder, removed with everything in it afterwards. */
    @FunctionalInterface
    interface FolderProbe {
        Throwable run(Path dir) throws Exception;
    }

    private static Throwable inFolder(FolderProbe probe) throws Exception {
        Path dir = Files.createTempDirectory("panbuf-catalogue-");
        try {
            return probe.run(dir);
        } finally {
            try (Stream<Path> all = Files.walk(dir)) {
                for (Path f : all.sorted(java.util.Comparator.reverseOrder()).toList()) {
                    Files.delete(f);
                }
            }
        }
    }

    /** A .npy 1.0 file with this header dict and no data. */
    static byte[] npy(String dict) {
        byte[] text = (dict + "\n").getBytes(StandardCharsets.ISO_8859_1);
        byte[] out = new byte[10 + text.length];
        byte[] magic = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (byte) text.length, (byte) (text.length >> 8)};
        System.arraycopy(magic, 0, out, 0, 10);
        System.arraycopy(text, 0, out, 10, text.length);
        return out;
    }

    private static Export exportOfARecordNoFormatCanSay(Arena arena) {
        DType colon = DType.record(List.of(new DType.Field("a:b", DType.INT32, 0)), 4);
        return NdArray.allocate(arena, colon, 2).export();
    }

    // ------------------------------------------------------------------ the document, checked

    /** One row of the catalogue: id, exception simple name ("—" for none), message pattern. */
    record Row(String id, String exception, String message) {}

    static List<Row> rows() throws IOException {
        Pattern row = Pattern.compile("^\\|\\s*([A-Z]\\d+)\\s*\\|.*?\\|\\s*(`[A-Za-z]+`|—)\\s*\\|\\s*(`.*`|—)\\s*\\|[^|]*\\|\\s*$");
        List<Row> out = new ArrayList<>();
        for (String line : Files.readAllLines(DOCUMENT, StandardCharsets.UTF_8)) {
            Matcher mm = row.matcher(line.replace("\\|", "\u0000"));
            if (mm.matches()) {
                String message = mm.group(3).equals("—") ? "—" : mm.group(3).substring(1, mm.group(3).length() - 1);
                out.add(new Row(mm.group(1), mm.group(2).replace("`", ""), message.replace("\u0000", "|")));
            }
        }
        return out;
    }

    /** The message with each "…" matching anything. */
    static boolean matches(String pattern, String message) {
        StringBuilder regex = new StringBuilder();
        for (String part : pattern.split("…", -1)) {
            if (!regex.isEmpty()) {
                regex.append(".*?");
            }
            regex.append(Pattern.quote(part));
        }
        return Pattern.compile(regex.toString(), Pattern.DOTALL).matcher(message).matches();
    }

    private String snapshot() {
        return Arrays.toString(memory.toArray(ValueLayout.JAVA_BYTE)) + " " + Accounting.summary() + " live exports of the"
                + " catalogue arena: " + arena.liveExportCount();
    }

    @TestFactory
    Stream<DynamicTest> everyCatalogueRowThrowsExactlyWhatItSays() throws Exception {
        String print = System.getProperty("panbuf.catalogue.print");
        if (print != null) {
            StringBuilder out = new StringBuilder();
            for (Map.Entry<String, Probe> e : probes().entrySet()) {
                Throwable t;
                try {
                    t = e.getValue().run();
                } catch (Exception ex) {
                    t = ex;
                }
                out.append(e.getKey()).append('\t').append(t == null ? "—" : t.getClass().getSimpleName()).append('\t')
                        .append(t == null ? "—" : t.getMessage()).append('\n');
            }
            Files.writeString(Path.of(print), out);
        }
        List<Row> rows = rows();
        assertTrue(rows.size() > 50, "the catalogue has " + rows.size() + " rows; is " + DOCUMENT + " readable?");
        Map<String, Probe> probes = probes();
        List<String> documented = rows.stream().map(Row::id).toList();
        assertEquals(List.copyOf(probes.keySet()), documented, "the catalogue's rows and this test's probes, in order");
        return rows.stream().map(row -> DynamicTest.dynamicTest(row.id(), () -> {
            assumeFalse(UNDER_ASAN && row.id().equals("X2"), "X2 needs the system allocator, not AddressSanitizer's");
            String before = snapshot();
            Throwable t = probes.get(row.id()).run();
            if (row.exception().equals("—")) {
                assertNull(t, row.id() + " must not throw");
            } else {
                assertNotNull(t, row.id() + " must throw " + row.exception());
                assertEquals(row.exception(), t.getClass().getSimpleName(), row.id() + ": " + t);
                assertTrue(matches(row.message(), String.valueOf(t.getMessage())),
                        row.id() + ": the message is\n  " + t.getMessage() + "\nbut the catalogue says\n  " + row.message());
            }
            assertEquals(before, snapshot(), row.id() + " changed the memory or the accounting");
        }));
    }

    // ------------------------------------------------------------------ entries no other test covered

    @Test
    void aHugeAllocationIsRefusedWithPanbufsMessageAndAllocatesNothing() {
        String before = snapshot();
        long bytes = arena.allocatedBytes();
        for (long size : UNDER_ASAN ? new long[] {Long.MAX_VALUE} : new long[] {Long.MAX_VALUE, 1L << 48}) {
            Throwable t = thrown(() -> NdArray.allocate(arena, DType.INT8, size));
            assertNotNull(t);
            assertTrue(t.getMessage().contains(Long.toString(size)), t.getMessage());
            assertEquals(bytes, arena.allocatedBytes(), "nothing counted against the arena");
        }
        NdArray.allocate(arena, DType.INT8, 16).fillByte((byte) 1);   // the arena still works
        assertEquals(bytes + 16, arena.allocatedBytes());
        if (!UNDER_ASAN) {
            // A JDK arena's large arrays come from the C library too: its refusal names the request the same way.
            int blocks = Allocation.anonymousBlocks();
            try (Arena jdk = Arena.ofConfined()) {
                Throwable c = thrown(() -> NdArray.allocate(jdk, DType.INT8, 1L << 48));
                assertTrue(Allocation.anonymousBlocks() <= blocks, "the refused block was recorded for the C kernel");
                assertEquals(OutOfMemoryError.class, c.getClass());
                assertTrue(matches("cannot allocate 281474976710656 bytes (aligned to 64): the system has no memory for it"
                        + " (…); nothing was allocated", c.getMessage()), c.getMessage());
                NdArray.allocate(jdk, DType.INT8, 16).fillByte((byte) 1);
            }
        }
        assertEquals(before.substring(0, before.indexOf(']')), snapshot().substring(0, before.indexOf(']')));
    }

    @Test
    void aCopyOverTheBudgetAllocatesNothingAndTheSourceIsUnchanged() {
        String before = snapshot();
        try (BufferArena budget = BufferArena.builder().budgetBytes(100).name("budgeted").build()) {
            BudgetExceededException e = assertThrows(BudgetExceededException.class, () -> m.copy(Order.F, budget));
            assertEquals("allocating 256 bytes in budgeted would exceed its budget of 100 bytes (0 already allocated)",
                    e.getMessage());
            assertEquals(0, budget.allocatedBytes());
            NdArray fits = m.get(":, :4").copy(Order.C, budget);   // 64 bytes do fit
            assertEquals(m.getInt(3, 3), fits.getInt(3, 3));
            assertEquals(64, budget.allocatedBytes());
        }
        assertEquals(before, snapshot());
    }

    @Test
    void aNpyStreamDeclaringMoreThanTheBudgetAllocatesNothing() throws IOException {
        long open = Accounting.openArenas();
        try (BufferArena budget = BufferArena.builder().budgetBytes(1 << 20).name("npy budget").build()) {
            byte[] file = npy("{'descr': '<f8', 'fortran_order': False, 'shape': (1000000,), }");
            BudgetExceededException e = assertThrows(BudgetExceededException.class,
                    () -> Npy.read(new ByteArrayInputStream(file), budget));
            assertTrue(e.getMessage().startsWith("allocating 8000000 bytes in npy budget would exceed its budget of 1048576"),
                    e.getMessage());
            assertEquals(0, budget.allocatedBytes());
        }
        assertEquals(open, Accounting.openArenas());
    }

    @Test
    void anExportThatFailsHalfWayIsRolledBackCompletely() {
        String before = snapshot();
        try (BufferArena a = BufferArena.builder().name("half-way").build()) {
            long exports = Accounting.liveExports();
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> exportOfARecordNoFormatCanSay(a));
            assertTrue(e.getMessage().contains("a:b"), e.getMessage());
            assertEquals(0, a.liveExportCount(), "no half-registered export pins the arena");
            assertEquals(exports, Accounting.liveExports(), "no export counted");
            DType nul = DType.record(List.of(new DType.Field("a\0b", DType.INT32, 0)), 4);
            NdArray nulView = NdArray.allocate(a, nul, 2);
            IllegalArgumentException n = assertThrows(IllegalArgumentException.class, nulView::export);
            assertTrue(n.getMessage().contains("NUL"), n.getMessage());
            assertEquals(0, a.liveExportCount());
            assertEquals(exports, Accounting.liveExports());
            // the pinning was undone: the arena closes, and another export works
            try (Export ok = NdArray.allocate(a, DType.INT32, 2).export()) {
                assertEquals(1, a.liveExportCount());
                assertEquals(0, Shim.validate(ok.pointer()));
            }
        }
        assertEquals(before, snapshot());
    }

    @Test
    void handOffTwiceIsRefusedAndTheBufferIsReleasedOnce() {
        BufferArena a = BufferArena.ofConfined();
        Export e = NdArray.allocate(a, DType.UINT8, 3).export();
        MemorySegment c = e.handOff();
        IllegalStateException twice = assertThrows(IllegalStateException.class, e::handOff);
        assertTrue(twice.getMessage().endsWith(" is already handed off to C"), twice.getMessage());
        assertThrows(LiveExportsException.class, a::close, "still pinned: C owns it");
        e.close();   // Java's close leaves a handed-off export alone
        assertFalse(e.isReleased());
        Shim.release(c);
        assertTrue(e.isReleased());
        assertEquals(0, a.liveExportCount());
        a.close();
    }

    @Test
    void aNonNativeByteOrderIsRefusedByDLPackAndNothingIsExported() {
        String before = snapshot();
        NdArray big = NdArray.of(memory, DType.parse(">f4"), 64);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> DLPack.export(big));
        assertTrue(e.getMessage().contains("copy it to <f4 first"), e.getMessage());
        assertEquals(0, arena.liveExportCount());
        assertEquals(before, snapshot());
    }

    @Test
    void aWritableRequestOnReadOnlyMemoryFailsInCAndWritesNothing() {
        String before = snapshot();
        try (Export e = m.exportReadOnly(); Arena scratch = Arena.ofConfined()) {
            MemorySegment src = scratch.allocate(SIZE);
            src.fill((byte) 0x55);
            assertEquals(Shim.E_READONLY, Shim.fromContiguous(e.pointer(), src, SIZE, 'C'));
        }
        assertEquals(before, snapshot(), "pb_from_contiguous into a read-only export wrote nothing");
    }

    @Test
    void asStridedRefusalsLeaveTheMemoryAlone() {
        byte[] bytes = memory.toArray(ValueLayout.JAVA_BYTE);
        for (long[] bad : new long[][] {{4, -4, 3}, {0, 4, 65}, {Long.MAX_VALUE - 1, 1, 3}, {257, 4, 0}}) {
            assertThrows(IllegalArgumentException.class, () -> strided(DType.INT32, bad[0], new long[] {bad[2]},
                    new long[] {bad[1]}));
        }
        assertArrayEquals(bytes, memory.toArray(ValueLayout.JAVA_BYTE));
        assertInstanceOf(NdArray.class, strided(DType.INT32, 252, new long[0], new long[0]));
    }

    @Test
    void releasingAnImportTwiceFromCDoesNotReleaseItTwice() {
        try (Producer pb = new Producer(2, 2).publish()) {
            long imports = Accounting.liveImports();
            BufferArena a = BufferArena.ofConfined();
            NdArray v = NdArray.fromPbBuffer(pb.pointer(), a);
            assertEquals(1f, v.getFloat(0, 1));
            Shim.release(pb.pointer());   // the producer's side releases early (allowed), twice
            Shim.release(pb.pointer());
            assertEquals(1, pb.releases.get());
            a.close();                    // the arena's release is then harmless
            assertEquals(1, pb.releases.get());
            assertEquals(imports, Accounting.liveImports());
        }
    }

}
