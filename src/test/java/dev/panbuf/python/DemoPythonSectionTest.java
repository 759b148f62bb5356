package dev.panbuf.python;

import dev.panbuf.LeakCheck;
import dev.panbuf.cli.Main;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code panbuf demo}'s step 8 (NumPy in the same process) says what the seed scenarios promise. */
@ExtendWith(LeakCheck.class)
class DemoPythonSectionTest {

    @Test
    void theDemoShowsEachScenario() {
        TestPython.require();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int code = Main.run(new String[] {"demo"}, new PrintStream(out, true, StandardCharsets.UTF_8), System.err);
        String text = out.toString(StandardCharsets.UTF_8);
        assertEquals(0, code, text);
        String section = text.substring(text.indexOf("8. NumPy in this very process"));
        java.util.regex.Matcher addr = java.util.regex.Pattern.compile("Python's address (0x\\w+), Java's (0x\\w+)").matcher(section);
        assertTrue(addr.find(), section);
        assertEquals(addr.group(2), addr.group(1), "the same memory");
        assertTrue(section.contains("Python wrote a[0, 0] = 100, Java reads 100"), section);
        assertTrue(section.contains("as_strided both sides: Java [1, 2, 3, 6, 7, 8, 11, 12, 13], NumPy [1, 2, 3, 6, 7, 8, 11, 12, 13]"), section);
        assertTrue(section.contains("ValueError: assignment destination is read-only"), section);
        assertTrue(section.contains("BufferError: Existing exports of data: object cannot be re-sized"), section);
        assertTrue(section.contains("LiveExportsException (2 live exports; nothing freed)"), section);
        assertTrue(section.contains("(a, transpose) = true, (a, slice) = true, (a, copy) = false"), section);
        assertTrue(section.contains("the arena closed"), section);
    }
}
