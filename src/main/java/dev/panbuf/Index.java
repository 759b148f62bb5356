package dev.panbuf;

/**
 * One item of a NumPy basic index, as in {@code a[1, ::2, np.newaxis, ...]}:
 * an integer (drops the axis), a {@link Slice}, a new axis of size 1, or an
 * ellipsis standing for as many full slices as needed.
 *
 * {@snippet :
 * NdArray v = a.get(Index.at(1), Slice.every(2), Index.newAxis(), Index.ellipsis());
 * NdArray same = a.get("1, ::2, newaxis, ...");
 * }
 */
public sealed interface Index permits Index.At, Index.NewAxis, Index.Ellipsis, Slice {

    /**
     * {@return an integer index; negative values count from the end of the axis}
     *
     * @param index the position along the axis; -1 is the last element
     */
    static Index at(long index) {
        return new At(index);
    }

    /** {@return a new axis of size 1 ({@code np.newaxis})} */
    static Index newAxis() {
        return NewAxis.INSTANCE;
    }

    /**
     * {@return as many full slices as the array's remaining axes need ({@code ...})}
     */
    static Index ellipsis() {
        return Ellipsis.INSTANCE;
    }

    /** {@return every element of an axis ({@code :})} */
    static Slice all() {
        return Slice.all();
    }

    /**
     * An integer index.
     *
     * @param index the position along the axis; negative counts from the end
     */
    record At(long index) implements Index {
        @Override
        public String toString() {
            return Long.toString(index);
        }
    }

    /** {@code np.newaxis}. */
    enum NewAxis implements Index {
        /** The one new-axis item. */
        INSTANCE;

        @Override
        public String toString() {
            return "newaxis";
        }
    }

    /** {@code ...}. */
    enum Ellipsis implements Index {
        /** The one ellipsis item. */
        INSTANCE;

        @Override
        public String toString() {
            return "...";
        }
    }
}
