package dev.panbuf.bench;

import dev.panbuf.BufferArena;
import dev.panbuf.CriticalCall;
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
import org.openjdk.jmh.infra.BenchmarkParams;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.util.concurrent.TimeUnit;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

/**
 * Handing a Java heap array to C for one call that reads element 0: through a
 * critical downcall (no copy; plain FFM, and panbuf's {@link CriticalCall}),
 * through JNI's {@code GetPrimitiveArrayCritical}, or by copying into a fresh
 * arena and back, as code must when it cannot pin the array.
 *
 * <p>Baseline: {@link #nativeSegmentCall}, the same call on native memory.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class HeapToCBenchmark {

    /** panbuf's critical handle to {@code pbb_first_f32}, a constant. */
    static final MethodHandle FIRST_F32_CRITICAL = CriticalCall.downcall(
            NativeBaselines.FIRST_F32_SYMBOL, FunctionDescriptor.of(JAVA_FLOAT, ADDRESS));

    @Param({"1KiB", "1MiB", "64MiB"})
    public String size;

    float[] array;
    NdArray heapView;
    NdArray nativeView;
    private BufferArena arena;

    @Setup(Level.Trial)
    public void setup(BenchmarkParams params) {
        if (params.getBenchmark().endsWith(".jniCriticalArray")) {
            Jni.require();
        }
        array = new float[Sizes.elements(size, 4)];
        array[0] = 1.5f;
        heapView = NdArray.wrap(array);
        arena = BufferArena.ofConfined();
        nativeView = NdArray.allocate(arena, DType.FLOAT32, array.length);
        nativeView.setFloat(1.5f, 0);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        arena.close();
    }

    /** A plain downcall on a native segment: the baseline. */
    @Benchmark
    public float nativeSegmentCall() throws Throwable {
        return (float) NativeBaselines.FIRST_F32.invokeExact(nativeView.segment());
    }

    /** Plain FFM: {@code MemorySegment.ofArray(array)} passed to a {@code critical(true)} handle. */
    @Benchmark
    @Goal(baseline = "nativeSegmentCall")
    public float criticalHeapArray() throws Throwable {
        return (float) NativeBaselines.FIRST_F32_HEAP.invokeExact(MemorySegment.ofArray(array));
    }

    /** panbuf: {@code CriticalCall.dataOf(view)} passed to a {@code CriticalCall.downcall} handle. */
    @Benchmark
    @Goal(baseline = "nativeSegmentCall", maxRatio = 1.0, text = "no slower")
    public float criticalCallView() throws Throwable {
        return (float) FIRST_F32_CRITICAL.invokeExact(CriticalCall.dataOf(heapView));
    }

    /** JNI: a {@code float[]} argument under {@code GetPrimitiveArrayCritical}. */
    @Benchmark
    @Goal(baseline = "nativeSegmentCall")
    public float jniCriticalArray() {
        return Jni.firstF32Critical(array);
    }

    /** Copy the array into a fresh confined arena, call, copy back, close: the price of not pinning. */
    @Benchmark
    @Goal(baseline = "nativeSegmentCall")
    public float copyInCopyOut() throws Throwable {
        long bytes = 4L * array.length;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment copy = a.allocate(bytes, 64);
            MemorySegment.copy(MemorySegment.ofArray(array), 0, copy, 0, bytes);
            float r = (float) NativeBaselines.FIRST_F32.invokeExact(copy);
            MemorySegment.copy(copy, 0, MemorySegment.ofArray(array), 0, bytes);
            return r;
        }
    }
}
