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

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;

/**
 * Allocating zeroed memory and giving it back: a heap array, a direct
 * {@code ByteBuffer} (freed by the garbage collector), a confined FFM arena,
 * a {@link BufferArena} and {@code NdArray.allocate} in one, and C's
 * {@code calloc} + {@code free} through downcalls.
 *
 * <p>Baselines: {@link #arenaConfined} for panbuf's arenas (what panbuf adds to
 * FFM); {@link #callocFree} for the FFM arena itself.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class AllocateBenchmark {

    @Param({"64B", "1MiB", "64MiB"})
    public String size;

    long bytes;

    @Setup(Level.Trial)
    public void setup() {
        bytes = Sizes.bytes(size);
    }

    /** {@code new float[n]}: the heap's bump allocation plus zeroing; the GC frees it. Baseline: {@link #arenaConfined}. */
    @Benchmark
    @Goal(baseline = "arenaConfined")
    public float[] newFloatArray() {
        return new float[(int) (bytes / 4)];
    }

    /** {@code ByteBuffer.allocateDirect}; freed when the GC finds it unreachable. Baseline: {@link #arenaConfined}. */
    @Benchmark
    @Goal(baseline = "arenaConfined")
    public ByteBuffer allocateDirect() {
        return ByteBuffer.allocateDirect((int) bytes);
    }

    /** {@code calloc} + {@code free} through two downcalls: C's cost. */
    @Benchmark
    public long callocFree() throws Throwable {
        MemorySegment p = (MemorySegment) NativeBaselines.CALLOC.invokeExact(1L, bytes);
        long address = p.address();
        NativeBaselines.FREE.invokeExact(p);
        return address;
    }

    /** {@code Arena.ofConfined()}, allocate 64-byte aligned, close. Baseline: {@link #callocFree}. */
    @Benchmark
    @Goal(baseline = "callocFree")
    public long arenaConfined() {
        try (Arena arena = Arena.ofConfined()) {
            return arena.allocate(bytes, 64).address();
        }
    }

    /** {@code BufferArena.ofConfined()}, allocate, close. Baseline: {@link #arenaConfined}. */
    @Benchmark
    @Goal(baseline = "arenaConfined")
    public long bufferArena() {
        try (BufferArena arena = BufferArena.ofConfined()) {
            return arena.allocate(bytes, 64).address();
        }
    }

    /** {@code NdArray.allocate} of float32 in a new BufferArena, then close. Baseline: {@link #arenaConfined}. */
    @Benchmark
    @Goal(baseline = "arenaConfined")
    public long ndArrayAllocate() {
        try (BufferArena arena = BufferArena.ofConfined()) {
            return NdArray.allocate(arena, DType.FLOAT32, bytes / 4).address();
        }
    }
}
