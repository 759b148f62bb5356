package dev.panbuf;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * {@code NdArray.copyOf(boolean[])}: the honest way in for a {@code boolean[]},
 * which the JVM does not expose as memory and so cannot be wrapped. The copy
 * is a bool array of one byte per element, independent of the Java array, and
 * a shape that holds another number of elements is refused with the counts.
 */
@ExtendWith(LeakCheck.class)
class BooleanCopyTest {

    @Test
    void copiesIntoABoolArrayOfTheGivenShape() {
        boolean[] data = {true, false, false, true, true, false};
        NdArray a = NdArray.copyOf(data, 2, 3);
        assertEquals(DType.BOOL, a.dtype());
        assertArrayEquals(new long[] {2, 3}, a.shape());
        assertArrayEquals(data, a.toBooleanArray());
        assertArrayEquals(new byte[] {1, 0, 0, 1, 1, 0}, a.toBytes());
        assertEquals(true, a.getBoolean(-1, 0));
        // A copy: later changes to either side do not reach the other.
        data[1] = true;
        assertFalse(a.getBoolean(0, 1));
        a.setBoolean(false, 0, 0);
        assertEquals(true, data[0]);
        assertArrayEquals(new long[] {6}, NdArray.copyOf(data).shape());
        assertArrayEquals(new long[] {0}, NdArray.copyOf(new boolean[0]).shape());
    }

    @Test
    void aShapeThatHoldsAnotherCountIsRefused() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> NdArray.copyOf(new boolean[5], 2, 3));
        assertEquals("copyOf: shape (2, 3) holds 6 elements, but data has 5 values", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> NdArray.copyOf(new boolean[6], 2, 2));
        assertEquals("copyOf: shape (2, 2) holds 4 elements, but data has 6 values", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> NdArray.copyOf(new boolean[6], 2, -3));
        assertEquals("dimension 1 of shape (2, -3) is negative (-3); dimensions must be >= 0", e.getMessage());
        assertThrows(NullPointerException.class, () -> NdArray.copyOf(null));
    }
}
