package dev.panbuf.format;

import dev.panbuf.Peers;

import dev.panbuf.DType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

import java.io.IOException;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Checks {@link StructFormat} and {@link NumpyDescr} against NumPy itself:
 * runs {@code src/test/python/dtype_oracle.py} (interpreter: system property
 * {@code panbuf.python}, default {@code /usr/bin/python3}) and requires exact
 * agreement on every dtype, spelling, format and descr it lists, including
 * seeded random record dtypes and formats. Skipped, with the reason, only when
 * the interpreter or NumPy is missing. panbuf follows NumPy 1.24 (Debian's);
 * under NumPy 2 the few inputs NumPy 2 reads differently are skipped, each with
 * the reason, and everything else is checked.
 */
class NumpyOracleTest {

    private static final String PYTHON = System.getProperty("panbuf.python", "/usr/bin/python3");
    private static final Path ORACLE = Path.of(System.getProperty("panbuf.oracle", "src/test/python/dtype_oracle.py"));

    /**
     * Inputs NumPy accepts that panbuf refuses on purpose, with the reason. Any
     * other input NumPy accepts must read as the same dtype.
     */
    private static final Map<String, String> REFUSED_ON_PURPOSE = Map.ofEntries(
            Map.entry("spelling:f4294967300", "NumPy wraps the size 4294967300 to 4"),
            Map.entry("format:T{i:a:}}xyz", "NumPy ignores everything after the outermost '}'"),
            Map.entry("format:i}xyz", "NumPy ignores everything after a stray '}'"),
            Map.entry("format:T{i:a:", "NumPy closes an unclosed 'T{' at the end"),
            Map.entry("format:T{<i:x:", "NumPy closes an unclosed 'T{' at the end"));

    /**
     * Inputs NumPy 2 reads differently from NumPy 1.24, whose reading panbuf follows. Under
     * NumPy 2 the oracle skips them (with this reason) and checks everything else.
     */
    private static final Map<String, String> NUMPY2_READS_DIFFERENTLY = numpy2Differences();

    private static Map<String, String> numpy2Differences() {
        Map<String, String> m = new LinkedHashMap<>();
        for (String order : List.of("", "<", ">", "=", "|")) {
            m.put("spelling:" + order + "n", "NumPy 2 added the type code 'n' (intp)");
            m.put("spelling:" + order + "N", "NumPy 2 added the type code 'N' (uintp)");
        }
        for (String input : List.of("i4,", "<i4,", ">i4,", "S3,", "i4,   ")) {
            m.put("spelling:" + input, "NumPy 2 reads a one-item comma string as a one-field record");
        }
        for (String input : List.of("1i4", "<1i4", "(1)i4,f8", "1 i4,f8", "1>i4,f8", "=1<i4,f8", ">1>i4,f8",
                "i4,(1)1i4", "i4,>1>i4")) {
            m.put("spelling:" + input, "NumPy 2 reads a repeat of 1 as a (1,) subarray");
        }
        for (String input : List.of("('<i4', 1)", "[('a', '<i4', 1)]", "[('a', '<i4', (1))]")) {
            m.put("descr:" + input, "NumPy 2 reads a shape of 1 as a (1,) subarray");
        }
        m.put("spelling:f4294967300", "NumPy 2 refuses the size that NumPy 1 wraps");
        return Map.copyOf(m);
    }

    private static List<Map<String, Object>> rows;
    private static boolean numpy2;

    @BeforeAll
    static void runOracle() throws IOException, InterruptedException {
        Path python = Path.of(PYTHON);
        Peers.require(Files.isExecutable(python), () -> "no Python interpreter at " + PYTHON + " (set -Dpanbuf.python=...)");
        Process probe = new ProcessBuilder(PYTHON, "-c", "import numpy").redirectErrorStream(true).start();
        probe.getInputStream().readAllBytes();
        boolean numpyImports = probe.waitFor(60, TimeUnit.SECONDS) && probe.exitValue() == 0;
        Peers.require(numpyImports, () -> "NumPy is not importable by " + PYTHON);
        assertTrue(Files.isRegularFile(ORACLE), "oracle script missing: " + ORACLE.toAbsolutePath());
        List<String> args = new ArrayList<>();
        // -Dpanbuf.oracle.seed=N -Dpanbuf.oracle.count=K draw other random dtypes and formats
        for (String option : List.of("seed", "count")) {
            String value = System.getProperty("panbuf.oracle." + option);
            if (value != null) {
                args.addAll(List.of("--" + option, value));
            }
        }
        rows = run(args, null);
        assertTrue(rows.size() > 1000, "the oracle printed only " + rows.size() + " rows");
        String version = (String) rows.getFirst().get("version");
        numpy2 = !version.startsWith("1.");
    }

    /** Under NumPy 2, skips an input NumPy 2 reads differently, saying why. */
    private static void assumeSameReadingInThisNumpy(String key) {
        String why = NUMPY2_READS_DIFFERENTLY.get(key);
        assumeTrue(!numpy2 || why == null, () -> why + "; panbuf follows NumPy 1.24 here");
    }

    static List<Map<String, Object>> run(List<String> args, String stdin) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(PYTHON, ORACLE.toString()));
        command.addAll(args);
        // Input and errors go through files: two pipes could each wait for the other to drain.
        Path input = Files.createTempFile("dtype_oracle", ".stdin");
        Path errors = Files.createTempFile("dtype_oracle", ".stderr");
        try {
            Files.writeString(input, stdin == null ? "" : stdin);
            Process p = new ProcessBuilder(command).redirectInput(input.toFile()).redirectError(errors.toFile()).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(p.waitFor(120, TimeUnit.SECONDS), "oracle timed out");
            assertEquals(0, p.exitValue(), () -> "oracle failed: " + read(errors));
            return lines(out);
        } finally {
            Files.deleteIfExists(input);
            Files.deleteIfExists(errors);
        }
    }

    private static String read(Path file) {
        try {
            return Files.readString(file);
        } catch (IOException e) {
            return "(stderr unreadable: " + e + ")";
        }
    }

    private static List<Map<String, Object>> lines(String out) {
        List<Map<String, Object>> result = new ArrayList<>();
        for (String line : out.split("\n")) {
            if (!line.isBlank()) {
                result.add(Json.object(line));
            }
        }
        return result;
    }

    private static Stream<Map<String, Object>> rows(String what) {
        return rows.stream().filter(r -> what.equals(r.get("what")));
    }

    @Test
    void oracleRunsOnTheMachinesByteOrder() {
        Map<String, Object> header = rows.getFirst();
        assertEquals("numpy", header.get("what"));
        assertEquals(ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN ? "little" : "big", header.get("byteorder"));
    }

    @Test
    void everyDeliberateRefusalIsSomethingNumpyAccepts() {
        for (String key : REFUSED_ON_PURPOSE.keySet()) {
            if (numpy2 && NUMPY2_READS_DIFFERENTLY.containsKey(key)) {
                continue;
            }
            String kind = key.substring(0, key.indexOf(':'));
            String input = key.substring(key.indexOf(':') + 1);
            Map<String, Object> row = rows(kind).filter(r -> input.equals(r.get("input"))).findFirst()
                    .orElseThrow(() -> new AssertionError("the oracle does not list " + key));
            assertEquals("ok", row.get("verdict"), key + " is refused by NumPy too; drop it from the list");
        }
    }

    /** Every dtype: descr, str, itemsize and offsets as NumPy has them; format as NumPy writes it. */
    @TestFactory
    Stream<DynamicTest> everyDtypeMatchesNumpyInBothSyntaxes() {
        return rows("dtype").map(row -> DynamicTest.dynamicTest((String) row.get("label"), () -> {
            String descr = (String) row.get("descr");
            DType d = NumpyDescr.parseDescr(descr);
            assertEquals(row.get("canon"), canon(d), "offsets and types read from " + descr);
            assertEquals(((Number) row.get("itemsize")).longValue(), d.byteSize());
            assertEquals(descr, NumpyDescr.descr(d));
            assertEquals(row.get("str"), NumpyDescr.str(d));
            assertNull(row.get("format_error"), "NumPy could not export it");
            String numpys = (String) row.get("format");
            String ours = StructFormat.format(d);
            if ((Boolean) row.get("format_round_trips")) {
                assertEquals(numpys, spellOutLongPadding(ours), "NumPy's format reads back, so panbuf writes it too");
            } else {
                assertNotEquals(numpys, ours, "NumPy's format does not read back; panbuf must write one that does");
            }
            assertEquals(d, StructFormat.parse(ours));
            assertEquals(d, NumpyDescr.parseDescr(NumpyDescr.descr(d)));
            if (!d.isRecord()) {
                assertEquals(d, NumpyDescr.parse(NumpyDescr.str(d)));
            }
        }));
    }

    /** Where NumPy's own format does not read back, NumPy must still import panbuf's as the same dtype. */
    @Test
    void numpyImportsEveryFormatPanbufWritesInsteadOfNumpys() throws Exception {
        Map<String, String> canonByFormat = new LinkedHashMap<>();
        rows("dtype").filter(r -> !(Boolean) r.get("format_round_trips")).forEach(r -> {
            DType d = NumpyDescr.parseDescr((String) r.get("descr"));
            canonByFormat.put(StructFormat.format(d), (String) r.get("canon"));
        });
        assertTrue(canonByFormat.size() > 20, "expected many such dtypes, got " + canonByFormat.size());
        StringBuilder stdin = new StringBuilder();
        for (String format : canonByFormat.keySet()) {
            stdin.append("{\"format\": ").append(Json.quote(format)).append("}\n");
        }
        List<Map<String, Object>> verdicts = run(List.of("--import"), stdin.toString());
        assertEquals(canonByFormat.size(), verdicts.size());
        for (Map<String, Object> v : verdicts) {
            String format = (String) v.get("input");
            assertEquals("ok", v.get("verdict"), () -> "NumPy refused " + format + ": " + v.get("reason"));
            assertEquals(canonByFormat.get(format), v.get("canon"), "NumPy read " + format + " as another dtype");
        }
    }

    @TestFactory
    Stream<DynamicTest> everyDtypeStringReadsAsNumpyReadsIt() {
        return verdicts("spelling", "NumPy dtype", NumpyDescr::parse);
    }

    @TestFactory
    Stream<DynamicTest> everyStructFormatReadsAsNumpyImportsIt() {
        return verdicts("format", "struct format", StructFormat::parse);
    }

    @TestFactory
    Stream<DynamicTest> everyNpyDescrReadsAsNumpyReadsIt() {
        return verdicts("descr", ".npy descr", NumpyDescr::parseDescr);
    }

    /**
     * NumPy accepts and panbuf has the type: the same dtype. NumPy refuses, or builds a type
     * panbuf has no DType for: an IllegalArgumentException in panbuf's message shape.
     */
    private static Stream<DynamicTest> verdicts(String kind, String syntax, Function<String, DType> parse) {
        return rows(kind).map(row -> {
            String input = (String) row.get("input");
            String verdict = (String) row.get("verdict");
            return DynamicTest.dynamicTest(verdict + " " + Json.quote(input), () -> {
                assumeSameReadingInThisNumpy(kind + ":" + input);
                String purpose = REFUSED_ON_PURPOSE.get(kind + ":" + input);
                if (verdict.equals("ok") && purpose == null) {
                    DType d = parse.apply(input);
                    assertEquals(row.get("canon"), canon(d), "read " + input);
                    return;
                }
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> parse.apply(input),
                        () -> "NumPy says " + verdict + " (" + row.get("reason") + "); panbuf read it");
                assertWellFormedError(syntax, input, e.getMessage());
            });
        });
    }

    /** The message quotes the input, names a position inside it (or its end) and gives a reason. */
    static void assertWellFormedError(String syntax, String input, String message) {
        Matcher m = Pattern.compile(Pattern.quote("bad " + syntax + " ") + "(.*) at position (\\d+): (.+)",
                Pattern.DOTALL).matcher(message);
        assertTrue(m.matches(), () -> "message has the wrong shape: " + message);
        int position = Integer.parseInt(m.group(2));
        assertTrue(position >= 0 && position <= input.length(), "position " + position + " outside the input");
        assertEquals(StructFormat.quote(input, position), m.group(1), "the input, quoted");
    }

    /** NumPy writes padding one 'x' per byte; panbuf writes gaps over 255 bytes as "<n>x". */
    static String spellOutLongPadding(String format) {
        Matcher m = Pattern.compile("(?<![0-9])([0-9]{3,})x").matcher(format);
        StringBuilder out = new StringBuilder();
        while (m.find()) {
            long n = Long.parseLong(m.group(1));
            m.appendReplacement(out, n > StructFormat.MAX_SPELLED_PADDING ? "x".repeat((int) n) : m.group());
        }
        m.appendTail(out);
        return out.toString();
    }

    /**
     * The oracle's one-string description of a dtype: "b1", "i1", "u1", "<i4", ">f8"; "B<n>" for
     * bytes; "{size;\"name\"@offset:canon,...}" for records, fields in declaration order.
     */
    static String canon(DType d) {
        return switch (d.kind()) {
            case BOOL -> "b1";
            case BYTES -> "B" + d.byteSize();
            case RECORD -> {
                StringBuilder b = new StringBuilder("{").append(d.byteSize()).append(';');
                for (int i = 0; i < d.fields().size(); i++) {
                    DType.Field f = d.fields().get(i);
                    b.append(i == 0 ? "" : ",").append(Json.quote(f.name())).append('@').append(f.byteOffset())
                            .append(':').append(canon(f.dtype()));
                }
                yield b.append('}').toString();
            }
            default -> {
                String letter = String.valueOf(d.kind().numpyKind());
                if (d.byteSize() == 1) {
                    yield letter + "1";
                }
                yield (d.byteOrder() == ByteOrder.LITTLE_ENDIAN ? "<" : ">") + letter + d.byteSize();
            }
        };
    }

    /** Just enough JSON for the oracle's lines: objects, strings, numbers, booleans, null. */
    static final class Json {
        private final String s;
        private int pos;

        private Json(String s) {
            this.s = s;
        }

        @SuppressWarnings("unchecked")
        static Map<String, Object> object(String line) {
            Json j = new Json(line);
            Object v = j.value();
            if (j.pos != line.length() || !(v instanceof Map)) {
                throw new IllegalStateException("not a JSON object line: " + line);
            }
            return (Map<String, Object>) v;
        }

        /** Python's json.dumps(s, ensure_ascii=True). */
        static String quote(String value) {
            StringBuilder b = new StringBuilder("\"");
            for (int i = 0; i < value.length(); i++) {
                char c = value.charAt(i);
                switch (c) {
                    case '"' -> b.append("\\\"");
                    case '\\' -> b.append("\\\\");
                    case '\n' -> b.append("\\n");
                    case '\r' -> b.append("\\r");
                    case '\t' -> b.append("\\t");
                    case '\b' -> b.append("\\b");
                    case '\f' -> b.append("\\f");
                    default -> {
                        if (c < 0x20 || c > 0x7e) {
                            b.append(String.format("\\u%04x", (int) c));
                        } else {
                            b.append(c);
                        }
                    }
                }
            }
            return b.append('"').toString();
        }

        private Object value() {
            skip();
            char c = s.charAt(pos);
            switch (c) {
                case '{' -> {
                    pos++;
                    Map<String, Object> map = new LinkedHashMap<>();
                    skip();
                    if (s.charAt(pos) == '}') {
                        pos++;
                        return map;
                    }
                    while (true) {
                        skip();
                        String key = string();
                        skip();
                        expect(':');
                        map.put(key, value());
                        skip();
                        if (s.charAt(pos) == ',') {
                            pos++;
                        } else {
                            expect('}');
                            return map;
                        }
                    }
                }
                case '"' -> {
                    return string();
                }
                case 't' -> {
                    pos += 4;
                    return Boolean.TRUE;
                }
                case 'f' -> {
                    pos += 5;
                    return Boolean.FALSE;
                }
                case 'n' -> {
                    pos += 4;
                    return null;
                }
                default -> {
                    int at = pos;
                    while (pos < s.length() && "+-0123456789.eE".indexOf(s.charAt(pos)) >= 0) {
                        pos++;
                    }
                    return Long.parseLong(s.substring(at, pos));
                }
            }
        }

        private String string() {
            expect('"');
            StringBuilder b = new StringBuilder();
            while (true) {
                char c = s.charAt(pos++);
                if (c == '"') {
                    return b.toString();
                }
                if (c != '\\') {
                    b.append(c);
                    continue;
                }
                char e = s.charAt(pos++);
                switch (e) {
                    case 'n' -> b.append('\n');
                    case 'r' -> b.append('\r');
                    case 't' -> b.append('\t');
                    case 'b' -> b.append('\b');
                    case 'f' -> b.append('\f');
                    case 'u' -> {
                        b.append((char) Integer.parseInt(s.substring(pos, pos + 4), 16));
                        pos += 4;
                    }
                    default -> b.append(e);
                }
            }
        }

        private void skip() {
            while (pos < s.length() && s.charAt(pos) == ' ') {
                pos++;
            }
        }

        private void expect(char c) {
            if (s.charAt(pos) != c) {
                throw new IllegalStateException("expected " + c + " at " + pos + " in " + s);
            }
            pos++;
        }
    }
}
