package dev.panbuf.format;

import dev.panbuf.DType;
import org.junit.jupiter.api.Test;

import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Seeded random dtypes built in Java (no NumPy needed): every one reads back
 * from its struct format and from its descr, in both byte orders.
 * NumpyOracleTest does the same for dtypes NumPy builds.
 */
class RoundTripTest {

    private static final long SEED = Long.getLong("panbuf.roundtrip.seed", 20240601L);
    private static final int COUNT = Integer.getInteger("panbuf.roundtrip.count", 5_000);

    private static final List<String> NAMES = List.of("a", "b", "c", "x", "y", "f0", "f1", "f7", "value",
            "sp ace", " lead", "it's", "q\"uote", "both'\"", "back\\slash", "\u00e9", "\u6570\u636e",
            "\uD83D\uDE00", "tab\t", "nl\n", "}{", "T{", "\u2028", "\u0000nul", "\u00ad");

    private static DType randomScalar(Random r) {
        ByteOrder order = r.nextBoolean() ? ByteOrder.LITTLE_ENDIAN : ByteOrder.BIG_ENDIAN;
        return switch (r.nextInt(6)) {
            case 0 -> DType.BOOL;
            case 1 -> DType.scalar(DType.Kind.SIGNED, 1L << r.nextInt(4), order);
            case 2 -> DType.scalar(DType.Kind.UNSIGNED, 1L << r.nextInt(4), order);
            case 3 -> DType.scalar(DType.Kind.FLOAT, 2L << r.nextInt(3), order);
            case 4 -> DType.scalar(DType.Kind.BYTES, 1 + r.nextInt(9), null);
            default -> DType.scalar(DType.Kind.FLOAT, 8, order);
        };
    }

    /** A record of 0 to 5 fields at random offsets (packed, C-aligned or with gaps), nested up to depth 3. */
    static DType randomRecord(Random r, int depth) {
        int n = r.nextInt(6);
        List<String> names = new ArrayList<>(NAMES);
        Collections.shuffle(names, r);
        List<DType.Field> fields = new ArrayList<>();
        long at = 0;
        int layout = r.nextInt(3);
        for (int i = 0; i < n; i++) {
            DType t = depth < 3 && r.nextInt(4) == 0 ? randomRecord(r, depth + 1) : randomScalar(r);
            at += switch (layout) {
                case 0 -> 0;
                case 1 -> Math.floorMod(-at, t.byteAlignment());
                default -> r.nextInt(10);
            };
            fields.add(new DType.Field(names.get(i), t, at));
            at += t.byteSize();
        }
        long size = Math.max(1, at + (r.nextInt(3) == 0 ? r.nextInt(9) : 0));
        if (r.nextInt(5) == 0) {
            Collections.shuffle(fields, r);   // declared out of offset order
        }
        return DType.record(fields, size);
    }

    private static void assertRoundTrips(DType d) {
        DType ordered = StructFormat.inOffsetOrder(d);
        String format = StructFormat.format(d);
        assertEquals(ordered, StructFormat.parse(format), format);
        assertEquals(format, StructFormat.format(StructFormat.parse(format)));
        String descr = NumpyDescr.descr(d);
        assertEquals(ordered, NumpyDescr.parseDescr(descr), descr);
        assertEquals(descr, NumpyDescr.descr(NumpyDescr.parseDescr(descr)));
        if (!d.isRecord()) {
            assertEquals(d, NumpyDescr.parse(NumpyDescr.str(d)));
        }
    }

    @Test
    void randomRecordsRoundTripThroughBothSyntaxes() {
        Random r = new Random(SEED);
        for (int i = 0; i < COUNT; i++) {
            assertRoundTrips(randomRecord(r, 1));
        }
    }

    @Test
    void bigEndianRecordRoundTripsThroughBothSyntaxes() {
        Random r = new Random(SEED + 1);
        for (int i = 0; i < COUNT / 5; i++) {
            DType d = randomRecord(r, 1);
            assertRoundTrips(d.withByteOrder(ByteOrder.BIG_ENDIAN));
            assertRoundTrips(d.withByteOrder(ByteOrder.LITTLE_ENDIAN));
        }
    }

    @Test
    void everyScalarRoundTripsThroughAllThreeSpellings() {
        Random r = new Random(SEED + 2);
        for (int i = 0; i < 500; i++) {
            assertRoundTrips(randomScalar(r));
        }
    }
}
