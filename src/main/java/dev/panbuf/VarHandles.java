package dev.panbuf;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;

/** Method handles that {@link NdArray#varHandle()} composes into a view's index-addressed {@code VarHandle}. */
final class VarHandles {

    static final MethodHandle BOOLEAN_TO_BYTE;
    static final MethodHandle BYTE_TO_BOOLEAN;
    static final MethodHandle FLOAT_TO_HALF;
    static final MethodHandle HALF_TO_FLOAT;
    /** {@code () -> throw}: the write filter of read-only views. */
    static final MethodHandle READ_ONLY_THROWER;
    private static final MethodHandle[] OFFSET_BY_ARITY = new MethodHandle[5];
    private static final MethodHandle OFFSET_VARARGS;
    /** {@code (base, size0, stride0, i0)} and {@code (base, size0, stride0, size1, stride1, i0, i1)}: geometry as arguments. */
    private static final MethodHandle OFFSET_1D;
    private static final MethodHandle OFFSET_2D;

    static {
        try {
            MethodHandles.Lookup lookup = MethodHandles.lookup();
            BOOLEAN_TO_BYTE = lookup.findStatic(VarHandles.class, "booleanToByte", MethodType.methodType(byte.class, boolean.class));
            BYTE_TO_BOOLEAN = lookup.findStatic(VarHandles.class, "byteToBoolean", MethodType.methodType(boolean.class, byte.class));
            FLOAT_TO_HALF = lookup.findStatic(Float.class, "floatToFloat16", MethodType.methodType(short.class, float.class));
            HALF_TO_FLOAT = lookup.findStatic(Float.class, "float16ToFloat", MethodType.methodType(float.class, short.class));
            READ_ONLY_THROWER = lookup.findStatic(VarHandles.class, "refuseWrite", MethodType.methodType(void.class));
            for (int n = 0; n <= 4; n++) {
                MethodType type = MethodType.methodType(long.class, java.util.Collections.nCopies(n, long.class));
                OFFSET_BY_ARITY[n] = lookup.findVirtual(NdArray.class, "offsetFor" + n, type);
            }
            OFFSET_VARARGS = lookup.findVirtual(NdArray.class, "offsetFor", MethodType.methodType(long.class, long[].class));
            OFFSET_1D = lookup.findStatic(VarHandles.class, "offset1d", MethodType.methodType(long.class,
                    long.class, long.class, long.class, long.class));
            OFFSET_2D = lookup.findStatic(VarHandles.class, "offset2d", MethodType.methodType(long.class,
                    long.class, long.class, long.class, long.class, long.class, long.class, long.class));
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private VarHandles() {}

    /** {@code (long i0, ..., long i[ndim-1]) -> byte offset}, bound to {@code view}, bounds-checked. */
    static MethodHandle offsetFunction(NdArray view) {
        int n = view.ndim();
        // For 1-d and 2-d views the geometry is bound into the handle as constants
        // (a bound handle's values are constants to the JIT, a view's fields are
        // not), so a loop over a constant VarHandle compiles like one over an array.
        if (n == 1) {
            return MethodHandles.insertArguments(OFFSET_1D, 0, view.byteOffset, view.d0, view.s0);
        }
        if (n == 2) {
            return MethodHandles.insertArguments(OFFSET_2D, 0, view.byteOffset, view.d0, view.s0, view.d1, view.s1);
        }
        if (n <= 4) {
            return OFFSET_BY_ARITY[n].bindTo(view);
        }
        return OFFSET_VARARGS.bindTo(view).asCollector(long[].class, n);
    }

    private static long offset1d(long base, long size0, long stride0, long i0) {
        return base + NdArray.check(i0, size0, 0) * stride0;
    }

    private static long offset2d(long base, long size0, long stride0, long size1, long stride1, long i0, long i1) {
        return base + NdArray.check(i0, size0, 0) * stride0 + NdArray.check(i1, size1, 1) * stride1;
    }

    private static byte booleanToByte(boolean b) {
        return b ? (byte) 1 : (byte) 0;
    }

    private static boolean byteToBoolean(byte b) {
        return b != 0;
    }

    private static void refuseWrite() {
        throw Errors.readOnly("VarHandle write");
    }
}
