package dev.panbuf.python;

import dev.panbuf.BufferArena;
import dev.panbuf.DType;
import dev.panbuf.LeakCheck;
import dev.panbuf.NdArray;
import dev.panbuf.arrow.Arrow;
import dev.panbuf.arrow.ArrowExport;
import dev.panbuf.arrow.ArrowStreamExport;
import dev.panbuf.arrow.Column;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * pyarrow in the same process, through the Python bridge, as a real Arrow
 * peer: {@code pa.Array._import_from_c} of panbuf's exports (pyarrow's
 * buffer address is panbuf's), {@code _export_to_c} of pyarrow arrays into
 * structs panbuf imports (panbuf's view address is pyarrow's), and
 * {@code pa.RecordBatchReader._import_from_c} of a panbuf stream, with every
 * release observed.
 */
@Tag("python-peers")
@ExtendWith(LeakCheck.class)
class PeersArrowTest {

    @BeforeAll
    static void needsPyarrow() {
        TestPython.requireModules("pyarrow", "pyarrow.compute");
    }

    @Test
    void pyarrowImportsPanbufColumnsAtTheSameAddress() {
        Python py = Python.get();
        try (BufferArena a = BufferArena.ofShared(); PyScope s = py.newScope()) {
            NdArray x = NdArray.allocate(a, DType.FLOAT32, 1000);
            for (long i = 0; i < 1000; i++) {
                x.setFloat(i * 0.5f, i);
            }
            ArrowExport e = Arrow.exportArray(Column.of("x", x)).handOff();
            s.put("array_ptr", e.array().address());
            s.put("schema_ptr", e.schema().address());
            s.exec("import pyarrow as pa, pyarrow.compute as pc, gc\n"
                    + "arr = pa.Array._import_from_c(array_ptr, schema_ptr)\n"
                    + "address = arr.buffers()[1].address\n"
                    + "total = pc.sum(arr).as_py()\n"
                    + "kind = str(arr.type)\n");
            assertEquals(x.address(), ((Number) s.get("address")).longValue());
            assertEquals(999 * 1000 / 2 * 0.5, ((Number) s.get("total")).doubleValue(), 1e-3);
            assertEquals("float", s.get("kind"));
            assertFalse(e.isReleased());
            s.exec("del arr\ngc.collect()");
            assertTrue(e.isReleased(), "pyarrow released the array when it dropped it");
        }
    }

    @Test
    void panbufImportsPyarrowArraysAtTheSameAddress() {
        Python py = Python.get();
        try (PyScope s = py.newScope(); Arena structs = Arena.ofConfined()) {
            MemorySegment array = structs.allocate(80, 8);
            MemorySegment schema = structs.allocate(72, 8);
            s.put("array_ptr", array.address());
            s.put("schema_ptr", schema.address());
            s.exec("import pyarrow as pa, gc\n"
                    + "src = pa.array(range(100), type=pa.int64())\n"
                    + "address = src.buffers()[1].address\n"
                    + "src._export_to_c(array_ptr, schema_ptr)\n");
            long address = ((Number) s.get("address")).longValue();
            try (Arena b = Arena.ofConfined()) {
                NdArray v = Arrow.importArray(array, schema, b);
                assertEquals(address, v.address());
                assertEquals(99, v.getLong(99));
                s.exec("del src\ngc.collect()");
                assertEquals(42, v.getLong(42), "the import keeps pyarrow's buffer alive");
            }
        }
    }

    @Test
    void pyarrowReadsAPanbufStream() {
        Python py = Python.get();
        try (BufferArena a = BufferArena.ofShared(); PyScope s = py.newScope()) {
            NdArray x = NdArray.allocate(a, DType.INT64, 10_000);
            NdArray t = NdArray.allocate(a, DType.FLOAT64, 10_000, 2, 2);
            long expected = 0;
            for (long i = 0; i < 10_000; i++) {
                x.setLong(i - 5000, i);
                expected += i - 5000;
            }
            ArrowStreamExport stream = Arrow.exportStream(Arrow.rowBlocks(List.of(Column.of("x", x), Column.of("t", t)),
                    4096)).handOff();
            s.put("stream_ptr", stream.stream().address());
            s.exec("import pyarrow as pa, pyarrow.compute as pc, gc\n"
                    + "reader = pa.RecordBatchReader._import_from_c(stream_ptr)\n"
                    + "table = reader.read_all()\n"
                    + "rows = table.num_rows\n"
                    + "total = pc.sum(table['x']).as_py()\n"
                    + "first = table['x'].chunks[0].buffers()[1].address\n"
                    + "tensor = str(table.schema.field('t').type)\n"
                    + "del reader, table\ngc.collect()\n");
            assertEquals(10_000L, ((Number) s.get("rows")).longValue());
            assertEquals(expected, ((Number) s.get("total")).longValue());
            assertEquals(x.address(), ((Number) s.get("first")).longValue());
            assertTrue(String.valueOf(s.get("tensor")).contains("fixed_shape_tensor"), String.valueOf(s.get("tensor")));
            assertTrue(stream.isReleased());
        }
    }

    @Test
    void theDemoHandsTheBatchToPyarrowAtJavasAddresses() {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        int code = dev.panbuf.cli.Main.run(new String[] {"demo"},
                new java.io.PrintStream(out, true, java.nio.charset.StandardCharsets.UTF_8), System.err);
        String text = out.toString(java.nio.charset.StandardCharsets.UTF_8);
        assertEquals(0, code, text);
        String section = text.substring(text.indexOf("10. Arrow: a table Java allocated"));
        java.util.regex.Matcher id = java.util.regex.Pattern.compile("imported column id: int64 at \\S+, Java's at (0x\\w+)")
                .matcher(section);
        assertTrue(id.find(), section);
        assertTrue(section.contains("gives schema (id: int64 not null, price: double not null); id's buffer at " + id.group(1)
                + " (Java's memory: nothing was copied)"), section);
        assertTrue(section.contains("pc.sum: id 499999500000 (Java's own sum 499999500000), price 12375000.00 (Java's"
                + " 12375000.00)"), section);
        assertTrue(section.contains("del rb in Python: the batch's release ran: true"), section);
        assertTrue(section.contains("the table's arena closed"), section);
    }
}
