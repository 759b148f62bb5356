package dev.panbuf.format;

import dev.panbuf.DType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Hostile input: seeded random junk and mutations of valid strings, absurd
 * nesting, and megabyte inputs. Every parser either returns a dtype that
 * round-trips or throws IllegalArgumentException in the one message shape;
 * never another exception, never a StackOverflowError, never quadratic time.
 */
class MalformedInputTest {

    private static final long SEED = Long.getLong("panbuf.fuzz.seed", 0x5eed_f0f0L);
    private static final int RUNS = Integer.getInteger("panbuf.fuzz.runs", 20_000);

    private record Syntax(String name, Function<String, DType> parse, String alphabet, List<String> seeds) {
    }

    private static final Syntax STRUCT = new Syntax("struct format", StructFormat::parse,
            "@=<>!^?bBhHiIlLqQefdcsxT{}:()0123456789 ,ZgOwuntPa\u00e9\t|",
            List.of("T{<i:x:<d:y:}", "T{b:a:xxxi:b:}", "T{b:a:T{=i:x:}:r:}", ">T{i:a:}i:b:", "3x:pad:h:v:",
                    "T{i:a:b:b:=h:c:}", "i i:f0:", "10s", "^l", "T{T{T{b:x:}:y:}:z:}"));

    private static final Syntax NUMPY = new Syntax("NumPy dtype", NumpyDescr::parse,
            "<>=|!@bBhHiIlLqQpPefdcSaVUuOMm?0123456789 +-,()[]. \u3000\tfloatuinbyesgdx",
            List.of("<f4", ">i8", "float32", "i4, >f8, S3", "()i4,1>f8,a3", "|b1", "S 3", "f+4", "i4,", "uint64",
                    "(2,3)f8,i4", "M8[ns]"));

    private static final Syntax DESCR = new Syntax(".npy descr", NumpyDescr::parseDescr,
            "[](),'\" <>|=ifubVS0123456789\\xuNr\n\tabc",
            List.of("[('x', '<i4'), ('', '|V4'), ('y', '<f8')]", "'<f8'", "[('a', '|i1'), ('r', [('x', '|i1'),"
                    + " ('', '|V3'), ('y', '<i4')])]", "[(u'\\xe9', '>u2', ())]", "[('a' 'b', r'<' \"i4\",)]",
                    "('<i4', ())", "[('''a''', 'i4,f8')]"));

    /** Parses, and when the input is a dtype, proves it survives both writers. */
    private static void parseOrRefuse(Syntax syntax, String input) {
        DType d;
        try {
            d = syntax.parse().apply(input);
        } catch (IllegalArgumentException e) {
            if (!e.getMessage().startsWith("bad " + syntax.name() + " ")) {
                fail("message of the wrong shape for " + escape(input) + ": " + e.getMessage());
            }
            return;
        } catch (Throwable t) {
            throw new AssertionError("not an IllegalArgumentException for " + escape(input), t);
        }
        try {
            assertEquals(d, NumpyDescr.parseDescr(NumpyDescr.descr(d)), () -> "descr of " + escape(input));
            if (d.fields().stream().noneMatch(f -> f.name().contains(":"))) {
                assertEquals(d, StructFormat.parse(StructFormat.format(d)), () -> "format of " + escape(input));
            }
        } catch (IllegalArgumentException e) {
            if (!e.getMessage().contains("contains ':'")) {
                throw new AssertionError("a parsed dtype did not survive writing: " + escape(input), e);
            }
        }
    }

    private static String escape(String s) {
        return StructFormat.quote(s, 0);
    }

    private static String junk(Random random, String alphabet) {
        int length = random.nextInt(24);
        StringBuilder b = new StringBuilder(length);
        for (int i = 0; i < length; i++) {
            b.append(random.nextInt(20) == 0 ? (char) random.nextInt(0x3000) : alphabet.charAt(random.nextInt(alphabet.length())));
        }
        return b.toString();
    }

    private static String mutate(Random random, String seed, String alphabet) {
        StringBuilder b = new StringBuilder(seed);
        for (int edits = 1 + random.nextInt(4); edits > 0; edits--) {
            int at = b.isEmpty() ? 0 : random.nextInt(b.length() + 1);
            char c = alphabet.charAt(random.nextInt(alphabet.length()));
            switch (random.nextInt(4)) {
                case 0 -> b.insert(at, c);
                case 1 -> {
                    if (at < b.length()) {
                        b.deleteCharAt(at);
                    }
                }
                case 2 -> {
                    if (at < b.length()) {
                        b.setCharAt(at, c);
                    }
                }
                default -> {
                    int from = random.nextInt(b.length() + 1);
                    int to = Math.min(b.length(), from + random.nextInt(8));
                    b.insert(at, b.substring(from, to));
                }
            }
        }
        return b.toString();
    }

    private static void fuzz(Syntax syntax) {
        Random random = new Random(SEED ^ syntax.name().hashCode());
        for (int i = 0; i < RUNS; i++) {
            parseOrRefuse(syntax, junk(random, syntax.alphabet()));
            parseOrRefuse(syntax, mutate(random, syntax.seeds().get(random.nextInt(syntax.seeds().size())),
                    syntax.alphabet()));
        }
    }

    @Test
    void randomStructFormatsParseOrFailWithIllegalArgumentOnly() {
        fuzz(STRUCT);
    }

    @Test
    void randomDtypeStringsParseOrFailWithIllegalArgumentOnly() {
        fuzz(NUMPY);
    }

    @Test
    void randomDescrLiteralsParseOrFailWithIllegalArgumentOnly() {
        fuzz(DESCR);
    }

    // ------------------------------------------------------------------ nesting

    @ParameterizedTest
    @ValueSource(strings = {"T{", "T{i:a:", "T{b:a:>", "<T{"})
    void hundredThousandNestedRecordsAreRefusedWithoutStackOverflow(String unit) {
        String format = unit.repeat(100_000);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> StructFormat.parse(format));
        assertTrue(e.getMessage().endsWith("records nested deeper than 64 levels"), e.getMessage());
    }

    @ParameterizedTest
    @ValueSource(strings = {"[", "(", "[(", "[('a', ", "('<i4', "})
    void hundredThousandNestedBracketsAreRefusedWithoutStackOverflow(String unit) {
        String literal = unit.repeat(100_000);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> NumpyDescr.parseDescr(literal));
        assertTrue(e.getMessage().endsWith("brackets nested deeper than 130 levels"), e.getMessage());
    }

    @Test
    void deeplyParenthesizedDtypeStringIsRefused() {
        String spelling = "(".repeat(100_000) + "i4";
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> NumpyDescr.parse(spelling));
        assertTrue(e.getMessage().startsWith("bad NumPy dtype "), e.getMessage());
    }

    // ------------------------------------------------------------------ linear time

    private static final Duration LINEAR = Duration.ofSeconds(20);   // quadratic time on these inputs takes hours

    @Test
    void megabyteStructFormatsParseInLinearTime() {
        StringBuilder fields = new StringBuilder("T{");
        for (int i = 0; i < 100_000; i++) {
            fields.append(i % 3 == 0 ? "i" : i % 3 == 1 ? "b" : "=d").append(":f").append(i).append(':');
        }
        String manyFields = fields.append('}').toString();
        String padding = "b" + "x".repeat(2_000_000);
        String longName = "i:" + "n".repeat(2_000_000) + ":";
        String spaces = "i" + " ".repeat(2_000_000) + "i";
        String digits = "0".repeat(2_000_000) + "1i";
        assertTimeoutPreemptively(LINEAR, () -> {
            assertEquals(100_000, StructFormat.parse(manyFields).fields().size());
            assertEquals(2_000_001, StructFormat.parse(padding).byteSize());
            assertEquals(2_000_000, StructFormat.parse(longName).fields().getFirst().name().length());
            assertEquals(2, StructFormat.parse(spaces).fields().size());
            assertEquals(DType.INT32, StructFormat.parse(digits));
            DType d = StructFormat.parse(manyFields);
            assertEquals(d, StructFormat.parse(StructFormat.format(d)));
        });
    }

    @Test
    void megabyteDtypeStringsParseInLinearTime() {
        String comma = "i4,".repeat(300_000);
        String size = "f" + "0".repeat(2_000_000) + "4";
        String junkAfterComma = "i4," + " ".repeat(2_000_000) + ";";
        assertTimeoutPreemptively(LINEAR, () -> {
            assertEquals(300_000, NumpyDescr.parse(comma).fields().size());
            assertEquals(DType.FLOAT32, NumpyDescr.parse(size));
            assertThrows(IllegalArgumentException.class, () -> NumpyDescr.parse(junkAfterComma));
        });
    }

    @Test
    void megabyteDescrsParseInLinearTime() {
        StringBuilder b = new StringBuilder("[");
        for (int i = 0; i < 100_000; i++) {
            b.append("('f").append(i).append("', '<i4'), ('', '|V4'), ");
        }
        String manyFields = b.append(']').toString();
        String longName = "[('" + "\\x41".repeat(500_000) + "', '<i4')]";
        String concatenated = "[(" + "'a' ".repeat(300_000) + ", '<i4')]";
        assertTimeoutPreemptively(LINEAR, () -> {
            DType d = NumpyDescr.parseDescr(manyFields);
            assertEquals(100_000, d.fields().size());
            assertEquals(manyFields.replace(", ]", "]"), NumpyDescr.descr(d));
            assertEquals(500_000, NumpyDescr.parseDescr(longName).fields().getFirst().name().length());
            assertEquals(300_000, NumpyDescr.parseDescr(concatenated).fields().getFirst().name().length());
        });
    }
}
