package dev.panbuf;

/**
 * A Python slice, {@code start:stop:step}, with Python's rules: negative start
 * and stop count from the end of the axis, out-of-range bounds clamp, a
 * negative step walks backwards, and a step of 0 is an error. An omitted start
 * or stop means "from the beginning" or "to the end" in the step's direction.
 *
 * {@snippet :
 * Slice.of(1, -1, 2)     // 1:-1:2
 * Slice.from(2)          // 2:
 * Slice.to(-1)           // :-1
 * Slice.every(-1)        // ::-1  (reversed)
 * Slice.parse("::-2")    // ::-2
 * }
 */
public final class Slice implements Index {

    private static final Slice ALL = new Slice(false, 0, false, 0, 1);

    private final boolean hasStart;
    private final long start;
    private final boolean hasStop;
    private final long stop;
    private final long step;

    private Slice(boolean hasStart, long start, boolean hasStop, long stop, long step) {
        if (step == 0) {
            throw new IllegalArgumentException("slice step cannot be zero");
        }
        if (step == Long.MIN_VALUE) {
            // -step would overflow; Python clamps the step to -PY_SSIZE_T_MAX the same way.
            step = -Long.MAX_VALUE;
        }
        this.hasStart = hasStart;
        this.start = start;
        this.hasStop = hasStop;
        this.stop = stop;
        this.step = step;
    }

    /**
     * {@return the slice {@code start:stop:step}}
     *
     * @param start the first index (negative counts from the end; clamped to the axis)
     * @param stop the index to stop before (negative counts from the end; clamped to the axis)
     * @param step the distance between taken indices; negative walks backwards
     * @throws IllegalArgumentException when step is 0
     */
    public static Slice of(long start, long stop, long step) {
        return new Slice(true, start, true, stop, step);
    }

    /**
     * {@return the slice {@code start:stop}}
     *
     * @param start the first index (negative counts from the end; clamped to the axis)
     * @param stop the index to stop before (negative counts from the end; clamped to the axis)
     */
    public static Slice of(long start, long stop) {
        return new Slice(true, start, true, stop, 1);
    }

    /**
     * {@return the slice {@code start:}}
     *
     * @param start the first index (negative counts from the end; clamped to the axis)
     */
    public static Slice from(long start) {
        return new Slice(true, start, false, 0, 1);
    }

    /**
     * {@return the slice {@code start::step}}
     *
     * @param start the first index (negative counts from the end; clamped to the axis)
     * @param step the distance between taken indices; negative walks backwards
     * @throws IllegalArgumentException when step is 0
     */
    public static Slice from(long start, long step) {
        return new Slice(true, start, false, 0, step);
    }

    /**
     * {@return the slice {@code :stop}}
     *
     * @param stop the index to stop before (negative counts from the end; clamped to the axis)
     */
    public static Slice to(long stop) {
        return new Slice(false, 0, true, stop, 1);
    }

    /**
     * {@return the slice {@code :stop:step}}
     *
     * @param stop the index to stop before (negative counts from the end; clamped to the axis)
     * @param step the distance between taken indices; negative walks backwards
     * @throws IllegalArgumentException when step is 0
     */
    public static Slice to(long stop, long step) {
        return new Slice(false, 0, true, stop, step);
    }

    /**
     * {@return the slice {@code ::step}}
     *
     * @param step the distance between taken indices; negative walks backwards
     * @throws IllegalArgumentException when step is 0
     */
    public static Slice every(long step) {
        return new Slice(false, 0, false, 0, step);
    }

    /** {@return the slice {@code :}, every element of an axis} */
    public static Slice all() {
        return ALL;
    }

    /**
     * Parses Python slice syntax: {@code "1:-1:2"}, {@code "::-1"}, {@code ":"},
     * {@code "3:"}. Spaces are allowed around the numbers.
     *
     * @param text the slice as Python writes it
     * @return the slice
     * @throws IllegalArgumentException quoting the text when it is not a slice or step is 0
     */
    public static Slice parse(String text) {
        String[] parts = text.split(":", -1);
        if (parts.length < 2 || parts.length > 3) {
            throw new IllegalArgumentException("not a slice: \"" + text + "\" (expected start:stop or start:stop:step)");
        }
        String a = parts[0].strip();
        String b = parts[1].strip();
        String c = parts.length == 3 ? parts[2].strip() : "";
        try {
            long step = c.isEmpty() ? 1 : Long.parseLong(c);
            return new Slice(!a.isEmpty(), a.isEmpty() ? 0 : Long.parseLong(a),
                    !b.isEmpty(), b.isEmpty() ? 0 : Long.parseLong(b), step);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("not a slice: \"" + text + "\" (bounds and step must be integers)", e);
        }
    }

    /** {@return the step, never 0} */
    public long step() {
        return step;
    }

    /**
     * Resolves this slice against an axis of {@code length} elements, as Python's
     * {@code slice.indices} and {@code PySlice_AdjustIndices} do.
     *
     * @param length the number of elements of the axis
     * @return {@code {start, step, count}}: the first index taken, the step, and how many indices are taken
     */
    public long[] resolve(long length) {
        long first;
        long last;
        if (step > 0) {
            first = hasStart ? clamp(start, length, 0, length) : 0;
            last = hasStop ? clamp(stop, length, 0, length) : length;
            long count = last > first ? (last - first - 1) / step + 1 : 0;
            return new long[] {first, step, count};
        }
        first = hasStart ? clamp(start, length, -1, length - 1) : length - 1;
        last = hasStop ? clamp(stop, length, -1, length - 1) : -1;
        long count = first > last ? (first - last - 1) / (-step) + 1 : 0;
        return new long[] {first, step, count};
    }

    private static long clamp(long bound, long length, long low, long high) {
        long b = bound < 0 ? bound + length : bound;
        return b < low ? low : Math.min(b, high);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Slice s && hasStart == s.hasStart && start == s.start && hasStop == s.hasStop
                && stop == s.stop && step == s.step;
    }

    @Override
    public int hashCode() {
        return java.util.Objects.hash(hasStart, start, hasStop, stop, step);
    }

    /** Python syntax: {@code 1:-1:2}, {@code ::-1}, {@code :}. */
    @Override
    public String toString() {
        return (hasStart ? Long.toString(start) : "") + ":" + (hasStop ? Long.toString(stop) : "")
                + (step != 1 ? ":" + step : "");
    }
}
