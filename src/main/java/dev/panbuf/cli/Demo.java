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

    private Demo() {}

    static int run(String[] args, PrintStream out) {
        if (args.length > 0) {
            throw new IllegalArgumentException("demo takes no arguments, got " + Arrays.toString(args));
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
}
