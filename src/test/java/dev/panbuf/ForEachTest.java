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
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * {@code forEach<Type>} and {@code forEach<Type>Indexed} against a flat model:
 * random views ({@code asStrided} over random bytes: 0 to 4 dimensions of 0 to
 * 5 elements, positive, negative and zero strides, every carrier in both byte
 * orders and float16) are visited in C and F order, and the sequence of
 * values (and indices) must equal the model's: the multi-indices enumerated in
 * that order, each element decoded from the raw bytes at
 * {@code offset + sum(index * stride)}. Then the bad inputs and hostile
 * actions: wrong carrier, null arguments, a closed arena, an action that
 * throws, closes the arena, writes ahead, or scribbles on its indices.
 */
@ExtendWith(LeakCheck.class)
class ForEachTest {

    private static final long SEED = Long.getLong("panbuf.forEach.seed", 20261202L);
    private static final String[] DTYPES = {"|b1", "|i1", "|u1", "<i2", ">i2", "<i4", ">i4", "<i8", ">i8", "<f2", ">f2",
            "<f4", ">f4", "<f8", ">f8"};

    @Test
    void visitsEveryElementInOrderAsTheFlatModelDoes() {
        SplittableRandom seeds = new SplittableRandom(SEED);
        int checked = 0;
        for (int round = 0; round < 2000; round++) {
            SplittableRandom rnd = seeds.split();
            try (Arena arena = Arena.ofConfined()) {
                DType dtype = DType.parse(DTYPES[rnd.nextInt(DTYPES.length)]);
                int item = (int) dtype.byteSize();
                int ndim = rnd.nextInt(5);
                long[] shape = new long[ndim];
                long[] strides = new long[ndim];
                long low = 0;
                long high = 0;
                for (int a = 0; a < ndim; a++) {
                    shape[a] = rnd.nextInt(rnd.nextInt(8) == 0 ? 1 : 6);
                    strides[a] = (long) item * (rnd.nextInt(9) - 4);
                    long reach = strides[a] * Math.max(0, shape[a] - 1);
                    if (reach < 0) {
                        low += reach;
                    } else {
                        high += reach;
                    }
                }
                long offset = -low + item * rnd.nextInt(3);
                MemorySegment bytes = arena.allocate(offset + high + item + 8, 8);
                for (long b = 0; b < bytes.byteSize(); b++) {
                    bytes.set(ValueLayout.JAVA_BYTE, b, (byte) rnd.nextInt(dtype.kind() == DType.Kind.BOOL ? 2 : 256));
                }
                NdArray view = NdArray.asStrided(bytes, dtype, offset, shape, strides, NdArray.Overlap.ALLOW_WRITES);
                for (Order order : Order.values()) {
                    List<long[]> expectedIndices = enumerate(shape, order);
                    List<Double> expected = new ArrayList<>();
                    for (long[] idx : expectedIndices) {
                        long at = offset;
                        for (int a = 0; a < ndim; a++) {
                            at += idx[a] * strides[a];
                        }
                        expected.add(decode(bytes, at, dtype));
                    }
                    assertEquals(expected, visit(view, order), () -> view.describe() + " in " + order);
                    List<long[]> seenIndices = new ArrayList<>();
                    List<Double> seenValues = visitIndexed(view, order, seenIndices);
                    assertEquals(expected, seenValues, () -> view.describe() + " indexed, in " + order);
                    assertEquals(expectedIndices.size(), seenIndices.size());
                    for (int k = 0; k < seenIndices.size(); k++) {
                        assertArrayEquals(expectedIndices.get(k), seenIndices.get(k), view.describe() + " element " + k);
                    }
                    checked += expected.size();
                }
            } catch (AssertionError | RuntimeException e) {
                fail("seed " + SEED + ", round " + round + ": " + e, e);
            }
        }
        System.out.println("ForEachTest: seed " + SEED + ", 2000 random views, " + checked + " visits agree with the model");
    }

    /** The values visit() sees, widened to double (NaN payloads do not occur in the compared data's meaning). */
    private static List<Double> visit(NdArray v, Order order) {
        List<Double> out = new ArrayList<>();
        switch (v.dtype().carrier().getName()) {
            case "boolean" -> v.forEachBoolean(order, x -> out.add(x ? 1.0 : 0.0));
            case "byte" -> v.forEachByte(order, x -> out.add((double) x));
            case "short" -> v.forEachShort(order, x -> out.add((double) x));
            case "int" -> v.forEachInt(order, x -> out.add((double) x));
            case "long" -> v.forEachLong(order, x -> out.add((double) x));
            case "float" -> v.forEachFloat(order, x -> out.add(bits(x)));
            case "double" -> v.forEachDouble(order, x -> out.add(bits(x)));
            default -> throw new AssertionError(v.dtype());
        }
        return out;
    }

    private static List<Double> visitIndexed(NdArray v, Order order, List<long[]> indices) {
        List<Double> out = new ArrayList<>();
        switch (v.dtype().carrier().getName()) {
            case "boolean" -> v.forEachBooleanIndexed(order, (i, x) -> { indices.add(i.clone()); out.add(x ? 1.0 : 0.0); });
            case "byte" -> v.forEachByteIndexed(order, (i, x) -> { indices.add(i.clone()); out.add((double) x); });
            case "short" -> v.forEachShortIndexed(order, (i, x) -> { indices.add(i.clone()); out.add((double) x); });
            case "int" -> v.forEachIntIndexed(order, (i, x) -> { indices.add(i.clone()); out.add((double) x); });
            case "long" -> v.forEachLongIndexed(order, (i, x) -> { indices.add(i.clone()); out.add((double) x); });
            case "float" -> v.forEachFloatIndexed(order, (i, x) -> { indices.add(i.clone()); out.add(bits(x)); });
            case "double" -> v.forEachDoubleIndexed(order, (i, x) -> { indices.add(i.clone()); out.add(bits(x)); });
            default -> throw new AssertionError(v.dtype());
        }
        return out;
    }

    // Compares floats by their bits (as a double that holds them exactly), so NaNs compare.
    private static double bits(float x) {
        return Float.floatToRawIntBits(x);
    }

    private static double bits(double x) {
        return Double.doubleToRawLongBits(x);
    }

    /** The model's decoding of the element at byte {@code at}, independent of panbuf's accessors. */
    private static double decode(MemorySegment s, long at, DType dtype) {
        ByteOrder bo = dtype.byteOrder() == ByteOrder.BIG_ENDIAN ? ByteOrder.BIG_ENDIAN : ByteOrder.LITTLE_ENDIAN;
        return switch (dtype.kind()) {
            case BOOL -> s.get(ValueLayout.JAVA_BYTE, at) != 0 ? 1.0 : 0.0;
            case SIGNED, UNSIGNED -> switch ((int) dtype.byteSize()) {
                case 1 -> s.get(ValueLayout.JAVA_BYTE, at);
                case 2 -> s.get(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(bo), at);
                case 4 -> s.get(ValueLayout.JAVA_INT_UNALIGNED.withOrder(bo), at);
                default -> (double) s.get(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(bo), at);
            };
            case FLOAT -> switch ((int) dtype.byteSize()) {
                case 2 -> bits(Float.float16ToFloat(s.get(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(bo), at)));
                case 4 -> bits(Float.intBitsToFloat(s.get(ValueLayout.JAVA_INT_UNALIGNED.withOrder(bo), at)));
                default -> bits(Double.longBitsToDouble(s.get(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(bo), at)));
            };
            default -> throw new AssertionError(dtype);
        };
    }

    /** Every multi-index of {@code shape}, the last varying fastest (C) or the first (F). */
    static List<long[]> enumerate(long[] shape, Order order) {
        long count = 1;
        for (long d : shape) {
            count *= d;
        }
        List<long[]> out = new ArrayList<>();
        for (long flat = 0; flat < count; flat++) {
            long[] idx = new long[shape.length];
            long rest = flat;
            for (int k = 0; k < shape.length; k++) {
                int a = order == Order.C ? shape.length - 1 - k : k;
                idx[a] = rest % shape[a];
                rest /= shape[a];
            }
            out.add(idx);
        }
        return out;
    }

    @Test
    void contiguousViewsOfAnyRankAreOneRow() {
        try (Arena arena = Arena.ofConfined()) {
            NdArray a = NdArray.allocate(arena, DType.INT64, 3, 4, 5);
            long[] next = {0};
            a.forEachLongIndexed(Order.C, (idx, v) -> a.setLong(next[0]++, idx));
            long[] seen = {0};
            a.forEachLong(Order.C, v -> assertEquals(seen[0]++, v));
            assertEquals(60, seen[0]);
            // F order over the transpose is C order over the original.
            seen[0] = 0;
            a.transpose().forEachLong(Order.F, v -> assertEquals(seen[0]++, v));
            assertEquals(60, seen[0]);
            ElementWalk walk = ElementWalk.of(a, Order.C, false);
            assertEquals(60, walk.rowLength);
            assertEquals(8, walk.rowStride);
            assertEquals(false, walk.nextRow());
        }
    }

    @Test
    void zeroDimensionalAndEmptyViews() {
        try (Arena arena = Arena.ofConfined()) {
            NdArray scalar = NdArray.allocate(arena, DType.FLOAT32, 2).get(Index.at(1));
            scalar.setFloat(2.5f);
            List<Float> seen = new ArrayList<>();
            scalar.forEachFloat(Order.C, seen::add);
            assertEquals(List.of(2.5f), seen);
            List<long[]> indices = new ArrayList<>();
            scalar.forEachFloatIndexed(Order.F, (i, x) -> indices.add(i.clone()));
            assertEquals(1, indices.size());
            assertEquals(0, indices.get(0).length);
            NdArray empty = NdArray.allocate(arena, DType.FLOAT32, 3, 0, 2);
            empty.forEachFloat(Order.C, x -> fail("an empty view has no element to visit"));
            empty.forEachFloatIndexed(Order.F, (i, x) -> fail("an empty view has no element to visit"));
        }
    }

    @Test
    void badInputsAreRefusedBeforeAnyCall() {
        try (Arena arena = Arena.ofConfined()) {
            NdArray f = NdArray.allocate(arena, DType.FLOAT32, 3);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> f.forEachDouble(Order.C, x -> fail("called")));
            assertEquals("forEachDouble reads double elements, but this array's dtype is <f4 (float32); use forEachFloat",
                    e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> f.forEachIntIndexed(Order.C, (i, x) -> fail("called")));
            assertEquals("forEachIntIndexed reads int elements, but this array's dtype is <f4 (float32); use forEachFloatIndexed",
                    e.getMessage());
            NullPointerException n = assertThrows(NullPointerException.class, () -> f.forEachFloat(null, x -> { }));
            assertEquals("order", n.getMessage());
            n = assertThrows(NullPointerException.class, () -> f.forEachFloat(Order.C, null));
            assertEquals("action", n.getMessage());
            NdArray record = NdArray.allocate(arena, DType.record(List.of(new DType.Field("x", DType.INT32, 0)), 8), 2);
            e = assertThrows(IllegalArgumentException.class, () -> record.forEachInt(Order.C, x -> fail("called")));
            assertEquals(true, e.getMessage().startsWith("forEachInt reads int elements, but this array's dtype is"), e.getMessage());
        }
        Arena closed = Arena.ofConfined();
        NdArray gone = NdArray.allocate(closed, DType.INT32, 4);
        NdArray empty = NdArray.allocate(closed, DType.INT32, 0);
        closed.close();
        IllegalStateException s = assertThrows(IllegalStateException.class, () -> gone.forEachInt(Order.C, x -> fail("called")));
        assertEquals(true, s.getMessage().startsWith("Already closed"), s.getMessage());
        assertThrows(IllegalStateException.class, () -> empty.forEachInt(Order.C, x -> fail("called")));
    }

    @Test
    void otherThreadsAreRefused() throws InterruptedException {
        try (Arena arena = Arena.ofConfined()) {
            NdArray a = NdArray.allocate(arena, DType.INT32, 4);
            Throwable[] thrown = new Throwable[1];
            Thread t = new Thread(() -> {
                try {
                    a.forEachInt(Order.C, x -> fail("called"));
                } catch (Throwable e) {
                    thrown[0] = e;
                }
            });
            t.start();
            t.join();
            assertEquals(WrongThreadException.class, thrown[0].getClass());
        }
    }

    @Test
    void hostileActions() {
        // An action that throws: the exception comes out, nothing else happens.
        try (Arena arena = Arena.ofConfined()) {
            NdArray a = NdArray.allocate(arena, DType.INT32, 2, 3);
            int[] calls = {0};
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> a.forEachInt(Order.C, x -> {
                if (++calls[0] == 4) {
                    throw new IllegalStateException("stop");
                }
            }));
            assertEquals("stop", e.getMessage());
            assertEquals(4, calls[0]);
            // An action that writes ahead: each element is read when visited.
            List<Integer> seen = new ArrayList<>();
            a.forEachIntIndexed(Order.C, (idx, x) -> {
                seen.add(x);
                if (idx[0] == 0 && idx[1] == 0) {
                    a.setInt(42, 1, 2);
                }
            });
            assertEquals(List.of(0, 0, 0, 0, 0, 42), seen);
            // An action that scribbles on the indices changes what it is told, never what is visited.
            List<String> told = new ArrayList<>();
            a.forEachIntIndexed(Order.C, (idx, x) -> {
                told.add(Arrays.toString(idx));
                idx[0] = 99;
                idx[1] = -7;
            });
            assertEquals(List.of("[0, 0]", "[99, 1]", "[99, 2]", "[1, 0]", "[99, 1]", "[99, 2]"), told);
        }
        // An action that closes the arena: the next read throws; no freed byte is read.
        Arena arena = Arena.ofConfined();
        NdArray a = NdArray.allocate(arena, DType.FLOAT64, 5);
        int[] calls = {0};
        assertThrows(IllegalStateException.class, () -> a.forEachDouble(Order.C, x -> {
            calls[0]++;
            arena.close();
        }));
        assertEquals(1, calls[0]);
    }
}
