package dev.panbuf;

import java.util.Arrays;

/**
 * Builds every bounds, shape and lifetime error panbuf throws, so that each
 * kind of mistake has one message shape everywhere and always carries the
 * offending values.
 */
final class Errors {

    private Errors() {}

    /**
     * An index outside {@code [-size, size)}: every integer index (typed accessors,
     * {@code VarHandle} coordinates, {@code Index.at}, index text) follows
     * NumPy's rule, negative indices counting from the end.
     */
    static IndexOutOfBoundsException indexOutOfRange(long index, int axis, long size) {
        return new IndexOutOfBoundsException("index " + index + " out of range for axis " + axis + (size == 0
                ? " (size 0: the axis has no elements)"
                : " (size " + size + "; negative indices count from the end, down to -" + size + ")"));
    }

    static IllegalArgumentException wrongArity(int given, int ndim) {
        return new IllegalArgumentException(given + " ind" + (given == 1 ? "ex" : "ices") + " given for an array of "
                + ndim + " dimension" + (ndim == 1 ? "" : "s") + "; pass exactly " + ndim);
    }

    static IllegalArgumentException wrongCarrier(String accessor, Class<?> asked, DType dtype) {
        Class<?> carrier = dtype.carrier();
        // The right method is the name with the carrier's type in place of the one
        // asked for: "fillByte" -> "fillShort", "forEachFloatIndexed" -> "forEachDoubleIndexed".
        String typeName = capitalize(asked.getName());
        int at = accessor.lastIndexOf(typeName);
        String fix = carrier == null
                ? "a " + dtype.kind().name().toLowerCase() + " element has no single Java type; use field(name) or the segment"
                : "use " + (at < 0 ? accessor.substring(0, 3) + capitalize(carrier.getName())
                        : accessor.substring(0, at) + capitalize(carrier.getName()) + accessor.substring(at + typeName.length()));
        return new IllegalArgumentException(accessor + " reads " + asked.getName() + " elements, but this array's dtype is "
                + dtype.str() + " (" + dtype.name() + "); " + fix);
    }

    /**
     * {@code closed} (FFM's "Already closed"), or, for a view of a
     * {@link GrowableBuffer}'s memory that moved or was freed, an exception
     * saying so and what to do.
     */
    static IllegalStateException stale(Object owner, IllegalStateException closed) {
        if (owner instanceof GrowableBuffer.Generation g) {
            String why = g.gone();
            if (why != null && !closed.getMessage().startsWith("Already closed: this view's GrowableBuffer")) {
                return new IllegalStateException("Already closed: this view's GrowableBuffer " + why, closed);
            }
        }
        return closed;
    }

    static IllegalArgumentException readOnly(String what) {
        return new IllegalArgumentException(what + ": this array is read-only; copy() it, or write through a writable view of the same memory");
    }

    static IllegalArgumentException axisOutOfRange(long axis, int ndim) {
        return new IllegalArgumentException("axis " + axis + " is out of range for an array of " + ndim
                + " dimension" + (ndim == 1 ? "" : "s") + " (valid: " + (-ndim) + " to " + (ndim - 1) + ")");
    }

    static IllegalArgumentException tooManyDimensions(long ndim) {
        return new IllegalArgumentException("ndim " + ndim + " exceeds the maximum of " + NdArray.MAX_NDIM + " dimensions");
    }

    static String shape(long[] shape) {
        if (shape.length == 1) {
            return "(" + shape[0] + ",)";
        }
        StringBuilder sb = new StringBuilder("(");
        for (int i = 0; i < shape.length; i++) {
            if (i > 0) {
                sb.append(", ");
            }
            sb.append(shape[i]);
        }
        return sb.append(')').toString();
    }

    static String list(long[] values) {
        return Arrays.toString(values);
    }

    private static String capitalize(String s) {
        return Character.toUpperCase(s.charAt(0)) + s.substring(1);
    }
}
