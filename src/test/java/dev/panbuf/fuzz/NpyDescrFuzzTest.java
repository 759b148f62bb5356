package dev.panbuf.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.panbuf.DType;
import dev.panbuf.format.NumpyDescr;

/**
 * {@link NumpyDescr#parseDescr} (the {@code descr} literal of a {@code .npy}
 * header: a quoted dtype string or nested lists of tuples) on arbitrary text:
 * accepted, every spelling of the result reads back as the same dtype;
 * refused, an {@link IllegalArgumentException} with a message; anything else
 * (deep nesting overflowing the stack included) is a finding. Each committed
 * input is the text itself.
 */
class NpyDescrFuzzTest {

    @FuzzTest(maxDuration = "60s")
    void npyDescrLiterals(byte[] input) {
        String text = Fuzz.text(input);
        DType d;
        try {
            d = NumpyDescr.parseDescr(text);
        } catch (IllegalArgumentException refused) {
            Fuzz.checkMessage(refused, text);
            return;
        }
        Fuzz.roundTrips(d, text);
    }
}
