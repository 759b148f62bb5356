package dev.panbuf.interop;

import dev.panbuf.BlasLayout;
import dev.panbuf.BlasLayout.Order;
import dev.panbuf.BlasLayout.Transpose;
import dev.panbuf.DType;
import dev.panbuf.NdArray;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link BlasLayout} without any BLAS: which (order, transpose, leading
 * dimension) each view maps to, and the views it refuses, with their messages.
 */
class BlasLayoutTest {

    private static final Arena AUTO = Arena.ofAuto();

    private static NdArray f32(long... shape) {
        return NdArray.allocate(AUTO, DType.FLOAT32, shape);
    }

    @Test
    void mapsTheLayoutsBlasReads() {
        NdArray m = f32(6, 10);
        record Case(NdArray view, Order order, Transpose t, int ld) {}
        for (Case c : new Case[] {
                new Case(m, Order.ROW_MAJOR, Transpose.NO_TRANS, 10),
                new Case(m.transpose(), Order.ROW_MAJOR, Transpose.TRANS, 10),
                new Case(m.get(":, 1:5"), Order.ROW_MAJOR, Transpose.NO_TRANS, 10),
                new Case(m.get("::3"), Order.ROW_MAJOR, Transpose.NO_TRANS, 30),
                new Case(m.get(":, 1:5").transpose(), Order.ROW_MAJOR, Transpose.TRANS, 10),
                new Case(m, Order.COL_MAJOR, Transpose.TRANS, 10),
                new Case(m.transpose(), Order.COL_MAJOR, Transpose.NO_TRANS, 10),
                new Case(NdArray.allocate(AUTO, DType.FLOAT64, dev.panbuf.Order.F, 4, 3), Order.COL_MAJOR, Transpose.NO_TRANS, 4),
                new Case(m.get("2:3, :"), Order.ROW_MAJOR, Transpose.NO_TRANS, 10),   // one row: its stride is never used
                new Case(m.get(":, 3:4"), Order.ROW_MAJOR, Transpose.NO_TRANS, 10),   // one column
                new Case(m.get("::2, 3:4"), Order.ROW_MAJOR, Transpose.NO_TRANS, 20),
                new Case(m.get("1:2, 1:2"), Order.ROW_MAJOR, Transpose.NO_TRANS, 1),
        }) {
            BlasLayout.Operand op = BlasLayout.operand(c.view(), c.order());
            assertEquals(c.t(), op.transpose(), c.view().describe() + " in " + c.order());
            assertEquals(c.ld(), op.leadingDimension(), c.view().describe() + " in " + c.order());
            assertEquals(c.view().address(), op.data().address(), "element [0, 0] is the pointer");
        }
        assertEquals(101, Order.ROW_MAJOR.cblas());
        assertEquals(102, Order.COL_MAJOR.cblas());
        assertEquals(111, Transpose.NO_TRANS.cblas());
        assertEquals(112, Transpose.TRANS.cblas());
    }

    @Test
    void refusesWhatBlasCannotReadWithoutACopy() {
        NdArray m = f32(6, 10);
        assertRefused(m.get("::2, ::2"), "neither axis steps by one element (4 bytes)");
        assertRefused(m.get("::-1"), "BLAS needs positive strides");
        assertRefused(m.get(":, ::-1"), "BLAS needs positive strides");
        assertRefused(f32(1, 10).broadcastTo(6, 10), "BLAS needs positive strides");
        assertRefused(NdArray.asStrided(f32(20), 0, new long[] {6, 4}, new long[] {4, 4}), "rows (or columns) overlap");
        NdArray bytes = NdArray.allocate(AUTO, DType.UINT8, 64);
        assertRefused(NdArray.asStrided(bytes.segment(), DType.FLOAT32, 0, new long[] {3, 3}, new long[] {18, 4}),
                "not a whole number of 4-byte elements");
        IllegalArgumentException ints = assertThrows(IllegalArgumentException.class,
                () -> BlasLayout.operand(NdArray.allocate(AUTO, DType.INT32, 2, 2), Order.ROW_MAJOR));
        assertTrue(ints.getMessage().contains("native-order float32 (sgemm) or float64 (dgemm), but matrix has dtype"),
                ints.getMessage());
        IllegalArgumentException vector = assertThrows(IllegalArgumentException.class,
                () -> BlasLayout.operand(f32(5), Order.ROW_MAJOR));
        assertTrue(vector.getMessage().contains("BLAS takes 2-d matrices, but matrix has 1 dimension (shape (5,))"),
                vector.getMessage());
        NdArray bigEndian = NdArray.allocate(AUTO, DType.parse(">f4"), 2, 2);
        assertThrows(IllegalArgumentException.class, () -> BlasLayout.operand(bigEndian, Order.ROW_MAJOR));
    }

    private static void assertRefused(NdArray view, String why) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> BlasLayout.operand(view, Order.ROW_MAJOR), view.describe());
        assertTrue(e.getMessage().startsWith("BLAS cannot read matrix (<f4, shape "), e.getMessage());
        assertTrue(e.getMessage().contains(why), e.getMessage());
        assertTrue(e.getMessage().endsWith("; pass copy() (C-contiguous) instead"), e.getMessage());
        BlasLayout.operand(view.copy(), Order.ROW_MAJOR);   // the advice works
    }

    @Test
    void gemmChecksShapesDtypesOutputAndAliasing() {
        NdArray a = f32(3, 4);
        NdArray b = f32(4, 5);
        IllegalArgumentException shapes = assertThrows(IllegalArgumentException.class, () -> BlasLayout.gemm(a, b, f32(3, 4)));
        assertEquals("gemm shapes do not chain: a (3, 4) x b (4, 5) -> c (3, 4); need (m, k) x (k, n) -> (m, n)",
                shapes.getMessage());
        IllegalArgumentException types = assertThrows(IllegalArgumentException.class,
                () -> BlasLayout.gemm(a, NdArray.allocate(AUTO, DType.FLOAT64, 4, 5), f32(3, 5)));
        assertTrue(types.getMessage().startsWith("gemm needs one dtype for a, b and c"), types.getMessage());
        IllegalArgumentException readOnly = assertThrows(IllegalArgumentException.class,
                () -> BlasLayout.gemm(a, b, f32(3, 5).asReadOnly()));
        assertTrue(readOnly.getMessage().contains("it is read-only"), readOnly.getMessage());
        NdArray square = f32(4, 4);
        IllegalArgumentException alias = assertThrows(IllegalArgumentException.class,
                () -> BlasLayout.gemm(square, square.get(":, :"), square));
        assertTrue(alias.getMessage().startsWith("gemm's output c overlaps its input a"), alias.getMessage());
        IllegalArgumentException tOut = assertThrows(IllegalArgumentException.class,
                () -> BlasLayout.gemm(a, b, f32(6, 10).get("::2, ::2")));
        assertTrue(tOut.getMessage().startsWith("BLAS cannot read output"), tOut.getMessage());
        BlasLayout.Gemm g = BlasLayout.gemm(a, b, f32(5, 3).transpose());   // a transposed output is just column-major
        assertEquals(Order.COL_MAJOR, g.order());
        assertEquals(3, g.m());
        assertEquals(5, g.n());
        assertEquals(4, g.k());
    }
}
