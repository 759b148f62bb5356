package dev.panbuf;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.lang.foreign.Arena;
import java.lang.invoke.VarHandle;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * One integer-index rule everywhere: typed accessors (every arity and the
 * varargs form), {@code byteOffsetOf}, the view's {@code VarHandle},
 * {@code get(Index.at(i))} and index text accept {@code [-size, size)},
 * negative indices counting from the end, and refuse everything else with the
 * same message. Checked on random views (negative, zero and padded strides)
 * for every index of every axis, and at the edges {@code -size - 1},
 * {@code size}, {@code Long.MIN_VALUE} and {@code Long.MAX_VALUE}.
 */
@ExtendWith(LeakCheck.class)
class ElementAccessConsistencyTest {

    @Test
    void negativeIndicesMeanTheSameInAccessorsAsInIndexing() throws Throwable {
        SplittableRandom rnd = new SplittableRandom(20261202L);
        try (Arena arena = Arena.ofConfined()) {
            for (int round = 0; round < 200; round++) {
                int ndim = 1 + rnd.nextInt(4);
                long[] shape = new long[ndim];
                for (int a = 0; a < ndim; a++) {
                    shape[a] = 1 + rnd.nextInt(4);
                }
                NdArray base = NdArray.allocate(arena, DType.INT32, shape);
                int[] next = {0};
                base.forEachIntIndexed(Order.C, (idx, v) -> base.setInt(next[0]++, idx));
                // A reversed, transposed view: negative strides and non-C order.
                NdArray view = base.get("::-1").transpose();
                VarHandle vh = view.varHandle();
                long[] dims = view.shape();
                long count = view.elementCount();
                for (long flat = 0; flat < count; flat++) {
                    long[] positive = IndexModelTest.unravelC(flat, dims);
                    long[] negative = positive.clone();
                    for (int a = 0; a < ndim; a++) {
                        if (rnd.nextBoolean()) {
                            negative[a] -= dims[a];
                        }
                    }
                    int expected = view.getInt(positive);
                    assertEquals(expected, view.getInt(negative));
                    assertEquals(view.byteOffsetOf(positive), view.byteOffsetOf(negative));
                    assertEquals(expected, fixedArity(view, negative));
                    assertEquals(expected, (int) vh.toMethodHandle(VarHandle.AccessMode.GET).invokeWithArguments(boxed(negative)));
                    NdArray scalar = view;
                    for (long i : negative) {
                        scalar = scalar.get(Index.at(i));
                    }
                    assertEquals(expected, scalar.getInt());
                }
            }
        }
    }

    @Test
    void indicesOutsideMinusSizeToSizeAreRefusedAlikeEverywhere() throws Throwable {
        try (Arena arena = Arena.ofConfined()) {
            NdArray m = NdArray.allocate(arena, DType.FLOAT64, 3, 5);
            m.setDouble(7, 2, 4);
            assertEquals(7, m.getDouble(-1, -1));
            assertEquals(7, m.getDouble(new long[] {-1, -1}));
            assertEquals(7, m.get(Index.at(-1), Index.at(-1)).getDouble());
            assertEquals(7, m.get("-1, -1").getDouble());
            assertEquals(7, (double) m.varHandle().get(-1L, -1L));
            m.setDouble(8, -3, -5);
            assertEquals(8, m.getDouble(0, 0));

            String below = "index -4 out of range for axis 0 (size 3; negative indices count from the end, down to -3)";
            assertMessage(below, () -> m.getDouble(-4, 0));
            assertMessage(below, () -> m.getDouble(new long[] {-4, 0}));
            assertMessage(below, () -> m.setDouble(1, -4, 0));
            assertMessage(below, () -> m.byteOffsetOf(-4, 0));
            assertMessage(below, () -> m.get(Index.at(-4)));
            assertMessage(below, () -> m.get("-4"));
            assertMessage(below, () -> {
                double ignored = (double) m.varHandle().get(-4L, 0L);
            });
            String above = "index 5 out of range for axis 1 (size 5; negative indices count from the end, down to -5)";
            assertMessage(above, () -> m.getDouble(0, 5));
            assertMessage(above, () -> m.get("0, 5"));
            assertMessage("index " + Long.MIN_VALUE + " out of range for axis 1 (size 5; negative indices count from the end,"
                    + " down to -5)", () -> m.getDouble(0, Long.MIN_VALUE));
            assertMessage("index " + Long.MAX_VALUE + " out of range for axis 0 (size 3; negative indices count from the end,"
                    + " down to -3)", () -> m.getDouble(Long.MAX_VALUE, 0));
            NdArray empty = NdArray.allocate(arena, DType.FLOAT64, 0);
            assertMessage("index -1 out of range for axis 0 (size 0: the axis has no elements)", () -> empty.getDouble(-1));
            assertMessage("index 0 out of range for axis 0 (size 0: the axis has no elements)", () -> empty.get(Index.at(0)));
            // Nothing was written by the refused writes.
            assertEquals(8, m.getDouble(0, 0));
            assertEquals(7, m.getDouble(2, 4));
        }
    }

    @Test
    void everyArityAcceptsNegativeIndices() {
        try (Arena arena = Arena.ofConfined()) {
            NdArray four = NdArray.allocate(arena, DType.INT16, 2, 3, 4, 5);
            four.setShort((short) 9, 1, 2, 3, 4);
            assertEquals(9, four.getShort(-1, -1, -1, -1));
            NdArray three = four.get(Index.at(-1));
            assertEquals(9, three.getShort(-1, -1, -1));
            NdArray two = three.get(Index.at(-1));
            assertEquals(9, two.getShort(-1, -1));
            NdArray one = two.get(Index.at(-1));
            assertEquals(9, one.getShort(-1));
            one.setShort((short) 4, -5);
            assertEquals(4, four.getShort(1, 2, 3, 0));
        }
    }

    private static int fixedArity(NdArray v, long[] i) {
        return switch (i.length) {
            case 1 -> v.getInt(i[0]);
            case 2 -> v.getInt(i[0], i[1]);
            case 3 -> v.getInt(i[0], i[1], i[2]);
            case 4 -> v.getInt(i[0], i[1], i[2], i[3]);
            default -> throw new AssertionError(i.length);
        };
    }

    private static Object[] boxed(long[] indices) {
        Object[] out = new Object[indices.length];
        for (int i = 0; i < indices.length; i++) {
            out[i] = indices[i];
        }
        return out;
    }

    private static void assertMessage(String message, org.junit.jupiter.api.function.Executable call) {
        IndexOutOfBoundsException e = assertThrows(IndexOutOfBoundsException.class, call);
        assertEquals(message, e.getMessage());
    }
}
