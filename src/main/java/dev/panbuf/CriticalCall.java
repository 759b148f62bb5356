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
     * pass as an address argument of a handle from {@link #downcall}} Works for
     * heap and native views alike.
     *
     * @param view a heap or native view
     * @throws IllegalArgumentException when the view reaches bytes before element 0 (negative
     *         strides): C would receive a pointer into the middle of its data
     */
    public static MemorySegment dataOf(NdArray view) {
        Objects.requireNonNull(view, "view");
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
