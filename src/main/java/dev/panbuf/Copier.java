package dev.panbuf;

import dev.panbuf.shim.NativeLibrary;
import dev.panbuf.shim.Shim;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.concurrent.atomic.LongAdder;

/**
 * Moves element data between views: the engine behind {@code copy},
 * {@code copyTo}, {@code toArray}, {@code toBytes}, the {@code fill} methods and
 * content equality. Every check happens before the first byte is written.
 *
 * <p>Contiguous copies are one bulk {@link MemorySegment#copy}. Any other
 * pair of layouts becomes one loop nest: axes of one element dropped, axes
 * sorted by destination stride (walked backwards where that makes the
 * destination's stride positive), and neighbours that step through both
 * memories as one merged. Then contiguous inner runs are bulk copies, a
 * source whose fastest axis is not the destination's (a transpose) is walked
 * in tiles, and everything else runs in a typed loop per element size with
 * byte swapping fused in.
 *
 * <p>Large copies between two native memories ({@value #NATIVE_MIN_BYTES}
 * bytes of elements or more) run the same normalised nest in C, through the
 * shim's {@code pb_copy_strided}: FFM keeps a bounds check on every access of
 * a loop whose strides are only known at run time, C's loops have none. The
 * segments go to C as segments (the linker keeps their arenas open and checks
 * the thread during the call), and the reach of both regions is checked
 * against their segments here and again in C before anything is written.
 * Only memory panbuf allocated (anonymous, see {@link Allocation#isAnonymous})
 * goes to C: a file mapping truncated by another process faults on access,
 * which Java code survives as an {@code InternalError} and C code does not.
 * Heap memory, mapped files, imports and other memory of producers, smaller
 * copies, a JVM that does not grant panbuf native access, a shim that cannot
 * be loaded, and {@code -Dpanbuf.copy.native=false} keep the Java loops,
 * which give the same bytes.
 */
final class Copier {

    private Copier() {}

    /** Largest Java array length the VM reliably allocates. */
    static final int MAX_JAVA_ARRAY = Integer.MAX_VALUE - 8;

    /**
     * Square tile edge for 2-d copies whose source and destination run in
     * different directions. 128 x 128 float32 tiles (64 KiB per side) stay in
     * L2 and amortize the per-row call; a 4096 x 4096 float32 transpose ran
     * 10-25% faster than with 32 (TransposeCopyBenchmark).
     */
    private static final int TILE = 128;

    /**
     * Transposed planes up to this size are walked whole, row by row along the
     * destination: 256 x 256 float32 planes (256 KiB) copied 20-30% faster
     * that way than in tiles, while a 4096 x 4096 plane was 20% faster in 4 x 4 blocks
     * (StridedCopyBenchmark, TransposeCopyBenchmark).
     */
    private static final long UNTILED_BYTES = 512 << 10;

    static int javaArrayLength(long count) {
        if (count > MAX_JAVA_ARRAY) {
            throw new IllegalStateException(count + " elements do not fit in a Java array (at most " + MAX_JAVA_ARRAY
                    + "); copy into off-heap memory with copy(Order, arena) or copyTo instead");
        }
        return (int) count;
    }

    /**
     * Touches the view's memory once, so that a closed arena or a wrong thread
     * fails here, before anything is written anywhere.
     */
    static void checkReadable(NdArray a) {
        MemorySegment s = a.segment;
        if (!s.scope().isAlive()) {
            throw Errors.stale(a.owner, new IllegalStateException("Already closed: the memory of this " + a.dtype + " array "
                    + Errors.shape(a.shapeRef()) + " belongs to a closed arena"));
        }
        if (s.byteSize() > 0) {
            s.get(ValueLayout.JAVA_BYTE, 0);   // thread confinement check
        }
    }

    /** Same kind, size and fields; byte order may differ. */
    static boolean sameValueType(DType a, DType b) {
        return a == b || a.withNativeOrder().equals(b.withNativeOrder());
    }

    /** Copies {@code src} into {@code dst} (same shape, same value type; checked by the caller). */
    static void copy(NdArray src, NdArray dst) {
        if (src.elementCount() == 0) {
            return;
        }
        DType st = src.dtype;
        if ((st == dst.dtype || st.equals(dst.dtype))
                && (src.isContiguous(Order.C) && dst.isContiguous(Order.C) || src.isContiguous(Order.F) && dst.isContiguous(Order.F))) {
            // Packed alike, same bytes per element: one bulk copy, which handles
            // overlapping source and destination itself (as if through a temporary).
            long bytes = src.elementCount() * st.byteSize();
            if (bytes >= STREAM_MIN_BYTES && Kernel.ENABLED && Allocation.isAnonymous(src.segment)
                    && Allocation.isAnonymous(dst.segment) && !overlaps(src, dst)) {
                // A destination larger than the caches: the C kernel writes it with non-temporal
                // stores, which skip reading each line before overwriting it (64 MiB: 7.6 ms
                // through MemorySegment.copy, about 6 ms this way).
                long[] one = {1};
                copyNative(src.segment, src.byteOffset, one, dst.segment, dst.byteOffset, one, new long[] {bytes}, 1, 1, false);
                return;
            }
            MemorySegment.copy(src.segment, src.byteOffset, dst.segment, dst.byteOffset, bytes);
            return;
        }
        if (overlaps(src, dst)) {
            try (Arena scratch = Arena.ofConfined()) {
                NdArray tmp = NdArray.allocate(scratch, src.dtype, src.shapeRef());
                copyDisjoint(src, tmp);
                copyDisjoint(tmp, dst);
            }
            return;
        }
        copyDisjoint(src, dst);
    }

    private static void copyDisjoint(NdArray src, NdArray dst) {
        DType st = src.dtype;
        DType dt = dst.dtype;
        if (st.isRecord() && !st.equals(dt)) {
            // Byte orders differ somewhere inside: convert field by field.
            for (DType.Field f : st.fields()) {
                copyDisjoint(src.field(f.name()), dst.field(f.name()));
            }
            return;
        }
        // Scalars of 2, 4 or 8 bytes in two byte orders; every other pair is equal here.
        boolean swap = !st.equals(dt);
        long item = st.byteSize();
        long[] shape = src.shapeRef();
        long[] ss = src.stridesRef();
        long[] ds = dst.stridesRef();
        int nd = shape.length;
        // The loop nest: axes of more than one element, outermost first, sorted by
        // destination stride (all made >= 0 by walking an axis backwards, which
        // also turns an axis reversed on both sides forwards), then merged where
        // an axis steps through both memories as one with the next inner one.
        long[] size = new long[nd];
        long[] sStride = new long[nd];
        long[] dStride = new long[nd];
        long sOff = src.byteOffset;
        long dOff = dst.byteOffset;
        int k = 0;
        for (int axis = 0; axis < nd; axis++) {
            long n = shape[axis];
            if (n == 1) {
                continue;
            }
            long a = ss[axis];
            long b = ds[axis];
            if (b < 0 || b == 0 && a < 0) {
                sOff += a * (n - 1);
                dOff += b * (n - 1);
                a = -a;
                b = -b;
            }
            int at = k++;
            while (at > 0 && (dStride[at - 1] < b || dStride[at - 1] == b && Math.abs(sStride[at - 1]) < Math.abs(a))) {
                size[at] = size[at - 1];
                sStride[at] = sStride[at - 1];
                dStride[at] = dStride[at - 1];
                at--;
            }
            size[at] = n;
            sStride[at] = a;
            dStride[at] = b;
        }
        int m = 0;
        for (int i = 0; i < k; i++) {
            if (m > 0 && sStride[m - 1] == sStride[i] * size[i] && dStride[m - 1] == dStride[i] * size[i]) {
                size[m - 1] *= size[i];   // cannot overflow: the product is at most the element count
                sStride[m - 1] = sStride[i];
                dStride[m - 1] = dStride[i];
            } else {
                size[m] = size[i];
                sStride[m] = sStride[i];
                dStride[m] = dStride[i];
                m++;
            }
        }
        MemorySegment s = src.segment;
        MemorySegment d = dst.segment;
        if (m == 0) {
            run(s, sOff, 0, d, dOff, 0, 1, item, swap);
            return;
        }
        if (Kernel.ENABLED && src.elementCount() * item >= nativeMinBytes && Allocation.isAnonymous(s)
                && Allocation.isAnonymous(d)) {
            copyNative(s, sOff, sStride, d, dOff, dStride, size, m, item, swap);
            return;
        }
        int inner = m - 1;
        if (sStride[inner] == item && dStride[inner] == item) {
            // Contiguous runs on both sides: one bulk copy (byte swap fused) per run.
            walk(s, sOff, sStride, d, dOff, dStride, size, inner, -1, size[inner], item, item, item, swap);
            return;
        }
        // The source's fastest axis, when it is not the destination's: a transpose, walked in tiles.
        int fast = -1;
        for (int i = 0; i < inner; i++) {
            long a = Math.abs(sStride[i]);
            if (a != 0 && a < Math.abs(sStride[inner]) && (fast < 0 || a < Math.abs(sStride[fast]))) {
                fast = i;
            }
        }
        if (fast >= 0) {
            tiled(s, sOff, sStride, d, dOff, dStride, size, fast, inner, item, swap);
            return;
        }
        walk(s, sOff, sStride, d, dOff, dStride, size, inner, -1, size[inner], sStride[inner], dStride[inner], item, swap);
    }

    /** From this size the C kernel writes contiguous destinations with non-temporal stores (its PB_COPY_STREAM_BYTES). */
    static final long STREAM_MIN_BYTES = 8L << 20;

    /** System property that turns the C kernel off ({@code -Dpanbuf.copy.native=false}); on by default. */
    static final String NATIVE_PROPERTY = "panbuf.copy.native";

    /**
     * Copies of at least this many bytes between native memories go to the C
     * kernel. A call costs about 0.2 us (the downcall and its argument block):
     * transposes gain from 1 KiB on, but byte swaps and reversals, which the
     * Java loops already do eight bytes per load, broke even only between 8
     * and 16 KiB (in-cache float32 copies, 2-core machine).
     */
    static final long NATIVE_MIN_BYTES = 16 << 10;

    /** {@link #NATIVE_MIN_BYTES}, lowered by tests to send small copies through the kernel too. */
    static volatile long nativeMinBytes = NATIVE_MIN_BYTES;

    /** {@return whether large copies between native memories go to the C kernel in this JVM} */
    static boolean nativeKernelEnabled() {
        return Kernel.ENABLED;
    }

    /** Copies the C kernel made; tests read it to prove the path was taken. */
    static final LongAdder NATIVE_COPIES = new LongAdder();

    /**
     * Whether the C kernel may be used, decided once: not when switched off by
     * {@link #NATIVE_PROPERTY}, not when the JVM does not grant panbuf native
     * access (asking would print the JDK's warning about a restricted method to
     * a program that only uses views), and not when the shim cannot be loaded.
     * Without it every copy takes the Java loops, which give the same bytes.
     */
    private static final class Kernel {
        static final boolean ENABLED = probe();

        private Kernel() {}

        private static boolean probe() {
            if ("false".equalsIgnoreCase(System.getProperty(NATIVE_PROPERTY, "true").strip())
                    || !Copier.class.getModule().isNativeAccessEnabled()) {
                return false;
            }
            try {
                NativeLibrary.loadShim();
                return true;
            } catch (RuntimeException | LinkageError e) {
                return false;
            }
        }
    }

    /**
     * The loop nest ({@code m} axes, normalised as above) run by
     * {@code pb_copy_strided}. Both regions were proved to lie inside their
     * segments when the views were made; that is checked again here, cheaply,
     * because C has no bounds checks of its own past its entry.
     */
    private static void copyNative(MemorySegment s, long sOff, long[] sStride, MemorySegment d, long dOff, long[] dStride,
                                   long[] size, int m, long item, boolean swap) {
        checkReach(s, sOff, sStride, size, m, item, "source");
        checkReach(d, dOff, dStride, size, m, item, "destination");
        int rc = Shim.copyStrided(d, dOff, dStride, s, sOff, sStride, size, m, item, swap);
        if (rc != 0) {
            throw new IllegalStateException("panbuf: pb_copy_strided refused a copy of shape " + Errors.shape(Arrays.copyOf(size, m))
                    + " (source strides " + Errors.shape(Arrays.copyOf(sStride, m)) + ", destination strides "
                    + Errors.shape(Arrays.copyOf(dStride, m)) + ", " + item + "-byte elements): " + Shim.strerror(rc)
                    + " (" + rc + "); set -D" + NATIVE_PROPERTY + "=false to copy in Java and report this");
        }
        NATIVE_COPIES.increment();
    }

    private static void checkReach(MemorySegment seg, long off, long[] stride, long[] size, int m, long item, String side) {
        long[] r = Geometry.reach(off, Arrays.copyOf(size, m), Arrays.copyOf(stride, m), item);
        if (r != null && (r[0] < 0 || r[1] > seg.byteSize())) {
            throw new IllegalStateException("panbuf: the " + side + " of a copy reaches bytes [" + r[0] + ", " + r[1]
                    + ") outside its memory of " + seg.byteSize() + " bytes; nothing was copied");
        }
    }

    /**
     * Runs of {@code length} elements along the nest's axis {@code inner} (the
     * last), one per position of the other axes but {@code skip}, walked with
     * an odometer over them.
     */
    private static void walk(MemorySegment s, long sOff, long[] sStride, MemorySegment d, long dOff, long[] dStride,
                             long[] size, int inner, int skip, long length, long sStep, long dStep, long item, boolean swap) {
        long[] index = new long[inner];
        while (true) {
            run(s, sOff, sStep, d, dOff, dStep, length, item, swap);
            int axis = inner - 1;
            for (; axis >= 0; axis--) {
                if (axis == skip) {
                    continue;
                }
                sOff += sStride[axis];
                dOff += dStride[axis];
                if (++index[axis] < size[axis]) {
                    break;
                }
                sOff -= sStride[axis] * size[axis];
                dOff -= dStride[axis] * size[axis];
                index[axis] = 0;
            }
            if (axis < 0) {
                return;
            }
        }
    }

    /**
     * A transpose: the destination's fastest axis {@code inner} is not the
     * source's, {@code fast}. Both are walked in square tiles small enough
     * that the source's lines read for one destination row are still cached
     * for the next; each tile is written row by row along {@code inner}.
     */
    private static void tiled(MemorySegment s, long sOff, long[] sStride, MemorySegment d, long dOff, long[] dStride,
                              long[] size, int fast, int inner, long item, boolean swap) {
        long rows = size[fast];
        long cols = size[inner];
        long sRow = sStride[fast];
        long dRow = dStride[fast];
        long sCol = sStride[inner];
        long dCol = dStride[inner];
        boolean small = rows * cols * item <= UNTILED_BYTES;
        boolean blocks = item == 4 && !small && rows >= 4 && cols >= 4;
        long tile = small ? Long.MAX_VALUE : item <= 4 ? TILE : item == 8 ? TILE / 2 : TILE / 4;
        long[] index = new long[inner];
        while (true) {
            if (blocks) {
                blocks4(s, sOff, sRow, sCol, d, dOff, dRow, dCol, rows, cols, swap);
            } else {
                for (long c0 = 0; c0 < cols; c0 += tile) {
                    long width = Math.min(tile, cols - c0);
                    long sc = sOff + c0 * sCol;
                    long dc = dOff + c0 * dCol;
                    for (long r0 = 0; r0 < rows; r0 += tile) {
                        long r1 = Math.min(rows, r0 + tile);
                        for (long r = r0; r < r1; r++) {
                            run(s, sc + r * sRow, sCol, d, dc + r * dRow, dCol, width, item, swap);
                        }
                    }
                }
            }
            int axis = inner - 1;
            for (; axis >= 0; axis--) {
                if (axis == fast) {
                    continue;
                }
                sOff += sStride[axis];
                dOff += dStride[axis];
                if (++index[axis] < size[axis]) {
                    break;
                }
                sOff -= sStride[axis] * size[axis];
                dOff -= dStride[axis] * size[axis];
                index[axis] = 0;
            }
            if (axis < 0) {
                return;
            }
        }
    }

    /**
     * A plane of 4-byte elements transposed in TILE x TILE tiles of 4 x 4
     * blocks: sixteen loads, four along each of four source lines, then
     * sixteen stores, four along each of four destination lines. Rows run
     * along the source's fastest axis, columns along the destination's; the
     * edges that do not fill a block go element by element.
     */
    private static void blocks4(MemorySegment s, long sOff, long sRow, long sCol, MemorySegment d, long dOff, long dRow,
                                long dCol, long rows, long cols, boolean swap) {
        long fullRows = rows & ~3L;
        long fullCols = cols & ~3L;
        for (long c0 = 0; c0 < fullCols; c0 += TILE) {
            long c1 = Math.min(fullCols, c0 + TILE);
            for (long r0 = 0; r0 < fullRows; r0 += TILE) {
                long r1 = Math.min(fullRows, r0 + TILE);
                for (long c = c0; c < c1; c += 4) {
                    for (long r = r0; r < r1; r += 4) {
                        block4(s, sOff + r * sRow + c * sCol, sRow, sCol, d, dOff + r * dRow + c * dCol, dRow, dCol, swap);
                    }
                }
            }
        }
        for (long r = fullRows; r < rows; r++) {
            run(s, sOff + r * sRow, sCol, d, dOff + r * dRow, dCol, cols, 4, swap);
        }
        for (long c = fullCols; c < cols; c++) {
            run(s, sOff + c * sCol, sRow, d, dOff + c * dCol, dRow, fullRows, 4, swap);
        }
    }

    private static void block4(MemorySegment s, long so, long sRow, long sCol, MemorySegment d, long dof, long dRow,
                               long dCol, boolean swap) {
        // Column j of the block: four elements along the source's fast axis.
        int a0 = s.get(INT, so);
        int a1 = s.get(INT, so + sRow);
        int a2 = s.get(INT, so + 2 * sRow);
        int a3 = s.get(INT, so + 3 * sRow);
        so += sCol;
        int b0 = s.get(INT, so);
        int b1 = s.get(INT, so + sRow);
        int b2 = s.get(INT, so + 2 * sRow);
        int b3 = s.get(INT, so + 3 * sRow);
        so += sCol;
        int c0 = s.get(INT, so);
        int c1 = s.get(INT, so + sRow);
        int c2 = s.get(INT, so + 2 * sRow);
        int c3 = s.get(INT, so + 3 * sRow);
        so += sCol;
        int e0 = s.get(INT, so);
        int e1 = s.get(INT, so + sRow);
        int e2 = s.get(INT, so + 2 * sRow);
        int e3 = s.get(INT, so + 3 * sRow);
        if (swap) {
            a0 = Integer.reverseBytes(a0); a1 = Integer.reverseBytes(a1); a2 = Integer.reverseBytes(a2); a3 = Integer.reverseBytes(a3);
            b0 = Integer.reverseBytes(b0); b1 = Integer.reverseBytes(b1); b2 = Integer.reverseBytes(b2); b3 = Integer.reverseBytes(b3);
            c0 = Integer.reverseBytes(c0); c1 = Integer.reverseBytes(c1); c2 = Integer.reverseBytes(c2); c3 = Integer.reverseBytes(c3);
            e0 = Integer.reverseBytes(e0); e1 = Integer.reverseBytes(e1); e2 = Integer.reverseBytes(e2); e3 = Integer.reverseBytes(e3);
        }
        // Row i of the block: four elements along the destination's fast axis.
        d.set(INT, dof, a0);
        d.set(INT, dof + dCol, b0);
        d.set(INT, dof + 2 * dCol, c0);
        d.set(INT, dof + 3 * dCol, e0);
        dof += dRow;
        d.set(INT, dof, a1);
        d.set(INT, dof + dCol, b1);
        d.set(INT, dof + 2 * dCol, c1);
        d.set(INT, dof + 3 * dCol, e1);
        dof += dRow;
        d.set(INT, dof, a2);
        d.set(INT, dof + dCol, b2);
        d.set(INT, dof + 2 * dCol, c2);
        d.set(INT, dof + 3 * dCol, e2);
        dof += dRow;
        d.set(INT, dof, a3);
        d.set(INT, dof + dCol, b3);
        d.set(INT, dof + 2 * dCol, c3);
        d.set(INT, dof + 3 * dCol, e3);
    }

    // Native-order, unaligned element layouts: constants, so that each loop
    // below compiles to plain loads and stores.
    private static final ValueLayout.OfShort SHORT = ValueLayout.JAVA_SHORT_UNALIGNED;
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED;
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED;
    private static final ValueLayout.OfByte BYTE = ValueLayout.JAVA_BYTE;

    /**
     * Copies {@code n} elements spaced {@code sStride} / {@code dStride} bytes
     * apart, reversing each element's bytes when {@code swap}: one typed loop
     * per element size, so that each stays monomorphic.
     */
    private static void run(MemorySegment s, long sOff, long sStride, MemorySegment d, long dOff, long dStride, long n,
                            long item, boolean swap) {
        if (sStride == item && dStride == item) {
            if (swap) {
                swapContiguous(s, sOff, d, dOff, n, item);
            } else {
                MemorySegment.copy(s, sOff, d, dOff, n * item);
            }
            return;
        }
        if (sStride == -item && dStride == item && (item == 1 || item == 2 || item == 4) && n >= 16) {
            reversed(s, sOff, d, dOff, n, item, swap);
            return;
        }
        switch ((int) item) {
            case 1 -> run1(s, sOff, sStride, d, dOff, dStride, n);
            case 2 -> {
                if (swap) {
                    run2Swap(s, sOff, sStride, d, dOff, dStride, n);
                } else {
                    run2(s, sOff, sStride, d, dOff, dStride, n);
                }
            }
            case 4 -> {
                if (swap) {
                    run4Swap(s, sOff, sStride, d, dOff, dStride, n);
                } else {
                    run4(s, sOff, sStride, d, dOff, dStride, n);
                }
            }
            case 8 -> {
                if (swap) {
                    run8Swap(s, sOff, sStride, d, dOff, dStride, n);
                } else {
                    run8(s, sOff, sStride, d, dOff, dStride, n);
                }
            }
            case 16 -> run16(s, sOff, sStride, d, dOff, dStride, n);
            default -> {
                // Records in one byte order, and raw bytes: move the element as it is.
                for (long i = 0; i < n; i++) {
                    MemorySegment.copy(s, sOff + i * sStride, d, dOff + i * dStride, item);
                }
            }
        }
    }

    private static void run1(MemorySegment s, long sOff, long sStride, MemorySegment d, long dOff, long dStride, long n) {
        for (long i = 0; i < n; i++) {
            d.set(BYTE, dOff + i * dStride, s.get(BYTE, sOff + i * sStride));
        }
    }

    private static void run2(MemorySegment s, long sOff, long sStride, MemorySegment d, long dOff, long dStride, long n) {
        for (long i = 0; i < n; i++) {
            d.set(SHORT, dOff + i * dStride, s.get(SHORT, sOff + i * sStride));
        }
    }

    private static void run2Swap(MemorySegment s, long sOff, long sStride, MemorySegment d, long dOff, long dStride, long n) {
        for (long i = 0; i < n; i++) {
            d.set(SHORT, dOff + i * dStride, Short.reverseBytes(s.get(SHORT, sOff + i * sStride)));
        }
    }

    private static void run4(MemorySegment s, long sOff, long sStride, MemorySegment d, long dOff, long dStride, long n) {
        for (long i = 0; i < n; i++) {
            d.set(INT, dOff + i * dStride, s.get(INT, sOff + i * sStride));
        }
    }

    private static void run4Swap(MemorySegment s, long sOff, long sStride, MemorySegment d, long dOff, long dStride, long n) {
        for (long i = 0; i < n; i++) {
            d.set(INT, dOff + i * dStride, Integer.reverseBytes(s.get(INT, sOff + i * sStride)));
        }
    }

    private static void run8(MemorySegment s, long sOff, long sStride, MemorySegment d, long dOff, long dStride, long n) {
        for (long i = 0; i < n; i++) {
            d.set(LONG, dOff + i * dStride, s.get(LONG, sOff + i * sStride));
        }
    }

    private static void run8Swap(MemorySegment s, long sOff, long sStride, MemorySegment d, long dOff, long dStride, long n) {
        for (long i = 0; i < n; i++) {
            d.set(LONG, dOff + i * dStride, Long.reverseBytes(s.get(LONG, sOff + i * sStride)));
        }
    }

    private static void run16(MemorySegment s, long sOff, long sStride, MemorySegment d, long dOff, long dStride, long n) {
        for (long i = 0; i < n; i++) {
            long from = sOff + i * sStride;
            long to = dOff + i * dStride;
            long lo = s.get(LONG, from);
            long hi = s.get(LONG, from + 8);
            d.set(LONG, to, lo);
            d.set(LONG, to + 8, hi);
        }
    }

    /**
     * {@code n} contiguous elements of 2, 4 or 8 bytes into the other byte
     * order, eight bytes at a time: a long read reversed whole reverses the
     * order of the elements in it too, which a rotation (4 bytes) or a byte
     * swap within halves of 16 bits (2 bytes) puts back.
     */
    private static void swapContiguous(MemorySegment s, long sOff, MemorySegment d, long dOff, long n, long item) {
        long bytes = n * item;
        long words = bytes >>> 3;
        switch ((int) item) {
            case 8 -> {
                for (long i = 0; i < words; i++) {
                    d.set(LONG, dOff + 8 * i, Long.reverseBytes(s.get(LONG, sOff + 8 * i)));
                }
                return;
            }
            case 4 -> {
                for (long i = 0; i < words; i++) {
                    d.set(LONG, dOff + 8 * i, Long.rotateLeft(Long.reverseBytes(s.get(LONG, sOff + 8 * i)), 32));
                }
            }
            default -> {
                for (long i = 0; i < words; i++) {
                    long v = s.get(LONG, sOff + 8 * i);
                    d.set(LONG, dOff + 8 * i, (v >>> 8) & 0x00FF00FF00FF00FFL | (v & 0x00FF00FF00FF00FFL) << 8);
                }
            }
        }
        long done = words << 3;
        if (done < bytes) {
            long rest = (bytes - done) / item;
            if (item == 4) {
                run4Swap(s, sOff + done, 4, d, dOff + done, 4, rest);
            } else {
                run2Swap(s, sOff + done, 2, d, dOff + done, 2, rest);
            }
        }
    }

    /**
     * {@code n} elements of 1, 2 or 4 bytes read backwards from {@code sOff}
     * and written forwards from {@code dOff} ({@code a[::-1]}), eight bytes at
     * a time: reversing a long's bytes reverses the order of the elements in
     * it and each element's bytes (which a byte swap wants); a rotation (4
     * bytes) or a swap within halves of 16 bits (2 bytes) puts each element's
     * bytes back when the byte order stays.
     */
    private static void reversed(MemorySegment s, long sOff, MemorySegment d, long dOff, long n, long item, boolean swap) {
        int per = (int) (8 / item);
        long words = n / per;
        // Word i holds destination elements [per * i, per * i + per), read from the
        // source's lowest of them, per - 1 elements below the first.
        long from = sOff - (per - 1) * item;
        if (swap || item == 1) {
            for (long i = 0; i < words; i++) {
                d.set(LONG, dOff + 8 * i, Long.reverseBytes(s.get(LONG, from - 8 * i)));
            }
        } else if (item == 4) {
            for (long i = 0; i < words; i++) {
                d.set(LONG, dOff + 8 * i, Long.rotateLeft(s.get(LONG, from - 8 * i), 32));
            }
        } else {
            for (long i = 0; i < words; i++) {
                long v = Long.reverseBytes(s.get(LONG, from - 8 * i));
                d.set(LONG, dOff + 8 * i, (v >>> 8) & 0x00FF00FF00FF00FFL | (v & 0x00FF00FF00FF00FFL) << 8);
            }
        }
        long done = words * per;
        if (done < n) {
            run(s, sOff - done * item, -item, d, dOff + done * item, item, n - done, item, swap);
        }
    }

    /** True when the bytes the two views reach intersect. */
    static boolean overlaps(NdArray a, NdArray b) {
        MemorySegment sa = span(a);
        MemorySegment sb = span(b);
        return sa != null && sb != null && sa.asOverlappingSlice(sb).isPresent();
    }

    private static MemorySegment span(NdArray a) {
        long[] r = Geometry.reach(a.byteOffset, a.shapeRef(), a.stridesRef(), a.dtype.byteSize());
        return r == null ? null : a.segment.asSlice(r[0], r[1] - r[0]);
    }

    /** Writes {@code element} (one element's raw bytes) into every element of {@code dst}. */
    static void fill(NdArray dst, byte[] element) {
        if (dst.elementCount() == 0) {
            return;
        }
        MemorySegment one = MemorySegment.ofArray(element);
        // A 0-d source broadcasts to every shape, () included (a (1,) source
        // cannot broadcast to (), which made every fill of a 0-d array throw).
        NdArray source = NdArray.asStrided(one, dst.dtype, 0, new long[0], new long[0]).broadcastTo(dst.shapeRef());
        long item = element.length;
        if (dst.isContiguous(Order.C) || dst.isContiguous(Order.F)) {
            // Doubling: write one element, then copy the filled prefix onto the rest.
            MemorySegment region = dst.segment.asSlice(dst.byteOffset, dst.byteSize());
            MemorySegment.copy(one, 0, region, 0, item);
            long filled = item;
            long total = region.byteSize();
            while (filled < total) {
                long chunk = Math.min(filled, total - filled);
                MemorySegment.copy(region, 0, region, filled, chunk);
                filled += chunk;
            }
            return;
        }
        copyDisjoint(source, dst);
    }

    /** Content equality of two views of equal shape and value type (byte orders may differ). */
    static boolean contentEquals(NdArray a, NdArray b) {
        if (a.elementCount() == 0) {
            return true;
        }
        // Records take the slow path: their padding bytes must not take part.
        if (a.dtype.equals(b.dtype) && !a.dtype.isRecord() && a.isContiguous(Order.C) && b.isContiguous(Order.C)) {
            return MemorySegment.mismatch(a.segment, a.byteOffset, a.byteOffset + a.byteSize(),
                    b.segment, b.byteOffset, b.byteOffset + b.byteSize()) < 0;
        }
        try (Arena scratch = Arena.ofConfined()) {
            NdArray ca = nativeCopy(a, scratch);
            NdArray cb = nativeCopy(b, scratch);
            return MemorySegment.mismatch(ca.segment, 0, ca.byteSize(), cb.segment, 0, cb.byteSize()) < 0;
        }
    }

    static int contentHash(NdArray a) {
        try (Arena scratch = Arena.ofConfined()) {
            NdArray c = nativeCopy(a, scratch);
            int h = 1;
            long n = c.byteSize();
            long i = 0;
            for (; i + 8 <= n; i += 8) {
                h = 31 * h + Long.hashCode(c.segment.get(ValueLayout.JAVA_LONG_UNALIGNED, i));
            }
            for (; i < n; i++) {
                h = 31 * h + c.segment.get(ValueLayout.JAVA_BYTE, i);
            }
            return h;
        }
    }

    private static NdArray nativeCopy(NdArray a, Arena arena) {
        if (a.dtype.isRecord()) {
            // Zeroed: copyFields leaves padding as it finds it.
            NdArray out = NdArray.allocate(arena, a.dtype.withNativeOrder(), a.shapeRef());
            copyFields(a, out);
            return out;
        }
        // Not zeroed: copy writes every byte of every element, and the view is returned only when it has.
        NdArray out = NdArray.allocateUnfilled(arena, a.dtype.withNativeOrder(), Order.C, a.shapeRef());
        copy(a, out);
        return out;
    }

    /**
     * Copies a record's fields only, leaving the destination's padding as it
     * is (zero in a fresh allocation). Padding is not part of a record's
     * value: without this, a record array and its copy in the other byte
     * order (which converts field by field and never writes padding) compared
     * unequal whenever the source's padding held anything but zeros.
     */
    private static void copyFields(NdArray src, NdArray dst) {
        for (DType.Field f : src.dtype.fields()) {
            NdArray s = src.field(f.name());
            NdArray d = dst.field(f.name());
            if (f.dtype().isRecord()) {
                copyFields(s, d);
            } else {
                copy(s, d);
            }
        }
    }
}
