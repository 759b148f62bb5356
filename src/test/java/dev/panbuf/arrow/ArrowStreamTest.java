package dev.panbuf.arrow;

import dev.panbuf.BufferArena;
import dev.panbuf.DType;
import dev.panbuf.LeakCheck;
import dev.panbuf.NdArray;
import org.apache.arrow.c.ArrowArrayStream;
import org.apache.arrow.c.Data;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.Float8Vector;
import org.apache.arrow.vector.ipc.ArrowReader;
import org.duckdb.DuckDBConnection;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.lang.foreign.Arena;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.Iterator;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Arrow C stream interface: panbuf's streams read by panbuf itself, by
 * Arrow Java's reader and by DuckDB (a real SQL engine scanning 10^7 rows
 * of panbuf memory without a copy), and the errors a producer reports.
 */
@Tag("native")
@ExtendWith(LeakCheck.class)
class ArrowStreamTest {

    private static NdArray[] table(BufferArena a, long rows) {
        NdArray x = NdArray.allocate(a, DType.INT64, rows);
        NdArray y = NdArray.allocate(a, DType.FLOAT64, rows);
        for (long i = 0; i < rows; i++) {
            x.setLong(i % 1000 - 300, i);
            y.setDouble(i * 0.25, i);
        }
        return new NdArray[] {x, y};
    }

    @Test
    void panbufReadsItsOwnStreamBatchByBatch() {
        try (BufferArena a = BufferArena.ofShared()) {
            NdArray[] t = table(a, 1000);
            ArrowStreamExport s = Arrow.exportStream(Arrow.rowBlocks(List.of(Column.of("x", t[0]), Column.of("y", t[1])),
                    300)).handOff();
            long rows = 0;
            long sum = 0;
            try (ArrowStreamReader r = Arrow.importStream(s.stream()); Arena b = Arena.ofConfined()) {
                assertEquals(List.of("x", "y"), r.names());
                List<ImportedColumn> batch;
                while ((batch = r.next(b)) != null) {
                    NdArray x = batch.getFirst().values();
                    assertEquals(t[0].address() + 8 * rows, x.address());
                    for (long i = 0; i < x.shape()[0]; i++) {
                        sum += x.getLong(i);
                    }
                    rows += x.shape()[0];
                }
                assertNull(r.next(b));
                assertEquals(4, s.batchesExported());
            }
            assertEquals(1000, rows);
            long expected = 0;
            for (long i = 0; i < 1000; i++) {
                expected += i % 1000 - 300;
            }
            assertEquals(expected, sum);
            assertTrue(s.isReleased());
        }
    }

    @Test
    void arrowJavaReadsTheStream() throws Exception {
        try (BufferArena a = BufferArena.ofShared(); BufferAllocator allocator = new RootAllocator()) {
            NdArray[] t = table(a, 5000);
            ArrowStreamExport s = Arrow.exportStream(Arrow.rowBlocks(List.of(Column.of("x", t[0]), Column.of("y", t[1])),
                    1024)).handOff();
            long rows = 0;
            double ySum = 0;
            try (ArrowReader reader = Data.importArrayStream(allocator, ArrowArrayStream.wrap(s.stream().address()))) {
                while (reader.loadNextBatch()) {
                    BigIntVector x = (BigIntVector) reader.getVectorSchemaRoot().getVector("x");
                    Float8Vector y = (Float8Vector) reader.getVectorSchemaRoot().getVector("y");
                    assertEquals(t[0].address() + 8 * rows, x.getDataBufferAddress());
                    for (int i = 0; i < y.getValueCount(); i++) {
                        ySum += y.get(i);
                    }
                    rows += x.getValueCount();
                }
            }
            assertEquals(5000, rows);
            assertEquals(5000 * 4999 / 2 * 0.25, ySum);
            assertTrue(s.isReleased());
        }
    }

    @Test
    void duckDbSumsTenMillionRowsOfAPanbufStream() throws Exception {
        long rows = 10_000_000;
        try (BufferArena a = BufferArena.ofShared()) {
            NdArray[] t = table(a, rows);
            long xSum = 0;
            double ySum = 0;
            for (long i = 0; i < rows; i++) {
                xSum += t[0].getLong(i);
                ySum += t[1].getDouble(i);
            }
            ArrowStreamExport s = Arrow.exportStream(Arrow.rowBlocks(List.of(Column.of("x", t[0]), Column.of("y", t[1])),
                    1 << 17)).handOff();
            try (Connection c = DriverManager.getConnection("jdbc:duckdb:");
                 BufferAllocator allocator = new RootAllocator();
                 ArrowArrayStream stream = ArrowArrayStream.wrap(s.stream().address())) {
                c.unwrap(DuckDBConnection.class).registerArrowStream("t", stream);
                try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT sum(x), avg(y) FROM t")) {
                    assertTrue(rs.next());
                    assertEquals(xSum, rs.getLong(1));
                    assertEquals(ySum / rows, rs.getDouble(2), 1e-9 * Math.abs(ySum / rows));
                }
                assertEquals((rows + (1 << 17) - 1) >> 17, s.batchesExported());
                assertTrue(allocator.getAllocatedMemory() == 0);
            }
            // Closing the wrapper released the stream; DuckDB released every batch it took,
            // or the arena's close below would refuse, naming them.
            assertTrue(s.isReleased());
        }
    }

    @Test
    void producerErrorsReachTheConsumerWithTheirMessage() {
        try (BufferArena a = BufferArena.ofShared(); Arena b = Arena.ofConfined()) {
            NdArray x = NdArray.allocate(a, DType.INT32, 4);
            NdArray strided = NdArray.allocate(a, DType.INT32, 8).get("::2");
            NdArray other = NdArray.allocate(a, DType.FLOAT32, 4);
            Iterator<List<Column>> batches = List.of(List.of(Column.of("x", x)), List.of(Column.of("x", strided)),
                    List.of(Column.of("x", other))).iterator();
            ArrowStreamExport s = Arrow.exportStream(batches).handOff();
            try (ArrowStreamReader r = Arrow.importStream(s.stream())) {
                assertEquals(4, r.next(b).getFirst().values().shape()[0]);
                IllegalStateException e = assertThrows(IllegalStateException.class, () -> r.next(b));
                assertTrue(e.getMessage().contains("errno 22") && e.getMessage().contains("byte stride 8 is not the item"
                        + " size 4"), e.getMessage());
                e = assertThrows(IllegalStateException.class, () -> r.next(b));
                assertTrue(e.getMessage().contains("does not match the stream's schema"), e.getMessage());
            }
            assertTrue(s.isReleased());
        }
    }

    @Test
    void javaOwnedAndReleasedStreamsAreRefused() {
        try (BufferArena a = BufferArena.ofShared()) {
            NdArray x = NdArray.allocate(a, DType.INT32, 4);
            ArrowStreamExport s = Arrow.exportStream(List.of(List.of(Column.of("x", x))).iterator());
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Arrow.importStream(s.stream()));
            assertTrue(e.getMessage().contains("is still owned by Java"), e.getMessage());
            s.close();
            assertTrue(s.isReleased());
            e = assertThrows(IllegalArgumentException.class, () -> Arrow.importStream(s.stream()));
            assertTrue(e.getMessage().contains("is released (its release is NULL)"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> Arrow.exportStream(List.<List<Column>>of().iterator()));
            assertFalse(s.toString().isEmpty());
        }
    }
}
