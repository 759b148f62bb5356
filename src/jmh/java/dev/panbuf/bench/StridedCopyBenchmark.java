package dev.panbuf.bench;

import dev.panbuf.BufferArena;
import dev.panbuf.DType;
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

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.concurrent.TimeUnit;

/**
 * {@code copyTo} between layouts that are not both contiguous, into a C-order
 * destination allocated once, against NumPy's {@code np.copyto(dst, src)} on
 * the same layouts ({@code numpy:strided_copy}, same {@code case}):
 *
 * <ul>
 * <li>{@code perm021}, {@code perm210}, {@code perm102}: a 256 x 256 x 256
 *     float32 array (64 MiB) transposed by those axes;
 * <li>{@code nchw2nhwc}, {@code nhwc2nchw}: a 32 x 64 x 56 x 56 float32
 *     tensor (25 MiB) between channels-first and channels-last;
 * <li>{@code reverse}: {@code a[::-1]} of 16 Mi float32 (64 MiB);
 * <li>{@code broadcast}: one 4096-element float32 row broadcast to 4096 x 4096 (64 MiB written);
 * <li>{@code swapF4}, {@code swapF8}: 64 MiB of {@code >f4} into {@code <f4},
 *     of {@code >f8} into {@code <f8}.
 * </ul>
 *
 * <p>The machine's copy bandwidth for 64 MiB is {@code CopyContiguousBenchmark.memcpy}.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class StridedCopyBenchmark {

    @Param({"perm021", "perm210", "perm102", "nchw2nhwc", "nhwc2nchw", "reverse", "broadcast", "swapF4", "swapF8"})
    public String layout;

    NdArray source;
    NdArray destination;
    private BufferArena arena;

    @Setup(Level.Trial)
    public void setup() {
        arena = BufferArena.ofConfined();
        DType f4 = DType.FLOAT32;
        switch (layout) {
            case "perm021" -> transpose(f4, new long[] {256, 256, 256}, 0, 2, 1);
            case "perm210" -> transpose(f4, new long[] {256, 256, 256}, 2, 1, 0);
            case "perm102" -> transpose(f4, new long[] {256, 256, 256}, 1, 0, 2);
            case "nchw2nhwc" -> transpose(f4, new long[] {32, 64, 56, 56}, 0, 2, 3, 1);
            case "nhwc2nchw" -> transpose(f4, new long[] {32, 56, 56, 64}, 0, 3, 1, 2);
            case "reverse" -> {
                source = filled(f4, 16L << 20).get("::-1");
                destination = NdArray.allocate(arena, f4, 16L << 20);
            }
            case "broadcast" -> {
                source = filled(f4, 4096).broadcastTo(4096, 4096);
                destination = NdArray.allocate(arena, f4, 4096, 4096);
            }
            case "swapF4" -> {
                source = filled(f4.withByteOrder(ByteOrder.BIG_ENDIAN), 16L << 20);
                destination = NdArray.allocate(arena, f4.withByteOrder(ByteOrder.LITTLE_ENDIAN), 16L << 20);
            }
            case "swapF8" -> {
                source = filled(DType.FLOAT64.withByteOrder(ByteOrder.BIG_ENDIAN), 8L << 20);
                destination = NdArray.allocate(arena, DType.FLOAT64.withByteOrder(ByteOrder.LITTLE_ENDIAN), 8L << 20);
            }
            default -> throw new IllegalArgumentException("no layout " + layout);
        }
        source.copyTo(destination);   // touches every destination page before timing
    }

    private void transpose(DType t, long[] shape, int... axes) {
        source = filled(t, shape).transpose(axes);
        destination = NdArray.allocate(arena, t, source.shape());
    }

    /** A C-order array of {@code shape} whose bytes are all set (nonzero, distinct per int). */
    private NdArray filled(DType t, long... shape) {
        NdArray a = NdArray.allocate(arena, t, shape);
        MemorySegment s = a.segment();
        long ints = s.byteSize() / 4;
        for (long i = 0; i < ints; i++) {
            s.setAtIndex(ValueLayout.JAVA_INT, i, (int) (i * 0x9E3779B1L));
        }
        return a;
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        arena.close();
    }

    /** {@code source.copyTo(destination)}. Baseline: NumPy's {@code np.copyto} of the same layouts. */
    @Benchmark
    @Goal(baseline = "numpy:strided_copy", maxRatio = 0.8)
    public NdArray viewCopyTo() {
        source.copyTo(destination);
        return destination;
    }
}
