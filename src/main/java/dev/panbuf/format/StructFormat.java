package dev.panbuf.format;

import dev.panbuf.DType;

import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * PEP 3118 struct format strings, the {@code format} of a {@code Py_buffer}:
 * read as NumPy reads them when it imports a buffer, written as NumPy writes
 * them when it exports one ({@code memoryview(a).format}).
 *
 * <h2>Reading</h2>
 * {@link #parse(String)} follows NumPy's buffer import ({@code np.asarray} of
 * a buffer, which strips whitespace outside field names and then calls
 * {@code numpy.core._internal._dtype_from_pep3118}):
 * <ul>
 * <li>byte order prefixes {@code @ = < > ! ^}; an order stays in force for
 *     the rest of the string, into and out of nested records, as in NumPy;
 * <li>{@code @} (the default) and {@code ^} use native sizes ({@code l} and
 *     {@code L} are 8 bytes on LP64), the others standard sizes ({@code l} is
 *     4 bytes); only {@code @} aligns: each item starts at a multiple of its
 *     alignment and a record is padded to a multiple of the alignment of its
 *     {@code @} items;
 * <li>codes {@code ? b B h H i I l L q Q e f d} (scalars), {@code c}
 *     (one byte), {@code <n>s} (n bytes), {@code <n>x} (n bytes of padding;
 *     a padding item with a name is a bytes field, as in NumPy), and
 *     {@code T{...}} records nested up to {@value #MAX_NESTING} levels;
 * <li>{@code :name:} after an item names it; unnamed items become
 *     {@code f0}, {@code f1}, ... (skipping names already used), and a
 *     format of one unnamed item at offset 0 is that item's type, not a
 *     record.
 * </ul>
 * Whitespace outside names is ignored, as NumPy does.
 *
 * <p>Where NumPy's importer accepts an input that panbuf refuses, panbuf
 * refuses on purpose: text after the closing <code>'&#125;'</code> of the outermost
 * record or a stray <code>'&#125;'</code> (NumPy stops reading there and ignores the
 * rest), an unclosed <code>T&#123;</code> (NumPy closes it at the end of the string),
 * an empty name {@code ::} (panbuf fields have names), zero-size items and
 * records, subarrays (a repeat count other than 1 on anything but {@code s}
 * and {@code x}, or a {@code (shape)} prefix), and types panbuf has no
 * {@link DType} for ({@code g}, {@code Zf}, {@code Zd}, {@code Zg},
 * {@code O}, {@code w}). NumPy refuses {@code n}, {@code N} and {@code P};
 * so does panbuf.
 *
 * <h2>Writing</h2>
 * {@link #format(DType)} writes exactly NumPy's {@code memoryview} format
 * for the dtype (one {@code x} per padding byte, {@code @} for native fields
 * at aligned offsets, {@code =} for native fields at unaligned ones,
 * {@code l}/{@code L} for 8-byte integers in native mode and
 * {@code q}/{@code Q} in standard mode, no trailing padding) whenever that
 * string reads back as the same dtype. NumPy's string does not read back
 * (NumPy then fails to import its own export) for a record whose size is
 * not a multiple of the alignment its {@code @} items imply, a record with
 * trailing padding, a nested record whose alignment inside the outer record
 * differs from its alignment in memory, and a bare {@code |V<n>} (written
 * {@code <n>x}, which reads back as padding). For those dtypes it writes a
 * string that does: every multi-byte field in standard mode ({@code =} or
 * an explicit order), padding written out, trailing padding included, and a
 * bare bytes type as {@code <n>s}. Two more differences: gaps of more than
 * {@value #MAX_SPELLED_PADDING} bytes are written {@code <n>x} rather than
 * as that many {@code x} characters (a huge hole must not make a huge
 * string), and fields are written in offset order, which is the only order
 * the syntax can express (NumPy refuses to export a record whose fields are
 * declared out of offset order). It never writes {@code ^}: NumPy writes it
 * only for native-only types (long double) at unaligned offsets, and panbuf
 * has no such type.
 *
 * <p>{@code parse(format(d))} equals {@code d} for every dtype whose fields
 * are declared in offset order and whose size fits a repeat count
 * ({@value #MAX_COUNT} bytes, NumPy's limit too); the parser refuses larger
 * records, as NumPy does.
 *
 * <p>Every error is an {@link IllegalArgumentException} whose message quotes
 * the input, names the 0-based position and says what was expected there.
 * All methods are pure functions and take time linear in their input.
 */
public final class StructFormat {

    /** Records may nest this many levels deep ({@code T{T{...}}}); deeper input is refused. */
    public static final int MAX_NESTING = 64;

    /** The largest repeat count: NumPy keeps item sizes in a C {@code int}. */
    public static final long MAX_COUNT = DType.MAX_ITEM_SIZE;

    /** Padding up to this many bytes is written one {@code x} per byte, as NumPy does; longer as {@code <n>x}. */
    public static final int MAX_SPELLED_PADDING = 255;

    private static final char NATIVE_ORDER_CHAR = ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN ? '<' : '>';

    private StructFormat() {
    }

    /**
     * Reads a PEP 3118 struct string as NumPy's buffer import does.
     *
     * {@snippet :
     * StructFormat.parse("<d");                 // float64, little-endian
     * StructFormat.parse("T{b:a:xxxi:b:}");     // record a@0, b@4, 8 bytes
     * StructFormat.parse("T{b:a:i:b:}");        // the same: '@' aligns b to 4
     * StructFormat.parse("2i");                 // refused: a subarray
     * }
     *
     * @param format a PEP 3118 struct string, as a {@code Py_buffer}'s {@code format} holds it
     * @return the dtype NumPy would build for it
     * @throws IllegalArgumentException quoting the input, naming the position and what was expected
     */
    public static DType parse(String format) {
        Objects.requireNonNull(format, "format");
        try {
            return new Reader(format).readAll();
        } catch (Fail f) {
            throw bad("struct format", format, f.position, f.reason);
        }
    }

    /**
     * The struct string of a dtype: NumPy's {@code memoryview(np.zeros(1, dtype)).format}
     * when that reads back as the same dtype, else a string that does (see the class comment).
     * {@code parse(format(d))} equals {@code d} for every dtype whose fields are declared in
     * offset order.
     *
     * @param dtype any dtype
     * @return its PEP 3118 struct string
     * @throws IllegalArgumentException if a field name contains {@code ':'}, which the syntax cannot express
     */
    public static String format(DType dtype) {
        Objects.requireNonNull(dtype, "dtype");
        DType ordered = inOffsetOrder(dtype);
        String numpys = new Writer(true).write(ordered);
        if (readsBackAs(numpys, ordered)) {
            return numpys;
        }
        return new Writer(false).write(ordered);
    }

    private static boolean readsBackAs(String format, DType dtype) {
        try {
            return parse(format).equals(dtype);
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    /** The dtype with every record's fields sorted by offset (the same object when they already are). */
    static DType inOffsetOrder(DType dtype) {
        if (!dtype.isRecord()) {
            return dtype;
        }
        boolean changed = false;
        List<DType.Field> fields = new ArrayList<>(dtype.fields().size());
        long previous = -1;
        for (DType.Field f : dtype.fields()) {
            DType sub = inOffsetOrder(f.dtype());
            changed |= sub != f.dtype() || f.byteOffset() < previous;
            previous = f.byteOffset();
            fields.add(sub == f.dtype() ? f : new DType.Field(f.name(), sub, f.byteOffset()));
        }
        if (!changed) {
            return dtype;
        }
        fields.sort(Comparator.comparingLong(DType.Field::byteOffset));
        return DType.record(fields, dtype.byteSize());
    }

    // ------------------------------------------------------------------ writing

    /** NumPy's exporter, and (numpy = false) the variant whose output always reads back. */
    private static final class Writer {
        private final boolean numpy;
        private final StringBuilder out = new StringBuilder();
        private char mode = '@';
        private long offset;

        Writer(boolean numpy) {
            this.numpy = numpy;
        }

        String write(DType dtype) {
            item(dtype, true);
            return out.toString();
        }

        private void item(DType d, boolean outermost) {
            if (d.isRecord()) {
                long base = offset;
                out.append("T{");
                for (DType.Field f : d.fields()) {
                    pad(base + f.byteOffset() - offset);
                    offset = base + f.byteOffset();
                    item(f.dtype(), false);
                    name(f.name());
                }
                if (!numpy) {
                    // NumPy leaves trailing padding out; the record then reads back too short.
                    pad(base + d.byteSize() - offset);
                    offset = base + d.byteSize();
                }
                out.append('}');
                return;
            }
            long start = offset;
            offset += d.byteSize();
            if (d.kind() == DType.Kind.BYTES) {
                // NumPy exports V<n> as <n>x, which reads back as padding; the fallback says bytes.
                out.append(d.byteSize()).append(outermost && !numpy ? 's' : 'x');
                return;
            }
            if (d.byteOrder() == null) {
                out.append(code(d, false));   // one-byte types keep whatever mode is active
                return;
            }
            boolean nativeOrder = d.byteOrder() == ByteOrder.nativeOrder();
            if (numpy && nativeOrder && (outermost || start % d.byteAlignment() == 0)) {
                switchTo('@');
                out.append(code(d, true));
            } else {
                switchTo(nativeOrder ? '=' : (d.byteOrder() == ByteOrder.BIG_ENDIAN ? '>' : '<'));
                out.append(code(d, false));
            }
        }

        private void switchTo(char order) {
            if (mode != order) {
                out.append(order);
                mode = order;
            }
        }

        private void pad(long bytes) {
            if (bytes > MAX_SPELLED_PADDING) {
                out.append(bytes).append('x');
            } else {
                out.repeat('x', (int) bytes);
            }
        }

        private void name(String name) {
            if (name.indexOf(':') >= 0) {
                throw new IllegalArgumentException("field name '" + name
                        + "' contains ':', which a PEP 3118 format cannot express (NumPy refuses it too)");
            }
            out.append(':').append(name).append(':');
        }

        private static char code(DType d, boolean nativeSizes) {
            return switch (d.kind()) {
                case BOOL -> '?';
                case SIGNED -> switch ((int) d.byteSize()) {
                    case 1 -> 'b';
                    case 2 -> 'h';
                    case 4 -> 'i';
                    default -> nativeSizes ? 'l' : 'q';   // NumPy's int64 is a C long on LP64
                };
                case UNSIGNED -> switch ((int) d.byteSize()) {
                    case 1 -> 'B';
                    case 2 -> 'H';
                    case 4 -> 'I';
                    default -> nativeSizes ? 'L' : 'Q';
                };
                case FLOAT -> switch ((int) d.byteSize()) {
                    case 2 -> 'e';
                    case 4 -> 'f';
                    default -> 'd';
                };
                case BYTES, RECORD -> throw new AssertionError(d);
            };
        }
    }

    // ------------------------------------------------------------------ reading

    /**
     * A parse failure inside this package: position and reason, without the
     * input; the public entry point turns it into the message users see.
     */
    static final class Fail extends IllegalArgumentException {
        private static final long serialVersionUID = 1L;
        final int position;
        final String reason;

        Fail(int position, String reason) {
            super(reason + " at position " + position);
            this.position = position;
            this.reason = reason;
        }

        @Override
        public synchronized Throwable fillInStackTrace() {
            return this;   // always caught and rethrown with the input; the trace would be noise
        }
    }

    /**
     * The one shape of every syntax error in this package:
     * {@code bad <syntax> "<input>" at position <n>: <reason>}. Long inputs are
     * quoted as a window around the position, control characters escaped.
     */
    static IllegalArgumentException bad(String syntax, String input, int position, String reason) {
        return new IllegalArgumentException("bad " + syntax + " " + quote(input, position)
                + " at position " + position + ": " + reason);
    }

    private static final int QUOTE_WHOLE_UP_TO = 200;
    private static final int QUOTE_WINDOW = 60;

    static String quote(String input, int position) {
        StringBuilder q = new StringBuilder("\"");
        int from = 0;
        int to = input.length();
        if (input.length() > QUOTE_WHOLE_UP_TO) {
            from = Math.max(0, Math.min(position, input.length()) - QUOTE_WINDOW);
            to = Math.min(input.length(), Math.max(position, 0) + QUOTE_WINDOW);
            if (from > 0) {
                q.append("...");
            }
        }
        for (int i = from; i < to; i++) {
            char c = input.charAt(i);
            switch (c) {
                case '"' -> q.append("\\\"");
                case '\\' -> q.append("\\\\");
                case '\n' -> q.append("\\n");
                case '\t' -> q.append("\\t");
                case '\r' -> q.append("\\r");
                default -> {
                    if (c < 0x20 || c == 0x7f) {
                        q.append(String.format("\\u%04x", (int) c));
                    } else {
                        q.append(c);
                    }
                }
            }
        }
        if (to < input.length()) {
            q.append("...");
        }
        q.append('"');
        if (input.length() > QUOTE_WHOLE_UP_TO) {
            q.append(" (").append(input.length()).append(" chars)");
        }
        return q.toString();
    }

    /** A character for a message: {@code 'k'}, or its code point when it is not printable ASCII. */
    static String describeChar(String input, int at) {
        int cp = input.codePointAt(at);
        if (cp >= 0x20 && cp < 0x7f) {
            return "'" + (char) cp + "'";
        }
        return String.format("U+%04X", cp);
    }

    /** One parsed item of a record; {@code name} is null for an unnamed item. */
    private record Item(String name, DType dtype, long offset) {
    }

    /** The items of one record level, the names they use, its size, and the alignment its '@' items demand. */
    private record Group(List<Item> items, Set<String> names, long byteSize, long alignment) {

        /** The record, each unnamed item given the lowest unused name f0, f1, ..., in order, as NumPy does. */
        DType toRecord() {
            List<DType.Field> fields = new ArrayList<>(items.size());
            Set<String> used = new HashSet<>(names);
            int next = 0;
            for (Item item : items) {
                String name = item.name();
                if (name == null) {
                    // The lowest free f<k> only grows, so one counter serves the whole record.
                    while (used.contains("f" + next)) {
                        next++;
                    }
                    name = "f" + next++;
                    used.add(name);
                }
                fields.add(new DType.Field(name, item.dtype(), item.offset()));
            }
            return DType.record(fields, byteSize);
        }
    }

    private static final class Reader {
        private final String in;
        private final int end;
        private int pos;
        private char mode = '@';   // like NumPy's stream.byteorder: shared by all nesting levels

        Reader(String in) {
            this.in = in;
            this.end = in.length();
        }

        DType readAll() {
            skipSpace();
            if (pos == end) {
                throw new Fail(pos, in.isEmpty()
                        ? "empty format (expected a type code such as 'i', '<d' or 'T{...}')"
                        : "only whitespace (expected a type code such as 'i', '<d' or 'T{...}')");
            }
            Group top = group(0, -1);
            if (top.items().size() == 1) {
                // One unnamed item filling the element is that item's type, not a record around it.
                Item only = top.items().getFirst();
                if (only.name() == null && only.offset() == 0 && only.dtype().byteSize() == top.byteSize()) {
                    return only.dtype();
                }
            }
            if (top.byteSize() == 0) {
                throw new Fail(0, "the format describes zero bytes (a dtype needs at least one)");
            }
            return top.toRecord();
        }

        private Group group(int depth, int openedAt) {
            List<Item> items = new ArrayList<>();
            Set<String> names = new HashSet<>();
            long offset = 0;
            long alignment = 1;
            while (true) {
                skipSpace();
                if (pos == end) {
                    if (depth > 0) {
                        throw new Fail(pos, "unclosed 'T{' (expected '}' to close the record opened at position "
                                + openedAt + ")");
                    }
                    break;
                }
                char c = in.charAt(pos);
                if (c == '}') {
                    if (depth == 0) {
                        throw new Fail(pos, "unexpected '}' (no 'T{' is open)");
                    }
                    pos++;
                    break;
                }
                if (c == '(') {
                    throw new Fail(pos, "subarray shape '(...)' is not supported (panbuf dtypes have no subarray fields)");
                }
                int orderAt = -1;
                if (isOrder(c)) {
                    orderAt = pos;
                    mode = c == '!' ? '>' : c;
                    pos++;
                    skipSpace();
                }
                if (orderAt >= 0 && pos < end && isOrder(in.charAt(pos))) {
                    throw new Fail(pos, "byte order '" + in.charAt(pos) + "' follows the byte order '"
                            + in.charAt(orderAt) + "' at position " + orderAt + " (expected a type code)");
                }
                int countAt = -1;
                long count = 1;
                String countDigits = null;
                if (pos < end && isDigit(in.charAt(pos))) {
                    countAt = pos;
                    countDigits = digits();
                    count = countValue(countDigits, countAt);
                    skipSpace();
                }
                if (pos == end || in.charAt(pos) == '}' || in.charAt(pos) == ':') {
                    String what = pos == end ? "the end" : "'" + in.charAt(pos) + "'";
                    if (countAt >= 0) {
                        throw new Fail(pos, "repeat count " + countDigits + " at position " + countAt
                                + " is followed by " + what + " (expected a type code)");
                    }
                    if (orderAt >= 0) {
                        throw new Fail(pos, "byte order '" + in.charAt(orderAt) + "' at position " + orderAt
                                + " is followed by " + what + " (expected a type code)");
                    }
                    throw new Fail(pos, "field name without a type (expected a type code before ':')");
                }

                int codeAt = pos;
                DType value;
                long size;
                long align;
                boolean padding = false;
                char code = in.charAt(pos);
                if (code == 'T') {
                    pos++;
                    skipSpace();
                    if (pos == end || in.charAt(pos) != '{') {
                        throw new Fail(pos, "expected '{' after 'T' at position " + codeAt);
                    }
                    pos++;
                    requireSingle(count, countAt, countDigits, "T{...}");
                    if (depth + 1 > MAX_NESTING) {
                        throw new Fail(codeAt, "records nested deeper than " + MAX_NESTING + " levels");
                    }
                    Group inner = group(depth + 1, codeAt);
                    if (inner.byteSize() == 0) {
                        throw new Fail(codeAt, "zero-size record (a record needs at least one byte)");
                    }
                    value = inner.toRecord();
                    size = value.byteSize();
                    align = inner.alignment();
                } else {
                    pos++;
                    switch (code) {
                        case 'x' -> {
                            padding = true;
                            size = count;
                            value = count > 0 ? DType.scalar(DType.Kind.BYTES, count, null) : null;
                            align = 1;
                        }
                        case 's' -> {
                            if (count == 0) {
                                throw new Fail(countAt, "zero-size bytes '0s' (bytes need at least one byte)");
                            }
                            value = DType.scalar(DType.Kind.BYTES, count, null);
                            size = count;
                            align = 1;
                        }
                        case 'c' -> {
                            requireSingle(count, countAt, countDigits, "c");
                            value = DType.scalar(DType.Kind.BYTES, 1, null);
                            size = 1;
                            align = 1;
                        }
                        default -> {
                            value = scalar(code, codeAt);
                            requireSingle(count, countAt, countDigits, String.valueOf(code));
                            size = value.byteSize();
                            align = size;
                        }
                    }
                }

                // Only '@' aligns. The mode that counts is the one in force after the item,
                // which for a record is the mode its last item left behind, as in NumPy.
                // (NumPy also pads after an item whose size is not a multiple of its
                // alignment; no panbuf type or '@'-aligned record is such an item.)
                if (mode == '@') {
                    offset = alignUp(offset, align);
                    alignment = lcm(alignment, align);
                }

                skipSpace();
                String name = null;
                if (pos < end && in.charAt(pos) == ':') {
                    int nameAt = pos;
                    int close = in.indexOf(':', pos + 1);
                    if (close < 0) {
                        throw new Fail(nameAt, "unterminated field name (expected ':' to end the name)");
                    }
                    name = in.substring(pos + 1, close);
                    pos = close + 1;
                    if (name.isEmpty()) {
                        throw new Fail(nameAt, "empty field name '::' (panbuf record fields need names)");
                    }
                    if (!names.add(name)) {
                        throw new Fail(nameAt + 1, "duplicate field name '" + name + "'");
                    }
                }
                if (!padding || name != null) {
                    if (value == null) {
                        throw new Fail(codeAt, "zero-size field '" + name + "' ('0x' names no bytes)");
                    }
                    items.add(new Item(name, value, offset));
                }
                offset += size;
                // Each item is at most MAX_COUNT bytes, so checking as we go keeps the sum far from overflow.
                if (offset > DType.MAX_ITEM_SIZE) {
                    throw new Fail(codeAt, tooLarge(offset));
                }
            }
            // NumPy pads a record to its alignment when the mode in force at its end is '@'.
            long byteSize = mode == '@' ? alignUp(offset, alignment) : offset;
            if (byteSize > DType.MAX_ITEM_SIZE) {
                throw new Fail(pos, tooLarge(byteSize));
            }
            return new Group(items, names, byteSize, alignment);
        }

        private static String tooLarge(long bytes) {
            return "the record reaches " + bytes + " bytes here, more than " + DType.MAX_ITEM_SIZE
                    + " (NumPy keeps item sizes in a C int and refuses it too)";
        }

        private DType scalar(char code, int codeAt) {
            boolean nativeSizes = mode == '@' || mode == '^';
            ByteOrder order = switch (mode) {
                case '<' -> ByteOrder.LITTLE_ENDIAN;
                case '>' -> ByteOrder.BIG_ENDIAN;
                default -> ByteOrder.nativeOrder();
            };
            return switch (code) {
                case '?' -> DType.BOOL;
                case 'b' -> DType.INT8;
                case 'B' -> DType.UINT8;
                case 'h' -> DType.scalar(DType.Kind.SIGNED, 2, order);
                case 'H' -> DType.scalar(DType.Kind.UNSIGNED, 2, order);
                case 'i' -> DType.scalar(DType.Kind.SIGNED, 4, order);
                case 'I' -> DType.scalar(DType.Kind.UNSIGNED, 4, order);
                case 'l' -> DType.scalar(DType.Kind.SIGNED, nativeSizes ? 8 : 4, order);
                case 'L' -> DType.scalar(DType.Kind.UNSIGNED, nativeSizes ? 8 : 4, order);
                case 'q' -> DType.scalar(DType.Kind.SIGNED, 8, order);
                case 'Q' -> DType.scalar(DType.Kind.UNSIGNED, 8, order);
                case 'e' -> DType.scalar(DType.Kind.FLOAT, 2, order);
                case 'f' -> DType.scalar(DType.Kind.FLOAT, 4, order);
                case 'd' -> DType.scalar(DType.Kind.FLOAT, 8, order);
                default -> throw new Fail(codeAt, unknownCode(codeAt));
            };
        }

        private String unknownCode(int at) {
            char c = in.charAt(at);
            return switch (c) {
                case 'g' -> "type 'g' (long double) is not supported by panbuf";
                case 'Z' -> "complex type 'Z" + (at + 1 < end ? String.valueOf(in.charAt(at + 1)) : "")
                        + "' is not supported by panbuf";
                case 'O' -> "type 'O' (Python object) is not supported by panbuf";
                case 'w' -> "type 'w' (UCS-4 string) is not supported by panbuf";
                case 'u' -> "type 'u' (UCS-2 string) is not representable in NumPy or panbuf";
                case '&' -> "type '&' (pointer) is not representable in NumPy or panbuf";
                case 't' -> "type 't' (bit field) is not representable in NumPy or panbuf";
                case 'X' -> "type 'X' (function pointer) is not representable in NumPy or panbuf";
                case 'n', 'N', 'P' -> "type '" + c + "' is not accepted by NumPy's buffer import"
                        + " (expected one of ? b B h H i I l L q Q e f d c s x T{)";
                case '|' -> "'|' is not a PEP 3118 byte order (expected one of @ = < > ! ^, or a type code)";
                default -> "unknown type code " + describeChar(in, at)
                        + " (expected one of ? b B h H i I l L q Q e f d c s x T{, or a byte order @ = < > ! ^)";
            };
        }

        private void requireSingle(long count, int countAt, String digits, String code) {
            if (count != 1) {
                throw new Fail(countAt, "repeat count " + digits + " on '" + code
                        + "' makes a subarray, which panbuf dtypes do not support"
                        + " (only 's' bytes and 'x' padding take a count)");
            }
        }

        /** The digits of a repeat count; whitespace between them is ignored, as NumPy strips it. */
        private String digits() {
            StringBuilder digits = new StringBuilder();
            while (pos < end) {
                char c = in.charAt(pos);
                if (isDigit(c)) {
                    digits.append(c);
                    pos++;
                } else if (isSpace(c) && pos + 1 < end) {
                    int after = pos;
                    while (after < end && isSpace(in.charAt(after))) {
                        after++;
                    }
                    if (after < end && isDigit(in.charAt(after))) {
                        pos = after;
                    } else {
                        break;
                    }
                } else {
                    break;
                }
            }
            return digits.toString();
        }

        private static long countValue(String digits, int at) {
            long value = 0;
            for (int i = 0; i < digits.length(); i++) {
                value = value * 10 + (digits.charAt(i) - '0');
                if (value > MAX_COUNT) {
                    throw new Fail(at, "repeat count " + digits + " is too large (at most " + MAX_COUNT + ")");
                }
            }
            return value;
        }

        private void skipSpace() {
            while (pos < end && isSpace(in.charAt(pos))) {
                pos++;
            }
        }
    }

    private static boolean isOrder(char c) {
        return c == '@' || c == '=' || c == '<' || c == '>' || c == '!' || c == '^';
    }

    private static boolean isDigit(char c) {
        return c >= '0' && c <= '9';
    }

    /** C's isspace in the C locale, which NumPy uses to strip formats. */
    static boolean isSpace(char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\u000b' || c == '\f' || c == '\r';
    }

    private static long alignUp(long offset, long alignment) {
        return offset + Math.floorMod(-offset, alignment);
    }

    private static long lcm(long a, long b) {
        long x = a;
        long y = b;
        while (y != 0) {
            long t = x % y;
            x = y;
            y = t;
        }
        return a / x * b;
    }

    static char nativeOrderChar() {
        return NATIVE_ORDER_CHAR;
    }
}
