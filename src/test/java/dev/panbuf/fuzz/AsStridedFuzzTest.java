package dev.panbuf.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.panbuf.DType;
import dev.panbuf.NdArray;
import dev.panbuf.Order;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.math.BigInteger;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * {@link NdArray#asStrided} with fuzzed offsets, shapes and strides (edge
 * values of long arithmetic included) over a slice of a small native block.
 * An exact oracle (BigInteger arithmetic) decides whether the view fits; the
 * verdict must match: a refusal is an {@link IllegalArgumentException} with
 * a message, nothing else. An accepted view is then checked element by
 * element:
 * <ul>
 * <li>every element's byte offset is the oracle's, lies inside the slice,
 *     and reading it gives the block's bytes there (FFM would throw for a
 *     byte outside the slice);
 * <li>a writable view's elements are pairwise disjoint (overlapping views
 *     are read-only unless {@code Overlap.ALLOW_WRITES}); filling it writes
 *     exactly its elements' bytes and nothing else in the whole block,
 *     inside or outside the slice;
 * <li>{@code toBytes}, {@code copy} and {@code equals} agree with a gather
 *     done by hand.
 * </ul>
 * Input layout (little-endian, missing bytes read as 0): dtype (1), slice
 * start (1) and length (2), flags (1: bit 0 allow overlapping writes, bit 1
 * go through {@code asStrided(NdArray, ...)}, bit 2 one stride too many),
 * offset (edgy), ndim (1: below 0x80 means ndim % 6, else ndim & 0x7f), then
 * per axis a shape (1: below 0x80 means & 7, else edgy) and a stride (edgy,
 * small values in units of the item size), then the fill element's bytes.
 */
class AsStridedFuzzTest {

    private static final int BLOCK = 1024;
    private static final MemorySegment MEMORY = Arena.ofAuto().allocate(BLOCK, 64);
    private static final DType[] DTYPES = {DType.INT8, DType.UINT8, DType.BOOL, DType.parse("<i2"), DType.parse(">f2"),
        DType.parse("<f4"), DType.parse(">i4"), DType.parse("<f8"), DType.parse(">u8"), DType.parse("|V3"),
        DType.fromFormat("T{<i:x:<d:y:}"), DType.fromFormat("T{b:a:xxxi:b:}")};
    /** Views with more elements than this are checked at their extreme and sampled elements only. */
    private static final long TOUCH_ALL = 1 << 14;

    @FuzzTest(maxDuration = "60s")
    void everyAcceptedViewStaysInsideItsSegment(byte[] input) {
        Fuzz.Input in = new Fuzz.Input(input);
        DType dtype = DTYPES[in.below(DTYPES.length)];
        long item = dtype.byteSize();
        int sliceStart = in.below(64);
        int sliceLen = in.u16() % (BLOCK - 64 + 1);
        int flags = in.u8();
        NdArray.Overlap overlap = (flags & 1) != 0 ? NdArray.Overlap.ALLOW_WRITES : NdArray.Overlap.READ_ONLY;
        boolean viaView = (flags & 2) != 0;
        long offset = in.edgy(item);
        int ndimByte = in.u8();
        int ndim = ndimByte < 0x80 ? ndimByte % 6 : ndimByte & 0x7f;
        long[] shape = new long[ndim];
        long[] strides = new long[(flags & 4) != 0 ? ndim + 1 : ndim];
        for (int i = 0; i < ndim; i++) {
            int b = in.u8();
            shape[i] = b < 0x80 ? b & 7 : in.edgy(1);
            strides[i] = in.edgy(item);
        }
        byte[] element = new byte[(int) item];
        for (int k = 0; k < element.length; k++) {
            element[k] = (byte) in.u8();
        }

        fillPattern();
        MemorySegment segment = MEMORY.asSlice(sliceStart, sliceLen);
        // asStrided(NdArray base, ...) is relative to base's element 0: a 0-d view at byte 8 here.
        long baseOffset = viaView ? Math.min(8, Math.max(0, sliceLen - item)) : 0;
        boolean baseFits = baseOffset + item <= sliceLen;
        String expectedRefusal = oracle(sliceLen, item, viaView ? BigInteger.valueOf(baseOffset).add(BigInteger.valueOf(offset))
                : BigInteger.valueOf(offset), shape, strides);
        String what = "asStrided(slice of " + sliceLen + " bytes, " + dtype + ", offset " + offset
                + (viaView ? " from element 0 at byte " + baseOffset : "") + ", shape " + Arrays.toString(shape) + ", strides "
                + Arrays.toString(strides) + ", " + overlap + ")";
        if (viaView && !baseFits) {
            return;   // no base view to start from
        }
        NdArray view;
        try {
            if (viaView) {
                NdArray base = NdArray.asStrided(segment, dtype, baseOffset, new long[0], new long[0], overlap);
                view = NdArray.asStrided(base, offset, shape, strides);
            } else {
                view = NdArray.asStrided(segment, dtype, offset, shape, strides, overlap);
            }
        } catch (IllegalArgumentException refused) {
            Fuzz.checkMessage(refused, what);
            if (expectedRefusal == null) {
                fail(what + " was refused, but it fits: " + refused.getMessage(), refused);
            }
            assertPatternIntact(what);
            return;
        }
        if (expectedRefusal != null) {
            fail(what + " was accepted, but " + expectedRefusal + ": " + view.describe());
        }
        long start = viaView ? baseOffset + offset : offset;
        // asStrided(NdArray, ...) has no Overlap parameter: it applies the default, READ_ONLY.
        check(view, segment, sliceStart, start, shape, strides, viaView ? NdArray.Overlap.READ_ONLY : overlap, element, what);
    }

    /** Why the view cannot exist, or null when it fits: exact arithmetic, no overflow possible. */
    static String oracle(long segmentSize, long item, BigInteger offset, long[] shape, long[] strides) {
        if (shape.length > NdArray.MAX_NDIM) {
            return "ndim " + shape.length + " > 64";
        }
        BigInteger nonZero = BigInteger.ONE;
        boolean empty = false;
        for (long d : shape) {
            if (d < 0) {
                return "a dimension is negative";
            }
            if (d == 0) {
                empty = true;
            } else {
                nonZero = nonZero.multiply(BigInteger.valueOf(d));
            }
        }
        if (nonZero.multiply(BigInteger.valueOf(item)).bitLength() > 63) {
            return "the byte size overflows a long";
        }
        if (strides.length != shape.length) {
            return "shape and strides differ in length";
        }
        if (offset.bitLength() > 63) {
            return "the offset overflows a long";
        }
        if (empty) {
            return offset.signum() < 0 || offset.compareTo(BigInteger.valueOf(segmentSize)) > 0 ? "an empty view's offset is outside" : null;
        }
        BigInteger low = offset;
        BigInteger high = offset.add(BigInteger.valueOf(item));
        for (int i = 0; i < shape.length; i++) {
            BigInteger extent = BigInteger.valueOf(strides[i]).multiply(BigInteger.valueOf(shape[i] - 1));
            if (extent.signum() < 0) {
                low = low.add(extent);
            } else {
                high = high.add(extent);
            }
        }
        if (low.signum() < 0 || high.compareTo(BigInteger.valueOf(segmentSize)) > 0) {
            return "it reaches [" + low + ", " + high + ") of " + segmentSize + " bytes";
        }
        return null;
    }

    private static void check(NdArray view, MemorySegment segment, int sliceStart, long start, long[] shape, long[] strides,
                              NdArray.Overlap overlap, byte[] element, String what) {
        long item = view.dtype().byteSize();
        assertArrayEquals(shape, view.shape(), what);
        assertArrayEquals(Arrays.copyOf(strides, shape.length), view.byteStrides(), what);
        assertEquals(start, view.byteOffset(), what);
        long count = view.elementCount();
        boolean all = count <= TOUCH_ALL;
        int[] phase = new int[BLOCK];   // for each byte of the block: which byte of an element it is, or -1
        Arrays.fill(phase, -1);
        boolean overlapping = false;
        Elements elements = new Elements(shape, strides, count, all);
        for (long[] index = elements.next(); index != null; index = elements.next()) {
            long at = start;
            for (int i = 0; i < shape.length; i++) {
                at += index[i] * strides[i];   // exact: every partial sum lies inside [low, high]
            }
            assertEquals(at, view.byteOffsetOf(index), what + " byteOffsetOf" + Arrays.toString(index));
            assertTrue(at >= 0 && at + item <= segment.byteSize(), what + ": element " + Arrays.toString(index) + " at byte "
                    + at + " is outside the " + segment.byteSize() + "-byte segment");
            MemorySegment bytes = segment.asSlice(at, item);   // FFM checks the bounds once more
            for (int k = 0; k < item; k++) {
                int absolute = (int) (sliceStart + at + k);
                assertEquals(pattern(absolute), bytes.get(ValueLayout.JAVA_BYTE, k), what);
                if (all) {
                    overlapping |= phase[absolute] >= 0;
                    phase[absolute] = k;
                }
            }
        }
        if (!view.isReadOnly()) {
            // A writable view has disjoint elements unless the caller allowed overlap by name.
            if (overlap == NdArray.Overlap.READ_ONLY) {
                assertTrue(count <= segment.byteSize() / item, what + " is writable with " + count + " elements that must overlap");
                assertFalse(overlapping, what + " is writable but its elements overlap");
            }
            if (all) {
                view.fillBytes(element);
                for (int b = 0; b < BLOCK; b++) {
                    byte got = MEMORY.get(ValueLayout.JAVA_BYTE, b);
                    if (phase[b] < 0) {
                        assertEquals(pattern(b), got, what + ": fillBytes wrote byte " + b + ", outside every element");
                    } else if (!overlapping) {
                        assertEquals(element[phase[b]], got, what + ": fillBytes left byte " + b + " of an element");
                    }
                }
                fillPattern();
            }
        } else {
            assertEquals(NdArray.Overlap.READ_ONLY, overlap, what + " is read-only although overlapping writes were allowed");
        }
        if (all) {
            byte[] gathered = gather(view, segment, start, shape, strides);
            assertArrayEquals(gathered, view.toBytes(), what + " toBytes");
            NdArray copy = view.copy(Order.C, Arena.ofAuto());
            assertArrayEquals(gathered, copy.toBytes(), what + " copy");
            assertTrue(view.equals(copy) && copy.equals(view), what + " equals its copy");
            if (count <= 1000) {
                assertFalse(view.toString().isEmpty());
            }
        }
        assertPatternIntact(what);
    }

    private static byte[] gather(NdArray view, MemorySegment segment, long start, long[] shape, long[] strides) {
        long item = view.dtype().byteSize();
        byte[] out = new byte[Math.toIntExact(view.elementCount() * item)];
        Elements elements = new Elements(shape, strides, view.elementCount(), true);
        int o = 0;
        for (long[] index = elements.next(); index != null; index = elements.next()) {
            long at = start;
            for (int i = 0; i < shape.length; i++) {
                at += index[i] * strides[i];
            }
            for (long k = 0; k < item; k++) {
                out[o++] = segment.get(ValueLayout.JAVA_BYTE, at + k);
            }
        }
        return out;
    }

    /**
     * The indices of a view: all of them in C order, or, for views too large
     * to walk, the elements holding the lowest and the highest reachable byte
     * and a few dozen spread between.
     */
    static final class Elements {
        private static final int SAMPLES = 48;
        private final long[] shape;
        private final long[] strides;
        private final boolean all;
        private final long[] index;
        private long remaining;
        private int produced;

        Elements(long[] shape, long[] strides, long count, boolean all) {
            this.shape = shape;
            this.strides = strides;
            this.all = all;
            this.index = new long[shape.length];
            this.remaining = count == 0 ? 0 : all ? count : 2 + SAMPLES;
        }

        long[] next() {
            if (remaining <= 0) {
                return null;
            }
            remaining--;
            int n = produced++;
            if (all) {
                if (n > 0) {
                    for (int axis = shape.length - 1; axis >= 0; axis--) {
                        if (++index[axis] < shape[axis]) {
                            break;
                        }
                        index[axis] = 0;
                    }
                }
                return index.clone();
            }
            long[] out = new long[shape.length];
            for (int axis = 0; axis < shape.length; axis++) {
                long last = shape[axis] - 1;
                boolean up = strides[axis] >= 0;
                out[axis] = switch (n) {
                    case 0 -> up ? 0 : last;      // lowest byte
                    case 1 -> up ? last : 0;      // highest byte
                    default -> Math.floorMod(n * 7919L + axis * 104729L, shape[axis]);
                };
            }
            return out;
        }
    }

    private static byte pattern(int absolute) {
        return (byte) (absolute * 31 + 7);
    }

    private static void fillPattern() {
        for (int b = 0; b < BLOCK; b++) {
            MEMORY.set(ValueLayout.JAVA_BYTE, b, pattern(b));
        }
    }

    private static void assertPatternIntact(String what) {
        for (int b = 0; b < BLOCK; b++) {
            if (MEMORY.get(ValueLayout.JAVA_BYTE, b) != pattern(b)) {
                fail(what + " changed byte " + b + " of the block");
            }
        }
    }
}
