package dev.panbuf.cli;

import dev.panbuf.BufferArena;
import dev.panbuf.DType;
import dev.panbuf.Export;
import dev.panbuf.LiveExportsException;
import dev.panbuf.NdArray;
import dev.panbuf.arrow.Arrow;
import dev.panbuf.arrow.ArrowExport;
import dev.panbuf.arrow.Column;
import dev.panbuf.arrow.ImportedColumn;
import dev.panbuf.python.PyScope;
import dev.panbuf.python.Python;
import dev.panbuf.python.PythonException;

import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

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
            freed while C holds it. Then the same with NumPy and PyTorch in this process (skipped
            when libpython, NumPy or PyTorch is missing), and a table handed out as an Arrow record
            batch: read back in place, and by pyarrow when the user's Python has it.""";

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
        torchSection(out);
        arrowSection(out);
        out.println();
        out.println("Done: one block of memory, typed views in Java, the same bytes in C, and no way to touch it after it is freed.");
        return 0;
    }

    /**
     * Runs {@code imports}; when Python cannot, prints "{@code skipped} ... has
     * no {@code module} (why); install it ..." and returns false.
     */
    private static boolean imported(PyScope py, Python python, PrintStream out, String imports, String skipped,
                                    String module, String pipName) {
        try {
            py.exec(imports);
            return true;
        } catch (PythonException e) {
            out.println("   " + skipped + " " + python.interpreter().map(Object::toString).orElse("this Python") + " has no "
                    + module + " (" + e.getMessage() + "); install it for that interpreter (python3 -m pip install "
                    + pipName + ")");
            return false;
        }
    }

    private static void step(PrintStream out, int n, String title) {
        out.println();
        out.println(n + ". " + title);
    }

    private static String indent(String text) {
        return "   " + text.replace("\n", "\n   ");
    }

    /**
     * Step 8: the same memory seen by NumPy inside this process, in the user's
     * own Python (skipped, with the reason, without Python, a shared
     * libpython or NumPy).
     */
    private static void pythonSection(PrintStream out) {
        step(out, 8, "NumPy in this very process (your Python, through FFM): the same bytes, the same rules");
        if (!pythonWithNumpy(out)) {
            return;
        }
        BufferArena arena = BufferArena.ofConfined();
        try (PyScope py = Python.get().newScope()) {
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
            } catch (PythonException e) {
                out.println("   a read-only view in NumPy: r[0, 0] = 1 -> " + e.getMessage());
            }
            py.exec("ba = bytearray(b'shared')");
            NdArray held = py.buffer("ba", arena);
            try {
                py.exec("ba.append(33)");
            } catch (PythonException e) {
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

    /** Prints which Python is used; false (after saying "skipped" and why) when there is none with NumPy. */
    private static boolean pythonWithNumpy(PrintStream out) {
        if (!Python.isAvailable()) {
            out.println("   skipped: Python is not available: " + Python.unavailableReason().orElse(""));
            return false;
        }
        Python python = Python.get();
        out.println(indent(python.describe()));
        if (python.numpyVersion().isEmpty()) {
            out.println("   skipped: " + python.interpreter().map(Object::toString).orElse("this Python") + " has no NumPy ("
                    + python.numpyProblem().orElse("") + "); install it for that interpreter (python3 -m pip install"
                    + " numpy), or choose another one with -Dpanbuf.python=/path/to/python");
            return false;
        }
        return true;
    }

    /**
     * Step 9: a real workload. Java allocates a batch of 32 RGB images of
     * 224 x 224 (float32, 18 MiB); PyTorch scales it in place and convolves it
     * with no copy of the input; Java reads both results, the convolution's
     * through DLPack from PyTorch's own memory. Skipped without PyTorch.
     */
    private static void torchSection(PrintStream out) {
        step(out, 9, "PyTorch on a batch Java allocated: an in-place op and a convolution, no copy either way");
        if (!Python.isAvailable() || Python.get().numpyVersion().isEmpty()) {
            out.println("   skipped: " + (Python.isAvailable() ? "no NumPy (see step 8)" : "no Python (see step 8)"));
            return;
        }
        Python python = Python.get();
        BufferArena inputs = BufferArena.ofConfined();
        try (PyScope py = python.newScope()) {
            if (!imported(py, python, out, "import torch", "skipped:", "PyTorch", "torch")) {
                return;
            }
            out.println("   PyTorch " + py.eval("torch.__version__"));
            long n = 32, c = 3, h = 224, w = 224;
            NdArray batch = NdArray.allocate(inputs, DType.FLOAT32, n, c, h, w);
            for (long i = 0; i < n; i++) {
                for (long k = 0; k < c; k++) {
                    for (long y = 0; y < h; y++) {
                        for (long x = 0; x < w; x++) {
                            batch.setFloat((float) ((i + 3 * k + y * 7 + x * 13) % 17), i, k, y, x);
                        }
                    }
                }
            }
            out.printf(Locale.ROOT, "   Java allocated batch %s float32 (%.1f MiB) at 0x%x%n", Arrays.toString(batch.shape()),
                    batch.byteSize() / 1048576.0, batch.address());
            py.putTensor("batch", batch);
            py.exec("x = torch.from_dlpack(batch)");
            long torchAddress = (Long) py.eval("x.data_ptr()");
            out.printf(Locale.ROOT, "   x = torch.from_dlpack(batch): x.data_ptr() = 0x%x %s%n", torchAddress,
                    torchAddress == batch.address() ? "(the same memory: nothing was copied)" : "(DIFFERENT!)");
            float before = batch.getFloat(7, 2, 100, 50);
            long t0 = System.nanoTime();
            py.exec("with torch.no_grad():\n    x.mul_(0.5).add_(1.0)");
            long t1 = System.nanoTime();
            out.printf(Locale.ROOT, "   x.mul_(0.5).add_(1.0) in %.1f ms: Java reads batch[7, 2, 100, 50] = %s (was %s)%n",
                    (t1 - t0) / 1e6, batch.getFloat(7, 2, 100, 50), before);
            py.exec("k = torch.full((8, 3, 3, 3), 1.0 / 27)\n"
                    + "with torch.no_grad():\n    y = torch.nn.functional.conv2d(x, k, padding=1)");
            long t2 = System.nanoTime();
            try (Arena results = Arena.ofConfined()) {
                NdArray y = py.fromDLPack("y", results);
                out.printf(Locale.ROOT, "   y = conv2d(x, 8 filters of 3 x 3) in %.1f ms: %s float32; Java views it at 0x%x,"
                        + " PyTorch's y.data_ptr() = 0x%x%n", (t2 - t1) / 1e6, Arrays.toString(y.shape()), y.address(),
                        (Long) py.eval("y.data_ptr()"));
                double expected = 0;
                for (long k = 0; k < c; k++) {
                    for (long dy = -1; dy <= 1; dy++) {
                        for (long dx = -1; dx <= 1; dx++) {
                            expected += batch.getFloat(5, k, 100 + dy, 60 + dx) / 27.0;
                        }
                    }
                }
                out.printf(Locale.ROOT, "   y[5, 3, 100, 60]: PyTorch %.5f, Java's own sum over the batch %.5f%n",
                        y.getFloat(5, 3, 100, 60), expected);
                try {
                    inputs.close();
                    out.println("   (unexpected: the arena closed while PyTorch holds the batch)");
                } catch (LiveExportsException e) {
                    out.println("   inputs.close() while PyTorch holds the batch: LiveExportsException (" + e.liveExports()
                            + " live export" + (e.liveExports() == 1 ? "" : "s") + "; nothing freed)");
                }
                py.exec("del x, y, batch");
            }   // closing results hands y back to PyTorch (its deleter runs once)
        } finally {
            if (!inputs.isClosed()) {
                inputs.close();
            }
        }
        out.println("   PyTorch let go: both arenas closed");
    }

    /**
     * Step 10: a table of two columns handed out as one Arrow record batch.
     * panbuf's own importer reads it back in place, the arena stays pinned
     * until the consumer releases it, and pyarrow (when the user's Python has
     * it) sums it at the same addresses.
     */
    private static void arrowSection(PrintStream out) {
        step(out, 10, "Arrow: a table Java allocated, handed out as a record batch with no copy");
        long rows = 1_000_000;
        BufferArena table = BufferArena.ofShared();
        NdArray id = NdArray.allocate(table, DType.INT64, rows);
        NdArray price = NdArray.allocate(table, DType.FLOAT64, rows);
        long idSum = 0;
        double priceSum = 0;
        for (long i = 0; i < rows; i++) {
            id.setLong(i, i);
            price.setDouble((i % 100) * 0.25, i);
            idSum += i;
            priceSum += (i % 100) * 0.25;
        }
        List<Column> columns = List.of(Column.of("id", id), Column.of("price", price));
        ArrowExport batch = Arrow.exportBatch(columns).handOff();
        out.printf(Locale.ROOT, "   Arrow.exportBatch(id int64, price float64), %d rows: struct ArrowArray at 0x%x, ArrowSchema at 0x%x%n",
                rows, batch.array().address(), batch.schema().address());
        try (Arena reader = Arena.ofShared()) {
            List<ImportedColumn> back = Arrow.importBatch(batch.array(), batch.schema(), reader);
            for (int c = 0; c < back.size(); c++) {
                NdArray original = columns.get(c).values();
                ImportedColumn imported = back.get(c);
                out.printf(Locale.ROOT, "   imported column %s: %s at 0x%x, Java's at 0x%x %s%n", imported.name(),
                        imported.values().dtype().name(), imported.values().address(), original.address(),
                        imported.values().address() == original.address() ? "(the same memory: nothing was copied)" : "(DIFFERENT!)");
            }
            out.println("   the import is read-only: " + back.get(0).values().isReadOnly());
            try {
                table.close();
                out.println("   (unexpected: the arena closed while the batch is imported)");
            } catch (LiveExportsException e) {
                out.println("   table.close() while a consumer holds the batch: LiveExportsException (" + e.liveExports()
                        + " live export" + (e.liveExports() == 1 ? "" : "s") + "; nothing freed)");
            }
        }   // closing the reader calls the batch's release: the consumer lets go
        out.println("   after the consumer's release: batch released " + batch.isReleased() + ", live exports "
                + table.liveExportCount());
        pyarrowPart(out, columns, idSum, priceSum);
        table.close();
        out.println("   the table's arena closed");
    }

    private static void pyarrowPart(PrintStream out, List<Column> columns, long idSum, double priceSum) {
        if (!Python.isAvailable()) {
            out.println("   pyarrow: skipped, no Python (see step 8)");
            return;
        }
        Python python = Python.get();
        try (PyScope py = python.newScope()) {
            if (!imported(py, python, out, "import pyarrow as pa, pyarrow.compute as pc, gc", "pyarrow: skipped,", "pyarrow",
                    "pyarrow")) {
                return;
            }
            ArrowExport batch = Arrow.exportBatch(columns).handOff();
            py.put("array_ptr", batch.array().address());
            py.put("schema_ptr", batch.schema().address());
            py.exec("rb = pa.RecordBatch._import_from_c(array_ptr, schema_ptr)\n"
                    + "id_address = rb.column(0).buffers()[1].address\n"
                    + "id_sum = pc.sum(rb['id']).as_py()\n"
                    + "price_sum = pc.sum(rb['price']).as_py()\n"
                    + "schema_text = str(rb.schema).replace('\\n', ', ')\n");
            long address = ((Number) py.get("id_address")).longValue();
            out.printf(Locale.ROOT, "   pyarrow %s: RecordBatch._import_from_c gives schema (%s); id's buffer at 0x%x %s%n",
                    py.eval("pa.__version__"), py.get("schema_text"), address,
                    address == columns.get(0).values().address() ? "(Java's memory: nothing was copied)" : "(DIFFERENT!)");
            out.printf(Locale.ROOT, "   pc.sum: id %d (Java's own sum %d), price %.2f (Java's %.2f)%n",
                    ((Number) py.get("id_sum")).longValue(), idSum, ((Number) py.get("price_sum")).doubleValue(), priceSum);
            py.exec("del rb\ngc.collect()");
            out.println("   del rb in Python: the batch's release ran: " + batch.isReleased());
        }
    }
}
