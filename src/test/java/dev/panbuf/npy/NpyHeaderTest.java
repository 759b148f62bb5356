package dev.panbuf.npy;

import dev.panbuf.BufferArena;
import dev.panbuf.DType;
import dev.panbuf.Export;
import dev.panbuf.LeakCheck;
import dev.panbuf.LiveExportsException;
import dev.panbuf.NdArray;
import dev.panbuf.Order;
import dev.panbuf.format.NumpyDescr;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The {@code .npy} header: what panbuf writes (exactly NumPy's bytes for
 * known headers), every malformed input refused with the reason and the
 * byte position (and nothing mapped), seeded random headers that round-trip,
 * and seeded random corruptions that are refused cleanly, never with another
 * exception.
 */
@ExtendWith(LeakCheck.class)
class NpyHeaderTest {

    static String versionOf(byte[] file) {
        return file[6] + "." + file[7];
    }

    /** A v1.0 file whose header text is {@code text} (padded as NumPy pads), then {@code data}. */
    static byte[] v1(String text, byte[] data) {
        byte[] body = text.getBytes(StandardCharsets.ISO_8859_1);
        int hlen = body.length + 1;
        int pad = 64 - ((10 + hlen) % 64);
        byte[] out = new byte[10 + hlen + pad + data.length];
        out[0] = (byte) 0x93;
        System.arraycopy("NUMPY".getBytes(StandardCharsets.US_ASCII), 0, out, 1, 5);
        out[6] = 1;
        out[7] = 0;
        out[8] = (byte) (hlen + pad);
        out[9] = (byte) ((hlen + pad) >> 8);
        System.arraycopy(body, 0, out, 10, body.length);
        Arrays.fill(out, 10 + body.length, 10 + hlen + pad - 1, (byte) ' ');
        out[10 + hlen + pad - 1] = '\n';
        System.arraycopy(data, 0, out, 10 + hlen + pad, data.length);
        return out;
    }

    @Test
    void writesExactlyTheHeaderNumpyWrites() {
        // np.save(f, np.zeros((3, 4), '<f8')): 128 bytes; the text, then spaces, then '\n'
        NpyHeader h = NpyHeader.of(DType.parse("<f8"), false, 3, 4);
        byte[] b = h.encode();
        assertEquals(128, b.length);
        assertEquals(128, h.dataOffset());
        String text = new String(b, 10, b.length - 10, StandardCharsets.ISO_8859_1);
        // np.save(io.BytesIO(), np.zeros((3, 4))) with /usr/bin/python3 and NumPy 1.24:
        assertEquals("{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }" + " ".repeat(58) + "\n", text);
        assertTrue(text.endsWith(" \n"));
        assertEquals(118, b[8] & 0xFF);
        // a 0-d array has no growth-axis padding; (5,) is written "(5,)"
        assertTrue(NpyHeader.of(DType.parse("|b1"), false).text().equals("{'descr': '|b1', 'fortran_order': False, 'shape': (), }"));
        assertTrue(NpyHeader.of(DType.parse(">i2"), true, 5, 2).text().startsWith("{'descr': '>i2', 'fortran_order': True, 'shape': (5, 2), }"));
        // aligned already: NumPy adds a whole 64 bytes of padding rather than none
        for (int extra = 0; extra < 200; extra++) {
            long[] shape = {1L + extra * 997L};
            NpyHeader k = NpyHeader.of(DType.INT8, false, shape);
            assertEquals(0, k.dataOffset() % 64);
            byte[] e = k.encode();
            int padding = 0;
            for (int i = e.length - 2; e[i] == ' '; i--) {
                padding++;
            }
            assertTrue(padding >= 1, "at least one space before the newline");
        }
    }

    @Test
    void malformedFilesAreRefusedWithReasonAndPosition(@TempDir Path dir) throws IOException {
        String ok = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }";
        byte[] data8 = new byte[8];
        record Case(String name, byte[] file, String message, long offset) {}
        List<Case> cases = new ArrayList<>();
        byte[] good = v1(ok, data8);
        byte[] badMagic = good.clone();
        badMagic[3] = 'X';
        cases.add(new Case("bad magic", badMagic, "not a .npy file", 3));
        cases.add(new Case("empty", new byte[0], "not a .npy file", 0));
        byte[] v4 = good.clone();
        v4[6] = 4;
        cases.add(new Case("unknown major version", v4, "unknown .npy format version 4.0", 6));
        byte[] v11 = good.clone();
        v11[7] = 1;
        cases.add(new Case("unknown minor version", v11, "unknown .npy format version 1.1", 6));
        cases.add(new Case("truncated in the version", Arrays.copyOf(good, 7), "before the format version", 7));
        cases.add(new Case("truncated in the length", Arrays.copyOf(good, 9), "header length", 9));
        cases.add(new Case("truncated header", Arrays.copyOf(good, 40), "header ends at byte 128", 40));
        byte[] shortLen = good.clone();
        shortLen[8] = 20;   // the header is cut in the middle of the dict
        cases.add(new Case("header length too short", shortLen, "unterminated string literal", 10 + 17));
        byte[] longLen = v1(ok, new byte[200]);
        longLen[8] = (byte) 150;   // the header runs into the data bytes (zeros at byte 128)
        cases.add(new Case("header length too long", longLen, "after the end of the literal", 128));
        cases.add(new Case("not a dict", v1("[('descr', '<f4')]", data8), "not a dict literal but a list", 10));
        cases.add(new Case("not a literal", v1("dict(descr='<f4')", data8), "unexpected name 'dict'", 10));
        cases.add(new Case("missing key", v1("{'descr': '<f4', 'shape': (2,), }", data8), "no 'fortran_order' key", 10 + 32));
        cases.add(new Case("extra key", v1("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}", data8),
                "unexpected key 'x'", 10 + 56));
        cases.add(new Case("duplicate key", v1("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2,)}", data8),
                "duplicate key 'descr'", 10 + 17));
        cases.add(new Case("negative dimension", v1("{'descr': '<f4', 'fortran_order': False, 'shape': (2, -3)}", data8),
                "dimension 1 of 'shape' is negative (-3)", 10 + 54));
        cases.add(new Case("dimension beyond a long", v1("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,)}",
                data8), "overflows a long", 10 + 51));
        cases.add(new Case("size overflows", v1("{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296)}",
                data8), "too large", 10 + 50));
        cases.add(new Case("shape not a tuple", v1("{'descr': '<f4', 'fortran_order': False, 'shape': [2]}", data8),
                "'shape' must be a tuple of ints, found a list", 10 + 50));
        cases.add(new Case("fortran_order not a bool", v1("{'descr': '<f4', 'fortran_order': 0, 'shape': (2,)}", data8),
                "'fortran_order' must be True or False", 10 + 34));
        cases.add(new Case("complex dtype", v1("{'descr': '<c8', 'fortran_order': False, 'shape': (1,)}", data8),
                "'descr' is not a dtype panbuf supports", 10 + 12));
        cases.add(new Case("object dtype", v1("{'descr': '|O', 'fortran_order': False, 'shape': (1,)}", data8),
                "'descr' is not a dtype panbuf supports", 10 + 12));
        cases.add(new Case("unicode dtype", v1("{'descr': '<U3', 'fortran_order': False, 'shape': (1,)}", data8),
                "'descr' is not a dtype panbuf supports", 10 + 12));
        cases.add(new Case("data shorter than the header says", v1("{'descr': '<f8', 'fortran_order': False, 'shape': (2,)}",
                new byte[15]), "needs 16 data bytes from byte 128", 128 + 15));
        cases.add(new Case("comment", v1("{'descr': '<f4', 'fortran_order': False, 'shape': (2,)} # hi", data8),
                "comments are not allowed", 10 + 56));
        cases.add(new Case("unterminated string", v1("{'descr': '<f4, 'fortran_order': False, 'shape': (2,)}", data8),
                "unexpected 'f' in a dict", 10 + 17));
        cases.add(new Case("deep nesting", v1("{'descr': " + "[".repeat(5000) + "]".repeat(5000)
                + ", 'fortran_order': False, 'shape': (2,)}", data8), "nested deeper than", -1));
        for (Case c : cases) {
            Path file = dir.resolve("bad.npy");
            Files.write(file, c.file);
            long size = Files.size(file);
            for (int how = 0; how < 4; how++) {
                int mode = how;
                NpyFormatException e = assertThrows(NpyFormatException.class, () -> {
                    try (Arena arena = Arena.ofConfined()) {
                        switch (mode) {
                            case 0 -> Npy.read(file, arena);
                            case 1 -> Npy.map(file, arena, Npy.MapMode.READ_WRITE);
                            case 2 -> Npy.read(new ByteArrayInputStream(c.file), arena);
                            default -> Npy.readHeader(file);
                        }
                    }
                }, c.name);
                assertTrue(e.getMessage().contains(c.message), c.name + ": " + e.getMessage());
                assertTrue(e.getMessage().contains("(at byte " + e.byteOffset() + ")"), e.getMessage());
                if (c.offset >= 0) {
                    assertEquals(c.offset, e.byteOffset(), c.name + " (mode " + mode + "): " + e.getMessage());
                }
            }
            assertEquals(size, Files.size(file), c.name + ": a refused read-write mapping must not grow the file");
        }
    }

    @Test
    void acceptsWhatPythonsLiteralSyntaxAllowsInHeaders() throws IOException {
        String[] texts = {
            "{\"descr\": \"<i2\", \"fortran_order\": False, \"shape\": (3,)}",                 // double quotes, no trailing comma
            "{'descr':'<i2','fortran_order':False,'shape':(3,),}",                           // no spaces
            "{ 'shape' : ( 3 , ) , 'fortran_order' : False , 'descr' : u'<' 'i2' }",         // order, prefix, concatenation
            "{'descr': '<i2', 'fortran_order': False, 'shape': (3L,)}",                      // Python 2 long (version 1.0)
            "{'descr': '\\x3ci2', 'fortran_order': False, 'shape': (0x3,)}",                 // escapes, hex int
            "{'descr': [('a', '<i2')], 'fortran_order': False, 'shape': (+3,)}\n\n",         // a record of one field
        };
        for (String t : texts) {
            try (Arena arena = Arena.ofConfined()) {
                NdArray a = Npy.read(new ByteArrayInputStream(v1(t, new byte[6])), arena);
                assertArrayEquals(new long[] {3}, a.shape(), t);
                assertEquals(2, a.dtype().byteSize(), t);
            }
        }
    }

    @Test
    void randomHeadersRoundTripAndCorruptionsAreRefusedCleanly() throws IOException {
        SplittableRandom rnd = new SplittableRandom(20261125L);
        String[] types = {"|b1", "|i1", "|u1", "<i2", ">u2", "<i4", ">f4", "<f8", ">f8", "<f2", "|V7",
            "[('x', '<i4'), ('y', '>f8')]", "[('\u00e9', '<i2'), ('', '|V2'), ('z', '|u1')]", "[('\u6570', '<f4')]"};
        int refused = 0;
        for (int round = 0; round < 3000; round++) {
            String type = types[rnd.nextInt(types.length)];
            DType dt = NumpyDescr.parseDescr(type.startsWith("[") ? type : "'" + type + "'");
            int ndim = rnd.nextInt(5);
            long[] shape = new long[ndim];
            for (int k = 0; k < ndim; k++) {
                shape[k] = rnd.nextInt(4) == 0 ? 0 : rnd.nextLong(1, 1L << rnd.nextInt(1, 20));
            }
            NpyHeader h;
            try {
                h = NpyHeader.of(dt, rnd.nextBoolean(), shape);
            } catch (IllegalArgumentException tooLarge) {
                continue;
            }
            byte[] enc = h.encode();
            assertEquals(0, enc.length % 64);
            NpyHeader back = parse(enc);
            assertEquals(h, back);
            // corrupt: cut, flip a byte, or overwrite a header byte with a random character
            byte[] bad = enc.clone();
            switch (rnd.nextInt(3)) {
                case 0 -> bad = Arrays.copyOf(bad, rnd.nextInt(bad.length));
                case 1 -> bad[rnd.nextInt(bad.length)] ^= (byte) (1 << rnd.nextInt(8));
                default -> bad[rnd.nextInt(bad.length)] = (byte) "{}[](),:'\"L0-9#\\ \nx".charAt(rnd.nextInt(19));
            }
            try {
                parse(bad);
            } catch (NpyFormatException e) {
                refused++;
                assertTrue(e.byteOffset() >= 0 && e.byteOffset() <= bad.length + Math.max(0, h.dataBytes()),
                        e.getMessage());
            }
        }
        assertTrue(refused > 1000, "corruptions refused: " + refused);
    }

    /** Header only (no data check). */
    private static NpyHeader parse(byte[] file) throws NpyFormatException {
        int[] p = NpyHeader.readPrefix(file, Math.min(file.length, 12), file.length);
        return NpyHeader.parse(Arrays.copyOfRange(file, p[2], p[2] + p[3]), p[0], p[1], p[2]);
    }

    @Test
    void mappingModesBehaveAsNumpysMmapModes(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("m.npy");
        try (Arena arena = Arena.ofConfined()) {
            NdArray a = NdArray.allocate(arena, DType.FLOAT32, Order.F, 3, 4);
            for (int i = 0; i < 12; i++) {
                a.setFloat(i, i % 3, i / 3);
            }
            Npy.write(file, a);
        }
        byte[] original = Files.readAllBytes(file);
        try (Arena arena = Arena.ofConfined()) {
            NdArray r = Npy.map(file, arena, Npy.MapMode.READ_ONLY);
            assertTrue(r.isReadOnly());
            assertArrayEquals(new long[] {4, 12}, r.byteStrides(), "Fortran order gives an F-strided view");
            assertThrows(RuntimeException.class, () -> r.setFloat(1f, 0, 0));
            NdArray c = Npy.map(file, arena, Npy.MapMode.COPY_ON_WRITE);
            c.setFloat(-1f, 0, 0);
            assertEquals(0f, r.getFloat(0, 0), "copy-on-write changes are private");
            NdArray w = Npy.map(file, arena, Npy.MapMode.READ_WRITE);
            w.setFloat(42f, 2, 3);
            assertEquals(42f, r.getFloat(2, 3), "a shared mapping sees the write");
        }
        byte[] after = Files.readAllBytes(file);
        assertEquals(original.length, after.length);
        try (Arena arena = Arena.ofConfined()) {
            assertEquals(42f, Npy.read(file, arena).getFloat(2, 3), "read-write mapping wrote the file");
        }
        Arena arena = Arena.ofConfined();
        NdArray closedLater = Npy.map(file, arena, Npy.MapMode.READ_ONLY);
        arena.close();   // unmaps: the view throws instead of reading unmapped memory
        assertThrows(IllegalStateException.class, () -> closedLater.getFloat(0, 0));
    }

    @Test
    void aMappingExportedToCPinsItsArena(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("p.npy");
        NdArray created;
        try (BufferArena arena = BufferArena.ofConfined()) {
            created = Npy.create(file, DType.INT64, Order.C, arena, 4, 5);
            created.setLong(7, 3, 4);
            Export e = created.export();
            assertThrows(LiveExportsException.class, arena::close);
            assertFalse(arena.isClosed());
            assertEquals(7, created.getLong(3, 4));
            e.close();
        }
        assertThrows(IllegalStateException.class, () -> created.getLong(0, 0));
        try (Arena arena = Arena.ofConfined()) {
            NdArray back = Npy.read(file, arena);
            assertEquals(7, back.getLong(3, 4));
            assertEquals(4 * 5 * 8 + 128, Files.size(file));
        }
    }
}
