package dev.panbuf;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Moves element data between views: the engine behind {@code copy},
 * {@code copyTo}, {@code toArray}, {@code toBytes}, the {@code fill} methods and
 * content equality. Every check happens before the first byte is written.
 *
 * <p>Contiguous copies are one bulk {@link MemorySegment#copy}; otherwise the
 * shape is walked in C order with an odometer over the outer axes and a tight
 * loop over the last one, which the JIT compiles per element size.
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
            MemorySegment.copy(src.segment, src.byteOffset, dst.segment, dst.byteOffset, src.elementCount() * st.byteSize());
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
        boolean swap = !st.equals(dt);
        long item = st.byteSize();
        for (Order order : Order.values()) {
            if (src.isContiguous(order) && dst.isContiguous(order)) {
                long count = src.elementCount();
                if (!swap) {
                    MemorySegment.copy(src.segment, src.byteOffset, dst.segment, dst.byteOffset, count * item);
                } else {
                    MemorySegment.copy(src.segment, (ValueLayout) st.layout(), src.byteOffset,
                            dst.segment, (ValueLayout) dt.layout(), dst.byteOffset, count);
                }
                return;
            }
        }
        long[] shape = src.shapeRef();
        int nd = shape.length;
        long[] ss = src.stridesRef();
        long[] ds = dst.stridesRef();
        if (nd >= 2 && shape[nd - 1] > 1 && shape[nd - 2] > 1
                && Math.abs(ds[nd - 2]) < Math.abs(ds[nd - 1]) != Math.abs(ss[nd - 2]) < Math.abs(ss[nd - 1])) {
            copyTiled(src, dst, swap);
            return;
        }
        // Walk in C order with the last axis innermost.
        long n = shape[nd - 1];
        long sInner = ss[nd - 1];
        long dInner = ds[nd - 1];
        long[] index = new long[Math.max(nd - 1, 0)];
        long sOff = src.byteOffset;
        long dOff = dst.byteOffset;
        while (true) {
            copyRun(src.segment, sOff, sInner, dst.segment, dOff, dInner, n, st, dt, swap);
            int axis = nd - 2;
            while (axis >= 0) {
                index[axis]++;
                sOff += ss[axis];
                dOff += ds[axis];
                if (index[axis] < shape[axis]) {
                    break;
                }
                sOff -= ss[axis] * shape[axis];
                dOff -= ds[axis] * shape[axis];
                index[axis] = 0;
                axis--;
            }
            if (axis < 0) {
                return;
            }
        }
    }

    /**
     * A copy whose last two axes run in opposite directions in source and
     * destination (a transpose): walked in TILE x TILE blocks so that both
     * sides stay in cache.
     */
    private static void copyTiled(NdArray src, NdArray dst, boolean swap) {
        long[] shape = src.shapeRef();
        int nd = shape.length;
        long[] ss = src.stridesRef();
        long[] ds = dst.stridesRef();
        long rows = shape[nd - 2];
        long cols = shape[nd - 1];
        long[] index = new long[nd - 2];
        long sBase = src.byteOffset;
        long dBase = dst.byteOffset;
        DType st = src.dtype;
        DType dt = dst.dtype;
        while (true) {
            for (long r0 = 0; r0 < rows; r0 += TILE) {
                long r1 = Math.min(rows, r0 + TILE);
                for (long c0 = 0; c0 < cols; c0 += TILE) {
                    long c1 = Math.min(cols, c0 + TILE);
                    // Walk the tile along the destination's faster axis.
                    if (Math.abs(ds[nd - 1]) <= Math.abs(ds[nd - 2])) {
                        for (long r = r0; r < r1; r++) {
                            copyRun(src.segment, sBase + r * ss[nd - 2] + c0 * ss[nd - 1], ss[nd - 1],
                                    dst.segment, dBase + r * ds[nd - 2] + c0 * ds[nd - 1], ds[nd - 1], c1 - c0, st, dt, swap);
                        }
                    } else {
                        for (long c = c0; c < c1; c++) {
                            copyRun(src.segment, sBase + r0 * ss[nd - 2] + c * ss[nd - 1], ss[nd - 2],
                                    dst.segment, dBase + r0 * ds[nd - 2] + c * ds[nd - 1], ds[nd - 2], r1 - r0, st, dt, swap);
                        }
                    }
                }
            }
            int axis = nd - 3;
            while (axis >= 0) {
                index[axis]++;
                sBase += ss[axis];
                dBase += ds[axis];
                if (index[axis] < shape[axis]) {
                    break;
                }
                sBase -= ss[axis] * shape[axis];
                dBase -= ds[axis] * shape[axis];
                index[axis] = 0;
                axis--;
            }
            if (axis < 0) {
                return;
            }
        }
    }

    /** Copies {@code n} elements spaced {@code sStride} / {@code dStride} bytes apart. */
    private static void copyRun(MemorySegment s, long sOff, long sStride, MemorySegment d, long dOff, long dStride, long n,
                                DType st, DType dt, boolean swap) {
        long item = st.byteSize();
        if (sStride == item && dStride == item) {
            if (swap) {
                MemorySegment.copy(s, (ValueLayout) st.layout(), sOff, d, (ValueLayout) dt.layout(), dOff, n);
            } else {
                MemorySegment.copy(s, sOff, d, dOff, n * item);
            }
            return;
        }
        switch ((int) item) {
            case 1 -> {
                for (long i = 0; i < n; i++, sOff += sStride, dOff += dStride) {
                    d.set(ValueLayout.JAVA_BYTE, dOff, s.get(ValueLayout.JAVA_BYTE, sOff));
                }
            }
            case 2 -> {
                ValueLayout.OfShort sl = order(st) == ByteOrder.BIG_ENDIAN ? NdArray.SHORT_BE : NdArray.SHORT_LE;
                ValueLayout.OfShort dl = order(dt) == ByteOrder.BIG_ENDIAN ? NdArray.SHORT_BE : NdArray.SHORT_LE;
                for (long i = 0; i < n; i++, sOff += sStride, dOff += dStride) {
                    d.set(dl, dOff, s.get(sl, sOff));
                }
            }
            case 4 -> {
                ValueLayout.OfInt sl = order(st) == ByteOrder.BIG_ENDIAN ? NdArray.INT_BE : NdArray.INT_LE;
                ValueLayout.OfInt dl = order(dt) == ByteOrder.BIG_ENDIAN ? NdArray.INT_BE : NdArray.INT_LE;
                for (long i = 0; i < n; i++, sOff += sStride, dOff += dStride) {
                    d.set(dl, dOff, s.get(sl, sOff));
                }
            }
            case 8 -> {
                ValueLayout.OfLong sl = order(st) == ByteOrder.BIG_ENDIAN ? NdArray.LONG_BE : NdArray.LONG_LE;
                ValueLayout.OfLong dl = order(dt) == ByteOrder.BIG_ENDIAN ? NdArray.LONG_BE : NdArray.LONG_LE;
                for (long i = 0; i < n; i++, sOff += sStride, dOff += dStride) {
                    d.set(dl, dOff, s.get(sl, sOff));
                }
            }
            default -> {
                // Records in one byte order, and raw bytes: move the element as it is.
                for (long i = 0; i < n; i++, sOff += sStride, dOff += dStride) {
                    MemorySegment.copy(s, sOff, d, dOff, item);
                }
            }
        }
    }

    private static ByteOrder order(DType t) {
        return t.byteOrder() == null ? ByteOrder.nativeOrder() : t.byteOrder();
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
        NdArray out = NdArray.allocate(arena, a.dtype.withNativeOrder(), a.shapeRef());
        if (a.dtype.isRecord()) {
            copyFields(a, out);
        } else {
            copy(a, out);
        }
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
