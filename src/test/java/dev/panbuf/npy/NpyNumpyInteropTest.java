package dev.panbuf.npy;

import dev.panbuf.BufferArena;
import dev.panbuf.DType;
import dev.panbuf.LeakCheck;
import dev.panbuf.NdArray;
import dev.panbuf.Order;
import dev.panbuf.format.NumpyDescr;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.SplittableRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * NumPy is the oracle, on both sides and at test time: /usr/bin/python3
 * writes {@code .npy} files for every dtype panbuf supports, in C and Fortran
 * order and format versions 1.0, 2.0 and 3.0, and panbuf must read (and map)
 * each exactly: header, shape, strides, bytes. Then panbuf writes arrays and
 * views, and NumPy must load them exactly, and its own {@code np.save} of the
 * loaded array must produce the very same bytes as panbuf's file.
 */
@ExtendWith(LeakCheck.class)
class NpyNumpyInteropTest {

    /** Writes one file per case and prints one tab-separated line per case: file, version, str, descr, fortran, shape, strides, hex. */
    private static final String NUMPY_WRITES = """
            import sys, numpy as np, numpy.lib.format as fmt
            out = sys.argv[1]
            rng = np.random.default_rng(20261123)
            scalars = ['|b1', '|i1', '|u1', '<i2', '>i2', '<u2', '>u2', '<i4', '>i4', '<u4', '>u4', '<i8', '>i8',
                       '<u8', '>u8', '<f2', '>f2', '<f4', '>f4', '<f8', '>f8', '|S3', '|V5']
            records = [[('x', '<i4'), ('y', '>f8')],
                       {'names': ['a', 'b'], 'formats': ['u1', '<i8'], 'offsets': [0, 8], 'itemsize': 24},
                       [('p', [('q', '<i2'), ('r', '|b1')]), ('s', '<f4')],
                       [('\\u00e9t\\u00e9', '<i2'), ('\\u03b1', '<f4')]]
            shapes = [(), (0,), (7,), (3, 4), (2, 3, 4), (4, 0, 2)]
            n = 0
            for spec in scalars + records:
                dt = np.dtype(spec)
                for shape in shapes:
                    for order in 'CF':
                        for version in [(1, 0), (2, 0), (3, 0)]:
                            if version != (3, 0) and any(ord(c) > 255 for c in repr(fmt.dtype_to_descr(dt))):
                                continue  # 1.0 and 2.0 headers must be latin-1
                            count = int(np.prod(shape))
                            raw = rng.integers(0, 256, size=count * dt.itemsize, dtype=np.uint8)
                            if dt.kind == 'b':
                                raw &= 1
                            a = np.frombuffer(raw.tobytes(), dtype=dt, count=count).reshape(shape)
                            a = np.array(a, order=order)  # (ascontiguousarray would make 0-d arrays 1-d)
                            path = '%s/n%d.npy' % (out, n)
                            with open(path, 'wb') as f:
                                fmt.write_array(f, a, version=version)
                            b = np.load(path, mmap_mode='r')  # np.load without mmap gives strides (0,) for shape (0,)
                            fortran = bool(b.flags.f_contiguous and not b.flags.c_contiguous)
                            print('\t'.join([path, '%d.%d' % version, dt.str, repr(fmt.dtype_to_descr(dt)).encode('unicode_escape').decode('ascii'),
                                            str(fortran), ','.join(map(str, b.shape)), ','.join(map(str, b.strides)),
                                            b.tobytes(order='C').hex()]))
                            n += 1
            """;

    /** For each line "file|hexC|expectVersion": np.load must give the bytes, np.save must give the same file. */
    private static final String NUMPY_CHECKS = """
            import sys, io, numpy as np
            bad = []
            for line in open(sys.argv[1], encoding='utf-8'):
                path, hex_c, shape, version = line.rstrip('\\n').split('|')
                data = open(path, 'rb').read()
                a = np.load(path, max_header_size=10**7)
                m = np.load(path, mmap_mode='r', max_header_size=10**7)
                buf = io.BytesIO()
                np.save(buf, a)
                want_shape = tuple(int(x) for x in shape.split(',') if x)
                problems = []
                if a.tobytes(order='C').hex() != hex_c: problems.append('contents differ')
                if a.shape != want_shape: problems.append('shape %r != %r' % (a.shape, want_shape))
                if buf.getvalue() != data: problems.append('np.save writes different bytes: %r vs %r' % (buf.getvalue()[:200], data[:200]))
                if '%d.%d' % (data[6], data[7]) != version: problems.append('version %d.%d, expected %s' % (data[6], data[7], version))
                if m.tobytes() != a.tobytes() or (a.size and m.strides != a.strides): problems.append('mmap load differs')
                if problems: bad.append(path + ': ' + '; '.join(problems))
            print('\\n'.join(bad) if bad else 'OK')
            """;

    @Test
    void panbufReadsAndMapsEveryFileNumpyWrites(@TempDir Path dir) throws Exception {
        String out = PythonProcess.run(NUMPY_WRITES, dir.toString());
        List<String> lines = out.lines().toList();
        assertTrue(lines.size() > 700, "NumPy wrote " + lines.size() + " cases");
        List<String> failures = new ArrayList<>();
        int versions3 = 0;
        for (String line : lines) {
            String[] f = line.split("\t", -1);
            Path file = Path.of(f[0]);
            // NumPy's S<n> (NUL-padded bytes) reads as panbuf's uninterpreted bytes, which panbuf spells |V<n>
            String descr = unescape(f[3]).replace("'|S", "'|V");
            f[2] = f[2].replace("|S", "|V");
            long[] shape = longs(f[5]);
            long[] strides = longs(f[6]);
            byte[] bytes = HexFormat.of().parseHex(f[7]);
            try {
                NpyHeader h = Npy.readHeader(file);
                check(failures, line, "version", f[1], h.majorVersion() + "." + h.minorVersion());
                check(failures, line, "descr", descr, NumpyDescr.descr(h.dtype()));
                if (!h.dtype().isRecord()) {
                    check(failures, line, "str", f[2], h.dtype().str());
                }
                check(failures, line, "fortran_order", f[4], h.fortranOrder() ? "True" : "False");
                versions3 += h.majorVersion() == 3 ? 1 : 0;
                try (Arena arena = Arena.ofConfined()) {
                    NdArray read = Npy.read(file, arena);
                    NdArray mapped = Npy.map(file, arena, Npy.MapMode.READ_ONLY);
                    NdArray streamed;
                    try (InputStream in = Files.newInputStream(file)) {
                        streamed = Npy.read(in, arena);
                    }
                    for (NdArray a : new NdArray[] {read, mapped, streamed}) {
                        check(failures, line, "shape", Arrays.toString(shape), Arrays.toString(a.shape()));
                        check(failures, line, "strides", Arrays.toString(strides), Arrays.toString(a.byteStrides()));
                        check(failures, line, "bytes", HexFormat.of().formatHex(bytes), HexFormat.of().formatHex(a.toBytes()));
                    }
                    check(failures, line, "mapped read-only", "true", String.valueOf(mapped.isReadOnly()));
                }
            } catch (Exception e) {
                failures.add(line.substring(0, Math.min(120, line.length())) + ": " + e);
            }
        }
        assertTrue(versions3 > 100, "version 3.0 files read: " + versions3);
        assertTrue(failures.isEmpty(), failures.size() + " failures, first: " + failures.subList(0, Math.min(10, failures.size())));
    }

    @Test
    void numpyReadsEveryFilePanbufWritesByteForByte(@TempDir Path dir) throws Exception {
        SplittableRandom rnd = new SplittableRandom(20261124L);
        List<DType> dtypes = new ArrayList<>();
        for (String s : new String[] {"|b1", "|i1", "|u1", "<i2", ">i2", "<u2", ">u2", "<i4", ">i4", "<u4", ">u4", "<i8",
            ">i8", "<u8", ">u8", "<f2", ">f2", "<f4", ">f4", "<f8", ">f8", "|V3"}) {
            dtypes.add(DType.parse(s));
        }
        dtypes.add(NumpyDescr.parseDescr("[('x', '<i4'), ('', '|V4'), ('y', '>f8')]"));
        dtypes.add(NumpyDescr.parseDescr("[('p', [('q', '<i2'), ('r', '|b1')]), ('s', '<f4')]"));
        dtypes.add(NumpyDescr.parseDescr("[('\u03b1', '<f4'), ('\u6570', '<i2')]"));   // not latin-1: version 3.0
        List<String> manifest = new ArrayList<>();
        int n = 0;
        try (BufferArena arena = BufferArena.ofConfined()) {
            for (DType dt : dtypes) {
                for (long[] shape : new long[][] {{}, {0}, {5}, {3, 4}, {2, 3, 4}, {3, 0, 2}}) {
                    NdArray base = random(arena, dt, Order.C, shape, rnd);
                    List<NdArray> views = new ArrayList<>(List.of(base, random(arena, dt, Order.F, shape, rnd)));
                    if (shape.length >= 2) {
                        views.add(base.transpose());
                        views.add(base.get("::-1, ::2"));
                    }
                    if (shape.length == 1 && shape[0] > 0) {
                        views.add(base.get("::-2"));
                    }
                    for (NdArray v : views) {
                        Path file = dir.resolve("p" + n++ + ".npy");
                        Npy.write(file, v);
                        String version = NpyHeaderTest.versionOf(Files.readAllBytes(file));
                        manifest.add(file + "|" + HexFormat.of().formatHex(v.toBytes()) + "|" + join(v.shape()) + "|"
                                + version);
                        // and panbuf reads its own file back exactly
                        NdArray back = Npy.read(file, arena);
                        assertEquals(v, back, v.describe());
                        assertArrayEquals(v.toBytes(), back.toBytes(), v.describe());
                    }
                }
            }
            // A header longer than 65535 bytes needs format version 2.0.
            List<DType.Field> many = new ArrayList<>();
            for (int i = 0; i < 3000; i++) {
                many.add(new DType.Field("a_rather_long_field_name_" + i, DType.INT8, i));
            }
            DType wide = DType.record(many, 3000);
            Path file = dir.resolve("wide.npy");
            NdArray w = random(arena, wide, Order.C, new long[] {2}, rnd);
            Npy.write(file, w);
            assertEquals("2.0", NpyHeaderTest.versionOf(Files.readAllBytes(file)));
            manifest.add(file + "|" + HexFormat.of().formatHex(w.toBytes()) + "|2|2.0");
        }
        Path list = dir.resolve("manifest.txt");
        Files.write(list, manifest);
        String verdict = PythonProcess.run(NUMPY_CHECKS, list.toString());
        assertEquals("OK", verdict.strip(), verdict);
        assertTrue(manifest.stream().anyMatch(l -> l.endsWith("|3.0")), "a version 3.0 file was written");
    }

    @Test
    void streamsRoundTripAndStopAfterTheirData() throws Exception {
        try (Arena arena = Arena.ofConfined()) {
            NdArray a = NdArray.allocate(arena, DType.parse(">i4"), 2, 3);
            for (int i = 0; i < 6; i++) {
                a.setInt(i * 1000, i / 3, i % 3);
            }
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            Npy.write(out, a);
            Npy.write(out, a.transpose());
            InputStream in = new ByteArrayInputStream(out.toByteArray());
            NdArray first = Npy.read(in, arena);
            NdArray second = Npy.read(in, arena);
            assertEquals(a, first);
            assertEquals(a.transpose(), second);
            assertEquals(ByteOrder.BIG_ENDIAN, first.dtype().byteOrder());
            assertTrue(second.isContiguous(Order.F));
            assertEquals(-1, in.read());
        }
    }

    static NdArray random(Arena arena, DType dt, Order order, long[] shape, SplittableRandom rnd) {
        NdArray a = NdArray.allocate(arena, dt, order, shape);
        byte[] bytes = new byte[(int) a.byteSize()];
        for (int i = 0; i < bytes.length; i++) {
            bytes[i] = (byte) rnd.nextInt(256);
        }
        if (dt.kind() == DType.Kind.BOOL) {
            for (int i = 0; i < bytes.length; i++) {
                bytes[i] &= 1;
            }
        }
        java.lang.foreign.MemorySegment.copy(bytes, 0, a.segment(), java.lang.foreign.ValueLayout.JAVA_BYTE, 0, bytes.length);
        return a;
    }

    private static void check(List<String> failures, String line, String what, String expected, String actual) {
        if (!expected.equals(actual)) {
            failures.add(line.substring(0, Math.min(100, line.length())) + ": " + what + " expected " + expected
                    + " but panbuf has " + actual);
        }
    }

    private static long[] longs(String csv) {
        return csv.isEmpty() ? new long[0] : Arrays.stream(csv.split(",")).mapToLong(Long::parseLong).toArray();
    }

    private static String join(long[] a) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < a.length; i++) {
            b.append(i > 0 ? "," : "").append(a[i]);
        }
        return b.toString();
    }

    private static final Pattern ESCAPE = Pattern.compile("\\\\(u[0-9a-fA-F]{4}|x[0-9a-fA-F]{2}|\\\\)");

    /** Undoes Python's unicode_escape for what descr reprs contain. */
    private static String unescape(String s) {
        Matcher m = ESCAPE.matcher(s);
        StringBuilder out = new StringBuilder();
        while (m.find()) {
            String g = m.group(1);
            String rep = g.equals("\\") ? "\\" : String.valueOf((char) Integer.parseInt(g.substring(1), 16));
            m.appendReplacement(out, Matcher.quoteReplacement(rep));
        }
        m.appendTail(out);
        return out.toString();
    }
}
