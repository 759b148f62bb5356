package dev.panbuf;

import dev.panbuf.cli.ExampleLibrary;
import dev.panbuf.shim.Shim;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Java fills a matrix, C reads and writes it through an exported pb_buffer,
 * and Java sees C's writes: the same memory on both sides, for contiguous,
 * transposed and row-sliced views.
 */
@Tag("native")   // also runs against the ASan+UBSan libpanbuf (./run-tests)
@ExtendWith(LeakCheck.class)
class RoundTripTest {

    private static final int ROWS = 5;
    private static final int COLS = 7;

    private BufferArena arena;
    private NdArray m;

    @BeforeEach
    void fill() {
        arena = BufferArena.ofConfined();
        m = NdArray.allocate(arena, DType.FLOAT32, ROWS, COLS);
        for (long i = 0; i < ROWS; i++) {
            for (long j = 0; j < COLS; j++) {
                m.setFloat(i * COLS + j, i, j);
            }
        }
    }

    @AfterEach
    void close() {
        arena.close();
    }

    @Test
    void cSeesTheSegmentAddressNotACopy() {
        try (Export e = m.export()) {
            assertEquals(m.segment().address(), ExampleLibrary.bufAddress(e.pointer()));
            assertEquals(m.address(), ExampleLibrary.bufAddress(e.pointer()));
        }
    }

    @Test
    void cSumsRowsOfAContiguousMatrix() {
        float[] sums = rowSums(m);
        for (int i = 0; i < ROWS; i++) {
            float expected = 0;
            for (int j = 0; j < COLS; j++) {
                expected += i * COLS + j;
            }
            assertEquals(expected, sums[i], "row " + i);
        }
    }

    @Test
    void cSumsRowsOfATransposedView() {
        NdArray t = m.transpose();
        assertFalse(t.isContiguous(Order.C));
        float[] sums = rowSums(t);
        assertEquals(COLS, sums.length);
        for (int j = 0; j < COLS; j++) {
            float expected = 0;
            for (int i = 0; i < ROWS; i++) {
                expected += i * COLS + j;
            }
            assertEquals(expected, sums[j], "column " + j);
        }
    }

    @Test
    void cScalesARowSlicedViewInPlaceAndJavaSeesIt() {
        NdArray odd = m.get("1::2, ::-1");   // rows 1 and 3, columns reversed: negative stride
        assertArrayEquals(new long[] {2 * COLS * 4, -4}, odd.byteStrides());
        try (Export e = odd.export()) {
            assertEquals(odd.address(), ExampleLibrary.bufAddress(e.pointer()));
            assertEquals(0, ExampleLibrary.scale(e.pointer(), 10f));
        }
        for (long i = 0; i < ROWS; i++) {
            for (long j = 0; j < COLS; j++) {
                float original = i * COLS + j;
                assertEquals(i % 2 == 1 ? original * 10 : original, m.getFloat(i, j), "m[" + i + ", " + j + "]");
            }
        }
    }

    @Test
    void cWritesThroughATransposedViewAndJavaSeesIt() {
        NdArray t = m.transpose();
        try (Export e = t.export()) {
            assertEquals(0, ExampleLibrary.fillIota(e.pointer()));
        }
        // C wrote t in C order: t[j, i] = j * ROWS + i, that is m[i, j] = j * ROWS + i.
        for (long i = 0; i < ROWS; i++) {
            for (long j = 0; j < COLS; j++) {
                assertEquals(j * ROWS + i, m.getFloat(i, j));
            }
        }
    }

    @Test
    void readOnlyExportRefusesCWrites() {
        try (Export e = m.exportReadOnly()) {
            assertTrue(e.isReadOnly());
            assertEquals(Shim.E_READONLY, ExampleLibrary.scale(e.pointer(), 3f));
        }
        assertEquals(1f, m.getFloat(0, 1));
    }

    @Test
    void exportedStructDescribesTheView() {
        NdArray v = m.get("::2, 1:6:2");
        try (Export e = v.export()) {
            Shim.Fields f = Shim.read(Shim.structAt(e.pointer().address()));
            assertEquals(v.address(), f.buf());
            assertEquals(v.byteSize(), f.len());
            assertEquals(4, f.itemSize());
            assertEquals(2, f.ndim());
            assertArrayEquals(v.shape(), f.shape());
            assertArrayEquals(v.byteStrides(), f.strides());
            assertEquals(DType.FLOAT32.format(), f.format());
            assertEquals(m.segment().address(), f.base());
            assertEquals(m.segment().byteSize(), f.baseLen());
            assertEquals(Shim.MAGIC_LIVE, f.magic());
            assertEquals(Shim.ABI_VERSION, f.abiVersion());
            assertEquals(0, Shim.validate(e.pointer()));
        }
    }

    private float[] rowSums(NdArray view) {
        try (Arena scratch = Arena.ofConfined(); Export e = view.export()) {
            MemorySegment out = scratch.allocate(ValueLayout.JAVA_FLOAT, view.shape(0));
            assertEquals(0, ExampleLibrary.rowSums(e.pointer(), out));
            return out.toArray(ValueLayout.JAVA_FLOAT);
        }
    }
}
