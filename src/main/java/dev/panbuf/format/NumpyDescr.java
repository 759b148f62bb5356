package dev.panbuf.format;

import dev.panbuf.DType;

import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

import static dev.panbuf.format.StructFormat.Fail;

/**
 * NumPy's spellings of a dtype: the strings {@code np.dtype(str)} accepts,
 * {@code dtype.str}, and the {@code descr} of a {@code .npy} header.
 *
 * <h2>Dtype strings ({@link #parse(String)})</h2>
 * Everything NumPy 1.24 on LP64 Linux accepts for the types panbuf has:
 * <ul>
 * <li>kind and size: {@code b1 i1 i2 i4 i8 u1 u2 u4 u8 f2 f4 f8},
 *     {@code S<n>}, {@code a<n>} and {@code V<n>} (all {@link DType.Kind#BYTES});
 *     as in C's {@code strtol}, the size may follow spaces and a {@code +};
 * <li>one-letter codes {@code ? b B h H i I l L q Q p P e f d c}
 *     ({@code l}, {@code L}, {@code p}, {@code P} are 8 bytes; {@code c} is one byte);
 * <li>names: {@code bool int8 .. int64 uint8 .. uint64 float16 float32 float64},
 *     {@code half single double float int uint long ulong longlong ulonglong
 *     short ushort byte ubyte intc uintc intp uintp int_ float_ bool_} and the
 *     deprecated {@code bool8 int0 uint0}; a name takes no byte-order prefix;
 * <li>a byte-order prefix {@code <}, {@code >}, {@code =} (native) or {@code |}
 *     (native; "not applicable"), ignored on one-byte types and bytes;
 * <li>NumPy's comma shorthand for records: {@code "i4, >f8"} is a record of
 *     fields {@code f0}, {@code f1} at packed offsets, {@code "i4,"} is
 *     {@code i4}; a repeat of {@code 1} or {@code ()} before a type means the
 *     type itself ({@code "1i4"}, {@code "()i4"}).
 * </ul>
 * Refused: types panbuf has no {@link DType} for (complex, {@code float128},
 * unicode, object, datetime), zero-size types ({@code S}, {@code S0},
 * {@code V}), subarrays ({@code "2i4"}, {@code "(2,3)f8, i4"}), and sizes
 * beyond a C {@code int}, which NumPy wraps silently ({@code "f4294967300"}
 * is {@code float32} there).
 *
 * <h2>Bytes</h2>
 * NumPy's {@code S<n>} (NUL-padded bytes) and {@code V<n>} (raw void) both
 * read as {@link DType.Kind#BYTES}; panbuf writes bytes as {@code |V<n>},
 * because panbuf's bytes are uninterpreted and NumPy's {@code S} strips
 * trailing NULs when it reads an element.
 *
 * <h2>{@code .npy} descr ({@link #descr(DType)}, {@link #parseDescr(String)})</h2>
 * {@code descr} is {@code repr(numpy.lib.format.dtype_to_descr(dtype))}:
 * {@code '<f4'} for a scalar, for a record the list of {@code (name, type)}
 * tuples with a {@code ('', '|V<n>')} entry for each gap, nested lists for
 * nested records. {@code parseDescr} reads what {@code .npy} headers contain
 * as {@code numpy.lib.format.descr_to_dtype} does: unnamed void entries are
 * padding; a third tuple element (a subarray shape) must be {@code ()}
 * (or {@code 1}, which NumPy 1.24 still reads as no shape); field titles and
 * empty field names are refused, because {@link DType} has neither.
 *
 * <p>Records whose fields are declared out of offset order (NumPy refuses
 * to write their {@code descr}) are written in offset order. Every error is
 * an {@link IllegalArgumentException} whose message quotes the input, names
 * the 0-based position and says what was expected. All methods are pure
 * functions and take time linear in their input.
 */
public final class NumpyDescr {

    /** Records may nest this many levels deep in a descr; deeper input is refused. */
    public static final int MAX_NESTING = StructFormat.MAX_NESTING;

    private static final char NATIVE_ORDER_CHAR = StructFormat.nativeOrderChar();

    private static final String EXPECTED_TYPE = "(expected a type such as '<f4', 'int32' or '?')";

    private NumpyDescr() {
    }

    // ------------------------------------------------------------------ writing

    /**
     * NumPy's {@code dtype.str}: {@code <f4}, {@code >i2}, {@code |u1}, {@code |b1},
     * and {@code |V<n>} for bytes and records.
     *
     * @param dtype any dtype
     * @return NumPy's {@code dtype.str} for it
     */
    public static String str(DType dtype) {
        Objects.requireNonNull(dtype, "dtype");
        return switch (dtype.kind()) {
            case BYTES, RECORD -> "|V" + dtype.byteSize();
            default -> {
                char order = dtype.byteOrder() == null ? '|'
                        : dtype.byteOrder() == ByteOrder.LITTLE_ENDIAN ? '<' : '>';
                yield "" + order + dtype.kind().numpyKind() + dtype.byteSize();
            }
        };
    }

    /**
     * Python's {@code repr} of a string, as NumPy prints field names:
     * {@code 'x'}, or {@code "it's"}, with Python's escapes.
     *
     * @param s any string
     * @return its Python literal
     */
    public static String pythonRepr(String s) {
        StringBuilder out = new StringBuilder(s.length() + 2);
        PythonLiteral.appendRepr(s, out);
        return out.toString();
    }

    /**
     * The {@code descr} a {@code .npy} header holds for this dtype, as the Python
     * literal NumPy writes: {@code '<f4'}, or
     * {@code [('x', '<i4'), ('', '|V4'), ('y', '<f8')]} for a record.
     *
     * @param dtype any dtype
     * @return {@code repr(numpy.lib.format.dtype_to_descr(dtype))}
     */
    public static String descr(DType dtype) {
        Objects.requireNonNull(dtype, "dtype");
        StringBuilder out = new StringBuilder();
        writeDescr(StructFormat.inOffsetOrder(dtype), out);
        return out.toString();
    }

    private static void writeDescr(DType d, StringBuilder out) {
        if (!d.isRecord()) {
            PythonLiteral.appendRepr(str(d), out);
            return;
        }
        out.append('[');
        long at = 0;
        boolean first = true;
        for (DType.Field f : d.fields()) {
            if (f.byteOffset() > at) {
                first = padEntry(f.byteOffset() - at, first, out);
            }
            if (!first) {
                out.append(", ");
            }
            first = false;
            out.append('(');
            PythonLiteral.appendRepr(f.name(), out);
            out.append(", ");
            writeDescr(f.dtype(), out);
            out.append(')');
            at = f.byteOffset() + f.dtype().byteSize();
        }
        if (d.byteSize() > at) {
            padEntry(d.byteSize() - at, first, out);
        }
        out.append(']');
    }

    private static boolean padEntry(long bytes, boolean first, StringBuilder out) {
        if (!first) {
            out.append(", ");
        }
        out.append("('', '|V").append(bytes).append("')");
        return false;
    }

    // ------------------------------------------------------------------ dtype strings

    /**
     * Reads a dtype string as {@code np.dtype(str)} does (see the class comment).
     *
     * {@snippet :
     * NumpyDescr.parse("<f4");        // float32, little-endian
     * NumpyDescr.parse("float32");    // float32, native order
     * NumpyDescr.parse(">u2");        // uint16, big-endian
     * NumpyDescr.parse("i4, f8");     // record f0: int32 @0, f1: float64 @4
     * NumpyDescr.parse("<c8");        // refused: complex
     * }
     *
     * @param dtype a string {@code np.dtype(str)} accepts
     * @return the dtype NumPy builds from it
     * @throws IllegalArgumentException quoting the input, naming the position and what was expected
     */
    public static DType parse(String dtype) {
        Objects.requireNonNull(dtype, "dtype");
        try {
            Typed t = spelling(dtype, 0);
            if (t.dtype() == null) {
                throw new Fail(0, "zero-size void '" + dtype + "' (a dtype needs at least one byte)");
            }
            return t.dtype();
        } catch (Fail f) {
            throw StructFormat.bad("NumPy dtype", dtype, f.position, f.reason);
        }
    }

    /**
     * A parsed spelling. {@code voidSize} is the size of an unstructured NumPy void
     * ({@code V<n>}), which a descr treats as padding when unnamed, and -1 for anything
     * else; {@code dtype} is null only for the zero-size void {@code V0}.
     */
    private record Typed(DType dtype, long voidSize) {
        static Typed of(DType d) {
            return new Typed(d, -1);
        }
    }

    /** Spelling recursion: a comma item may itself be a one-item comma string ("1>2i4"), never deeper. */
    private static final int MAX_SPELLING_DEPTH = 3;

    private static Typed spelling(String s, int depth) {
        if (s.isEmpty()) {
            throw new Fail(0, "empty dtype string " + EXPECTED_TYPE);
        }
        if (depth > MAX_SPELLING_DEPTH) {
            throw new Fail(0, "comma-separated dtype strings nested too deep");
        }
        if (isCommaString(s)) {
            return commaString(s, depth);
        }
        int len = s.length();
        char endian = '=';
        int at = 0;
        if (len > 1) {
            char c = s.charAt(0);
            if (c == '<' || c == '>' || c == '=' || c == '|') {
                endian = c == '|' ? '=' : c;
                at = 1;
            } else if (c == '!' || c == '@' || c == '^') {
                throw new Fail(0, "'" + c + "' is not a NumPy byte order (expected <, >, = or |)");
            }
        }
        ByteOrder order = switch (endian) {
            case '<' -> ByteOrder.LITTLE_ENDIAN;
            case '>' -> ByteOrder.BIG_ENDIAN;
            default -> ByteOrder.nativeOrder();
        };
        Typed t = len - at == 1 ? typeCode(s, at, order) : kindAndSize(s, at, order);
        if (t == null) {
            // np.dtype looks the whole string, prefix included, up in its table of names.
            t = byName(s, at);
        }
        return t;
    }

    private static Typed typeCode(String s, int at, ByteOrder order) {
        char c = s.charAt(at);
        return switch (c) {
            case '?' -> Typed.of(DType.BOOL);
            case 'b' -> Typed.of(DType.INT8);
            case 'B' -> Typed.of(DType.UINT8);
            case 'h' -> Typed.of(DType.scalar(DType.Kind.SIGNED, 2, order));
            case 'H' -> Typed.of(DType.scalar(DType.Kind.UNSIGNED, 2, order));
            case 'i' -> Typed.of(DType.scalar(DType.Kind.SIGNED, 4, order));
            case 'I' -> Typed.of(DType.scalar(DType.Kind.UNSIGNED, 4, order));
            case 'l', 'q', 'p' -> Typed.of(DType.scalar(DType.Kind.SIGNED, 8, order));
            case 'L', 'Q', 'P' -> Typed.of(DType.scalar(DType.Kind.UNSIGNED, 8, order));
            case 'e' -> Typed.of(DType.scalar(DType.Kind.FLOAT, 2, order));
            case 'f' -> Typed.of(DType.scalar(DType.Kind.FLOAT, 4, order));
            case 'd' -> Typed.of(DType.scalar(DType.Kind.FLOAT, 8, order));
            case 'c' -> Typed.of(DType.scalar(DType.Kind.BYTES, 1, null));
            case 'V' -> new Typed(null, 0);
            case 'S', 'a' -> throw new Fail(at, "zero-size bytes '" + c + "' (give a size, as in '" + c + "8')");
            case 'g', 'F', 'D', 'G', 'U', 'O', 'M', 'm' -> throw new Fail(at, unsupported(c, "'" + c + "'"));
            default -> null;
        };
    }

    /** Kind letter and size, as NumPy reads them: the size through C's strtol, which takes spaces and a sign. */
    private static Typed kindAndSize(String s, int at, ByteOrder order) {
        char kind = s.charAt(at);
        int i = at + 1;
        int len = s.length();
        while (i < len && StructFormat.isSpace(s.charAt(i))) {
            i++;
        }
        boolean negative = false;
        if (i < len && (s.charAt(i) == '+' || s.charAt(i) == '-')) {
            negative = s.charAt(i) == '-';
            i++;
        }
        int digitsAt = i;
        long size = 0;
        boolean tooBig = false;
        while (i < len && s.charAt(i) >= '0' && s.charAt(i) <= '9') {
            if (!tooBig) {
                size = size * 10 + (s.charAt(i) - '0');
                tooBig = size > DType.MAX_ITEM_SIZE;
            }
            i++;
        }
        if (i == digitsAt || i != len) {
            return null;   // not kind+size; maybe a name
        }
        String spelled = s.substring(at);
        if (negative && size != 0 || tooBig) {
            // NumPy casts the size to a C int and goes on with whatever that gives.
            throw new Fail(digitsAt, "size '" + s.substring(at + 1).strip() + "' in '" + spelled
                    + "' is out of range (NumPy wraps it to a different size; panbuf refuses)");
        }
        switch (kind) {
            case 'S', 'a' -> {
                if (size == 0) {
                    throw new Fail(digitsAt, "zero-size bytes '" + spelled + "' (bytes need at least one byte)");
                }
                return Typed.of(DType.scalar(DType.Kind.BYTES, size, null));
            }
            case 'V' -> {
                return new Typed(size == 0 ? null : DType.scalar(DType.Kind.BYTES, size, null), size);
            }
            case 'U', 'c', 'M', 'm', 'O' -> throw new Fail(at, unsupported(kind, "'" + spelled + "'"));
            default -> {
                // fall through to the sized kinds below
            }
        }
        DType.Kind k = switch (kind) {
            case 'b' -> size == 1 ? DType.Kind.BOOL : null;
            case 'i' -> DType.Kind.SIGNED;
            case 'u' -> DType.Kind.UNSIGNED;
            case 'f' -> DType.Kind.FLOAT;
            default -> null;
        };
        if (k == DType.Kind.FLOAT && size == 16) {
            throw new Fail(at, unsupported('g', "'" + spelled + "'"));
        }
        boolean known = k == DType.Kind.BOOL
                || (k == DType.Kind.SIGNED || k == DType.Kind.UNSIGNED) && (size == 1 || size == 2 || size == 4 || size == 8)
                || k == DType.Kind.FLOAT && (size == 2 || size == 4 || size == 8);
        return known ? Typed.of(DType.scalar(k, size, order)) : null;
    }

    /** NumPy's named types ({@code np.sctypeDict}) that panbuf has, in native order. */
    private static final Map<String, DType> NAMES = Map.ofEntries(
            Map.entry("bool", DType.BOOL), Map.entry("bool_", DType.BOOL), Map.entry("bool8", DType.BOOL),
            Map.entry("int8", DType.INT8), Map.entry("byte", DType.INT8),
            Map.entry("uint8", DType.UINT8), Map.entry("ubyte", DType.UINT8),
            Map.entry("int16", DType.INT16), Map.entry("short", DType.INT16),
            Map.entry("uint16", DType.UINT16), Map.entry("ushort", DType.UINT16),
            Map.entry("int32", DType.INT32), Map.entry("intc", DType.INT32),
            Map.entry("uint32", DType.UINT32), Map.entry("uintc", DType.UINT32),
            Map.entry("int64", DType.INT64), Map.entry("int", DType.INT64), Map.entry("int_", DType.INT64),
            Map.entry("int0", DType.INT64), Map.entry("intp", DType.INT64), Map.entry("long", DType.INT64),
            Map.entry("longlong", DType.INT64),
            Map.entry("uint64", DType.UINT64), Map.entry("uint", DType.UINT64), Map.entry("uint0", DType.UINT64),
            Map.entry("uintp", DType.UINT64), Map.entry("ulong", DType.UINT64), Map.entry("ulonglong", DType.UINT64),
            Map.entry("float16", DType.FLOAT16), Map.entry("half", DType.FLOAT16),
            Map.entry("float32", DType.FLOAT32), Map.entry("single", DType.FLOAT32),
            Map.entry("float64", DType.FLOAT64), Map.entry("double", DType.FLOAT64), Map.entry("float", DType.FLOAT64),
            Map.entry("float_", DType.FLOAT64));

    /** NumPy's named types that panbuf does not have, by the type code whose message explains why. */
    private static final Map<String, Character> UNSUPPORTED_NAMES = Map.ofEntries(
            Map.entry("float128", 'g'), Map.entry("longdouble", 'g'), Map.entry("longfloat", 'g'),
            Map.entry("complex", 'D'), Map.entry("complex64", 'D'), Map.entry("complex128", 'D'),
            Map.entry("complex256", 'D'), Map.entry("complex_", 'D'), Map.entry("csingle", 'D'),
            Map.entry("cdouble", 'D'), Map.entry("cfloat", 'D'), Map.entry("clongdouble", 'D'),
            Map.entry("clongfloat", 'D'), Map.entry("longcomplex", 'D'), Map.entry("singlecomplex", 'D'),
            Map.entry("str", 'U'), Map.entry("str_", 'U'), Map.entry("str0", 'U'), Map.entry("unicode", 'U'),
            Map.entry("unicode_", 'U'), Map.entry("object", 'O'), Map.entry("object_", 'O'),
            Map.entry("object0", 'O'), Map.entry("datetime64", 'M'), Map.entry("timedelta64", 'm'),
            Map.entry("bytes", 'S'), Map.entry("bytes_", 'S'), Map.entry("bytes0", 'S'), Map.entry("string_", 'S'));

    private static Typed byName(String s, int typeAt) {
        DType named = NAMES.get(s);
        if (named != null) {
            return Typed.of(named);
        }
        if (s.equals("void") || s.equals("void0")) {
            return new Typed(null, 0);
        }
        Character why = UNSUPPORTED_NAMES.get(s);
        if (why != null) {
            if (why == 'S') {
                throw new Fail(0, "zero-size bytes '" + s + "' (give a size, as in 'S8')");
            }
            throw new Fail(0, unsupported(why, "'" + s + "'"));
        }
        String type = s.substring(typeAt);
        if (typeAt > 0 && (NAMES.containsKey(type) || UNSUPPORTED_NAMES.containsKey(type))) {
            throw new Fail(0, "a byte order cannot prefix the name '" + type
                    + "' (NumPy reads names only without one; write e.g. '" + s.charAt(0) + "f4')");
        }
        throw new Fail(typeAt, "unknown type '" + type + "' " + EXPECTED_TYPE);
    }

    private static String unsupported(char code, String what) {
        return switch (code) {
            case 'g' -> "long double " + what + " is not supported by panbuf";
            case 'F', 'D', 'G', 'c' -> "complex type " + what + " is not supported by panbuf";
            case 'U' -> "unicode string type " + what + " is not supported by panbuf (use bytes, 'S<n>')";
            case 'O' -> "Python object type " + what + " is not supported by panbuf";
            case 'M', 'm' -> "datetime type " + what + " is not supported by panbuf (use 'i8')";
            default -> "type " + what + " is not supported by panbuf";
        };
    }

    // NumPy's comma shorthand ("i4, >f8"): when a string is one, and how its items read.

    private static boolean isOrderChar(char c) {
        return c == '<' || c == '>' || c == '=' || c == '|';
    }

    private static boolean isAsciiDigit(char c) {
        return c >= '0' && c <= '9';
    }

    private static boolean isCommaString(String s) {
        int len = s.length();
        if (isAsciiDigit(s.charAt(0)) || len > 1 && isOrderChar(s.charAt(0)) && isAsciiDigit(s.charAt(1))) {
            return true;
        }
        if (len > 1 && s.startsWith("()") || len > 3 && isOrderChar(s.charAt(0)) && s.startsWith("()", 1)) {
            return true;
        }
        int brackets = 0;
        for (int i = 0; i < len; i++) {
            switch (s.charAt(i)) {
                case ',' -> {
                    if (brackets == 0) {
                        return true;
                    }
                }
                case '[' -> brackets++;
                case ']' -> brackets--;
                default -> {
                }
            }
        }
        return false;
    }

    /**
     * The comma shorthand, read item by item as NumPy's {@code _commastring} does:
     * {@code [order] [repeat] [order] type}, items separated by a comma with optional
     * whitespace around it, optional trailing comma or whitespace.
     */
    private static Typed commaString(String s, int depth) {
        int len = s.length();
        List<Typed> items = new ArrayList<>();
        List<Integer> itemStarts = new ArrayList<>();
        int i = 0;
        while (i < len) {
            int itemAt = i;
            char order1 = 0;
            if (isOrderChar(s.charAt(i))) {
                order1 = s.charAt(i++);
            }
            int repeatAt = i;
            while (i < len && s.charAt(i) == ' ') {
                i++;
            }
            if (i < len && s.charAt(i) == '(') {
                i++;
            }
            while (i < len && (s.charAt(i) == ' ' || s.charAt(i) == ',' || isAsciiDigit(s.charAt(i)))) {
                i++;
            }
            if (i < len && s.charAt(i) == ')') {
                i++;
            }
            while (i < len && s.charAt(i) == ' ') {
                i++;
            }
            int repeatEnd = i;
            char order2 = 0;
            if (i < len && isOrderChar(s.charAt(i))) {
                order2 = s.charAt(i++);
            }
            int typeAt = i;
            while (i < len && isTypeChar(s.charAt(i))) {
                i++;
            }
            if (i < len && s.charAt(i) == '[') {
                int j = i + 1;
                while (j < len && isUnitChar(s.charAt(j))) {
                    j++;
                }
                if (j > i + 1 && j < len && s.charAt(j) == ']') {
                    i = j + 1;
                }
            }
            int typeEnd = i;
            if (i < len) {
                int j = i;
                while (j < len && isPythonSpace(s.charAt(j))) {
                    j++;
                }
                if (j == len) {
                    i = len;
                } else if (s.charAt(j) == ',') {
                    j++;
                    while (j < len && isPythonSpace(s.charAt(j))) {
                        j++;
                    }
                    i = j;
                } else {
                    throw new Fail(j, "item " + (items.size() + 1) + " of the comma-separated dtype is followed by "
                            + StructFormat.describeChar(s, j) + " (expected ',' or the end)");
                }
            }

            char order;
            if (order2 == 0) {
                order = order1;
            } else if (order1 == 0) {
                order = order2;
            } else {
                char a = order1 == '=' ? NATIVE_ORDER_CHAR : order1;
                char b = order2 == '=' ? NATIVE_ORDER_CHAR : order2;
                if (a != b) {
                    throw new Fail(itemAt, "inconsistent byte orders '" + order1 + "' and '" + order2 + "' in item "
                            + (items.size() + 1));
                }
                order = a;
            }
            String prefix = order == 0 || order == '|' || order == '=' || order == NATIVE_ORDER_CHAR
                    ? "" : String.valueOf(order);
            if (typeAt == typeEnd) {
                throw new Fail(typeAt, "item " + (items.size() + 1) + " of the comma-separated dtype has no type "
                        + EXPECTED_TYPE);
            }
            checkRepeat(s, repeatAt, repeatEnd);
            String item = prefix + s.substring(typeAt, typeEnd);
            Typed t;
            try {
                t = spelling(item, depth + 1);
            } catch (Fail f) {
                throw new Fail(typeAt + Math.max(0, f.position - prefix.length()), f.reason);
            }
            items.add(t);
            itemStarts.add(typeAt);
        }
        if (items.size() == 1) {
            return items.getFirst();
        }
        List<DType.Field> fields = new ArrayList<>(items.size());
        long offset = 0;
        for (int k = 0; k < items.size(); k++) {
            DType d = items.get(k).dtype();
            if (d == null) {
                throw new Fail(itemStarts.get(k), "zero-size field f" + k + " (a field needs at least one byte)");
            }
            fields.add(new DType.Field("f" + k, d, offset));
            offset += d.byteSize();
        }
        return Typed.of(DType.record(fields, offset));
    }

    private static boolean isTypeChar(char c) {
        return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || isAsciiDigit(c) || c == '.' || c == '?';
    }

    private static boolean isUnitChar(char c) {
        return isTypeChar(c) && c != '?' || c == ',';
    }

    /**
     * The repeat in front of a comma item is a Python literal to NumPy: nothing, {@code 1}
     * and {@code ()} mean the type itself; any other number or tuple makes a subarray.
     */
    private static void checkRepeat(String s, int from, int to) {
        if (from == to) {
            return;
        }
        int i = from;
        while (i < to && s.charAt(i) == ' ') {
            i++;
        }
        int end = to;
        while (end > i && s.charAt(end - 1) == ' ') {
            end--;
        }
        if (i == end) {
            throw new Fail(from, "blank repeat before the type (expected a number, a shape or nothing)");
        }
        boolean parens = s.charAt(i) == '(';
        if (parens != (s.charAt(end - 1) == ')') || parens && end - i < 2) {
            throw new Fail(i, "unbalanced parentheses in the repeat '" + s.substring(i, end) + "'");
        }
        int a = parens ? i + 1 : i;
        int b = parens ? end - 1 : end;
        // A comma-separated list of Python integers, optional trailing comma; no comma means one integer.
        List<String> numbers = new ArrayList<>();
        boolean comma = false;
        int k = a;
        while (true) {
            while (k < b && s.charAt(k) == ' ') {
                k++;
            }
            if (k == b) {
                break;
            }
            int numberAt = k;
            while (k < b && isAsciiDigit(s.charAt(k))) {
                k++;
            }
            if (k == numberAt) {
                throw new Fail(k, "bad repeat '" + s.substring(i, end) + "' (expected numbers separated by ',')");
            }
            String number = s.substring(numberAt, k);
            if (number.length() > 1 && number.charAt(0) == '0' && !number.chars().allMatch(c -> c == '0')) {
                throw new Fail(numberAt, "bad repeat '" + number + "' (Python forbids leading zeros)");
            }
            numbers.add(number);
            while (k < b && s.charAt(k) == ' ') {
                k++;
            }
            if (k == b) {
                break;
            }
            if (s.charAt(k) != ',') {
                throw new Fail(k, "bad repeat '" + s.substring(i, end) + "' (expected ',' between numbers)");
            }
            comma = true;
            k++;
        }
        boolean tuple = comma || numbers.isEmpty() && parens;
        if (numbers.isEmpty() && !parens) {
            throw new Fail(i, "bad repeat '" + s.substring(i, end) + "' (expected a number, a shape or nothing)");
        }
        boolean itself = tuple ? numbers.isEmpty() : numbers.getFirst().equals("1");
        if (!itself) {
            throw new Fail(i, "repeat '" + s.substring(i, end)
                    + "' makes a subarray, which panbuf dtypes do not support");
        }
    }

    /** Python's str.isspace, which the regular expressions of NumPy's comma parser use for \s. */
    private static boolean isPythonSpace(char c) {
        return c >= '\t' && c <= '\r' || c >= '\u001c' && c <= ' ' || c == '\u0085' || c == '\u00a0'
                || c == '\u1680' || c >= '\u2000' && c <= '\u200a' || c == '\u2028' || c == '\u2029'
                || c == '\u202f' || c == '\u205f' || c == '\u3000';
    }

    // ------------------------------------------------------------------ .npy descr

    /**
     * Reads the {@code descr} value of a {@code .npy} header, given as the Python literal
     * the header holds: a quoted dtype string ({@code '<f4'}) or a list of
     * {@code (name, type)} / {@code (name, type, shape)} tuples, nested for nested records.
     *
     * {@snippet :
     * NumpyDescr.parseDescr("'<f8'");                                      // float64
     * NumpyDescr.parseDescr("[('x', '<i4'), ('', '|V4'), ('y', '<f8')]");  // x@0, y@8, 16 bytes
     * NumpyDescr.parseDescr("[('x', '<i4', (3,))]");                       // refused: a subarray
     * }
     *
     * @param pythonLiteral the {@code descr} value of a {@code .npy} header, as Python source
     * @return the dtype {@code numpy.lib.format.descr_to_dtype} builds from it
     * @throws IllegalArgumentException quoting the input, naming the position and what was expected
     */
    public static DType parseDescr(String pythonLiteral) {
        Objects.requireNonNull(pythonLiteral, "pythonLiteral");
        try {
            PythonLiteral.Node node = PythonLiteral.parse(pythonLiteral, 2 * MAX_NESTING + 2);
            Typed t = fromDescr(node, 0, pythonLiteral);
            if (t.dtype() == null) {
                throw new Fail(node.at(), "zero-size void (a dtype needs at least one byte)");
            }
            return t.dtype();
        } catch (Fail f) {
            throw StructFormat.bad(".npy descr", pythonLiteral, f.position, f.reason);
        }
    }

    private static Typed fromDescr(PythonLiteral.Node node, int depth, String in) {
        return switch (node) {
            case PythonLiteral.Str str -> typeString(str);
            case PythonLiteral.Seq seq when seq.tuple() -> {
                // (type, shape): NumPy's subarray spelling; only a shape that means "no shape" is taken.
                if (seq.items().size() != 2) {
                    throw new Fail(seq.at(), "a tuple type is (type, shape), got " + seq.items().size() + " elements");
                }
                Typed base = fromDescr(seq.items().get(0), depth, in);
                requireNoShape(seq.items().get(1), in);
                yield base;
            }
            case PythonLiteral.Seq seq -> Typed.of(record(seq, depth + 1, in));
            default -> throw new Fail(node.at(), "expected a dtype string or a list of fields, got " + node.describe());
        };
    }

    private static Typed typeString(PythonLiteral.Str str) {
        try {
            return spelling(str.value(), 0);
        } catch (Fail f) {
            // Point into the literal when its characters are the string's characters.
            int at = str.verbatim() ? str.valueAt() + f.position : str.at();
            throw new Fail(at, f.reason);
        }
    }

    private static void requireNoShape(PythonLiteral.Node shape, String in) {
        boolean none = shape instanceof PythonLiteral.Seq s && s.tuple() && s.items().isEmpty()
                || shape instanceof PythonLiteral.Int i && i.digits().equals("1");
        if (!none) {
            throw new Fail(shape.at(), "subarray shape " + in.substring(shape.at(), shape.end())
                    + " is not supported (panbuf dtypes have no subarray fields)");
        }
    }

    private static DType record(PythonLiteral.Seq list, int depth, String in) {
        if (depth > MAX_NESTING) {
            throw new Fail(list.at(), "records nested deeper than " + MAX_NESTING + " levels");
        }
        List<DType.Field> fields = new ArrayList<>(list.items().size());
        Set<String> names = new HashSet<>();
        long offset = 0;
        for (PythonLiteral.Node entry : list.items()) {
            if (!(entry instanceof PythonLiteral.Seq field)) {
                throw new Fail(entry.at(), "expected a field (name, type) or (name, type, shape), got "
                        + entry.describe());
            }
            int n = field.items().size();
            if (n != 2 && n != 3) {
                throw new Fail(field.at(), "a field is (name, type) or (name, type, shape), got "
                        + n + " element" + (n == 1 ? "" : "s"));
            }
            PythonLiteral.Node nameNode = field.items().get(0);
            String name = switch (nameNode) {
                case PythonLiteral.Str s -> s.value();
                case PythonLiteral.Seq s when s.tuple() ->
                        throw new Fail(s.at(), "field titles ((title, name) pairs) are not supported by panbuf");
                default -> throw new Fail(nameNode.at(), "a field name must be a str, got " + nameNode.describe());
            };
            Typed type = fromDescr(field.items().get(1), depth, in);
            if (n == 3) {
                requireNoShape(field.items().get(2), in);
            }
            if (name.isEmpty() && type.voidSize() >= 0) {
                offset += type.voidSize();   // an unnamed void is padding, as NumPy reads it
                continue;
            }
            if (name.isEmpty()) {
                throw new Fail(nameNode.at(), "empty field name (only '|V<n>' padding may be unnamed;"
                        + " panbuf record fields need names)");
            }
            if (!names.add(name)) {
                throw new Fail(nameNode.at(), "duplicate field name '" + name + "'");
            }
            if (type.dtype() == null) {
                throw new Fail(field.items().get(1).at(), "zero-size field '" + name + "' (a field needs at least one byte)");
            }
            fields.add(new DType.Field(name, type.dtype(), offset));
            offset += type.dtype().byteSize();
        }
        if (offset == 0) {
            throw new Fail(list.at(), "zero-size record (a record needs at least one byte)");
        }
        return DType.record(fields, offset);
    }

    // ------------------------------------------------------------------ Python literals

    /**
     * The part of Python's literal syntax that {@code .npy} headers use for a descr:
     * strings (with {@code u}/{@code r}/{@code b} prefixes, escapes and implicit
     * concatenation), integers, lists and tuples; and {@code repr} of a str.
     */
    static final class PythonLiteral {

        private PythonLiteral() {
        }

        /** A parsed value; {@code at} is where it starts in the input. */
        sealed interface Node permits Str, Bytes, Int, Seq {
            /** Where the value starts in the input. */
            int at();

            /** Where the value ends in the input (exclusive). */
            int end();

            /** What the value is, for a message. */
            String describe();
        }

        /**
         * A str; {@code verbatim} when the literal's characters from {@code valueAt} on
         * are the value's (no escapes, no concatenation), so positions inside can be mapped.
         */
        record Str(String value, int at, int end, int valueAt, boolean verbatim) implements Node {
            @Override
            public String describe() {
                StringBuilder b = new StringBuilder("the str ");
                appendRepr(value, b);
                return b.toString();
            }
        }

        record Bytes(int at, int end) implements Node {
            @Override
            public String describe() {
                return "a bytes literal";
            }
        }

        record Int(String digits, int at, int end) implements Node {
            @Override
            public String describe() {
                return "the int " + digits;
            }
        }

        record Seq(List<Node> items, boolean tuple, int at, int end) implements Node {
            @Override
            public String describe() {
                return (tuple ? "a tuple of " : "a list of ") + items.size() + " element" + (items.size() == 1 ? "" : "s");
            }
        }

        static Node parse(String in, int maxDepth) {
            Reader r = new Reader(in, maxDepth);
            r.skipSpace();
            if (r.pos == in.length()) {
                throw new Fail(r.pos, in.isEmpty() ? "empty descr (expected a quoted dtype string or a list of fields)"
                        : "only whitespace (expected a quoted dtype string or a list of fields)");
            }
            Node node = r.value(0);
            r.skipSpace();
            if (r.pos != in.length()) {
                throw new Fail(r.pos, "unexpected " + StructFormat.describeChar(in, r.pos)
                        + " after the descr (expected the end)");
            }
            return node;
        }

        private static final class Reader {
            private final String in;
            private final int end;
            private final int maxDepth;
            private int pos;

            Reader(String in, int maxDepth) {
                this.in = in;
                this.end = in.length();
                this.maxDepth = maxDepth;
            }

            void skipSpace() {
                while (pos < end) {
                    char c = in.charAt(pos);
                    if (c != ' ' && c != '\t' && c != '\n' && c != '\r' && c != '\f') {
                        return;
                    }
                    pos++;
                }
            }

            Node value(int depth) {
                skipSpace();
                if (pos == end) {
                    throw new Fail(pos, "unexpected end (expected a string, a list or a tuple)");
                }
                char c = in.charAt(pos);
                if (c == '[' || c == '(') {
                    if (depth + 1 > maxDepth) {
                        throw new Fail(pos, "brackets nested deeper than " + maxDepth + " levels");
                    }
                    return c == '[' ? list(depth + 1) : parenthesized(depth + 1);
                }
                if (stringStart() >= 0) {
                    return strings();
                }
                if (isDigit(c) || (c == '-' || c == '+') && pos + 1 < end && isDigit(in.charAt(pos + 1))) {
                    return integer();
                }
                throw new Fail(pos, "unexpected " + StructFormat.describeChar(in, pos)
                        + " (expected a string, a list or a tuple)");
            }

            private static boolean isDigit(char c) {
                return c >= '0' && c <= '9';
            }

            private Node list(int depth) {
                int at = pos++;
                List<Node> items = new ArrayList<>();
                while (true) {
                    skipSpace();
                    if (pos == end) {
                        throw new Fail(pos, "unclosed '[' at position " + at + " (expected ']')");
                    }
                    if (in.charAt(pos) == ']') {
                        pos++;
                        return new Seq(items, false, at, pos);
                    }
                    items.add(value(depth));
                    skipSpace();
                    if (pos < end && in.charAt(pos) == ',') {
                        pos++;
                    } else if (pos < end && in.charAt(pos) != ']') {
                        throw new Fail(pos, "unexpected " + StructFormat.describeChar(in, pos)
                                + " in the list opened at position " + at + " (expected ',' or ']')");
                    }
                }
            }

            private Node parenthesized(int depth) {
                int at = pos++;
                List<Node> items = new ArrayList<>();
                boolean comma = false;
                while (true) {
                    skipSpace();
                    if (pos == end) {
                        throw new Fail(pos, "unclosed '(' at position " + at + " (expected ')')");
                    }
                    if (in.charAt(pos) == ')') {
                        pos++;
                        // (x) is x; (x,) and () are tuples
                        return items.size() == 1 && !comma ? items.getFirst() : new Seq(items, true, at, pos);
                    }
                    items.add(value(depth));
                    skipSpace();
                    if (pos < end && in.charAt(pos) == ',') {
                        comma = true;
                        pos++;
                    } else if (pos < end && in.charAt(pos) != ')') {
                        throw new Fail(pos, "unexpected " + StructFormat.describeChar(in, pos)
                                + " in the tuple opened at position " + at + " (expected ',' or ')')");
                    }
                }
            }

            private Node integer() {
                int at = pos;
                if (in.charAt(pos) == '-' || in.charAt(pos) == '+') {
                    pos++;
                }
                int digitsAt = pos;
                while (pos < end && isDigit(in.charAt(pos))) {
                    pos++;
                }
                String digits = in.substring(digitsAt, pos);
                if (digits.length() > 1 && digits.charAt(0) == '0' && !digits.chars().allMatch(c -> c == '0')) {
                    throw new Fail(digitsAt, "leading zeros in the integer " + digits + " (Python forbids them)");
                }
                return new Int(in.substring(at, pos), at, pos);
            }

            /** Length of the string prefix at pos (0 to 2 letters) when a string literal starts here, else -1. */
            private int stringStart() {
                for (int n = 0; n <= 2 && pos + n < end; n++) {
                    char c = in.charAt(pos + n);
                    if (c == '\'' || c == '"') {
                        return n;
                    }
                    if ("rRuUbBfF".indexOf(c) < 0) {
                        return -1;
                    }
                }
                return -1;
            }

            /** One string literal or several adjacent ones, concatenated as Python does. */
            private Node strings() {
                int at = pos;
                StringBuilder value = new StringBuilder();
                boolean bytes = false;
                boolean verbatim = true;
                int valueAt = -1;
                int count = 0;
                int end = pos;
                while (true) {
                    int prefixLength = stringStart();
                    if (prefixLength < 0) {
                        break;
                    }
                    String prefix = in.substring(pos, pos + prefixLength).toLowerCase(Locale.ROOT);
                    boolean isBytes = prefix.indexOf('b') >= 0;
                    if (prefix.indexOf('f') >= 0) {
                        throw new Fail(pos, "an f-string is not a literal");
                    }
                    if (!(prefix.isEmpty() || prefix.equals("r") || prefix.equals("u") || prefix.equals("b")
                            || prefix.equals("br") || prefix.equals("rb"))) {
                        throw new Fail(pos, "unknown string prefix '" + in.substring(pos, pos + prefixLength) + "'");
                    }
                    if (count > 0 && isBytes != bytes) {
                        throw new Fail(pos, "cannot concatenate a bytes literal and a str literal");
                    }
                    bytes = isBytes;
                    pos += prefixLength;
                    if (count == 0) {
                        valueAt = pos + (isTripleQuote(pos) ? 3 : 1);
                    } else {
                        verbatim = false;
                    }
                    verbatim &= one(value, prefix.indexOf('r') >= 0, isBytes);
                    end = pos;
                    count++;
                    skipSpace();
                }
                return bytes ? new Bytes(at, end) : new Str(value.toString(), at, end, valueAt, verbatim);
            }

            private boolean isTripleQuote(int at) {
                char q = in.charAt(at);
                return at + 2 < end && in.charAt(at + 1) == q && in.charAt(at + 2) == q;
            }

            /** Reads one literal from its opening quote; returns whether it had no backslash. */
            private boolean one(StringBuilder value, boolean raw, boolean bytes) {
                int at = pos;
                char quote = in.charAt(pos);
                boolean triple = isTripleQuote(pos);
                pos += triple ? 3 : 1;
                boolean plain = true;
                while (true) {
                    if (pos >= end) {
                        throw new Fail(at, "unterminated string (expected the closing " + (triple ? "triple " : "")
                                + "quote " + quote + ")");
                    }
                    char c = in.charAt(pos);
                    if (c == quote && (!triple || isTripleQuote(pos))) {
                        pos += triple ? 3 : 1;
                        return plain;
                    }
                    if (!triple && (c == '\n' || c == '\r')) {
                        throw new Fail(pos, "line break inside a string (expected the closing quote " + quote + ")");
                    }
                    if (c != '\\') {
                        value.append(c);
                        pos++;
                        continue;
                    }
                    plain = false;
                    if (pos + 1 >= end) {
                        throw new Fail(at, "unterminated string (expected the closing quote " + quote + ")");
                    }
                    if (raw) {
                        // In a raw string a backslash stays and keeps the next character from ending it.
                        value.append(c).append(in.charAt(pos + 1));
                        pos += 2;
                        continue;
                    }
                    escape(value, bytes);
                }
            }

            private void escape(StringBuilder value, boolean bytes) {
                int at = pos;
                char e = in.charAt(pos + 1);
                pos += 2;
                switch (e) {
                    case '\n' -> {
                        // a line continuation: nothing
                    }
                    case '\r' -> {
                        if (pos < end && in.charAt(pos) == '\n') {
                            pos++;
                        }
                    }
                    case '\\', '\'', '"' -> value.append(e);
                    case 'a' -> value.append('\u0007');
                    case 'b' -> value.append('\b');
                    case 'f' -> value.append('\f');
                    case 'n' -> value.append('\n');
                    case 'r' -> value.append('\r');
                    case 't' -> value.append('\t');
                    case 'v' -> value.append('\u000b');
                    case '0', '1', '2', '3', '4', '5', '6', '7' -> {
                        int v = e - '0';
                        for (int k = 0; k < 2 && pos < end && in.charAt(pos) >= '0' && in.charAt(pos) <= '7'; k++) {
                            v = v * 8 + in.charAt(pos++) - '0';
                        }
                        value.append((char) v);
                    }
                    case 'x' -> value.appendCodePoint(hex(at, 2));
                    case 'u', 'U', 'N' -> {
                        if (bytes) {
                            value.append('\\').append(e);   // not escapes in bytes
                        } else if (e == 'N') {
                            throw new Fail(at, "named escapes \\N{...} are not supported");
                        } else {
                            int cp = hex(at, e == 'u' ? 4 : 8);
                            if (cp > Character.MAX_CODE_POINT) {
                                throw new Fail(at, "escape at position " + at + " is beyond the last Unicode code point");
                            }
                            value.appendCodePoint(cp);
                        }
                    }
                    default -> value.append('\\').append(e);   // Python keeps unknown escapes as written
                }
            }

            private int hex(int escapeAt, int digits) {
                if (pos + digits > end) {
                    throw new Fail(escapeAt, "truncated escape (expected " + digits + " hex digits)");
                }
                long v = 0;
                for (int k = 0; k < digits; k++) {
                    char c = in.charAt(pos + k);
                    int d = c < 0x80 ? Character.digit(c, 16) : -1;
                    if (d < 0) {
                        throw new Fail(escapeAt, "truncated escape (expected " + digits + " hex digits)");
                    }
                    v = v * 16 + d;
                }
                pos += digits;
                return (int) Math.min(v, Character.MAX_CODE_POINT + 1L);
            }
        }

        /** Appends Python's {@code repr} of a str: quotes chosen as Python chooses, escapes as it writes them. */
        static void appendRepr(String s, StringBuilder out) {
            char quote = s.indexOf('\'') >= 0 && s.indexOf('"') < 0 ? '"' : '\'';
            out.append(quote);
            for (int i = 0; i < s.length(); ) {
                int cp = s.codePointAt(i);
                i += Character.charCount(cp);
                if (cp == quote || cp == '\\') {
                    out.append('\\').append((char) cp);
                } else if (cp == '\t') {
                    out.append("\\t");
                } else if (cp == '\n') {
                    out.append("\\n");
                } else if (cp == '\r') {
                    out.append("\\r");
                } else if (cp < 0x20 || cp == 0x7f) {
                    out.append(String.format("\\x%02x", cp));
                } else if (cp < 0x7f || printable(cp)) {
                    out.appendCodePoint(cp);
                } else if (cp <= 0xff) {
                    out.append(String.format("\\x%02x", cp));
                } else if (cp <= 0xffff) {
                    out.append(String.format("\\u%04x", cp));
                } else {
                    out.append(String.format("\\U%08x", cp));
                }
            }
            out.append(quote);
        }

        /** Python's str.isprintable for one non-ASCII code point: not "Other" and not a separator. */
        private static boolean printable(int cp) {
            return switch (Character.getType(cp)) {
                case Character.CONTROL, Character.FORMAT, Character.SURROGATE, Character.PRIVATE_USE,
                     Character.UNASSIGNED, Character.LINE_SEPARATOR, Character.PARAGRAPH_SEPARATOR,
                     Character.SPACE_SEPARATOR -> false;
                default -> true;
            };
        }
    }
}
