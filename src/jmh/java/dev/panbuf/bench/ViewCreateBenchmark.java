package dev.panbuf.bench;

import dev.panbuf.BufferArena;
import dev.panbuf.DType;
import dev.panbuf.Index;
import dev.panbuf.NdArray;
import dev.panbuf.Slice;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

import java.lang.foreign.MemorySegment;
import java.util.concurrent.TimeUnit;

/**
 * Making a view: slicing, transposing, reshaping, wrapping memory. Each returns
 * the new view, so the view itself is the allocation {@code -prof gc} reports.
 *
 * <p>Baselines: NumPy's same operation ({@code numpy:view_slice} is
 * {@code a[::1]}, {@code view_transpose} {@code m.T}, {@code view_reshape}
 * {@code a.reshape(32, 32)}, {@code frombuffer} {@code np.frombuffer(buf,
 * np.float32)}); target 20 ns and at least 5x faster than NumPy.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class ViewCreateBenchmark {

    private static final Slice EVERY_ONE = Slice.every(1);
    private static final Index[] INTERIOR_EVEN_COLUMNS = {Slice.of(1, -1), Slice.every(2)};

    NdArray vector;
    NdArray matrix;
    MemorySegment segment;
    private BufferArena arena;

    @Setup(Level.Trial)
    public void setup() {
        arena = BufferArena.ofConfined();
        vector = NdArray.allocate(arena, DType.FLOAT32, 1024);
        matrix = NdArray.allocate(arena, DType.FLOAT32, 32, 32);
        segment = vector.segment();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        arena.close();
    }

    /** {@code a.get(Slice.every(1))}, NumPy's {@code a[::1]}. */
    @Benchmark
    @Goal(maxNs = 20)
    @Goal(baseline = "numpy:view_slice", maxRatio = 0.2, text = ">= 5x faster")
    public NdArray slice() {
        return vector.get(EVERY_ONE);
    }

    /** {@code m.get(Slice.of(1, -1), Slice.every(2))}, NumPy's {@code m[1:-1, ::2]}. */
    @Benchmark
    @Goal(baseline = "numpy:view_slice_2d", maxRatio = 0.2, text = ">= 5x faster")
    public NdArray slice2d() {
        return matrix.get(INTERIOR_EVEN_COLUMNS);
    }

    /** {@code a.get("::1")}: the same slice parsed from text each time. Baseline: {@code numpy:view_slice}. */
    @Benchmark
    @Goal(baseline = "numpy:view_slice")
    public NdArray sliceText() {
        return vector.get("::1");
    }

    /** {@code m.transpose()}, NumPy's {@code m.T}. */
    @Benchmark
    @Goal(maxNs = 20)
    @Goal(baseline = "numpy:view_transpose", maxRatio = 0.2, text = ">= 5x faster")
    public NdArray transpose() {
        return matrix.transpose();
    }

    /** {@code a.reshape(32, 32)}, NumPy's {@code a.reshape(32, 32)}. */
    @Benchmark
    @Goal(maxNs = 20)
    @Goal(baseline = "numpy:view_reshape", maxRatio = 0.2, text = ">= 5x faster")
    public NdArray reshape() {
        return vector.reshape(32, 32);
    }

    /** {@code NdArray.of(segment, FLOAT32)}, NumPy's {@code np.frombuffer(buf, np.float32)}. */
    @Benchmark
    @Goal(maxNs = 20)
    @Goal(baseline = "numpy:frombuffer", maxRatio = 0.2, text = ">= 5x faster")
    public NdArray frombuffer() {
        return NdArray.of(segment, DType.FLOAT32);
    }
}
