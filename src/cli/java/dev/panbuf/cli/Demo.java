package dev.panbuf.cli;

import dev.panbuf.BufferArena;
import dev.panbuf.DType;
import dev.panbuf.Export;
import dev.panbuf.LiveExportsException;
import dev.panbuf.NdArray;

import java.io.PrintStream;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * {@code panbuf demo}: a short tour that shows, step by step and with real
 * addresses, that a Java view and C code share one block of memory and that
 * the block cannot be freed while C holds it.
 */
final class Demo {

    static final String USAGE = """
            usage: panbuf demo

            A guided tour, with real addresses: a Java view and C code share one block of memory,
            C writes and Java reads, a read-only export stays read-only, and the memory cannot be
            freed while C holds it. The last step does the same with NumPy in this process (skipped
            when libpython or NumPy is missing).""";

    private Demo() {}

    static int run(String[] args, PrintStream out) {
        if (args.length > 0) {
            throw new Main.UsageException("takes no arguments, got " + String.join(" ", args));
        }
        step(out, 1, "Allocate a 3 x 4 float32 matrix off-heap, in a BufferArena, and fill it from Java");
        BufferArena arena = BufferArena.ofConfined();
        NdArray m = NdArray.allocate(arena, DType.FLOAT32, 3, 4);
        for (long i = 0; i < 3; i++) {
            for (long j = 0; j < 4; j++) {
                m.setFloat(i * 4 + j, i, j);
            }
        }
        out.println(indent(m.toString()));
        out.println("   " + m.describe());

        step(out, 2, "Views share the memory: no copies");
        NdArray t = m.transpose();
        NdArray everyOtherRow = m.get("::2");
        out.println("   m.transpose()  shape " + Arrays.toString(t.shape()) + ", byte strides " + Arrays.toString(t.byteStrides())
                + ", C-contiguous " + t.isContiguous(dev.panbuf.Order.C));
        out.println("   m.get(\"::2\")   shape " + Arrays.toString(everyOtherRow.shape()) + ", byte strides "
                + Arrays.toString(everyOtherRow.byteStrides()));
        out.println("   t[3, 2] = " + t.getFloat(3, 2) + " is m[2, 3] = " + m.getFloat(2, 3));

        step(out, 3, "Export the matrix to C as a pb_buffer * and let C sum its rows");
        try (Export e = m.export()) {
            long seen = ExampleLibrary.bufAddress(e.pointer());
            out.println("   Java element [0, 0] is at 0x" + Long.toHexString(m.address()) + "; C received buf = 0x"
                    + Long.toHexString(seen) + (seen == m.address() ? "  (the same memory: nothing was copied)" : "  (DIFFERENT!)"));
            NdArray sums = NdArray.allocate(arena, DType.FLOAT32, 3);
            int rc = ExampleLibrary.rowSums(e.pointer(), MemorySegment.ofAddress(sums.address()).reinterpret(sums.byteSize()));
            out.println("   pbx_row_sums_f32 returned " + rc + "; row sums: " + Arrays.toString(sums.toFloatArray()));
        }

        step(out, 4, "C writes through a transposed (non-contiguous) view; Java reads the change");
        try (Export e = t.export()) {
            int rc = ExampleLibrary.scale(e.pointer(), 10f);
            out.println("   pbx_scale_f32(t, 10) returned " + rc + "; C walked strides " + Arrays.toString(t.byteStrides()));
        }
        out.println(indent(m.toString()));

        step(out, 5, "A read-only export: C's helpers refuse to write");
        try (Export e = m.exportReadOnly()) {
            int rc = ExampleLibrary.scale(e.pointer(), 2f);
            out.println("   pbx_scale_f32 on the read-only export returned " + rc + " (PB_EREADONLY); m[0, 1] is still "
                    + m.getFloat(0, 1));
        }

        step(out, 6, "While C holds an export, the arena refuses to close and frees nothing");
        Export held = m.export();
        try {
            arena.close();
            out.println("   (unexpected: the arena closed)");
        } catch (LiveExportsException e) {
            out.println("   arena.close() threw LiveExportsException:");
            out.println("     " + e.getMessage());
            out.println("   m is still readable: m[2, 3] = " + m.getFloat(2, 3));
        }
        held.close();
        out.println("   after export.close(): live exports = " + arena.liveExportCount());

        step(out, 7, "Close the arena; touching the view afterwards throws instead of reading freed memory");
        arena.close();
        try {
            m.getFloat(0, 0);
            out.println("   (unexpected: read succeeded)");
        } catch (IllegalStateException e) {
            out.println("   m.getFloat(0, 0) threw IllegalStateException: " + e.getMessage());
        }
        pythonSection(out);
        out.println();
        out.println("Done: one block of memory, typed views in Java, the same bytes in C, and no way to touch it after it is freed.");
        return 0;
    }

    private static void step(PrintStream out, int n, String title) {
        out.println();
        out.println(n + ". " + title);
    }

    private static String indent(String text) {
        return "   " + text.replace("\n", "\n   ");
    }

    /** Step 8: the same memory seen by NumPy inside this process (skipped without libpython or NumPy). */
    private static void pythonSection(PrintStream out) {
        step(out, 8, "NumPy in this very process (libpython through FFM): the same bytes, the same rules");
        if (!dev.panbuf.python.Python.isAvailable()) {
            out.println("   skipped: " + dev.panbuf.python.Python.unavailableReason().orElse("libpython is not available"));
            return;
        }
        BufferArena arena = BufferArena.ofConfined();
        try (dev.panbuf.python.PyScope py = dev.panbuf.python.Python.get().newScope()) {
            py.exec("import numpy as np");
            NdArray m = NdArray.allocate(arena, DType.INT32, 4, 5);
            for (long i = 0; i < 20; i++) {
                m.setInt((int) i, i / 5, i % 5);
            }
            py.putMemoryView("mv", m);
            py.exec("a = np.frombuffer(mv, dtype=np.int32).reshape(4, 5); a[0, 0] = 100");
            out.println("   np.frombuffer over Java memory: Python's address 0x" + Long.toHexString((Long) py.eval(
                    "a.__array_interface__['data'][0]")) + ", Java's 0x" + Long.toHexString(m.address())
                    + "; Python wrote a[0, 0] = 100, Java reads " + m.getInt(0, 0));
            NdArray s = NdArray.asStrided(m, 4, new long[] {3, 3}, new long[] {20, 4});
            py.exec("s = np.lib.stride_tricks.as_strided(a[0, 1:], shape=(3, 3), strides=(20, 4))");
            out.println("   as_strided both sides: Java " + java.util.Arrays.toString(s.toIntArray()) + ", NumPy "
                    + py.eval("s.ravel().tolist()"));
            py.putNumpy("r", m.asReadOnly());
            try {
                py.exec("r[0, 0] = 1");
            } catch (dev.panbuf.python.PythonException e) {
                out.println("   a read-only view in NumPy: r[0, 0] = 1 -> " + e.getMessage());
            }
            py.exec("ba = bytearray(b'shared')");
            NdArray held = py.buffer("ba", arena);
            try {
                py.exec("ba.append(33)");
            } catch (dev.panbuf.python.PythonException e) {
                out.println("   a bytearray Java holds (" + held.elementCount() + " bytes): ba.append(33) -> " + e.getMessage());
            }
            try {
                arena.close();
            } catch (LiveExportsException e) {
                out.println("   arena.close() while NumPy holds views: LiveExportsException (" + e.liveExports()
                        + " live exports; nothing freed)");
            }
            py.putNumpy("t", m.transpose());
            py.putNumpy("g", m.get("1:, ::2"));
            py.putNumpy("c", m.copy(dev.panbuf.Order.C, arena));
            out.println("   the conversion table from Python's side: np.shares_memory(a, transpose) = "
                    + py.eval("np.shares_memory(a, t)") + ", (a, slice) = " + py.eval("np.shares_memory(a, g)")
                    + ", (a, copy) = " + py.eval("np.shares_memory(a, c)"));
            py.exec("del mv, a, s, r, t, g, c, ba; import gc; gc.collect()");
        } finally {
            if (!arena.isClosed()) {
                arena.close();   // Python let go: nothing is exported any more
            }
        }
        out.println("   after Python let go, the arena closed: every view and buffer was released");
    }
}
