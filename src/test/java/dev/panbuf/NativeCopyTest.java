package dev.panbuf;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The C copy kernel ({@code pb_copy_strided}) behind large copies between
 * native memories: random layouts sent through it (the size threshold
 * lowered to nothing) checked byte for byte against {@link CopyPropertyTest}'s
 * flat model; proof that the kernel is taken at the default threshold and
 * only between native memories; copies of more than 8 MiB (non-temporal
 * stores); and a JVM without native access or with
 * {@code -Dpanbuf.copy.native=false}, where the same copies run in Java.
 *
 * <p>Tagged {@code native}: the sanitizer leg runs it again against the
 * shim built with AddressSanitizer and UBSan.
 */
@Tag("native")
@ExtendWith(LeakCheck.class)
class NativeCopyTest {

    private static final long SEED = 0x9C0_9E7AL;

    private static DType le(DType t) {
        return t.withByteOrder(ByteOrder.LITTLE_ENDIAN);
    }

    /** A complex-like pair of floats (panbuf has no complex dtype: NumPy's c8 and c16 are records here). */
    private static DType pair(DType part, ByteOrder re, ByteOrder im) {
        long size = part.byteSize();
        return DType.record(List.of(new DType.Field("re", part.withByteOrder(re), 0),
                new DType.Field("im", part.withByteOrder(im), size)), 2 * size);
    }

    /** Element sizes 1, 2, 4, 8 and 16 (and odd bytes); each scalar also meets its other byte order. */
    private static final List<DType> TYPES = List.of(DType.UINT8, DType.BOOL, le(DType.INT16), le(DType.FLOAT16),
            le(DType.FLOAT32), le(DType.INT32), le(DType.FLOAT64), le(DType.INT64),
            pair(DType.FLOAT32, ByteOrder.LITTLE_ENDIAN, ByteOrder.LITTLE_ENDIAN),
            pair(DType.FLOAT64, ByteOrder.LITTLE_ENDIAN, ByteOrder.LITTLE_ENDIAN),
            DType.scalar(DType.Kind.BYTES, 16, null), DType.scalar(DType.Kind.BYTES, 3, null));

    @AfterEach
    void restoreThreshold() {
        Copier.nativeMinBytes = Copier.NATIVE_MIN_BYTES;
    }

    @Test
    void theKernelIsAvailableInTheTestJvm() {
        // The tests run with native access granted: a kernel silently off would make the others prove nothing.
        assertTrue(Copier.nativeKernelEnabled(), "the C copy kernel is off in a JVM with native access");
    }

    @Test
    void randomCopiesThroughTheKernelMatchTheFlatModel() {
        Copier.nativeMinBytes = 0;
        Random r = new Random(SEED);
        long viaKernel = 0;
        for (int i = 0; i < 2500; i++) {
            long caseSeed = r.nextLong();
            try {
                viaKernel += copyCase(new Random(caseSeed), i % 10 == 0);
            } catch (AssertionError | RuntimeException e) {
                throw new AssertionError("case " + i + " (seed " + caseSeed + "): " + e.getMessage(), e);
            }
        }
        assertTrue(viaKernel > 1500, "only " + viaKernel + " of 2500 copies went through the kernel");
    }

    /** One random copy between native memories; returns 1 when it went through the kernel. */
    private static int copyCase(Random c, boolean large) {
        try (Arena arena = Arena.ofConfined()) {
            DType type = TYPES.get(c.nextInt(TYPES.size()));
            DType srcType = randomOrder(c, type);
            DType dstType = randomOrder(c, type);
            long[] shape = large ? largeShape(c) : CopyPropertyTest.randomShape(c);
            CopyPropertyTest.Layout sl = CopyPropertyTest.randomLayout(c, shape, type.byteSize(), true);
            CopyPropertyTest.Layout dl = CopyPropertyTest.randomLayout(c, shape, type.byteSize(), false);
            MemorySegment sm = randomNative(c, arena, sl.regionBytes());
            MemorySegment dm = randomNative(c, arena, dl.regionBytes());
            NdArray src = NdArray.asStrided(sm, srcType, sl.offset(), shape, sl.strides());
            NdArray dst = NdArray.asStrided(dm, dstType, dl.offset(), shape, dl.strides(), NdArray.Overlap.ALLOW_WRITES);
            byte[] expected = dm.toArray(ValueLayout.JAVA_BYTE);
            CopyPropertyTest.model(sm.toArray(ValueLayout.JAVA_BYTE), sl.offset(), sl.strides(), srcType, expected,
                    dl.offset(), dl.strides(), dstType, shape);
            long before = Copier.NATIVE_COPIES.sum();
            src.copyTo(dst);
            long calls = Copier.NATIVE_COPIES.sum() - before;
            byte[] actual = dm.toArray(ValueLayout.JAVA_BYTE);
            if (!Arrays.equals(expected, actual)) {
                int at = Arrays.mismatch(expected, actual);
                fail("copy of " + CopyPropertyTest.describe(src) + " into " + CopyPropertyTest.describe(dst)
                        + ": byte " + at + " of the destination memory is " + actual[at] + ", expected " + expected[at]
                        + " (" + calls + " kernel calls)");
            }
            // Two or more elements, not one bulk copy of equal packed layouts: the kernel must have run.
            boolean bulk = srcType.equals(dstType) && (src.isContiguous(Order.C) && dst.isContiguous(Order.C)
                    || src.isContiguous(Order.F) && dst.isContiguous(Order.F));
            if (src.elementCount() >= 2 && !bulk && calls == 0) {
                fail("copy of " + CopyPropertyTest.describe(src) + " into " + CopyPropertyTest.describe(dst)
                        + " between native memories did not go through the kernel");
            }
            return calls > 0 ? 1 : 0;
        }
    }

    private static DType randomOrder(Random c, DType t) {
        ByteOrder a = c.nextBoolean() ? ByteOrder.BIG_ENDIAN : ByteOrder.LITTLE_ENDIAN;
        if (t.isRecord()) {
            ByteOrder b = c.nextBoolean() ? ByteOrder.BIG_ENDIAN : ByteOrder.LITTLE_ENDIAN;
            return pair(t.fields().get(0).dtype(), a, b);
        }
        return t.byteOrder() == null ? t : t.withByteOrder(a);
    }

    /** Planes past one 64 x 64 tile, so that tiles, blocks and their edges all occur. */
    private static long[] largeShape(Random c) {
        return c.nextBoolean() ? new long[] {60 + c.nextInt(150), 60 + c.nextInt(150)}
                : new long[] {1 + c.nextInt(3), 60 + c.nextInt(90), 60 + c.nextInt(90)};
    }

    private static MemorySegment randomNative(Random c, Arena arena, long size) {
        byte[] bytes = new byte[(int) size];
        c.nextBytes(bytes);
        MemorySegment m = arena.allocate(size, 1 + c.nextInt(2) * 7);
        MemorySegment.copy(bytes, 0, m, ValueLayout.JAVA_BYTE, 0, bytes.length);
        return Allocation.recordAnonymous(m);   // the kernel takes only memory panbuf knows has no file behind it
    }

    @Test
    void largeNativeCopiesTakeTheKernelAndSmallOrHeapOnesDoNot() {
        try (Arena arena = Arena.ofConfined()) {
            NdArray square = NdArray.allocate(arena, DType.FLOAT32, 256, 256);   // 256 KiB
            fillSequence(square);
            NdArray out = NdArray.allocate(arena, DType.FLOAT32, 256, 256);
            long before = Copier.NATIVE_COPIES.sum();
            square.transpose().copyTo(out);
            assertEquals(before + 1, Copier.NATIVE_COPIES.sum(), "a 256 KiB native transpose did not use the kernel");
            assertEquals(square.getFloat(17, 200), out.getFloat(200, 17));

            NdArray small = square.get("0:8, 0:8");   // 256 bytes: below the threshold
            NdArray smallOut = NdArray.allocate(arena, DType.FLOAT32, 8, 8);
            before = Copier.NATIVE_COPIES.sum();
            small.transpose().copyTo(smallOut);
            assertEquals(before, Copier.NATIVE_COPIES.sum(), "a 256-byte copy went to the kernel");
            assertEquals(square.getFloat(3, 5), smallOut.getFloat(5, 3));

            // Heap to native and back: the Java loops, same bytes.
            float[] heap = new float[256 * 256];
            NdArray heapView = NdArray.wrap(heap).reshape(256, 256);
            before = Copier.NATIVE_COPIES.sum();
            square.transpose().copyTo(heapView);
            assertEquals(before, Copier.NATIVE_COPIES.sum(), "a copy into heap memory went to the kernel");
            assertEquals(square.getFloat(17, 200), heapView.getFloat(200, 17));
            NdArray back = NdArray.allocate(arena, DType.FLOAT32, 256, 256);
            heapView.transpose().copyTo(back);
            assertEquals(before, Copier.NATIVE_COPIES.sum(), "a copy from heap memory went to the kernel");
            assertTrue(Copier.contentEquals(square, back), "heap round trip changed the data");
        }
    }

    /** Copies past 8 MiB, whose contiguous destination runs the kernel writes with non-temporal stores. */
    @Test
    void copiesPastEightMebibytesMatchTheFlatModel() {
        try (Arena arena = Arena.ofConfined()) {
            long n = (9L << 20) / 4 + 3;
            NdArray a = NdArray.allocate(arena, DType.FLOAT32, n);
            fillSequence(a);
            DType big = DType.FLOAT32.withByteOrder(ByteOrder.BIG_ENDIAN);
            List<NdArray> sources = List.of(a.get("::-1"), a, a.get("1:2").broadcastTo(n));
            for (NdArray src : sources) {
                for (DType dt : List.of(DType.FLOAT32, big)) {
                    NdArray dst = NdArray.allocate(arena, dt, n);
                    long before = Copier.NATIVE_COPIES.sum();
                    src.copyTo(dst);
                    assertEquals(before + 1, Copier.NATIVE_COPIES.sum(), "9 MiB copy did not use the kernel");
                    byte[] expected = new byte[(int) dst.byteSize()];
                    CopyPropertyTest.model(a.segment().toArray(ValueLayout.JAVA_BYTE), src.byteOffset(), src.byteStrides(),
                            src.dtype(), expected, 0, dst.byteStrides(), dt, src.shape());
                    byte[] actual = dst.segment().toArray(ValueLayout.JAVA_BYTE);
                    int at = Arrays.mismatch(expected, actual);
                    assertEquals(-1, at, () -> "copy of " + CopyPropertyTest.describe(src) + " into " + dt.str()
                            + " differs at byte " + at);
                }
            }
        }
    }

    /**
     * A contiguous copy past 8 MiB within one array whose source and
     * destination overlap (both directions) stays with the JDK's bulk copy,
     * which copies as if through a temporary; C's streaming loop would read
     * bytes it had already overwritten.
     */
    @Test
    void overlappingContiguousCopiesStayInJavaAndKeepEveryByte() {
        try (Arena arena = Arena.ofConfined()) {
            long n = (9L << 20) / 4 + 5;
            NdArray a = NdArray.allocate(arena, DType.FLOAT32, n);
            for (String[] pair : new String[][] {{"1:", ":-1"}, {":-1", "1:"}}) {
                fillSequence(a);
                byte[] before = a.segment().toArray(ValueLayout.JAVA_BYTE);
                long calls = Copier.NATIVE_COPIES.sum();
                a.get(pair[0]).copyTo(a.get(pair[1]));
                assertEquals(calls, Copier.NATIVE_COPIES.sum(), "an overlapping copy went to the kernel");
                byte[] expected = before.clone();
                int from = pair[0].equals("1:") ? 4 : 0;
                int to = pair[1].equals("1:") ? 4 : 0;
                System.arraycopy(before, from, expected, to, (int) ((n - 1) * 4));
                int at = Arrays.mismatch(expected, a.segment().toArray(ValueLayout.JAVA_BYTE));
                assertEquals(-1, at, () -> "a[" + pair[0] + "] into a[" + pair[1] + "] differs at byte " + at);
            }
        }
    }

    private static void fillSequence(NdArray a) {
        MemorySegment s = a.segment();
        for (long i = 0; i < s.byteSize() / 4; i++) {
            s.setAtIndex(ValueLayout.JAVA_INT, i, (int) (i * 0x9E3779B1L));
        }
    }

    @Test
    void withoutNativeAccessCopiesRunInJavaSilently() throws Exception {
        ChildJvm.Result r = ChildJvm.run(NativeCopyScenario.class, List.of(), List.of(), 120, false);
        assertEquals(0, r.exitCode(), r.explain());
        assertEquals("kernel=false copies=0 equal=true", r.stdout().strip(), r.explain());
        // No "restricted method" warning: panbuf did not ask for native access it was not given.
        assertTrue(!r.stderr().contains("restricted method"), r.explain());
    }

    @Test
    void theSwitchTurnsTheKernelOff() throws Exception {
        ChildJvm.Result off = ChildJvm.run(NativeCopyScenario.class, List.of("-D" + Copier.NATIVE_PROPERTY + "=false"),
                List.of(), 120, true);
        assertEquals(0, off.exitCode(), off.explain());
        assertEquals("kernel=false copies=0 equal=true", off.stdout().strip(), off.explain());
        ChildJvm.Result on = ChildJvm.run(NativeCopyScenario.class, List.of(), List.of(), 120, true);
        assertEquals(0, on.exitCode(), on.explain());
        assertEquals("kernel=true copies=1 equal=true", on.stdout().strip(), on.explain());
    }

    /**
     * A file mapping that is truncated under a view faults on access. Java's
     * loops survive that as an {@code InternalError}; C would end the JVM. So
     * mapped memory, and memory panbuf did not allocate (which may be a
     * producer's mapping), must never reach the C kernel: in a child JVM,
     * copies of a truncated mapping, seen through {@code Npy.map} and through
     * a bare address as an import would see it, throw and the JVM lives on.
     */
    @Test
    void aTruncatedMappingNeverReachesTheKernel() throws Exception {
        ChildJvm.Result r = ChildJvm.run(TruncatedMappingCopyScenario.class, List.of(), List.of(), 120, true);
        assertEquals(0, r.exitCode(), r.explain());
        assertEquals("""
                kernel=true
                mapped: InternalError: a fault occurred in an unsafe memory access operation
                address: InternalError: a fault occurred in an unsafe memory access operation
                allocated: copies=1
                alive""", r.stdout().strip(), r.explain());
    }

    /**
     * Another thread closes the shared arena (the JDK's, and a BufferArena)
     * that a C kernel copy is reading and writing. The linker holds the
     * arena's memory for the length of the call, so a close is refused (the
     * arena stays open and readable) or waits for the call to end, and the
     * copier's next copy throws: no memory is freed under C, no copy is
     * half right. In a child JVM, so that a crash is a finding.
     */
    @Test
    void closingASharedArenaDuringKernelCopiesNeverFreesMemoryUnderC() throws Exception {
        ChildJvm.Result r = ChildJvm.run(ConcurrentCloseCopyScenario.class, List.of(), List.of("20261202", "40"), 180, true);
        assertEquals(0, r.exitCode(), r.explain());
        assertEquals("rounds=40 wrong=0 copies>0=true refusedCloses>=0=true", r.stdout().strip(), r.explain());
    }
}
