package dev.panbuf.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.panbuf.DType;

/**
 * {@link DType#parse} (NumPy dtype strings) on arbitrary text: it accepts, and
 * then every spelling of the result reads back as the same dtype, or it
 * refuses with an {@link IllegalArgumentException} that has a message. Any
 * other throwable (a stack overflow included) or a hang is a finding. Each
 * committed input is the text itself.
 */
class NumpyDtypeFuzzTest {

    @FuzzTest(maxDuration = "60s")
    void numpyDtypeStrings(byte[] input) {
        String text = Fuzz.text(input);
        DType d;
        try {
            d = DType.parse(text);
        } catch (IllegalArgumentException refused) {
            Fuzz.checkMessage(refused, text);
            return;
        }
        Fuzz.roundTrips(d, text);
    }
}
