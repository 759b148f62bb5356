package dev.panbuf;

import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * What {@link NdArray#toString()} prints for the cases that used to differ
 * from NumPy, each expected text copied from NumPy 2.4's {@code repr} of the
 * same array. {@link PrintOracleTest} covers the rest against a live NumPy.
 */
class ArrayPrinterTest {

    private static NdArray of(DType dtype, byte[] bytes, long... shape) {
        return NdArray.of(MemorySegment.ofArray(bytes), dtype, shape);
    }

    @Test
    void emptyArraysNameTheirShapeUnlessItIsZeroOneDimensional() {
        try (Arena arena = Arena.ofConfined()) {
            assertEquals("array([], shape=(4, 0, 2), dtype='>i2')",
                    NdArray.allocate(arena, DType.parse(">i2"), 4, 0, 2).toString());
            assertEquals("array([], dtype=float64)", NdArray.allocate(arena, DType.FLOAT64, 0).toString());
            assertEquals("array([], shape=(2, 0), dtype=float64)", NdArray.allocate(arena, DType.FLOAT64, 2, 0).toString());
            assertEquals("array([], dtype=bool)", NdArray.allocate(arena, DType.BOOL, 0).toString());
            assertEquals("array([], shape=(3, 0), dtype='|V2')", NdArray.allocate(arena, DType.parse("|V2"), 3, 0).toString());
        }
    }

    @Test
    void recordsPrintTheirFieldNamesAndAlignTheirColumns() {
        try (Arena arena = Arena.ofConfined()) {
            NdArray r = NdArray.allocate(arena, DType.fromFormat("T{<i:x:<d:y:}"), 2);
            r.field("x").setInt(1, 0);
            r.field("x").setInt(10, 1);
            r.field("y").setDouble(2.5, 0);
            r.field("y").setDouble(3, 1);
            assertEquals("array([( 1, 2.5), (10, 3. )], dtype=[('x', '<i4'), ('y', '<f8')])", r.toString());
            assertEquals("array([(0,), (0,)], dtype=[('x', '<i4')])",
                    NdArray.allocate(arena, DType.fromFormat("T{<i:x:}"), 2).toString());
            assertEquals("array((0,), dtype=[('x', '<i4')])", NdArray.allocate(arena, DType.fromFormat("T{<i:x:}")).toString());
        }
    }

    @Test
    void recordsWhoseFieldsAreNotPackedInOrderPrintTheDictForm() {
        DType d = DType.record(List.of(new DType.Field("a", DType.parse("<i2"), 4), new DType.Field("b", DType.parse(">f4"), 0)), 12);
        assertEquals("array([(0, 0.), (0, 0.)],\n      dtype={'names': ['a', 'b'], 'formats': ['<i2', '>f4'], 'offsets': [4, 0],"
                + " 'itemsize': 12})", of(d, new byte[24], 2).toString());
    }

    @Test
    void float16PrintsTheShortestDecimalThatReadsBackAsTheSameValue() {
        NdArray h = NdArray.wrap(new short[] {Float.floatToFloat16(1.1f), Float.floatToFloat16(2f)}).view(DType.FLOAT16);
        assertEquals("array([1.1, 2. ], dtype=float16)", h.toString());
        NdArray tenth = NdArray.wrap(new short[] {Float.floatToFloat16(0.1f)}).view(DType.FLOAT16);
        assertEquals("array([0.1], dtype=float16)", tenth.toString());
        NdArray wide = NdArray.wrap(new short[] {Float.floatToFloat16(65504f), Float.floatToFloat16(1f)}).view(DType.FLOAT16);
        assertEquals("array([6.55e+04, 1.00e+00], dtype=float16)", wide.toString());
        NdArray thousand = NdArray.wrap(new short[] {Float.floatToFloat16(1000f), Float.floatToFloat16(1f)}).view(DType.FLOAT16);
        assertEquals("array([1.e+03, 1.e+00], dtype=float16)", thousand.toString());
    }

    @Test
    void floatsPadAroundThePointAndSpecialValuesKeepTheColumn() {
        assertEquals("array([ nan, -inf,  1.5])", NdArray.wrap(new double[] {Double.NaN, Double.NEGATIVE_INFINITY, 1.5}).toString());
        assertEquals("array([nan, inf], dtype=float32)", NdArray.wrap(new float[] {Float.NaN, Float.POSITIVE_INFINITY}).toString());
        assertEquals("array([-0. ,  1.5])", NdArray.wrap(new double[] {-0.0, 1.5}).toString());
        assertEquals("array([1.e-05, 1.e+00])", NdArray.wrap(new double[] {1e-5, 1}).toString());
    }

    @Test
    void summarizedArraysShowTheirShape() {
        long[] values = new long[2000];
        for (int i = 0; i < values.length; i++) {
            values[i] = i;
        }
        assertEquals("array([   0,    1,    2, ..., 1997, 1998, 1999], shape=(2000,))", NdArray.wrap(values).toString());
    }

    @Test
    void unstructuredBytesPrintEveryByteInHex() {
        assertEquals("array([b'\\x61\\x62\\x00', b'\\x63\\x7F\\xFF', b'\\x78\\x79\\x7A'], dtype='|V3')",
                of(DType.parse("|V3"), new byte[] {'a', 'b', 0, 'c', 0x7f, (byte) 0xff, 'x', 'y', 'z'}, 3).toString());
    }

    @Test
    void zeroDimensionalArraysAndBooleans() {
        try (Arena arena = Arena.ofConfined()) {
            NdArray x = NdArray.allocate(arena, DType.FLOAT64);
            x.setDouble(1.5);
            assertEquals("array(1.5)", x.toString());
            NdArray i = NdArray.allocate(arena, DType.INT32.withByteOrder(ByteOrder.BIG_ENDIAN));
            i.segment().set(ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN), 0, 3);
            assertEquals("array(3, dtype='>i4')", i.toString());
            NdArray t = NdArray.allocate(arena, DType.BOOL);
            t.setBoolean(true);
            assertEquals("array(True)", t.toString());
            NdArray b = NdArray.allocate(arena, DType.BOOL, 2);
            b.setBoolean(true, 0);
            assertEquals("array([ True, False])", b.toString());
        }
    }

    @Test
    void nestedRowsBreakWithABlankLinePerAxis() {
        byte[] bytes = new byte[24];
        for (int i = 0; i < 24; i++) {
            bytes[i] = (byte) i;
        }
        assertEquals("""
                array([[[ 0,  1,  2,  3],
                        [ 4,  5,  6,  7],
                        [ 8,  9, 10, 11]],

                       [[12, 13, 14, 15],
                        [16, 17, 18, 19],
                        [20, 21, 22, 23]]], dtype=uint8)""", of(DType.UINT8, bytes, 2, 3, 4).toString());
    }
}
