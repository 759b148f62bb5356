package dev.panbuf;

import java.lang.foreign.MemorySegment;
import java.util.Objects;

/**
 * How to pass 2-d panbuf views to a CBLAS routine ({@code cblas_sgemm},
 * {@code cblas_dgemm}, ...) without copying: the storage order, the transpose
 * flag and the leading dimension that describe each view's strides to BLAS.
 *
 * <p>BLAS takes a matrix as a pointer, an order ({@code CblasRowMajor} or
 * {@code CblasColMajor}), a transpose flag and a leading dimension: the distance
 * in elements between consecutive rows (row-major) or columns (column-major).
 * A panbuf view maps onto that when one of its two axes steps by exactly one
 * element (or has length 1) and the other by a whole number of elements at
 * least as long as a row (or column):
 * <ul>
 * <li>a C-contiguous matrix, or a column slice of one ({@code m.get(":, 1:5")}:
 *     rows still one full row apart) is {@code NoTrans} in row-major order,
 *     with the leading dimension the row stride in elements;</li>
 * <li>its transpose ({@code m.transpose()}) is {@code Trans} with the same
 *     leading dimension: BLAS reads the same memory the other way round;</li>
 * <li>F-ordered memory is the mirror image (column-major {@code NoTrans}).</li>
 * </ul>
 * Views that BLAS cannot describe are refused with a message saying why and
 * what to do: both strides larger than one element ({@code m.get("::2, ::2")}),
 * negative strides ({@code m.get("::-1")}), zero strides (broadcasts), strides
 * that are not whole elements, rows that overlap, dtypes other than native-order
 * float32/float64, and (for the output) read-only views. {@code copy()} gives a
 * C-contiguous copy that always maps.
 *
 * <p>This class only computes arguments; it does not link to any BLAS, so panbuf
 * works without one installed. Pass {@link Operand#data()} as the pointer: a
 * segment of the view's own memory, so the downcall keeps it alive (closing its
 * arena during the call fails) and no byte is copied.
 *
 * {@snippet :
 * // C = A x B with cblas_sgemm (OpenBLAS), on views of panbuf memory
 * BlasLayout.Gemm g = BlasLayout.gemm(a, b, c);   // a: (m, k), b: (k, n), c: (m, n), float32
 * sgemm.invokeExact(g.order().cblas(), g.a().transpose().cblas(), g.b().transpose().cblas(),
 *         g.m(), g.n(), g.k(), 1.0f, g.a().data(), g.a().leadingDimension(),
 *         g.b().data(), g.b().leadingDimension(), 0.0f, g.c().data(), g.c().leadingDimension());
 * }
 */
public final class BlasLayout {

    private BlasLayout() {}

    /** CBLAS's {@code CBLAS_ORDER} (called {@code CBLAS_LAYOUT} in newer headers). */
    public enum Order {
        /** {@code CblasRowMajor} (101): consecutive elements of a row are adjacent. */
        ROW_MAJOR(101),
        /** {@code CblasColMajor} (102): consecutive elements of a column are adjacent. */
        COL_MAJOR(102);

        private final int cblas;

        Order(int cblas) {
            this.cblas = cblas;
        }

        /** {@return the value of the CBLAS enum constant} */
        public int cblas() {
            return cblas;
        }
    }

    /** CBLAS's {@code CBLAS_TRANSPOSE} (without the conjugate variant, meaningless for real matrices). */
    public enum Transpose {
        /** {@code CblasNoTrans} (111). */
        NO_TRANS(111),
        /** {@code CblasTrans} (112). */
        TRANS(112);

        private final int cblas;

        Transpose(int cblas) {
            this.cblas = cblas;
        }

        /** {@return the value of the CBLAS enum constant} */
        public int cblas() {
            return cblas;
        }
    }

    /**
     * One matrix argument: the view, how BLAS must read its memory, and the
     * leading dimension in elements.
     *
     * @param view the 2-d view, shape {@code (rows, cols)} as the routine sees the matrix
     * @param transpose whether BLAS reads the stored matrix transposed to get {@code view}
     * @param leadingDimension {@code lda}, {@code ldb} or {@code ldc}: elements between
     *        consecutive rows (row-major) or columns (column-major) of the stored matrix
     */
    public record Operand(NdArray view, Transpose transpose, int leadingDimension) {
        /** Refuses a null view or transpose. */
        public Operand {
            Objects.requireNonNull(view, "view");
            Objects.requireNonNull(transpose, "transpose");
        }

        /**
         * {@return the pointer to pass: the view's memory from element {@code [0, 0]} to
         * the last byte it reaches} Native views need a plain downcall; heap
         * views only work with a critical one ({@link CriticalCall}). A read-only
         * view gives a read-only segment: BLAS only reads its inputs, and
         * {@link #gemm} refuses a read-only output.
         */
        public MemorySegment data() {
            return CriticalCall.span(view);
        }
    }

    /**
     * The arguments of {@code ?gemm} for {@code c = alpha * a x b + beta * c}.
     *
     * @param order the storage order every operand is described in (chosen so that {@code c} needs no transpose)
     * @param a the left factor, shape {@code (m, k)}
     * @param b the right factor, shape {@code (k, n)}
     * @param c the output, shape {@code (m, n)}; always {@link Transpose#NO_TRANS}
     * @param m rows of {@code a} and {@code c}
     * @param n columns of {@code b} and {@code c}
     * @param k columns of {@code a}, rows of {@code b}
     */
    public record Gemm(Order order, Operand a, Operand b, Operand c, int m, int n, int k) {}

    /**
     * {@return how {@code matrix} reads in {@code order}}
     *
     * @param matrix a 2-d view
     * @param order the order BLAS is to read it in
     * @throws IllegalArgumentException naming the shape and strides when BLAS cannot read the view
     *         in that order (see the class comment), or its dtype is not native float32/float64
     */
    public static Operand operand(NdArray matrix, Order order) {
        Objects.requireNonNull(matrix, "matrix");
        Objects.requireNonNull(order, "order");
        checkMatrix(matrix, "matrix");
        Operand op = tryOperand(matrix, order, Transpose.NO_TRANS);
        if (op == null) {
            op = tryOperand(matrix, order, Transpose.TRANS);
        }
        if (op == null) {
            throw refusal(matrix, "matrix");
        }
        return op;
    }

    /**
     * {@return the order in which {@code output} is stored untransposed: BLAS never
     * transposes the matrix it writes}
     *
     * @param output the 2-d view BLAS writes
     * @throws IllegalArgumentException when neither order describes it, or it is read-only
     */
    public static Order orderOf(NdArray output) {
        Objects.requireNonNull(output, "output");
        checkMatrix(output, "output");
        if (output.isReadOnly()) {
            throw new IllegalArgumentException("BLAS cannot write the output matrix " + describe(output)
                    + ": it is read-only; pass a writable view");
        }
        if (tryOperand(output, Order.ROW_MAJOR, Transpose.NO_TRANS) != null) {
            return Order.ROW_MAJOR;
        }
        if (tryOperand(output, Order.COL_MAJOR, Transpose.NO_TRANS) != null) {
            return Order.COL_MAJOR;
        }
        throw refusal(output, "output");
    }

    /**
     * {@return the {@code ?gemm} arguments for {@code c = alpha * a x b + beta * c}: the
     * order is chosen from {@code c}, then each of {@code a} and {@code b} is
     * described in it, transposed when its strides say so}
     *
     * @param a the left factor, shape {@code (m, k)}
     * @param b the right factor, shape {@code (k, n)}
     * @param c the writable result, shape {@code (m, n)}
     * @throws IllegalArgumentException when the shapes do not chain ({@code (m, k) x (k, n) -> (m, n)}),
     *         the dtypes differ or are not native float32/float64, a dimension exceeds BLAS's
     *         32-bit integers, {@code c} overlaps {@code a} or {@code b}, or a view cannot be
     *         described to BLAS (the message names which and why)
     */
    public static Gemm gemm(NdArray a, NdArray b, NdArray c) {
        Objects.requireNonNull(a, "a");
        Objects.requireNonNull(b, "b");
        Objects.requireNonNull(c, "c");
        checkMatrix(a, "a");
        checkMatrix(b, "b");
        checkMatrix(c, "c");
        if (!a.dtype().equals(b.dtype()) || !a.dtype().equals(c.dtype())) {
            throw new IllegalArgumentException("gemm needs one dtype for a, b and c, got " + a.dtype() + ", " + b.dtype()
                    + " and " + c.dtype());
        }
        long m = a.shape(0);
        long k = a.shape(1);
        long n = b.shape(1);
        if (b.shape(0) != k || c.shape(0) != m || c.shape(1) != n) {
            throw new IllegalArgumentException("gemm shapes do not chain: a " + Errors.shape(a.shape()) + " x b "
                    + Errors.shape(b.shape()) + " -> c " + Errors.shape(c.shape()) + "; need (m, k) x (k, n) -> (m, n)");
        }
        checkDisjoint(c, a, "a");
        checkDisjoint(c, b, "b");
        Order order = orderOf(c);
        Operand oa = operand(a, order);
        Operand ob = operand(b, order);
        Operand oc = tryOperand(c, order, Transpose.NO_TRANS);
        return new Gemm(order, oa, ob, oc, (int) m, (int) n, (int) k);
    }

    // ------------------------------------------------------------------ internals

    private static void checkMatrix(NdArray v, String name) {
        if (v.ndim() != 2) {
            throw new IllegalArgumentException("BLAS takes 2-d matrices, but " + name + " has " + v.ndim() + " dimension"
                    + (v.ndim() == 1 ? "" : "s") + " (shape " + Errors.shape(v.shape()) + "); reshape or expandDims it");
        }
        DType t = v.dtype();
        if (!t.equals(DType.FLOAT32) && !t.equals(DType.FLOAT64)) {
            throw new IllegalArgumentException("BLAS's ?gemm takes native-order float32 (sgemm) or float64 (dgemm), but "
                    + name + " has dtype " + t + "; copy it into one of those (copyTo a new array)");
        }
        for (int axis = 0; axis < 2; axis++) {
            if (v.shape(axis) > Integer.MAX_VALUE) {
                throw new IllegalArgumentException(name + " has " + v.shape(axis) + " elements on axis " + axis
                        + ", more than BLAS's 32-bit integers count (" + Integer.MAX_VALUE + ")");
            }
        }
    }

    /** The operand when {@code v} reads as stored matrix in {@code order} with {@code t}, else null. */
    private static Operand tryOperand(NdArray v, Order order, Transpose t) {
        long item = v.dtype().byteSize();
        long rows = v.shape(0);
        long cols = v.shape(1);
        // Row-major NoTrans and column-major Trans both need unit steps along axis 1:
        // the stored matrix's contiguous direction is the view's axis 1.
        boolean unitOnAxis1 = (order == Order.ROW_MAJOR) == (t == Transpose.NO_TRANS);
        int unitAxis = unitOnAxis1 ? 1 : 0;
        int ldAxis = 1 - unitAxis;
        long unitLen = v.shape(unitAxis);
        long ldLen = v.shape(ldAxis);
        if (unitLen > 1 && v.byteStride(unitAxis) != item) {
            return null;
        }
        long minLd = Math.max(1, unitLen);
        long ld;
        if (ldLen <= 1) {
            ld = minLd;   // the stride of a length-1 axis is never used
        } else {
            long stride = v.byteStride(ldAxis);
            if (stride <= 0 || stride % item != 0 || stride / item < minLd) {
                return null;
            }
            ld = stride / item;
        }
        if (ld > Integer.MAX_VALUE || rows > Integer.MAX_VALUE || cols > Integer.MAX_VALUE) {
            return null;
        }
        return new Operand(v, t, (int) ld);
    }

    private static IllegalArgumentException refusal(NdArray v, String name) {
        long item = v.dtype().byteSize();
        long[] st = v.byteStrides();
        String why;
        if ((v.shape(0) > 1 && st[0] <= 0) || (v.shape(1) > 1 && st[1] <= 0)) {
            why = "BLAS needs positive strides (negative ones reverse an axis, zero ones broadcast)";
        } else if (st[0] % item != 0 || st[1] % item != 0) {
            why = "a stride is not a whole number of " + item + "-byte elements";
        } else if ((v.shape(1) > 1 && st[1] != item) && (v.shape(0) > 1 && st[0] != item)) {
            why = "neither axis steps by one element (" + item + " bytes), so no leading dimension describes it";
        } else {
            why = "its rows (or columns) overlap: the leading dimension would be shorter than a row (or column)";
        }
        return new IllegalArgumentException("BLAS cannot read " + name + " " + describe(v) + " without a copy: " + why
                + "; pass copy() (C-contiguous) instead");
    }

    private static String describe(NdArray v) {
        return "(" + v.dtype() + ", shape " + Errors.shape(v.shape()) + ", byte strides " + Errors.shape(v.byteStrides())
                + ")";
    }

    /** BLAS's result is undefined when the output aliases an input: refuse overlapping byte ranges. */
    private static void checkDisjoint(NdArray c, NdArray in, String name) {
        if (c.elementCount() == 0 || in.elementCount() == 0) {
            return;
        }
        // Different memory cannot overlap. heapBase() is empty for read-only segments, so ask FFM
        // whether the two segments share memory at all instead of comparing heap arrays.
        if (c.segment().asOverlappingSlice(in.segment()).isEmpty()) {
            return;
        }
        long[] rc = span(c);
        long[] ri = span(in);
        if (rc[0] < ri[1] && ri[0] < rc[1]) {
            throw new IllegalArgumentException("gemm's output c overlaps its input " + name + " (bytes [" + rc[0] + ", "
                    + rc[1] + ") and [" + ri[0] + ", " + ri[1] + ")); BLAS's result would be undefined: write into a"
                    + " separate array");
        }
    }

    /** The byte range a view reaches: addresses (native) or offsets in the heap array (a heap segment's address). */
    private static long[] span(NdArray v) {
        long base = v.segment().address();
        long[] r = Geometry.reach(v.byteOffset(), v.shape(), v.byteStrides(), v.dtype().byteSize());
        return new long[] {base + r[0], base + r[1]};
    }
}
