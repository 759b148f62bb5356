package dev.panbuf.interop;

import dev.panbuf.BufferArena;
import dev.panbuf.DType;
import dev.panbuf.NdArray;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * libc's {@code qsort} sorting panbuf memory in place, calling back into Java
 * for every comparison (an upcall). qsort takes (base, count, size): it can only
 * sort contiguous elements, so {@link LibcQsort#sortInPlace} refuses a strided
 * view, and {@link LibcQsort#sortViaContiguousCopy} says by its name that it
 * sorts a contiguous copy and writes it back.
 */
@Tag("native")
class QsortTest {

    /** The README example: qsort over a view's own memory with a Java comparator. */
    static final class LibcQsort {
        private static final Linker LINKER = Linker.nativeLinker();
        private static final MethodHandle QSORT = LINKER.downcallHandle(LINKER.defaultLookup().findOrThrow("qsort"),
                FunctionDescriptor.ofVoid(ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.ADDRESS));
        // Comparators live as long as the program: one stub each, made once.
        private static final MemorySegment COMPARE_FLOATS = comparator("compareFloats", ValueLayout.JAVA_FLOAT);
        private static final MemorySegment COMPARE_INTS = comparator("compareInts", ValueLayout.JAVA_INT);

        private LibcQsort() {}

        private static MemorySegment comparator(String name, ValueLayout element) {
            try {
                MethodHandle target = MethodHandles.lookup().findStatic(LibcQsort.class, name,
                        MethodType.methodType(int.class, MemorySegment.class, MemorySegment.class));
                return LINKER.upcallStub(target, FunctionDescriptor.of(ValueLayout.JAVA_INT,
                        ValueLayout.ADDRESS.withTargetLayout(element), ValueLayout.ADDRESS.withTargetLayout(element)),
                        Arena.global());
            } catch (ReflectiveOperationException e) {
                throw new ExceptionInInitializerError(e);
            }
        }

        // Upcalls must never throw (an exception leaving an upcall ends the JVM): Float.compare and
        // Integer.compare cannot, and the segments are exactly one element long.
        static int compareFloats(MemorySegment a, MemorySegment b) {
            return Float.compare(a.get(ValueLayout.JAVA_FLOAT, 0), b.get(ValueLayout.JAVA_FLOAT, 0));
        }

        static int compareInts(MemorySegment a, MemorySegment b) {
            return Integer.compare(a.get(ValueLayout.JAVA_INT, 0), b.get(ValueLayout.JAVA_INT, 0));
        }

        /**
         * Sorts a contiguous 1-d float32 or int32 view in place, ascending
         * ({@code Float.compare} order: -0.0 before 0.0, NaN last).
         *
         * @throws IllegalArgumentException for other dtypes, other ndims, read-only views, and strided
         *         views (qsort has no stride argument: use {@link #sortViaContiguousCopy})
         */
        static void sortInPlace(NdArray v) {
            MemorySegment compare = comparatorFor(v);
            if (!v.isContiguous(dev.panbuf.Order.C)) {
                throw new IllegalArgumentException("qsort sorts contiguous elements only, but this view has byte strides "
                        + Arrays.toString(v.byteStrides()) + " for " + v.dtype().byteSize() + "-byte elements;"
                        + " use sortViaContiguousCopy(view), which copies");
            }
            try {
                // v.segment() slice: the downcall holds its arena open until qsort returns
                QSORT.invokeExact(v.segment().asSlice(v.byteOffset(), v.byteSize()), v.elementCount(),
                        v.dtype().byteSize(), compare);
            } catch (Throwable t) {
                throw t instanceof RuntimeException r ? r : new IllegalStateException(t);
            }
        }

        /** Sorts any 1-d float32/int32 view: copies it contiguous, sorts the copy in place, copies it back. */
        static void sortViaContiguousCopy(NdArray v) {
            comparatorFor(v);
            try (Arena scratch = BufferArena.ofConfined()) {
                NdArray copy = v.copy(dev.panbuf.Order.C, scratch);
                sortInPlace(copy);
                copy.copyTo(v);
            }
        }

        private static MemorySegment comparatorFor(NdArray v) {
            if (v.ndim() != 1) {
                throw new IllegalArgumentException("qsort sorts 1-d views; this one has shape " + Arrays.toString(v.shape()));
            }
            if (v.isReadOnly()) {
                throw new IllegalArgumentException("cannot sort a read-only view in place");
            }
            if (v.dtype().equals(DType.FLOAT32)) {
                return COMPARE_FLOATS;
            }
            if (v.dtype().equals(DType.INT32)) {
                return COMPARE_INTS;
            }
            throw new IllegalArgumentException("this example sorts float32 and int32 views, not " + v.dtype());
        }
    }

    @ParameterizedTest(name = "shared={0}")
    @ValueSource(booleans = {false, true})
    void sortsFloat32InPlaceLikeArraysSort(boolean shared) {
        Random rnd = new Random(42);
        float[] values = new float[20_000];
        for (int i = 0; i < values.length; i++) {
            values[i] = rnd.nextInt(10) == 0 ? new float[] {Float.NaN, -0.0f, 0.0f, Float.NEGATIVE_INFINITY}[rnd.nextInt(4)]
                    : (float) rnd.nextGaussian() * 1000;
        }
        try (BufferArena arena = shared ? BufferArena.ofShared() : BufferArena.ofConfined()) {
            NdArray v = NdArray.allocate(arena, DType.FLOAT32, values.length);
            MemorySegment.copy(values, 0, v.segment(), ValueLayout.JAVA_FLOAT, 0, values.length);
            long address = v.address();
            LibcQsort.sortInPlace(v);
            float[] expected = values.clone();
            Arrays.sort(expected);
            float[] got = v.toFloatArray();
            for (int i = 0; i < got.length; i++) {
                assertEquals(Float.floatToIntBits(expected[i]), Float.floatToIntBits(got[i]), "element " + i);
            }
            assertEquals(address, v.address(), "sorted where it was");
        }
    }

    @Test
    void sortsInt32InPlace() {
        Random rnd = new Random(7);
        int[] values = rnd.ints(10_000).toArray();
        values[0] = Integer.MIN_VALUE;
        values[1] = Integer.MAX_VALUE;
        try (BufferArena arena = BufferArena.ofConfined()) {
            NdArray v = NdArray.allocate(arena, DType.INT32, values.length);
            MemorySegment.copy(values, 0, v.segment(), ValueLayout.JAVA_INT, 0, values.length);
            LibcQsort.sortInPlace(v.get("100:9000"));   // a contiguous slice: only it is sorted
            int[] expected = values.clone();
            Arrays.sort(expected, 100, 9000);
            assertArrayEquals(expected, v.toIntArray());
        }
    }

    @Test
    void aStridedViewIsRefusedInPlaceAndSortedViaACopyByName() {
        try (BufferArena arena = BufferArena.ofConfined()) {
            NdArray v = NdArray.allocate(arena, DType.INT32, 10);
            int[] values = {9, -1, 8, -2, 7, -3, 6, -4, 5, -5};
            for (int i = 0; i < values.length; i++) {
                v.setInt(values[i], i);
            }
            NdArray evens = v.get("::2");
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> LibcQsort.sortInPlace(evens));
            assertTrue(e.getMessage().contains("byte strides [8]") && e.getMessage().contains("sortViaContiguousCopy"),
                    e.getMessage());
            assertArrayEquals(values, v.toIntArray(), "nothing moved");
            LibcQsort.sortViaContiguousCopy(evens);
            assertArrayEquals(new int[] {5, -1, 6, -2, 7, -3, 8, -4, 9, -5}, v.toIntArray(), "only the strided elements, sorted");
            LibcQsort.sortViaContiguousCopy(v.get("::-1"));   // descending, through a reversed view
            assertArrayEquals(new int[] {9, 8, 7, 6, 5, -1, -2, -3, -4, -5}, v.toIntArray());
        }
    }

    @Test
    void heapViewsAndOtherTypesAreRefused() {
        NdArray heap = NdArray.wrap(new int[] {3, 1, 2});
        // qsort calls back into Java: no critical call is possible, so heap memory cannot be passed
        assertThrows(IllegalArgumentException.class, () -> LibcQsort.sortInPlace(heap));
        try (BufferArena arena = BufferArena.ofConfined()) {
            assertThrows(IllegalArgumentException.class,
                    () -> LibcQsort.sortInPlace(NdArray.allocate(arena, DType.FLOAT64, 3)));
            assertThrows(IllegalArgumentException.class,
                    () -> LibcQsort.sortInPlace(NdArray.allocate(arena, DType.INT32, 3).asReadOnly()));
        }
    }
}
