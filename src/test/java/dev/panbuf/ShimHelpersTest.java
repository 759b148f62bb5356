package dev.panbuf;

import dev.panbuf.NativeTestSupport.Producer;
import dev.panbuf.shim.Shim;
import dev.panbuf.shim.bindings.panbuf_h;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * panbuf's C helpers ({@code pb_is_contiguous}, {@code pb_to_contiguous},
 * {@code pb_from_contiguous}) on real exports of seeded random views, checked
 * against Java's own answer for the same view (its contiguity flags and its
 * C/F-order bytes); and their refusals of read-only and released buffers. The
 * helpers themselves are tested in C (native/test); this is the Java side of
 * the boundary.
 */
@Tag("native")
@ExtendWith(LeakCheck.class)
class ShimHelpersTest {

    private static final List<DType> DTYPES = List.of(DType.UINT8, DType.INT16, DType.FLOAT32, DType.FLOAT64);

    /** A random view of a random array: random shape, per-axis slices with steps of either sign, maybe transposed. */
    static NdArray randomView(Random rnd, Arena arena) {
        int ndim = 1 + rnd.nextInt(4);
        long[] shape = new long[ndim];
        for (int i = 0; i < ndim; i++) {
            shape[i] = rnd.nextInt(6);
        }
        NdArray base = NdArray.allocate(arena, DTYPES.get(rnd.nextInt(DTYPES.size())), shape);
        byte[] fill = new byte[(int) base.byteSize()];
        rnd.nextBytes(fill);
        MemorySegment.copy(fill, 0, base.segment(), ValueLayout.JAVA_BYTE, 0, fill.length);
        Index[] index = new Index[ndim];
        for (int i = 0; i < ndim; i++) {
            long step = (1 + rnd.nextInt(3)) * (rnd.nextInt(4) == 0 ? -1 : 1);
            index[i] = rnd.nextInt(3) == 0 ? Slice.all() : Slice.of(rnd.nextInt(7) - 3, rnd.nextInt(9) - 3, step);
        }
        NdArray v = base.get(index);
        if (rnd.nextBoolean()) {
            int[] axes = new int[ndim];
            for (int i = 0; i < ndim; i++) {
                axes[i] = i;
            }
            for (int i = ndim - 1; i > 0; i--) {
                int j = rnd.nextInt(i + 1);
                int t = axes[i];
                axes[i] = axes[j];
                axes[j] = t;
            }
            v = v.transpose(axes);
        }
        return v;
    }

    @Test
    void contiguityAndContiguousCopiesAgreeWithJavaOnRandomViews() {
        Random rnd = new Random(0x5eed_b0ffL);
        try (BufferArena arena = BufferArena.ofConfined(); Arena scratch = Arena.ofConfined()) {
            for (int n = 0; n < 2000; n++) {
                NdArray v = randomView(rnd, arena);
                String what = "view #" + n + " " + v.describe();
                try (Export e = v.export()) {
                    MemorySegment pb = e.pointer();
                    boolean c = v.isContiguous(Order.C);
                    boolean f = v.isContiguous(Order.F);
                    assertEquals(c ? 1 : 0, Shim.isContiguous(pb, 'C'), "C: " + what);
                    assertEquals(f ? 1 : 0, Shim.isContiguous(pb, 'F'), "F: " + what);
                    assertEquals(c || f ? 1 : 0, Shim.isContiguous(pb, 'A'), "A: " + what);
                    assertEquals(0, Shim.isContiguous(pb, 'X'), "unknown order: " + what);

                    long len = v.byteSize();
                    MemorySegment dst = scratch.allocate(Math.max(len, 1));
                    assertEquals(0, Shim.toContiguous(dst, pb, len, 'C'), what);
                    assertArrayEquals(v.toBytes(Order.C), dst.asSlice(0, len).toArray(ValueLayout.JAVA_BYTE), "C bytes: " + what);
                    assertEquals(0, Shim.toContiguous(dst, pb, len, 'F'), what);
                    assertArrayEquals(v.toBytes(Order.F), dst.asSlice(0, len).toArray(ValueLayout.JAVA_BYTE), "F bytes: " + what);

                    byte[] src = new byte[(int) len];
                    rnd.nextBytes(src);
                    Order order = rnd.nextBoolean() ? Order.C : Order.F;
                    MemorySegment srcSeg = scratch.allocate(Math.max(len, 1));
                    MemorySegment.copy(src, 0, srcSeg, ValueLayout.JAVA_BYTE, 0, src.length);
                    assertEquals(0, Shim.fromContiguous(pb, srcSeg, len, order == Order.C ? 'C' : 'F'), what);
                    assertArrayEquals(src, v.toBytes(order), "Java sees what C wrote (" + order + "): " + what);
                    if (len > 0) {
                        assertEquals(panbuf_h.PB_ELEN(), Shim.toContiguous(dst, pb, len + 1, 'C'), "len mismatch: " + what);
                    }
                }
            }
        }
    }

    @Test
    void fromContiguousRefusesAReadOnlyExportAndWritesNothing() {
        try (BufferArena arena = BufferArena.ofConfined(); Arena scratch = Arena.ofConfined()) {
            NdArray v = NdArray.allocate(arena, DType.INT32, 3, 3).get("::2, ::-1");
            v.fillInt(7);
            MemorySegment src = scratch.allocate(v.byteSize()).fill((byte) 1);
            try (Export e = v.exportReadOnly()) {
                assertEquals(Shim.E_READONLY, Shim.fromContiguous(e.pointer(), src, v.byteSize(), 'C'));
                MemorySegment dst = scratch.allocate(v.byteSize());
                assertEquals(0, Shim.toContiguous(dst, e.pointer(), v.byteSize(), 'C'), "reading is fine");
            }
            int[] expected = new int[6];
            Arrays.fill(expected, 7);
            assertArrayEquals(expected, v.toIntArray());
        }
    }

    /**
     * A released buffer is refused by every helper with PB_ERELEASED. panbuf's
     * own exports are freed on release (touching them then is a use-after-free),
     * so this uses a producer struct that outlives its release.
     */
    @Test
    void everyHelperRefusesAReleasedBuffer() {
        try (Producer p = new Producer(2, 3).publish(); Arena scratch = Arena.ofConfined()) {
            MemorySegment pb = p.pointer();
            MemorySegment buf = scratch.allocate(24);
            assertEquals(0, Shim.validate(pb));
            assertEquals(1, Shim.isContiguous(pb, 'C'));
            Shim.release(pb);
            assertEquals(Shim.E_RELEASED, Shim.validate(pb));
            assertEquals(Shim.E_RELEASED, Shim.isContiguous(pb, 'C'));
            assertEquals(Shim.E_RELEASED, Shim.toContiguous(buf, pb, 24, 'C'));
            assertEquals(Shim.E_RELEASED, Shim.fromContiguous(pb, buf, 24, 'C'));
            assertEquals("operation forbidden on a released pb_buffer", Shim.strerror(Shim.E_RELEASED));
            Shim.release(pb);   // a second release of a struct that still exists does nothing
            assertEquals(1, p.releases.get());
        }
    }
}
