package dev.panbuf;

import java.util.Arrays;

/**
 * Pure arithmetic on shapes and strides: validation with overflow checks, the
 * byte extent a view reaches, NumPy's contiguity flags and contiguous strides,
 * and the no-copy reshape. Nothing here touches memory.
 */
final class Geometry {

    /** Alignment of memory panbuf allocates: a cache line, enough for any SIMD load. */
    static final long ALLOCATION_ALIGNMENT = 64;

    private Geometry() {}

    /**
     * A validated copy of {@code shape}: at most 64 dimensions, none negative,
     * and the product of the non-zero dimensions fits a long. An empty shape
     * is held to that too, as NumPy holds it ("array is too big"), so that
     * the contiguous strides of any valid shape are exact.
     */
    static long[] checkShape(long[] shape) {
        if (shape == null) {
            throw new NullPointerException("shape");
        }
        if (shape.length > NdArray.MAX_NDIM) {
            throw Errors.tooManyDimensions(shape.length);
        }
        long[] dims = shape.clone();
        for (int i = 0; i < dims.length; i++) {
            if (dims[i] < 0) {
                throw new IllegalArgumentException("dimension " + i + " of shape " + Errors.shape(dims) + " is negative ("
                        + dims[i] + "); dimensions must be >= 0");
            }
        }
        nonZeroProduct(dims);
        return dims;
    }

    /**
     * {@code product(shape) * itemSize}, refusing overflow; for an empty shape
     * 0, after checking that the non-zero dimensions times the item size fit
     * a long (NumPy's rule; {@link #contiguousStrides} relies on it).
     */
    static long byteSize(long[] shape, long itemSize) {
        long bytes = multiply(nonZeroProduct(shape), itemSize, () -> "byte size of shape " + Errors.shape(shape) + " with "
                + itemSize + "-byte elements overflows a long" + (isEmpty(shape) ? " (counting its non-zero dimensions)" : ""));
        return isEmpty(shape) ? 0 : bytes;
    }

    private static long nonZeroProduct(long[] shape) {
        long count = 1;
        for (long d : shape) {
            if (d != 0) {
                count = multiply(count, d, () -> isEmpty(shape)
                        ? "shape " + Errors.shape(shape) + " is too large: the product of its non-zero dimensions overflows a long"
                        : "element count of shape " + Errors.shape(shape) + " overflows a long");
            }
        }
        return count;
    }

    private static boolean isEmpty(long[] shape) {
        for (long d : shape) {
            if (d == 0) {
                return true;
            }
        }
        return false;
    }

    /**
     * Contiguous strides as NumPy fills them: a dimension of size 0 is treated
     * as size 1 when the strides of the outer dimensions are computed.
     */
    static long[] contiguousStrides(long[] shape, long itemSize, Order order) {
        long[] strides = new long[shape.length];
        long step = itemSize;
        if (order == Order.C) {
            for (int i = shape.length - 1; i >= 0; i--) {
                strides[i] = step;
                if (shape[i] != 0) {
                    step *= shape[i];
                }
            }
        } else {
            for (int i = 0; i < shape.length; i++) {
                strides[i] = step;
                if (shape[i] != 0) {
                    step *= shape[i];
                }
            }
        }
        return strides;
    }

    /**
     * NumPy's C_CONTIGUOUS and F_CONTIGUOUS flags: the strides of dimensions
     * larger than 1 must be the packed ones; an empty array is both.
     */
    static int contiguityFlags(long[] shape, long[] strides, long itemSize) {
        for (long d : shape) {
            if (d == 0) {
                return 3;
            }
        }
        boolean c = true;
        long expected = itemSize;
        for (int i = shape.length - 1; i >= 0; i--) {
            if (shape[i] != 1) {
                if (strides[i] != expected) {
                    c = false;
                    break;
                }
                expected *= shape[i];
            }
        }
        boolean f = true;
        expected = itemSize;
        for (int i = 0; i < shape.length; i++) {
            if (shape[i] != 1) {
                if (strides[i] != expected) {
                    f = false;
                    break;
                }
                expected *= shape[i];
            }
        }
        return (c ? 1 : 0) | (f ? 2 : 0);
    }

    /**
     * Proves that every byte a view reaches lies in {@code [0, segmentSize)}.
     *
     * @throws IllegalArgumentException naming the reachable range and the segment size otherwise,
     *         or when an extent overflows a long
     */
    static void checkInside(long segmentSize, long byteOffset, long[] shape, long[] strides, long itemSize) {
        long[] span = reach(byteOffset, shape, strides, itemSize);
        if (span == null) {
            if (byteOffset < 0 || byteOffset > segmentSize) {
                throw new IllegalArgumentException("byte offset " + byteOffset + " of an empty view lies outside the segment of "
                        + segmentSize + " bytes");
            }
            return;
        }
        if (span[0] < 0 || span[1] > segmentSize) {
            throw new IllegalArgumentException("view reaches bytes [" + span[0] + ", " + span[1] + ") but the segment has "
                    + segmentSize + " bytes [0, " + segmentSize + "): shape " + Errors.shape(shape) + ", byte strides "
                    + Errors.shape(strides) + ", byte offset " + byteOffset + ", item size " + itemSize);
        }
    }

    /**
     * The byte range {@code [low, high)} relative to the segment that a view
     * reaches, or {@code null} when it has no elements.
     *
     * @throws IllegalArgumentException when the range overflows a long
     */
    static long[] reach(long byteOffset, long[] shape, long[] strides, long itemSize) {
        for (long d : shape) {
            if (d == 0) {
                return null;
            }
        }
        long low = byteOffset;
        long high = byteOffset;
        for (int i = 0; i < shape.length; i++) {
            int axis = i;
            long extent = multiply(strides[i], shape[i] - 1, () -> "extent of axis " + axis + " (stride " + strides[axis]
                    + " x " + (shape[axis] - 1) + ") overflows a long");
            if (extent < 0) {
                low = add(low, extent, () -> "lowest reachable byte of shape " + Errors.shape(shape) + " with strides "
                        + Errors.shape(strides) + " from byte offset " + byteOffset + " overflows a long");
            } else {
                high = add(high, extent, () -> "highest reachable byte of shape " + Errors.shape(shape) + " with strides "
                        + Errors.shape(strides) + " from byte offset " + byteOffset + " overflows a long");
            }
        }
        long last = high;
        high = add(high, itemSize, () -> "end of the last element (byte " + last + " + item size " + itemSize
                + ") overflows a long");
        return new long[] {low, high};
    }

    /**
     * True unless the elements provably occupy disjoint bytes: sorted by
     * stride magnitude, each axis must step past everything the smaller axes
     * reach. Conservative: a few exotic non-overlapping layouts count as overlapping.
     */
    static boolean mayOverlap(long[] shape, long[] strides, long itemSize) {
        int n = 0;
        long[][] axes = new long[shape.length][];
        for (int i = 0; i < shape.length; i++) {
            if (shape[i] == 0) {
                return false;
            }
            if (shape[i] > 1) {
                axes[n++] = new long[] {Math.abs(strides[i]), shape[i]};
            }
        }
        long[][] sorted = Arrays.copyOf(axes, n);
        Arrays.sort(sorted, (a, b) -> Long.compare(a[0], b[0]));
        long covered = itemSize;   // bytes spanned by one step of the smaller axes
        for (long[] axis : sorted) {
            if (axis[0] < covered) {
                return true;
            }
            covered = axis[0] * (axis[1] - 1) + covered;
        }
        return false;
    }

    /**
     * The shape {@code requested} with a {@code -1} resolved, checked to hold
     * exactly {@code count} elements.
     */
    static long[] resolveReshape(long[] oldShape, long count, long[] requested) {
        long[] dims = requested.clone();
        int unknown = -1;
        long known = 1;
        boolean overflow = false;
        for (int i = 0; i < dims.length; i++) {
            if (dims[i] == -1) {
                if (unknown >= 0) {
                    throw new IllegalArgumentException("reshape to " + Errors.shape(requested) + ": only one dimension can be -1");
                }
                unknown = i;
            } else if (dims[i] < 0) {
                throw new IllegalArgumentException("reshape to " + Errors.shape(requested) + ": dimension " + i + " is negative ("
                        + dims[i] + ")");
            } else {
                long next = known * dims[i];
                if (dims[i] != 0 && next / dims[i] != known) {
                    overflow = true;
                }
                known = next;
            }
        }
        if (unknown >= 0) {
            if (known == 0 || overflow || count % known != 0) {
                throw new IllegalArgumentException("cannot reshape an array of " + count + " elements " + Errors.shape(oldShape)
                        + " into shape " + Errors.shape(requested));
            }
            dims[unknown] = count / known;
        } else if (overflow || known != count) {
            throw new IllegalArgumentException("cannot reshape an array of " + count + " elements " + Errors.shape(oldShape)
                    + " into shape " + Errors.shape(requested) + " (" + (overflow ? "overflowing" : Long.toString(known))
                    + " elements)");
        }
        return dims;
    }

    /**
     * Strides for viewing a non-contiguous array with a new shape, reading the
     * elements in {@code order}, or {@code null} when no such view exists.
     * Works as NumPy's reshape: size-1 axes are dropped from the old shape,
     * then groups of old axes whose product equals a group of new axes are
     * matched; each old group must be evenly strided in {@code order}, and the
     * new group's strides are derived from its last (C) or first (F) stride.
     */
    static long[] reshapeStrides(long[] oldShape, long[] oldStrides, long itemSize, long[] newShape, Order order) {
        boolean fortran = order == Order.F;
        int oldCount = 0;
        long[] od = new long[oldShape.length];
        long[] os = new long[oldShape.length];
        for (int i = 0; i < oldShape.length; i++) {
            if (oldShape[i] != 1) {
                od[oldCount] = oldShape[i];
                os[oldCount] = oldStrides[i];
                oldCount++;
            }
        }
        int newCount = newShape.length;
        long[] ns = new long[newCount];
        int oStart = 0;
        int nStart = 0;
        while (nStart < newCount && oStart < oldCount) {
            int oEnd = oStart + 1;
            int nEnd = nStart + 1;
            long newProduct = newShape[nStart];
            long oldProduct = od[oStart];
            while (newProduct != oldProduct) {
                if (newProduct < oldProduct) {
                    newProduct *= newShape[nEnd++];
                } else {
                    oldProduct *= od[oEnd++];
                }
            }
            for (int k = oStart; k < oEnd - 1; k++) {
                boolean even = fortran ? os[k + 1] == od[k] * os[k] : os[k] == od[k + 1] * os[k + 1];
                if (!even) {
                    return null;
                }
            }
            if (fortran) {
                ns[nStart] = os[oStart];
                for (int k = nStart + 1; k < nEnd; k++) {
                    ns[k] = ns[k - 1] * newShape[k - 1];
                }
            } else {
                ns[nEnd - 1] = os[oEnd - 1];
                for (int k = nEnd - 1; k > nStart; k--) {
                    ns[k - 1] = ns[k] * newShape[k];
                }
            }
            nStart = nEnd;
            oStart = oEnd;
        }
        // New trailing size-1 axes continue from the last stride computed.
        long last = nStart >= 1 ? ns[nStart - 1] : itemSize;
        if (fortran && nStart >= 1) {
            last *= newShape[nStart - 1];
        }
        for (int k = nStart; k < newCount; k++) {
            ns[k] = last;
        }
        return ns;
    }

    private static long multiply(long a, long b, java.util.function.Supplier<String> message) {
        try {
            return Math.multiplyExact(a, b);
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException(message.get(), e);
        }
    }

    private static long add(long a, long b, java.util.function.Supplier<String> message) {
        try {
            return Math.addExact(a, b);
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException(message.get(), e);
        }
    }
}
