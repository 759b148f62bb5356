package dev.panbuf.bench;

import dev.panbuf.BufferArena;
import dev.panbuf.DType;
import dev.panbuf.NdArray;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
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
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.BenchmarkParams;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.concurrent.TimeUnit;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED;

/**
 * Sum of a contiguous 1-d float32 array, the same loop over every kind of
 * memory Java offers: a {@code float[]}, heap and direct {@code ByteBuffer}s,
 * raw heap and native segments, and panbuf views of heap and native memory
 * (fixed-arity getter, and the view's {@code VarHandle} held as a constant).
 * Each is written three ways: one accumulator (the plain loop, which strict
 * float semantics make latency-bound), eight accumulators, and the Vector API.
 *
 * <p>Baselines: the {@code float[]} loop written the same way
 * ({@link #floatArray}, {@link #floatArrayUnrolled}, {@link #floatArrayVector});
 * {@link #cVectorized} is the machine's limit; {@code numpy:sum_f32} is NumPy's {@code a.sum()}.
 * Sizes: 1 MiB fits in L2, 64 MiB does not.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class Float32SumBenchmark {

    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final ByteOrder NATIVE = ByteOrder.nativeOrder();

    @Param({"1MiB", "64MiB"})
    public String size;

    int n;
    float[] array;
    ByteBuffer heapBuffer;
    ByteBuffer directBuffer;
    MemorySegment heapSegment;
    MemorySegment nativeSegment;
    NdArray heapView;
    NdArray nativeView;
    private BufferArena arena;

    /** The off-heap view and its VarHandle as JIT constants, fixed once per forked JVM by {@link #setup}. */
    static final class Constant {
        static final NdArray VIEW = pending;
        static final VarHandle VH = VIEW.varHandle();
    }

    private static NdArray pending;

    @Setup(Level.Trial)
    public void setup(BenchmarkParams params) {
        n = Sizes.elements(size, 4);
        array = new float[n];
        for (int i = 0; i < n; i++) {
            array[i] = (i % 1000) * 0.25f;
        }
        heapBuffer = ByteBuffer.allocate(4 * n).order(NATIVE);
        heapBuffer.asFloatBuffer().put(array);
        directBuffer = ByteBuffer.allocateDirect(4 * n).order(NATIVE);
        directBuffer.asFloatBuffer().put(array);
        heapSegment = MemorySegment.ofArray(array);
        heapView = NdArray.wrap(array);
        arena = BufferArena.ofConfined();
        nativeView = NdArray.allocate(arena, DType.FLOAT32, n);
        nativeSegment = nativeView.segment();
        MemorySegment.copy(heapSegment, 0, nativeSegment, 0, 4L * n);
        String name = params.getBenchmark();
        if (name.contains("VarHandle")) {
            pending = nativeView;
            if (Constant.VIEW != nativeView) {
                throw new IllegalStateException("the VarHandle benchmarks fix their view once per JVM: run them forked (-f 1 or more)");
            }
        }
        if (name.endsWith("Polluted")) {
            pollute();
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        if (pending == null) {
            arena.close();   // a VarHandle constant keeps referring to it until the JVM exits
        }
    }

    /**
     * Runs the view and segment kernels over four kinds of segment (float[],
     * int[], long[] and native), so their type profiles are megamorphic before
     * the measured, native-only, run (pitfall 6 of PERFORMANCE.md).
     */
    private void pollute() {
        NdArray intsView = NdArray.of(MemorySegment.ofArray(new int[n]), DType.FLOAT32);
        NdArray longsView = NdArray.of(MemorySegment.ofArray(new long[(n + 1) / 2]), DType.FLOAT32, n);
        float sink = 0;
        for (int k = 0; k < 10; k++) {
            for (NdArray v : new NdArray[] {heapView, intsView, longsView, nativeView}) {
                sink += view(v);
                sink += segment(v.segment(), n);
            }
        }
        if (sink == 42) {
            System.out.print("");
        }
    }

    // ------------------------------------------------------------ float[]

    /** Baseline of the one-accumulator loops: {@code for (int i...) s += a[i]}. */
    @Benchmark
    @Goal(baseline = "numpy:sum_f32")
    public float floatArray() {
        float[] a = array;
        float s = 0;
        for (int i = 0; i < a.length; i++) {
            s += a[i];
        }
        return s;
    }

    /** Baseline of the eight-accumulator loops. */
    @Benchmark
    @Goal(baseline = "floatArray")
    public float floatArrayUnrolled() {
        float[] a = array;
        float s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
        int i = 0;
        for (; i + 8 <= a.length; i += 8) {
            s0 += a[i];
            s1 += a[i + 1];
            s2 += a[i + 2];
            s3 += a[i + 3];
            s4 += a[i + 4];
            s5 += a[i + 5];
            s6 += a[i + 6];
            s7 += a[i + 7];
        }
        for (; i < a.length; i++) {
            s0 += a[i];
        }
        return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7));
    }

    /** Baseline of the Vector API loops: four accumulators of {@code SPECIES_PREFERRED}. */
    @Benchmark
    @Goal(baseline = "floatArray")
    @Goal(baseline = "numpy:sum_f32")
    public float floatArrayVector() {
        float[] a = array;
        int step = S.length();
        FloatVector v0 = FloatVector.zero(S), v1 = v0, v2 = v0, v3 = v0;
        int i = 0;
        for (; i + 4 * step <= a.length; i += 4 * step) {
            v0 = v0.add(FloatVector.fromArray(S, a, i));
            v1 = v1.add(FloatVector.fromArray(S, a, i + step));
            v2 = v2.add(FloatVector.fromArray(S, a, i + 2 * step));
            v3 = v3.add(FloatVector.fromArray(S, a, i + 3 * step));
        }
        float s = v0.add(v1).add(v2.add(v3)).reduceLanes(VectorOperators.ADD);
        for (; i < a.length; i++) {
            s += a[i];
        }
        return s;
    }

    /** The machine's limit: C, four 16-lane accumulators, on the native segment. Baseline: {@link #floatArrayVector}. */
    @Benchmark
    @Goal(baseline = "floatArrayVector")
    public float cVectorized() throws Throwable {
        return (float) NativeBaselines.SUM_F32.invokeExact(nativeSegment, (long) n);
    }

    // ------------------------------------------------------------ ByteBuffer

    /** Heap {@code ByteBuffer}, absolute {@code getFloat(byteIndex)}. Baseline: {@link #floatArray}. */
    @Benchmark
    @Goal(baseline = "floatArray")
    public float heapByteBuffer() {
        return buffer(heapBuffer);
    }

    /** Baseline: {@link #floatArrayUnrolled}. */
    @Benchmark
    @Goal(baseline = "floatArrayUnrolled")
    public float heapByteBufferUnrolled() {
        return bufferUnrolled(heapBuffer);
    }

    /** Vector API over {@code MemorySegment.ofBuffer}. Baseline: {@link #floatArrayVector}. */
    @Benchmark
    @Goal(baseline = "floatArrayVector")
    public float heapByteBufferVector() {
        return segmentVector(MemorySegment.ofBuffer(heapBuffer), 0, n);
    }

    /** Direct {@code ByteBuffer}, absolute {@code getFloat(byteIndex)}. Baseline: {@link #floatArray}. */
    @Benchmark
    @Goal(baseline = "floatArray")
    public float directByteBuffer() {
        return buffer(directBuffer);
    }

    /** Baseline: {@link #floatArrayUnrolled}. */
    @Benchmark
    @Goal(baseline = "floatArrayUnrolled")
    public float directByteBufferUnrolled() {
        return bufferUnrolled(directBuffer);
    }

    /** Baseline: {@link #floatArrayVector}. */
    @Benchmark
    @Goal(baseline = "floatArrayVector")
    public float directByteBufferVector() {
        return segmentVector(MemorySegment.ofBuffer(directBuffer), 0, n);
    }

    static float buffer(ByteBuffer b) {
        int bytes = b.capacity();
        float s = 0;
        for (int i = 0; i < bytes; i += 4) {
            s += b.getFloat(i);
        }
        return s;
    }

    static float bufferUnrolled(ByteBuffer b) {
        int bytes = b.capacity();
        float s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
        int i = 0;
        for (; i + 32 <= bytes; i += 32) {
            s0 += b.getFloat(i);
            s1 += b.getFloat(i + 4);
            s2 += b.getFloat(i + 8);
            s3 += b.getFloat(i + 12);
            s4 += b.getFloat(i + 16);
            s5 += b.getFloat(i + 20);
            s6 += b.getFloat(i + 24);
            s7 += b.getFloat(i + 28);
        }
        for (; i < bytes; i += 4) {
            s0 += b.getFloat(i);
        }
        return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7));
    }

    // ------------------------------------------------------------ raw segments

    /** Raw heap segment, {@code getAtIndex(JAVA_FLOAT, i)} with a long index. Baseline: {@link #floatArray}. */
    @Benchmark
    @Goal(baseline = "floatArray")
    public float heapSegment() {
        return segment(heapSegment, n);
    }

    /** Eight accumulators stepping a long byte offset. Baseline: {@link #floatArrayUnrolled}. */
    @Benchmark
    @Goal(baseline = "floatArrayUnrolled")
    public float heapSegmentUnrolled() {
        return segmentUnrolled(heapSegment, 0, n);
    }

    /** Baseline: {@link #floatArrayVector}. */
    @Benchmark
    @Goal(baseline = "floatArrayVector")
    public float heapSegmentVector() {
        return segmentVector(heapSegment, 0, n);
    }

    /** Raw native segment. Baseline: {@link #floatArray}. */
    @Benchmark
    @Goal(baseline = "floatArray")
    public float nativeSegment() {
        return segment(nativeSegment, n);
    }

    /** Baseline: {@link #floatArrayUnrolled}. */
    @Benchmark
    @Goal(baseline = "floatArrayUnrolled")
    public float nativeSegmentUnrolled() {
        return segmentUnrolled(nativeSegment, 0, n);
    }

    /** Baseline: {@link #floatArrayVector}. */
    @Benchmark
    @Goal(baseline = "floatArrayVector")
    public float nativeSegmentVector() {
        return segmentVector(nativeSegment, 0, n);
    }

    /** {@link #nativeSegment} after the kernel saw four kinds of segment. Baseline: {@link #floatArray}. */
    @Benchmark
    @Goal(baseline = "floatArray")
    public float nativeSegmentPolluted() {
        return segment(nativeSegment, n);
    }

    static float segment(MemorySegment seg, long n) {
        float s = 0;
        for (long i = 0; i < n; i++) {
            s += seg.getAtIndex(JAVA_FLOAT, i);
        }
        return s;
    }

    static float segmentUnrolled(MemorySegment seg, long base, long n) {
        long end = base + 4 * n;
        float s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
        long off = base;
        for (; off + 32 <= end; off += 32) {
            s0 += seg.get(JAVA_FLOAT, off);
            s1 += seg.get(JAVA_FLOAT, off + 4);
            s2 += seg.get(JAVA_FLOAT, off + 8);
            s3 += seg.get(JAVA_FLOAT, off + 12);
            s4 += seg.get(JAVA_FLOAT, off + 16);
            s5 += seg.get(JAVA_FLOAT, off + 20);
            s6 += seg.get(JAVA_FLOAT, off + 24);
            s7 += seg.get(JAVA_FLOAT, off + 28);
        }
        for (; off < end; off += 4) {
            s0 += seg.get(JAVA_FLOAT, off);
        }
        return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7));
    }

    static float segmentVector(MemorySegment seg, long base, long n) {
        long end = base + 4 * n;
        long step = 4L * S.length();
        FloatVector v0 = FloatVector.zero(S), v1 = v0, v2 = v0, v3 = v0;
        long off = base;
        for (; off + 4 * step <= end; off += 4 * step) {
            v0 = v0.add(FloatVector.fromMemorySegment(S, seg, off, NATIVE));
            v1 = v1.add(FloatVector.fromMemorySegment(S, seg, off + step, NATIVE));
            v2 = v2.add(FloatVector.fromMemorySegment(S, seg, off + 2 * step, NATIVE));
            v3 = v3.add(FloatVector.fromMemorySegment(S, seg, off + 3 * step, NATIVE));
        }
        float s = v0.add(v1).add(v2.add(v3)).reduceLanes(VectorOperators.ADD);
        for (; off < end; off += 4) {
            s += seg.get(JAVA_FLOAT_UNALIGNED, off);
        }
        return s;
    }

    // ------------------------------------------------------------ panbuf views

    /** panbuf view of the {@code float[]}: {@code v.getFloat(i)}, long index. Baseline: {@link #floatArray}. */
    @Benchmark
    @Goal(baseline = "floatArray", maxRatio = 1.05)
    public float heapView() {
        return view(heapView);
    }

    /** Baseline: {@link #floatArrayUnrolled}. */
    @Benchmark
    @Goal(baseline = "floatArrayUnrolled", maxRatio = 1.10)
    public float heapViewUnrolled() {
        return viewUnrolled(heapView);
    }

    /** Vector API over the view's segment and offset. Baseline: {@link #floatArrayVector}. */
    @Benchmark
    @Goal(baseline = "floatArrayVector", maxRatio = 1.10)
    public float heapViewVector() {
        return viewVector(heapView);
    }

    /** panbuf view of native memory (a BufferArena): {@code v.getFloat(i)}. Baseline: {@link #floatArray}. */
    @Benchmark
    @Goal(baseline = "floatArray", maxRatio = 1.05)
    public float nativeView() {
        return view(nativeView);
    }

    /** Baseline: {@link #floatArrayUnrolled}. */
    @Benchmark
    @Goal(baseline = "floatArrayUnrolled", maxRatio = 1.10)
    public float nativeViewUnrolled() {
        return viewUnrolled(nativeView);
    }

    /** Baseline: {@link #floatArrayVector}. */
    @Benchmark
    @Goal(baseline = "floatArrayVector", maxRatio = 1.10)
    @Goal(baseline = "numpy:sum_f32")
    public float nativeViewVector() {
        return viewVector(nativeView);
    }

    /** {@link #nativeView} after {@code getFloat} saw four kinds of segment. Baseline: {@link #floatArray}. */
    @Benchmark
    @Goal(baseline = "floatArray")
    public float nativeViewPolluted() {
        return view(nativeView);
    }

    /** The off-heap view's {@code VarHandle}, a static final: {@code (float) VH.get(i)}. Baseline: {@link #floatArray}. */
    @Warmup(iterations = 5, time = 400, timeUnit = TimeUnit.MILLISECONDS)   // its method handles compile late
    @Benchmark
    @Goal(baseline = "floatArray", maxRatio = 1.05)
    public float nativeViewVarHandle() {
        VarHandle vh = Constant.VH;
        long count = Constant.VIEW.elementCount();
        float s = 0;
        for (long i = 0; i < count; i++) {
            s += (float) vh.get(i);
        }
        return s;
    }

    /** Baseline: {@link #floatArrayUnrolled}. */
    @Warmup(iterations = 5, time = 400, timeUnit = TimeUnit.MILLISECONDS)   // its method handles compile late
    @Benchmark
    @Goal(baseline = "floatArrayUnrolled", maxRatio = 1.10)
    public float nativeViewVarHandleUnrolled() {
        VarHandle vh = Constant.VH;
        long count = Constant.VIEW.elementCount();
        float s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
        long i = 0;
        for (; i + 8 <= count; i += 8) {
            s0 += (float) vh.get(i);
            s1 += (float) vh.get(i + 1);
            s2 += (float) vh.get(i + 2);
            s3 += (float) vh.get(i + 3);
            s4 += (float) vh.get(i + 4);
            s5 += (float) vh.get(i + 5);
            s6 += (float) vh.get(i + 6);
            s7 += (float) vh.get(i + 7);
        }
        for (; i < count; i++) {
            s0 += (float) vh.get(i);
        }
        return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7));
    }

    static float view(NdArray v) {
        long count = v.elementCount();
        float s = 0;
        for (long i = 0; i < count; i++) {
            s += v.getFloat(i);
        }
        return s;
    }

    static float viewUnrolled(NdArray v) {
        long count = v.elementCount();
        float s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
        long i = 0;
        for (; i + 8 <= count; i += 8) {
            s0 += v.getFloat(i);
            s1 += v.getFloat(i + 1);
            s2 += v.getFloat(i + 2);
            s3 += v.getFloat(i + 3);
            s4 += v.getFloat(i + 4);
            s5 += v.getFloat(i + 5);
            s6 += v.getFloat(i + 6);
            s7 += v.getFloat(i + 7);
        }
        for (; i < count; i++) {
            s0 += v.getFloat(i);
        }
        return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7));
    }

    /** A contiguous view's elements through its segment: the way to hand a view to a Vector API kernel. */
    static float viewVector(NdArray v) {
        return segmentVector(v.segment(), v.byteOffset(), v.elementCount());
    }
}
