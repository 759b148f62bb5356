package dev.panbuf.format;

import dev.panbuf.DType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.ByteOrder;
import java.util.List;

import static dev.panbuf.DType.Kind.BYTES;
import static dev.panbuf.DType.Kind.FLOAT;
import static dev.panbuf.DType.Kind.SIGNED;
import static dev.panbuf.DType.Kind.UNSIGNED;
import static java.nio.ByteOrder.BIG_ENDIAN;
import static java.nio.ByteOrder.LITTLE_ENDIAN;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * PEP 3118 struct strings: what each spelling reads as, what each dtype is
 * written as, and the exact message of every refusal. (NumpyOracleTest checks
 * the same against NumPy on this machine.)
 */
class StructFormatTest {

    private static final ByteOrder NATIVE = ByteOrder.nativeOrder();

    static DType.Field field(String name, DType dtype, long offset) {
        return new DType.Field(name, dtype, offset);
    }

    static DType scalar(DType.Kind kind, long size, ByteOrder order) {
        return DType.scalar(kind, size, order);
    }

    static DType bytes(long size) {
        return DType.scalar(BYTES, size, null);
    }

    private static void assertRefused(String format, String message) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> StructFormat.parse(format));
        assertEquals(message, e.getMessage());
    }

    // ------------------------------------------------------------------ reading scalars

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiterString = "=>", value = {
            "?  => BOOL     => 1 => N",
            "b  => SIGNED   => 1 => N",
            "B  => UNSIGNED => 1 => N",
            "h  => SIGNED   => 2 => N",
            "H  => UNSIGNED => 2 => N",
            "i  => SIGNED   => 4 => N",
            "I  => UNSIGNED => 4 => N",
            "l  => SIGNED   => 8 => N",
            "L  => UNSIGNED => 8 => N",
            "q  => SIGNED   => 8 => N",
            "Q  => UNSIGNED => 8 => N",
            "e  => FLOAT    => 2 => N",
            "f  => FLOAT    => 4 => N",
            "d  => FLOAT    => 8 => N",
            "@l => SIGNED   => 8 => N",
            "^l => SIGNED   => 8 => N",
            "^L => UNSIGNED => 8 => N",
            "=l => SIGNED   => 4 => N",
            "=L => UNSIGNED => 4 => N",
            "<l => SIGNED   => 4 => L",
            ">l => SIGNED   => 4 => B",
            "!l => SIGNED   => 4 => B",
            "<q => SIGNED   => 8 => L",
            ">Q => UNSIGNED => 8 => B",
            "<d => FLOAT    => 8 => L",
            ">e => FLOAT    => 2 => B",
            "!h => SIGNED   => 2 => B",
            "c  => BYTES    => 1 => N",
            "s  => BYTES    => 1 => N",
            "10s=> BYTES    => 10=> N",
            ">3s=> BYTES    => 3 => N",
    })
    void scalarCodeReadsAsNumpyTypeWithSizeFromTheMode(String format, DType.Kind kind, long size, char order) {
        ByteOrder o = switch (order) {
            case 'L' -> LITTLE_ENDIAN;
            case 'B' -> BIG_ENDIAN;
            default -> NATIVE;
        };
        assertEquals(DType.scalar(kind, size, o), StructFormat.parse(format.strip()));
    }

    @Test
    void whitespaceOutsideNamesIsIgnoredAsNumpyStripsIt() {
        assertEquals(DType.INT32, StructFormat.parse(" \ti\n"));
        assertEquals(DType.record(List.of(field(" a b ", DType.INT32, 0)), 4), StructFormat.parse("T { i : a b :}"));
        assertEquals(DType.record(List.of(), 10), StructFormat.parse("1 0x"));
    }

    // ------------------------------------------------------------------ reading records

    @Test
    void standardModeRecordIsPacked() {
        DType expected = DType.record(List.of(
                field("x", scalar(SIGNED, 4, LITTLE_ENDIAN), 0),
                field("y", scalar(FLOAT, 8, LITTLE_ENDIAN), 4)), 12);
        assertEquals(expected, StructFormat.parse("T{<i:x:<d:y:}"));
        assertEquals(expected, StructFormat.parse("<T{i:x:d:y:}"));
    }

    @Test
    void nativeModeAlignsEachItemAndPadsTheRecordToItsAlignment() {
        DType aligned = DType.record(List.of(field("a", DType.INT8, 0), field("b", DType.INT32, 4)), 8);
        assertEquals(aligned, StructFormat.parse("T{b:a:i:b:}"));
        assertEquals(aligned, StructFormat.parse("T{b:a:xxxi:b:}"));
        assertEquals(aligned, StructFormat.parse("@T{b:a:i:b:}"));
        DType tail = DType.record(List.of(field("a", DType.INT32, 0), field("b", DType.INT8, 4)), 8);
        assertEquals(tail, StructFormat.parse("T{i:a:b:b:}"));
    }

    @Test
    void caretAndEqualsUseNoAlignment() {
        DType packed = DType.record(List.of(field("a", DType.INT8, 0), field("b", DType.INT32, 1)), 5);
        assertEquals(packed, StructFormat.parse("^T{b:a:i:b:}"));
        assertEquals(packed, StructFormat.parse("=T{b:a:i:b:}"));
        assertEquals(packed, StructFormat.parse("T{b:a:=i:b:}"));
    }

    @Test
    void recordPaddingDependsOnTheModeInForceAtItsEnd() {
        // '@' at the start, '=' at the end: NumPy aligns the i but does not pad the tail.
        assertEquals(DType.record(List.of(field("a", DType.INT32, 0), field("b", DType.INT8, 4),
                        field("c", DType.INT16, 5)), 7),
                StructFormat.parse("T{i:a:b:b:=h:c:}"));
    }

    @Test
    void byteOrderStaysInForceAfterANestedRecordCloses() {
        DType be = scalar(SIGNED, 4, BIG_ENDIAN);
        DType expected = DType.record(List.of(
                field("f0", DType.record(List.of(field("a", be, 0)), 4), 0),
                field("b", be, 4)), 8);
        assertEquals(expected, StructFormat.parse("T{>i:a:}i:b:"));
        assertEquals(expected, StructFormat.parse(">T{i:a:}i:b:"));
    }

    @Test
    void unnamedItemsTakeTheLowestUnusedFNames() {
        assertEquals(DType.record(List.of(field("f0", DType.INT32, 0), field("f1", DType.INT32, 4)), 8),
                StructFormat.parse("ii"));
        assertEquals(DType.record(List.of(field("f1", DType.INT32, 0), field("f0", DType.INT32, 4)), 8),
                StructFormat.parse("i i:f0:"));
        assertEquals(DType.record(List.of(field("f1", DType.INT8, 0), field("f0", DType.INT8, 1),
                        field("f2", DType.INT8, 2)), 3),
                StructFormat.parse("b:f1:b:f0:b"));
    }

    @Test
    void oneUnnamedItemFillingTheElementIsThatItemNotARecord() {
        assertEquals(DType.INT32, StructFormat.parse("i"));
        assertEquals(DType.INT32, StructFormat.parse("i0x"));
        DType inner = DType.record(List.of(field("a", DType.INT32, 0)), 4);
        assertEquals(inner, StructFormat.parse("T{i:a:}"));
        assertEquals(DType.record(List.of(field("f0", DType.INT8, 0)), 2), StructFormat.parse("bx"));
        assertEquals(DType.record(List.of(field("f0", DType.INT32, 4)), 8), StructFormat.parse("xi"));
        assertEquals(DType.record(List.of(field("a", DType.INT32, 0)), 4), StructFormat.parse("i:a:"));
    }

    @Test
    void namedPaddingIsABytesFieldAndUnnamedPaddingIsAGap() {
        assertEquals(DType.record(List.of(field("pad", bytes(3), 0), field("v", DType.INT16, 4)), 6),
                StructFormat.parse("3x:pad:xh:v:"));
        assertEquals(DType.record(List.of(), 3), StructFormat.parse("3x"));
        assertEquals(bytes(3), StructFormat.parse("3s"));
    }

    @Test
    void fieldNamesKeepEveryCharacterButColon() {
        DType d = StructFormat.parse("i:\u00e9 }{T{:d:\uD83D\uDE00:");
        assertEquals(List.of("\u00e9 }{T{", "\uD83D\uDE00"), d.fields().stream().map(DType.Field::name).toList());
    }

    @Test
    void recordsNestSixtyFourLevelsDeep() {
        String format = "T{".repeat(64) + "b:x:" + "}".repeat(64);
        DType d = StructFormat.parse(format);
        int depth = 0;
        while (d.isRecord()) {
            d = d.fields().getFirst().dtype();
            depth++;
        }
        assertEquals(64, depth);
        assertEquals(DType.INT8, d);
    }

    // ------------------------------------------------------------------ writing

    @ParameterizedTest(name = "{1}")
    @CsvSource(delimiterString = "=>", value = {
            "?   => BOOL     => 1 => N",
            "b   => SIGNED   => 1 => N",
            "B   => UNSIGNED => 1 => N",
            "h   => SIGNED   => 2 => N",
            ">h  => SIGNED   => 2 => B",
            "H   => UNSIGNED => 2 => N",
            ">H  => UNSIGNED => 2 => B",
            "i   => SIGNED   => 4 => N",
            ">i  => SIGNED   => 4 => B",
            "I   => UNSIGNED => 4 => N",
            ">I  => UNSIGNED => 4 => B",
            "l   => SIGNED   => 8 => N",
            ">q  => SIGNED   => 8 => B",
            "L   => UNSIGNED => 8 => N",
            ">Q  => UNSIGNED => 8 => B",
            "e   => FLOAT    => 2 => N",
            ">e  => FLOAT    => 2 => B",
            "f   => FLOAT    => 4 => N",
            ">f  => FLOAT    => 4 => B",
            "d   => FLOAT    => 8 => N",
            ">d  => FLOAT    => 8 => B",
            "3s  => BYTES    => 3 => N",
    })
    void scalarIsWrittenAsNumpyExportsIt(String format, DType.Kind kind, long size, char order) {
        DType d = DType.scalar(kind, size, order == 'B' ? BIG_ENDIAN : NATIVE);
        assertEquals(format.strip(), StructFormat.format(d));
        assertEquals(d, StructFormat.parse(StructFormat.format(d)));
    }

    @Test
    void alignedRecordIsWrittenWithNativeModeAndExplicitPadding() {
        DType d = DType.record(List.of(field("a", DType.INT8, 0), field("b", DType.INT32, 4),
                field("c", DType.INT64, 8), field("d", DType.UINT64, 16)), 24);
        assertEquals("T{b:a:xxxi:b:l:c:L:d:}", StructFormat.format(d));
    }

    @Test
    void unalignedNativeFieldSwitchesToEqualsMode() {
        DType d = DType.record(List.of(field("a", DType.INT8, 0), field("b", DType.INT32, 1),
                field("c", DType.INT64, 8)), 16);
        assertEquals("T{b:a:=i:b:xxx@l:c:}", StructFormat.format(d));
    }

    @Test
    void bigEndianFieldsAreWrittenInStandardModeWithOneByteFieldsKeepingTheMode() {
        DType d = DType.record(List.of(field("a", scalar(SIGNED, 4, BIG_ENDIAN), 0), field("b", DType.INT8, 4),
                field("c", scalar(SIGNED, 2, LITTLE_ENDIAN), 5), field("d", scalar(UNSIGNED, 8, BIG_ENDIAN), 7),
                field("e", scalar(FLOAT, 2, LITTLE_ENDIAN), 15)), 17);
        String expected = NATIVE == LITTLE_ENDIAN ? "T{>i:a:b:b:=h:c:>Q:d:=e:e:}" : "T{i:a:b:b:<h:c:=Q:d:<e:e:}";
        assertEquals(expected, StructFormat.format(d));
        assertEquals(d, StructFormat.parse(expected));
    }

    @Test
    void recordThatNumpysFormatWouldMisreadIsWrittenInStandardMode() {
        // NumPy writes "T{i:a:b:b:}", which reads back 8 bytes long.
        DType packedTail = DType.record(List.of(field("a", DType.INT32, 0), field("b", DType.INT8, 4)), 5);
        assertEquals("T{=i:a:b:b:}", StructFormat.format(packedTail));
        // NumPy writes "T{i:a:}", which drops the two trailing bytes.
        DType trailing = DType.record(List.of(field("a", DType.INT32, 0)), 6);
        assertEquals("T{=i:a:xx}", StructFormat.format(trailing));
        // NumPy writes "T{}", a zero-size record.
        assertEquals("T{xxxx}", StructFormat.format(DType.record(List.of(), 4)));
        for (DType d : List.of(packedTail, trailing, DType.record(List.of(), 4))) {
            assertEquals(d, StructFormat.parse(StructFormat.format(d)));
        }
    }

    @Test
    void nestedRecordAlignedInMemoryButNotInsideItsParentIsWrittenInStandardMode() {
        // Inside r, y sits at relative offset 2: '@' would move it to 4.
        DType r = DType.record(List.of(field("x", DType.INT16, 0), field("y", DType.INT32, 2)), 6);
        DType d = DType.record(List.of(field("a", DType.INT8, 0), field("b", DType.INT8, 1), field("r", r, 2)), 8);
        assertEquals("T{b:a:b:b:T{=h:x:i:y:}:r:}", StructFormat.format(d));
        assertEquals(d, StructFormat.parse(StructFormat.format(d)));
    }

    @Test
    void gapsLongerThan255BytesAreWrittenWithACount() {
        DType d = DType.record(List.of(field("a", DType.UINT8, 0), field("b", DType.UINT8, 300)), 301);
        assertEquals("T{B:a:299xB:b:}", StructFormat.format(d));
        DType shortGap = DType.record(List.of(field("a", DType.UINT8, 0), field("b", DType.UINT8, 256)), 257);
        assertEquals("T{B:a:" + "x".repeat(255) + "B:b:}", StructFormat.format(shortGap));
    }

    @Test
    void fieldsDeclaredOutOfOffsetOrderAreWrittenInOffsetOrder() {
        DType d = DType.record(List.of(field("b", DType.INT32, 4), field("a", DType.INT32, 0)), 8);
        assertEquals("T{i:a:i:b:}", StructFormat.format(d));
        assertEquals(DType.record(List.of(field("a", DType.INT32, 0), field("b", DType.INT32, 4)), 8),
                StructFormat.parse(StructFormat.format(d)));
    }

    @Test
    void topLevelBytesAreWrittenAsSBecauseXWouldReadBackAsPadding() {
        assertEquals("5s", StructFormat.format(bytes(5)));
        assertEquals("T{5x:a:=h:b:}", StructFormat.format(
                DType.record(List.of(field("a", bytes(5), 0), field("b", DType.INT16, 5)), 7)));
    }

    @Test
    void canonicalRecordIsTheSameObjectWhenFieldsAreInOffsetOrder() {
        DType d = DType.record(List.of(field("a", DType.INT32, 0)), 4);
        assertSame(d, StructFormat.inOffsetOrder(d));
    }

    @Test
    void fieldNameWithColonCannotBeWritten() {
        DType d = DType.record(List.of(field("a:b", DType.INT32, 0)), 4);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> StructFormat.format(d));
        assertEquals("field name 'a:b' contains ':', which a PEP 3118 format cannot express (NumPy refuses it too)",
                e.getMessage());
    }

    // ------------------------------------------------------------------ refusals, message for message

    @ParameterizedTest(name = "\"{0}\"")
    @CsvSource(delimiterString = "=>", quoteCharacter = '`', value = {
            // empty and blank
            "``                       => bad struct format \"\" at position 0: empty format (expected a type code such as 'i', '<d' or 'T{...}')",
            "`  `                     => bad struct format \"  \" at position 2: only whitespace (expected a type code such as 'i', '<d' or 'T{...}')",
            // unknown code, unknown byte order
            "k                        => bad struct format \"k\" at position 0: unknown type code 'k' (expected one of ? b B h H i I l L q Q e f d c s x T{, or a byte order @ = < > ! ^)",
            "ii\u00e9                 => bad struct format \"ii\u00e9\" at position 2: unknown type code U+00E9 (expected one of ? b B h H i I l L q Q e f d c s x T{, or a byte order @ = < > ! ^)",
            "|i                       => bad struct format \"|i\" at position 0: '|' is not a PEP 3118 byte order (expected one of @ = < > ! ^, or a type code)",
            "<>                       => bad struct format \"<>\" at position 1: byte order '>' follows the byte order '<' at position 0 (expected a type code)",
            "T{i:a:}>                 => bad struct format \"T{i:a:}>\" at position 8: byte order '>' at position 7 is followed by the end (expected a type code)",
            // unclosed T{, T without {
            "T{<i:x:                  => bad struct format \"T{<i:x:\" at position 7: unclosed 'T{' (expected '}' to close the record opened at position 0)",
            "T{i:a:T{b:b:}            => bad struct format \"T{i:a:T{b:b:}\" at position 13: unclosed 'T{' (expected '}' to close the record opened at position 0)",
            "Tx                       => bad struct format \"Tx\" at position 1: expected '{' after 'T' at position 0",
            // names
            "T{i:x                    => bad struct format \"T{i:x\" at position 3: unterminated field name (expected ':' to end the name)",
            "i:a:i:a:                 => bad struct format \"i:a:i:a:\" at position 6: duplicate field name 'a'",
            "i::                      => bad struct format \"i::\" at position 1: empty field name '::' (panbuf record fields need names)",
            ":a:                      => bad struct format \":a:\" at position 0: field name without a type (expected a type code before ':')",
            // trailing junk
            "T{i:a:}}xyz              => bad struct format \"T{i:a:}}xyz\" at position 7: unexpected '}' (no 'T{' is open)",
            "i}                       => bad struct format \"i}\" at position 1: unexpected '}' (no 'T{' is open)",
            // counts
            "4                        => bad struct format \"4\" at position 1: repeat count 4 at position 0 is followed by the end (expected a type code)",
            "T{4}                     => bad struct format \"T{4}\" at position 3: repeat count 4 at position 2 is followed by '}' (expected a type code)",
            "4:a:                     => bad struct format \"4:a:\" at position 1: repeat count 4 at position 0 is followed by ':' (expected a type code)",
            "99999999999999999999x    => bad struct format \"99999999999999999999x\" at position 0: repeat count 99999999999999999999 is too large (at most 2147483647)",
            "2147483648s              => bad struct format \"2147483648s\" at position 0: repeat count 2147483648 is too large (at most 2147483647)",
            "2i                       => bad struct format \"2i\" at position 0: repeat count 2 on 'i' makes a subarray, which panbuf dtypes do not support (only 's' bytes and 'x' padding take a count)",
            "b3c                      => bad struct format \"b3c\" at position 1: repeat count 3 on 'c' makes a subarray, which panbuf dtypes do not support (only 's' bytes and 'x' padding take a count)",
            "2T{i:a:}                 => bad struct format \"2T{i:a:}\" at position 0: repeat count 2 on 'T{...}' makes a subarray, which panbuf dtypes do not support (only 's' bytes and 'x' padding take a count)",
            "(2,3)d                   => bad struct format \"(2,3)d\" at position 0: subarray shape '(...)' is not supported (panbuf dtypes have no subarray fields)",
            // zero sizes
            "T{}                      => bad struct format \"T{}\" at position 0: zero-size record (a record needs at least one byte)",
            "i:a:T{0x}:b:             => bad struct format \"i:a:T{0x}:b:\" at position 4: zero-size record (a record needs at least one byte)",
            "0x                       => bad struct format \"0x\" at position 0: the format describes zero bytes (a dtype needs at least one)",
            "0s                       => bad struct format \"0s\" at position 0: zero-size bytes '0s' (bytes need at least one byte)",
            "i0x:a:                   => bad struct format \"i0x:a:\" at position 2: zero-size field 'a' ('0x' names no bytes)",
            // types NumPy has and panbuf has not, and types NumPy refuses
            "g                        => bad struct format \"g\" at position 0: type 'g' (long double) is not supported by panbuf",
            "Zd                       => bad struct format \"Zd\" at position 0: complex type 'Zd' is not supported by panbuf",
            "O                        => bad struct format \"O\" at position 0: type 'O' (Python object) is not supported by panbuf",
            "3w                       => bad struct format \"3w\" at position 1: type 'w' (UCS-4 string) is not supported by panbuf",
            "t                        => bad struct format \"t\" at position 0: type 't' (bit field) is not representable in NumPy or panbuf",
            "&                        => bad struct format \"&\" at position 0: type '&' (pointer) is not representable in NumPy or panbuf",
            "n                        => bad struct format \"n\" at position 0: type 'n' is not accepted by NumPy's buffer import (expected one of ? b B h H i I l L q Q e f d c s x T{)",
            "=P                       => bad struct format \"=P\" at position 1: type 'P' is not accepted by NumPy's buffer import (expected one of ? b B h H i I l L q Q e f d c s x T{)",
    })
    void malformedFormatIsRefusedNamingPositionAndExpectation(String format, String message) {
        assertRefused(format, message);
    }

    @Test
    void nestingPastSixtyFourLevelsIsRefusedAtTheSixtyFifthT() {
        String format = "T{".repeat(65) + "b" + "}".repeat(65);
        assertRefused(format, "bad struct format \"" + format + "\" at position 128: records nested deeper than 64 levels");
    }

    @Test
    void controlCharactersAreEscapedInTheQuotedInput() {
        assertRefused("i\u0001", "bad struct format \"i\\u0001\" at position 1: unknown type code U+0001"
                + " (expected one of ? b B h H i I l L q Q e f d c s x T{, or a byte order @ = < > ! ^)");
        assertRefused("i\"k", "bad struct format \"i\\\"k\" at position 1: unknown type code '\"'"
                + " (expected one of ? b B h H i I l L q Q e f d c s x T{, or a byte order @ = < > ! ^)");
    }

    @Test
    void longInputIsQuotedAsAWindowAroundThePosition() {
        String format = "i".repeat(500) + "k" + "i".repeat(500);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> StructFormat.parse(format));
        assertEquals("bad struct format \"..." + "i".repeat(60) + "k" + "i".repeat(59) + "...\" (1001 chars)"
                + " at position 500: unknown type code 'k'"
                + " (expected one of ? b B h H i I l L q Q e f d c s x T{, or a byte order @ = < > ! ^)", e.getMessage());
    }
}
