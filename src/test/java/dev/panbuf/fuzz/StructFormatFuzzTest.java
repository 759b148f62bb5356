package dev.panbuf.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.panbuf.DType;
import dev.panbuf.shim.Shim;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * {@link DType#fromFormat} (PEP 3118 struct strings, the {@code format} of a
 * {@code pb_buffer}) on arbitrary text: accepted, every spelling of the
 * result reads back as the same dtype; refused, an
 * {@link IllegalArgumentException} with a message; anything else is a
 * finding. Differential check against the C shim: when
 * {@code pb_size_from_format} (which {@code pb_validate} uses) gives a size
 * for a string Java accepts, the two sizes agree, apart from the known
 * differences described below (where an import is refused, never mistyped).
 * Each committed input is the text itself.
 */
class StructFormatFuzzTest {

    @FuzzTest(maxDuration = "60s")
    void pep3118FormatStrings(byte[] input) {
        String text = Fuzz.text(input);
        DType d;
        try {
            d = DType.fromFormat(text);
        } catch (IllegalArgumentException refused) {
            Fuzz.checkMessage(refused, text);
            return;
        }
        Fuzz.roundTrips(d, text);
        if (text.chars().allMatch(c -> c > 0 && c < 0x80)) {
            long cSize = Shim.sizeFromFormat(text);
            // Where C and Java disagree, an import of a buffer with this format is refused with a
            // message (pb_validate, or Java's item-size check); never typed with the wrong size.
            // Known and allowed: C follows struct.calcsize, Java NumPy's importer, so C refuses
            // whitespace inside a repeat count ("2 0s"), and for several items at the top level
            // in '@' mode ("fe", "ib") C does not pad the end to the alignment (struct.calcsize
            // gives 6 for "fe") where NumPy does (8). Inside T{...} both pad.
            // Only that end padding: Java's size is C's rounded up to a power of two of at most 8.
            long padding = d.byteSize() - cSize;
            boolean onlyTheEndPadding = d.isRecord() && cSize >= 0 && padding > 0 && padding < 8
                    && d.byteSize() % Long.highestOneBit(2 * padding) == 0;
            if (cSize >= 0 && !onlyTheEndPadding) {
                assertEquals(d.byteSize(), cSize, "pb_size_from_format(\"" + text + "\") vs Java's " + d);
            }
        }
    }
}
