package dev.panbuf.bench;

import dev.panbuf.BufferArena;
import dev.panbuf.DType;
import dev.panbuf.NdArray;
import dev.panbuf.Slice;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
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
 * Sum of every other element of a float32 array ({@code a[::2].sum()}): the
 * strided loop over every kind of memory, one accumulator, eight accumulators
 * and the Vector API (which loads whole vectors and adds the even lanes, since
 * segments have no gather). {@code size} is the bytes of the elements summed;
 * the array is twice that.
 *
 * <p>Baselines: the {@code float[]} loop written the same way
 * ({@link #floatArray}, {@link #floatArrayUnrolled}, {@link #floatArrayVector});
 * {@code numpy:sum_stride2_f32} is NumPy's {@code a[::2].sum()}.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class Float32StridedSumBenchmark {

    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    /** Lanes 0, 2, 4, ...: the elements a stride-2 walk takes from a contiguous vector. */
    static final VectorMask<Float> EVEN = VectorMask.fromLong(S, 0x5555_5555_5555_5555L);
    private static final ByteOrder NATIVE = ByteOrder.nativeOrder();

    @Param({"1MiB", "64MiB"})
    public String size;

    /** Elements summed; the arrays hold twice as many. */
    int n;
    float[] array;
    ByteBuffer heapBuffer;
    ByteBuffer directBuffer;
    MemorySegment heapSegment;
    MemorySegment nativeSegment;
    NdArray heapView;
    NdArray nativeView;
    private BufferArena arena;

    /** The strided off-heap view and its VarHandle as JIT constants, fixed once per forked JVM. */
    static final class Constant {
        static final NdArray VIEW = pending;
        static final VarHandle VH = VIEW.varHandle();
    }

    private static NdArray pending;

    @Setup(Level.Trial)
    public void setup(BenchmarkParams params) {
        n = Sizes.elements(size, 4);
        array = new float[2 * n];
        for (int i = 0; i < array.length; i++) {
            array[i] = (i % 1000) * 0.25f;
        }
        heapBuffer = ByteBuffer.allocate(8 * n).order(NATIVE);
        heapBuffer.asFloatBuffer().put(array);
        directBuffer = ByteBuffer.allocateDirect(8 * n).order(NATIVE);
        directBuffer.asFloatBuffer().put(array);
        heapSegment = MemorySegment.ofArray(array);
        heapView = NdArray.wrap(array).get(Slice.every(2));
        arena = BufferArena.ofConfined();
        NdArray whole = NdArray.allocate(arena, DType.FLOAT32, 2L * n);
        nativeSegment = whole.segment();
        MemorySegment.copy(heapSegment, 0, nativeSegment, 0, 8L * n);
        nativeView = whole.get(Slice.every(2));
        if (params.getBenchmark().contains("VarHandle")) {
            pending = nativeView;
            if (Constant.VIEW != nativeView) {
                throw new IllegalStateException("the VarHandle benchmarks fix their view once per JVM: run them forked (-f 1 or more)");
            }
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        if (pending == null) {
            arena.close();
        }
    }

    // ------------------------------------------------------------ float[]

    /** Baseline of the one-accumulator loops: {@code for (int i...; i += 2) s += a[i]}. */
    @Benchmark
    @Goal(baseline = "numpy:sum_stride2_f32")
    public float floatArray() {
        float[] a = array;
        float s = 0;
        for (int i = 0; i < a.length; i += 2) {
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
        for (; i + 16 <= a.length; i += 16) {
            s0 += a[i];
            s1 += a[i + 2];
            s2 += a[i + 4];
            s3 += a[i + 6];
            s4 += a[i + 8];
            s5 += a[i + 10];
            s6 += a[i + 12];
            s7 += a[i + 14];
        }
        for (; i < a.length; i += 2) {
            s0 += a[i];
        }
        return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7));
    }

    /** Baseline of the Vector API loops: contiguous loads, even lanes added, four accumulators. */
    @Benchmark
    @Goal(baseline = "floatArray")
    @Goal(baseline = "numpy:sum_stride2_f32")
    public float floatArrayVector() {
        float[] a = array;
        int step = S.length();
        FloatVector v0 = FloatVector.zero(S), v1 = v0, v2 = v0, v3 = v0;
        int i = 0;
        for (; i + 4 * step <= a.length; i += 4 * step) {
            v0 = v0.add(FloatVector.fromArray(S, a, i), EVEN);
            v1 = v1.add(FloatVector.fromArray(S, a, i + step), EVEN);
            v2 = v2.add(FloatVector.fromArray(S, a, i + 2 * step), EVEN);
            v3 = v3.add(FloatVector.fromArray(S, a, i + 3 * step), EVEN);
        }
        float s = v0.add(v1).add(v2.add(v3)).reduceLanes(VectorOperators.ADD);
        for (; i < a.length; i += 2) {
            s += a[i];
        }
        return s;
    }

    // ------------------------------------------------------------ ByteBuffer

    /** Heap {@code ByteBuffer}, {@code getFloat(8 * i)}. Baseline: {@link #floatArray}. */
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

    /** Baseline: {@link #floatArrayVector}. */
    @Benchmark
    @Goal(baseline = "floatArrayVector")
    public float heapByteBufferVector() {
        return segmentVector(MemorySegment.ofBuffer(heapBuffer), 0, n);
    }

    /** Direct {@code ByteBuffer}. Baseline: {@link #floatArray}. */
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
        for (int i = 0; i < bytes; i += 8) {
            s += b.getFloat(i);
        }
        return s;
    }

    static float bufferUnrolled(ByteBuffer b) {
        int bytes = b.capacity();
        float s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
        int i = 0;
        for (; i + 64 <= bytes; i += 64) {
            s0 += b.getFloat(i);
            s1 += b.getFloat(i + 8);
            s2 += b.getFloat(i + 16);
            s3 += b.getFloat(i + 24);
            s4 += b.getFloat(i + 32);
            s5 += b.getFloat(i + 40);
            s6 += b.getFloat(i + 48);
            s7 += b.getFloat(i + 56);
        }
        for (; i < bytes; i += 8) {
            s0 += b.getFloat(i);
        }
        return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7));
    }

    // ------------------------------------------------------------ raw segments

    /** Raw heap segment, {@code getAtIndex(JAVA_FLOAT, 2 * i)}. Baseline: {@link #floatArray}. */
    @Benchmark
    @Goal(baseline = "floatArray")
    public float heapSegment() {
        return segment(heapSegment, n);
    }

    /** Baseline: {@link #floatArrayUnrolled}. */
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

    static float segment(MemorySegment seg, long n) {
        float s = 0;
        for (long i = 0; i < n; i++) {
            s += seg.getAtIndex(JAVA_FLOAT, 2 * i);
        }
        return s;
    }

    static float segmentUnrolled(MemorySegment seg, long base, long n) {
        long end = base + 8 * n;
        float s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
        long off = base;
        for (; off + 64 <= end; off += 64) {
            s0 += seg.get(JAVA_FLOAT, off);
            s1 += seg.get(JAVA_FLOAT, off + 8);
            s2 += seg.get(JAVA_FLOAT, off + 16);
            s3 += seg.get(JAVA_FLOAT, off + 24);
            s4 += seg.get(JAVA_FLOAT, off + 32);
            s5 += seg.get(JAVA_FLOAT, off + 40);
            s6 += seg.get(JAVA_FLOAT, off + 48);
            s7 += seg.get(JAVA_FLOAT, off + 56);
        }
        for (; off < end; off += 8) {
            s0 += seg.get(JAVA_FLOAT, off);
        }
        return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7));
    }

    /** {@code n} elements 8 bytes apart from {@code base}: whole vectors, even lanes. */
    static float segmentVector(MemorySegment seg, long base, long n) {
        long end = base + 8 * n;
        long step = 4L * S.length();
        FloatVector v0 = FloatVector.zero(S), v1 = v0, v2 = v0, v3 = v0;
        long off = base;
        for (; off + 4 * step <= end; off += 4 * step) {
            v0 = v0.add(FloatVector.fromMemorySegment(S, seg, off, NATIVE), EVEN);
            v1 = v1.add(FloatVector.fromMemorySegment(S, seg, off + step, NATIVE), EVEN);
            v2 = v2.add(FloatVector.fromMemorySegment(S, seg, off + 2 * step, NATIVE), EVEN);
            v3 = v3.add(FloatVector.fromMemorySegment(S, seg, off + 3 * step, NATIVE), EVEN);
        }
        float s = v0.add(v1).add(v2.add(v3)).reduceLanes(VectorOperators.ADD);
        for (; off < end; off += 8) {
            s += seg.get(JAVA_FLOAT_UNALIGNED, off);
        }
        return s;
    }

    // ------------------------------------------------------------ panbuf views

    /** The view {@code a[::2]} of the {@code float[]}: {@code v.getFloat(i)}. Baseline: {@link #floatArray}. */
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

    /** Vector API over the view's segment and offset (stride 2 elements). Baseline: {@link #floatArrayVector}. */
    @Benchmark
    @Goal(baseline = "floatArrayVector", maxRatio = 1.10)
    public float heapViewVector() {
        return viewVector(heapView);
    }

    /** The view {@code a[::2]} of native memory. Baseline: {@link #floatArray}. */
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
    @Goal(baseline = "numpy:sum_stride2_f32")
    public float nativeViewVector() {
        return viewVector(nativeView);
    }

    /** The strided view's {@code VarHandle}, a static final. Baseline: {@link #floatArray}. */
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

    /** A stride-2 view through its segment: the even-lane kernel from the view's first element. */
    static float viewVector(NdArray v) {
        if (v.byteStride(0) != 8) {
            throw new IllegalArgumentException("this kernel is for stride-2 float32 views, got " + v.describe());
        }
        return segmentVector(v.segment(), v.byteOffset(), v.elementCount());
    }
}
