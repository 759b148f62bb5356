package dev.panbuf.bench;

import dev.panbuf.BufferArena;
import dev.panbuf.DType;
import dev.panbuf.Export;
import dev.panbuf.NdArray;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.util.concurrent.TimeUnit;

/**
 * Handing an off-heap array to C without copying: export it as a
 * {@code pb_buffer}, call a C function that reads element 0 through it, release
 * the export. The C side does O(1) work, so what is measured is panbuf's
 * hand-off, which must not depend on the array's size (1 KiB to 1 GiB).
 *
 * <p>Baselines: {@link #nativeSegmentCall} (the same C work on the raw
 * address, no export); {@code HeapToCBenchmark.copyInCopyOut} at 64 MiB, what
 * copying costs instead; this benchmark's own 1 KiB figure, for O(1).
 * The 1 GiB array lies outside the 1 GiB Java heap, but FFM counts native
 * allocations against {@code -XX:MaxDirectMemorySize} (by default the heap's
 * size), so these forks raise it.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(jvmArgsAppend = "-XX:MaxDirectMemorySize=3g")
@Warmup(iterations = 10, time = 500, timeUnit = TimeUnit.MILLISECONDS)   // the export path compiles slowly
public class ExportCallBenchmark {

    @Param({"1KiB", "1MiB", "64MiB", "1GiB"})
    public String size;

    NdArray view;
    private BufferArena arena;

    @Setup(Level.Trial)
    public void setup() {
        arena = BufferArena.ofConfined();
        view = NdArray.allocate(arena, DType.FLOAT32, Sizes.bytes(size) / 4);
        view.setFloat(1.5f, 0);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        arena.close();
    }

    /** {@code try (Export e = view.export()) { c(e.pointer()); }}: export, call, release. */
    @Benchmark
    @Goal(baseline = "exportCallRelease", baselineParams = "size=1KiB", when = "size=1GiB", maxRatio = 1.25,
            text = "O(1): 1 GiB within 1.25x of 1 KiB")
    @Goal(baseline = "HeapToCBenchmark.copyInCopyOut", when = "size=64MiB", maxRatio = 1e-4,
            text = ">= 10,000x cheaper than copying")
    @Goal(baseline = "nativeSegmentCall")
    public float exportCallRelease() throws Throwable {
        try (Export e = view.export()) {
            return (float) NativeBaselines.PB_FIRST_F32.invokeExact(e.pointer());
        }
    }

    /** The same C work on the raw address of the native segment: no export, nothing pinned. */
    @Benchmark
    public float nativeSegmentCall() throws Throwable {
        return (float) NativeBaselines.FIRST_F32.invokeExact(view.segment());
    }
}
