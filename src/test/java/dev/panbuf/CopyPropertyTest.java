package dev.panbuf;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * {@code copyTo} and {@code copy(Order)} between random layouts, checked byte
 * for byte against a flat model: every element of the destination holds the
 * source's element at the same index as it was before the copy (converted to
 * the destination's byte order; records field by field when their orders
 * differ), and no other byte of the destination's memory changes.
 *
 * <p>Layouts: rank 1 to 5, any axis order in memory, steps of 1 to 3 in
 * either direction, padded rows, broadcast (stride 0) sources, every dtype
 * size from bool to 16-byte records and odd-sized bytes, heap and native
 * memory, and sources that overlap their destination in the same memory,
 * which must behave as if copied through a temporary (NumPy's {@code copyto}).
 * Seeded: a failure names its seed and case, and repeats.
 */
@ExtendWith(LeakCheck.class)
class CopyPropertyTest {

    private static final long SEED = 0x15C0_91E5L;

    private static final DType RECORD_LE = DType.record(List.of(
            new DType.Field("x", DType.INT32.withByteOrder(ByteOrder.LITTLE_ENDIAN), 0),
            new DType.Field("y", DType.FLOAT64.withByteOrder(ByteOrder.LITTLE_ENDIAN), 8)), 16);

    /** Value types whose elements the copy moves; each pairs with itself in either byte order. */
    private static final List<DType> TYPES = List.of(
            DType.BOOL, DType.INT8, DType.UINT8, DType.INT16, DType.UINT16, DType.FLOAT16, DType.INT32, DType.UINT32,
            DType.FLOAT32, DType.INT64, DType.UINT64, DType.FLOAT64,
            DType.scalar(DType.Kind.BYTES, 3, null), DType.scalar(DType.Kind.BYTES, 16, null),
            DType.scalar(DType.Kind.BYTES, 5, null), RECORD_LE);

    /** A view's geometry inside a region of {@code regionBytes}. */
    record Layout(long offset, long[] strides, long regionBytes) {}

    @Test
    void copyToMatchesTheFlatModel() {
        Random r = new Random(SEED);
        for (int i = 0; i < 2500; i++) {
            long caseSeed = r.nextLong();
            try {
                copyToCase(new Random(caseSeed), false);
            } catch (AssertionError | RuntimeException e) {
                throw new AssertionError("copyTo case " + i + " (seed " + caseSeed + "): " + e.getMessage(), e);
            }
        }
    }

    @Test
    void copyToOverlappingItsSourceMatchesTheFlatModel() {
        Random r = new Random(SEED + 1);
        for (int i = 0; i < 2000; i++) {
            long caseSeed = r.nextLong();
            try {
                copyToCase(new Random(caseSeed), true);
            } catch (AssertionError | RuntimeException e) {
                throw new AssertionError("overlapping copyTo case " + i + " (seed " + caseSeed + "): " + e.getMessage(), e);
            }
        }
    }

    @Test
    void copyInEitherOrderMatchesTheFlatModel() {
        Random r = new Random(SEED + 2);
        for (int i = 0; i < 1500; i++) {
            long caseSeed = r.nextLong();
            Random c = new Random(caseSeed);
            try (Arena arena = Arena.ofConfined()) {
                DType type = randomType(c);
                long[] shape = randomShape(c);
                Layout sl = randomLayout(c, shape, type.byteSize(), true);
                MemorySegment sm = randomMemory(c, arena, sl.regionBytes());
                NdArray src = NdArray.asStrided(sm, type, sl.offset(), shape, sl.strides());
                for (Order order : Order.values()) {
                    NdArray out = src.copy(order, arena);
                    assertEquals(type, out.dtype());
                    assertArrayEquals(shape, out.shape());
                    if (!out.isContiguous(order)) {
                        fail("case " + i + " (seed " + caseSeed + "): copy(" + order + ") is not " + order + "-contiguous");
                    }
                    byte[] expected = out.segment().toArray(ValueLayout.JAVA_BYTE);
                    byte[] srcBytes = sm.toArray(ValueLayout.JAVA_BYTE);
                    model(srcBytes, sl.offset(), sl.strides(), type, expected, out.byteOffset(), out.byteStrides(), type, shape);
                    assertArrayEquals(expected, out.segment().toArray(ValueLayout.JAVA_BYTE),
                            "case " + i + " (seed " + caseSeed + "): copy(" + order + ") of " + describe(src));
                }
            }
        }
    }

    /** Larger 2-d and 3-d transposes and reversals, so that tiles and long runs have edges. */
    @Test
    void largeTransposesMatchTheFlatModel() {
        Random r = new Random(SEED + 3);
        for (int i = 0; i < 45; i++) {
            long caseSeed = r.nextLong();
            Random c = new Random(caseSeed);
            try (Arena arena = Arena.ofConfined()) {
                DType type = c.nextBoolean() ? DType.FLOAT32 : randomType(c);
                if (type.byteSize() > 8) {
                    type = DType.FLOAT32;
                }
                DType dstType = withRandomOrder(c, type);
                // Planes past 512 KiB go in tiles (of 4 x 4 blocks for 4-byte elements).
                int pick = c.nextInt(3);
                long[] shape = pick == 0 ? new long[] {1 + c.nextInt(300), 1 + c.nextInt(300)}
                        : pick == 1 ? new long[] {400 + c.nextInt(300), 400 + c.nextInt(300)}
                        : new long[] {1 + c.nextInt(4), 1 + c.nextInt(90), 1 + c.nextInt(90)};
                Layout sl = randomLayout(c, shape, type.byteSize(), false);
                Layout dl = randomLayout(c, shape, type.byteSize(), false);
                check(c, arena, type, dstType, shape, sl, dl, false, "large case " + i + " (seed " + caseSeed + ")");
            }
        }
    }

    private static void copyToCase(Random c, boolean shared) {
        try (Arena arena = Arena.ofConfined()) {
            DType type = randomType(c);
            DType dstType = withRandomOrder(c, type);
            type = withRandomOrder(c, type);
            long[] shape = randomShape(c);
            Layout sl = randomLayout(c, shape, type.byteSize(), true);
            Layout dl = randomLayout(c, shape, type.byteSize(), false);
            check(c, arena, type, dstType, shape, sl, dl, shared, "");
        }
    }

    /** Copies a {@code sl} view into a {@code dl} view of random memory and compares all of it with the model. */
    private static void check(Random c, Arena arena, DType type, DType dstType, long[] shape, Layout sl, Layout dl,
                              boolean shared, String label) {
        MemorySegment dm;
        MemorySegment sm;
        long sOff = sl.offset();
        long dOff = dl.offset();
        if (shared) {
            // One memory for both; the source starts somewhere near the destination, so they often overlap.
            long size = Math.max(sl.regionBytes(), dl.regionBytes()) + 64;
            dm = randomMemory(c, arena, size);
            sm = dm;
            long shift = c.nextInt((int) (size - sl.regionBytes() + 1));
            sOff += shift;
            dOff += c.nextInt((int) (size - dl.regionBytes() + 1));
        } else {
            sm = randomMemory(c, arena, sl.regionBytes());
            dm = randomMemory(c, arena, dl.regionBytes());
        }
        NdArray src = NdArray.asStrided(sm, type, sOff, shape, sl.strides());
        NdArray dst = NdArray.asStrided(dm, dstType, dOff, shape, dl.strides(), NdArray.Overlap.ALLOW_WRITES);
        if (c.nextInt(4) == 0) {
            src = src.asReadOnly();
        }
        byte[] srcBefore = sm.toArray(ValueLayout.JAVA_BYTE);
        byte[] expected = dm.toArray(ValueLayout.JAVA_BYTE);
        model(srcBefore, sOff, sl.strides(), type, expected, dOff, dl.strides(), dstType, shape);
        try {
            src.copyTo(dst);
        } catch (RuntimeException e) {
            throw new AssertionError(label + " copy of " + describe(src) + " into " + describe(dst)
                    + (shared ? " (same memory)" : "") + " threw " + e, e);
        }
        byte[] actual = dm.toArray(ValueLayout.JAVA_BYTE);
        if (!Arrays.equals(expected, actual)) {
            int at = Arrays.mismatch(expected, actual);
            fail(label + " copy of " + describe(src) + " into " + describe(dst) + (shared ? " (same memory)" : "")
                    + ": byte " + at + " of the destination memory is " + actual[at] + ", expected " + expected[at]);
        }
    }

    static String describe(NdArray a) {
        return a.dtype().str() + " shape " + Arrays.toString(a.shape()) + " strides " + Arrays.toString(a.byteStrides())
                + " offset " + a.byteOffset();
    }

    /** Writes into {@code dst} (a copy of the destination memory) what the copy must leave there. */
    static void model(byte[] src, long sOff, long[] ss, DType st, byte[] dst, long dOff, long[] ds, DType dt, long[] shape) {
        long count = 1;
        for (long d : shape) {
            count *= d;
        }
        long[] index = new long[shape.length];
        for (long n = 0; n < count; n++) {
            long s = sOff;
            long d = dOff;
            for (int k = 0; k < shape.length; k++) {
                s += index[k] * ss[k];
                d += index[k] * ds[k];
            }
            convert(src, (int) s, st, dst, (int) d, dt);
            for (int k = shape.length - 1; k >= 0; k--) {
                if (++index[k] < shape[k]) {
                    break;
                }
                index[k] = 0;
            }
        }
    }

    /** One element: equal dtypes move every byte, records of other orders field by field, scalars reversed. */
    private static void convert(byte[] src, int s, DType st, byte[] dst, int d, DType dt) {
        if (st.equals(dt)) {
            System.arraycopy(src, s, dst, d, (int) st.byteSize());
        } else if (st.isRecord()) {
            for (DType.Field f : st.fields()) {
                DType.Field g = dt.field(f.name());
                convert(src, s + (int) f.byteOffset(), f.dtype(), dst, d + (int) g.byteOffset(), g.dtype());
            }
        } else {
            int n = (int) st.byteSize();
            for (int i = 0; i < n; i++) {
                dst[d + i] = src[s + n - 1 - i];
            }
        }
    }

    private static DType randomType(Random c) {
        return TYPES.get(c.nextInt(TYPES.size()));
    }

    private static DType withRandomOrder(Random c, DType t) {
        if (t.isRecord()) {
            return c.nextBoolean() ? t : DType.record(List.of(
                    new DType.Field("x", DType.INT32.withByteOrder(ByteOrder.BIG_ENDIAN), 0),
                    new DType.Field("y", DType.FLOAT64.withByteOrder(c.nextBoolean() ? ByteOrder.BIG_ENDIAN
                            : ByteOrder.LITTLE_ENDIAN), 8)), 16);
        }
        if (t.byteOrder() == null) {
            return t;
        }
        return t.withByteOrder(c.nextBoolean() ? ByteOrder.BIG_ENDIAN : ByteOrder.LITTLE_ENDIAN);
    }

    static long[] randomShape(Random c) {
        int nd = 1 + c.nextInt(5);
        long[] shape = new long[nd];
        for (int k = 0; k < nd; k++) {
            int pick = c.nextInt(20);
            shape[k] = pick == 0 ? 0 : pick < 4 ? 1 : pick < 17 ? 2 + c.nextInt(5) : 7 + c.nextInt(nd <= 2 ? 70 : 12);
        }
        return shape;
    }

    /**
     * A layout of {@code shape}: axes in a random order in memory (often C or
     * F), each with a step of 1 to 3 elements, sometimes backwards, sometimes
     * padded; with {@code broadcast}, some axes of stride 0.
     */
    static Layout randomLayout(Random c, long[] shape, long item, boolean broadcast) {
        int nd = shape.length;
        List<Integer> order = new ArrayList<>();
        for (int k = nd - 1; k >= 0; k--) {
            order.add(k);   // innermost first: C order
        }
        int kind = c.nextInt(5);
        if (kind == 1) {
            java.util.Collections.reverse(order);   // F order
        } else if (kind >= 3) {
            java.util.Collections.shuffle(order, c);
        }
        long[] strides = new long[nd];
        long running = item;
        for (int axis : order) {
            long step = c.nextInt(10) < 7 ? 1 : 2 + c.nextInt(2);
            long pad = c.nextInt(6) == 0 ? c.nextInt(4) : 0;
            strides[axis] = running * step;
            running *= Math.max(1, shape[axis]) * step + pad;
            if (c.nextInt(4) == 0) {
                strides[axis] = -strides[axis];
            }
            if (broadcast && c.nextInt(7) == 0) {
                strides[axis] = 0;
            }
        }
        long low = 0;
        long high = item;
        for (int k = 0; k < nd; k++) {
            long extent = strides[k] * Math.max(0, shape[k] - 1);
            if (extent < 0) {
                low += extent;
            } else {
                high += extent;
            }
        }
        long lead = c.nextInt(3) * item + c.nextInt(2);
        long offset = lead - low;
        long region = lead + (high - low) + c.nextInt(3) * item + 1;
        return new Layout(offset, strides, region);
    }

    private static MemorySegment randomMemory(Random c, Arena arena, long size) {
        byte[] bytes = new byte[(int) size];
        c.nextBytes(bytes);
        if (c.nextInt(3) == 0) {
            return MemorySegment.ofArray(bytes);
        }
        MemorySegment m = arena.allocate(size, 1 + c.nextInt(2) * 7);
        MemorySegment.copy(bytes, 0, m, ValueLayout.JAVA_BYTE, 0, bytes.length);
        return m;
    }
}
