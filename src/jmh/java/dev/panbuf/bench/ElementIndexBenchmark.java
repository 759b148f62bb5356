package dev.panbuf.bench;

import dev.panbuf.BufferArena;
import dev.panbuf.DType;
import dev.panbuf.NdArray;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

import java.util.concurrent.TimeUnit;

/**
 * What a single element access costs by the kind of index: the last element
 * of a 1-d float32 view of 1,024 elements read as {@code getFloat(1023)} and
 * as {@code getFloat(-1)} (NumPy's rule: counting from the end). Non-negative
 * indices take the one bounds check the JIT can remove from loops; a negative
 * index takes the slow path of that check. Baseline: {@link #lastByPosition}.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class ElementIndexBenchmark {

    private BufferArena arena;
    NdArray view;
    long last;
    long fromEnd;

    @Setup(Level.Trial)
    public void setup() {
        arena = BufferArena.ofConfined();
        view = NdArray.allocate(arena, DType.FLOAT32, 1024);
        view.setFloat(1.5f, 1023);
        last = 1023;
        fromEnd = -1;
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        arena.close();
    }

    /** {@code getFloat(1023)}: the baseline. */
    @Benchmark
    public float lastByPosition() {
        return view.getFloat(last);
    }

    /** {@code getFloat(-1)}: the same element, counted from the end. Baseline: {@link #lastByPosition}. */
    @Benchmark
    @Goal(baseline = "lastByPosition")
    public float lastFromEnd() {
        return view.getFloat(fromEnd);
    }
}
