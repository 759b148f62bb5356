package dev.panbuf.bench;

import dev.panbuf.BufferArena;
import dev.panbuf.DType;
import dev.panbuf.GrowableBuffer;
import dev.panbuf.NdArray;
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

import java.util.concurrent.TimeUnit;

/**
 * What a {@link GrowableBuffer}'s safety costs: its views reach the memory
 * through an access scope of their own, which a move closes first so that no
 * write is lost. Element loops over such a view, and making one, against the
 * same over a plain view of a shared {@link BufferArena} (the baselines,
 * {@link #plainViewSum} and {@link #plainView}). Target: loops within 1.05x,
 * view creation within 20 ns (no lock taken: the buffer publishes what views need).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class GrowableViewBenchmark {

    @Param({"1MiB"})
    public String size;

    private BufferArena arena;
    private GrowableBuffer growable;
    NdArray plain;
    NdArray grown;

    @Setup(Level.Trial)
    public void setup() {
        int n = Sizes.elements(size, 4);
        arena = BufferArena.ofShared();
        plain = NdArray.allocate(arena, DType.FLOAT32, n);
        growable = GrowableBuffer.ofShared(16);
        growable.resize(4L * n);   // moved a few times on the way: the view is of its current memory
        grown = growable.view(DType.FLOAT32);
        for (int i = 0; i < n; i++) {
            plain.setFloat((i % 1000) * 0.25f, i);
            grown.setFloat((i % 1000) * 0.25f, i);
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        growable.close();
        arena.close();
    }

    /** The baseline loop: a plain view of a shared arena. */
    @Benchmark
    public float plainViewSum() {
        return Float32SumBenchmark.view(plain);
    }

    /** The same loop over a growable buffer's view. Baseline: {@link #plainViewSum}. */
    @Benchmark
    @Goal(baseline = "plainViewSum", maxRatio = 1.05)
    public float growableViewSum() {
        return Float32SumBenchmark.view(grown);
    }

    /** {@code NdArray.of} over a plain arena's memory: the baseline for making a view. */
    @Benchmark
    @OutputTimeUnit(TimeUnit.NANOSECONDS)
    public NdArray plainView() {
        return NdArray.of(plain.segment(), DType.FLOAT32);
    }

    /** {@code buf.view(FLOAT32)}: reads what the buffer published and makes the view. Baseline: {@link #plainView}. */
    @Benchmark
    @OutputTimeUnit(TimeUnit.NANOSECONDS)
    @Goal(maxNs = 20)
    public NdArray growableView() {
        return growable.view(DType.FLOAT32);
    }
}
