package dev.panbuf;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * NumPy decides how an array prints: seeded random arrays (every dtype panbuf
 * has, both byte orders, records with packed, padded and reordered fields and
 * nested records, 0-d to 4-d shapes including empty and summarized ones,
 * transposed and reversed views, and values from small integers through
 * decimals, subnormals, huge magnitudes, infinities, NaN and -0.0) are printed
 * by {@link NdArray#toString()} and by NumPy's {@code repr}
 * ({@code src/test/python/print_oracle.py}), and the two texts must be equal,
 * character for character.
 *
 * <p>NumPy: the interpreter named by {@code -Dpanbuf.numpy2.python} (default
 * {@code python3} on the PATH) with NumPy 2.3 or newer. Other seeds and counts:
 * {@code -Dpanbuf.print.seed=N -Dpanbuf.print.cases=K}.
 */
class PrintOracleTest {

    private static final String PYTHON = System.getProperty("panbuf.numpy2.python", "python3");
    private static final Path ORACLE = Path.of("src/test/python/print_oracle.py");
    private static final long SEED = Long.getLong("panbuf.print.seed", 20261202L);
    private static final int CASES = Integer.getInteger("panbuf.print.cases", 2000);

    private static final String[] SCALARS = {"|b1", "|i1", "|u1", "<i2", ">i2", "<u2", ">u2", "<i4", ">i4", "<u4", ">u4",
        "<i8", ">i8", "<u8", ">u8", "<f2", ">f2", "<f4", ">f4", "<f8", ">f8"};

    /** One generated array: its dtype as NumPy reads it, and the view panbuf prints. */
    private record Case(String dtypeJson, NdArray view, String recipe) {}

    @Test
    void everyGeneratedArrayPrintsAsNumPyPrintsIt() throws IOException, InterruptedException {
        Random rnd = new Random(SEED);
        List<Case> cases = new ArrayList<>(CASES);
        for (int i = 0; i < CASES; i++) {
            cases.add(generate(rnd, i));
        }
        StringBuilder input = new StringBuilder();
        for (Case c : cases) {
            byte[] bytes = c.view().toBytes();
            input.append(c.dtypeJson()).append('\t').append(shapeJson(c.view().shape())).append('\t')
                    .append(bytes.length == 0 ? "-" : HexFormat.of().formatHex(bytes)).append('\n');
        }
        List<String> out = runNumpy(input.toString());
        String version = out.getFirst().substring("numpy ".length());
        int[] v = java.util.Arrays.stream(version.split("\\.")).limit(2).mapToInt(s -> Integer.parseInt(s.replaceAll("\\D.*", ""))).toArray();
        Peers.require(v[0] > 2 || (v[0] == 2 && v[1] >= 3), () -> "NumPy " + version + " at " + PYTHON
                + " is older than 2.3, whose printing panbuf follows (set -Dpanbuf.numpy2.python to a python3 with NumPy 2.3+)");
        assertEquals(cases.size() + 1, out.size(), "NumPy answered " + (out.size() - 1) + " of " + cases.size() + " cases");
        int disagreements = 0;
        StringBuilder report = new StringBuilder();
        int scientific = 0;
        int summarized = 0;
        int empty = 0;
        int records = 0;
        for (int i = 0; i < cases.size(); i++) {
            Case c = cases.get(i);
            String answer = out.get(i + 1);
            if (!answer.startsWith("ok ")) {
                fail("NumPy could not build case " + i + " (" + c.recipe() + ", dtype " + c.dtypeJson() + "): " + answer);
            }
            String expected = new String(HexFormat.of().parseHex(answer.substring(3)), StandardCharsets.UTF_8);
            String actual = c.view().toString();
            scientific += expected.contains("e+") || expected.contains("e-") ? 1 : 0;
            summarized += expected.contains("...") ? 1 : 0;
            empty += c.view().elementCount() == 0 ? 1 : 0;
            records += c.view().dtype().isRecord() ? 1 : 0;
            if (!expected.equals(actual)) {
                if (++disagreements <= 5) {
                    report.append("\ncase ").append(i).append(" (").append(c.recipe()).append(", dtype ").append(c.dtypeJson())
                            .append(")\nNumPy:\n").append(expected).append("\npanbuf:\n").append(actual).append('\n');
                }
            }
        }
        System.out.printf("PrintOracleTest: %d arrays (seed %d; %d in scientific notation, %d summarized, %d empty, %d records),"
                + " %d disagreements, NumPy %s%n", cases.size(), SEED, scientific, summarized, empty, records, disagreements, version);
        assertTrue(scientific > CASES / 20 && summarized > CASES / 50 && empty > CASES / 50 && records > CASES / 10,
                "the generator no longer covers every kind of case");
        assertEquals(0, disagreements, disagreements + " of " + cases.size() + " arrays print differently:" + report);
    }

    // ------------------------------------------------------------------ the generator

    private static Case generate(Random rnd, int n) {
        StringBuilder recipe = new StringBuilder();
        DType dtype;
        String dtypeJson;
        if (rnd.nextInt(5) == 0) {
            Object[] r = record(rnd, rnd.nextInt(4) == 0 ? 1 : 0);
            dtype = (DType) r[0];
            dtypeJson = (String) r[1];
        } else if (rnd.nextInt(12) == 0) {
            int size = 1 + rnd.nextInt(4);
            dtype = DType.parse("|V" + size);
            dtypeJson = "\"|V" + size + "\"";
        } else {
            String s = SCALARS[rnd.nextInt(SCALARS.length)];
            dtype = DType.parse(s);
            dtypeJson = "\"" + s + "\"";
        }
        long[] shape = shape(rnd);
        long count = 1;
        for (long d : shape) {
            count *= d;
        }
        int style = rnd.nextInt(7);
        byte[] bytes = new byte[(int) (count * dtype.byteSize())];
        for (long i = 0; i < count; i++) {
            fill(rnd, dtype, style, bytes, (int) (i * dtype.byteSize()));
        }
        NdArray view = NdArray.of(MemorySegment.ofArray(bytes), dtype, shape);
        recipe.append("case ").append(n).append(", shape ").append(Errors.shape(shape)).append(", values style ").append(style);
        if (view.ndim() >= 2 && rnd.nextInt(4) == 0) {
            view = view.transpose();
            recipe.append(", transposed");
        } else if (view.ndim() >= 1 && view.shape(0) > 1 && rnd.nextInt(4) == 0) {
            view = view.get("::-1");
            recipe.append(", reversed");
        }
        return new Case(dtypeJson, view, recipe.toString());
    }

    private static long[] shape(Random rnd) {
        return switch (rnd.nextInt(20)) {
            case 0 -> new long[] {1001 + rnd.nextInt(600)};
            case 1 -> new long[] {30 + rnd.nextInt(20), 30 + rnd.nextInt(20)};
            case 2 -> new long[] {2, 3, 170 + rnd.nextInt(60)};
            case 3 -> new long[0];
            case 4 -> new long[] {rnd.nextInt(3), 0, 1 + rnd.nextInt(3)};
            case 5 -> new long[] {0};
            case 6 -> new long[] {1 + rnd.nextInt(40)};
            default -> {
                long[] s = new long[1 + rnd.nextInt(4)];
                for (int i = 0; i < s.length; i++) {
                    s[i] = 1 + rnd.nextInt(s.length >= 3 ? 3 : 7);
                }
                yield s;
            }
        };
    }

    /** A record of 1 to 3 fields, in or out of offset order, packed or padded; one level of nesting at most. */
    private static Object[] record(Random rnd, int depth) {
        int n = 1 + rnd.nextInt(3);
        String[] names = {"x", "y", "z"};
        List<DType> types = new ArrayList<>();
        List<String> typeJson = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            if (depth > 0 && rnd.nextInt(3) == 0) {
                Object[] inner = record(rnd, depth - 1);
                types.add((DType) inner[0]);
                typeJson.add((String) inner[1]);
            } else if (rnd.nextInt(10) == 0) {
                int size = 1 + rnd.nextInt(3);
                types.add(DType.parse("|V" + size));
                typeJson.add("\"|V" + size + "\"");
            } else {
                String s = SCALARS[rnd.nextInt(SCALARS.length)];
                types.add(DType.parse(s));
                typeJson.add("\"" + s + "\"");
            }
        }
        // Place the fields: in name order or reversed, with or without gaps.
        boolean reversed = rnd.nextInt(4) == 0;
        boolean gaps = rnd.nextInt(3) == 0;
        long[] offsets = new long[n];
        long at = 0;
        for (int k = 0; k < n; k++) {
            int i = reversed ? n - 1 - k : k;
            at += gaps ? rnd.nextInt(4) : 0;
            offsets[i] = at;
            at += types.get(i).byteSize();
        }
        long itemSize = at + (gaps ? rnd.nextInt(3) : 0);
        List<DType.Field> fields = new ArrayList<>();
        StringBuilder json = new StringBuilder("{\"names\": [");
        for (int i = 0; i < n; i++) {
            fields.add(new DType.Field(names[i], types.get(i), offsets[i]));
            json.append(i == 0 ? "" : ", ").append('"').append(names[i]).append('"');
        }
        json.append("], \"formats\": [").append(String.join(", ", typeJson)).append("], \"offsets\": [");
        for (int i = 0; i < n; i++) {
            json.append(i == 0 ? "" : ", ").append(offsets[i]);
        }
        json.append("], \"itemsize\": ").append(itemSize).append('}');
        return new Object[] {DType.record(fields, itemSize), json.toString()};
    }

    /** Writes one element of {@code dtype} at {@code at}, its values drawn in the array's style. */
    private static void fill(Random rnd, DType dtype, int style, byte[] out, int at) {
        switch (dtype.kind()) {
            case BOOL -> out[at] = (byte) rnd.nextInt(2);
            case BYTES -> {
                for (int i = 0; i < dtype.byteSize(); i++) {
                    out[at + i] = (byte) rnd.nextInt(256);
                }
            }
            case RECORD -> {
                for (int i = 0; i < dtype.byteSize(); i++) {
                    out[at + i] = (byte) rnd.nextInt(256);   // padding stays random: NumPy never prints it
                }
                for (DType.Field f : dtype.fields()) {
                    fill(rnd, f.dtype(), style, out, at + (int) f.byteOffset());
                }
            }
            case SIGNED, UNSIGNED -> {
                long v = switch (style % 3) {
                    case 0 -> rnd.nextInt(41) - (dtype.kind() == DType.Kind.SIGNED ? 20 : 0);
                    case 1 -> rnd.nextLong();
                    default -> rnd.nextBoolean() ? -1L : (1L << (dtype.byteSize() * 8 - 1)) - (rnd.nextInt(2));
                };
                put(out, at, dtype, v);
            }
            case FLOAT -> {
                double v = floatValue(rnd, style);
                long bits = switch ((int) dtype.byteSize()) {
                    case 2 -> rnd.nextInt(12) == 0 ? rnd.nextInt(1 << 16) : Float.floatToFloat16((float) v) & 0xFFFF;
                    case 4 -> rnd.nextInt(12) == 0 ? rnd.nextInt() & 0xFFFFFFFFL : Float.floatToRawIntBits((float) v) & 0xFFFFFFFFL;
                    default -> rnd.nextInt(12) == 0 ? rnd.nextLong() : Double.doubleToRawLongBits(v);
                };
                put(out, at, dtype, bits);
            }
        }
    }

    private static double floatValue(Random rnd, int style) {
        return switch (style) {
            case 0 -> rnd.nextInt(41) - 20;                                  // integral: "1."
            case 1 -> (rnd.nextInt(801) - 400) / 8.0;                        // exact binary fractions
            case 2 -> (rnd.nextInt(20001) - 10000) / 1000.0;                 // decimals that binary cannot hold
            case 3 -> Math.pow(10, rnd.nextInt(30) - 15) * (rnd.nextDouble() * 9 + 1) * (rnd.nextBoolean() ? 1 : -1);
            case 4 -> switch (rnd.nextInt(8)) {                               // specials among ordinary values
                case 0 -> Double.NaN;
                case 1 -> Double.POSITIVE_INFINITY;
                case 2 -> Double.NEGATIVE_INFINITY;
                case 3 -> -0.0;
                default -> rnd.nextGaussian() * 100;
            };
            case 5 -> rnd.nextGaussian() * Math.pow(10, rnd.nextInt(5));
            default -> rnd.nextDouble() * 1e-3;                              // small: scientific below 1e-4
        };
    }

    private static void put(byte[] out, int at, DType dtype, long v) {
        int n = (int) dtype.byteSize();
        boolean big = dtype.byteOrder() == ByteOrder.BIG_ENDIAN;
        for (int i = 0; i < n; i++) {
            out[at + (big ? n - 1 - i : i)] = (byte) (v >>> (8 * i));
        }
    }

    private static String shapeJson(long[] shape) {
        StringBuilder sb = new StringBuilder("[");
        for (int i = 0; i < shape.length; i++) {
            sb.append(i == 0 ? "" : ", ").append(shape[i]);
        }
        return sb.append(']').toString();
    }

    private static List<String> runNumpy(String input) throws IOException, InterruptedException {
        Path in = Files.createTempFile("panbuf-print", ".in");
        Path err = Files.createTempFile("panbuf-print", ".err");
        try {
            Files.writeString(in, input);
            Process p;
            try {
                p = new ProcessBuilder(PYTHON, ORACLE.toString()).redirectInput(in.toFile()).redirectError(err.toFile()).start();
            } catch (IOException e) {
                Peers.require(false, () -> "cannot start " + PYTHON + " for the print oracle: " + e.getMessage());
                throw e;
            }
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(p.waitFor(300, TimeUnit.SECONDS), "the print oracle timed out");
            String stderr = Files.readString(err);
            Peers.require(!stderr.contains("No module named 'numpy'"), () -> "NumPy is not importable by " + PYTHON);
            assertEquals(0, p.exitValue(), () -> "the print oracle failed: " + stderr);
            return out.lines().toList();
        } finally {
            Files.deleteIfExists(in);
            Files.deleteIfExists(err);
        }
    }
}
