package dev.panbuf;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.List;

/**
 * NumPy-style text of an array's contents, for {@link NdArray#toString()}:
 * {@code array([[1. , 2.5], [3. , 4. ]], dtype=float32)}, with one common
 * format per array (NumPy's rules, simplified: integral floats print as
 * {@code 1.}, otherwise the fewest fixed digits that show every value, or
 * scientific notation for wide ranges) and {@code ...} summaries for arrays of
 * more than 1000 elements.
 */
final class ArrayPrinter {

    private static final int THRESHOLD = 1000;
    private static final int EDGE_ITEMS = 3;
    private static final int LINE_WIDTH = 75;
    private static final String PREFIX = "array(";

    private ArrayPrinter() {}

    static String print(NdArray a) {
        if (!a.segment.scope().isAlive()) {
            return a.describe() + " (memory closed)";
        }
        try {
            return render(a);
        } catch (WrongThreadException e) {
            return a.describe() + " (memory owned by another thread)";
        } catch (IllegalStateException e) {
            if (a.segment.scope().isAlive()) {
                throw e;
            }
            return a.describe() + " (memory closed)";   // another thread closed it while printing
        }
    }

    private static String render(NdArray a) {
        boolean summarize = a.elementCount() > THRESHOLD;
        long[] shape = a.shapeRef();
        List<long[]> shown = new ArrayList<>();
        // An empty array shows no element: walking its other axes would build index arrays as long
        // as those axes (shape (0, 2^32) threw ArrayIndexOutOfBoundsException; (0, 2^30) ran out of heap).
        if (a.elementCount() > 0) {
            collect(shape, new long[shape.length], 0, summarize, shown);
        }
        List<String> texts = new ArrayList<>(shown.size());
        Formatter fmt = Formatter.of(a, shown);
        for (long[] idx : shown) {
            texts.add(fmt.format(a, idx));
        }
        int width = 0;
        for (String t : texts) {
            width = Math.max(width, t.length());
        }
        StringBuilder out = new StringBuilder(PREFIX);
        if (a.ndim() == 0) {
            out.append(texts.get(0));
        } else if (a.elementCount() == 0) {
            out.append("[".repeat(a.ndim())).append("]".repeat(a.ndim()));
        } else {
            int[] cursor = {0};
            block(out, shape, 0, summarize, texts, width, cursor, PREFIX.length());
        }
        String suffix = dtypeSuffix(a);
        if (!suffix.isEmpty()) {
            out.append(", ").append(suffix);
        }
        return out.append(')').toString();
    }

    private static void collect(long[] shape, long[] idx, int axis, boolean summarize, List<long[]> out) {
        if (axis == shape.length) {
            out.add(idx.clone());
            return;
        }
        for (long i : indicesShown(shape[axis], summarize)) {
            if (i < 0) {
                continue;
            }
            idx[axis] = i;
            collect(shape, idx, axis + 1, summarize, out);
        }
    }

    /** Indices printed along an axis; -1 marks the "..." gap. */
    private static long[] indicesShown(long n, boolean summarize) {
        if (!summarize || n <= 2 * EDGE_ITEMS) {
            long[] all = new long[(int) n];
            for (int i = 0; i < n; i++) {
                all[i] = i;
            }
            return all;
        }
        long[] some = new long[2 * EDGE_ITEMS + 1];
        for (int i = 0; i < EDGE_ITEMS; i++) {
            some[i] = i;
            some[EDGE_ITEMS + 1 + i] = n - EDGE_ITEMS + i;
        }
        some[EDGE_ITEMS] = -1;
        return some;
    }

    private static void block(StringBuilder out, long[] shape, int axis, boolean summarize, List<String> texts, int width,
                              int[] cursor, int indent) {
        out.append('[');
        long[] idx = indicesShown(shape[axis], summarize);
        boolean last = axis == shape.length - 1;
        int lineStart = out.lastIndexOf("\n") + 1;
        for (int k = 0; k < idx.length; k++) {
            if (k > 0) {
                out.append(',');
                if (last) {
                    String next = idx[k] < 0 ? "..." : pad(texts.get(cursor[0]), width);
                    if (out.length() - lineStart + 1 + next.length() + 1 > LINE_WIDTH) {
                        out.append('\n').append(" ".repeat(indent + axis + 1));
                        lineStart = out.length() - indent - axis - 1;
                    } else {
                        out.append(' ');
                    }
                } else {
                    out.append("\n".repeat(shape.length - axis - 1)).append(" ".repeat(indent + axis + 1));
                }
            }
            if (idx[k] < 0) {
                out.append("...");
                continue;
            }
            if (last) {
                out.append(pad(texts.get(cursor[0]++), width));
            } else {
                block(out, shape, axis + 1, summarize, texts, width, cursor, indent);
            }
        }
        out.append(']');
    }

    private static String pad(String s, int width) {
        return s.length() >= width ? s : " ".repeat(width - s.length()) + s;
    }

    private static String dtypeSuffix(NdArray a) {
        DType d = a.dtype;
        boolean defaultType = d.isNativeOrder()
                && (d.equals(DType.FLOAT64) || d.equals(DType.INT64) || d.equals(DType.BOOL));
        if (defaultType && a.elementCount() > 0) {
            return "";
        }
        return "dtype=" + NumpyName.of(d);
    }

    /** The name NumPy's repr gives a dtype. */
    private static final class NumpyName {
        static String of(DType d) {
            if (d.isRecord() || d.kind() == DType.Kind.BYTES) {
                return "'" + d.str() + "'";
            }
            if (!d.isNativeOrder()) {
                return "'" + d.str() + "'";
            }
            return d.name();
        }
    }

    /** One format for every printed element of an array, chosen from the values shown. */
    private interface Formatter {
        String format(NdArray a, long[] idx);

        static Formatter of(NdArray a, List<long[]> shown) {
            DType d = a.dtype;
            return switch (d.kind()) {
                case BOOL -> (arr, idx) -> arr.getBoolean(idx) ? "True" : "False";
                case SIGNED -> (arr, idx) -> Long.toString(integer(arr, idx));
                case UNSIGNED -> (arr, idx) -> unsigned(arr, idx);
                case FLOAT -> FloatFormat.of(a, shown);
                case BYTES, RECORD -> (arr, idx) -> raw(arr, idx);
            };
        }

        private static long integer(NdArray a, long[] idx) {
            return switch ((int) a.dtype.byteSize()) {
                case 1 -> a.getByte(idx);
                case 2 -> a.getShort(idx);
                case 4 -> a.getInt(idx);
                default -> a.getLong(idx);
            };
        }

        private static String unsigned(NdArray a, long[] idx) {
            return switch ((int) a.dtype.byteSize()) {
                case 1 -> Integer.toString(Byte.toUnsignedInt(a.getByte(idx)));
                case 2 -> Integer.toString(Short.toUnsignedInt(a.getShort(idx)));
                case 4 -> Integer.toUnsignedString(a.getInt(idx));
                default -> Long.toUnsignedString(a.getLong(idx));
            };
        }

        private static String raw(NdArray a, long[] idx) {
            if (a.dtype.isRecord()) {
                StringBuilder sb = new StringBuilder("(");
                List<DType.Field> fields = a.dtype.fields();
                for (int i = 0; i < fields.size(); i++) {
                    NdArray f = a.field(fields.get(i).name());
                    NdArray one = f.get(toIndex(idx));
                    if (i > 0) {
                        sb.append(", ");
                    }
                    sb.append(Formatter.of(one, List.of(new long[0])).format(one, new long[0]));
                }
                return sb.append(')').toString();
            }
            StringBuilder sb = new StringBuilder("b'");
            long at = a.byteOffsetOf(idx);
            for (long i = 0; i < a.dtype.byteSize(); i++) {
                int b = Byte.toUnsignedInt(a.segment.get(java.lang.foreign.ValueLayout.JAVA_BYTE, at + i));
                sb.append(b >= 32 && b < 127 && b != '\'' && b != '\\' ? String.valueOf((char) b) : String.format("\\x%02x", b));
            }
            return sb.append('\'').toString();
        }

        private static Index[] toIndex(long[] idx) {
            Index[] ix = new Index[idx.length];
            for (int i = 0; i < idx.length; i++) {
                ix[i] = Index.at(idx[i]);
            }
            return ix;
        }
    }

    /** NumPy's float format, simplified: common precision, fixed or scientific. */
    private record FloatFormat(boolean scientific, int precision, boolean integral) implements Formatter {

        static FloatFormat of(NdArray a, List<long[]> shown) {
            double maxAbs = 0;
            double minAbs = Double.POSITIVE_INFINITY;
            boolean integral = true;
            int precision = 0;
            for (long[] idx : shown) {
                double v = value(a, idx);
                if (!Double.isFinite(v)) {
                    continue;
                }
                double abs = Math.abs(v);
                maxAbs = Math.max(maxAbs, abs);
                if (abs > 0) {
                    minAbs = Math.min(minAbs, abs);
                }
                if (v != Math.rint(v)) {
                    integral = false;
                }
            }
            boolean scientific = maxAbs >= 1e8 || (minAbs < 1e-4 && minAbs > 0) || (minAbs > 0 && maxAbs / minAbs > 1e3 && !integral);
            if (integral && maxAbs < 1e16) {
                scientific = maxAbs >= 1e16;
            }
            for (long[] idx : shown) {
                double v = value(a, idx);
                if (!Double.isFinite(v) || v == 0) {
                    continue;
                }
                BigDecimal exact = new BigDecimal(shortest(a, v)).stripTrailingZeros();
                int digits = scientific ? Math.max(exact.precision() - 1, 0) : Math.max(exact.scale(), 0);
                precision = Math.max(precision, Math.min(digits, 8));
            }
            return new FloatFormat(scientific, precision, integral && !scientific);
        }

        private static double value(NdArray a, long[] idx) {
            return a.dtype.byteSize() == 8 ? a.getDouble(idx) : a.getFloat(idx);
        }

        private static String shortest(NdArray a, double v) {
            return a.dtype.byteSize() == 8 ? Double.toString(v) : Float.toString((float) v);
        }

        @Override
        public String format(NdArray a, long[] idx) {
            double v = value(a, idx);
            if (Double.isNaN(v)) {
                return "nan";
            }
            if (Double.isInfinite(v)) {
                return v > 0 ? "inf" : "-inf";
            }
            if (integral) {
                return (v == 0 && 1 / v < 0 ? "-0" : new BigDecimal(v).toBigInteger().toString()) + ".";
            }
            if (scientific) {
                return String.format("%." + precision + "e", v);
            }
            String s = new BigDecimal(shortest(a, v)).setScale(precision, java.math.RoundingMode.HALF_EVEN).toPlainString();
            return v == 0 && 1 / v < 0 && !s.startsWith("-") ? "-" + s : s;
        }
    }
}
