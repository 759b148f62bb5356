package dev.panbuf.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.panbuf.BudgetExceededException;
import dev.panbuf.BufferArena;
import dev.panbuf.NdArray;
import dev.panbuf.npy.Npy;
import dev.panbuf.npy.NpyFormatException;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code .npy} files made of fuzzed bytes, read with
 * {@link Npy#read(java.io.InputStream, java.lang.foreign.Arena)} (the magic,
 * version and header-length prefix, the header dict literal with its
 * {@code descr}, {@code fortran_order} and {@code shape}, then the data) into
 * a {@link BufferArena} with a 1 MiB budget, so that a header declaring a
 * huge array fails deterministically. The reader may only return an array,
 * or throw {@link NpyFormatException} (with a byte offset inside the input)
 * or {@link BudgetExceededException}; an array it returns is written back
 * with {@link Npy#write(java.io.OutputStream, NdArray)} and must read back
 * equal, with the same dtype and shape. Each committed input is a whole
 * {@code .npy} file.
 */
class NpyHeaderFuzzTest {

    private static final long BUDGET = 1 << 20;

    @FuzzTest(maxDuration = "60s")
    void npyStreamsParseOrFailWithAnNpyFormatException(byte[] input) throws IOException {
        try (BufferArena arena = BufferArena.builder().budgetBytes(BUDGET).name("fuzzed .npy").build()) {
            NdArray a;
            try {
                a = Npy.read(new ByteArrayInputStream(input), arena);
            } catch (NpyFormatException refused) {
                Fuzz.checkMessage(refused, Arrays.toString(input));
                assertTrue(refused.byteOffset() >= 0 && refused.byteOffset() <= input.length,
                        "byte offset " + refused.byteOffset() + " outside the " + input.length + "-byte input: " + refused.getMessage());
                assertTrue(refused.getMessage().contains("(at byte " + refused.byteOffset() + ")"), refused.getMessage());
                return;
            } catch (BudgetExceededException tooLarge) {
                Fuzz.checkMessage(tooLarge, Arrays.toString(input));
                return;
            }
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            Npy.write(out, a);
            try (BufferArena again = BufferArena.ofConfined()) {
                NdArray back = Npy.read(new ByteArrayInputStream(out.toByteArray()), again);
                assertEquals(a.dtype(), back.dtype());
                assertArrayEquals(a.shape(), back.shape());
                assertEquals(a, back, "written and read back");
            }
        }
    }
}
