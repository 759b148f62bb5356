package dev.panbuf.cli;

import dev.panbuf.LeakCheck;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code panbuf demo}'s step 10 (a table as an Arrow record batch) shows what
 * the README's Arrow section promises: the import reads Java's memory, it is
 * read-only, the arena stays pinned until the consumer's release, and then
 * closes. The pyarrow part is checked by {@code PeersArrowTest}, where pyarrow
 * is installed.
 */
@ExtendWith(LeakCheck.class)
class DemoArrowSectionTest {

    @Test
    void theDemoHandsATableOutAsARecordBatchWithNoCopy() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int code = Main.run(new String[] {"demo"}, new PrintStream(out, true, StandardCharsets.UTF_8), System.err);
        String text = out.toString(StandardCharsets.UTF_8);
        assertEquals(0, code, text);
        String section = text.substring(text.indexOf("10. Arrow: a table Java allocated"));
        for (String column : new String[] {"id: int64", "price: float64"}) {
            Matcher m = Pattern.compile("imported column " + column + " at (0x\\w+), Java's at (0x\\w+) \\(the same memory:"
                    + " nothing was copied\\)").matcher(section);
            assertTrue(m.find(), section);
            assertEquals(m.group(2), m.group(1), section);
        }
        assertTrue(section.contains("the import is read-only: true"), section);
        assertTrue(section.contains("table.close() while a consumer holds the batch: LiveExportsException (2 live exports;"
                + " nothing freed)"), section);
        assertTrue(section.contains("after the consumer's release: batch released true, live exports 0"), section);
        assertTrue(section.contains("pyarrow: "), section);
        assertTrue(section.contains("the table's arena closed"), section);
        assertTrue(text.endsWith("Done: one block of memory, typed views in Java, the same bytes in C, and no way to touch it"
                + " after it is freed.\n"), text);
    }
}
