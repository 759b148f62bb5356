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
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * NumPy dtype strings, {@code dtype.str} and {@code .npy} descrs: what each
 * spelling reads as, what each dtype is written as, and the exact message of
 * every refusal. (NumpyOracleTest checks the same against NumPy itself.)
 */
class NumpyDescrTest {

    private static final ByteOrder NATIVE = ByteOrder.nativeOrder();

    private static DType.Field field(String name, DType dtype, long offset) {
        return new DType.Field(name, dtype, offset);
    }

    private static DType bytes(long size) {
        return DType.scalar(BYTES, size, null);
    }

    private static ByteOrder order(char c) {
        return switch (c) {
            case 'L' -> LITTLE_ENDIAN;
            case 'B' -> BIG_ENDIAN;
            default -> NATIVE;
        };
    }

    // ------------------------------------------------------------------ dtype strings

    @ParameterizedTest(name = "\"{0}\"")
    @CsvSource(delimiterString = "=>", quoteCharacter = '`', value = {
            "<f4 => FLOAT => 4 => L", ">f4 => FLOAT => 4 => B", "=f4 => FLOAT => 4 => N", "|f4 => FLOAT => 4 => N",
            "f4 => FLOAT => 4 => N", "float32 => FLOAT => 4 => N", "single => FLOAT => 4 => N", "f => FLOAT => 4 => N",
            ">f => FLOAT => 4 => B", "e => FLOAT => 2 => N", "half => FLOAT => 2 => N", "<f2 => FLOAT => 2 => L",
            "float16 => FLOAT => 2 => N", "d => FLOAT => 8 => N", "double => FLOAT => 8 => N",
            "float => FLOAT => 8 => N", "float_ => FLOAT => 8 => N", "float64 => FLOAT => 8 => N",
            "? => BOOL => 1 => N", "b1 => BOOL => 1 => N", "|b1 => BOOL => 1 => N", ">b1 => BOOL => 1 => N",
            "bool => BOOL => 1 => N", "bool_ => BOOL => 1 => N", "bool8 => BOOL => 1 => N", ">? => BOOL => 1 => N",
            "b => SIGNED => 1 => N", "i1 => SIGNED => 1 => N", ">i1 => SIGNED => 1 => N", "int8 => SIGNED => 1 => N",
            "byte => SIGNED => 1 => N", "B => UNSIGNED => 1 => N", "|u1 => UNSIGNED => 1 => N",
            "uint8 => UNSIGNED => 1 => N", "ubyte => UNSIGNED => 1 => N",
            "h => SIGNED => 2 => N", "short => SIGNED => 2 => N", ">i2 => SIGNED => 2 => B",
            "H => UNSIGNED => 2 => N", "ushort => UNSIGNED => 2 => N", "<u2 => UNSIGNED => 2 => L",
            "i => SIGNED => 4 => N", ">i => SIGNED => 4 => B", "intc => SIGNED => 4 => N", "int32 => SIGNED => 4 => N",
            "I => UNSIGNED => 4 => N", "uintc => UNSIGNED => 4 => N", "uint32 => UNSIGNED => 4 => N",
            "l => SIGNED => 8 => N", "q => SIGNED => 8 => N", "p => SIGNED => 8 => N", ">p => SIGNED => 8 => B",
            "int => SIGNED => 8 => N", "int_ => SIGNED => 8 => N", "long => SIGNED => 8 => N",
            "longlong => SIGNED => 8 => N", "intp => SIGNED => 8 => N", "int0 => SIGNED => 8 => N",
            "int64 => SIGNED => 8 => N", "<i8 => SIGNED => 8 => L",
            "L => UNSIGNED => 8 => N", "Q => UNSIGNED => 8 => N", "P => UNSIGNED => 8 => N",
            "uint => UNSIGNED => 8 => N", "ulong => UNSIGNED => 8 => N", "ulonglong => UNSIGNED => 8 => N",
            "uintp => UNSIGNED => 8 => N", "uint0 => UNSIGNED => 8 => N", "uint64 => UNSIGNED => 8 => N",
            ">u8 => UNSIGNED => 8 => B",
            // sizes as C's strtol reads them
            "`f 4` => FLOAT => 4 => N", "f+4 => FLOAT => 4 => N", "f04 => FLOAT => 4 => N", "`i\t4` => SIGNED => 4 => N",
            // bytes, S and V alike
            "S3 => BYTES => 3 => N", "|S3 => BYTES => 3 => N", ">S3 => BYTES => 3 => N", "a3 => BYTES => 3 => N",
            "V4 => BYTES => 4 => N", "<V4 => BYTES => 4 => N", "c => BYTES => 1 => N", "`S 3` => BYTES => 3 => N",
            // the comma shorthand with one item, and the repeats that mean the type itself
            "`i4,` => SIGNED => 4 => N", "`>i4,` => SIGNED => 4 => B", "`i4,   ` => SIGNED => 4 => N",
            "1i4 => SIGNED => 4 => N", "<1i4 => SIGNED => 4 => N", "()i4 => SIGNED => 4 => N",
            "<()i4 => SIGNED => 4 => N",
    })
    void dtypeStringReadsAsNumpyReadsIt(String spelling, DType.Kind kind, long size, char order) {
        assertEquals(DType.scalar(kind, size, order(order)), NumpyDescr.parse(spelling));
    }

    @Test
    void commaShorthandIsAPackedRecordOfFieldsF0F1() {
        DType expected = DType.record(List.of(field("f0", DType.INT32, 0),
                field("f1", DType.scalar(FLOAT, 8, BIG_ENDIAN), 4), field("f2", bytes(3), 12)), 15);
        assertEquals(expected, NumpyDescr.parse("i4, >f8, S3"));
        assertEquals(expected, NumpyDescr.parse("i4 ,>f8\u3000,S3,"));
        assertEquals(expected, NumpyDescr.parse("()i4,1>f8,a3"));
        assertEquals(DType.record(List.of(field("f0", DType.INT32, 0), field("f1", DType.FLOAT32, 4)), 8),
                NumpyDescr.parse("i4,<float32"));
    }

    // ------------------------------------------------------------------ str and descr

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiterString = "=>", value = {
            "|b1 => BOOL => 1 => N", "|i1 => SIGNED => 1 => N", "|u1 => UNSIGNED => 1 => N",
            "<i2 => SIGNED => 2 => L", ">i2 => SIGNED => 2 => B", "<u2 => UNSIGNED => 2 => L", ">u2 => UNSIGNED => 2 => B",
            "<i4 => SIGNED => 4 => L", ">i4 => SIGNED => 4 => B", "<u4 => UNSIGNED => 4 => L", ">u4 => UNSIGNED => 4 => B",
            "<i8 => SIGNED => 8 => L", ">i8 => SIGNED => 8 => B", "<u8 => UNSIGNED => 8 => L", ">u8 => UNSIGNED => 8 => B",
            "<f2 => FLOAT => 2 => L", ">f2 => FLOAT => 2 => B", "<f4 => FLOAT => 4 => L", ">f4 => FLOAT => 4 => B",
            "<f8 => FLOAT => 8 => L", ">f8 => FLOAT => 8 => B", "|V7 => BYTES => 7 => N",
    })
    void strAndDescrAreNumpysAndReadBack(String str, DType.Kind kind, long size, char order) {
        DType d = DType.scalar(kind, size, order(order));
        assertEquals(str, NumpyDescr.str(d));
        assertEquals("'" + str + "'", NumpyDescr.descr(d));
        assertEquals(d, NumpyDescr.parse(str));
        assertEquals(d, NumpyDescr.parseDescr(NumpyDescr.descr(d)));
    }

    @Test
    void bytesReadFromSAreWrittenAsV() {
        assertEquals("|V3", NumpyDescr.str(NumpyDescr.parse("|S3")));
        assertEquals("[('a', '|V3')]", NumpyDescr.descr(NumpyDescr.parseDescr("[('a', '|S3')]")));
    }

    @Test
    void recordDescrListsGapsAsUnnamedVoids() {
        DType d = DType.record(List.of(field("x", DType.scalar(SIGNED, 4, LITTLE_ENDIAN), 0),
                field("y", DType.scalar(FLOAT, 8, LITTLE_ENDIAN), 8)), 16);
        assertEquals("[('x', '<i4'), ('', '|V4'), ('y', '<f8')]", NumpyDescr.descr(d));
        assertEquals("|V16", NumpyDescr.str(d));
        assertEquals(d, NumpyDescr.parseDescr(NumpyDescr.descr(d)));
    }

    @Test
    void nestedRecordDescrIsANestedListWithItsOwnPadding() {
        DType inner = DType.record(List.of(field("x", DType.INT8, 0), field("y", DType.scalar(SIGNED, 4, BIG_ENDIAN), 4)), 8);
        DType d = DType.record(List.of(field("a", DType.INT8, 1), field("r", inner, 4)), 14);
        assertEquals("[('', '|V1'), ('a', '|i1'), ('', '|V2'), ('r', [('x', '|i1'), ('', '|V3'), ('y', '>i4')]),"
                + " ('', '|V2')]", NumpyDescr.descr(d));
        assertEquals(d, NumpyDescr.parseDescr(NumpyDescr.descr(d)));
    }

    @Test
    void recordWithoutFieldsIsOnePaddingEntry() {
        DType d = DType.record(List.of(), 4);
        assertEquals("[('', '|V4')]", NumpyDescr.descr(d));
        assertEquals(d, NumpyDescr.parseDescr("[('', '|V4')]"));
    }

    @Test
    void fieldsDeclaredOutOfOffsetOrderAreWrittenInOffsetOrder() {
        DType d = DType.record(List.of(field("b", DType.UINT8, 2), field("a", DType.UINT8, 0)), 3);
        assertEquals("[('a', '|u1'), ('', '|V1'), ('b', '|u1')]", NumpyDescr.descr(d));
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiterString = "=>", quoteCharacter = '`', value = {
            "plain => 'plain'",
            "it's => \"it's\"",
            "q\"uote => 'q\"uote'",
            "both'\" => 'both\\'\"'",
            "back\\slash => 'back\\\\slash'",
            "`tab\t nl\n cr\r` => 'tab\\t nl\\n cr\\r'",
            "`bel\u0007 esc\u001b del\u007f` => 'bel\\x07 esc\\x1b del\\x7f'",
            "\u00e9\u6570\ud83d\ude00 => '\u00e9\u6570\ud83d\ude00'",
            "`nbsp\u00a0 shy\u00ad ls\u2028 pua\ue000` => 'nbsp\\xa0 shy\\xad ls\\u2028 pua\\ue000'",
            "`tag\udb40\udc01` => 'tag\\U000e0001'",
    })
    void fieldNamesAreWrittenAsPythonReprWritesThem(String name, String repr) {
        DType d = DType.record(List.of(field(name, DType.UINT8, 0)), 1);
        assertEquals("[(" + repr + ", '|u1')]", NumpyDescr.descr(d));
        assertEquals(d, NumpyDescr.parseDescr(NumpyDescr.descr(d)));
    }

    @Test
    void nulInAFieldNameIsWrittenAsHexEscape() {
        DType d = DType.record(List.of(field("a\u0000b", DType.UINT8, 0)), 1);
        assertEquals("[('a\\x00b', '|u1')]", NumpyDescr.descr(d));
        assertEquals(d, NumpyDescr.parseDescr(NumpyDescr.descr(d)));
    }

    // ------------------------------------------------------------------ reading descrs

    @Test
    void descrReadsEveryPythonLiteralSpellingOfTheSameRecord() {
        DType d = DType.record(List.of(field("a", DType.scalar(SIGNED, 4, LITTLE_ENDIAN), 0),
                field("b", DType.UINT8, 8)), 9);
        for (String literal : List.of(
                "[('a', '<i4'), ('', '|V4'), ('b', '|u1')]",
                "[(\"a\", \"<i4\"), ('', '<V4'), ('b', 'u1'),]",
                "[ ( 'a' , '<i4' , ) ,\n ('', 'V4'), ('b', '|u1', ()) ]",
                "[['a', '<i4'], ['', '|V4'], ('b', '|u1', 1)]",
                "[(u'a', r'<i4'), ('', '|V2'), ('', '|V2'), ('', '|V0'), ('b', 'uint8')]",
                "[('' 'a', '<' 'i4'), ('', '|V4'), ('''b''', \"\"\"|u1\"\"\")]",
                "[('\\x61', '\\u003ci4'), ('', '|V4'), ('\\142', '|u\\\n1')]",
                "  [('a', ('<i4', ())), ('', '|V4'), ('b', '|u1')]  \n")) {
            assertEquals(d, NumpyDescr.parseDescr(literal), literal);
        }
    }

    @Test
    void descrTypeStringsTakeEveryNumpySpelling() {
        assertEquals(DType.FLOAT32, NumpyDescr.parseDescr("'float32'"));
        assertEquals(DType.record(List.of(field("f0", DType.INT32, 0), field("f1", DType.FLOAT64, 4)), 12),
                NumpyDescr.parseDescr("'i4,f8'"));
        assertEquals(DType.INT32, NumpyDescr.parseDescr("('<i4', ())"));
    }

    // ------------------------------------------------------------------ refusals, message for message

    @ParameterizedTest(name = "\"{0}\"")
    @CsvSource(delimiterString = "=>", quoteCharacter = '`', value = {
            "`` => bad NumPy dtype \"\" at position 0: empty dtype string (expected a type such as '<f4', 'int32' or '?')",
            "q4 => bad NumPy dtype \"q4\" at position 0: unknown type 'q4' (expected a type such as '<f4', 'int32' or '?')",
            "<q4 => bad NumPy dtype \"<q4\" at position 1: unknown type 'q4' (expected a type such as '<f4', 'int32' or '?')",
            "`f4 ` => bad NumPy dtype \"f4 \" at position 0: unknown type 'f4 ' (expected a type such as '<f4', 'int32' or '?')",
            "> => bad NumPy dtype \">\" at position 0: unknown type '>' (expected a type such as '<f4', 'int32' or '?')",
            "!f4 => bad NumPy dtype \"!f4\" at position 0: '!' is not a NumPy byte order (expected <, >, = or |)",
            "<float32 => bad NumPy dtype \"<float32\" at position 0: a byte order cannot prefix the name 'float32' (NumPy reads names only without one; write e.g. '<f4')",
            "<c8 => bad NumPy dtype \"<c8\" at position 1: complex type 'c8' is not supported by panbuf",
            "complex64 => bad NumPy dtype \"complex64\" at position 0: complex type 'complex64' is not supported by panbuf",
            "f16 => bad NumPy dtype \"f16\" at position 0: long double 'f16' is not supported by panbuf",
            "U3 => bad NumPy dtype \"U3\" at position 0: unicode string type 'U3' is not supported by panbuf (use bytes, 'S<n>')",
            "O => bad NumPy dtype \"O\" at position 0: Python object type 'O' is not supported by panbuf",
            "M8 => bad NumPy dtype \"M8\" at position 0: datetime type 'M8' is not supported by panbuf (use 'i8')",
            "S => bad NumPy dtype \"S\" at position 0: zero-size bytes 'S' (give a size, as in 'S8')",
            "S0 => bad NumPy dtype \"S0\" at position 1: zero-size bytes 'S0' (bytes need at least one byte)",
            "bytes => bad NumPy dtype \"bytes\" at position 0: zero-size bytes 'bytes' (give a size, as in 'S8')",
            "V0 => bad NumPy dtype \"V0\" at position 0: zero-size void 'V0' (a dtype needs at least one byte)",
            "f4294967300 => bad NumPy dtype \"f4294967300\" at position 1: size '4294967300' in 'f4294967300' is out of range (NumPy wraps it to a different size; panbuf refuses)",
            "S-1 => bad NumPy dtype \"S-1\" at position 2: size '-1' in 'S-1' is out of range (NumPy wraps it to a different size; panbuf refuses)",
            // the comma shorthand
            "2i4 => bad NumPy dtype \"2i4\" at position 0: repeat '2' makes a subarray, which panbuf dtypes do not support",
            "`i4,(2,3)f8` => bad NumPy dtype \"i4,(2,3)f8\" at position 3: repeat '(2,3)' makes a subarray, which panbuf dtypes do not support",
            "`i4, ,f8` => bad NumPy dtype \"i4, ,f8\" at position 4: bad repeat ',' (expected numbers separated by ',')",
            "`01i4,f8` => bad NumPy dtype \"01i4,f8\" at position 0: bad repeat '01' (Python forbids leading zeros)",
            "`i4;f8,` => bad NumPy dtype \"i4;f8,\" at position 2: item 1 of the comma-separated dtype is followed by ';' (expected ',' or the end)",
            "`>1<i4,f8` => bad NumPy dtype \">1<i4,f8\" at position 0: inconsistent byte orders '>' and '<' in item 1",
            "`i4,>` => bad NumPy dtype \"i4,>\" at position 4: item 2 of the comma-separated dtype has no type (expected a type such as '<f4', 'int32' or '?')",
            "`i4,>float32` => bad NumPy dtype \"i4,>float32\" at position 4: a byte order cannot prefix the name 'float32' (NumPy reads names only without one; write e.g. '>f4')",
            "`i4,S0` => bad NumPy dtype \"i4,S0\" at position 4: zero-size bytes 'S0' (bytes need at least one byte)",
            "`i4,V` => bad NumPy dtype \"i4,V\" at position 3: zero-size field f1 (a field needs at least one byte)",
            "`i4,<c8` => bad NumPy dtype \"i4,<c8\" at position 4: complex type 'c8' is not supported by panbuf",
    })
    void malformedDtypeStringIsRefusedNamingPositionAndExpectation(String spelling, String message) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> NumpyDescr.parse(spelling));
        assertEquals(message, e.getMessage());
    }

    @ParameterizedTest(name = "\"{0}\"")
    @CsvSource(delimiterString = "=>", quoteCharacter = '`', value = {
            "`` => bad .npy descr \"\" at position 0: empty descr (expected a quoted dtype string or a list of fields)",
            "`'<q4'` => bad .npy descr \"'<q4'\" at position 2: unknown type 'q4' (expected a type such as '<f4', 'int32' or '?')",
            "`'\\x3cq4'` => bad .npy descr \"'\\\\x3cq4'\" at position 0: unknown type 'q4' (expected a type such as '<f4', 'int32' or '?')",
            "`[('a', '<i4')` => bad .npy descr \"[('a', '<i4')\" at position 13: unclosed '[' at position 0 (expected ']')",
            "`[('a', '<i4'))` => bad .npy descr \"[('a', '<i4'))\" at position 13: unexpected ')' in the list opened at position 0 (expected ',' or ']')",
            "`[('a', '<i4')]x` => bad .npy descr \"[('a', '<i4')]x\" at position 14: unexpected 'x' after the descr (expected the end)",
            "`[('a', '<i4) ]` => bad .npy descr \"[('a', '<i4) ]\" at position 7: unterminated string (expected the closing quote ')",
            "`[('a', '<i4', (3,))]` => bad .npy descr \"[('a', '<i4', (3,))]\" at position 14: subarray shape (3,) is not supported (panbuf dtypes have no subarray fields)",
            "`[('a', '<i4', 0)]` => bad .npy descr \"[('a', '<i4', 0)]\" at position 14: subarray shape 0 is not supported (panbuf dtypes have no subarray fields)",
            "`('<i4', (2,))` => bad .npy descr \"('<i4', (2,))\" at position 8: subarray shape (2,) is not supported (panbuf dtypes have no subarray fields)",
            "`[(('T', 'a'), '<i4')]` => bad .npy descr \"[(('T', 'a'), '<i4')]\" at position 2: field titles ((title, name) pairs) are not supported by panbuf",
            "`[('a', '<i4'), ('a', '<f8')]` => bad .npy descr \"[('a', '<i4'), ('a', '<f8')]\" at position 16: duplicate field name 'a'",
            "`[('', '<i4')]` => bad .npy descr \"[('', '<i4')]\" at position 2: empty field name (only '|V<n>' padding may be unnamed; panbuf record fields need names)",
            "`[]` => bad .npy descr \"[]\" at position 0: zero-size record (a record needs at least one byte)",
            "`[('a', '<i4'), ('r', [])]` => bad .npy descr \"[('a', '<i4'), ('r', [])]\" at position 21: zero-size record (a record needs at least one byte)",
            "`[('a', '|S0')]` => bad .npy descr \"[('a', '|S0')]\" at position 10: zero-size bytes 'S0' (bytes need at least one byte)",
            "`[(b'a', '<i4')]` => bad .npy descr \"[(b'a', '<i4')]\" at position 2: a field name must be a str, got a bytes literal",
            "`[(1, '<i4')]` => bad .npy descr \"[(1, '<i4')]\" at position 2: a field name must be a str, got the int 1",
            "`[('a',)]` => bad .npy descr \"[('a',)]\" at position 1: a field is (name, type) or (name, type, shape), got 1 element",
            "`[('a', '<i4'), 'b1']` => bad .npy descr \"[('a', '<i4'), 'b1']\" at position 15: expected a field (name, type) or (name, type, shape), got the str 'b1'",
            "`[('a', 4)]` => bad .npy descr \"[('a', 4)]\" at position 7: expected a dtype string or a list of fields, got the int 4",
            "`None` => bad .npy descr \"None\" at position 0: unexpected 'N' (expected a string, a list or a tuple)",
            "`{'a': '<i4'}` => bad .npy descr \"{'a': '<i4'}\" at position 0: unexpected '{' (expected a string, a list or a tuple)",
            "`[('\\N{DASH}', '<i4')]` => bad .npy descr \"[('\\\\N{DASH}', '<i4')]\" at position 3: named escapes \\N{...} are not supported",
            "`[('a', '<i4', 01)]` => bad .npy descr \"[('a', '<i4', 01)]\" at position 14: leading zeros in the integer 01 (Python forbids them)",
            "`[(f'a', '<i4')]` => bad .npy descr \"[(f'a', '<i4')]\" at position 2: an f-string is not a literal",
    })
    void malformedDescrIsRefusedNamingPositionAndExpectation(String literal, String message) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> NumpyDescr.parseDescr(literal));
        assertEquals(message, e.getMessage());
    }

    @Test
    void descrNestingPastSixtyFourRecordsIsRefused() {
        String deep = "[('a', ".repeat(65) + "'u1'" + ")]".repeat(65);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> NumpyDescr.parseDescr(deep));
        assertEquals("bad .npy descr \"..." + "a', [('".repeat(8) + "a', [('a', 'u1')" + "])".repeat(24)
                + "...\" (589 chars) at position 448: records nested deeper than 64 levels", e.getMessage());
        String ok = "[('a', ".repeat(64) + "'u1'" + ")]".repeat(64);
        assertEquals(1, NumpyDescr.parseDescr(ok).byteSize());
    }
}
