package dev.panbuf.bench;

import dev.panbuf.BufferArena;
import dev.panbuf.DType;
import dev.panbuf.NdArray;
import dev.panbuf.arrow.Arrow;
import dev.panbuf.arrow.ArrowExport;
import org.apache.arrow.c.ArrowArray;
import org.apache.arrow.c.ArrowSchema;
import org.apache.arrow.c.Data;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.Float8Vector;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

import java.lang.foreign.MemorySegment;
import java.util.concurrent.TimeUnit;

/**
 * Handing a float64 column to Arrow Java: panbuf's Arrow export imported by
 * Arrow Java's C data module ({@code Data.importVector}), then the vector
 * closed (which releases the export), against building an Arrow Java
 * vector of the same values by copying them ({@code allocateNew}, a bulk
 * copy into its data buffer, {@code close}). The export does O(1) work, so
 * its time must not grow with the column (1 KiB to 64 MiB).
 *
 * <p>Baselines: {@link #copyIntoArrowJavaVector} at the same size, and this
 * benchmark's own 1 KiB figure, for O(1).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class ArrowExportBenchmark {

    @Param({"1KiB", "64MiB"})
    public String size;

    private BufferArena arena;
    private BufferAllocator allocator;
    private NdArray column;

    @Setup(Level.Trial)
    public void setup() {
        arena = BufferArena.ofShared();   // JMH may run setup and the benchmark on different threads
        allocator = new RootAllocator();
        column = NdArray.allocate(arena, DType.FLOAT64, Sizes.bytes(size) / 8);
        for (long i = 0; i < column.shape()[0]; i++) {
            column.setDouble(i, i);
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        allocator.close();
        arena.close();
    }

    /** {@code Arrow.exportArray(column).handOff()}, {@code Data.importVector}, read one value, close the vector. */
    @Benchmark
    @Goal(baseline = "copyIntoArrowJavaVector", when = "size=64MiB", maxRatio = 1e-3,
            text = ">= 1,000x cheaper than copying into an Arrow Java vector")
    @Goal(baseline = "exportToArrowJava", baselineParams = "size=1KiB", when = "size=64MiB", maxRatio = 1.25,
            text = "O(1): 64 MiB within 1.25x of 1 KiB")
    public double exportToArrowJava() {
        ArrowExport e = Arrow.exportArray(column).handOff();
        try (FieldVector v = Data.importVector(allocator, ArrowArray.wrap(e.array().address()),
                ArrowSchema.wrap(e.schema().address()), null)) {
            return ((Float8Vector) v).get(1);
        }
    }

    /** panbuf's side alone: export the column and release it from Java (no consumer). */
    @Benchmark
    public boolean exportRelease() {
        ArrowExport e = Arrow.exportArray(column);
        e.close();
        return e.isReleased();
    }

    /** An Arrow Java vector filled by copying the column: what handing it over costs without the C data interface. */
    @Benchmark
    public double copyIntoArrowJavaVector() {
        int n = Math.toIntExact(column.shape()[0]);
        try (Float8Vector v = new Float8Vector("x", allocator)) {
            v.allocateNew(n);
            MemorySegment.copy(column.segment(), column.byteOffset(),
                    MemorySegment.ofAddress(v.getDataBufferAddress()).reinterpret(8L * n), 0, 8L * n);
            v.getValidityBuffer().setOne(0, (n + 7) / 8);   // every value valid, as the export says
            v.setValueCount(n);
            return v.get(1);
        }
    }
}
