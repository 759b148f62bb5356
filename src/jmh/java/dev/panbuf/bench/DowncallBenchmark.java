package dev.panbuf.bench;

import dev.panbuf.BufferArena;
import dev.panbuf.DType;
import dev.panbuf.Export;
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
import org.openjdk.jmh.infra.BenchmarkParams;

import java.lang.foreign.MemorySegment;
import java.util.concurrent.TimeUnit;

/**
 * The cost of one call into C: FFM and JNI calling an empty function, and
 * both calling a function that reads element 0 of an exported view through
 * its {@code pb_buffer} (the export made once, in setup).
 *
 * <p>Baselines: {@link #jniNoop} and {@link #jniExportedBuffer} (JNI, built
 * with gcc against this JDK's {@code jni.h}).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class DowncallBenchmark {

    NdArray view;
    Export export;
    MemorySegment rawSegment;
    long exportAddress;
    private BufferArena arena;

    @Setup(Level.Trial)
    public void setup(BenchmarkParams params) {
        if (params.getBenchmark().contains(".jni")) {
            Jni.require();
        }
        arena = BufferArena.ofConfined();
        view = NdArray.allocate(arena, DType.FLOAT32, 256);
        view.setFloat(1.5f, 0);
        rawSegment = view.segment();
        export = view.export();
        exportAddress = export.address();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        export.close();
        arena.close();
    }

    /** JNI: {@code static native void noop()}. */
    @Benchmark
    public void jniNoop() {
        Jni.noop();
    }

    /** FFM: a downcall to {@code void pbb_noop(void)}. Baseline: {@link #jniNoop}. */
    @Benchmark
    @Goal(baseline = "jniNoop")
    public void ffmNoop() throws Throwable {
        NativeBaselines.NOOP.invokeExact();
    }

    /** FFM with {@code Linker.Option.critical(false)}. Baseline: {@link #jniNoop}. */
    @Benchmark
    @Goal(baseline = "jniNoop")
    public void ffmNoopCritical() throws Throwable {
        NativeBaselines.NOOP_CRITICAL.invokeExact();
    }

    /** JNI: the {@code pb_buffer}'s address as a {@code long}; C reads element 0 through it. */
    @Benchmark
    public float jniExportedBuffer() {
        return Jni.pbFirstF32(exportAddress);
    }

    /**
     * FFM: {@code c(export.pointer())}, C reads element 0 through the
     * {@code pb_buffer}; {@code pointer()} checks the export is not released.
     * Baseline: {@link #jniExportedBuffer}.
     */
    @Benchmark
    @Goal(baseline = "jniExportedBuffer", maxExtraNs = 5)
    public float ffmExportedBuffer() throws Throwable {
        return (float) NativeBaselines.PB_FIRST_F32.invokeExact(export.pointer());
    }

    /** FFM: the view's raw native segment; C reads element 0. Baseline: {@link #jniExportedBuffer}. */
    @Benchmark
    @Goal(baseline = "jniExportedBuffer")
    public float ffmRawSegment() throws Throwable {
        return (float) NativeBaselines.FIRST_F32.invokeExact(rawSegment);
    }
}
