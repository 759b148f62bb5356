package dev.panbuf.bench;

import dev.panbuf.BufferArena;
import dev.panbuf.DType;
import dev.panbuf.NdArray;
import dev.panbuf.Slice;
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

import java.lang.foreign.MemorySegment;
import java.util.concurrent.TimeUnit;

/**
 * Where the 2-d loop's time above {@code float[]} goes: the same 1 MiB of
 * float32 (262,144 elements) summed by the counted eight-accumulator loop as
 * rows of {@code cols} elements (padded by 16, as in
 * {@link Float32Sum2dBenchmark}), from 1,024 rows of 256 to 16 rows of 16,384.
 *
 * <p>C2 removes every check from the main loop of {@code getFloat(r, c)}, as
 * from the {@code float[]} loop's. Two costs stay. Each time the inner loop
 * starts, C2 sets up every range check of the loop body for the {@code long}
 * index anew (eight of panbuf's column checks and eight of FFM's bounds
 * checks here; far less for the {@code int}-indexed array loop): that work
 * is per row, so the ratio to {@code float[]} falls as rows lengthen, and
 * the extra time divided by the number of rows is its cost. And C2 unrolls
 * the view loop's body eight times more than written, with each
 * accumulator's additions back to back, where it leaves the array loop's
 * body as written: the {@code UnrollLimited} forks hold unrolling at four
 * ({@value #UNROLL_LIMIT}) to separate the two. {@link #segmentRows} reads
 * the view's segment at the view's offsets, with FFM's checks only.
 *
 * <p>Baseline: {@link #floatArrayRows}. Not in the quick plan; run it with
 * {@code ./panbuf bench --forks 3 --no-numpy --only RowLength}.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class RowLengthBenchmark {

    /**
     * C2's largest unrolling for the {@code UnrollLimited} forks (16 by
     * default): four keeps the eight accumulators' additions interleaved in
     * the unrolled body.
     */
    static final String UNROLL_LIMIT = "-XX:LoopMaxUnroll=4";

    /** Elements summed in every configuration: 1 MiB of float32. */
    static final int ELEMENTS = 1 << 18;
    /** Elements of padding after each row of the underlying matrix. */
    static final int PAD = 16;

    /** Columns per row; the rows are {@link #ELEMENTS} / cols. */
    @Param({"256", "1024", "4096", "16384"})
    public int cols;

    int rows;
    int pitch;
    float[] array;
    NdArray view;
    private BufferArena arena;

    @Setup(Level.Trial)
    public void setup() {
        rows = ELEMENTS / cols;
        pitch = cols + PAD;
        array = new float[rows * pitch];
        for (int i = 0; i < array.length; i++) {
            array[i] = (i % 1000) * 0.25f;
        }
        arena = BufferArena.ofConfined();
        NdArray whole = NdArray.allocate(arena, DType.FLOAT32, rows, pitch);
        MemorySegment.copy(MemorySegment.ofArray(array), 0, whole.segment(), 0, 4L * array.length);
        view = whole.get(Slice.all(), Slice.to(cols));
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        arena.close();
    }

    /** The counted loop over each row of a {@code float[]}: {@code a[r * pitch + c]}. */
    @Benchmark
    public float floatArrayRows() {
        return arrayRows(array, rows, cols, pitch);
    }

    /** {@link #floatArrayRows} in a JVM whose C2 unrolls a loop at most four times. Baseline: {@link #floatArrayRows}. */
    @Benchmark
    @Fork(jvmArgsAppend = UNROLL_LIMIT)
    @Goal(baseline = "floatArrayRows")
    public float floatArrayRowsUnrollLimited() {
        return arrayRows(array, rows, cols, pitch);
    }

    /** The same loop with {@code view.getFloat(r, c)}: {@link Float32Sum2dBenchmark#viewUnrolledCounted}. Baseline: {@link #floatArrayRows}. */
    @Benchmark
    @Goal(baseline = "floatArrayRows")
    public float viewRows() {
        return Float32Sum2dBenchmark.viewUnrolledCounted(view);
    }

    /**
     * {@link #viewRows} in a JVM whose C2 unrolls a loop at most four times:
     * what remains of the gap is the work per row. Baseline: {@link #floatArrayRows}.
     */
    @Benchmark
    @Fork(jvmArgsAppend = UNROLL_LIMIT)
    @Goal(baseline = "floatArrayRows")
    public float viewRowsUnrollLimited() {
        return Float32Sum2dBenchmark.viewUnrolledCounted(view);
    }

    static float arrayRows(float[] a, int rowCount, int colCount, int rowPitch) {
        float s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
        for (int r = 0; r < rowCount; r++) {
            int base = r * rowPitch;
            int colLimit = colCount - 7;
            int c = 0;
            for (; c < colLimit; c += 8) {
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
            for (; c < colCount; c++) {
                s0 += a[base + c];
            }
        }
        return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7));
    }

    /**
     * The same loop over the view's segment at the view's offsets, FFM's checks only:
     * {@link Float32Sum2dBenchmark#segmentRowsUnrolledCounted}. Baseline: {@link #floatArrayRows}.
     */
    @Benchmark
    @Goal(baseline = "floatArrayRows")
    public float segmentRows() {
        return Float32Sum2dBenchmark.segmentRowsUnrolledCounted(view);
    }
}
