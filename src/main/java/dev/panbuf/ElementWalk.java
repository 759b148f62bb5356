package dev.panbuf;

/**
 * The order in which {@code forEach...} visits a view's elements: rows along
 * the innermost visited axis (the last axis for {@link Order#C}, the first for
 * {@link Order#F}), and an odometer over the other axes that gives each row's
 * byte offset and indices. The typed accessors' template runs the rows; this
 * class is the part that does not depend on the element type.
 *
 * <p>When the indices are not wanted, neighbouring axes that step through
 * memory as one ({@code stride[outer] == stride[inner] * size[inner]}) are
 * merged first, so a contiguous view of any rank is one long row.
 */
final class ElementWalk {

    /** Byte offset of the current row's first element. */
    long rowOffset;
    /** Elements per row, and the byte stride between them. */
    final long rowLength;
    final long rowStride;
    /** The original axis the rows run along ({@code -1} for a 0-d view). */
    final int rowAxis;
    /** The indices of the current row's first element, by original axis; null unless asked for. */
    final long[] indices;

    // The outer axes, innermost first: original axis, size, stride, current index.
    private final int[] outerAxis;
    private final long[] outerSize;
    private final long[] outerStride;
    private final long[] outerIndex;

    private ElementWalk(long rowOffset, long rowLength, long rowStride, int rowAxis, long[] indices, int[] outerAxis,
            long[] outerSize, long[] outerStride) {
        this.rowOffset = rowOffset;
        this.rowLength = rowLength;
        this.rowStride = rowStride;
        this.rowAxis = rowAxis;
        this.indices = indices;
        this.outerAxis = outerAxis;
        this.outerSize = outerSize;
        this.outerStride = outerStride;
        this.outerIndex = new long[outerAxis.length];
    }

    /**
     * The walk over {@code view} in {@code order}, or null when the view has no
     * elements. With {@code withIndices}, {@link #indices} holds one entry per
     * dimension and axes are never merged.
     */
    static ElementWalk of(NdArrayAccessors view, Order order, boolean withIndices) {
        int ndim = view.ndim;
        // Axes in visiting order, outermost first.
        int[] axes = new int[ndim];
        long[] sizes = new long[ndim];
        long[] strides = new long[ndim];
        for (int k = 0; k < ndim; k++) {
            int axis = order == Order.F ? ndim - 1 - k : k;
            axes[k] = axis;
            sizes[k] = view.dim(axis);
            strides[k] = view.stride(axis);
            if (sizes[k] == 0) {
                return null;
            }
        }
        int count = ndim;
        if (!withIndices) {
            // Drop axes of size 1 (they move nothing), and merge each axis into the
            // next inner one when the two step through memory as one.
            int kept = 0;
            for (int k = 0; k < ndim; k++) {
                if (sizes[k] == 1) {
                    continue;
                }
                if (kept > 0 && strides[kept - 1] == strides[k] * sizes[k]) {
                    sizes[kept - 1] *= sizes[k];   // cannot overflow: the product is the element count
                    strides[kept - 1] = strides[k];
                    axes[kept - 1] = axes[k];
                } else {
                    axes[kept] = axes[k];
                    sizes[kept] = sizes[k];
                    strides[kept] = strides[k];
                    kept++;
                }
            }
            count = kept;
        }
        long[] indices = withIndices ? new long[ndim] : null;
        if (count == 0) {
            return new ElementWalk(view.byteOffset, 1, 0, -1, indices, new int[0], new long[0], new long[0]);
        }
        int outer = count - 1;
        int[] outerAxis = new int[outer];
        long[] outerSize = new long[outer];
        long[] outerStride = new long[outer];
        for (int k = 0; k < outer; k++) {
            outerAxis[k] = axes[outer - 1 - k];
            outerSize[k] = sizes[outer - 1 - k];
            outerStride[k] = strides[outer - 1 - k];
        }
        return new ElementWalk(view.byteOffset, sizes[outer], strides[outer], axes[outer], indices, outerAxis, outerSize,
                outerStride);
    }

    /** Moves to the next row; false after the last one. */
    boolean nextRow() {
        for (int k = 0; k < outerIndex.length; k++) {
            if (++outerIndex[k] < outerSize[k]) {
                rowOffset += outerStride[k];
                return true;
            }
            rowOffset -= outerStride[k] * (outerSize[k] - 1);
            outerIndex[k] = 0;
        }
        return false;
    }

    /**
     * Rewrites the outer entries of {@link #indices} from the walk's own state,
     * which an action cannot change, before a row is visited.
     */
    void restoreIndices() {
        for (int k = 0; k < outerIndex.length; k++) {
            indices[outerAxis[k]] = outerIndex[k];
        }
    }
}
