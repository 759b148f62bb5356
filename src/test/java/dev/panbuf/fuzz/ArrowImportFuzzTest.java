package dev.panbuf.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.panbuf.NdArray;
import dev.panbuf.arrow.Arrow;
import dev.panbuf.arrow.ForeignArrow;
import dev.panbuf.arrow.ImportedColumn;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * {@link Arrow#importColumn} and {@link Arrow#importBatch} of fuzzed
 * {@code ArrowSchema} and {@code ArrowArray} structs from a foreign producer:
 * format strings (real, near-real and garbage bytes), names, tensor
 * metadata, child counts and children, lengths, offsets, null counts and
 * buffer counts. The structs never claim more pointers than they have (a
 * producer that lies about its own arrays cannot be detected by anyone), but
 * every count and size may be anything. Checked:
 * <ul>
 * <li>a refusal is an {@link IllegalArgumentException} or
 *     {@link IllegalStateException} with a message, and either released both
 *     structs exactly once or (saying "nothing released") neither;
 * <li>an accepted import views exactly the bytes the oracle computes
 *     (data + offset * item size, length rows of the row shape); values
 *     inside the producer's block are read and equal the block's bytes;
 * <li>closing the arena releases the array exactly once.
 * </ul>
 */
class ArrowImportFuzzTest {

    private static final int BLOCK = 4096;
    private static final MemorySegment DATA = Arena.ofAuto().allocate(BLOCK, 64);
    private static final String[] FORMATS = {"c", "C", "s", "S", "i", "I", "l", "L", "e", "f", "g", "b", "u", "z", "n",
        "+s", "+w:2", "+w:3", "+w:0", "+w:-1", "+w:99999999999", "+w:", "+l", "+w:2x", "d:5,2", "tsu:", "", "ll"};

    static {
        for (int i = 0; i < BLOCK; i++) {
            DATA.set(ValueLayout.JAVA_BYTE, i, (byte) (i * 31 + 7));
        }
    }

    @FuzzTest(maxDuration = "60s")
    void importChecksEveryCountBeforeTouchingMemory(byte[] input) {
        Fuzz.Input in = new Fuzz.Input(input);
        ForeignArrow.ARRAY_RELEASES.set(0);
        ForeignArrow.SCHEMA_RELEASES.set(0);
        try (Arena structs = Arena.ofConfined()) {
            ForeignArrow f = new ForeignArrow(structs);
            MemorySegment schema = schema(f, in, 0);
            MemorySegment array = array(f, in, 0);
            boolean batch = in.bit();
            Object result = null;
            RuntimeException refused = null;
            try (Arena b = Arena.ofConfined()) {
                try {
                    result = batch ? Arrow.importBatch(array, schema, b) : Arrow.importColumn(array, schema, b);
                } catch (IllegalArgumentException | IllegalStateException e) {
                    refused = e;
                }
                if (result != null) {
                    List<ImportedColumn> cols = result instanceof ImportedColumn c ? List.of(c) : castList(result);
                    for (ImportedColumn c : cols) {
                        check(c.values());
                    }
                    // A batch of no columns views no memory, so it is released at once.
                    assertEquals(cols.isEmpty() ? 1 : 0, ForeignArrow.ARRAY_RELEASES.get(), "released while imported");
                    assertEquals(1, ForeignArrow.SCHEMA_RELEASES.get(), "the schema is released once read");
                }
            }
            if (refused != null) {
                String m = refused.getMessage();
                assertTrue(m != null && !m.isBlank(), "a refusal without a message");
                int expected = m.contains("nothing released") || m.contains("nothing was imported") ? 0 : 1;
                assertEquals(expected, ForeignArrow.ARRAY_RELEASES.get(), m);
                assertEquals(expected, ForeignArrow.SCHEMA_RELEASES.get(), m);
                if (expected == 0) {
                    // Left as it was: the caller still owns both.
                    dev.panbuf.shim.ArrowShim.releaseArray(array.address());
                    dev.panbuf.shim.ArrowShim.releaseSchema(schema.address());
                }
            } else {
                assertEquals(1, ForeignArrow.ARRAY_RELEASES.get(), "closing the arena releases the array once");
            }
        }
    }

    @SuppressWarnings("unchecked")
    private static List<ImportedColumn> castList(Object o) {
        return (List<ImportedColumn>) o;
    }

    /** Reads the values that lie in the producer's block and compares them with the block's bytes. */
    private static void check(NdArray v) {
        long start = v.address() - DATA.address();
        long size = v.byteSize();
        if (size == 0 || start < 0 || start + size > BLOCK) {
            return;   // the fuzzed producer claimed memory it does not have: nobody can check that
        }
        byte[] got = v.toBytes();
        for (int i = 0; i < got.length; i++) {
            if (got[i] != DATA.get(ValueLayout.JAVA_BYTE, start + i)) {
                fail("byte " + i + " of " + v.describe() + " differs from the producer's memory");
            }
        }
    }

    private static MemorySegment schema(ForeignArrow f, Fuzz.Input in, int depth) {
        int pick = in.u8();
        String format;
        if (pick < 0xE0) {
            format = FORMATS[pick % FORMATS.length];
        } else {
            byte[] raw = new byte[in.below(6)];
            for (int i = 0; i < raw.length; i++) {
                raw[i] = (byte) Math.max(1, in.u8());
            }
            format = new String(raw, StandardCharsets.ISO_8859_1);
        }
        Map<String, String> metadata = null;
        int meta = in.u8();
        if ((meta & 3) == 1) {
            metadata = Map.of("ARROW:extension:name", "arrow.fixed_shape_tensor", "ARROW:extension:metadata",
                    (meta & 4) != 0 ? "{\"shape\":[" + in.below(4) + "," + in.below(4) + "]}" : text(in));
        }
        int children = depth < 2 ? in.below(4) : 0;
        MemorySegment[] kids = new MemorySegment[children];
        for (int i = 0; i < children; i++) {
            kids[i] = schema(f, in, depth + 1);
        }
        return f.schema(format, "c" + depth, metadata, kids);
    }

    private static MemorySegment array(ForeignArrow f, Fuzz.Input in, int depth) {
        long length = in.bit() ? in.below(40) : in.edgy(1);
        long offset = in.bit() ? in.below(40) : in.edgy(1);
        long nulls = in.bit() ? 0 : in.edgy(1);
        int nBuffers = in.below(4);
        MemorySegment[] buffers = new MemorySegment[nBuffers];
        for (int i = 0; i < nBuffers; i++) {
            int b = in.u8();
            buffers[i] = (b & 3) == 0 ? MemorySegment.NULL : DATA.asSlice(b % 64);
        }
        int children = depth < 2 ? in.below(4) : 0;
        MemorySegment[] kids = new MemorySegment[children];
        for (int i = 0; i < children; i++) {
            kids[i] = array(f, in, depth + 1);
        }
        return f.array(length, nulls, offset, buffers, kids);
    }

    private static String text(Fuzz.Input in) {
        StringBuilder b = new StringBuilder();
        int n = in.below(24);
        for (int i = 0; i < n; i++) {
            b.append("{}[],:\"0123456789shape -".charAt(in.below(24)));
        }
        return b.toString();
    }
}
