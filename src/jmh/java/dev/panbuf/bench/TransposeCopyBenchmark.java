package dev.panbuf.bench;

import dev.panbuf.BufferArena;
import dev.panbuf.DType;
import dev.panbuf.NdArray;
import dev.panbuf.Order;
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

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.TimeUnit;

/**
 * A strided-to-contiguous copy: the transpose of a {@code side x side}
 * float32 matrix into C order, NumPy's {@code np.ascontiguousarray(a.T)}
 * ({@code side} 512 is 1 MiB, in cache; 4096 is 64 MiB).
 *
 * <p>Baselines: {@code numpy:transpose_copy} (allocates its result, as
 * {@link #viewCopyOrderC} does); {@link #cBlocked}, C with 32 x 32 tiles, is the
 * machine's limit for {@link #viewCopyTo}, which copies into a preallocated array.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class TransposeCopyBenchmark {

    @Param({"512", "4096"})
    public int side;

    float[] src;
    float[] dst;
    NdArray transposed;
    NdArray destination;
    MemorySegment srcNative;
    MemorySegment dstNative;
    private BufferArena arena;

    @Setup(Level.Trial)
    public void setup() {
        int n = side * side;
        src = new float[n];
        dst = new float[n];
        for (int i = 0; i < n; i++) {
            src[i] = i;
        }
        arena = BufferArena.ofConfined();
        NdArray m = NdArray.allocate(arena, DType.FLOAT32, side, side);
        srcNative = m.segment();
        MemorySegment.copy(MemorySegment.ofArray(src), 0, srcNative, 0, 4L * n);
        transposed = m.transpose();
        destination = NdArray.allocate(arena, DType.FLOAT32, side, side);
        dstNative = destination.segment();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        arena.close();
    }

    /** {@code float[]}, the plain double loop along the destination's rows. Baseline: {@link #cBlocked}. */
    @Benchmark
    @Goal(baseline = "cBlocked")
    public float[] floatArrayNaive() {
        int s = side;
        for (int c = 0; c < s; c++) {
            for (int r = 0; r < s; r++) {
                dst[c * s + r] = src[r * s + c];
            }
        }
        return dst;
    }

    /** {@code float[]} in 32 x 32 tiles. Baseline: {@link #cBlocked}. */
    @Benchmark
    @Goal(baseline = "cBlocked")
    public float[] floatArrayBlocked() {
        int s = side;
        for (int r0 = 0; r0 < s; r0 += 32) {
            for (int c0 = 0; c0 < s; c0 += 32) {
                for (int c = c0; c < Math.min(s, c0 + 32); c++) {
                    for (int r = r0; r < Math.min(s, r0 + 32); r++) {
                        dst[c * s + r] = src[r * s + c];
                    }
                }
            }
        }
        return dst;
    }

    /** C, 32 x 32 tiles, native memory, through a downcall: the machine's limit. Baseline: {@code numpy:transpose_copy}. */
    @Benchmark
    @Goal(baseline = "numpy:transpose_copy")
    public MemorySegment cBlocked() throws Throwable {
        NativeBaselines.TRANSPOSE_F32.invokeExact(dstNative, srcNative, (long) side, (long) side, 32L);
        return dstNative;
    }

    /** panbuf: {@code m.transpose().copyTo(destination)}, native memory. Baselines: {@link #cBlocked}, NumPy. */
    @Benchmark
    @Goal(baseline = "cBlocked")
    @Goal(baseline = "numpy:transpose_copy", maxRatio = 0.5)
    public NdArray viewCopyTo() {
        transposed.copyTo(destination);
        return destination;
    }

    /**
     * panbuf: {@code m.transpose().copy(Order.C, arena)} into a fresh confined
     * arena, closed after each copy: allocation, zeroing and copy, like NumPy's
     * {@code ascontiguousarray(a.T)}. Baseline: {@code numpy:transpose_copy}.
     */
    @Benchmark
    @Goal(baseline = "numpy:transpose_copy", maxRatio = 0.5)
    public float viewCopyOrderC() {
        try (Arena a = Arena.ofConfined()) {
            return transposed.copy(Order.C, a).getFloat(1, 0);
        }
    }
}
