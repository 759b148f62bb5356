package dev.panbuf.arrow;

import dev.panbuf.NdArray;

import java.util.Objects;

/**
 * One column to export: a name, the values (a contiguous 1-D view, or an n-d
 * C-contiguous view that goes out as {@code arrow.fixed_shape_tensor}) and an
 * optional validity mask (a 1-D bool view as long as the values: {@code true}
 * where the value is valid). The mask is packed into Arrow's bitmap, which is
 * a copy; the values are not copied.
 *
 * @param name   the field name (may be empty)
 * @param values the values
 * @param mask   the validity mask, or null when every value is valid
 */
public record Column(String name, NdArray values, NdArray mask) {

    /**
     * Checks that the name and the values are present.
     *
     * @param name   the field name (may be empty)
     * @param values the values
     * @param mask   the validity mask, or null when every value is valid
     */
    public Column {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(values, "values");
    }

    /**
     * {@return a column without a mask}
     *
     * @param name   the field name
     * @param values the values
     */
    public static Column of(String name, NdArray values) {
        return new Column(name, values, null);
    }
}
