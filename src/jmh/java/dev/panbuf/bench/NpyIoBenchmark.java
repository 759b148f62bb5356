package dev.panbuf.bench;

import dev.panbuf.BufferArena;
import dev.panbuf.DType;
import dev.panbuf.NdArray;
import dev.panbuf.npy.Npy;
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

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * {@code .npy} files of float32 against NumPy in the same run: {@link #read}
 * ({@code np.load}), the writes without forcing ({@code np.save}, which does
 * not force either), and mapping ({@code np.load(mmap_mode='r')}), alone and
 * followed by a sum of every element.
 *
 * <p>The files live in /dev/shm, a tmpfs, on both sides: their pages are the
 * page cache, warm by construction (each input is also read once before
 * timing), and no storage device takes part. On a disk, the kernel's
 * background writeback of earlier iterations' gigabytes throttled later
 * writes, so that the figures measured the device and the other processes
 * writing to it rather than either library.
 *
 * <p>The forks put their heap on transparent huge pages. With the harness's
 * {@code -Xms1g -XX:+AlwaysPreTouch} on 4 KiB pages, one 1 GiB atomic write
 * in three or four took about twice as long in the kernel (every one of its
 * 1,025 {@code write} calls slower, none stalled: traced with
 * {@code strace -T}), in a plain loop of {@code Npy.write} as under JMH. The
 * same loop with the heap on huge pages, or not pre-touched, had no slow
 * write in 48, nor had Python's. Under JMH they became rarer, not gone
 * (2 of 20 in one 2-fork run; a quick run's 5 iterations still held up to 3).
 *
 * <p>Baselines: {@code numpy:npy_read}, {@code numpy:npy_write},
 * {@code numpy:npy_map_sum} with the same size; {@link #map} of a 4 KiB file
 * for the 1 GiB one (mapping is O(1) in the file's size).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(jvmArgsAppend = "-XX:+UseTransparentHugePages")
public class NpyIoBenchmark {

    @Param({"4KiB", "1GiB"})
    public String size;

    private BufferArena arena;
    private NdArray array;
    private Path dir;
    private Path input;
    private Path output;

    @Setup(Level.Trial)
    public void setup() throws IOException {
        dir = Files.createTempDirectory(Path.of("/dev/shm"), "panbuf-bench-npy-io-");
        input = dir.resolve("input.npy");
        output = dir.resolve("output.npy");
        arena = BufferArena.ofShared();
        long count = Sizes.bytes(size) / 4;
        array = NdArray.allocate(arena, DType.FLOAT32, count);
        MemorySegment s = array.segment();
        for (long i = 0; i < count; i++) {
            s.setAtIndex(ValueLayout.JAVA_FLOAT, i, (i & 1023) * 0.25f);
        }
        Npy.write(input, array, Npy.WriteMode.IN_PLACE);
        Npy.write(output, array, Npy.WriteMode.IN_PLACE);
        read();   // the page cache holds the input from here on
    }

    @TearDown(Level.Trial)
    public void tearDown() throws IOException {
        arena.close();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path p : files.toList()) {
                Files.delete(p);
            }
        }
        Files.delete(dir);
    }

    /** {@code Npy.read} into a fresh arena, closed after. Baseline: {@code np.load(file)}. */
    @Benchmark
    @Goal(baseline = "numpy:npy_read", when = "size=1GiB", maxRatio = 1 / 0.9, text = ">= 0.9x its throughput")
    @Goal(baseline = "numpy:npy_read", when = "size=4KiB")
    public float read() throws IOException {
        try (Arena a = Arena.ofConfined()) {
            return Npy.read(input, a).getFloat(1);
        }
    }

    /** {@code Npy.write(file, array, IN_PLACE)}: truncate and write, as NumPy does. Baseline: {@code np.save(file, a)}. */
    @Benchmark
    @Goal(baseline = "numpy:npy_write", when = "size=1GiB", maxRatio = 1 / 0.9, text = ">= 0.9x its throughput")
    @Goal(baseline = "numpy:npy_write", when = "size=4KiB")
    public Path writeInPlace() throws IOException {
        Npy.write(output, array, Npy.WriteMode.IN_PLACE);
        return output;
    }

    /** {@code Npy.write(file, array, ATOMIC)}: a temporary file renamed over the old one, nothing forced. Baseline: NumPy. */
    @Benchmark
    @Goal(baseline = "numpy:npy_write", when = "size=1GiB", maxRatio = 1 / 0.9, text = ">= 0.9x its throughput")
    @Goal(baseline = "numpy:npy_write", when = "size=4KiB")
    public Path writeAtomic() throws IOException {
        Npy.write(output, array, Npy.WriteMode.ATOMIC);
        return output;
    }

    /** {@code Npy.map} read-only and unmapped again, no element touched. Baseline: the 4 KiB file's. */
    @Benchmark
    @Goal(baseline = "map", baselineParams = "size=4KiB", when = "size=1GiB", maxRatio = 1.25,
            text = "O(1): 1 GiB within 1.25x of 4 KiB")
    public long map() throws IOException {
        try (Arena a = Arena.ofConfined()) {
            return Npy.map(input, a, Npy.MapMode.READ_ONLY).elementCount();
        }
    }

    /** {@code Npy.map}, then the sum of every element (eight running sums). Baseline: {@code np.load(f, mmap_mode='r').sum()}. */
    @Benchmark
    @Goal(baseline = "numpy:npy_map_sum")
    public float mapSum() throws IOException {
        try (Arena a = Arena.ofConfined()) {
            NdArray m = Npy.map(input, a, Npy.MapMode.READ_ONLY);
            MemorySegment s = m.segment();
            long n = m.elementCount();
            long base = m.byteOffset();
            float s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
            long i = 0;
            long limit = n - 7;   // a counted loop, which C2 compiles without per-read checks
            for (; i < limit; i += 8) {
                long at = base + 4 * i;
                s0 += s.get(ValueLayout.JAVA_FLOAT_UNALIGNED, at);
                s1 += s.get(ValueLayout.JAVA_FLOAT_UNALIGNED, at + 4);
                s2 += s.get(ValueLayout.JAVA_FLOAT_UNALIGNED, at + 8);
                s3 += s.get(ValueLayout.JAVA_FLOAT_UNALIGNED, at + 12);
                s4 += s.get(ValueLayout.JAVA_FLOAT_UNALIGNED, at + 16);
                s5 += s.get(ValueLayout.JAVA_FLOAT_UNALIGNED, at + 20);
                s6 += s.get(ValueLayout.JAVA_FLOAT_UNALIGNED, at + 24);
                s7 += s.get(ValueLayout.JAVA_FLOAT_UNALIGNED, at + 28);
            }
            for (; i < n; i++) {
                s0 += s.get(ValueLayout.JAVA_FLOAT_UNALIGNED, base + 4 * i);
            }
            return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7));
        }
    }
}
