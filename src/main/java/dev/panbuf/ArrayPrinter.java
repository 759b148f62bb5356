package dev.panbuf;

import dev.panbuf.format.NumpyDescr;

import java.lang.foreign.ValueLayout;
import java.math.BigInteger;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * The text of {@link NdArray#toString()}: exactly what NumPy's {@code repr}
 * prints for the same array under NumPy's default print options (precision 8,
 * threshold 1000, 3 edge items, line width 75, {@code floatmode='maxprec'}),
 * as NumPy 2.3 and later print it. For example
 * {@code array([1.1, 2. ], dtype=float16)},
 * {@code array([], shape=(4, 0, 2), dtype='>i2')},
 * {@code array([( 1, 2.5), (10, 3. )], dtype=[('x', '<i4'), ('y', '<f8')])}.
 *
 * <p>It follows NumPy's {@code arrayprint.py} step by step: one format per
 * array (per field for records) chosen from the values shown, floats printed
 * by Dragon4 exactly as NumPy's {@code dragon4.c} does (the shortest digits
 * that identify the value in its own precision, so float16 {@code 1.1} prints
 * as {@code 1.1}), rows wrapped at the line width, {@code ...} summaries past
 * the threshold, and the shape and dtype added when the text would not imply
 * them. {@code PrintOracleTest} compares it with NumPy on generated arrays.
 */
final class ArrayPrinter {

    private static final int THRESHOLD = 1000;
    private static final int EDGE_ITEMS = 3;
    private static final int LINE_WIDTH = 75;
    private static final int PRECISION = 8;
    private static final String PREFIX = "array(";
    private static final String SEPARATOR = ", ";

    private ArrayPrinter() {}

    static String print(NdArray a) {
        if (!a.segment.scope().isAlive()) {
            return a.describe() + " (memory closed)";
        }
        try {
            return repr(a);
        } catch (WrongThreadException e) {
            return a.describe() + " (memory owned by another thread)";
        } catch (IllegalStateException e) {
            if (a.segment.scope().isAlive()) {
                throw e;
            }
            return a.describe() + " (memory closed)";   // another thread closed it while printing
        }
    }

    /** NumPy's {@code array_repr}. */
    private static String repr(NdArray a) {
        long size = a.elementCount();
        long[] shape = a.shapeRef();
        String list = size == 0 ? "[]" : array2string(a, LINE_WIDTH - ")".length());
        List<String> extras = new ArrayList<>(2);
        if ((size == 0 && !(shape.length == 1 && shape[0] == 0)) || size > THRESHOLD) {
            extras.add("shape=" + Errors.shape(shape));
        }
        if (!dtypeIsImplied(a.dtype) || size == 0) {
            extras.add("dtype=" + dtypeShortRepr(a.dtype));
        }
        if (extras.isEmpty()) {
            return PREFIX + list + ")";
        }
        String text = PREFIX + list + ",";
        String extra = String.join(", ", extras) + ")";
        int lastLine = text.length() - (text.lastIndexOf('\n') + 1);
        String spacer = lastLine + extra.length() + 1 > LINE_WIDTH ? "\n" + " ".repeat(PREFIX.length()) : " ";
        return text + spacer + extra;
    }

    // ------------------------------------------------------------------ layout (NumPy's _formatArray)

    private static String array2string(NdArray a, int lineWidth) {
        boolean summarize = a.elementCount() > THRESHOLD;
        List<long[]> shown = new ArrayList<>();
        collect(a.shapeRef(), new long[a.ndim()], 0, summarize, shown);
        Format format = Format.of(a, shown, a.ndim() == 0);
        String nextLinePrefix = " " + " ".repeat(PREFIX.length());
        return new Layout(a, format, lineWidth, summarize ? "..." : "").recurse(new long[0], nextLinePrefix, lineWidth);
    }

    /** The indices NumPy's {@code _leading_trailing} keeps: every element, or the corners of a summary. */
    private static void collect(long[] shape, long[] idx, int axis, boolean summarize, List<long[]> out) {
        if (axis == shape.length) {
            out.add(idx.clone());
            return;
        }
        long n = shape[axis];
        boolean cut = summarize && n > 2L * EDGE_ITEMS;
        for (long i = 0; i < n; i++) {
            if (cut && i == EDGE_ITEMS) {
                i = n - EDGE_ITEMS;
            }
            idx[axis] = i;
            collect(shape, idx, axis + 1, summarize, out);
        }
    }

    private record Layout(NdArray a, Format format, int lineWidth, String summaryInsert) {

        String recurse(long[] index, String hangingIndent, int currWidth) {
            int axis = index.length;
            int axesLeft = a.ndim() - axis;
            if (axesLeft == 0) {
                return format.format(a, index);
            }
            String nextHangingIndent = hangingIndent + " ";
            int nextWidth = currWidth - "]".length();
            long len = a.shapeRef()[axis];
            boolean showSummary = !summaryInsert.isEmpty() && 2L * EDGE_ITEMS < len;
            long leading = showSummary ? EDGE_ITEMS : 0;
            long trailing = showSummary ? EDGE_ITEMS : len;
            StringBuilder s = new StringBuilder();
            if (axesLeft == 1) {
                int elemWidth = currWidth - Math.max(SEPARATOR.stripTrailing().length(), "]".length());
                StringBuilder line = new StringBuilder(hangingIndent);
                for (long i = 0; i < leading; i++) {
                    line = extendLine(s, line, recurse(at(index, i), nextHangingIndent, nextWidth), elemWidth, hangingIndent);
                    line.append(SEPARATOR);
                }
                if (showSummary) {
                    line = extendLine(s, line, summaryInsert, elemWidth, hangingIndent);
                    line.append(SEPARATOR);
                }
                for (long i = trailing; i > 1; i--) {
                    line = extendLine(s, line, recurse(at(index, len - i), nextHangingIndent, nextWidth), elemWidth,
                            hangingIndent);
                    line.append(SEPARATOR);
                }
                line = extendLine(s, line, recurse(at(index, len - 1), nextHangingIndent, nextWidth), elemWidth, hangingIndent);
                s.append(line);
            } else {
                String lineSep = SEPARATOR.stripTrailing() + "\n".repeat(axesLeft - 1);
                for (long i = 0; i < leading; i++) {
                    s.append(hangingIndent).append(recurse(at(index, i), nextHangingIndent, nextWidth)).append(lineSep);
                }
                if (showSummary) {
                    s.append(hangingIndent).append(summaryInsert).append(lineSep);
                }
                for (long i = trailing; i > 1; i--) {
                    s.append(hangingIndent).append(recurse(at(index, len - i), nextHangingIndent, nextWidth)).append(lineSep);
                }
                s.append(hangingIndent).append(recurse(at(index, len - 1), nextHangingIndent, nextWidth));
            }
            return "[" + s.substring(hangingIndent.length()) + "]";
        }

        /** NumPy's {@code _extendLine}: wraps before {@code word} when it would pass the width and wrapping helps. */
        private static StringBuilder extendLine(StringBuilder s, StringBuilder line, String word, int lineWidth,
                                                String nextLinePrefix) {
            boolean needsWrap = line.length() + word.length() > lineWidth && line.length() > nextLinePrefix.length();
            if (needsWrap) {
                s.append(line.toString().stripTrailing()).append('\n');
                line = new StringBuilder(nextLinePrefix);
            }
            return line.append(word);
        }

        private static long[] at(long[] index, long i) {
            long[] next = java.util.Arrays.copyOf(index, index.length + 1);
            next[index.length] = i;
            return next;
        }
    }

    // ------------------------------------------------------------------ dtype text

    /** NumPy's {@code dtype_is_implied}: the values' text alone says the dtype. */
    private static boolean dtypeIsImplied(DType d) {
        return !d.isRecord() && d.isNativeOrder()
                && (d.equals(DType.INT64) || d.equals(DType.FLOAT64) || d.equals(DType.BOOL));
    }

    /** NumPy's {@code dtype_short_repr}. */
    static String dtypeShortRepr(DType d) {
        if (d.isRecord()) {
            return structRepr(d);
        }
        if (d.kind() == DType.Kind.BYTES || !d.isNativeOrder()) {
            return "'" + d.str() + "'";
        }
        return switch (d.kind()) {
            case BOOL -> "bool";
            case SIGNED -> "int" + d.byteSize() * 8;
            case UNSIGNED -> "uint" + d.byteSize() * 8;
            case FLOAT -> "float" + d.byteSize() * 8;
            default -> throw new AssertionError(d);
        };
    }

    /** {@code str(dtype)} of a record: the list form when packed in field order, else the dict form. */
    private static String structRepr(DType d) {
        List<DType.Field> fields = d.fields();
        long at = 0;
        boolean packed = true;
        for (DType.Field f : fields) {
            packed &= f.byteOffset() == at;
            at = f.byteOffset() + f.dtype().byteSize();
        }
        packed &= at == d.byteSize();
        StringBuilder sb = new StringBuilder();
        if (packed) {
            sb.append('[');
            for (int i = 0; i < fields.size(); i++) {
                DType.Field f = fields.get(i);
                sb.append(i == 0 ? "(" : ", (").append(NumpyDescr.pythonRepr(f.name())).append(", ")
                        .append(constructionRepr(f.dtype())).append(')');
            }
            return sb.append(']').toString();
        }
        sb.append("{'names': [");
        for (int i = 0; i < fields.size(); i++) {
            sb.append(i == 0 ? "" : ", ").append(NumpyDescr.pythonRepr(fields.get(i).name()));
        }
        sb.append("], 'formats': [");
        for (int i = 0; i < fields.size(); i++) {
            sb.append(i == 0 ? "" : ", ").append(constructionRepr(fields.get(i).dtype()));
        }
        sb.append("], 'offsets': [");
        for (int i = 0; i < fields.size(); i++) {
            sb.append(i == 0 ? "" : ", ").append(fields.get(i).byteOffset());
        }
        return sb.append("], 'itemsize': ").append(d.byteSize()).append('}').toString();
    }

    /** NumPy's {@code _construction_repr(dtype, short=True)} of a field's dtype. */
    private static String constructionRepr(DType d) {
        if (d.isRecord()) {
            return structRepr(d);
        }
        return switch (d.kind()) {
            case BOOL -> "'?'";
            case BYTES -> "'V" + d.byteSize() + "'";
            default -> "'" + (d.byteOrder() == null ? "" : d.byteOrder() == ByteOrder.LITTLE_ENDIAN ? "<" : ">")
                    + d.kind().numpyKind() + d.byteSize() + "'";
        };
    }

    // ------------------------------------------------------------------ element formats

    /** One format for every element of an array (NumPy's format functions), chosen from the elements shown. */
    private interface Format {

        String format(NdArray a, long[] idx);

        static Format of(NdArray a, List<long[]> shown, boolean zeroD) {
            DType d = a.dtype;
            return switch (d.kind()) {
                case BOOL -> {
                    String trueText = zeroD ? "True" : " True";
                    yield (arr, idx) -> byteAt(arr, idx, 0) != 0 ? trueText : "False";
                }
                case SIGNED, UNSIGNED -> IntegerFormat.of(a, shown);
                case FLOAT -> FloatingFormat.of(a, shown);
                case BYTES -> ArrayPrinter::voidText;
                case RECORD -> RecordFormat.of(a, shown, zeroD);
            };
        }
    }

    private static byte byteAt(NdArray a, long[] idx, long i) {
        return a.segment.get(ValueLayout.JAVA_BYTE, a.byteOffsetOf(idx) + i);
    }

    /** The element's bytes as an unsigned integer in the dtype's byte order. */
    private static long bits(NdArray a, long[] idx) {
        long at = a.byteOffsetOf(idx);
        int n = (int) a.dtype.byteSize();
        boolean little = a.dtype.byteOrder() != ByteOrder.BIG_ENDIAN;
        long v = 0;
        for (int i = 0; i < n; i++) {
            long b = Byte.toUnsignedLong(a.segment.get(ValueLayout.JAVA_BYTE, at + (little ? n - 1 - i : i)));
            v = (v << 8) | b;
        }
        return v;
    }

    /** {@code str(np.void(...))} of an unstructured element: every byte as {@code \xNN}. */
    private static String voidText(NdArray a, long[] idx) {
        StringBuilder sb = new StringBuilder("b'");
        for (long i = 0; i < a.dtype.byteSize(); i++) {
            sb.append(String.format("\\x%02X", Byte.toUnsignedInt(byteAt(a, idx, i))));
        }
        return sb.append('\'').toString();
    }

    /** NumPy's {@code IntegerFormat}: right-aligned to the widest of the largest and smallest value shown. */
    private record IntegerFormat(int width) implements Format {

        static IntegerFormat of(NdArray a, List<long[]> shown) {
            BigInteger max = null;
            BigInteger min = null;
            for (long[] idx : shown) {
                BigInteger v = value(a, idx);
                max = max == null || v.compareTo(max) > 0 ? v : max;
                min = min == null || v.compareTo(min) < 0 ? v : min;
            }
            return new IntegerFormat(max == null ? 0 : Math.max(max.toString().length(), min.toString().length()));
        }

        static BigInteger value(NdArray a, long[] idx) {
            long v = bits(a, idx);
            int bitCount = (int) a.dtype.byteSize() * 8;
            if (a.dtype.kind() == DType.Kind.SIGNED) {
                return BigInteger.valueOf(bitCount == 64 ? v : (v << (64 - bitCount)) >> (64 - bitCount));
            }
            return bitCount == 64 ? new BigInteger(Long.toUnsignedString(v)) : BigInteger.valueOf(v);
        }

        @Override
        public String format(NdArray a, long[] idx) {
            String s = value(a, idx).toString();
            return s.length() >= width ? s : " ".repeat(width - s.length()) + s;
        }
    }

    /** NumPy's {@code StructuredVoidFormat}: each field with its own format, chosen from that field's values. */
    private record RecordFormat(List<String> names, List<Format> formats) implements Format {

        static RecordFormat of(NdArray a, List<long[]> shown, boolean zeroD) {
            List<String> names = new ArrayList<>();
            List<Format> formats = new ArrayList<>();
            for (DType.Field f : a.dtype.fields()) {
                names.add(f.name());
                formats.add(Format.of(a.field(f.name()), shown, zeroD));
            }
            return new RecordFormat(names, formats);
        }

        @Override
        public String format(NdArray a, long[] idx) {
            StringBuilder sb = new StringBuilder("(");
            for (int i = 0; i < names.size(); i++) {
                sb.append(i == 0 ? "" : ", ").append(formats.get(i).format(a.field(names.get(i)), idx));
            }
            return sb.append(names.size() == 1 ? ",)" : ")").toString();
        }
    }

    /**
     * NumPy's {@code FloatingFormat} in its default mode ({@code maxprec}, precision 8,
     * sign '-'): positional with the fewest digits that show every value exactly (up to
     * 8 after the point), or scientific when the values span too wide a range.
     */
    private record FloatingFormat(boolean exp, int precision, int minDigits, Trim trim, int padLeft, int padRight, int expSize)
            implements Format {

        static FloatingFormat of(NdArray a, List<long[]> shown) {
            int width = (int) a.dtype.byteSize();
            List<Binary> finite = new ArrayList<>();
            boolean anyNonFinite = false;
            boolean negativeInf = false;
            for (long[] idx : shown) {
                Binary v = Binary.of(bits(a, idx), width);
                if (v.finite()) {
                    finite.add(v);
                } else {
                    anyNonFinite = true;
                    negativeInf |= v.infinite() && v.negative();
                }
            }
            boolean exp = useScientific(finite, width);
            int precision = PRECISION;
            int minDigits;
            Trim trim;
            int padLeft;
            int padRight;
            int expSize = -1;
            if (finite.isEmpty()) {
                padLeft = 0;
                padRight = 0;
                trim = Trim.ZEROS;
                minDigits = -1;
            } else if (exp) {
                int intLen = 0;
                int fracLen = 0;
                int expLen = 0;
                for (Binary v : finite) {
                    String s = Dragon4.scientific(v, true, PRECISION, -1, Trim.ZEROS, -1, -1);
                    int e = s.indexOf('e');
                    int dot = s.indexOf('.');
                    intLen = Math.max(intLen, dot);
                    fracLen = Math.max(fracLen, e - dot - 1);
                    expLen = Math.max(expLen, s.length() - e - 1);
                }
                expSize = expLen - 1;
                trim = Trim.NONE;
                precision = fracLen;
                minDigits = fracLen;
                padLeft = intLen;
                padRight = expSize + 2 + precision;
            } else {
                int intLen = 0;
                int fracLen = 0;
                for (Binary v : finite) {
                    String s = Dragon4.positional(v, true, true, PRECISION, -1, Trim.ZEROS, -1, -1);
                    int dot = s.indexOf('.');
                    intLen = Math.max(intLen, dot);
                    fracLen = Math.max(fracLen, s.length() - dot - 1);
                }
                padLeft = intLen;
                padRight = fracLen;
                trim = Trim.ZEROS;
                minDigits = 0;
            }
            if (anyNonFinite) {
                int offset = padRight + 1;
                padLeft = Math.max(padLeft, Math.max("nan".length() - offset, "inf".length() + (negativeInf ? 1 : 0) - offset));
            }
            return new FloatingFormat(exp, precision, minDigits, trim, padLeft, padRight, expSize);
        }

        /**
         * NumPy's choice of scientific notation: the largest magnitude is at least
         * {@code 10^min(8, digits of the type)}, the smallest below 0.0001, or their
         * ratio above 1000, each compared in the array's own precision (NumPy 2
         * converts the Python constants to the array's type).
         */
        private static boolean useScientific(List<Binary> finite, int width) {
            Binary max = null;
            Binary min = null;
            for (Binary v : finite) {
                if (v.isZero()) {
                    continue;
                }
                max = max == null || v.magnitude() > max.magnitude() ? v : max;
                min = min == null || v.magnitude() < min.magnitude() ? v : min;
            }
            if (max == null) {
                return false;
            }
            double big = max.magnitude();
            double small = min.magnitude();
            return switch (width) {
                case 2 -> big >= 1e3 || small < HALF_0_0001 || halfQuotient(big, small) > 1000.0;
                case 4 -> big >= 1e6 || small < (float) 0.0001 || (float) big / (float) small > 1000.0f;
                default -> big >= 1e8 || small < 0.0001 || big / small > 1000.0;
            };
        }

        /** float16 0.0001 (the nearest binary16 value, 0.00010001659393310547). */
        private static final double HALF_0_0001 = Float.float16ToFloat((short) 1678);

        /** float16 division as NumPy does it: in float32, then rounded to float16 (may overflow to inf). */
        private static double halfQuotient(double a, double b) {
            return Float.float16ToFloat(Float.floatToFloat16((float) a / (float) b));
        }

        @Override
        public String format(NdArray a, long[] idx) {
            Binary v = Binary.of(bits(a, idx), (int) a.dtype.byteSize());
            if (!v.finite()) {
                String text = v.isNaN() ? "nan" : v.negative() ? "-inf" : "inf";
                return " ".repeat(Math.max(0, padLeft + padRight + 1 - text.length())) + text;
            }
            return exp ? Dragon4.scientific(v, true, precision, minDigits, trim, padLeft, expSize)
                    : Dragon4.positional(v, true, true, precision, minDigits, trim, padLeft, padRight);
        }
    }

    /** NumPy's trim modes: {@code 'k'} keeps trailing zeros; {@code '.'} drops them but keeps the point. */
    enum Trim { NONE, ZEROS }

    /**
     * A binary16, binary32 or binary64 value taken apart as Dragon4 needs it:
     * {@code value = mantissa * 2^exponent}, the index of the mantissa's highest
     * bit, and whether the gap to the next lower value is half the gap above
     * (at a power of two).
     */
    record Binary(boolean negative, int kind, BigInteger mantissa, int exponent, int mantissaBit, boolean unequalMargins,
                  double magnitude) {

        private static final int FINITE = 0, INF = 1, NAN = 2;

        static Binary of(long bits, int byteWidth) {
            int fractionBits = switch (byteWidth) {
                case 2 -> 10;
                case 4 -> 23;
                default -> 52;
            };
            int exponentBits = byteWidth * 8 - 1 - fractionBits;
            int bias = (1 << (exponentBits - 1)) - 1;
            boolean negative = ((bits >>> (byteWidth * 8 - 1)) & 1) != 0;
            long fraction = bits & ((1L << fractionBits) - 1);
            int biased = (int) ((bits >>> fractionBits) & ((1 << exponentBits) - 1));
            double magnitude = switch (byteWidth) {
                case 2 -> Math.abs(Float.float16ToFloat((short) bits));
                case 4 -> Math.abs(Float.intBitsToFloat((int) bits));
                default -> Math.abs(Double.longBitsToDouble(bits));
            };
            if (biased == (1 << exponentBits) - 1) {
                return new Binary(negative, fraction == 0 ? INF : NAN, BigInteger.ZERO, 0, 0, false, magnitude);
            }
            if (biased != 0) {
                return new Binary(negative, FINITE, BigInteger.valueOf((1L << fractionBits) | fraction),
                        biased - bias - fractionBits, fractionBits, biased != 1 && fraction == 0, magnitude);
            }
            return new Binary(negative, FINITE, BigInteger.valueOf(fraction), 1 - bias - fractionBits,
                    fraction == 0 ? 0 : 63 - Long.numberOfLeadingZeros(fraction), false, magnitude);
        }

        boolean finite() {
            return kind == FINITE;
        }

        boolean infinite() {
            return kind == INF;
        }

        boolean isNaN() {
            return kind == NAN;
        }

        boolean isZero() {
            return kind == FINITE && mantissa.signum() == 0;
        }
    }

    /**
     * Dragon4 (Steele and White's free-format printing, with Burger and Dybvig's
     * exponent estimate) as NumPy's {@code dragon4.c} runs it: exact big-integer
     * arithmetic, the boundaries of the rounding interval included for even
     * mantissas (IEEE unbiased rounding), an optional cut-off after a number of
     * digits (total, or after the point) and an optional minimum of digits, and
     * NumPy's positional and scientific layouts with their padding and trimming.
     */
    static final class Dragon4 {

        private static final double LOG10_2 = 0.30102999566398119521373889472449;
        /** How many digits NumPy's output buffer can hold: the cut-off when none is asked for. */
        private static final int BUFFER_DIGITS = 16384;

        private Dragon4() {}

        /** The digits and the base-10 exponent of the first one. */
        record Digits(String digits, int exponent) {}

        /**
         * @param unique     stop at the shortest digits that identify the value (else print it exactly)
         * @param fractional cut-offs count digits after the point (else all digits)
         * @param cutoffMax  at most this many digits, or -1
         * @param cutoffMin  at least this many digits, or -1
         */
        static Digits digits(Binary v, boolean unique, boolean fractional, int cutoffMax, int cutoffMin) {
            if (v.mantissa().signum() == 0) {
                return new Digits("0", 0);
            }
            BigInteger m = v.mantissa();
            int e = v.exponent();
            boolean isEven = !m.testBit(0);
            BigInteger scale;
            BigInteger value;
            BigInteger marginLow;
            boolean unequal = v.unequalMargins();
            if (unequal) {
                if (e > 0) {
                    value = m.shiftLeft(e + 2);
                    scale = BigInteger.valueOf(4);
                    marginLow = BigInteger.ONE.shiftLeft(e);
                } else {
                    value = m.shiftLeft(2);
                    scale = BigInteger.ONE.shiftLeft(-e + 2);
                    marginLow = BigInteger.ONE;
                }
            } else {
                if (e > 0) {
                    value = m.shiftLeft(e + 1);
                    scale = BigInteger.TWO;
                    marginLow = BigInteger.ONE.shiftLeft(e);
                } else {
                    value = m.shiftLeft(1);
                    scale = BigInteger.ONE.shiftLeft(-e + 1);
                    marginLow = BigInteger.ONE;
                }
            }
            BigInteger marginHigh = unequal ? marginLow.shiftLeft(1) : marginLow;
            int digitExponent = (int) Math.ceil((double) (v.mantissaBit() + e) * LOG10_2 - 0.69);
            if (cutoffMax >= 0 && fractional && digitExponent <= -cutoffMax) {
                digitExponent = -cutoffMax + 1;
            }
            if (digitExponent > 0) {
                scale = scale.multiply(BigInteger.TEN.pow(digitExponent));
            } else if (digitExponent < 0) {
                BigInteger pow10 = BigInteger.TEN.pow(-digitExponent);
                value = value.multiply(pow10);
                marginLow = marginLow.multiply(pow10);
                marginHigh = unequal ? marginLow.shiftLeft(1) : marginLow;
            }
            if (value.compareTo(scale) >= 0) {
                digitExponent++;
            } else {
                value = value.multiply(BigInteger.TEN);
                marginLow = marginLow.multiply(BigInteger.TEN);
                marginHigh = unequal ? marginLow.shiftLeft(1) : marginLow;
            }
            int cutoffMaxExponent = digitExponent - BUFFER_DIGITS;
            if (cutoffMax >= 0) {
                cutoffMaxExponent = Math.max(cutoffMaxExponent, fractional ? -cutoffMax : digitExponent - cutoffMax);
            }
            int cutoffMinExponent = digitExponent;
            if (cutoffMin >= 0) {
                cutoffMinExponent = Math.min(cutoffMinExponent, fractional ? -cutoffMin : digitExponent - cutoffMin);
            }
            int outExponent = digitExponent - 1;
            StringBuilder out = new StringBuilder();
            int digit;
            boolean low = false;
            boolean high = false;
            while (true) {
                digitExponent--;
                BigInteger[] qr = value.divideAndRemainder(scale);
                digit = qr[0].intValueExact();
                value = qr[1];
                if (unique) {
                    int cmp = value.compareTo(marginLow);
                    low = isEven ? cmp <= 0 : cmp < 0;
                    cmp = value.add(marginHigh).compareTo(scale);
                    high = isEven ? cmp >= 0 : cmp > 0;
                    if (((low || high) && digitExponent <= cutoffMinExponent) || digitExponent == cutoffMaxExponent) {
                        break;
                    }
                } else if (value.signum() == 0 || digitExponent == cutoffMaxExponent) {
                    break;
                }
                out.append((char) ('0' + digit));
                value = value.multiply(BigInteger.TEN);
                if (unique) {
                    marginLow = marginLow.multiply(BigInteger.TEN);
                    marginHigh = unequal ? marginLow.shiftLeft(1) : marginLow;
                }
            }
            boolean roundDown = low;
            if (low == high) {
                int compare = value.shiftLeft(1).compareTo(scale);
                roundDown = compare < 0 || (compare == 0 && (digit & 1) == 0);
            }
            if (roundDown) {
                out.append((char) ('0' + digit));
            } else if (digit < 9) {
                out.append((char) ('0' + digit + 1));
            } else {
                while (true) {
                    if (out.isEmpty()) {
                        out.append('1');
                        outExponent++;
                        break;
                    }
                    char last = out.charAt(out.length() - 1);
                    out.setLength(out.length() - 1);
                    if (last != '9') {
                        out.append((char) (last + 1));
                        break;
                    }
                }
            }
            return new Digits(out.toString(), outExponent);
        }

        /** NumPy's {@code dragon4_positional}: {@code [-]ddd.ddd}, padded to {@code padLeft} and {@code padRight}. */
        static String positional(Binary v, boolean unique, boolean fractional, int precision, int minDigits, Trim trim,
                                 int padLeft, int padRight) {
            StringBuilder b = new StringBuilder();
            int hasSign = v.negative() ? 1 : 0;
            if (v.negative()) {
                b.append('-');
            }
            Digits d = digits(v, unique, fractional, precision, minDigits);
            String digits = d.digits();
            int numDigits = digits.length();
            int numWholeDigits;
            int numFractionDigits = 0;
            if (d.exponent() >= 0) {
                numWholeDigits = d.exponent() + 1;
                if (numDigits <= numWholeDigits) {
                    b.append(digits).append("0".repeat(numWholeDigits - numDigits));
                } else {
                    b.append(digits, 0, numWholeDigits).append('.').append(digits, numWholeDigits, numDigits);
                    numFractionDigits = numDigits - numWholeDigits;
                }
            } else {
                int zeros = -(d.exponent() + 1);
                b.append("0.").append("0".repeat(zeros)).append(digits);
                numFractionDigits = zeros + numDigits;
                numWholeDigits = 1;
            }
            if (numFractionDigits == 0) {
                b.append('.');
            }
            int addDigits = unique ? minDigits : precision;
            int desired = fractional ? Math.max(addDigits, 0) : addDigits - numWholeDigits;
            if (trim == Trim.NONE && desired > numFractionDigits) {
                b.append("0".repeat(desired - numFractionDigits));
                numFractionDigits = desired;
            }
            if (trim != Trim.NONE && numFractionDigits > 0) {
                while (b.charAt(b.length() - 1) == '0') {
                    b.setLength(b.length() - 1);
                    numFractionDigits--;
                }
            }
            if (padRight >= numFractionDigits) {
                b.append(" ".repeat(padRight - numFractionDigits));
            }
            if (padLeft > numWholeDigits + hasSign) {
                b.insert(0, " ".repeat(padLeft - numWholeDigits - hasSign));
            }
            return b.toString();
        }

        /** NumPy's {@code dragon4_scientific}: {@code [-]d.ddde[+-]dd}, padded to {@code padLeft}. */
        static String scientific(Binary v, boolean unique, int precision, int minDigits, Trim trim, int padLeft,
                                 int expDigits) {
            StringBuilder b = new StringBuilder();
            int leftChars = 1 + (v.negative() ? 1 : 0);
            if (padLeft > leftChars) {
                b.append(" ".repeat(padLeft - leftChars));
            }
            if (v.negative()) {
                b.append('-');
            }
            Digits d = digits(v, unique, false, precision < 0 ? -1 : precision + 1, minDigits < 0 ? -1 : minDigits + 1);
            String digits = d.digits();
            b.append(digits.charAt(0));
            int numFractionDigits = digits.length() - 1;
            b.append('.');
            b.append(digits, 1, digits.length());
            int addDigits = Math.max(unique ? minDigits : precision, 0);
            if (trim == Trim.NONE && addDigits > numFractionDigits) {
                b.append("0".repeat(addDigits - numFractionDigits));
            }
            if (trim != Trim.NONE && numFractionDigits > 0) {
                while (b.charAt(b.length() - 1) == '0') {
                    b.setLength(b.length() - 1);
                }
            }
            int exponent = d.exponent();
            b.append('e').append(exponent >= 0 ? '+' : '-');
            String e = Integer.toString(Math.abs(exponent));
            int width = expDigits < 0 ? 2 : Math.min(expDigits, 5);
            if (e.length() < width) {
                b.append("0".repeat(width - e.length()));
            }
            return b.append(e).toString();
        }
    }
}
