package dev.panbuf.fuzz;

import dev.panbuf.DType;
import dev.panbuf.format.NumpyDescr;
import dev.panbuf.shim.Shim;

import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What the fuzz targets share: a reader that turns the fuzzer's bytes into
 * numbers (missing bytes read as 0, so every input, even an empty one, is a
 * valid test case) and the check every refusal must pass.
 *
 * <p>Each target is one class with one {@code @FuzzTest} method, because
 * Jazzer fuzzes one method per JVM: the {@code fuzz} surefire execution
 * (./run-tests) gives each class its own JVM. In the normal test run every
 * target replays its committed inputs from
 * {@code src/test/resources/dev/panbuf/fuzz/<Class>Inputs/<method>/}.
 */
final class Fuzz {

    private Fuzz() {}

    /** A refusal must say something: a message, not empty. */
    static void checkMessage(Exception refused, Object input) {
        String msg = refused.getMessage();
        assertTrue(msg != null && !msg.isBlank(), "refusal without a message for input " + input + ": " + refused);
    }

    /**
     * Every spelling panbuf prints for an accepted dtype reads back as that
     * dtype: {@code fromFormat(format(d))}, {@code parseDescr(descr(d))} and,
     * for non-records, {@code parse(str(d))}; and the C shim sizes
     * {@code format(d)} (what an export of {@code d} carries) as {@code d}'s size.
     */
    static void roundTrips(DType d, String from) {
        assertNotNull(d);
        String why = " (parsed from \"" + from + "\")";
        if (hasColonInAName(d)) {
            // A PEP 3118 name ends at ':', so format() refuses such names, as documented.
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, d::format, why);
            assertTrue(e.getMessage().contains("':'"), e.getMessage());
        } else {
            String format = d.format();
            assertEquals(d, DType.fromFormat(format), "fromFormat(format(d)) for " + format + why);
            // What panbuf exports must pass its own pb_validate: C sizes the format as Java does.
            // (A format with a NUL in a name is not exported: Shim.newExport refuses it.)
            if (format.indexOf('\0') < 0) {
                assertEquals(d.byteSize(), Shim.sizeFromFormat(format), "pb_size_from_format(\"" + format + "\")" + why);
            }
        }
        assertEquals(d, NumpyDescr.parseDescr(NumpyDescr.descr(d)), "parseDescr(descr(d)) for " + NumpyDescr.descr(d) + why);
        if (!d.isRecord()) {
            assertEquals(d, DType.parse(d.str()), "parse(str(d)) for " + d.str() + why);
        }
        assertFalse(d.toString().isEmpty());
        assertTrue(d.byteSize() > 0, "a dtype of " + d.byteSize() + " bytes" + why);
    }

    private static boolean hasColonInAName(DType d) {
        for (DType.Field f : d.fields()) {
            if (f.name().indexOf(':') >= 0 || hasColonInAName(f.dtype())) {
                return true;
            }
        }
        return false;
    }

    /** Every byte as one char (ISO-8859-1), so a committed input file is the text itself. */
    static String text(byte[] input) {
        return new String(input, StandardCharsets.ISO_8859_1);
    }

    /** Sequential reader of fuzzer bytes, little-endian; reads past the end give 0. */
    static final class Input {
        /** Values that sit on the edges of long arithmetic, for {@link #edgy}. */
        private static final long[] EDGES = {0, 1, -1, 2, -2, Long.MAX_VALUE, Long.MIN_VALUE, Long.MAX_VALUE - 1,
            Long.MIN_VALUE + 1, 1L << 31, 1L << 32, 1L << 62, -(1L << 62), 1L << 61, Long.MAX_VALUE / 2,
            Long.MAX_VALUE / 2 + 1, Integer.MAX_VALUE, Integer.MIN_VALUE, 64, 65, 4096};

        private final byte[] data;
        private int at;

        Input(byte[] data) {
            this.data = data;
        }

        boolean exhausted() {
            return at >= data.length;
        }

        int u8() {
            return at < data.length ? data[at++] & 0xFF : 0;
        }

        int s8() {
            return (byte) u8();
        }

        int u16() {
            return u8() | u8() << 8;
        }

        long s64() {
            long v = 0;
            for (int i = 0; i < 8; i++) {
                v |= (long) u8() << (8 * i);
            }
            return v;
        }

        boolean bit() {
            return (u8() & 1) != 0;
        }

        /** {@code 0 <= result < bound}. */
        int below(int bound) {
            return u8() % bound;
        }

        /**
         * A long that is mostly small, sometimes {@code small * unit}, sometimes
         * raw 64 bits, sometimes one of the {@link #EDGES} (plus or minus a little).
         * Encoding: a mode byte m; m % 4 == 0: a signed byte follows; 1: a signed byte
         * times unit; 2: 8 raw bytes; 3: a byte e, giving EDGES[e % 21] + (e / 21 % 4 - 1).
         */
        long edgy(long unit) {
            int mode = u8();
            return switch (mode & 3) {
                case 0 -> s8();
                case 1 -> (long) s8() * unit;
                case 2 -> s64();
                default -> {
                    int e = u8();
                    yield EDGES[e % EDGES.length] + (e / EDGES.length % 4 - 1);   // edge - 1, edge, edge + 1 or edge + 2
                }
            };
        }
    }
}
