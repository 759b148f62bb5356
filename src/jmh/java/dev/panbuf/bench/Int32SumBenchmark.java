package dev.panbuf.bench;

import dev.panbuf.BufferArena;
import dev.panbuf.DType;
import dev.panbuf.NdArray;
import jdk.incubator.vector.IntVector;
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

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;

/**
 * Sum of a contiguous 1-d int32 array, the same loop over every kind of
 * memory Java offers: a {@code int[]}, heap and direct {@code ByteBuffer}s,
 * raw heap and native segments, and panbuf views of heap and native memory
 * (fixed-arity getter, and the view's {@code VarHandle} held as a constant).
 * Each is written three ways: one accumulator, eight accumulators, and the
 * Vector API. Unlike float adds, int adds may be reordered, so the JIT is free
 * to vectorise even the plain loop: this is where a view's per-element checks
 * show, if the JIT cannot prove them away.
 *
 * <p>Baselines: the {@code int[]} loop written the same way
 * ({@link #intArray}, {@link #intArrayUnrolled}, {@link #intArrayVector});
 * {@link #cVectorized} is the machine's limit; {@code numpy:sum_i32} is NumPy's {@code a.sum()}.
 * Sizes: 1 MiB fits in L2, 64 MiB does not.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class Int32SumBenchmark {

    static final VectorSpecies<Integer> S = IntVector.SPECIES_PREFERRED;
    private static final ByteOrder NATIVE = ByteOrder.nativeOrder();

    @Param({"1MiB", "64MiB"})
    public String size;

    int n;
    int[] array;
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
        array = new int[n];
        for (int i = 0; i < n; i++) {
            array[i] = (i % 1000);
        }
        heapBuffer = ByteBuffer.allocate(4 * n).order(NATIVE);
        heapBuffer.asIntBuffer().put(array);
        directBuffer = ByteBuffer.allocateDirect(4 * n).order(NATIVE);
        directBuffer.asIntBuffer().put(array);
        heapSegment = MemorySegment.ofArray(array);
        heapView = NdArray.wrap(array);
        arena = BufferArena.ofConfined();
        nativeView = NdArray.allocate(arena, DType.INT32, n);
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
     * Runs the view and segment kernels over four kinds of segment (int[],
     * int[], long[] and native), so their type profiles are megamorphic before
     * the measured, native-only, run (pitfall 6 of PERFORMANCE.md).
     */
    private void pollute() {
        NdArray intsView = NdArray.of(MemorySegment.ofArray(new int[n]), DType.INT32);
        NdArray longsView = NdArray.of(MemorySegment.ofArray(new long[(n + 1) / 2]), DType.INT32, n);
        int sink = 0;
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

    // ------------------------------------------------------------ int[]

    /** Baseline of the one-accumulator loops: {@code for (int i...) s += a[i]}. */
    @Benchmark
    @Goal(baseline = "numpy:sum_i32")
    public int intArray() {
        int[] a = array;
        int s = 0;
        for (int i = 0; i < a.length; i++) {
            s += a[i];
        }
        return s;
    }

    /** Baseline of the eight-accumulator loops. */
    @Benchmark
    @Goal(baseline = "intArray")
    public int intArrayUnrolled() {
        int[] a = array;
        int s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
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
    @Goal(baseline = "intArray")
    @Goal(baseline = "numpy:sum_i32")
    public int intArrayVector() {
        int[] a = array;
        int step = S.length();
        IntVector v0 = IntVector.zero(S), v1 = v0, v2 = v0, v3 = v0;
        int i = 0;
        for (; i + 4 * step <= a.length; i += 4 * step) {
            v0 = v0.add(IntVector.fromArray(S, a, i));
            v1 = v1.add(IntVector.fromArray(S, a, i + step));
            v2 = v2.add(IntVector.fromArray(S, a, i + 2 * step));
            v3 = v3.add(IntVector.fromArray(S, a, i + 3 * step));
        }
        int s = v0.add(v1).add(v2.add(v3)).reduceLanes(VectorOperators.ADD);
        for (; i < a.length; i++) {
            s += a[i];
        }
        return s;
    }

    /** The machine's limit: C compiled with -O3 -march=native (vectorised), on the native segment. Baseline: {@link #intArrayVector}. */
    @Benchmark
    @Goal(baseline = "intArrayVector")
    public int cVectorized() throws Throwable {
        return (int) NativeBaselines.SUM_I32.invokeExact(nativeSegment, (long) n);
    }

    // ------------------------------------------------------------ ByteBuffer

    /** Heap {@code ByteBuffer}, absolute {@code getInt(byteIndex)}. Baseline: {@link #intArray}. */
    @Benchmark
    @Goal(baseline = "intArray")
    public int heapByteBuffer() {
        return buffer(heapBuffer);
    }

    /** Baseline: {@link #intArrayUnrolled}. */
    @Benchmark
    @Goal(baseline = "intArrayUnrolled")
    public int heapByteBufferUnrolled() {
        return bufferUnrolled(heapBuffer);
    }

    /** Vector API over {@code MemorySegment.ofBuffer}. Baseline: {@link #intArrayVector}. */
    @Benchmark
    @Goal(baseline = "intArrayVector")
    public int heapByteBufferVector() {
        return segmentVector(MemorySegment.ofBuffer(heapBuffer), 0, n);
    }

    /** Direct {@code ByteBuffer}, absolute {@code getInt(byteIndex)}. Baseline: {@link #intArray}. */
    @Benchmark
    @Goal(baseline = "intArray")
    public int directByteBuffer() {
        return buffer(directBuffer);
    }

    /** Baseline: {@link #intArrayUnrolled}. */
    @Benchmark
    @Goal(baseline = "intArrayUnrolled")
    public int directByteBufferUnrolled() {
        return bufferUnrolled(directBuffer);
    }

    /** Baseline: {@link #intArrayVector}. */
    @Benchmark
    @Goal(baseline = "intArrayVector")
    public int directByteBufferVector() {
        return segmentVector(MemorySegment.ofBuffer(directBuffer), 0, n);
    }

    static int buffer(ByteBuffer b) {
        int bytes = b.capacity();
        int s = 0;
        for (int i = 0; i < bytes; i += 4) {
            s += b.getInt(i);
        }
        return s;
    }

    static int bufferUnrolled(ByteBuffer b) {
        int bytes = b.capacity();
        int s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
        int i = 0;
        for (; i + 32 <= bytes; i += 32) {
            s0 += b.getInt(i);
            s1 += b.getInt(i + 4);
            s2 += b.getInt(i + 8);
            s3 += b.getInt(i + 12);
            s4 += b.getInt(i + 16);
            s5 += b.getInt(i + 20);
            s6 += b.getInt(i + 24);
            s7 += b.getInt(i + 28);
        }
        for (; i < bytes; i += 4) {
            s0 += b.getInt(i);
        }
        return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7));
    }

    // ------------------------------------------------------------ raw segments

    /** Raw heap segment, {@code getAtIndex(JAVA_INT, i)} with a long index. Baseline: {@link #intArray}. */
    @Benchmark
    @Goal(baseline = "intArray")
    public int heapSegment() {
        return segment(heapSegment, n);
    }

    /** Eight accumulators stepping a long byte offset. Baseline: {@link #intArrayUnrolled}. */
    @Benchmark
    @Goal(baseline = "intArrayUnrolled")
    public int heapSegmentUnrolled() {
        return segmentUnrolled(heapSegment, 0, n);
    }

    /** Baseline: {@link #intArrayVector}. */
    @Benchmark
    @Goal(baseline = "intArrayVector")
    public int heapSegmentVector() {
        return segmentVector(heapSegment, 0, n);
    }

    /** Raw native segment. Baseline: {@link #intArray}. */
    @Benchmark
    @Goal(baseline = "intArray")
    public int nativeSegment() {
        return segment(nativeSegment, n);
    }

    /** Baseline: {@link #intArrayUnrolled}. */
    @Benchmark
    @Goal(baseline = "intArrayUnrolled")
    public int nativeSegmentUnrolled() {
        return segmentUnrolled(nativeSegment, 0, n);
    }

    /** Baseline: {@link #intArrayVector}. */
    @Benchmark
    @Goal(baseline = "intArrayVector")
    public int nativeSegmentVector() {
        return segmentVector(nativeSegment, 0, n);
    }

    /** {@link #nativeSegment} after the kernel saw four kinds of segment. Baseline: {@link #intArray}. */
    @Benchmark
    @Goal(baseline = "intArray")
    public int nativeSegmentPolluted() {
        return segment(nativeSegment, n);
    }

    static int segment(MemorySegment seg, long n) {
        int s = 0;
        for (long i = 0; i < n; i++) {
            s += seg.getAtIndex(JAVA_INT, i);
        }
        return s;
    }

    static int segmentUnrolled(MemorySegment seg, long base, long n) {
        long end = base + 4 * n;
        int s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
        long off = base;
        for (; off + 32 <= end; off += 32) {
            s0 += seg.get(JAVA_INT, off);
            s1 += seg.get(JAVA_INT, off + 4);
            s2 += seg.get(JAVA_INT, off + 8);
            s3 += seg.get(JAVA_INT, off + 12);
            s4 += seg.get(JAVA_INT, off + 16);
            s5 += seg.get(JAVA_INT, off + 20);
            s6 += seg.get(JAVA_INT, off + 24);
            s7 += seg.get(JAVA_INT, off + 28);
        }
        for (; off < end; off += 4) {
            s0 += seg.get(JAVA_INT, off);
        }
        return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7));
    }

    static int segmentVector(MemorySegment seg, long base, long n) {
        long end = base + 4 * n;
        long step = 4L * S.length();
        IntVector v0 = IntVector.zero(S), v1 = v0, v2 = v0, v3 = v0;
        long off = base;
        for (; off + 4 * step <= end; off += 4 * step) {
            v0 = v0.add(IntVector.fromMemorySegment(S, seg, off, NATIVE));
            v1 = v1.add(IntVector.fromMemorySegment(S, seg, off + step, NATIVE));
            v2 = v2.add(IntVector.fromMemorySegment(S, seg, off + 2 * step, NATIVE));
            v3 = v3.add(IntVector.fromMemorySegment(S, seg, off + 3 * step, NATIVE));
        }
        int s = v0.add(v1).add(v2.add(v3)).reduceLanes(VectorOperators.ADD);
        for (; off < end; off += 4) {
            s += seg.get(JAVA_INT_UNALIGNED, off);
        }
        return s;
    }

    // ------------------------------------------------------------ panbuf views

    /** panbuf view of the {@code int[]}: {@code v.getInt(i)}, long index. Baseline: {@link #intArray}. */
    @Benchmark
    @Goal(baseline = "intArray", maxRatio = 1.05)
    public int heapView() {
        return view(heapView);
    }

    /** Baseline: {@link #intArrayUnrolled}. */
    @Benchmark
    @Goal(baseline = "intArrayUnrolled", maxRatio = 1.10)
    public int heapViewUnrolled() {
        return viewUnrolled(heapView);
    }

    /** Vector API over the view's segment and offset. Baseline: {@link #intArrayVector}. */
    @Benchmark
    @Goal(baseline = "intArrayVector", maxRatio = 1.10)
    public int heapViewVector() {
        return viewVector(heapView);
    }

    /** panbuf view of native memory (a BufferArena): {@code v.getInt(i)}. Baseline: {@link #intArray}. */
    @Benchmark
    @Goal(baseline = "intArray", maxRatio = 1.05)
    public int nativeView() {
        return view(nativeView);
    }

    /** Baseline: {@link #intArrayUnrolled}. */
    @Benchmark
    @Goal(baseline = "intArrayUnrolled", maxRatio = 1.10)
    public int nativeViewUnrolled() {
        return viewUnrolled(nativeView);
    }

    /** Baseline: {@link #intArrayVector}. */
    @Benchmark
    @Goal(baseline = "intArrayVector", maxRatio = 1.10)
    @Goal(baseline = "numpy:sum_i32")
    public int nativeViewVector() {
        return viewVector(nativeView);
    }

    /** {@link #nativeView} after {@code getInt} saw four kinds of segment. Baseline: {@link #intArray}. */
    @Benchmark
    @Goal(baseline = "intArray")
    public int nativeViewPolluted() {
        return view(nativeView);
    }

    /** The off-heap view's {@code VarHandle}, a static final: {@code (int) VH.get(i)}. Baseline: {@link #intArray}. */
    @Warmup(iterations = 5, time = 400, timeUnit = TimeUnit.MILLISECONDS)   // its method handles compile late
    @Benchmark
    @Goal(baseline = "intArray", maxRatio = 1.05)
    public int nativeViewVarHandle() {
        VarHandle vh = Constant.VH;
        long count = Constant.VIEW.elementCount();
        int s = 0;
        for (long i = 0; i < count; i++) {
            s += (int) vh.get(i);
        }
        return s;
    }

    /** Baseline: {@link #intArrayUnrolled}. */
    @Warmup(iterations = 5, time = 400, timeUnit = TimeUnit.MILLISECONDS)   // its method handles compile late
    @Benchmark
    @Goal(baseline = "intArrayUnrolled", maxRatio = 1.10)
    public int nativeViewVarHandleUnrolled() {
        VarHandle vh = Constant.VH;
        long count = Constant.VIEW.elementCount();
        int s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
        long i = 0;
        for (; i + 8 <= count; i += 8) {
            s0 += (int) vh.get(i);
            s1 += (int) vh.get(i + 1);
            s2 += (int) vh.get(i + 2);
            s3 += (int) vh.get(i + 3);
            s4 += (int) vh.get(i + 4);
            s5 += (int) vh.get(i + 5);
            s6 += (int) vh.get(i + 6);
            s7 += (int) vh.get(i + 7);
        }
        for (; i < count; i++) {
            s0 += (int) vh.get(i);
        }
        return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7));
    }

    static int view(NdArray v) {
        long count = v.elementCount();
        int s = 0;
        for (long i = 0; i < count; i++) {
            s += v.getInt(i);
        }
        return s;
    }

    static int viewUnrolled(NdArray v) {
        long count = v.elementCount();
        int s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
        long i = 0;
        for (; i + 8 <= count; i += 8) {
            s0 += v.getInt(i);
            s1 += v.getInt(i + 1);
            s2 += v.getInt(i + 2);
            s3 += v.getInt(i + 3);
            s4 += v.getInt(i + 4);
            s5 += v.getInt(i + 5);
            s6 += v.getInt(i + 6);
            s7 += v.getInt(i + 7);
        }
        for (; i < count; i++) {
            s0 += v.getInt(i);
        }
        return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7));
    }

    /** A contiguous view's elements through its segment: the way to hand a view to a Vector API kernel. */
    static int viewVector(NdArray v) {
        return segmentVector(v.segment(), v.byteOffset(), v.elementCount());
    }
}
