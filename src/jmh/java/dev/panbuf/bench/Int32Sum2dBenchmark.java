package dev.panbuf.bench;

import dev.panbuf.BufferArena;
import dev.panbuf.DType;
import dev.panbuf.NdArray;
import dev.panbuf.Slice;
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

/**
 * Sum of a 2-d strided int32 view: a region of interest {@code m[:, :1024]}
 * of a matrix whose rows are 1040 ints long (rows padded to a 64-byte
 * multiple, as images often are), walked row by row with two indices. Every
 * kind of memory, one accumulator, eight accumulators and the Vector API (per
 * row, accumulators carried across rows). {@code size} is the bytes summed.
 *
 * <p>Baselines: the {@code int[]} loop {@code a[r * PITCH + c]} written the
 * same way ({@link #intArray}, {@link #intArrayUnrolled},
 * {@link #intArrayVector}); {@code numpy:sum_2d_i32} is NumPy's {@code m[:, :1024].sum()}.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class Int32Sum2dBenchmark {

    static final VectorSpecies<Integer> S = IntVector.SPECIES_PREFERRED;
    private static final ByteOrder NATIVE = ByteOrder.nativeOrder();
    /** Columns summed per row. */
    static final int COLS = 1024;
    /** Elements per row of the underlying matrix. */
    static final int PITCH = COLS + 16;

    @Param({"1MiB", "64MiB"})
    public String size;

    int rows;
    int[] array;
    ByteBuffer heapBuffer;
    ByteBuffer directBuffer;
    MemorySegment heapSegment;
    MemorySegment nativeSegment;
    NdArray heapView;
    NdArray nativeView;
    private BufferArena arena;

    /** The off-heap region view and its VarHandle as JIT constants, fixed once per forked JVM. */
    static final class Constant {
        static final NdArray VIEW = pending;
        static final VarHandle VH = VIEW.varHandle();
    }

    private static NdArray pending;

    @Setup(Level.Trial)
    public void setup(BenchmarkParams params) {
        rows = Sizes.elements(size, 4) / COLS;
        array = new int[rows * PITCH];
        for (int i = 0; i < array.length; i++) {
            array[i] = (i % 1000);
        }
        heapBuffer = ByteBuffer.allocate(4 * array.length).order(NATIVE);
        heapBuffer.asIntBuffer().put(array);
        directBuffer = ByteBuffer.allocateDirect(4 * array.length).order(NATIVE);
        directBuffer.asIntBuffer().put(array);
        heapSegment = MemorySegment.ofArray(array);
        heapView = NdArray.wrap(array, rows, PITCH).get(Slice.all(), Slice.to(COLS));
        arena = BufferArena.ofConfined();
        NdArray whole = NdArray.allocate(arena, DType.INT32, rows, PITCH);
        nativeSegment = whole.segment();
        MemorySegment.copy(heapSegment, 0, nativeSegment, 0, 4L * array.length);
        nativeView = whole.get(Slice.all(), Slice.to(COLS));
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

    // ------------------------------------------------------------ int[]

    /** Baseline of the one-accumulator loops: {@code s += a[r * PITCH + c]}. */
    @Benchmark
    @Goal(baseline = "numpy:sum_2d_i32")
    public int intArray() {
        int[] a = array;
        int s = 0;
        for (int r = 0; r < rows; r++) {
            int base = r * PITCH;
            for (int c = 0; c < COLS; c++) {
                s += a[base + c];
            }
        }
        return s;
    }

    /** Baseline of the eight-accumulator loops. */
    @Benchmark
    @Goal(baseline = "intArray")
    public int intArrayUnrolled() {
        int[] a = array;
        int s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
        for (int r = 0; r < rows; r++) {
            int base = r * PITCH;
            for (int c = 0; c + 8 <= COLS; c += 8) {
                int i = base + c;
                s0 += a[i];
                s1 += a[i + 1];
                s2 += a[i + 2];
                s3 += a[i + 3];
                s4 += a[i + 4];
                s5 += a[i + 5];
                s6 += a[i + 6];
                s7 += a[i + 7];
            }
        }
        return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7));
    }

    /** Baseline of the Vector API loops. */
    @Benchmark
    @Goal(baseline = "intArray")
    @Goal(baseline = "numpy:sum_2d_i32")
    public int intArrayVector() {
        int[] a = array;
        int step = S.length();
        IntVector v0 = IntVector.zero(S), v1 = v0, v2 = v0, v3 = v0;
        for (int r = 0; r < rows; r++) {
            int base = r * PITCH;
            for (int c = 0; c + 4 * step <= COLS; c += 4 * step) {
                int i = base + c;
                v0 = v0.add(IntVector.fromArray(S, a, i));
                v1 = v1.add(IntVector.fromArray(S, a, i + step));
                v2 = v2.add(IntVector.fromArray(S, a, i + 2 * step));
                v3 = v3.add(IntVector.fromArray(S, a, i + 3 * step));
            }
        }
        return v0.add(v1).add(v2.add(v3)).reduceLanes(VectorOperators.ADD);
    }

    // ------------------------------------------------------------ ByteBuffer

    /** Heap {@code ByteBuffer}, {@code getInt(4 * (r * PITCH + c))}. Baseline: {@link #intArray}. */
    @Benchmark
    @Goal(baseline = "intArray")
    public int heapByteBuffer() {
        return buffer(heapBuffer, rows);
    }

    /** Baseline: {@link #intArrayUnrolled}. */
    @Benchmark
    @Goal(baseline = "intArrayUnrolled")
    public int heapByteBufferUnrolled() {
        return bufferUnrolled(heapBuffer, rows);
    }

    /** Baseline: {@link #intArrayVector}. */
    @Benchmark
    @Goal(baseline = "intArrayVector")
    public int heapByteBufferVector() {
        return segmentVector(MemorySegment.ofBuffer(heapBuffer), 0, 4L * PITCH, rows);
    }

    /** Direct {@code ByteBuffer}. Baseline: {@link #intArray}. */
    @Benchmark
    @Goal(baseline = "intArray")
    public int directByteBuffer() {
        return buffer(directBuffer, rows);
    }

    /** Baseline: {@link #intArrayUnrolled}. */
    @Benchmark
    @Goal(baseline = "intArrayUnrolled")
    public int directByteBufferUnrolled() {
        return bufferUnrolled(directBuffer, rows);
    }

    /** Baseline: {@link #intArrayVector}. */
    @Benchmark
    @Goal(baseline = "intArrayVector")
    public int directByteBufferVector() {
        return segmentVector(MemorySegment.ofBuffer(directBuffer), 0, 4L * PITCH, rows);
    }

    static int buffer(ByteBuffer b, int rows) {
        int s = 0;
        for (int r = 0; r < rows; r++) {
            int base = 4 * r * PITCH;
            for (int c = 0; c < 4 * COLS; c += 4) {
                s += b.getInt(base + c);
            }
        }
        return s;
    }

    static int bufferUnrolled(ByteBuffer b, int rows) {
        int s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
        for (int r = 0; r < rows; r++) {
            int base = 4 * r * PITCH;
            for (int c = 0; c + 32 <= 4 * COLS; c += 32) {
                int i = base + c;
                s0 += b.getInt(i);
                s1 += b.getInt(i + 4);
                s2 += b.getInt(i + 8);
                s3 += b.getInt(i + 12);
                s4 += b.getInt(i + 16);
                s5 += b.getInt(i + 20);
                s6 += b.getInt(i + 24);
                s7 += b.getInt(i + 28);
            }
        }
        return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7));
    }

    // ------------------------------------------------------------ raw segments

    /** Raw heap segment, {@code getAtIndex(JAVA_INT, r * PITCH + c)}. Baseline: {@link #intArray}. */
    @Benchmark
    @Goal(baseline = "intArray")
    public int heapSegment() {
        return segment(heapSegment, rows);
    }

    /** Baseline: {@link #intArrayUnrolled}. */
    @Benchmark
    @Goal(baseline = "intArrayUnrolled")
    public int heapSegmentUnrolled() {
        return segmentUnrolled(heapSegment, 0, 4L * PITCH, rows);
    }

    /** Baseline: {@link #intArrayVector}. */
    @Benchmark
    @Goal(baseline = "intArrayVector")
    public int heapSegmentVector() {
        return segmentVector(heapSegment, 0, 4L * PITCH, rows);
    }

    /** Raw native segment. Baseline: {@link #intArray}. */
    @Benchmark
    @Goal(baseline = "intArray")
    public int nativeSegment() {
        return segment(nativeSegment, rows);
    }

    /** Baseline: {@link #intArrayUnrolled}. */
    @Benchmark
    @Goal(baseline = "intArrayUnrolled")
    public int nativeSegmentUnrolled() {
        return segmentUnrolled(nativeSegment, 0, 4L * PITCH, rows);
    }

    /** Baseline: {@link #intArrayVector}. */
    @Benchmark
    @Goal(baseline = "intArrayVector")
    public int nativeSegmentVector() {
        return segmentVector(nativeSegment, 0, 4L * PITCH, rows);
    }

    static int segment(MemorySegment seg, long rows) {
        int s = 0;
        for (long r = 0; r < rows; r++) {
            long base = r * PITCH;
            for (long c = 0; c < COLS; c++) {
                s += seg.getAtIndex(JAVA_INT, base + c);
            }
        }
        return s;
    }

    /** Rows of {@link #COLS} elements, {@code rowBytes} apart, from byte {@code base}; long byte offsets. */
    static int segmentUnrolled(MemorySegment seg, long base, long rowBytes, long rows) {
        int s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
        for (long r = 0; r < rows; r++) {
            long start = base + r * rowBytes;
            long end = start + 4L * COLS;
            for (long off = start; off + 32 <= end; off += 32) {
                s0 += seg.get(JAVA_INT, off);
                s1 += seg.get(JAVA_INT, off + 4);
                s2 += seg.get(JAVA_INT, off + 8);
                s3 += seg.get(JAVA_INT, off + 12);
                s4 += seg.get(JAVA_INT, off + 16);
                s5 += seg.get(JAVA_INT, off + 20);
                s6 += seg.get(JAVA_INT, off + 24);
                s7 += seg.get(JAVA_INT, off + 28);
            }
        }
        return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7));
    }

    static int segmentVector(MemorySegment seg, long base, long rowBytes, long rows) {
        long step = 4L * S.length();
        IntVector v0 = IntVector.zero(S), v1 = v0, v2 = v0, v3 = v0;
        for (long r = 0; r < rows; r++) {
            long start = base + r * rowBytes;
            long end = start + 4L * COLS;
            for (long off = start; off + 4 * step <= end; off += 4 * step) {
                v0 = v0.add(IntVector.fromMemorySegment(S, seg, off, NATIVE));
                v1 = v1.add(IntVector.fromMemorySegment(S, seg, off + step, NATIVE));
                v2 = v2.add(IntVector.fromMemorySegment(S, seg, off + 2 * step, NATIVE));
                v3 = v3.add(IntVector.fromMemorySegment(S, seg, off + 3 * step, NATIVE));
            }
        }
        return v0.add(v1).add(v2.add(v3)).reduceLanes(VectorOperators.ADD);
    }

    // ------------------------------------------------------------ panbuf views

    /** The region view of the {@code int[]}: {@code v.getInt(r, c)}. Baseline: {@link #intArray}. */
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

    /** Vector API over each row of the view's segment. Baseline: {@link #intArrayVector}. */
    @Benchmark
    @Goal(baseline = "intArrayVector", maxRatio = 1.10)
    public int heapViewVector() {
        return viewVector(heapView);
    }

    /** The region view of native memory. Baseline: {@link #intArray}. */
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
    @Goal(baseline = "numpy:sum_2d_i32")
    public int nativeViewVector() {
        return viewVector(nativeView);
    }

    /** The region view's {@code VarHandle}, a static final: {@code (int) VH.get(r, c)}. Baseline: {@link #intArray}. */
    @Warmup(iterations = 5, time = 400, timeUnit = TimeUnit.MILLISECONDS)   // its method handles compile late
    @Benchmark
    @Goal(baseline = "intArray", maxRatio = 1.05)
    public int nativeViewVarHandle() {
        VarHandle vh = Constant.VH;
        long rowCount = Constant.VIEW.shape(0);
        long colCount = Constant.VIEW.shape(1);
        int s = 0;
        for (long r = 0; r < rowCount; r++) {
            for (long c = 0; c < colCount; c++) {
                s += (int) vh.get(r, c);
            }
        }
        return s;
    }

    /** Baseline: {@link #intArrayUnrolled}. */
    @Warmup(iterations = 5, time = 400, timeUnit = TimeUnit.MILLISECONDS)   // its method handles compile late
    @Benchmark
    @Goal(baseline = "intArrayUnrolled", maxRatio = 1.10)
    public int nativeViewVarHandleUnrolled() {
        VarHandle vh = Constant.VH;
        long rowCount = Constant.VIEW.shape(0);
        long colCount = Constant.VIEW.shape(1);
        int s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
        for (long r = 0; r < rowCount; r++) {
            for (long c = 0; c + 8 <= colCount; c += 8) {
                s0 += (int) vh.get(r, c);
                s1 += (int) vh.get(r, c + 1);
                s2 += (int) vh.get(r, c + 2);
                s3 += (int) vh.get(r, c + 3);
                s4 += (int) vh.get(r, c + 4);
                s5 += (int) vh.get(r, c + 5);
                s6 += (int) vh.get(r, c + 6);
                s7 += (int) vh.get(r, c + 7);
            }
        }
        return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7));
    }

    static int view(NdArray v) {
        long rowCount = v.shape(0);
        long colCount = v.shape(1);
        int s = 0;
        for (long r = 0; r < rowCount; r++) {
            for (long c = 0; c < colCount; c++) {
                s += v.getInt(r, c);
            }
        }
        return s;
    }

    static int viewUnrolled(NdArray v) {
        long rowCount = v.shape(0);
        long colCount = v.shape(1);
        int s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
        for (long r = 0; r < rowCount; r++) {
            for (long c = 0; c + 8 <= colCount; c += 8) {
                s0 += v.getInt(r, c);
                s1 += v.getInt(r, c + 1);
                s2 += v.getInt(r, c + 2);
                s3 += v.getInt(r, c + 3);
                s4 += v.getInt(r, c + 4);
                s5 += v.getInt(r, c + 5);
                s6 += v.getInt(r, c + 6);
                s7 += v.getInt(r, c + 7);
            }
        }
        return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7));
    }

    /** Rows of a view whose last axis is contiguous, through its segment. */
    static int viewVector(NdArray v) {
        if (v.byteStride(1) != 4 || v.shape(1) != COLS) {
            throw new IllegalArgumentException("this kernel is for (rows, 1024) int32 views with contiguous rows, got "
                    + v.describe());
        }
        return segmentVector(v.segment(), v.byteOffset(), v.byteStride(0), v.shape(0));
    }
}
