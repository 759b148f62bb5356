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
import java.util.concurrent.TimeUnit;

/**
 * Copying a contiguous float32 array into another of the same size: the JDK's
 * copies, C's {@code memcpy} through a downcall, and panbuf's {@code copyTo}
 * between views of heap and of native memory (destinations allocated once).
 *
 * <p>Baselines: {@link #systemArraycopy} at every size and {@link #memcpy}
 * (the machine's copy bandwidth) past the LLC; {@code numpy:copy} is NumPy's
 * {@code np.copyto(dst, src)}.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class CopyContiguousBenchmark {

    @Param({"4KiB", "1MiB", "64MiB"})
    public String size;

    long bytes;
    float[] srcArray;
    float[] dstArray;
    MemorySegment srcHeap;
    MemorySegment dstHeap;
    MemorySegment srcNative;
    MemorySegment dstNative;
    NdArray srcHeapView;
    NdArray dstHeapView;
    NdArray srcNativeView;
    NdArray dstNativeView;
    private BufferArena arena;

    @Setup(Level.Trial)
    public void setup() {
        bytes = Sizes.bytes(size);
        int n = Math.toIntExact(bytes / 4);
        srcArray = new float[n];
        dstArray = new float[n];
        for (int i = 0; i < n; i++) {
            srcArray[i] = i;
        }
        srcHeap = MemorySegment.ofArray(srcArray);
        dstHeap = MemorySegment.ofArray(dstArray);
        srcHeapView = NdArray.wrap(srcArray);
        dstHeapView = NdArray.wrap(dstArray);
        arena = BufferArena.ofConfined();
        srcNativeView = NdArray.allocate(arena, DType.FLOAT32, n);
        dstNativeView = NdArray.allocate(arena, DType.FLOAT32, n);
        srcNative = srcNativeView.segment();
        dstNative = dstNativeView.segment();
        MemorySegment.copy(srcHeap, 0, srcNative, 0, bytes);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        arena.close();
    }

    /** {@code System.arraycopy} between two {@code float[]}: the baseline at every size. */
    @Benchmark
    @Goal(baseline = "numpy:copy")
    public float[] systemArraycopy() {
        System.arraycopy(srcArray, 0, dstArray, 0, srcArray.length);
        return dstArray;
    }

    /** libc {@code memcpy} between native segments, through a downcall: the machine's copy bandwidth. */
    @Benchmark
    @Goal(baseline = "systemArraycopy")
    public MemorySegment memcpy() throws Throwable {
        NativeBaselines.MEMCPY.invokeExact(dstNative, srcNative, bytes);
        return dstNative;
    }

    /** {@code MemorySegment.copy} between heap segments. Baseline: {@link #systemArraycopy}. */
    @Benchmark
    @Goal(baseline = "systemArraycopy")
    public MemorySegment segmentCopyHeap() {
        MemorySegment.copy(srcHeap, 0, dstHeap, 0, bytes);
        return dstHeap;
    }

    /** {@code MemorySegment.copy} between native segments. Baselines: {@link #systemArraycopy}, {@link #memcpy}. */
    @Benchmark
    @Goal(baseline = "systemArraycopy")
    @Goal(baseline = "memcpy")
    public MemorySegment segmentCopyNative() {
        MemorySegment.copy(srcNative, 0, dstNative, 0, bytes);
        return dstNative;
    }

    /** panbuf {@code copyTo} between views of {@code float[]}s. Baseline: {@link #systemArraycopy}. */
    @Benchmark
    @Goal(baseline = "systemArraycopy", maxRatio = 1 / 0.9, text = ">= 0.9x its speed")
    public NdArray viewCopyToHeap() {
        srcHeapView.copyTo(dstHeapView);
        return dstHeapView;
    }

    /** panbuf {@code copyTo} between views of native memory. Baselines: {@link #systemArraycopy}, {@link #memcpy}. */
    @Benchmark
    @Goal(baseline = "systemArraycopy", maxRatio = 1 / 0.9, text = ">= 0.9x its speed")
    @Goal(baseline = "memcpy", when = "size=64MiB", maxRatio = 1 / 0.9, text = ">= 0.9x its bandwidth")
    @Goal(baseline = "numpy:copy")
    public NdArray viewCopyToNative() {
        srcNativeView.copyTo(dstNativeView);
        return dstNativeView;
    }
}
