package dev.panbuf.interop;

import dev.panbuf.Peers;

import dev.panbuf.BlasLayout;
import dev.panbuf.BlasLayout.Order;
import dev.panbuf.BlasLayout.Transpose;
import dev.panbuf.BufferArena;
import dev.panbuf.DType;
import dev.panbuf.NdArray;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * OpenBLAS's {@code cblas_sgemm}/{@code cblas_dgemm} on panbuf matrices, with
 * no copy: {@link BlasLayout} maps each view's strides to (order, transpose,
 * leading dimension), and the results are checked against a plain Java triple
 * loop. The mapping's refusals are checked without any BLAS installed.
 */
@Tag("native")
class BlasTest {

    @BeforeAll
    static void needsOpenBlas() {
        // ./run-tests installs libopenblas-dev; panbuf itself never needs it
        Peers.require(OpenBlas.LIBRARY != null, () -> "no OpenBLAS (libopenblas.so.0) installed");
    }

    /** The ways a (rows, cols) matrix can sit in memory that BLAS can still read without a copy. */
    static final List<String> LAYOUTS = List.of("C", "F", "transposed", "column slice", "every other row",
            "transposed column slice");

    static NdArray matrix(BufferArena arena, DType dtype, String layout, int rows, int cols, Random rnd) {
        NdArray m = switch (layout) {
            case "C" -> NdArray.allocate(arena, dtype, rows, cols);
            case "F" -> NdArray.allocate(arena, dtype, dev.panbuf.Order.F, rows, cols);
            case "transposed" -> NdArray.allocate(arena, dtype, cols, rows).transpose();
            case "column slice" -> NdArray.allocate(arena, dtype, rows, cols + 5).get(":, 2:" + (2 + cols));
            case "every other row" -> NdArray.allocate(arena, dtype, 2L * rows, cols).get("::2");
            case "transposed column slice" -> NdArray.allocate(arena, dtype, cols, rows + 3).get(":, 1:" + (1 + rows)).transpose();
            default -> throw new IllegalArgumentException(layout);
        };
        for (long i = 0; i < rows; i++) {
            for (long j = 0; j < cols; j++) {
                double v = rnd.nextInt(2001) / 100.0 - 10;
                if (dtype.equals(DType.FLOAT32)) {
                    m.setFloat((float) v, i, j);
                } else {
                    m.setDouble(v, i, j);
                }
            }
        }
        return m;
    }

    static double get(NdArray m, long i, long j) {
        return m.dtype().equals(DType.FLOAT32) ? m.getFloat(i, j) : m.getDouble(i, j);
    }

    /** alpha * a x b + beta * c0, by the book, in double; and the magnitude of each sum, for the tolerance. */
    record Expected(double[][] value, double[][] magnitude) {}

    static Expected reference(double alpha, NdArray a, NdArray b, double beta, double[][] c0) {
        int m = (int) a.shape(0);
        int k = (int) a.shape(1);
        int n = (int) b.shape(1);
        double[][] out = new double[m][n];
        double[][] mag = new double[m][n];
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double sum = 0;
                double abs = 0;
                for (int p = 0; p < k; p++) {
                    double t = get(a, i, p) * get(b, p, j);
                    sum += t;
                    abs += Math.abs(t);
                }
                out[i][j] = alpha * sum + beta * c0[i][j];
                mag[i][j] = Math.abs(alpha) * abs + Math.abs(beta * c0[i][j]);
            }
        }
        return new Expected(out, mag);
    }

    static double[][] snapshot(NdArray c) {
        double[][] out = new double[(int) c.shape(0)][(int) c.shape(1)];
        for (int i = 0; i < out.length; i++) {
            for (int j = 0; j < out[i].length; j++) {
                out[i][j] = get(c, i, j);
            }
        }
        return out;
    }

    /** Within a few units of rounding of the sum's magnitude (BLAS adds in its own order, with FMA). */
    static void assertClose(Expected expected, NdArray c, double epsilon, String what) {
        for (int i = 0; i < expected.value().length; i++) {
            for (int j = 0; j < expected.value()[i].length; j++) {
                double tol = 16 * epsilon * (expected.magnitude()[i][j] + 1);
                assertEquals(expected.value()[i][j], get(c, i, j), tol, what + " at [" + i + ", " + j + "]");
            }
        }
    }

    @Test
    void sgemmOnContiguousMatricesMatchesATripleLoop() throws Throwable {
        Random rnd = new Random(1);
        try (BufferArena arena = BufferArena.ofConfined()) {
            NdArray a = matrix(arena, DType.FLOAT32, "C", 7, 5, rnd);
            NdArray b = matrix(arena, DType.FLOAT32, "C", 5, 3, rnd);
            NdArray c = NdArray.allocate(arena, DType.FLOAT32, 7, 3);
            BlasLayout.Gemm g = BlasLayout.gemm(a, b, c);
            assertEquals(Order.ROW_MAJOR, g.order());
            assertEquals(Transpose.NO_TRANS, g.a().transpose());
            assertEquals(5, g.a().leadingDimension());
            assertEquals(3, g.b().leadingDimension());
            assertEquals(3, g.c().leadingDimension());
            assertEquals(a.address(), g.a().data().address(), "BLAS gets the view's own memory: no copy");
            assertEquals(c.address(), g.c().data().address());
            OpenBlas.sgemm(1f, a, b, 0f, c);
            assertClose(reference(1, a, b, 0, new double[7][3]), c, 0x1p-23, "sgemm");
        }
    }

    @Test
    void aTransposedViewBecomesCblasTrans() throws Throwable {
        Random rnd = new Random(2);
        try (BufferArena arena = BufferArena.ofConfined()) {
            NdArray stored = matrix(arena, DType.FLOAT64, "C", 4, 6, rnd);   // (k, m)
            NdArray a = stored.transpose();                                    // (m, k) = (6, 4), strides (8, 48)
            NdArray b = matrix(arena, DType.FLOAT64, "C", 4, 2, rnd);
            NdArray c = NdArray.allocate(arena, DType.FLOAT64, 6, 2);
            BlasLayout.Gemm g = BlasLayout.gemm(a, b, c);
            assertEquals(Transpose.TRANS, g.a().transpose());
            assertEquals(6, g.a().leadingDimension(), "lda is the stored matrix's row length");
            OpenBlas.dgemm(1, a, b, 0, c);
            assertClose(reference(1, a, b, 0, new double[6][2]), c, 0x1p-52, "dgemm with a transposed a");
        }
    }

    @Test
    void aColumnSliceKeepsItsParentsRowLengthAsLeadingDimension() throws Throwable {
        Random rnd = new Random(3);
        try (BufferArena arena = BufferArena.ofConfined()) {
            NdArray wide = matrix(arena, DType.FLOAT32, "C", 5, 9, rnd);
            NdArray a = wide.get(":, 1:5");                  // (5, 4), rows still 9 floats apart
            NdArray b = matrix(arena, DType.FLOAT32, "C", 4, 3, rnd);
            NdArray out = NdArray.allocate(arena, DType.FLOAT32, 5, 8);
            out.fillFloat(-7f);
            NdArray c = out.get(":, 2:5");                   // writes only these columns
            BlasLayout.Gemm g = BlasLayout.gemm(a, b, c);
            assertEquals(Transpose.NO_TRANS, g.a().transpose());
            assertEquals(9, g.a().leadingDimension());
            assertEquals(8, g.c().leadingDimension());
            assertEquals(wide.address() + 4, g.a().data().address());
            OpenBlas.sgemm(1f, a, b, 0f, c);
            assertClose(reference(1, a, b, 0, new double[5][3]), c, 0x1p-23, "sgemm on slices");
            for (long i = 0; i < 5; i++) {
                for (long j : new long[] {0, 1, 5, 6, 7}) {
                    assertEquals(-7f, out.getFloat(i, j), "column " + j + " is not part of c and stays untouched");
                }
            }
        }
    }

    @Test
    void anFOrderedOutputSwitchesToColumnMajor() throws Throwable {
        Random rnd = new Random(4);
        try (BufferArena arena = BufferArena.ofConfined()) {
            NdArray a = matrix(arena, DType.FLOAT64, "C", 3, 4, rnd);
            NdArray b = matrix(arena, DType.FLOAT64, "F", 4, 5, rnd);
            NdArray c = NdArray.allocate(arena, DType.FLOAT64, dev.panbuf.Order.F, 3, 5);
            BlasLayout.Gemm g = BlasLayout.gemm(a, b, c);
            assertEquals(Order.COL_MAJOR, g.order());
            assertEquals(Transpose.TRANS, g.a().transpose(), "row-major a read column-major is a transpose");
            assertEquals(Transpose.NO_TRANS, g.b().transpose());
            assertEquals(3, g.c().leadingDimension());
            OpenBlas.dgemm(1, a, b, 0, c);
            assertClose(reference(1, a, b, 0, new double[3][5]), c, 0x1p-52, "column-major dgemm");
        }
    }

    /** Seeded random shapes, layouts, dtypes, alpha and beta: every combination BLAS can read, against the triple loop. */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"float32", "float64"})
    void randomLayoutsMatchATripleLoop(String type) throws Throwable {
        DType dtype = type.equals("float32") ? DType.FLOAT32 : DType.FLOAT64;
        Random rnd = new Random(type.hashCode());
        try (BufferArena arena = BufferArena.ofShared()) {
            for (int round = 0; round < 300; round++) {
                int m = 1 + rnd.nextInt(9);
                int n = 1 + rnd.nextInt(9);
                int k = 1 + rnd.nextInt(9);
                String la = LAYOUTS.get(rnd.nextInt(LAYOUTS.size()));
                String lb = LAYOUTS.get(rnd.nextInt(LAYOUTS.size()));
                String lc = List.of("C", "F", "column slice", "every other row").get(rnd.nextInt(4));
                NdArray a = matrix(arena, dtype, la, m, k, rnd);
                NdArray b = matrix(arena, dtype, lb, k, n, rnd);
                NdArray c = matrix(arena, dtype, lc, m, n, rnd);
                double alpha = rnd.nextInt(5) - 2;
                double beta = rnd.nextInt(3) - 1;
                Expected expected = reference(alpha, a, b, beta, snapshot(c));
                if (dtype.equals(DType.FLOAT32)) {
                    OpenBlas.sgemm((float) alpha, a, b, (float) beta, c);
                } else {
                    OpenBlas.dgemm(alpha, a, b, beta, c);
                }
                assertClose(expected, c, dtype.equals(DType.FLOAT32) ? 0x1p-23 : 0x1p-52,
                        "round " + round + ": a " + la + " (" + m + "x" + k + "), b " + lb + ", c " + lc);
            }
        }
    }
}
