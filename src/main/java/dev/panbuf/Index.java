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

    /** An integer index; negative values count from the end of the axis. */
    static Index at(long index) {
        return new At(index);
    }

    /** A new axis of size 1 ({@code np.newaxis}). */
    static Index newAxis() {
        return NewAxis.INSTANCE;
    }

    /** As many full slices as the array's remaining axes need ({@code ...}). */
    static Index ellipsis() {
        return Ellipsis.INSTANCE;
    }

    /** Every element of an axis ({@code :}). */
    static Slice all() {
        return Slice.all();
    }

    /** An integer index. */
    record At(long index) implements Index {
        @Override
        public String toString() {
            return Long.toString(index);
        }
    }

    /** {@code np.newaxis}. */
    enum NewAxis implements Index {
        INSTANCE;

        @Override
        public String toString() {
            return "newaxis";
        }
    }

    /** {@code ...}. */
    enum Ellipsis implements Index {
        INSTANCE;

        @Override
        public String toString() {
            return "...";
        }
    }
}
