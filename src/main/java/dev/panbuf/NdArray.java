package dev.panbuf;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * An n-dimensional, typed, strided view of memory: what a NumPy array is to
 * its buffer. A view is a memory segment, the byte offset of element
 * {@code [0, ..., 0]}, a shape, byte strides (negative and zero allowed), a
 * {@link DType} and a read-only flag. It owns nothing: the memory belongs to
 * the segment's arena, and every access goes through FFM's checks, so a view
 * of closed memory throws {@link IllegalStateException} instead of reading
 * freed bytes.
 *
 * <h2>No copies unless the name says so</h2>
 * Slicing ({@link #get(Index...)}), {@link #transpose()}, {@link #reshape(long...)}
 * (when a view is possible), {@link #broadcastTo(long...)}, {@link #squeeze()},
 * {@link #expandDims(int)}, {@link #field(String)} and {@link #asStrided} return
 * views of the same memory with exactly the shape, strides and byte offset
 * NumPy gives. Only {@link #copy(Order)}, {@link #copyTo(NdArray)},
 * {@link #toArray()} and the {@code fill} methods move element data.
 *
 * <h2>Bounds</h2>
 * Every byte a view can reach, through positive, negative and zero strides, is
 * proved to lie inside its segment when the view is made. Element accessors
 * check each index against its axis, with NumPy's rule everywhere (accessors,
 * {@code VarHandle} coordinates, {@link #get(Index...)}): an index lies in
 * {@code [-size, size)}, and a negative one counts from the end.
 *
 * {@snippet :
 * try (Arena arena = Arena.ofConfined()) {
 *     NdArray m = NdArray.allocate(arena, DType.FLOAT32, 3, 4);   // zeroed, C order
 *     m.setFloat(1.5f, 2, 3);
 *     NdArray t = m.transpose();                                  // shape (4, 3), strides (4, 16)
 *     float x = t.getFloat(3, 2);                                 // 1.5f, same memory
 *     NdArray odd = m.get("::2, 1::2");                           // NumPy slicing
 * }
 * }
 *
 * <h2>Element access</h2>
 * Typed accessors ({@code getFloat(i, j)}, {@code setInt(v, i)}) exist with 0
 * to 4 {@code long} indices, which allocate nothing, and with a varargs form.
 * The accessor must match the dtype's Java carrier ({@link DType#carrier()}):
 * a float32 array is read with {@code getFloat}, never with {@code getDouble}.
 * float16 elements are read as {@code float} (exactly) and written from
 * {@code float} (rounded to nearest even). {@code forEachFloat(order, action)}
 * and {@code forEachFloatIndexed} (one pair per carrier) visit every element
 * in C or F order without boxing.
 *
 * <p>Views are immutable and safe to share between threads; the memory they
 * see is as thread-safe as its arena allows.
 */
public final class NdArray extends NdArrayAccessors {

    /** Most dimensions a view may have (as NumPy and CPython's buffer protocol). */
    public static final int MAX_NDIM = 64;

    /** Whether {@link #asStrided} may return a writable view whose elements overlap. */
    public enum Overlap {
        /** Overlapping views are read-only (the default): one write would change several elements. */
        READ_ONLY,
        /** Overlapping views stay writable when the memory is; the caller accepts aliasing writes. */
        ALLOW_WRITES
    }

    private static final int C_CONTIGUOUS = 1, F_CONTIGUOUS = 2, FLAGS_UNKNOWN = -1;

    // The memory, geometry and dtype fields, and the typed element accessors
    // (getFloat, setInt, ...), are in NdArrayAccessors, generated from
    // src/main/java-templates/dev/panbuf/NdArrayAccessors.java.template.

    // NumPy's contiguity flags, computed on first use: most views are made, read
    // and dropped without anyone asking. A racy cache of a pure function of final
    // fields (as String.hash is): a thread that sees FLAGS_UNKNOWN computes them again.
    private int flags = FLAGS_UNKNOWN;
    // Keeps whatever owns the memory reachable for as long as a view of it is
    // (an automatic arena's segment, a growable buffer's generation, an import).
    final Object owner;

    /** Trusted constructor: the caller has proved every reachable byte lies inside the segment. */
    NdArray(MemorySegment segment, long byteOffset, long[] shape, long[] strides, DType dtype, boolean readOnly, Object owner) {
        this(segment, byteOffset, shape.length > 2 ? shape : null, shape.length > 2 ? strides : null, shape.length,
                shape.length > 0 ? shape[0] : 0, shape.length > 1 ? shape[1] : 0,
                shape.length > 0 ? strides[0] : 0, shape.length > 1 ? strides[1] : 0, dtype, readOnly || segment.isReadOnly(), owner);
    }

    /**
     * Trusted constructor for up to two dimensions, without the arrays: the
     * view-making fast paths use it. Unused dimensions and strides are 0.
     */
    NdArray(MemorySegment segment, long byteOffset, int ndim, long d0, long d1, long s0, long s1,
            DType dtype, boolean readOnly, Object owner) {
        this(segment, byteOffset, null, null, ndim, d0, d1, s0, s1, dtype, readOnly || segment.isReadOnly(), owner);
    }

    /** The geometry of {@code like} (arrays shared: they are never written) at another offset or dtype. */
    private NdArray(NdArray like, long byteOffset, DType dtype, boolean readOnly) {
        this(like.segment, byteOffset, like.shape, like.strides, like.ndim, like.d0, like.d1, like.s0, like.s1, dtype,
                readOnly || like.readOnly, like.owner);
    }

    /** Every field as given; the other constructors decide what to store. */
    private NdArray(MemorySegment segment, long byteOffset, long[] shape, long[] strides, int ndim, long d0, long d1,
            long s0, long s1, DType dtype, boolean readOnly, Object owner) {
        // A read-only view holds a read-only segment, so nothing reached through it
        // (segment(), a rewrap with NdArray.of, a slice for a critical call) can write.
        super(readOnly && !segment.isReadOnly() ? segment.asReadOnly() : segment, byteOffset, shape, strides, ndim,
                d0, d1, s0, s1, dtype, readOnly);
        this.owner = owner;
    }

    @Override
    IllegalStateException stale(IllegalStateException closed) {
        return Errors.stale(owner, closed);
    }

    /** This view, keeping {@code owner} reachable and naming it when the memory is gone. */
    NdArray ownedBy(Object owner) {
        return new NdArray(segment, byteOffset, shapeRef(), stridesRef(), dtype, readOnly, owner);
    }

    // ------------------------------------------------------------------ factories

    /**
     * {@return a new zero-filled array in {@code arena}, C order, aligned to 64 bytes}
     *
     * @param arena the arena that owns the new memory
     * @param dtype the element type
     * @param shape the size of each dimension
     * @throws IllegalArgumentException when a dimension is negative, there are more than
     *         {@value #MAX_NDIM} dimensions, or the byte size overflows a {@code long}
     */
    public static NdArray allocate(Arena arena, DType dtype, long... shape) {
        return allocate(arena, dtype, Order.C, shape);
    }

    /**
     * {@return a new zero-filled array in {@code arena}, in {@code order}, aligned to 64 bytes}
     *
     * @param arena the arena that owns the new memory
     * @param dtype the element type
     * @param order {@link Order#C} (row-major) or {@link Order#F} (column-major)
     * @param shape the size of each dimension
     * @throws IllegalArgumentException when a dimension is negative, there are more than
     *         {@value #MAX_NDIM} dimensions, or the byte size overflows a {@code long}
     */
    public static NdArray allocate(Arena arena, DType dtype, Order order, long... shape) {
        Objects.requireNonNull(arena, "arena");
        Objects.requireNonNull(dtype, "dtype");
        Objects.requireNonNull(order, "order");
        return allocate(arena, dtype, order, shape, true);
    }

    /**
     * As {@link #allocate(Arena, DType, Order, long...)} without zeroing (see
     * {@link Allocation}), for a result the caller fills in full before
     * anyone sees it.
     */
    static NdArray allocateUnfilled(Arena arena, DType dtype, Order order, long[] shape) {
        return allocate(arena, dtype, order, shape, false);
    }

    private static NdArray allocate(Arena arena, DType dtype, Order order, long[] shape, boolean zeroed) {
        long[] dims = Geometry.checkShape(shape);
        long byteSize = Math.max(Geometry.byteSize(dims, dtype.byteSize()), 1);
        MemorySegment segment = zeroed ? Allocation.zeroed(arena, byteSize, Geometry.ALLOCATION_ALIGNMENT)
                : Allocation.uninitialized(arena, byteSize, Geometry.ALLOCATION_ALIGNMENT);
        long[] strides = Geometry.contiguousStrides(dims, dtype.byteSize(), order);
        return new NdArray(segment, 0, dims, strides, dtype, false, segment);
    }

    /**
     * {@return a 1-d view of the whole segment ({@code numpy.frombuffer})}
     *
     * @param segment the memory to view
     * @param dtype the element type
     * @throws IllegalArgumentException when the segment's size is not a multiple of the dtype's size
     */
    public static NdArray of(MemorySegment segment, DType dtype) {
        return ofOwned(segment, dtype, null);
    }

    /** {@link #of(MemorySegment, DType)}, the view keeping {@code owner} reachable (and naming it when the memory is gone). */
    static NdArray ofOwned(MemorySegment segment, DType dtype, Object owner) {
        Objects.requireNonNull(segment, "segment");
        Objects.requireNonNull(dtype, "dtype");
        long itemSize = dtype.byteSize();
        if (segment.byteSize() % itemSize != 0) {
            throw new IllegalArgumentException("segment of " + segment.byteSize() + " bytes is not a whole number of "
                    + dtype.str() + " elements (" + itemSize + " bytes each); slice it to a multiple first");
        }
        // The whole segment, packed: the checks of of(segment, dtype, shape) hold by construction.
        return new NdArray(segment, 0, 1, segment.byteSize() / itemSize, 0, itemSize, 0, dtype, false, owner);
    }

    /**
     * {@return a C-contiguous view of the first {@code product(shape) * itemsize} bytes of the segment}
     *
     * @param segment the memory to view
     * @param dtype the element type
     * @param shape the size of each dimension
     * @throws IllegalArgumentException when the segment is shorter than that, or the shape is invalid
     */
    public static NdArray of(MemorySegment segment, DType dtype, long... shape) {
        Objects.requireNonNull(segment, "segment");
        Objects.requireNonNull(dtype, "dtype");
        long[] dims = Geometry.checkShape(shape);
        long need = Geometry.byteSize(dims, dtype.byteSize());
        if (need > segment.byteSize()) {
            throw new IllegalArgumentException("shape " + Errors.shape(dims) + " of " + dtype.str() + " needs " + need
                    + " bytes, but the segment has " + segment.byteSize());
        }
        return new NdArray(segment, 0, dims, Geometry.contiguousStrides(dims, dtype.byteSize(), Order.C), dtype, false, null);
    }

    /**
     * {@return a view with any shape and byte strides over {@code segment}, as NumPy's
     * {@code as_strided} or {@code ndarray(shape, dtype, buffer, offset, strides)},
     * after proving that every byte it can reach lies inside the segment}
     * A view whose elements may overlap (a zero stride, or strides too short
     * for the elements between them) is read-only; see
     * {@link #asStrided(MemorySegment, DType, long, long[], long[], Overlap)}.
     *
     * @param segment the memory to view
     * @param dtype the element type
     * @param byteOffset offset of element {@code [0, ..., 0]} from the start of the segment
     * @param shape the size of each dimension
     * @param byteStrides byte distance between neighbours along each dimension (may be negative or zero)
     * @throws IllegalArgumentException naming the reachable byte range and the segment's size when the
     *         view would reach outside it, or when shape and strides differ in length, a dimension is
     *         negative, there are more than {@value #MAX_NDIM} dimensions, or an extent overflows
     */
    public static NdArray asStrided(MemorySegment segment, DType dtype, long byteOffset, long[] shape, long[] byteStrides) {
        return asStrided(segment, dtype, byteOffset, shape, byteStrides, Overlap.READ_ONLY);
    }

    /**
     * As {@link #asStrided(MemorySegment, DType, long, long[], long[])}, choosing
     * what happens when elements may overlap.
     *
     * @param segment the memory to view
     * @param dtype the element type
     * @param byteOffset byte offset of element {@code [0, ..., 0]}
     * @param shape the size of each dimension
     * @param byteStrides byte distance between neighbours along each dimension (may be negative or zero)
     * @param overlap whether a view whose elements may overlap is read-only (the default) or may be written
     * @return the view
     */
    public static NdArray asStrided(MemorySegment segment, DType dtype, long byteOffset, long[] shape, long[] byteStrides,
                                    Overlap overlap) {
        Objects.requireNonNull(segment, "segment");
        Objects.requireNonNull(dtype, "dtype");
        Objects.requireNonNull(overlap, "overlap");
        long[] dims = Geometry.checkShape(shape);
        Geometry.byteSize(dims, dtype.byteSize());   // refuses shapes whose byte size overflows, even empty ones
        Objects.requireNonNull(byteStrides, "byteStrides");
        if (byteStrides.length != dims.length) {
            throw new IllegalArgumentException("shape " + Errors.shape(dims) + " has " + dims.length + " dimensions but "
                    + byteStrides.length + " strides were given " + Errors.list(byteStrides));
        }
        long[] st = byteStrides.clone();
        Geometry.checkInside(segment.byteSize(), byteOffset, dims, st, dtype.byteSize());
        boolean overlapping = Geometry.mayOverlap(dims, st, dtype.byteSize());
        boolean ro = overlapping && overlap == Overlap.READ_ONLY;
        return new NdArray(segment, byteOffset, dims, st, dtype, ro, null);
    }

    /**
     * {@return a view of an existing view's memory with any shape and strides, checked
     * against the whole segment of {@code base} (as {@code as_strided(base, ...)}
     * is relative to {@code base}'s first element)}
     *
     * @param base the view whose memory the new view reads
     * @param byteOffset offset from {@code base}'s element {@code [0, ..., 0]}
     * @param shape the size of each dimension
     * @param byteStrides byte distance between neighbours along each dimension (may be negative or zero)
     */
    public static NdArray asStrided(NdArray base, long byteOffset, long[] shape, long[] byteStrides) {
        Objects.requireNonNull(base, "base");
        long start;
        try {
            start = Math.addExact(base.byteOffset, byteOffset);
        } catch (ArithmeticException e) {
            // An IllegalArgumentException naming the values, like every other bad geometry.
            throw new IllegalArgumentException("byte offset " + byteOffset + " from the view's element 0 (at byte "
                    + base.byteOffset + " of its segment) overflows a long", e);
        }
        NdArray v = asStrided(base.segment, base.dtype, start, shape, byteStrides);
        return base.readOnly && !v.readOnly ? v.asReadOnly() : v;
    }

    /**
     * {@return a view of a Java {@code byte[]} as {@code dtype} elements in C order (no copy)}
     *
     * @param data the array whose elements the view reads and writes; not copied
     * @param dtype the element type
     * @param shape the size of each dimension
     */
    public static NdArray wrap(byte[] data, DType dtype, long... shape) {
        return of(MemorySegment.ofArray(data), dtype, shapeOrAll(shape, data.length, dtype.byteSize()));
    }

    /**
     * {@return a view of a {@code byte[]} as int8 elements, shape {@code (data.length,)} unless given (no copy)}
     *
     * @param data the array whose elements the view reads and writes; not copied
     * @param shape the size of each dimension
     */
    public static NdArray wrap(byte[] data, long... shape) {
        return wrap(data, DType.INT8, shape);
    }

    /**
     * {@return a view of a {@code short[]} as native-order int16, shape {@code (data.length,)} unless given (no copy)}
     *
     * @param data the array whose elements the view reads and writes; not copied
     * @param shape the size of each dimension
     */
    public static NdArray wrap(short[] data, long... shape) {
        return of(MemorySegment.ofArray(data), DType.INT16, shapeOrAll(shape, data.length, 1));
    }

    /**
     * {@return a view of a {@code char[]} as native-order uint16, shape {@code (data.length,)} unless given (no copy)}
     *
     * @param data the array whose elements the view reads and writes; not copied
     * @param shape the size of each dimension
     */
    public static NdArray wrap(char[] data, long... shape) {
        return of(MemorySegment.ofArray(data), DType.UINT16, shapeOrAll(shape, data.length, 1));
    }

    /**
     * {@return a view of an {@code int[]} as native-order int32, shape {@code (data.length,)} unless given (no copy)}
     *
     * @param data the array whose elements the view reads and writes; not copied
     * @param shape the size of each dimension
     */
    public static NdArray wrap(int[] data, long... shape) {
        return of(MemorySegment.ofArray(data), DType.INT32, shapeOrAll(shape, data.length, 1));
    }

    /**
     * {@return a view of a {@code long[]} as native-order int64, shape {@code (data.length,)} unless given (no copy)}
     *
     * @param data the array whose elements the view reads and writes; not copied
     * @param shape the size of each dimension
     */
    public static NdArray wrap(long[] data, long... shape) {
        return of(MemorySegment.ofArray(data), DType.INT64, shapeOrAll(shape, data.length, 1));
    }

    /**
     * {@return a view of a {@code float[]} as native-order float32, shape {@code (data.length,)} unless given (no copy)}
     *
     * @param data the array whose elements the view reads and writes; not copied
     * @param shape the size of each dimension
     */
    public static NdArray wrap(float[] data, long... shape) {
        return of(MemorySegment.ofArray(data), DType.FLOAT32, shapeOrAll(shape, data.length, 1));
    }

    /**
     * {@return a view of a {@code double[]} as native-order float64, shape {@code (data.length,)} unless given (no copy)}
     *
     * @param data the array whose elements the view reads and writes; not copied
     * @param shape the size of each dimension
     */
    public static NdArray wrap(double[] data, long... shape) {
        return of(MemorySegment.ofArray(data), DType.FLOAT64, shapeOrAll(shape, data.length, 1));
    }

    /**
     * A new bool array holding a copy of {@code data} (one byte per element, 1
     * for {@code true}), shape {@code (data.length,)} unless given, in memory
     * managed by the garbage collector. There is no {@code wrap(boolean[])}:
     * the JVM does not expose a {@code boolean[]} as memory (FFM has no
     * {@code MemorySegment.ofArray(boolean[])}), so no view of one can exist.
     * For a view whose writes reach a Java array, wrap a {@code byte[]} as
     * {@link DType#BOOL}: {@code wrap(bytes, DType.BOOL)}.
     *
     * @param data the values to copy
     * @param shape the shape, whose product must be {@code data.length}; none for {@code (data.length,)}
     * @return a C-order bool array of the values
     * @throws IllegalArgumentException when the shape does not hold exactly {@code data.length} elements
     */
    public static NdArray copyOf(boolean[] data, long... shape) {
        Objects.requireNonNull(data, "data");
        long[] dims = shape == null || shape.length == 0 ? new long[] {data.length} : Geometry.checkShape(shape);
        long count = Geometry.byteSize(dims, 1);
        if (count != data.length) {
            throw new IllegalArgumentException("copyOf: shape " + Errors.shape(dims) + " holds " + count
                    + " elements, but data has " + data.length + " values");
        }
        byte[] bytes = new byte[data.length];
        for (int i = 0; i < data.length; i++) {
            bytes[i] = data[i] ? (byte) 1 : (byte) 0;
        }
        return wrap(bytes, DType.BOOL, dims);
    }

    /**
     * {@return a view of the bytes between a buffer's position and limit as {@code dtype}
     * elements in C order (no copy; heap or direct; read-only buffers give
     * read-only views)} The buffer's own byte order is ignored: the dtype says it.
     *
     * @param buffer the buffer whose remaining bytes the view reads; not copied, its position unchanged
     * @param dtype the element type
     * @param shape the size of each dimension
     */
    public static NdArray of(ByteBuffer buffer, DType dtype, long... shape) {
        Objects.requireNonNull(buffer, "buffer");
        MemorySegment segment = MemorySegment.ofBuffer(buffer);
        return shape.length == 0 && dtype != null && segment.byteSize() != dtype.byteSize()
                ? of(segment, dtype)
                : of(segment, dtype, shape);
    }

    private static long[] shapeOrAll(long[] shape, long length, long itemSize) {
        if (shape != null && shape.length > 0) {
            return shape;
        }
        if (length % itemSize != 0) {
            throw new IllegalArgumentException("array of " + length + " bytes is not a whole number of " + itemSize
                    + "-byte elements; pass a shape");
        }
        return new long[] {length / itemSize};
    }

    // ------------------------------------------------------------------ properties

    /**
     * {@return the memory this view reads: the whole segment, not just the reachable
     * part} The segment of a {@linkplain #isReadOnly() read-only} view is itself
     * read-only ({@link MemorySegment#isReadOnly()}), so no route through it can
     * write the memory.
     */
    public MemorySegment segment() {
        return segment;
    }

    /** {@return offset of element {@code [0, ..., 0]} from the start of {@link #segment()}} */
    public long byteOffset() {
        return byteOffset;
    }

    /** {@return the element type} */
    public DType dtype() {
        return dtype;
    }

    /** {@return number of dimensions (0 for a scalar view)} */
    public int ndim() {
        return ndim;
    }

    /** {@return the size of each dimension (a copy)} */
    public long[] shape() {
        return shape != null ? shape.clone() : pack(d0, d1);
    }

    /**
     * {@return the size of dimension {@code axis} (negative counts from the end)}
     *
     * @param axis the axis (negative counts from the end)
     */
    public long shape(int axis) {
        return dim(normalizeAxis(axis, ndim));
    }

    /** {@return byte distance between neighbours along each dimension (a copy); may be negative or zero} */
    public long[] byteStrides() {
        return strides != null ? strides.clone() : pack(s0, s1);
    }

    /**
     * {@return byte stride of dimension {@code axis} (negative counts from the end)}
     *
     * @param axis the axis (negative counts from the end)
     */
    public long byteStride(int axis) {
        return stride(normalizeAxis(axis, ndim));
    }

    /** {@return number of elements: the product of the shape} */
    public long elementCount() {
        // Computed, not stored: a view is allocation-bound to make, and this is rarely asked.
        if (shape == null) {
            return ndim == 0 ? 1 : ndim == 1 ? d0 : d0 * d1;
        }
        long count = 1;
        for (long d : shape) {
            count *= d;   // cannot overflow: checked by Geometry before any view exists
        }
        return count;
    }

    /** {@return bytes the elements occupy: {@code elementCount() * dtype().byteSize()} (NumPy's {@code nbytes})} */
    public long byteSize() {
        return elementCount() * dtype.byteSize();
    }

    /** {@return true when writes through this view are refused} */
    public boolean isReadOnly() {
        return readOnly;
    }

    /**
     * {@return NumPy's {@code C_CONTIGUOUS} / {@code F_CONTIGUOUS} flag: the elements
     * are packed in that order, ignoring the strides of size-1 dimensions;
     * arrays with no elements are contiguous in both orders}
     *
     * @param order {@link Order#C} (row-major) or {@link Order#F} (column-major)
     */
    public boolean isContiguous(Order order) {
        int f = flags;
        if (f == FLAGS_UNKNOWN) {
            f = Geometry.contiguityFlags(shapeRef(), stridesRef(), dtype.byteSize());
            flags = f;
        }
        return (f & (order == Order.C ? C_CONTIGUOUS : F_CONTIGUOUS)) != 0;
    }

    /**
     * {@return true when every element's address is a multiple of the dtype's alignment
     * (NumPy's {@code ALIGNED} flag)} Heap views report their alignment within
     * the Java array.
     */
    public boolean isAligned() {
        long align = dtype.byteAlignment();
        long base = segment.isNative() ? segment.address() : 0;
        if (Math.floorMod(base + byteOffset, align) != 0) {
            return false;
        }
        for (int i = 0; i < ndim; i++) {
            if (dim(i) > 1 && Math.floorMod(stride(i), align) != 0) {
                return false;
            }
        }
        return true;
    }

    /**
     * {@return the native address of element {@code [0, ..., 0]}}
     *
     * @throws UnsupportedOperationException when the memory is on the Java heap
     */
    public long address() {
        if (!segment.isNative()) {
            throw new UnsupportedOperationException("this array lives on the Java heap and has no stable native address;"
                    + " allocate it off-heap (NdArray.allocate) or copy it there");
        }
        return segment.address() + byteOffset;
    }

    // ------------------------------------------------------------------ views

    /** {@return the same view, refusing writes} */
    public NdArray asReadOnly() {
        return readOnly ? this : new NdArray(this, byteOffset, dtype, true);
    }

    /**
     * NumPy basic indexing: integers (negative count from the end) drop their
     * axis, {@link Slice}s keep it, {@link Index#newAxis()} inserts a size-1
     * axis, one {@link Index#ellipsis()} stands for the axes not mentioned, and
     * unmentioned trailing axes are taken whole. The result shares memory.
     *
     * @param index one item per indexed axis, as between NumPy's brackets
     * @return the view (a 0-d view when every axis got an integer)
     * @throws IndexOutOfBoundsException naming the axis and size when an integer index is out of range
     * @throws IllegalArgumentException when more axes are indexed than the array has, or there are two ellipses
     */
    public NdArray get(Index... index) {
        Objects.requireNonNull(index, "index");
        if (ndim <= 2 && index.length <= ndim
                && (index.length < 1 || isAxisIndex(index[0])) && (index.length < 2 || isAxisIndex(index[1]))) {
            return indexSmall(index.length > 0 ? index[0] : null, index.length > 1 ? index[1] : null);
        }
        int consuming = 0;
        int ellipses = 0;
        int newAxes = 0;
        int integers = 0;
        for (Index ix : index) {
            Objects.requireNonNull(ix, "index item");
            if (ix instanceof Index.Ellipsis) {
                ellipses++;
            } else if (ix instanceof Index.NewAxis) {
                newAxes++;
            } else {
                consuming++;
                if (ix instanceof Index.At) {
                    integers++;
                }
            }
        }
        if (ellipses > 1) {
            throw new IllegalArgumentException("an index can have only one ellipsis ('...'), got " + ellipses);
        }
        if (consuming > ndim) {
            throw new IllegalArgumentException("too many indices: the array has " + ndim + " dimension"
                    + (ndim == 1 ? "" : "s") + " but " + consuming + " were indexed");
        }
        int outNdim = ndim - integers + newAxes;
        if (outNdim > MAX_NDIM) {
            throw Errors.tooManyDimensions(outNdim);
        }
        long[] outShape = new long[outNdim];
        long[] outStrides = new long[outNdim];
        long offset = byteOffset;
        int axis = 0;
        int out = 0;
        for (Index ix : index) {
            switch (ix) {
                case Index.Ellipsis e -> {
                    int span = ndim - consuming;
                    for (int k = 0; k < span; k++, axis++, out++) {
                        outShape[out] = dim(axis);
                        outStrides[out] = stride(axis);
                    }
                }
                case Index.NewAxis n -> {
                    outShape[out] = 1;
                    outStrides[out] = 0;
                    out++;
                }
                case Index.At at -> {
                    offset += resolve(at, axis, dim(axis)) * stride(axis);
                    axis++;
                }
                case Slice s -> {
                    long[] r = s.resolve(dim(axis));
                    long count = r[2];
                    if (count > 0) {
                        // NumPy leaves the offset and stride alone for an empty slice.
                        offset += r[0] * stride(axis);
                        outStrides[out] = stride(axis) * r[1];
                    } else {
                        outStrides[out] = stride(axis);
                    }
                    outShape[out] = count;
                    axis++;
                    out++;
                }
            }
        }
        for (; axis < ndim; axis++, out++) {
            outShape[out] = dim(axis);
            outStrides[out] = stride(axis);
        }
        return new NdArray(segment, offset, outShape, outStrides, dtype, readOnly, owner);
    }

    /**
     * {@link #get(Index...)} with one index item, without allocating the varargs array.
     *
     * @param index the index item of axis 0
     * @return the view
     */
    public NdArray get(Index index) {
        if (ndim >= 1 && ndim <= 2 && isAxisIndex(index)) {
            return indexSmall(index, null);
        }
        return get(new Index[] {index});
    }

    /**
     * {@link #get(Index...)} with two index items, without allocating the varargs array.
     *
     * @param first the index item of axis 0
     * @param second the index item of axis 1
     * @return the view
     */
    public NdArray get(Index first, Index second) {
        if (ndim == 2 && isAxisIndex(first) && isAxisIndex(second)) {
            return indexSmall(first, second);
        }
        return get(new Index[] {first, second});
    }

    /** The index {@code at} names on an axis of {@code size}, negative counting from the end (Python's rule). */
    private static long resolve(Index.At at, int axis, long size) {
        long i = at.index();
        long resolved = i < 0 ? i + size : i;
        if (resolved < 0 || resolved >= size) {
            throw Errors.indexOutOfRange(i, axis, size);
        }
        return resolved;
    }

    // True for an item that selects within one axis: an integer or a slice. Ellipses,
    // new axes and nulls (refused there) take the general path.
    private static boolean isAxisIndex(Index item) {
        return item instanceof Slice || item instanceof Index.At;
    }

    /**
     * get(Index...) for a view of up to two dimensions indexed by integers and
     * slices only (second may be null: no item, its axis is taken whole), with the same results, computed
     * without the intermediate shape and stride arrays.
     */
    private NdArray indexSmall(Index first, Index second) {
        long offset = byteOffset;
        int out = 0;
        long od0 = 0, od1 = 0, os0 = 0, os1 = 0;
        for (int axis = 0; axis < ndim; axis++) {
            Index item = axis == 0 ? first : second;
            long size = axis == 0 ? d0 : d1;
            long stride = axis == 0 ? s0 : s1;
            long outSize = size;
            long outStride = stride;
            if (item instanceof Index.At at) {
                offset += resolve(at, axis, size) * stride;
                continue;
            }
            if (item instanceof Slice s) {
                long[] r = s.resolve(size);
                outSize = r[2];
                if (outSize > 0) {
                    // NumPy leaves the offset and stride alone for an empty slice.
                    offset += r[0] * stride;
                    outStride = stride * r[1];
                }
            }
            if (out == 0) {
                od0 = outSize;
                os0 = outStride;
            } else {
                od1 = outSize;
                os1 = outStride;
            }
            out++;
        }
        return new NdArray(segment, offset, out, od0, od1, os0, os1, dtype, readOnly, owner);
    }

    /**
     * NumPy basic indexing written as in Python: {@code "1, ::2"},
     * {@code "..., -1"}, {@code ":, newaxis"} ({@code None} also means a new axis).
     *
     * @param index the text between NumPy's brackets
     * @return the view, as {@link #get(Index...)} makes it
     * @throws IllegalArgumentException quoting the text when an item is not an integer, slice,
     *         {@code ...} or {@code newaxis}, and as {@link #get(Index...)}
     */
    public NdArray get(String index) {
        return get(parseIndex(index));
    }

    static Index[] parseIndex(String text) {
        Objects.requireNonNull(text, "index");
        String body = text.strip();
        if (body.startsWith("[") && body.endsWith("]")) {
            body = body.substring(1, body.length() - 1);
        }
        if (body.isBlank()) {
            return new Index[0];
        }
        String[] items = body.split(",", -1);
        List<Index> out = new ArrayList<>(items.length);
        for (int k = 0; k < items.length; k++) {
            String item = items[k].strip();
            if (item.isEmpty()) {
                if (k == items.length - 1 && k > 0) {
                    continue; // trailing comma, as in a[1,]
                }
                throw new IllegalArgumentException("empty item " + k + " in index \"" + text + "\"");
            }
            if (item.equals("...") || item.equals("Ellipsis")) {
                out.add(Index.ellipsis());
            } else if (item.equals("newaxis") || item.equals("None") || item.equals("np.newaxis")) {
                out.add(Index.newAxis());
            } else if (item.indexOf(':') >= 0) {
                out.add(Slice.parse(item));
            } else {
                try {
                    out.add(Index.at(Long.parseLong(item)));
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException("item " + k + " of index \"" + text + "\" is \"" + item
                            + "\": expected an integer, a slice like 1:-1:2, ... or newaxis", e);
                }
            }
        }
        return out.toArray(Index[]::new);
    }

    /** {@return the view with its axes reversed ({@code a.T})} */
    public NdArray transpose() {
        if (ndim <= 2) {
            return ndim < 2 ? new NdArray(this, byteOffset, dtype, readOnly)
                    : new NdArray(segment, byteOffset, 2, d1, d0, s1, s0, dtype, readOnly, owner);
        }
        long[] sh = new long[ndim];
        long[] st = new long[ndim];
        for (int i = 0; i < ndim; i++) {
            sh[i] = shape[ndim - 1 - i];
            st[i] = strides[ndim - 1 - i];
        }
        return new NdArray(segment, byteOffset, sh, st, dtype, readOnly, owner);
    }

    /**
     * {@return the view with its axes permuted: axis {@code i} of the result is axis
     * {@code axes[i]} of this array (negative axes count from the end)}
     *
     * @param axes the new order of the axes
     * @throws IllegalArgumentException when axes is not a permutation of this array's axes
     */
    public NdArray transpose(int... axes) {
        Objects.requireNonNull(axes, "axes");
        if (axes.length != ndim) {
            throw new IllegalArgumentException("transpose needs " + ndim + " axes for an array of " + ndim
                    + " dimension" + (ndim == 1 ? "" : "s") + ", got " + axes.length + " " + Arrays.toString(axes));
        }
        long[] sh = new long[ndim];
        long[] st = new long[ndim];
        boolean[] seen = new boolean[ndim];
        for (int i = 0; i < ndim; i++) {
            int a = normalizeAxis(axes[i], ndim);
            if (seen[a]) {
                throw new IllegalArgumentException("axis " + axes[i] + " repeats in transpose " + Arrays.toString(axes));
            }
            seen[a] = true;
            sh[i] = dim(a);
            st[i] = stride(a);
        }
        return new NdArray(segment, byteOffset, sh, st, dtype, readOnly, owner);
    }

    /**
     * {@return the view with two axes exchanged}
     *
     * @param axis1 one axis (negative counts from the end)
     * @param axis2 the other axis (negative counts from the end)
     */
    public NdArray swapAxes(int axis1, int axis2) {
        int a = normalizeAxis(axis1, ndim);
        int b = normalizeAxis(axis2, ndim);
        int[] perm = new int[ndim];
        for (int i = 0; i < ndim; i++) {
            perm[i] = i;
        }
        perm[a] = b;
        perm[b] = a;
        return transpose(perm);
    }

    /**
     * {@return the same elements, read in C order, with a new shape; one dimension may
     * be {@code -1} and is then inferred} A view whenever NumPy's
     * {@code reshape} would make one.
     *
     * @param newShape the new size of each dimension; one may be -1 (inferred)
     * @throws IllegalArgumentException when the element counts differ, more than one dimension
     *         is {@code -1}, or the strides allow no view; the message then says to call
     *         {@code copy(Order.C).reshape(...)}
     */
    public NdArray reshape(long... newShape) {
        return reshape(Order.C, newShape);
    }

    /**
     * {@link #reshape(long...)} to one dimension, without allocating the varargs array.
     *
     * @param length the one dimension; -1 for every element
     * @return the view, as {@link #reshape(long...)} makes it
     */
    public NdArray reshape(long length) {
        if (length > 0 && length == elementCount() && ndim != 1 && isContiguous(Order.C)) {
            return new NdArray(segment, byteOffset, 1, length, 0, dtype.byteSize(), 0, dtype, readOnly, owner);
        }
        return reshape(Order.C, new long[] {length});
    }

    /**
     * {@link #reshape(long...)} to two dimensions, without allocating the varargs array.
     *
     * @param rows the first dimension; -1 to infer it
     * @param columns the second dimension; -1 to infer it
     * @return the view, as {@link #reshape(long...)} makes it
     */
    public NdArray reshape(long rows, long columns) {
        // A packed source with elements gets packed strides; everything else (-1, empty
        // arrays whose byte size may overflow, strided sources) takes the general path.
        if (rows > 0 && columns > 0 && Math.multiplyHigh(rows, columns) == 0 && rows * columns == elementCount()
                && !(ndim == 2 && rows == d0 && columns == d1) && isContiguous(Order.C)) {
            long item = dtype.byteSize();
            return new NdArray(segment, byteOffset, 2, rows, columns, columns * item, item, dtype, readOnly, owner);
        }
        return reshape(Order.C, new long[] {rows, columns});
    }

    /**
     * As {@link #reshape(long...)}, reading and placing the elements in {@code order}
     * (NumPy's {@code reshape(..., order='F')} for {@link Order#F}).
     *
     * @param order {@link Order#C} (row-major) or {@link Order#F} (column-major)
     * @param newShape the new size of each dimension; one may be -1 (inferred)
     * @return the view
     */
    public NdArray reshape(Order order, long... newShape) {
        Objects.requireNonNull(order, "order");
        Objects.requireNonNull(newShape, "newShape");
        if (newShape.length > MAX_NDIM) {
            throw Errors.tooManyDimensions(newShape.length);
        }
        if (hasShape(newShape)) {
            return this;
        }
        long[] shape = shapeRef();
        long[] strides = stridesRef();
        long[] dims = Geometry.resolveReshape(shape, elementCount(), newShape);
        Geometry.byteSize(dims, dtype.byteSize());   // an empty target may still overflow: (0, 2^62, 2^62)
        long[] st;
        if (isContiguous(order)) {
            st = Geometry.contiguousStrides(dims, dtype.byteSize(), order);
        } else {
            st = Geometry.reshapeStrides(shape, strides, dtype.byteSize(), dims, order);
            if (st == null) {
                throw new IllegalArgumentException("reshape of " + Errors.shape(shape) + " with strides "
                        + Errors.shape(strides) + " to " + Errors.shape(dims) + " needs a copy: the elements are not laid out"
                        + " evenly enough for a view; call copy(Order." + order + ").reshape(...) to copy explicitly");
            }
        }
        return new NdArray(segment, byteOffset, dims, st, dtype, readOnly, owner);
    }

    /**
     * {@return a read-only view with {@code newShape}, repeating this array along new
     * leading axes and along axes of size 1 with stride 0 ({@code numpy.broadcast_to})}
     *
     * @param newShape the shape to broadcast to
     * @throws IllegalArgumentException naming the axis when a dimension is neither equal nor 1
     */
    public NdArray broadcastTo(long... newShape) {
        long[] dims = Geometry.checkShape(newShape);
        Geometry.byteSize(dims, dtype.byteSize());
        if (dims.length < ndim) {
            throw new IllegalArgumentException("cannot broadcast shape " + Errors.shape(shapeRef()) + " to "
                    + Errors.shape(dims) + ": the target has fewer dimensions");
        }
        long[] st = new long[dims.length];
        int lead = dims.length - ndim;
        for (int i = 0; i < ndim; i++) {
            long from = dim(i);
            long to = dims[lead + i];
            // A size-1 source axis gets stride 0 even when the target keeps size 1:
            // NumPy's broadcast_to does the same (its nditer zeroes every size-1
            // operand axis), e.g. shape (1, 3) strides (100, 8) -> strides (0, 8).
            if (from == to && from != 1) {
                st[lead + i] = stride(i);
            } else if (from == 1) {
                st[lead + i] = 0;
            } else {
                throw new IllegalArgumentException("cannot broadcast shape " + Errors.shape(shapeRef()) + " to "
                        + Errors.shape(dims) + ": axis " + i + " has size " + from + ", which must be 1 or " + to);
            }
        }
        return new NdArray(segment, byteOffset, dims, st, dtype, true, owner);
    }

    /** {@return the view without its size-1 axes} */
    public NdArray squeeze() {
        int kept = 0;
        for (int i = 0; i < ndim; i++) {
            if (dim(i) != 1) {
                kept++;
            }
        }
        long[] sh = new long[kept];
        long[] st = new long[kept];
        for (int i = 0, o = 0; i < ndim; i++) {
            if (dim(i) != 1) {
                sh[o] = dim(i);
                st[o] = stride(i);
                o++;
            }
        }
        return new NdArray(segment, byteOffset, sh, st, dtype, readOnly, owner);
    }

    /**
     * {@return the view without the given axes, each of which must have size 1}
     *
     * @param axes the size-1 axes to drop (negative counts from the end)
     * @throws IllegalArgumentException naming the axis and its size otherwise
     */
    public NdArray squeeze(int... axes) {
        boolean[] drop = new boolean[ndim];
        for (int axis : axes) {
            int a = normalizeAxis(axis, ndim);
            if (dim(a) != 1) {
                throw new IllegalArgumentException("cannot squeeze axis " + axis + ": its size is " + dim(a) + ", not 1");
            }
            if (drop[a]) {
                throw new IllegalArgumentException("axis " + axis + " repeats in squeeze " + Arrays.toString(axes));
            }
            drop[a] = true;
        }
        int kept = 0;
        for (boolean d : drop) {
            if (!d) {
                kept++;
            }
        }
        long[] sh = new long[kept];
        long[] st = new long[kept];
        for (int i = 0, o = 0; i < ndim; i++) {
            if (!drop[i]) {
                sh[o] = dim(i);
                st[o] = stride(i);
                o++;
            }
        }
        return new NdArray(segment, byteOffset, sh, st, dtype, readOnly, owner);
    }

    /**
     * {@return the view with a size-1 axis inserted at {@code axis} (of the result;
     * negative counts from the end), as {@code numpy.expand_dims}, which
     * reshapes, so the new axis gets the stride NumPy's reshape gives it}
     *
     * @param axis the axis (negative counts from the end)
     */
    public NdArray expandDims(int axis) {
        if (ndim + 1 > MAX_NDIM) {
            throw Errors.tooManyDimensions(ndim + 1);
        }
        int a = normalizeAxis(axis, ndim + 1);
        long[] sh = new long[ndim + 1];
        for (int i = 0, o = 0; i <= ndim; i++) {
            sh[i] = i == a ? 1 : dim(o++);
        }
        return reshape(sh);
    }

    /**
     * {@return the view of one field of a record dtype, as {@code a['x']} in NumPy:
     * same shape and strides, the field's dtype, offset by the field's position}
     *
     * @param name the field's name
     * @throws IllegalArgumentException listing the field names when there is no such field,
     *         or when the dtype is not a record
     */
    public NdArray field(String name) {
        DType.Field f = dtype.field(name);
        return new NdArray(this, byteOffset + f.byteOffset(), f.dtype(), readOnly);
    }

    /**
     * {@return the same memory as a view of another dtype of the same byte size
     * ({@code a.view(dtype)} in NumPy when the sizes agree): reinterprets, converts nothing}
     *
     * @param newType the dtype to read the bytes as
     * @throws IllegalArgumentException when the byte sizes differ
     */
    public NdArray view(DType newType) {
        Objects.requireNonNull(newType, "dtype");
        if (newType.byteSize() != dtype.byteSize()) {
            throw new IllegalArgumentException("view as " + newType.str() + " (" + newType.byteSize() + " bytes) needs the same element"
                    + " size as " + dtype.str() + " (" + dtype.byteSize() + " bytes)");
        }
        return new NdArray(this, byteOffset, newType, readOnly);
    }

    static int normalizeAxis(long axis, int ndim) {
        long a = axis < 0 ? axis + ndim : axis;
        if (a < 0 || a >= ndim) {
            throw Errors.axisOutOfRange(axis, ndim);
        }
        return (int) a;
    }

    /**
     * {@return byte offset in {@link #segment()} of the element at {@code indices}, bounds-checked}
     *
     * @param indices one index per axis
     */
    public long byteOffsetOf(long... indices) {
        return offsetOfAll(indices);
    }

    // ------------------------------------------------------------------ VarHandle

    /**
     * {@return a {@link VarHandle} whose coordinates are this view's {@link #ndim()}
     * {@code long} indices and whose value type is the dtype's carrier
     * ({@link DType#carrier()}); it checks each index like the typed accessors
     * and refuses writes (and atomic updates) on read-only views} Volatile and
     * atomic access modes ({@code compareAndSet}, {@code getAndAdd}, ...) work
     * when every element is aligned ({@link #isAligned()}) in memory that
     * guarantees it; otherwise they throw {@link UnsupportedOperationException},
     * as FFM does for unaligned access. Keep it in a
     * {@code static final} field, or otherwise constant, for the JIT to inline it.
     *
     * @throws IllegalArgumentException for record and bytes dtypes, which have no single carrier
     */
    public VarHandle varHandle() {
        if (dtype.carrier() == null) {
            throw new IllegalArgumentException("dtype " + dtype + " has no single Java carrier; take varHandle() of a field(name) view");
        }
        ValueLayout layout = switch (access) {
            case DType.A_BOOL, DType.A_I8 -> BYTE_LAYOUT;
            case DType.A_I16_LE, DType.A_F16_LE -> SHORT_LE;
            case DType.A_I16_BE, DType.A_F16_BE -> SHORT_BE;
            case DType.A_I32_LE -> INT_LE;
            case DType.A_I32_BE -> INT_BE;
            case DType.A_I64_LE -> LONG_LE;
            case DType.A_I64_BE -> LONG_BE;
            case DType.A_F32_LE -> FLOAT_LE;
            case DType.A_F32_BE -> FLOAT_BE;
            case DType.A_F64_LE -> DOUBLE_LE;
            case DType.A_F64_BE -> DOUBLE_BE;
            default -> throw new AssertionError(access);
        };
        // FFM supports volatile and atomic access modes (compareAndSet, getAndAdd, ...)
        // only through aligned layouts; an unaligned layout's handle throws
        // UnsupportedOperationException for all of them. Use the aligned layout
        // when every element is aligned and the segment guarantees that alignment
        // (a heap byte[] guarantees 1), so atomics work on ordinary arrays.
        if (isAligned() && segment.maxByteAlignment() >= layout.byteSize()) {
            layout = layout.withByteAlignment(layout.byteSize());
        }
        VarHandle raw = layout.varHandle();
        VarHandle vh = MethodHandles.insertCoordinates(raw, 0, segment);   // (long byteOffset)
        vh = MethodHandles.collectCoordinates(vh, 0, VarHandles.offsetFunction(this)); // (long... indices)
        Class<?> stored = vh.varType();
        MethodHandle toStored;
        MethodHandle fromStored;
        if (access == DType.A_BOOL) {
            toStored = VarHandles.BOOLEAN_TO_BYTE;
            fromStored = VarHandles.BYTE_TO_BOOLEAN;
        } else if (access == DType.A_F16_LE || access == DType.A_F16_BE) {
            toStored = VarHandles.FLOAT_TO_HALF;
            fromStored = VarHandles.HALF_TO_FLOAT;
        } else {
            toStored = MethodHandles.identity(stored);
            fromStored = MethodHandles.identity(stored);
        }
        if (readOnly) {
            // Run the thrower before any conversion: every write (and atomic update) fails.
            toStored = MethodHandles.foldArguments(toStored,
                    MethodHandles.dropArguments(VarHandles.READ_ONLY_THROWER, 0, toStored.type().parameterType(0)));
        }
        if (readOnly || toStored.type().parameterType(0) != stored) {
            vh = MethodHandles.filterValue(vh, toStored, fromStored);
        }
        return vh;
    }
    // ------------------------------------------------------------------ copies (by name only)

    /** {@return a C-order copy in memory managed by the garbage collector ({@link Arena#ofAuto()})} */
    public NdArray copy() {
        return copy(Order.C);
    }

    /**
     * {@return a copy in {@code order}, in memory managed by the garbage collector ({@link Arena#ofAuto()})}
     *
     * @param order {@link Order#C} (row-major) or {@link Order#F} (column-major)
     */
    public NdArray copy(Order order) {
        return copy(order, Arena.ofAuto());
    }

    /**
     * {@return a copy in {@code order}, allocated in {@code arena}} Writable even when this view is not.
     *
     * @param order {@link Order#C} (row-major) or {@link Order#F} (column-major)
     * @param arena the arena that owns the new memory
     * @throws IllegalStateException when this view's memory is closed
     */
    public NdArray copy(Order order, Arena arena) {
        Objects.requireNonNull(order, "order");
        Objects.requireNonNull(arena, "arena");
        Copier.checkReadable(this);
        NdArray out = allocateUnfilled(arena, dtype, order, shapeRef());
        Copier.copy(this, out);   // every byte of every element: the memory was not zeroed
        return out;
    }

    /**
     * Copies every element of this view into {@code destination}, which must
     * have the same shape and a dtype of the same kind, size and fields (byte
     * order may differ and is converted). Any two layouts work, including
     * overlapping views of the same memory. Nothing is written when a check fails.
     *
     * @param destination the view the elements are written to
     * @throws IllegalArgumentException naming both shapes or dtypes when they do not match, or when
     *         the destination is read-only
     * @throws IllegalStateException when either memory is closed
     * @throws WrongThreadException when either memory belongs to a confined arena of another thread
     */
    public void copyTo(NdArray destination) {
        Objects.requireNonNull(destination, "destination");
        if (!destination.hasShape(this)) {
            throw new IllegalArgumentException("copyTo needs equal shapes: source " + Errors.shape(shapeRef())
                    + ", destination " + Errors.shape(destination.shapeRef()));
        }
        if (!Copier.sameValueType(dtype, destination.dtype)) {
            throw new IllegalArgumentException("copyTo needs the same element type: source " + dtype + ", destination "
                    + destination.dtype + " (byte order may differ; kind, size and fields may not)");
        }
        if (destination.readOnly) {
            throw Errors.readOnly("copyTo");
        }
        Copier.checkReadable(this);
        Copier.checkReadable(destination);
        Copier.copy(this, destination);
    }

    /**
     * {@return the elements in C order in a new Java array of the dtype's carrier:
     * {@code boolean[]}, {@code byte[]}, {@code short[]}, {@code int[]},
     * {@code long[]}, {@code float[]} (float16 widened exactly) or
     * {@code double[]}} Unsigned elements keep their bits in the signed carrier.
     *
     * @throws IllegalArgumentException when the dtype has no carrier (records, bytes)
     * @throws IllegalStateException when the array has more elements than a Java array holds
     */
    public Object toArray() {
        Class<?> carrier = dtype.carrier();
        if (carrier == null) {
            throw new IllegalArgumentException("toArray() has no Java array type for dtype " + dtype
                    + "; use toBytes(), or field(name).toArray() for one field of a record");
        }
        int n = Copier.javaArrayLength(elementCount());
        long[] shape = shapeRef();
        if (access == DType.A_BOOL) {
            byte[] bytes = new byte[n];
            Copier.copy(this, new NdArray(MemorySegment.ofArray(bytes), 0, shape, Geometry.contiguousStrides(shape, 1, Order.C),
                    dtype, false, null));
            boolean[] out = new boolean[n];
            for (int i = 0; i < n; i++) {
                out[i] = bytes[i] != 0;
            }
            return out;
        }
        if (access == DType.A_F16_LE || access == DType.A_F16_BE) {
            short[] halves = new short[n];
            Copier.copy(this, new NdArray(MemorySegment.ofArray(halves), 0, shape, Geometry.contiguousStrides(shape, 2, Order.C),
                    dtype.withNativeOrder(), false, null));
            float[] out = new float[n];
            for (int i = 0; i < n; i++) {
                out[i] = Float.float16ToFloat(halves[i]);
            }
            return out;
        }
        Object array = java.lang.reflect.Array.newInstance(carrier, n);
        MemorySegment target = switch (array) {
            case byte[] a -> MemorySegment.ofArray(a);
            case short[] a -> MemorySegment.ofArray(a);
            case int[] a -> MemorySegment.ofArray(a);
            case long[] a -> MemorySegment.ofArray(a);
            case float[] a -> MemorySegment.ofArray(a);
            case double[] a -> MemorySegment.ofArray(a);
            default -> throw new AssertionError(carrier);
        };
        Copier.copy(this, new NdArray(target, 0, shape, Geometry.contiguousStrides(shape, dtype.byteSize(), Order.C),
                dtype.withNativeOrder(), false, null));
        return array;
    }

    /**
     * {@link #toArray()} for float32 and float16 arrays.
     *
     * @return a new array of the elements in C order
     * @throws IllegalArgumentException for other dtypes
     */
    public float[] toFloatArray() {
        return carrierArray(float[].class, "toFloatArray");
    }

    /**
     * {@link #toArray()} for float64 arrays.
     *
     * @return a new array of the elements in C order
     * @throws IllegalArgumentException for other dtypes
     */
    public double[] toDoubleArray() {
        return carrierArray(double[].class, "toDoubleArray");
    }

    /**
     * {@link #toArray()} for 4-byte integer arrays.
     *
     * @return a new array of the elements in C order
     * @throws IllegalArgumentException for other dtypes
     */
    public int[] toIntArray() {
        return carrierArray(int[].class, "toIntArray");
    }

    /**
     * {@link #toArray()} for 8-byte integer arrays.
     *
     * @return a new array of the elements in C order
     * @throws IllegalArgumentException for other dtypes
     */
    public long[] toLongArray() {
        return carrierArray(long[].class, "toLongArray");
    }

    /**
     * {@link #toArray()} for 2-byte integer arrays.
     *
     * @return a new array of the elements in C order
     * @throws IllegalArgumentException for other dtypes
     */
    public short[] toShortArray() {
        return carrierArray(short[].class, "toShortArray");
    }

    /**
     * {@link #toArray()} for 1-byte integer arrays.
     *
     * @return a new array of the elements in C order
     * @throws IllegalArgumentException for other dtypes
     */
    public byte[] toByteArray() {
        return carrierArray(byte[].class, "toByteArray");
    }

    /**
     * {@link #toArray()} for bool arrays.
     *
     * @return a new array of the elements in C order
     * @throws IllegalArgumentException for other dtypes
     */
    public boolean[] toBooleanArray() {
        return carrierArray(boolean[].class, "toBooleanArray");
    }

    private <T> T carrierArray(Class<T> type, String method) {
        Class<?> carrier = dtype.carrier();
        if (carrier == null || carrier != type.getComponentType()) {
            throw new IllegalArgumentException(method + "() needs a dtype read as " + type.getComponentType().getName()
                    + ", but this array's dtype is " + dtype + (carrier == null ? "" : "; use to"
                    + Character.toUpperCase(carrier.getName().charAt(0)) + carrier.getName().substring(1) + "Array()"));
        }
        return type.cast(toArray());
    }

    /**
     * {@return the raw bytes of the elements in C order, each in the dtype's own byte
     * order: NumPy's {@code tobytes()}}
     *
     * @throws IllegalStateException when the array holds more bytes than a Java array can
     */
    public byte[] toBytes() {
        return toBytes(Order.C);
    }

    /**
     * {@return the raw bytes of the elements in {@code order} ({@code tobytes(order=...)})}
     *
     * @param order {@link Order#C} (row-major) or {@link Order#F} (column-major)
     */
    public byte[] toBytes(Order order) {
        Objects.requireNonNull(order, "order");
        int n = Copier.javaArrayLength(byteSize());
        byte[] out = new byte[n];
        long[] shape = shapeRef();
        Copier.copy(this, new NdArray(MemorySegment.ofArray(out), 0, shape,
                Geometry.contiguousStrides(shape, dtype.byteSize(), order), dtype, false, null));
        return out;
    }

    /**
     * Sets every element to {@code value}.
     *
     * @param value the value every element gets
     * @throws IllegalArgumentException for a non-bool dtype or a read-only array
     */
    public void fillBoolean(boolean value) {
        fillWith("fillBoolean", boolean.class, s -> s.set(BYTE_LAYOUT, 0, value ? (byte) 1 : (byte) 0));
    }

    /**
     * Sets every element to {@code value}.
     *
     * @param value the value every element gets
     * @throws IllegalArgumentException for a dtype not read as byte, or a read-only array
     */
    public void fillByte(byte value) {
        fillWith("fillByte", byte.class, s -> s.set(BYTE_LAYOUT, 0, value));
    }

    /**
     * Sets every element to {@code value}.
     *
     * @param value the value every element gets
     * @throws IllegalArgumentException for a dtype not read as short, or a read-only array
     */
    public void fillShort(short value) {
        fillWith("fillShort", short.class, s -> s.set((ValueLayout.OfShort) dtype.layout(), 0, value));
    }

    /**
     * Sets every element to {@code value}.
     *
     * @param value the value every element gets
     * @throws IllegalArgumentException for a dtype not read as int, or a read-only array
     */
    public void fillInt(int value) {
        fillWith("fillInt", int.class, s -> s.set((ValueLayout.OfInt) dtype.layout(), 0, value));
    }

    /**
     * Sets every element to {@code value}.
     *
     * @param value the value every element gets
     * @throws IllegalArgumentException for a dtype not read as long, or a read-only array
     */
    public void fillLong(long value) {
        fillWith("fillLong", long.class, s -> s.set((ValueLayout.OfLong) dtype.layout(), 0, value));
    }

    /**
     * Sets every element to {@code value} (float16 arrays: rounded to nearest even).
     *
     * @param value the value every element gets
     * @throws IllegalArgumentException for a dtype not read as float, or a read-only array
     */
    public void fillFloat(float value) {
        fillWith("fillFloat", float.class, s -> {
            if (dtype.byteSize() == 2) {
                s.set((ValueLayout.OfShort) dtype.layout(), 0, Float.floatToFloat16(value));
            } else {
                s.set((ValueLayout.OfFloat) dtype.layout(), 0, value);
            }
        });
    }

    /**
     * Sets every element to {@code value}.
     *
     * @param value the value every element gets
     * @throws IllegalArgumentException for a dtype not read as double, or a read-only array
     */
    public void fillDouble(double value) {
        fillWith("fillDouble", double.class, s -> s.set((ValueLayout.OfDouble) dtype.layout(), 0, value));
    }

    /**
     * Sets every element to the raw bytes of {@code element} (exactly
     * {@code dtype().byteSize()} bytes, in the dtype's byte order); works for
     * every dtype, records included.
     *
     * @param element the bytes of one element, copied into every element
     * @throws IllegalArgumentException when the length differs from the element size, or the array is read-only
     */
    public void fillBytes(byte[] element) {
        Objects.requireNonNull(element, "element");
        if (element.length != dtype.byteSize()) {
            throw new IllegalArgumentException("fillBytes needs exactly " + dtype.byteSize() + " bytes for one " + dtype
                    + " element, got " + element.length);
        }
        checkWritable("fillBytes");
        Copier.checkReadable(this);
        Copier.fill(this, element.clone());
    }

    private void fillWith(String method, Class<?> carrier, java.util.function.Consumer<MemorySegment> encode) {
        if (dtype.carrier() != carrier) {
            throw Errors.wrongCarrier(method, carrier, dtype);
        }
        checkWritable(method);
        Copier.checkReadable(this);
        byte[] element = new byte[(int) dtype.byteSize()];
        encode.accept(MemorySegment.ofArray(element));
        Copier.fill(this, element);
    }

    // ------------------------------------------------------------------ export to C

    /**
     * Exports this view to C as a {@code pb_buffer *}, with no copy. The
     * memory is pinned until the export is released, from Java
     * ({@link Export#close()}) or from C ({@code pb_release}); until then its
     * {@link BufferArena} refuses to close and its {@link GrowableBuffer}
     * refuses to grow.
     *
     * @return the export: its {@link Export#pointer()} is the {@code pb_buffer *} to pass to C
     * @throws IllegalArgumentException when the view lives on the Java heap (C may see heap
     *         memory only during one critical call; see {@link CriticalCall}), or when its memory's
     *         lifetime cannot be pinned (a plain confined or shared {@link Arena}: allocate from a
     *         {@link BufferArena} instead)
     * @throws IllegalStateException when the memory is closed
     */
    public Export export() {
        return Export.create(this, readOnly);
    }

    /**
     * As {@link #export()}, with {@code readonly = 1}: C must not write, and panbuf's C helpers refuse to.
     *
     * @return the export
     */
    public Export exportReadOnly() {
        return Export.create(this, true);
    }

    // ------------------------------------------------------------------ import from C

    /**
     * Wraps a {@code pb_buffer *} made by C as a view, with no copy. The
     * struct is checked with {@code pb_validate} first (live, consistent, every
     * reachable byte inside {@code [base, base + base_len)}); the memory then
     * belongs to {@code arena}, and the producer's release function runs
     * exactly once when the arena closes (for {@link Arena#ofAuto()}, when the
     * garbage collector finds the memory unreachable). A read-only buffer gives
     * a read-only view.
     *
     * @param pbBuffer the {@code pb_buffer *} C made; panbuf takes over releasing it
     * @param arena the arena whose closing releases the buffer
     * @return the view
     * @throws IllegalArgumentException naming what {@code pb_validate} found wrong, or a format panbuf
     *         cannot type; nothing is imported or released then
     * @throws IllegalStateException when the arena is closed
     */
    public static NdArray fromPbBuffer(MemorySegment pbBuffer, Arena arena) {
        return Import.wrap(pbBuffer, arena);
    }

    // ------------------------------------------------------------------ Object

    /**
     * Equal when the shapes are equal, the dtypes are the same apart from byte
     * order, and every element holds the same bytes once both are in native
     * order (NumPy's {@code tobytes()} of native-order copies), so NaN equals a
     * NaN with the same bits and {@code -0.0} differs from {@code 0.0}.
     * The padding bytes of records are not compared (nor hashed).
     * Compares contents: the views may be of any memory and layout.
     */
    @Override
    public boolean equals(Object o) {
        if (this == o) {
            return true;
        }
        if (!(o instanceof NdArray other)) {
            return false;
        }
        if (!other.hasShape(this) || !dtype.withNativeOrder().equals(other.dtype.withNativeOrder())) {
            return false;
        }
        return Copier.contentEquals(this, other);
    }

    /** Hash of the shape, the native-order dtype and the native-order element bytes (consistent with {@link #equals}). */
    @Override
    public int hashCode() {
        return 31 * (31 * Arrays.hashCode(shapeRef()) + dtype.withNativeOrder().hashCode()) + Copier.contentHash(this);
    }

    /**
     * NumPy-style text of the contents ({@code array([[1., 2.], [3., 4.]], dtype=float32)}),
     * summarised with {@code ...} beyond 1000 elements; a closed view prints as such instead of throwing.
     */
    @Override
    public String toString() {
        return ArrayPrinter.print(this);
    }

    /**
     * {@return shape, strides, offset, dtype and flags, without touching the memory}
     */
    public String describe() {
        return "NdArray[dtype=" + dtype + ", shape=" + Errors.shape(shapeRef()) + ", byteStrides=" + Errors.shape(stridesRef())
                + ", byteOffset=" + byteOffset + ", C=" + isContiguous(Order.C) + ", F=" + isContiguous(Order.F)
                + ", readOnly=" + readOnly + ", memory=" + (segment.isNative() ? "native" : "heap") + "]";
    }

    /** The shape, shared when it is stored and fresh otherwise: callers must not write it. */
    long[] shapeRef() {
        return shape != null ? shape : pack(d0, d1);
    }

    /** The byte strides, shared when they are stored and fresh otherwise: callers must not write them. */
    long[] stridesRef() {
        return strides != null ? strides : pack(s0, s1);
    }
    private long[] pack(long first, long second) {
        return ndim == 0 ? new long[0] : ndim == 1 ? new long[] {first} : new long[] {first, second};
    }

    private boolean hasShape(long[] dims) {
        if (dims.length != ndim) {
            return false;
        }
        for (int i = 0; i < ndim; i++) {
            if (dims[i] != dim(i)) {
                return false;
            }
        }
        return true;
    }

    private boolean hasShape(NdArray other) {
        if (other.ndim != ndim) {
            return false;
        }
        for (int i = 0; i < ndim; i++) {
            if (other.dim(i) != dim(i)) {
                return false;
            }
        }
        return true;
    }
}
