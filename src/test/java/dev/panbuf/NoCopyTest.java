package dev.panbuf;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import java.util.function.Function;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every view operation shares memory with its source: a write through the
 * view is seen in the base, and a write to the base is seen through the view,
 * element by element, at exactly the base element the operation maps it to.
 * Each case names the operation and says, independently of panbuf's strides,
 * which base element {@code [i, j, k]} of a (3, 4, 5) int32 array each view
 * element is.
 */
@ExtendWith(LeakCheck.class)
class NoCopyTest {

    private static final long[] BASE_SHAPE = {3, 4, 5};

    /** A view operation and, for each view index, the base index it must alias. */
    record Case(String name, UnaryOperator<NdArray> op, Function<long[], long[]> baseIndex) {
        @Override
        public String toString() {
            return name;
        }
    }

    static Stream<Case> viewOperations() {
        return Stream.of(
                new Case("get(1) drops axis 0", a -> a.get(Index.at(1)), v -> idx(1, v[0], v[1])),
                new Case("get(-1, ::-2, newaxis, 1:4)", a -> a.get(Index.at(-1), Slice.every(-2), Index.newAxis(), Slice.of(1, 4)),
                        v -> idx(2, 3 - 2 * v[0], 1 + v[2])),
                new Case("get(\"..., ::-1\")", a -> a.get("..., ::-1"), v -> idx(v[0], v[1], 4 - v[2])),
                new Case("get(\"1:, newaxis, 2\")", a -> a.get("1:, newaxis, 2"), v -> idx(1 + v[0], 2, v[2])),
                new Case("get(0, 0, 0) is a 0-d view", a -> a.get(Index.at(0), Index.at(0), Index.at(0)), v -> idx(0, 0, 0)),
                new Case("transpose()", NdArray::transpose, v -> idx(v[2], v[1], v[0])),
                new Case("transpose(1, -1, 0)", a -> a.transpose(1, -1, 0), v -> idx(v[2], v[0], v[1])),
                new Case("swapAxes(0, 2)", a -> a.swapAxes(0, 2), v -> idx(v[2], v[1], v[0])),
                new Case("reshape(12, 5)", a -> a.reshape(12, 5), v -> unravelC(v[0] * 5 + v[1])),
                new Case("reshape(-1) of a C array", a -> a.reshape(-1), v -> unravelC(v[0])),
                new Case("reshape(Order.F, 3, 2, 2, 5) splits axis 1 in F order", a -> a.reshape(Order.F, 3, 2, 2, 5),
                        v -> idx(v[0], v[1] + 2 * v[2], v[3])),
                new Case("reshape of a non-contiguous view", a -> a.get("::2").reshape(2, 2, 10),
                        v -> idx(2 * v[0], unravel(v[1] * 10 + v[2], 4, 5)[0], unravel(v[1] * 10 + v[2], 4, 5)[1])),
                new Case("reshape(Order.F) of the transpose", a -> a.transpose().reshape(Order.F, 20, 3),
                        v -> {
                            // transpose is F-contiguous: F-order flat index k of (5, 4, 3) is C-order k of the base
                            return unravelC(v[0] + 20 * v[1]);
                        }),
                new Case("squeeze()", a -> a.get("1:2, :, 3:4").squeeze(), v -> idx(1, v[0], 3)),
                new Case("squeeze(0)", a -> a.get("1:2").squeeze(0), v -> idx(1, v[0], v[1])),
                new Case("expandDims(1)", a -> a.expandDims(1), v -> idx(v[0], v[2], v[3])),
                new Case("expandDims(-1) of a strided view", a -> a.get(":, ::-1").expandDims(-1), v -> idx(v[0], 3 - v[1], v[2])),
                new Case("asStrided(view, offset, shape, strides)", a -> NdArray.asStrided(a, 4 * 5, new long[] {2, 3},
                        new long[] {-4, 40}), v -> unravelC(5 - v[0] + 10 * v[1])),
                new Case("asStrided(segment, ...)", a -> NdArray.asStrided(a.segment(), a.dtype(), 4 * 7, new long[] {4},
                        new long[] {4 * 11}), v -> unravelC(7 + 11 * v[0])),
                new Case("view(DType) of the same size", a -> a.view(DType.FLOAT32).view(DType.INT32), v -> v),
                new Case("of(segment, dtype, shape)", a -> NdArray.of(a.segment(), DType.INT32, 60), v -> unravelC(v[0])));
    }

    private static long[] idx(long... i) {
        return i;
    }

    private static long[] unravel(long flat, long... shape) {
        long[] out = new long[shape.length];
        for (int i = shape.length - 1; i >= 0; i--) {
            out[i] = flat % shape[i];
            flat /= shape[i];
        }
        return out;
    }

    private static long[] unravelC(long flat) {
        return unravel(flat, BASE_SHAPE);
    }

    private Arena arena;
    private NdArray base;

    @BeforeEach
    void setUp() {
        arena = Arena.ofConfined();
        base = NdArray.allocate(arena, DType.INT32, BASE_SHAPE);
    }

    @AfterEach
    void tearDown() {
        arena.close();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("viewOperations")
    void writesThroughTheViewReachTheBase(Case c) {
        NdArray v = c.op().apply(base);
        assertSame(base.segment(), v.segment(), "the view must read the base's segment");
        int value = 1000;
        for (long[] i : indices(v.shape())) {
            v.setInt(++value, i);
            assertEquals(value, base.getInt(c.baseIndex().apply(i)), c + ": view " + str(i) + " -> base "
                    + str(c.baseIndex().apply(i)));
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("viewOperations")
    void writesToTheBaseShowThroughTheView(Case c) {
        NdArray v = c.op().apply(base);
        int value = -1000;
        for (long[] i : indices(v.shape())) {
            base.setInt(--value, c.baseIndex().apply(i));
            assertEquals(value, v.getInt(i), c + ": base " + str(c.baseIndex().apply(i)) + " -> view " + str(i));
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("viewOperations")
    void varHandleOfTheViewWritesTheBase(Case c) {
        NdArray v = c.op().apply(base);
        VarHandle vh = v.varHandle();
        int value = 5000;
        for (long[] i : indices(v.shape())) {
            ++value;
            switch (v.ndim()) {
                case 0 -> vh.set(value);
                case 1 -> vh.set(i[0], value);
                case 2 -> vh.set(i[0], i[1], value);
                case 3 -> vh.set(i[0], i[1], i[2], value);
                case 4 -> vh.set(i[0], i[1], i[2], i[3], value);
                default -> throw new AssertionError(v.ndim());
            }
            assertEquals(value, base.getInt(c.baseIndex().apply(i)), c + ": varHandle " + str(i));
        }
    }

    @Test
    void broadcastToIsAReadOnlyViewOfTheSameElements() {
        NdArray row = base.get("1, 2");                     // (5,)
        NdArray b = row.broadcastTo(7, 5);
        assertTrue(b.isReadOnly());
        assertArrayEquals(new long[] {0, 4}, b.byteStrides());
        for (long j = 0; j < 5; j++) {
            base.setInt((int) (77 + j), 1, 2, j);
            for (long r = 0; r < 7; r++) {
                assertEquals(77 + j, b.getInt(r, j), "row " + r + ", column " + j);
            }
        }
        assertThrows(IllegalArgumentException.class, () -> b.setInt(1, 0, 0));
    }

    @Test
    void fillOfA0dViewWritesItsOneBaseElement() {
        // Copier.fill once broadcast a (1,) source, which cannot broadcast to (): every 0-d fill threw.
        base.get("1, 2, 3").fillInt(-5);
        base.get("2, 0, ...").get("4").fillBytes(new byte[] {1, 0, 0, 0});
        assertEquals(-5, base.getInt(1, 2, 3));
        assertEquals(1, base.getInt(2, 0, 4));
        assertEquals(0, base.getInt(1, 2, 2));
    }

    @Test
    void asReadOnlySeesLaterWritesToTheBase() {
        NdArray ro = base.asReadOnly();
        base.setInt(42, 2, 3, 4);
        assertEquals(42, ro.getInt(2, 3, 4));
    }

    @Test
    void fieldViewsOfARecordWriteTheRecordBytes() {
        DType rec = DType.record(List.of(new DType.Field("x", DType.parse("<i4"), 0),
                new DType.Field("y", DType.parse(">f8"), 8)), 16);
        NdArray r = NdArray.allocate(arena, rec, 3, 2);
        NdArray x = r.field("x");
        NdArray y = r.field("y").transpose();
        for (long i = 0; i < 3; i++) {
            for (long j = 0; j < 2; j++) {
                x.setInt((int) (10 * i + j), i, j);
                y.setDouble(i + j / 2.0, j, i);
            }
        }
        MemorySegment s = r.segment();
        for (long i = 0; i < 3; i++) {
            for (long j = 0; j < 2; j++) {
                long at = (i * 2 + j) * 16;
                assertEquals((int) (10 * i + j), s.get(ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), at));
                assertEquals(i + j / 2.0, s.get(ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN), at + 8));
                s.set(ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), at, -1);
                assertEquals(-1, x.getInt(i, j));
            }
        }
    }

    @Test
    void wrappedJavaArraysAreTheViewsMemory() {
        float[] f = new float[12];
        NdArray v = NdArray.wrap(f, 3, 4).transpose();
        v.setFloat(2.5f, 3, 1);                            // element [1, 3] of the (3, 4) array
        assertEquals(2.5f, f[1 * 4 + 3]);
        f[2 * 4 + 0] = -7f;
        assertEquals(-7f, v.getFloat(0, 2));

        byte[] bytes = new byte[8];
        NdArray i16 = NdArray.wrap(bytes, DType.parse(">i2"), 4);
        i16.setShort((short) 0x0102, 3);
        assertEquals(1, bytes[6]);
        assertEquals(2, bytes[7]);

        int[] ints = {1, 2, 3, 4, 5, 6};
        NdArray m = NdArray.wrap(ints, 2, 3).get("::-1, 1:");
        m.setInt(99, 0, 0);                               // element [1, 1]
        assertEquals(99, ints[4]);
    }

    @Test
    void viewsOfAByteBufferSegmentShareIt() {
        ByteBuffer bb = ByteBuffer.allocateDirect(64).order(ByteOrder.LITTLE_ENDIAN);
        NdArray v = NdArray.of(MemorySegment.ofBuffer(bb), DType.parse("<i8")).get("::-1");
        v.setLong(123456789L, 0);                         // the last element
        assertEquals(123456789L, bb.getLong(56));
    }

    private static List<long[]> indices(long[] shape) {
        long count = 1;
        for (long d : shape) {
            count *= d;
        }
        List<long[]> out = new java.util.ArrayList<>();
        for (long k = 0; k < count; k++) {
            out.add(unravel(k, shape));
        }
        return out;
    }

    private static String str(long[] i) {
        return java.util.Arrays.toString(i);
    }
}
