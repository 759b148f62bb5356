package dev.panbuf.arrow;

import dev.panbuf.BufferArena;
import dev.panbuf.DType;
import dev.panbuf.LeakCheck;
import dev.panbuf.NdArray;
import org.apache.arrow.c.ArrowArray;
import org.apache.arrow.c.ArrowSchema;
import org.apache.arrow.c.Data;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.Float4Vector;
import org.apache.arrow.vector.Float8Vector;
import org.apache.arrow.vector.IntVector;
import org.apache.arrow.vector.UInt2Vector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.complex.FixedSizeListVector;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Arrow Java's C data module (arrow-c-data) as a real peer: it imports
 * panbuf's exports (same addresses, values read through its vectors, the
 * export released exactly once when it closes the vector) and exports its
 * vectors to panbuf (same addresses, its allocator's memory handed back when
 * the importing arena closes).
 */
@Tag("native")
@ExtendWith(LeakCheck.class)
class ArrowJavaPeerTest {

    @Test
    void arrowJavaImportsAPrimitiveColumnWithoutACopy() {
        try (BufferAllocator allocator = new RootAllocator(); BufferArena a = BufferArena.ofConfined()) {
            NdArray x = NdArray.allocate(a, DType.INT64, 1000);
            for (long i = 0; i < 1000; i++) {
                x.setLong(i * 7 - 3, i);
            }
            ArrowExport e = Arrow.exportArray(x).handOff();
            try (FieldVector v = Data.importVector(allocator, ArrowArray.wrap(e.array().address()),
                    ArrowSchema.wrap(e.schema().address()), null)) {
                BigIntVector longs = (BigIntVector) v;
                assertEquals(1000, longs.getValueCount());
                assertEquals(x.address(), longs.getDataBufferAddress());
                for (int i = 0; i < 1000; i++) {
                    assertEquals(i * 7L - 3, longs.get(i));
                }
                assertFalse(e.isReleased());
            }
            assertTrue(e.isReleased(), "Arrow Java released the array when it closed the vector");
        }
    }

    @Test
    void everyNumericDtypeRoundTripsThroughArrowJava() {
        DType[] dtypes = {DType.INT8, DType.UINT8, DType.INT16, DType.UINT16, DType.INT32, DType.UINT32, DType.INT64,
            DType.UINT64, DType.FLOAT16, DType.FLOAT32, DType.FLOAT64};
        SplittableRandom random = new SplittableRandom(13);
        try (BufferAllocator allocator = new RootAllocator(); BufferArena a = BufferArena.ofConfined()) {
            for (DType d : dtypes) {
                long n = random.nextInt(0, 300);
                NdArray x = NdArray.allocate(a, d, n);
                x.segment().asSlice(x.byteOffset(), x.byteSize()).fill((byte) 0);
                for (long i = 0; i < x.byteSize(); i++) {
                    x.segment().set(java.lang.foreign.ValueLayout.JAVA_BYTE, x.byteOffset() + i, (byte) random.nextInt());
                }
                ArrowExport e = Arrow.exportArray(x).handOff();
                try (FieldVector v = Data.importVector(allocator, ArrowArray.wrap(e.array().address()),
                        ArrowSchema.wrap(e.schema().address()), null)) {
                    assertEquals(n, v.getValueCount(), d.str());
                    if (n > 0) {
                        assertEquals(x.address(), v.getDataBufferAddress(), d.str());
                    }
                    // And back: Arrow Java exports its vector, panbuf imports it over Arrow Java's memory.
                    try (ArrowArray arr = ArrowArray.allocateNew(allocator);
                         ArrowSchema sch = ArrowSchema.allocateNew(allocator);
                         Arena b = Arena.ofConfined()) {
                        Data.exportVector(allocator, v, null, arr, sch);
                        NdArray back = Arrow.importArray(MemorySegment.ofAddress(arr.memoryAddress()),
                                MemorySegment.ofAddress(sch.memoryAddress()), b);
                        assertEquals(d, back.dtype());
                        assertEquals(x, back, d.str());
                        assertTrue(back.isReadOnly());
                    }
                }
                assertTrue(e.isReleased(), d.str());
            }
            assertEquals(0, Arrow.liveImports());
        }
    }

    @Test
    void panbufImportsArrowJavaVectorsOverTheirOwnMemoryAndHandsThemBack() {
        try (BufferAllocator allocator = new RootAllocator()) {
            NdArray view;
            try (Arena b = Arena.ofConfined()) {
                long address;
                try (Float8Vector v = new Float8Vector("y", allocator);
                     ArrowArray arr = ArrowArray.allocateNew(allocator);
                     ArrowSchema sch = ArrowSchema.allocateNew(allocator)) {
                    v.allocateNew(100);
                    for (int i = 0; i < 100; i++) {
                        v.set(i, i * 0.5);
                    }
                    v.setValueCount(100);
                    address = v.getDataBufferAddress();
                    Data.exportVector(allocator, v, null, arr, sch);
                    ImportedColumn c = Arrow.importColumn(MemorySegment.ofAddress(arr.memoryAddress()),
                            MemorySegment.ofAddress(sch.memoryAddress()), b);
                    view = c.values();
                    assertEquals("y", c.name());
                    assertNull(c.validity());
                }
                // Arrow Java closed its vector; the import still holds the buffer.
                assertEquals(address, view.address());
                for (int i = 0; i < 100; i++) {
                    assertEquals(i * 0.5, view.getDouble(i));
                }
                assertTrue(allocator.getAllocatedMemory() > 0);
            }
            assertEquals(0, allocator.getAllocatedMemory(), "the arena's close released Arrow Java's array");
        }
    }

    @Test
    void validityMaskReachesArrowJavaAsNulls() {
        try (BufferAllocator allocator = new RootAllocator(); BufferArena a = BufferArena.ofConfined()) {
            NdArray x = NdArray.allocate(a, DType.INT32, 20);
            NdArray mask = NdArray.allocate(a, DType.BOOL, 20);
            for (long i = 0; i < 20; i++) {
                x.setInt((int) i, i);
                mask.setBoolean(i % 3 != 0, i);
            }
            ArrowExport e = Arrow.exportArray(new Column("v", x, mask)).handOff();
            try (IntVector v = (IntVector) Data.importVector(allocator, ArrowArray.wrap(e.array().address()),
                    ArrowSchema.wrap(e.schema().address()), null)) {
                assertEquals(7, v.getNullCount());
                for (int i = 0; i < 20; i++) {
                    assertEquals(i % 3 == 0, v.isNull(i), "row " + i);
                    if (i % 3 != 0) {
                        assertEquals(i, v.get(i));
                    }
                }
                // Arrow Java's nulls come back as a bitmap view.
                try (ArrowArray arr = ArrowArray.allocateNew(allocator);
                     ArrowSchema sch = ArrowSchema.allocateNew(allocator);
                     Arena b = Arena.ofConfined()) {
                    Data.exportVector(allocator, v, null, arr, sch);
                    ImportedColumn c = Arrow.importColumn(MemorySegment.ofAddress(arr.memoryAddress()),
                            MemorySegment.ofAddress(sch.memoryAddress()), b);
                    assertEquals(7, c.nullCount());
                    for (int i = 0; i < 20; i++) {
                        assertEquals(i % 3 != 0, c.isValid(i), "row " + i);
                    }
                }
            }
            assertTrue(e.isReleased());
        }
    }

    @Test
    void recordBatchAndTensorColumnReachArrowJava() {
        try (BufferAllocator allocator = new RootAllocator(); BufferArena a = BufferArena.ofConfined()) {
            NdArray x = NdArray.allocate(a, DType.INT32, 6);
            NdArray t = NdArray.allocate(a, DType.FLOAT32, 6, 2, 3);
            NdArray u = NdArray.allocate(a, DType.UINT16, 6);
            for (long i = 0; i < 6; i++) {
                x.setInt((int) (10 * i), i);
                u.setShort((short) (i + 1), i);
                for (long j = 0; j < 2; j++) {
                    for (long k = 0; k < 3; k++) {
                        t.setFloat(i + j / 10f + k / 100f, i, j, k);
                    }
                }
            }
            ArrowExport e = Arrow.exportBatch(List.of(Column.of("x", x), Column.of("t", t), Column.of("u", u))).handOff();
            try (VectorSchemaRoot root = Data.importVectorSchemaRoot(allocator, ArrowArray.wrap(e.array().address()),
                    ArrowSchema.wrap(e.schema().address()), null)) {
                assertEquals(6, root.getRowCount());
                assertEquals(List.of("x", "t", "u"), root.getSchema().getFields().stream().map(f -> f.getName()).toList());
                IntVector xs = (IntVector) root.getVector("x");
                assertEquals(x.address(), xs.getDataBufferAddress());
                assertEquals(50, xs.get(5));
                assertEquals(6, ((UInt2Vector) root.getVector("u")).get(5));
                FieldVector tv = root.getVector("t");
                // Arrow Java reads the canonical extension type as its storage when no extension is registered.
                FixedSizeListVector list = (FixedSizeListVector) tv;
                assertEquals(6, list.getListSize());
                Float4Vector inner = (Float4Vector) list.getDataVector();
                assertEquals(t.address(), inner.getDataBufferAddress());
                assertEquals(4 + 1 / 10f + 2 / 100f, inner.get(4 * 6 + 5));
            }
            assertTrue(e.isReleased());
        }
    }
}
