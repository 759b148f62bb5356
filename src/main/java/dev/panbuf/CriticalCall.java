package dev.panbuf;

import dev.panbuf.shim.Critical;
import dev.panbuf.shim.NativeLibrary;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.util.Objects;

/**
 * Hands heap arrays to a short C function without copying, through a
 * critical downcall ({@code Linker.Option.critical(true)}): for the length of
 * that one call the garbage collector does not move the array, so C may read
 * and write it. This is the only way panbuf lets C see Java heap memory.
 *
 * <p>Critical calls are for short leaf functions only: they hold off garbage
 * collection and safepoints for their whole duration, and the function must
 * not call back into Java.
 *
 * {@snippet :
 * MethodHandle sum = CriticalCall.downcall(symbol,
 *         FunctionDescriptor.of(JAVA_FLOAT, ADDRESS, JAVA_LONG));
 * float[] data = ...;
 * NdArray v = NdArray.wrap(data);
 * float s = (float) sum.invokeExact(CriticalCall.dataOf(v), v.elementCount());
 * }
 */
public final class CriticalCall {

    private CriticalCall() {}

    /**
     * {@return a downcall handle to {@code function} whose address arguments may be heap segments}
     *
     * @param function the address of a short C function that does not call back into Java
     * @param descriptor its signature
     */
    public static MethodHandle downcall(MemorySegment function, FunctionDescriptor descriptor) {
        Objects.requireNonNull(function, "function");
        Objects.requireNonNull(descriptor, "descriptor");
        NativeLibrary.loadShim();   // the gate: a denied native access throws here, with the flag to add
        return Critical.downcall(function, descriptor);
    }

    /**
     * {@return the segment starting at element {@code [0, ..., 0]} of {@code view}, to
     * pass as an address argument of a handle from {@link #downcall} to a C
     * function that may write it} Works for heap and native views alike.
     *
     * @param view a writable heap or native view
     * @throws IllegalArgumentException when the view is read-only (C could write through the pointer;
     *         use {@link #readOnlyDataOf} for a function that only reads), or when the view reaches bytes
     *         before element 0 (negative strides): C would receive a pointer into the middle of its data
     */
    public static MemorySegment dataOf(NdArray view) {
        Objects.requireNonNull(view, "view");
        if (view.readOnly) {
            throw new IllegalArgumentException("CriticalCall.dataOf: this array is read-only and the C function could"
                    + " write through the pointer; pass CriticalCall.readOnlyDataOf(view) to a function that only reads,"
                    + " or copy() it");
        }
        return span(view);
    }

    /**
     * As {@link #dataOf}, for a C function that only reads: the returned
     * segment is read-only, and read-only views are accepted. panbuf cannot
     * see what C does with the pointer: passing it to a function that writes
     * breaks the view's read-only promise, exactly as casting away
     * {@code const} does in C.
     *
     * @param view a heap or native view, read-only or not
     * @return the read-only segment starting at element {@code [0, ..., 0]}
     * @throws IllegalArgumentException when the view reaches bytes before element 0 (negative strides)
     */
    public static MemorySegment readOnlyDataOf(NdArray view) {
        Objects.requireNonNull(view, "view");
        return span(view).asReadOnly();
    }

    /** The bytes from element 0 to the last reachable byte; read-only when the view is. */
    static MemorySegment span(NdArray view) {
        if (view.ndim == 1 && view.s0 >= 0) {
            // The common case, without the general n-d reach: it cannot overflow,
            // the view's geometry was proved to fit its segment when it was made.
            long bytes = view.d0 == 0 ? 0 : (view.d0 - 1) * view.s0 + view.dtype.byteSize();
            return view.segment.asSlice(view.byteOffset, bytes);
        }
        long[] r = Geometry.reach(view.byteOffset, view.shapeRef(), view.stridesRef(), view.dtype.byteSize());
        if (r != null && r[0] < view.byteOffset) {
            throw new IllegalArgumentException("view has negative strides " + Errors.shape(view.stridesRef())
                    + ": element 0 is not its lowest byte; copy() it or pass the reversed view");
        }
        long end = r == null ? view.byteOffset : r[1];
        return view.segment.asSlice(view.byteOffset, end - view.byteOffset);
    }
}
