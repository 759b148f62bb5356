package dev.panbuf.arrow;

import dev.panbuf.NdArray;

/**
 * One imported Arrow column: its values over the producer's memory, and, when
 * some are null, the producer's validity bitmap, also not copied.
 *
 * @param name              the field name from the schema (empty when it had none)
 * @param values            the values: 1-D, or n-d for {@code arrow.fixed_shape_tensor} and fixed-size lists
 * @param validity          the bitmap bytes covering the values (uint8, 1-D; bit {@code validityBitOffset + i}
 *                          of it, least significant bit first, is 1 when value {@code i} is valid), or null when
 *                          no value is null
 * @param validityBitOffset the bit of {@code validity[0]} that belongs to value 0 (0 to 7)
 * @param nullCount         the producer's count of null values (0 when validity is null, -1 when it did not count)
 */
public record ImportedColumn(String name, NdArray values, NdArray validity, int validityBitOffset, long nullCount) {

    /**
     * {@return whether value {@code i} is valid (not null)}
     *
     * @param i the index along the first axis
     */
    public boolean isValid(long i) {
        if (validity == null) {
            return true;
        }
        if (i < 0 || i >= values.shape()[0]) {
            throw new IndexOutOfBoundsException("index " + i + " out of range for " + values.shape()[0] + " values");
        }
        long bit = validityBitOffset + i;
        return (validity.getByte(bit >>> 3) >> (bit & 7) & 1) != 0;
    }
}
