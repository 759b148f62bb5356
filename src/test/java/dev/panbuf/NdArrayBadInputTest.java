package dev.panbuf;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.function.Executable;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every bad input of the view API: the exact exception type, a message that
 * names the offending value, and, for refused writes, not one byte of memory
 * changed. The memory is a 256-byte native segment holding a byte pattern;
 * {@link #refusedWrite} compares all of it before and after.
 */
@ExtendWith(LeakCheck.class)
class NdArrayBadInputTest {

    private static final long SIZE = 256;

    private Arena arena;
    private MemorySegment memory;
    /** A (4, 16) int32 view of all of {@link #memory}. */
    private NdArray m;

    @BeforeEach
    void setUp() {
        arena = Arena.ofConfined();
        memory = arena.allocate(SIZE, 8);
        for (long i = 0; i < SIZE; i++) {
            memory.set(ValueLayout.JAVA_BYTE, i, (byte) (i * 37 + 11));
        }
        m = NdArray.of(memory, DType.INT32, 4, 16);
    }

    @AfterEach
    void tearDown() {
        arena.close();
    }

    /** Asserts that {@code call} throws {@code type} with a message containing every fragment. */
    private static <T extends Throwable> T refused(Class<T> type, Executable call, String... fragments) {
        T e = assertThrows(type, call);
        String msg = e.getMessage();
        for (String f : fragments) {
            assertTrue(msg != null && msg.contains(f), "message \"" + msg + "\" should contain \"" + f + "\"");
        }
        return e;
    }

    /** As {@link #refused}, and then checks that the memory holds exactly the bytes it held before. */
    private <T extends Throwable> void refusedWrite(Class<T> type, Executable call, String... fragments) {
        byte[] before = memory.toArray(ValueLayout.JAVA_BYTE);
        refused(type, call, fragments);
        assertArrayEquals(before, memory.toArray(ValueLayout.JAVA_BYTE), "a refused write changed the memory");
    }

    private NdArray strided(DType t, long offset, long[] shape, long[] strides) {
        return NdArray.asStrided(memory, t, offset, shape, strides);
    }

    // ---------------------------------------------------------------- shapes and strides

    @Test
    void negativeDimensionIsRefusedNamingIt() {
        refused(IllegalArgumentException.class, () -> NdArray.allocate(arena, DType.INT32, 2, -3),
                "dimension 1", "(2, -3)", "-3");
        refused(IllegalArgumentException.class, () -> strided(DType.INT32, 0, new long[] {-1}, new long[] {4}), "-1");
        refused(IllegalArgumentException.class, () -> m.broadcastTo(4, -16), "-16");
        refused(IllegalArgumentException.class, () -> NdArray.of(memory, DType.INT8, 5, -5), "-5");
    }

    @Test
    void sixtyFiveDimensionsAreRefused() {
        long[] shape65 = new long[65];
        java.util.Arrays.fill(shape65, 1);
        refused(IllegalArgumentException.class, () -> NdArray.allocate(arena, DType.INT8, shape65), "ndim 65", "64");
        refused(IllegalArgumentException.class, () -> strided(DType.INT8, 0, shape65, new long[65]), "ndim 65");
        refused(IllegalArgumentException.class, () -> m.reshape(shape65), "65");
        refused(IllegalArgumentException.class, () -> m.broadcastTo(shape65), "65");
        long[] shape64 = new long[64];
        java.util.Arrays.fill(shape64, 1);
        NdArray v64 = m.get(Index.at(0), Index.at(0)).reshape(shape64);
        assertEquals(64, v64.ndim());
        refused(IllegalArgumentException.class, () -> v64.expandDims(0), "65");
        refused(IllegalArgumentException.class, () -> v64.get(Index.newAxis(), Index.ellipsis()), "65");
    }

    @Test
    void shapeAndStridesOfDifferentLengthsAreRefused() {
        refused(IllegalArgumentException.class, () -> strided(DType.INT32, 0, new long[] {2, 3}, new long[] {4}),
                "(2, 3)", "2 dimensions", "1 strides", "[4]");
        refused(IllegalArgumentException.class, () -> strided(DType.INT32, 0, new long[] {2}, new long[] {4, 4}),
                "(2,)", "2 strides");
    }

    @Test
    void elementCountOverflowIsRefused() {
        refused(IllegalArgumentException.class, () -> NdArray.allocate(arena, DType.INT8, 1L << 32, 1L << 32),
                "(4294967296, 4294967296)", "overflows");
        refused(IllegalArgumentException.class, () -> NdArray.allocate(arena, DType.INT64, 1L << 61),
                "(2305843009213693952,)", "8-byte", "overflows");
        NdArray scalar = m.get(Index.at(0), Index.at(0));
        refused(IllegalArgumentException.class, () -> scalar.broadcastTo(1L << 40, 1L << 40), "overflows");
        // NumPy refuses an empty shape whose other dimensions overflow ("array is too big"); so does panbuf,
        // so that contiguous strides of every valid shape are exact.
        refused(IllegalArgumentException.class, () -> strided(DType.INT64, 0, new long[] {0, 1L << 62, 4}, new long[] {8, 8, 8}),
                "(0, 4611686018427387904, 4)", "too large");
        refused(IllegalArgumentException.class, () -> NdArray.allocate(arena, DType.INT8, 0, 1L << 62, 4), "too large");
        NdArray empty = m.get(Slice.of(0, 0));
        refused(IllegalArgumentException.class, () -> empty.reshape(0, 1L << 62, 1L << 62), "overflows");
    }

    @Test
    void fixedArityOverloadsRefuseWhatTheVarargsFormsRefuse() {
        refused(NullPointerException.class, () -> m.get((Index) null), "index item");
        refused(NullPointerException.class, () -> m.get(Slice.all(), null), "index item");
        refused(NullPointerException.class, () -> m.get(new Index[] {null}), "index item");
        refused(IndexOutOfBoundsException.class, () -> m.get(Index.at(4)), "index 4", "axis 0", "size 4");
        refused(IndexOutOfBoundsException.class, () -> m.get(Slice.all(), Index.at(-17)), "index -17", "axis 1", "size 16");
        NdArray row = m.get(Index.at(0));
        refused(IllegalArgumentException.class, () -> row.get(Index.at(0), Index.at(0)), "too many indices");
        // 2^32 * 2^32 wraps to 0 and (2^32 + 1) * (2^32 - 1) to 2^64 - 1 = -1: neither may pass for 64 elements.
        refused(IllegalArgumentException.class, () -> m.reshape(1L << 32, 1L << 32), "4294967296");
        refused(IllegalArgumentException.class, () -> m.reshape((1L << 32) + 1, (1L << 32) - 1), "4294967297");
        refused(IllegalArgumentException.class, () -> m.reshape(65), "65");
        refused(IllegalArgumentException.class, () -> m.reshape(-1, -1), "-1");
        assertArrayEquals(new long[] {8, 8}, m.reshape(-1, 8).shape());
        assertArrayEquals(new long[] {64}, m.reshape(-1).shape());
        NdArray empty = m.get(Slice.of(0, 0));
        refused(IllegalArgumentException.class, () -> empty.reshape(1L << 62, 0), "overflows");
        NdArray ragged = m.get(Slice.all(), Slice.of(0, 15));   // rows of 15 at a 16-element pitch: no 1-d view
        refused(IllegalArgumentException.class, () -> ragged.reshape(60), "needs a copy", "copy(Order.C)");
        refused(IllegalArgumentException.class, () -> ragged.reshape(6, 10), "needs a copy", "copy(Order.C)");
    }

    @Test
    void strideTimesDimensionOverflowIsRefused() {
        long big = Long.MAX_VALUE / 2 + 1;
        refused(IllegalArgumentException.class, () -> strided(DType.INT8, 0, new long[] {3}, new long[] {big}),
                "axis 0", "stride " + big, "overflows");
        refused(IllegalArgumentException.class, () -> strided(DType.INT8, 0, new long[] {1, 4}, new long[] {1, -big}),
                "axis 1", "stride " + -big, "x 3");
    }

    @Test
    void offsetPlusExtentOverflowIsRefused() {
        long off = Long.MAX_VALUE - 1;
        refused(IllegalArgumentException.class, () -> strided(DType.INT8, off, new long[] {3}, new long[] {1}),
                "byte offset " + off, "overflows");
        refused(IllegalArgumentException.class, () -> strided(DType.INT32, Long.MAX_VALUE - 2, new long[] {1}, new long[] {4}),
                "item size 4", "overflows");
        long low = Long.MIN_VALUE + 1;
        refused(IllegalArgumentException.class, () -> strided(DType.INT8, low, new long[] {3}, new long[] {-1}),
                "byte offset " + low, "overflows");
        NdArray row1 = m.get("1:");                                   // element 0 at byte 64
        refused(IllegalArgumentException.class, () -> NdArray.asStrided(row1, Long.MAX_VALUE, new long[] {1}, new long[] {4}),
                "byte offset " + Long.MAX_VALUE, "byte 64", "overflows");
    }

    @Test
    void negativeStridesReachingBeforeTheSegmentAreRefused() {
        refused(IllegalArgumentException.class, () -> strided(DType.INT32, 4, new long[] {3}, new long[] {-4}),
                "[-4, 8)", "256 bytes", "byte offset 4");
        refused(IllegalArgumentException.class, () -> strided(DType.INT32, -1, new long[] {1}, new long[] {4}),
                "[-1, 3)", "byte offset -1");
        // exactly at the start is fine
        NdArray ok = strided(DType.INT32, 8, new long[] {3}, new long[] {-4});
        assertEquals(m.getInt(0, 0), ok.getInt(2));
    }

    @Test
    void extentsPastTheEndAreRefused() {
        refused(IllegalArgumentException.class, () -> strided(DType.INT32, 0, new long[] {65}, new long[] {4}),
                "[0, 260)", "256 bytes");
        refused(IllegalArgumentException.class, () -> strided(DType.INT32, 253, new long[] {}, new long[] {}),
                "[253, 257)", "256 bytes");
        refused(IllegalArgumentException.class, () -> NdArray.of(memory, DType.INT32, 65), "(65,)", "260", "256");
        refused(IllegalArgumentException.class, () -> NdArray.asStrided(m.get("1:"), 0, new long[] {4, 16}, new long[] {64, 4}),
                "[64, 320)", "256 bytes");
        NdArray last = strided(DType.INT32, 252, new long[] {}, new long[] {});
        assertEquals(m.getInt(3, 15), last.getInt());
    }

    @Test
    void zeroSizeViewsHaveNoElementToAccess() {
        NdArray empty = strided(DType.INT32, SIZE, new long[] {0, 3}, new long[] {4, 4});   // offset at the end: allowed
        assertEquals(0, empty.elementCount());
        assertEquals(0, empty.byteSize());
        assertTrue(empty.isContiguous(Order.C) && empty.isContiguous(Order.F));
        refused(IndexOutOfBoundsException.class, () -> empty.getInt(0, 0), "index 0", "axis 0", "size 0");
        refusedWrite(IndexOutOfBoundsException.class, () -> empty.setInt(1, 0, 2), "index 0", "axis 0", "size 0");
        refused(IndexOutOfBoundsException.class, () -> empty.get(Index.at(0)), "index 0", "axis 0", "size 0");
        refused(IndexOutOfBoundsException.class, () -> empty.get(Index.at(-1)), "index -1", "size 0");
        VarHandle vh = empty.varHandle();
        refused(IndexOutOfBoundsException.class, () -> {
            int ignored = (int) vh.get(0L, 0L);
        }, "index 0", "size 0");
        assertEquals(0, empty.toBytes().length);
        assertEquals(0, empty.toIntArray().length);
        empty.fillInt(5);                                      // nothing to fill, nothing written
        assertEquals(0, empty.copy(Order.F, arena).elementCount());
        NdArray emptySlice = m.get("2:2");
        assertArrayEquals(new long[] {0, 16}, emptySlice.shape());
        refused(IndexOutOfBoundsException.class, () -> emptySlice.getInt(0, 0), "size 0");
        refused(IllegalArgumentException.class, () -> strided(DType.INT32, SIZE + 1, new long[] {0}, new long[] {4}),
                "byte offset 257", "256 bytes");
        refused(IllegalArgumentException.class, () -> strided(DType.INT32, -1, new long[] {0}, new long[] {4}),
                "byte offset -1");
    }

    @Test
    void zeroStridesAreReadOnlyUnlessAllowed() {
        NdArray z = strided(DType.INT32, 8, new long[] {4, 3}, new long[] {0, 4});
        assertTrue(z.isReadOnly());
        refusedWrite(IllegalArgumentException.class, () -> z.setInt(1, 0, 0), "setInt", "read-only");
        NdArray w = NdArray.asStrided(memory, DType.INT32, 8, new long[] {4, 3}, new long[] {0, 4},
                NdArray.Overlap.ALLOW_WRITES);
        assertFalse(w.isReadOnly());
        w.setInt(-9, 3, 1);
        for (long r = 0; r < 4; r++) {
            assertEquals(-9, w.getInt(r, 1), "every row is the same memory");
        }
        // size-1 axes may have any stride without making elements overlap
        assertFalse(strided(DType.INT32, 0, new long[] {1, 4}, new long[] {0, 4}).isReadOnly());
    }

    @Test
    void selfOverlappingViewsAreReadOnlyByDefault() {
        NdArray o = strided(DType.INT32, 0, new long[] {4}, new long[] {2});   // 4-byte elements 2 bytes apart
        assertTrue(o.isReadOnly());
        refusedWrite(IllegalArgumentException.class, () -> o.setInt(1, 0), "read-only");
        refusedWrite(IllegalArgumentException.class, () -> o.fillInt(0), "fillInt", "read-only");
        NdArray rows = strided(DType.INT32, 0, new long[] {3, 4}, new long[] {8, 4});   // rows overlap by half
        assertTrue(rows.isReadOnly());
        NdArray derived = NdArray.asStrided(rows, 0, new long[] {2}, new long[] {4});
        assertTrue(derived.isReadOnly(), "asStrided of a read-only view stays read-only");
        assertTrue(rows.transpose().get("::2").isReadOnly(), "views of a read-only view stay read-only");
        NdArray allowed = NdArray.asStrided(memory, DType.INT32, 0, new long[] {3, 4}, new long[] {8, 4},
                NdArray.Overlap.ALLOW_WRITES);
        allowed.setInt(77, 1, 0);
        assertEquals(77, allowed.getInt(0, 2), "[1, 0] and [0, 2] are the same bytes");
        // disjoint interleaved layouts are writable
        assertFalse(strided(DType.INT32, 0, new long[] {2, 4}, new long[] {4, 8}).isReadOnly());
    }

    // ---------------------------------------------------------------- element access

    @Test
    void indexOutOfRangeInTypedAccessorsNamesIndexAxisAndSize() {
        refused(IndexOutOfBoundsException.class, () -> m.getInt(4, 0), "index 4", "axis 0", "size 4");
        refused(IndexOutOfBoundsException.class, () -> m.getInt(0, 16), "index 16", "axis 1", "size 16");
        refused(IndexOutOfBoundsException.class, () -> m.getInt(Long.MAX_VALUE, 0), "index " + Long.MAX_VALUE, "axis 0");
        refused(IndexOutOfBoundsException.class, () -> m.getInt(0, Long.MIN_VALUE), "index " + Long.MIN_VALUE, "axis 1");
        // typed accessors index as NumPy does: -1 is the last element, below -size is refused
        assertEquals(m.getInt(3, 0), m.getInt(-1, 0));
        refused(IndexOutOfBoundsException.class, () -> m.getInt(-5, 0), "index -5", "axis 0", "down to -4");
        refusedWrite(IndexOutOfBoundsException.class, () -> m.setInt(5, 0, -17), "index -17", "axis 1", "down to -16");
        refusedWrite(IndexOutOfBoundsException.class, () -> m.setInt(5, 3, 16), "index 16", "axis 1");
        NdArray five = m.reshape(2, 2, 2, 2, 4);
        refused(IndexOutOfBoundsException.class, () -> five.getInt(0, 0, 0, 0, 4), "index 4", "axis 4", "size 4");
        refused(IndexOutOfBoundsException.class, () -> five.getInt(0, 0, 2, 0, 0), "index 2", "axis 2", "size 2");
        refused(IndexOutOfBoundsException.class, () -> m.byteOffsetOf(9, 9), "index 9", "axis 0");
        VarHandle vh = m.varHandle();
        refused(IndexOutOfBoundsException.class, () -> {
            int ignored = (int) vh.get(0L, 16L);
        }, "index 16", "axis 1");
        refusedWrite(IndexOutOfBoundsException.class, () -> vh.set(-5L, 0L, 3), "index -5", "axis 0");
        // get() indexes the Python way: negative counts from the end, down to -size
        assertEquals(m.getInt(3, 15), m.get(Index.at(-1), Index.at(-1)).getInt());
        refused(IndexOutOfBoundsException.class, () -> m.get(Index.at(-5)), "index -5", "axis 0", "size 4");
        refused(IndexOutOfBoundsException.class, () -> m.get(Index.at(Long.MIN_VALUE)), "index " + Long.MIN_VALUE);
        refused(IndexOutOfBoundsException.class, () -> m.get(Index.at(Long.MAX_VALUE)), "index " + Long.MAX_VALUE);
        refused(IndexOutOfBoundsException.class, () -> m.get("..., 16"), "index 16", "axis 1");
    }

    @Test
    void wrongNumberOfIndicesIsRefused() {
        refused(IllegalArgumentException.class, () -> m.getInt(1), "1 index", "2 dimensions", "exactly 2");
        refused(IllegalArgumentException.class, () -> m.getInt(1, 2, 3), "3 indices", "2 dimensions");
        refused(IllegalArgumentException.class, () -> m.getInt(), "0 indices", "2 dimensions");
        refused(IllegalArgumentException.class, () -> m.getInt(new long[] {1, 2, 3, 4, 5}), "5 indices", "2 dimensions");
        refusedWrite(IllegalArgumentException.class, () -> m.setInt(1, 1), "1 index", "2 dimensions");
        refused(IllegalArgumentException.class, () -> m.byteOffsetOf(1), "1 index");
        VarHandle vh = m.varHandle();
        assertThrows(RuntimeException.class, () -> {
            int ignored = (int) vh.get(1L);   // the VarHandle's coordinates are fixed: a WrongMethodTypeException
        });
    }

    @Test
    void accessorOfTheWrongCarrierIsRefusedNamingTheRightOne() {
        NdArray f32 = NdArray.of(memory, DType.parse("<f4"), 4);
        refused(IllegalArgumentException.class, () -> f32.getDouble(0), "getDouble", "<f4", "float32", "use getFloat");
        refusedWrite(IllegalArgumentException.class, () -> f32.setDouble(1.0, 0), "setDouble", "use setFloat");
        refused(IllegalArgumentException.class, () -> m.getLong(0, 0), "getLong", "int32", "use getInt");
        refused(IllegalArgumentException.class, () -> m.getFloat(0, 0), "getFloat", "use getInt");
        NdArray u16 = NdArray.of(memory, DType.parse(">u2"), 8);
        refused(IllegalArgumentException.class, () -> u16.getInt(0), "getInt", ">u2", "use getShort");
        NdArray b = NdArray.of(memory, DType.BOOL, 8);
        refused(IllegalArgumentException.class, () -> b.getByte(0), "getByte", "|b1", "use getBoolean");
        refusedWrite(IllegalArgumentException.class, () -> b.fillByte((byte) 1), "fillByte", "use fillBoolean");
        refused(IllegalArgumentException.class, () -> f32.toDoubleArray(), "toDoubleArray", "<f4", "toFloatArray");
        NdArray f16 = NdArray.of(memory, DType.parse("<f2"), 8);
        refused(IllegalArgumentException.class, () -> f16.getShort(0), "getShort", "<f2", "use getFloat");
        DType rec = DType.record(List.of(new DType.Field("x", DType.INT32, 0)), 8);
        NdArray r = NdArray.of(memory, rec, 4);
        refused(IllegalArgumentException.class, () -> r.getInt(0), "getInt", "use field(name)");
        refused(IllegalArgumentException.class, r::varHandle, "varHandle", "field(name)");
    }

    // ---------------------------------------------------------------- read-only

    @Test
    void everyWriteToAReadOnlyViewIsRefusedAndChangesNothing() {
        NdArray ro = m.asReadOnly();
        refusedWrite(IllegalArgumentException.class, () -> ro.setInt(1, 0, 0), "setInt", "read-only");
        refusedWrite(IllegalArgumentException.class, () -> ro.setInt(1, new long[] {0, 0}), "setInt", "read-only");
        refusedWrite(IllegalArgumentException.class, () -> ro.fillInt(7), "fillInt", "read-only");
        refusedWrite(IllegalArgumentException.class, () -> ro.fillBytes(new byte[4]), "fillBytes", "read-only");
        refusedWrite(IllegalArgumentException.class, () -> m.get("0").copyTo(ro.get("1")), "copyTo", "read-only");
        VarHandle vh = ro.varHandle();
        refusedWrite(IllegalArgumentException.class, () -> vh.set(0L, 0L, 1), "read-only");
        refusedWrite(IllegalArgumentException.class, () -> vh.setVolatile(0L, 0L, 1), "read-only");
        int current = ro.getInt(0, 0);
        refusedWrite(IllegalArgumentException.class, () -> {
            boolean ignored = vh.compareAndSet(0L, 0L, current, current + 1);
        }, "read-only");
        refusedWrite(IllegalArgumentException.class, () -> {
            int ignored = (int) vh.getAndAdd(0L, 0L, 1);
        }, "read-only");
        assertEquals(current, (int) vh.get(0L, 0L), "reads still work");

        NdArray bc = m.get("0").broadcastTo(3, 16);
        refusedWrite(IllegalArgumentException.class, () -> bc.setInt(1, 0, 0), "setInt", "read-only");
        refusedWrite(IllegalArgumentException.class, () -> bc.transpose().fillInt(1), "read-only");

        NdArray bools = NdArray.of(memory, DType.BOOL, 16).asReadOnly();
        refusedWrite(IllegalArgumentException.class, () -> bools.setBoolean(true, 0), "setBoolean", "read-only");
        refusedWrite(IllegalArgumentException.class, () -> bools.varHandle().set(0L, true), "read-only");
        NdArray halves = NdArray.of(memory, DType.parse(">f2"), 16).asReadOnly();
        refusedWrite(IllegalArgumentException.class, () -> halves.setFloat(1f, 0), "setFloat", "read-only");
        refusedWrite(IllegalArgumentException.class, () -> halves.varHandle().set(0L, 1f), "read-only");
        refusedWrite(IllegalArgumentException.class, () -> halves.fillFloat(1f), "fillFloat", "read-only");

        MemorySegment roSegment = memory.asReadOnly();
        NdArray fromRo = NdArray.of(roSegment, DType.INT32, 4, 16);
        assertTrue(fromRo.isReadOnly(), "a view of a read-only segment is read-only");
        refusedWrite(IllegalArgumentException.class, () -> fromRo.setInt(1, 0, 0), "read-only");
    }

    @Test
    void atomicVarHandleAccessNeedsAlignedElements() {
        VarHandle vh = m.varHandle();                                  // 8-aligned memory, 4-byte elements
        int before = m.getInt(1, 2);
        assertTrue(vh.compareAndSet(1L, 2L, before, before + 1));
        assertEquals(before + 1, m.getInt(1, 2));
        assertEquals(before + 1, (int) vh.getAndAdd(1L, 2L, 1));
        assertEquals(before + 2, (int) vh.getVolatile(1L, 2L));
        NdArray odd = strided(DType.INT32, 1, new long[] {4}, new long[] {4});   // every element misaligned
        assertFalse(odd.isAligned());
        VarHandle oddHandle = odd.varHandle();
        refusedWrite(UnsupportedOperationException.class, () -> {
            boolean ignored = oddHandle.compareAndSet(0L, 0, 1);
        }, "compareAndSet");
        oddHandle.set(2L, 5);                                          // plain access works at any alignment
        assertEquals(5, odd.getInt(2));
        // a heap byte[] guarantees no alignment: plain access only
        NdArray heap = NdArray.wrap(new byte[16], DType.INT32, 4);
        assertThrows(UnsupportedOperationException.class, () -> heap.varHandle().getAndAdd(0L, 1));
        NdArray ints = NdArray.wrap(new int[4]);
        assertEquals(0, (int) ints.varHandle().getAndAdd(3L, 7));
        assertEquals(7, ints.getInt(3));
    }

    // ---------------------------------------------------------------- view operations

    @Test
    void transposeWithRepeatedOrOutOfRangeAxesIsRefused() {
        NdArray t = m.reshape(2, 2, 16);
        refused(IllegalArgumentException.class, () -> t.transpose(0, 0, 1), "axis 0 repeats", "[0, 0, 1]");
        refused(IllegalArgumentException.class, () -> t.transpose(2, -1, 0), "axis -1 repeats", "[2, -1, 0]");
        refused(IllegalArgumentException.class, () -> t.transpose(0, 3, 1), "axis 3", "out of range", "3 dimensions");
        refused(IllegalArgumentException.class, () -> t.transpose(0, -4, 1), "axis -4", "out of range");
        refused(IllegalArgumentException.class, () -> t.transpose(0, 1), "needs 3 axes", "got 2", "[0, 1]");
        refused(IllegalArgumentException.class, () -> m.swapAxes(0, 2), "axis 2", "out of range");
    }

    @Test
    void reshapeRefusalsSayWhy() {
        refused(IllegalArgumentException.class, () -> m.reshape(-1, -1), "only one dimension can be -1", "(-1, -1)");
        refused(IllegalArgumentException.class, () -> m.reshape(7, 9), "64 elements", "(4, 16)", "(7, 9)", "63");
        refused(IllegalArgumentException.class, () -> m.reshape(5, -1), "64 elements", "(5, -1)");
        refused(IllegalArgumentException.class, () -> m.reshape(-2, 32), "dimension 0", "-2");
        NdArray cols = m.get(":, :8");                                // (4, 8), rows 64 bytes apart
        refused(IllegalArgumentException.class, () -> cols.reshape(32), "needs a copy", "copy(Order.C).reshape",
                "(4, 8)", "(32,)");
        refused(IllegalArgumentException.class, () -> m.reshape(Order.F, 64), "needs a copy", "copy(Order.F).reshape");
        // the remedy works
        assertEquals(cols.getInt(1, 3), cols.copy(Order.C).reshape(32).getInt(8 + 3));
    }

    @Test
    void broadcastToAnIncompatibleShapeIsRefused() {
        NdArray row = m.get("0");                                      // (16,)
        refused(IllegalArgumentException.class, () -> row.broadcastTo(3, 5), "(16,)", "(3, 5)", "axis 0", "size 16");
        refused(IllegalArgumentException.class, () -> m.broadcastTo(16), "(4, 16)", "(16,)", "fewer dimensions");
        refused(IllegalArgumentException.class, () -> m.broadcastTo(4, 0), "(4, 0)", "axis 1");
    }

    @Test
    void squeezeOfAnAxisThatIsNotOneIsRefused() {
        NdArray v = m.get("1:2, newaxis");                             // (1, 1, 16)
        refused(IllegalArgumentException.class, () -> v.squeeze(2), "cannot squeeze axis 2", "size is 16");
        refused(IllegalArgumentException.class, () -> v.squeeze(-1), "axis -1", "size is 16");
        refused(IllegalArgumentException.class, () -> v.squeeze(3), "axis 3", "out of range");
        refused(IllegalArgumentException.class, () -> v.squeeze(0, -3), "axis -3 repeats");
        refused(IllegalArgumentException.class, () -> v.expandDims(4), "axis 4", "out of range");
    }

    @Test
    void sliceStepZeroIsRefused() {
        refused(IllegalArgumentException.class, () -> Slice.of(0, 3, 0), "step", "zero");
        refused(IllegalArgumentException.class, () -> Slice.every(0), "step", "zero");
        refused(IllegalArgumentException.class, () -> Slice.parse("1::0"), "step", "zero");
        refused(IllegalArgumentException.class, () -> m.get(":, ::0"), "step", "zero");
        refused(IllegalArgumentException.class, () -> Slice.parse("1:x"), "\"1:x\"");
        refused(IllegalArgumentException.class, () -> m.get("1, y"), "\"y\"", "item 1");
    }

    @Test
    void tooManyIndicesAndTwoEllipsesAreRefused() {
        refused(IllegalArgumentException.class, () -> m.get(Index.at(0), Index.at(0), Index.at(0)),
                "too many indices", "2 dimensions", "3 were indexed");
        refused(IllegalArgumentException.class, () -> m.get("0, :, 1:"), "too many indices", "3 were indexed");
        refused(IllegalArgumentException.class, () -> m.get(Index.at(0), Index.ellipsis(), Index.ellipsis()),
                "only one ellipsis", "got 2");
        refused(IllegalArgumentException.class, () -> m.get("..., 0, ..."), "only one ellipsis");
        // newaxis and ... do not count
        assertArrayEquals(new long[] {1, 16, 1}, m.get("0, newaxis, ..., newaxis").shape());
    }

    @Test
    void fieldOfAMissingNameOrOfAScalarDtypeIsRefused() {
        DType rec = DType.record(List.of(new DType.Field("x", DType.INT32, 0), new DType.Field("y", DType.FLOAT32, 4)), 8);
        NdArray r = NdArray.of(memory, rec, 4, 8);
        refused(IllegalArgumentException.class, () -> r.field("z"), "'z'", "[x, y]");
        refused(IllegalArgumentException.class, () -> m.field("x"), "'x'", "not a record");
        refused(IllegalArgumentException.class, () -> m.view(DType.INT64), "<i8", "8 bytes", "4 bytes");
    }

    // ---------------------------------------------------------------- copies

    @Test
    void toArrayOfARecordIsRefused() {
        DType rec = DType.record(List.of(new DType.Field("x", DType.INT32, 0)), 8);
        NdArray r = NdArray.of(memory, rec, 4);
        refused(IllegalArgumentException.class, r::toArray, "toArray()", "field(name).toArray()");
        assertEquals(4, r.field("x").toIntArray().length);
    }

    @Test
    void toArrayOfMoreElementsThanAJavaArrayHoldsIsRefused() {
        NdArray huge = m.get(Index.at(0), Index.at(0)).broadcastTo(1L << 31);
        refused(IllegalStateException.class, huge::toArray, "2147483648 elements", "Java array");
        refused(IllegalStateException.class, huge::toBytes, "8589934592");
    }

    @Test
    void copyToWithDifferentShapesOrDtypesIsRefusedAndWritesNothing() {
        NdArray src = NdArray.allocate(arena, DType.INT32, 4, 8);
        src.fillInt(3);
        refusedWrite(IllegalArgumentException.class, () -> src.copyTo(m.get(":, :4")), "(4, 8)", "(4, 4)");
        refusedWrite(IllegalArgumentException.class, () -> src.copyTo(m.get(":, :8").transpose()), "(4, 8)", "(8, 4)");
        NdArray asFloat = NdArray.of(memory, DType.FLOAT32, 4, 8);
        refusedWrite(IllegalArgumentException.class, () -> src.copyTo(asFloat), "<i4", "<f4");
        NdArray asUnsigned = NdArray.of(memory, DType.UINT32, 4, 8);
        refusedWrite(IllegalArgumentException.class, () -> src.copyTo(asUnsigned), "<u4");
        // byte order may differ
        NdArray bigEndian = NdArray.of(memory, DType.parse(">i4"), 4, 8);
        src.copyTo(bigEndian);
        assertEquals(3, bigEndian.getInt(3, 7));
        assertEquals(0x03000000, m.getInt(1, 15), "converted to big-endian bytes");
    }

    @Test
    void fillBytesOfTheWrongLengthIsRefused() {
        refusedWrite(IllegalArgumentException.class, () -> m.fillBytes(new byte[3]), "4 bytes", "got 3");
    }
}
