package dev.panbuf;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.lang.foreign.MemoryLayout.PathElement;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SequenceLayout;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.List;

import static dev.panbuf.DType.Kind.BOOL;
import static dev.panbuf.DType.Kind.BYTES;
import static dev.panbuf.DType.Kind.FLOAT;
import static dev.panbuf.DType.Kind.RECORD;
import static dev.panbuf.DType.Kind.SIGNED;
import static dev.panbuf.DType.Kind.UNSIGNED;
import static java.nio.ByteOrder.BIG_ENDIAN;
import static java.nio.ByteOrder.LITTLE_ENDIAN;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The DType API: factories and their validation, layouts in the dtype's byte order, fields, carriers, equality. */
class DTypeTest {

    private static final ByteOrder NATIVE = ByteOrder.nativeOrder();
    private static final ByteOrder FOREIGN = NATIVE == LITTLE_ENDIAN ? BIG_ENDIAN : LITTLE_ENDIAN;

    private static DType.Field field(String name, DType dtype, long offset) {
        return new DType.Field(name, dtype, offset);
    }

    private static void assertRefused(Runnable r, String message) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, r::run);
        assertEquals(message, e.getMessage());
    }

    // ------------------------------------------------------------------ scalars

    @ParameterizedTest(name = "{0} {1}")
    @CsvSource({
            "BOOL, 1, boolean", "SIGNED, 1, byte", "UNSIGNED, 1, byte", "SIGNED, 2, short", "UNSIGNED, 2, short",
            "SIGNED, 4, int", "UNSIGNED, 4, int", "SIGNED, 8, long", "UNSIGNED, 8, long",
            "FLOAT, 2, short", "FLOAT, 4, float", "FLOAT, 8, double",
    })
    void scalarLayoutIsUnalignedValueLayoutInTheDtypesOrder(DType.Kind kind, long size, String carrier) {
        for (ByteOrder order : List.of(LITTLE_ENDIAN, BIG_ENDIAN)) {
            DType d = DType.scalar(kind, size, order);
            ValueLayout v = d.valueLayout();
            assertSame(v, d.layout());
            assertEquals(carrier, v.carrier().getName(), "float16 is read as its 16 bits");
            assertEquals(size, v.byteSize());
            assertEquals(1, v.byteAlignment(), "views may sit at any byte offset");
            assertEquals(size == 1 ? NATIVE : order, v.order());
            assertEquals(size, d.alignedLayout().byteAlignment());
            assertEquals(size, d.byteAlignment());
            assertEquals(size == 1 ? null : order, d.byteOrder());
            assertEquals(kind, d.kind());
            assertEquals(size, d.byteSize());
            assertFalse(d.isRecord());
        }
    }

    @Test
    void bigEndianLayoutReadsBigEndianBytes() {
        MemorySegment bytes = MemorySegment.ofArray(new byte[] {0, 0, 1, 2, 0x3f, (byte) 0x80, 0, 0});
        DType be32 = DType.scalar(SIGNED, 4, BIG_ENDIAN);
        assertEquals(0x0102, bytes.get((ValueLayout.OfInt) be32.valueLayout(), 0));
        assertEquals(0x02010000, bytes.get((ValueLayout.OfInt) be32.withByteOrder(LITTLE_ENDIAN).valueLayout(), 0));
        assertEquals(1.0f, bytes.get((ValueLayout.OfFloat) DType.scalar(FLOAT, 4, BIG_ENDIAN).valueLayout(), 4));
        assertEquals((short) 0x3f80, bytes.get((ValueLayout.OfShort) DType.scalar(FLOAT, 2, BIG_ENDIAN).valueLayout(), 4));
    }

    @Test
    void oneByteTypesAndBytesHaveNoByteOrder() {
        for (DType d : List.of(DType.BOOL, DType.INT8, DType.UINT8, DType.scalar(BYTES, 3, BIG_ENDIAN))) {
            assertNull(d.byteOrder());
            assertTrue(d.isNativeOrder());
            assertSame(d, d.withByteOrder(FOREIGN));
        }
        assertEquals(DType.BOOL, DType.scalar(BOOL, 1, BIG_ENDIAN));
        assertEquals(DType.scalar(BYTES, 3, null), DType.scalar(BYTES, 3, LITTLE_ENDIAN));
    }

    @Test
    void bytesLayoutIsAByteSequence() {
        DType d = DType.scalar(BYTES, 5, null);
        SequenceLayout s = assertInstanceOf(SequenceLayout.class, d.layout());
        assertEquals(5, s.elementCount());
        assertEquals(ValueLayout.JAVA_BYTE, s.elementLayout());
        assertEquals(1, d.byteAlignment());
        assertRefused(d::valueLayout, "dtype |V5 is a bytes type and has no single value layout; use layout()");
    }

    @ParameterizedTest(name = "{0} {1}")
    @CsvSource({
            "BOOL, 2, no bool dtype of 2 bytes; bool is 1 byte",
            "SIGNED, 3, 'no signed dtype of 3 bytes; integers are 1, 2, 4 or 8 bytes'",
            "UNSIGNED, 16, 'no unsigned dtype of 16 bytes; integers are 1, 2, 4 or 8 bytes'",
            "FLOAT, 1, 'no float dtype of 1 bytes; floats are 2, 4 or 8 bytes'",
            "FLOAT, 16, 'no float dtype of 16 bytes; floats are 2, 4 or 8 bytes'",
            "BYTES, 0, no bytes dtype of 0 bytes; bytes need a size > 0",
            "BYTES, -1, no bytes dtype of -1 bytes; bytes need a size > 0",
            "RECORD, 4, 'a record dtype is built with DType.record(fields, byteSize), not DType.scalar'",
    })
    void scalarWithASizeNumpyLacksIsRefused(DType.Kind kind, long size, String message) {
        assertRefused(() -> DType.scalar(kind, size, NATIVE), message);
    }

    @Test
    void multiByteScalarNeedsAByteOrder() {
        NullPointerException e = assertThrows(NullPointerException.class, () -> DType.scalar(SIGNED, 4, null));
        assertEquals("order", e.getMessage());
    }

    @Test
    void withByteOrderSwapsOnlyMultiByteTypes() {
        DType be = DType.INT32.withByteOrder(BIG_ENDIAN);
        assertEquals(BIG_ENDIAN, be.byteOrder());
        assertEquals(DType.scalar(SIGNED, 4, BIG_ENDIAN), be);
        assertSame(be, be.withByteOrder(BIG_ENDIAN));
        assertEquals(DType.INT32, be.withNativeOrder());
        assertEquals(NATIVE == BIG_ENDIAN, be.isNativeOrder());
        assertEquals(BIG_ENDIAN, ((ValueLayout) be.layout()).order());
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({
            "BOOL, 1, boolean", "SIGNED, 1, byte", "UNSIGNED, 1, byte", "SIGNED, 2, short", "UNSIGNED, 2, short",
            "SIGNED, 4, int", "UNSIGNED, 4, int", "SIGNED, 8, long", "UNSIGNED, 8, long",
            "FLOAT, 2, float", "FLOAT, 4, float", "FLOAT, 8, double",
    })
    void carrierIsTheSameSizeJavaPrimitiveOrFloatForHalf(DType.Kind kind, long size, String carrier) {
        assertEquals(carrier, DType.scalar(kind, size, NATIVE).carrier().getName());
    }

    @Test
    void bytesAndRecordsHaveNoCarrier() {
        assertNull(DType.scalar(BYTES, 2, null).carrier());
        assertNull(DType.record(List.of(field("a", DType.INT8, 0)), 1).carrier());
    }

    @Test
    void namesReadLikeNumpysWithForeignOrderMarked() {
        assertEquals("float32", DType.FLOAT32.name());
        assertEquals("uint8", DType.UINT8.name());
        assertEquals("bool", DType.BOOL.name());
        assertEquals("bytes3", DType.scalar(BYTES, 3, null).name());
        assertEquals((FOREIGN == BIG_ENDIAN ? ">" : "<") + "int16", DType.INT16.withByteOrder(FOREIGN).name());
        assertEquals("record T{b:a:}", DType.record(List.of(field("a", DType.INT8, 0)), 1).name());
    }

    @Test
    void equalityIsKindSizeOrderAndFields() {
        assertEquals(DType.INT32, DType.scalar(SIGNED, 4, NATIVE));
        assertEquals(DType.INT32.hashCode(), DType.scalar(SIGNED, 4, NATIVE).hashCode());
        assertNotEquals(DType.INT32, DType.UINT32);
        assertNotEquals(DType.INT32, DType.FLOAT32);
        assertNotEquals(DType.INT32, DType.INT32.withByteOrder(FOREIGN));
        assertNotEquals(DType.INT32, DType.INT64);
        assertNotEquals(DType.scalar(BYTES, 4, null), DType.record(List.of(), 4));
        DType ab = DType.record(List.of(field("a", DType.INT8, 0), field("b", DType.INT8, 1)), 2);
        assertEquals(ab, DType.record(List.of(field("a", DType.INT8, 0), field("b", DType.INT8, 1)), 2));
        assertEquals(ab.hashCode(), DType.record(List.of(field("a", DType.INT8, 0), field("b", DType.INT8, 1)), 2).hashCode());
        assertNotEquals(ab, DType.record(List.of(field("b", DType.INT8, 1), field("a", DType.INT8, 0)), 2),
                "declaration order is part of a record");
        assertNotEquals(ab, DType.record(List.of(field("a", DType.INT8, 0), field("c", DType.INT8, 1)), 2));
        assertNotEquals(ab, DType.record(List.of(field("a", DType.INT8, 0), field("b", DType.INT8, 1)), 3));
        assertFalse(ab.equals("T{b:a:b:b:}"));
    }

    // ------------------------------------------------------------------ records

    @Test
    void recordLayoutIsAStructWithPaddingAndNamedFields() {
        DType be32 = DType.scalar(SIGNED, 4, BIG_ENDIAN);
        DType d = DType.record(List.of(field("y", DType.FLOAT64, 8), field("x", be32, 1)), 20);
        StructLayout s = assertInstanceOf(StructLayout.class, d.layout());
        assertEquals(20, s.byteSize());
        assertEquals(1, s.byteOffset(PathElement.groupElement("x")));
        assertEquals(8, s.byteOffset(PathElement.groupElement("y")));
        assertEquals(BIG_ENDIAN, ((ValueLayout) s.select(PathElement.groupElement("x"))).order());
        assertEquals(5, s.memberLayouts().size(), "pad 1, x, pad 3, y, pad 4");
        assertEquals(1, d.byteAlignment(), "x at byte 1 makes it packed: it may sit at any byte");
        DType cStruct = DType.record(List.of(field("y", DType.FLOAT64, 8), field("x", be32, 4)), 16);
        assertEquals(8, cStruct.byteAlignment(), "every field naturally aligned: the largest field's alignment");
        assertEquals(8, cStruct.alignedLayout().byteAlignment());
        assertNull(d.byteOrder());
        assertTrue(d.isRecord());
        assertEquals(RECORD, d.kind());
        assertEquals('V', d.kind().numpyKind());
    }

    @Test
    void recordWithByteOrderSwapsEveryFieldAtEveryDepth() {
        DType inner = DType.record(List.of(field("h", DType.FLOAT16, 0), field("c", DType.INT8, 2)), 3);
        DType d = DType.record(List.of(field("a", DType.INT32, 0), field("r", inner, 4),
                field("s", DType.scalar(BYTES, 2, null), 7)), 9);
        DType be = d.withByteOrder(BIG_ENDIAN);
        assertEquals(BIG_ENDIAN, be.field("a").dtype().byteOrder());
        assertEquals(BIG_ENDIAN, be.field("r").dtype().field("h").dtype().byteOrder());
        assertNull(be.field("r").dtype().field("c").dtype().byteOrder());
        assertEquals(d.field("s"), be.field("s"));
        assertEquals(4, be.field("r").byteOffset());
        assertEquals(9, be.byteSize());
        StructLayout s = (StructLayout) be.layout();
        assertEquals(BIG_ENDIAN, ((ValueLayout) s.select(PathElement.groupElement("r"),
                PathElement.groupElement("h"))).order());
        assertEquals(d.withNativeOrder(), be.withNativeOrder());
    }

    @Test
    void fieldFindsByNameAndNamesTheFieldsWhenMissing() {
        DType d = DType.record(List.of(field("a", DType.INT8, 0), field("b", DType.INT32, 4)), 8);
        assertEquals(field("b", DType.INT32, 4), d.field("b"));
        assertEquals(List.of(field("a", DType.INT8, 0), field("b", DType.INT32, 4)), d.fields());
        assertRefused(() -> d.field("z"), "no field 'z' in record dtype T{b:a:xxxi:b:}; fields are [a, b]");
        assertRefused(() -> DType.INT32.field("x"), "dtype " + DType.INT32.str()
                + " is not a record; field('x') needs a record dtype");
        assertEquals(List.of(), DType.INT32.fields());
    }

    @Test
    void recordWithAColonInAFieldNamePrintsAsItsDescr() {
        DType d = DType.record(List.of(field("a:b", DType.INT8, 0)), 1);
        assertEquals("[('a:b', '|i1')]", d.toString());
        assertRefused(() -> d.field("z"), "no field 'z' in record dtype [('a:b', '|i1')]; fields are [a:b]");
        assertEquals("record [('a:b', '|i1')]", d.name());
    }

    @Test
    void recordFieldsListIsImmutable() {
        DType d = DType.record(List.of(field("a", DType.INT8, 0)), 1);
        assertThrows(UnsupportedOperationException.class, () -> d.fields().add(field("b", DType.INT8, 0)));
    }

    @Test
    void recordValidationNamesTheOffendingField() {
        DType i4 = DType.INT32;
        assertRefused(() -> DType.record(List.of(), 0), "a record needs a byte size > 0, got 0");
        assertRefused(() -> DType.record(List.of(field("a", i4, 0)), -4), "a record needs a byte size > 0, got -4");
        assertRefused(() -> DType.record(List.of(field("", i4, 0)), 4), "record field at byte offset 0 has an empty name");
        assertRefused(() -> DType.record(List.of(field("a", i4, 0), field("a", i4, 4)), 8),
                "record field name 'a' appears twice");
        assertRefused(() -> DType.record(List.of(field("a", i4, 0), field("b", i4, 2)), 8),
                "record field 'b' at byte offset 2 overlaps field 'a' which ends at byte 4");
        assertRefused(() -> DType.record(List.of(field("b", i4, 2), field("a", i4, 0)), 8),
                "record field 'b' at byte offset 2 overlaps field 'a' which ends at byte 4");
        assertRefused(() -> DType.record(List.of(field("a", i4, 6)), 8),
                "record field 'a' ends at byte 10, past the record's byte size 8");
        assertRefused(() -> DType.record(List.of(field("a", i4, Long.MAX_VALUE - 1)), 8),
                "record field 'a' at byte offset 9223372036854775806 ends past the record's byte size 8");
        assertRefused(() -> field("a", i4, -1), "field 'a' has negative byte offset -1");
        assertThrows(NullPointerException.class, () -> field(null, i4, 0));
        assertThrows(NullPointerException.class, () -> field("a", null, 0));
    }

    @Test
    void recordWithoutFieldsIsPaddingOnly() {
        DType d = DType.record(List.of(), 4);
        assertEquals(4, d.layout().byteSize());
        assertEquals(1, d.byteAlignment());
        assertEquals(List.of(), d.fields());
    }

    // ------------------------------------------------------------------ both spellings

    @Test
    void parseAndFromFormatReadTheTwoSpellingsOfOneType() {
        DType f = DType.parse("<f4");
        DType g = DType.fromFormat("<f");
        assertEquals(f, g);
        assertEquals("<f4", g.str());
        assertEquals(NATIVE == LITTLE_ENDIAN ? "f" : "<f", f.format());
        assertEquals("<f4", f.toString());
        DType r = DType.fromFormat("T{<i:x:<d:y:}");
        assertEquals(DType.record(List.of(field("x", DType.parse("<i4"), 0), field("y", DType.parse("<f8"), 4)), 12), r);
        assertEquals("|V12", r.str());
        assertEquals(r.format(), r.toString());
        assertEquals(12, r.layout().byteSize());
    }
}
