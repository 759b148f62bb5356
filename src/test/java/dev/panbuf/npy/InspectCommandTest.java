package dev.panbuf.npy;

import dev.panbuf.LeakCheck;
import dev.panbuf.cli.Main;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code panbuf inspect FILE.npy} on files NumPy wrote, and on a malformed one. */
@ExtendWith(LeakCheck.class)
class InspectCommandTest {

    private static String[] run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = Main.run(args, new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        return new String[] {String.valueOf(code), out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8)};
    }

    @Test
    void printsDtypeShapeStridesOrderSizeAndContents(@TempDir Path dir) throws Exception {
        PythonProcess.run("""
                import sys, numpy as np
                np.save(sys.argv[1] + '/f.npy', np.asfortranarray(np.arange(6, dtype='>f4').reshape(2, 3)))
                np.save(sys.argv[1] + '/r.npy', np.zeros(2, dtype=[('x', '<i4'), ('y', '<f8')]))
                """, dir.toString());
        String[] r = run("inspect", dir.resolve("f.npy").toString());
        assertEquals("0", r[0], r[2]);
        String text = r[1];
        assertTrue(text.contains(".npy format 1.0, data at byte 128"), text);
        assertTrue(text.contains("dtype:    >f4 (>float32, 4 bytes per element)"), text);
        assertTrue(text.contains("shape:    (2, 3)"), text);
        assertTrue(text.contains("strides:  (4, 8) bytes"), text);
        assertTrue(text.contains("order:    F (Fortran, column-major)"), text);
        assertTrue(text.contains("size:     6 elements, 24 bytes"), text);
        assertTrue(text.contains("array([[0., 1., 2.],"), text);
        String[] rec = run("inspect", dir.resolve("r.npy").toString());
        assertEquals("0", rec[0], rec[2]);
        assertTrue(rec[1].contains("shape:    (2,)"), rec[1]);
        assertTrue(rec[1].contains("size:     2 elements, 24 bytes"), rec[1]);
        assertTrue(rec[1].contains("dtype:    [('x', '<i4'), ('y', '<f8')] (record, 12 bytes per element)"), rec[1]);
    }

    @Test
    void reportsAMalformedFileWithItsBytePosition(@TempDir Path dir) throws Exception {
        Path bad = dir.resolve("bad.npy");
        Files.write(bad, NpyHeaderTest.v1("{'descr': '<f4', 'fortran_order': False, 'shape': (9,)}", new byte[8]));
        String[] r = run("inspect", bad.toString());
        assertEquals("1", r[0]);
        assertTrue(r[2].contains("needs 36 data bytes from byte 128") && r[2].contains("(at byte 136)"), r[2]);
        assertEquals("2", run("inspect")[0]);
    }
}
