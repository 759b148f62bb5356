package dev.panbuf.python;

import dev.panbuf.BufferArena;
import dev.panbuf.DType;
import dev.panbuf.Export;
import dev.panbuf.LeakCheck;
import dev.panbuf.NdArray;
import dev.panbuf.Order;
import dev.panbuf.format.NumpyDescr;
import dev.panbuf.npy.Npy;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * The README's "which conversions copy" table, checked from Python's side:
 * every row that says "no" gives NumPy an array at the same address that
 * {@code np.shares_memory} finds shared with the original; every row that
 * says "yes" gives one that shares nothing.
 */
@ExtendWith(LeakCheck.class)
class ConversionTableFromPythonTest {

    private PyScope py;

    @BeforeAll
    static void needsPython() {
        TestPython.require();
    }

    @BeforeEach
    void open() {
        py = Python.get().newScope();
        py.exec("import numpy as np, gc");
    }

    @AfterEach
    void close() {
        py.close();
    }

    private boolean shares(String a, NdArray b) {
        py.putNumpy("_b", b);
        try {
            assertEquals(b.address(), py.eval("_b.__array_interface__['data'][0]"), "NumPy sees the view's address");
            return (Boolean) py.eval("np.shares_memory(" + a + ", _b)");
        } finally {
            py.remove("_b");
        }
    }

    @Test
    void everyNoCopyRowSharesMemoryAndEveryCopyRowDoesNot() {
        try (BufferArena arena = BufferArena.ofConfined(); BufferArena imported = BufferArena.ofConfined()) {
            MemorySegment seg = arena.allocate(16 * 8, 64);
            NdArray m = NdArray.of(seg, DType.INT64, 4, 4);                   // MemorySegment -> NdArray
            py.putNumpy("base", m);
            assertEquals(seg.address(), py.eval("base.__array_interface__['data'][0]"));
            Map<String, NdArray> noCopy = new LinkedHashMap<>();
            noCopy.put("slice", m.get("1:, ::-2"));
            noCopy.put("transpose", m.transpose());
            noCopy.put("reshape", m.reshape(2, 8));
            noCopy.put("broadcastTo", m.get("0").broadcastTo(3, 4));
            noCopy.put("squeeze/expandDims", m.expandDims(0).squeeze());
            noCopy.put("asStrided", NdArray.asStrided(m, 8, new long[] {3}, new long[] {40}));
            noCopy.put("view", m.view(DType.FLOAT64));
            for (Map.Entry<String, NdArray> row : noCopy.entrySet()) {
                assertEquals(true, shares("base", row.getValue()), row.getKey());
            }
            // a record's field
            NdArray rec = NdArray.allocate(arena, NumpyDescr.parseDescr("[('x', '<i4'), ('y', '<f8')]"), 5);
            py.putNumpy("rec", rec);
            assertEquals(true, shares("rec", rec.field("y")), "field");
            // pb_buffer from C -> NdArray (here the "C" producer is panbuf's own export)
            Export e = m.export();
            NdArray fromC = NdArray.fromPbBuffer(e.handOff(), imported);
            assertEquals(true, shares("base", fromC), "fromPbBuffer");
            // copies, by name
            assertEquals(false, shares("base", m.copy(Order.C, arena)), "copy");
            NdArray target = NdArray.allocate(arena, DType.INT64, 4, 4);
            m.copyTo(target);
            assertEquals(false, shares("base", target), "copyTo");
            // heap memory never goes to Python: refused, and told why
            IllegalArgumentException heap = assertThrows(IllegalArgumentException.class,
                    () -> py.putNumpy("h", NdArray.wrap(new long[4])));
            assertEquals(true, heap.getMessage().contains("heap"));
            py.exec("del base, rec; gc.collect()");
        }
    }

    @Test
    void aMappedNpyFileIsTheSameFileInNumpy(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("shared.npy");
        try (BufferArena arena = BufferArena.ofConfined()) {
            NdArray mapped = Npy.create(file, DType.FLOAT32, Order.F, arena, 3, 4);   // open_memmap(mode='w+')
            py.putNumpy("j", mapped);
            py.put("path", file.toString());
            py.exec("m = np.load(path, mmap_mode='r+')");
            assertEquals(true, py.eval("m.flags.f_contiguous and m.shape == (3, 4)"));
            assertEquals(mapped.address(), py.eval("j.__array_interface__['data'][0]"), "no copy: the mapping itself");
            mapped.setFloat(1.5f, 2, 3);                      // Java writes the file's pages ...
            assertEquals(1.5, py.eval("float(m[2, 3])"));     // ... NumPy's own mapping of the file sees it
            py.exec("m[0, 1] = 7; m.flush(); del m, j; gc.collect()");
            assertEquals(7f, mapped.getFloat(0, 1));
        }
    }
}
