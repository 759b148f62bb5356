package dev.panbuf.arrow;

import dev.panbuf.BufferArena;
import dev.panbuf.DType;
import dev.panbuf.LeakCheck;
import dev.panbuf.LiveExportsException;
import dev.panbuf.NdArray;
import dev.panbuf.shim.ArrowShim;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Arrow export and import within panbuf: own round trips (same memory, the
 * export pinned until the import's arena closes), the lifetime rules under
 * hostile orders (release twice, from another thread, after a move, arena
 * closed first, Java-owned structs, released structs), and every refusal of
 * a malformed foreign struct with its message and its release count.
 */
@Tag("native")
@ExtendWith(LeakCheck.class)
class ArrowTest {

    @BeforeEach
    void resetCounters() {
        ForeignArrow.ARRAY_RELEASES.set(0);
        ForeignArrow.SCHEMA_RELEASES.set(0);
    }

    // ------------------------------------------------------------------ own round trips

    @Test
    void importOfOwnExportIsTheSameMemoryAndPinsUntilTheImportingArenaCloses() {
        try (BufferArena a = BufferArena.ofConfined()) {
            NdArray x = NdArray.allocate(a, DType.FLOAT64, 10);
            x.setDouble(4.5, 3);
            ArrowExport e = Arrow.exportArray(x).handOff();
            try (Arena b = Arena.ofConfined()) {
                NdArray same = Arrow.importArray(e.array(), e.schema(), b);
                assertEquals(x.address(), same.address());
                assertEquals(4.5, same.getDouble(3));
                assertTrue(same.isReadOnly());
                assertEquals(1, Arrow.liveImports());
                LiveExportsException refused = assertThrows(LiveExportsException.class, a::close);
                assertTrue(refused.getMessage().contains("imported into"), refused.getMessage());
                assertFalse(e.isReleased());
            }
            assertTrue(e.isReleased());
            assertEquals(0, Arrow.liveImports());
        }
    }

    @Test
    void tensorAndBatchRoundTripKeepShapesNamesAndOffsets() {
        try (BufferArena a = BufferArena.ofConfined(); Arena b = Arena.ofConfined()) {
            NdArray t = NdArray.allocate(a, DType.INT16, 4, 2, 3);
            NdArray y = NdArray.allocate(a, DType.UINT32, 4);
            for (long i = 0; i < 24; i++) {
                t.reshape(24).setShort((short) i, i);
            }
            ArrowExport e = Arrow.exportBatch(List.of(Column.of("t", t), Column.of("y", y))).handOff();
            List<ImportedColumn> cols = Arrow.importBatch(e.array(), e.schema(), b);
            assertEquals(List.of("t", "y"), cols.stream().map(ImportedColumn::name).toList());
            assertArrayEquals(new long[] {4, 2, 3}, cols.getFirst().values().shape());
            assertEquals(t.address(), cols.getFirst().values().address());
            assertEquals(t, cols.getFirst().values());
            assertEquals(y.address(), cols.get(1).values().address());
        }
    }

    @Test
    void importIntoTheExportingArenaDoesNotKeepItOpen() {
        BufferArena a = BufferArena.ofConfined();
        NdArray x = NdArray.allocate(a, DType.INT32, 8);
        ArrowExport e = Arrow.exportArray(x).handOff();
        NdArray same = Arrow.importArray(e.array(), e.schema(), a);
        assertEquals(x.address(), same.address());
        a.close();
        assertTrue(e.isReleased());
        assertTrue(a.isClosed());
    }

    @Test
    void javaOwnedExportIsRefusedForImportAndLeftAsItWas() {
        try (BufferArena a = BufferArena.ofConfined(); Arena b = Arena.ofConfined()) {
            NdArray x = NdArray.allocate(a, DType.INT8, 3);
            ArrowExport e = Arrow.exportArray(x);
            IllegalArgumentException r = assertThrows(IllegalArgumentException.class,
                    () -> Arrow.importArray(e.array(), e.schema(), b));
            assertTrue(r.getMessage().contains("is still owned by Java") && r.getMessage().contains("handOff()"),
                    r.getMessage());
            assertFalse(e.isReleased());
            e.close();
            assertTrue(e.isReleased());
            e.close();   // harmless
        }
    }

    @Test
    void closingTheArenaBeforeTheConsumerReleasesIsRefusedNamingTheExport() {
        BufferArena a = BufferArena.ofConfined();
        NdArray x = NdArray.allocate(a, DType.FLOAT32, 5);
        ArrowExport e = Arrow.exportArray(x).handOff();
        LiveExportsException refused = assertThrows(LiveExportsException.class, a::close);
        assertTrue(refused.getMessage().contains("the Arrow array at 0x")
                && refused.getMessage().contains("handed off to an Arrow consumer"), refused.getMessage());
        assertEquals(5, x.shape()[0]);   // nothing was freed
        ArrowShim.releaseSchema(e.schema().address());
        ArrowShim.releaseArray(e.array().address());
        a.close();
    }

    @Test
    void releaseTwiceAndFromAnotherThreadRunsOnce() throws Exception {
        try (BufferArena a = BufferArena.ofShared()) {
            NdArray x = NdArray.allocate(a, DType.INT64, 4);
            ArrowExport e = Arrow.exportArray(x).handOff();
            Thread t = Thread.ofPlatform().start(() -> ArrowShim.releaseArray(e.array().address()));
            t.join();
            assertTrue(e.isReleased());
            ArrowShim.releaseArray(e.array().address());   // release is NULL now: nothing happens
            assertEquals(0, ArrowShim.readArray(e.array().address()).release());
            ArrowShim.releaseSchema(e.schema().address());
            ArrowShim.releaseSchema(e.schema().address());
        }
    }

    @Test
    void aMovedStructImportsFromItsNewPlaceAndTheOldOneIsRefused() {
        try (BufferArena a = BufferArena.ofConfined(); Arena b = Arena.ofConfined()) {
            NdArray x = NdArray.allocate(a, DType.UINT64, 6);
            ArrowExport e = Arrow.exportArray(x).handOff();
            MemorySegment moved = b.allocate(ArrowShim.ARRAY_BYTES, 8);
            moved.copyFrom(ArrowShim.arrayAt(e.array().address()));
            ArrowShim.markReleased(ArrowShim.arrayAt(e.array().address()));
            IllegalArgumentException r = assertThrows(IllegalArgumentException.class,
                    () -> Arrow.importArray(e.array(), e.schema(), b));
            assertTrue(r.getMessage().contains("is released (its release is NULL)"), r.getMessage());
            NdArray same = Arrow.importArray(moved, e.schema(), b);
            assertEquals(x.address(), same.address());
        }
    }

    @Test
    void importWithNullsIsRefusedWithoutConsumingAndImportColumnTakesIt() {
        try (BufferArena a = BufferArena.ofConfined(); Arena b = Arena.ofConfined()) {
            NdArray x = NdArray.allocate(a, DType.INT32, 9);
            NdArray mask = NdArray.allocate(a, DType.BOOL, 9);
            for (long i = 0; i < 9; i++) {
                mask.setBoolean(i != 4, i);
            }
            ArrowExport e = Arrow.exportArray(new Column("m", x, mask)).handOff();
            IllegalArgumentException r = assertThrows(IllegalArgumentException.class,
                    () -> Arrow.importArray(e.array(), e.schema(), b));
            assertTrue(r.getMessage().contains("1 null values") && r.getMessage().contains("Arrow.importColumn"),
                    r.getMessage());
            ImportedColumn c = Arrow.importColumn(e.array(), e.schema(), b);
            assertEquals(1, c.nullCount());
            assertFalse(c.isValid(4));
            assertTrue(c.isValid(5));
        }
    }

    // ------------------------------------------------------------------ export refusals

    @Test
    void exportRefusesWhatArrowCannotCarryNamingCopy() {
        try (BufferArena a = BufferArena.ofConfined()) {
            NdArray m = NdArray.allocate(a, DType.FLOAT32, 4, 3);
            assertRefused(() -> Arrow.exportArray(m.get(":, 1")), "byte stride 12 is not the item size 4", "copy()");
            assertRefused(() -> Arrow.exportArray(m.transpose()), "are not C-contiguous", "copy()");
            NdArray swapped = NdArray.allocate(a, DType.parse(">i4"), 3);
            assertRefused(() -> Arrow.exportArray(swapped), "not in the platform's byte order", "copy()");
            NdArray bools = NdArray.allocate(a, DType.BOOL, 3);
            assertRefused(() -> Arrow.exportArray(bools), "Arrow packs booleans into bits");
            NdArray x = NdArray.allocate(a, DType.INT32, 4);
            assertRefused(() -> Arrow.exportArray(new Column("x", x, bools)), "is not a 1-D bool view of 4 elements");
            assertRefused(() -> Arrow.exportBatch(List.of()), "needs at least one column");
            assertRefused(() -> Arrow.exportBatch(List.of(Column.of("x", x), Column.of("y", bools.reshape(3)))),
                    "has 3 rows but column 0 (\"x\") has 4");
            assertRefused(() -> Arrow.exportArray(NdArray.wrap(new float[3], 3)), "Java heap memory");
        }
    }

    private static void assertRefused(Runnable call, String... parts) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call::run);
        for (String p : parts) {
            assertTrue(e.getMessage().contains(p), () -> "\"" + p + "\" not in: " + e.getMessage());
        }
    }

    // ------------------------------------------------------------------ foreign refusals

    /** Imports the structs {@code make} builds and checks the refusal's message and that both were released. */
    private static void refusedAndReleased(Function<ForeignArrow, MemorySegment[]> make, String... parts) {
        ForeignArrow.ARRAY_RELEASES.set(0);
        ForeignArrow.SCHEMA_RELEASES.set(0);
        try (Arena structs = Arena.ofConfined(); Arena b = Arena.ofConfined()) {
            MemorySegment[] as = make.apply(new ForeignArrow(structs));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> importAny(as[0], as[1], b));
            for (String p : parts) {
                assertTrue(e.getMessage().contains(p), () -> "\"" + p + "\" not in: " + e.getMessage());
            }
            assertTrue(e.getMessage().contains("(both structs were released)"), e.getMessage());
        }
        assertEquals(1, ForeignArrow.ARRAY_RELEASES.get(), "array releases");
        assertEquals(1, ForeignArrow.SCHEMA_RELEASES.get(), "schema releases");
    }

    /** importBatch for a "+s" schema, else importColumn. */
    private static Object importAny(MemorySegment array, MemorySegment schema, Arena arena) {
        long format = ArrowShim.readSchema(schema.address()).format();
        if (format != 0 && "+s".equals(ArrowShim.readCString(format, 8))) {
            return Arrow.importBatch(array, schema, arena);
        }
        return Arrow.importColumn(array, schema, arena);
    }

    @Test
    void malformedForeignStructsAreRefusedWithTheirValuesAndReleased() {
        MemorySegment data = Arena.global().allocate(64, 8);
        MemorySegment[] two = {MemorySegment.NULL, data};
        refusedAndReleased(f -> new MemorySegment[] {f.array(2, 0, 0, two), f.schema("z", "x", null)},
                "format \"z\" is not one panbuf imports");
        refusedAndReleased(f -> new MemorySegment[] {f.array(2, 0, 0, two), f.schema("\u0001\u00ffq", "x", null)},
                "format \"\\u0001\\u00ffq\"");
        refusedAndReleased(f -> new MemorySegment[] {f.array(-1, 0, 0, two), f.schema("l", "x", null)},
                "negative length -1");
        refusedAndReleased(f -> new MemorySegment[] {f.array(2, 0, -5, two), f.schema("l", "x", null)},
                "negative offset -5");
        refusedAndReleased(f -> new MemorySegment[] {f.array(2, 0, Long.MAX_VALUE, two), f.schema("l", "x", null)},
                "overflows int64");
        refusedAndReleased(f -> new MemorySegment[] {f.array(2, 0, 0, new MemorySegment[] {data}),
            f.schema("l", "x", null)}, "needs 2 buffers and no children, but has n_buffers 1");
        refusedAndReleased(f -> new MemorySegment[] {f.array(2, 3, 0, two), f.schema("l", "x", null)},
                "null_count 3 for length 2");
        refusedAndReleased(f -> new MemorySegment[] {f.array(2, 0, 0, new MemorySegment[] {MemorySegment.NULL,
            MemorySegment.NULL}), f.schema("l", "x", null)}, "NULL data buffer for 2 values");
        refusedAndReleased(f -> new MemorySegment[] {f.array(2, 0, 0, two), f.schema("l", "x", null,
                f.schema("l", "c", null))}, "has no children, but n_children is 1");
        refusedAndReleased(f -> {
            MemorySegment child = f.array(2, 0, 0, two);
            return new MemorySegment[] {f.array(2, 0, 0, new MemorySegment[] {MemorySegment.NULL}, child),
                f.schema("+s", "", null, f.schema("l", "a", null), f.schema("l", "b", null))};
        }, "the schema has 2 fields but the array has n_children 1");
        refusedAndReleased(f -> new MemorySegment[] {
            f.array(1, 0, 0, new MemorySegment[] {MemorySegment.NULL}, f.array(6, 0, 0, two)),
            f.schema("+w:6", "t", Map.of("ARROW:extension:name", "arrow.fixed_shape_tensor",
                    "ARROW:extension:metadata", "{\"shape\":[2,4]}"), f.schema("f", "item", null))},
                "shape [2, 4] does not describe rows of 6 elements");
        refusedAndReleased(f -> new MemorySegment[] {
            f.array(1, 0, 0, new MemorySegment[] {MemorySegment.NULL}, f.array(6, 0, 0, two)),
            f.schema("+w:6", "t", Map.of("ARROW:extension:name", "arrow.fixed_shape_tensor",
                    "ARROW:extension:metadata", "{\"shape\":[2,3"), f.schema("f", "item", null))},
                "is not valid JSON: expected ']' at character 13");
        refusedAndReleased(f -> new MemorySegment[] {
            f.array(2, 0, 0, new MemorySegment[] {MemorySegment.NULL}, f.array(5, 0, 0, two)),
            f.schema("+w:3", "t", null, f.schema("f", "item", null))},
                "have length 5 but 2 rows of 3 need 6");
        refusedAndReleased(f -> new MemorySegment[] {f.array(2, 0, 0, two), f.schema("+w:x", "t", null)},
                "format \"+w:x\" has no list size");
    }

    @Test
    void foreignOffsetIsHonouredAndReleasedOnceWhenTheArenaCloses() {
        MemorySegment data;
        try (Arena structs = Arena.ofConfined()) {
            data = structs.allocate(8 * 10, 8);
            for (int i = 0; i < 10; i++) {
                data.setAtIndex(ValueLayout.JAVA_LONG, i, 100 + i);
            }
            ForeignArrow f = new ForeignArrow(structs);
            MemorySegment array = f.array(4, 0, 3, new MemorySegment[] {MemorySegment.NULL, data});
            MemorySegment schema = f.schema("l", "x", null);
            try (Arena b = Arena.ofConfined()) {
                NdArray v = Arrow.importArray(array, schema, b);
                assertEquals(4, v.shape()[0]);
                assertEquals(103, v.getLong(0));
                assertEquals(106, v.getLong(3));
                assertEquals(data.address() + 24, v.address());
                assertEquals(0, ForeignArrow.ARRAY_RELEASES.get());
                assertEquals(1, ForeignArrow.SCHEMA_RELEASES.get(), "the schema is released once read");
                assertEquals(0, ArrowShim.readArray(array.address()).release(), "the caller's struct is marked moved");
            }
            assertEquals(1, ForeignArrow.ARRAY_RELEASES.get());
        }
    }

    @Test
    void releasedAndNullStructsAreRefusedWithoutTouchingThem() {
        try (Arena structs = Arena.ofConfined(); Arena b = Arena.ofConfined()) {
            ForeignArrow f = new ForeignArrow(structs);
            MemorySegment array = f.array(0, 0, 0, new MemorySegment[] {MemorySegment.NULL, MemorySegment.NULL});
            MemorySegment schema = f.schema("l", "x", null);
            ArrowShim.markReleased(array);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> Arrow.importArray(array, schema, b));
            assertTrue(e.getMessage().endsWith("is released (its release is NULL): it was released or moved already;"
                    + " nothing was imported"), e.getMessage());
            assertEquals(0, ForeignArrow.SCHEMA_RELEASES.get());
            e = assertThrows(IllegalArgumentException.class, () -> Arrow.importArray(MemorySegment.NULL, schema, b));
            assertEquals("cannot import a NULL ArrowArray pointer; nothing was imported", e.getMessage());
            ArrowShim.releaseSchema(schema.address());
        }
    }

    @Test
    void importIntoAClosedArenaReleasesBoth() {
        Arena b = Arena.ofConfined();
        b.close();
        try (Arena structs = Arena.ofConfined()) {
            ForeignArrow f = new ForeignArrow(structs);
            MemorySegment array = f.array(0, 0, 0, new MemorySegment[] {MemorySegment.NULL, MemorySegment.NULL});
            MemorySegment schema = f.schema("l", "x", null);
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> Arrow.importArray(array, schema, b));
            assertTrue(e.getMessage().startsWith("Already closed"), e.getMessage());
            assertEquals(1, ForeignArrow.ARRAY_RELEASES.get());
            assertEquals(1, ForeignArrow.SCHEMA_RELEASES.get());
        }
    }

    @Test
    void emptyForeignColumnWithNullDataImports() {
        try (Arena structs = Arena.ofConfined(); Arena b = Arena.ofConfined()) {
            ForeignArrow f = new ForeignArrow(structs);
            NdArray v = Arrow.importArray(f.array(0, 0, 0, new MemorySegment[] {MemorySegment.NULL, MemorySegment.NULL}),
                    f.schema("g", null, null), b);
            assertEquals(0, v.elementCount());
            assertNull(null);
        }
        assertEquals(1, ForeignArrow.ARRAY_RELEASES.get());
    }
}
