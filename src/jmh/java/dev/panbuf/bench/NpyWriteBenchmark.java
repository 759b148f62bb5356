package dev.panbuf.bench;

import dev.panbuf.BufferArena;
import dev.panbuf.DType;
import dev.panbuf.NdArray;
import dev.panbuf.npy.Npy;
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

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Writing a contiguous int64 array as a {@code .npy} file over an existing
 * one, in each {@link Npy.WriteMode}, against the write panbuf had before
 * writes became atomic ({@link #legacyInPlace}: truncate the destination,
 * write the header, write the data in 1 MiB chunks straight from the
 * segment; nothing forced), measured in the same run.
 *
 * <p>Folders: {@code tmpfs} is /dev/shm (memory only: forcing costs nothing,
 * so the atomic replace's own cost shows), {@code disk} is java.io.tmpdir (or
 * the working directory, where /tmp is a tmpfs) on the machine's disk, where {@link #atomicDurable} waits for the device and
 * is compared with {@link #legacyInPlaceForced}, the old write followed by
 * {@code fsync}: the same durability without atomicity.
 *
 * <p>Baselines: {@link #legacyInPlace} for every mode; {@link #legacyInPlaceForced}
 * for {@link #atomicDurable} on disk.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class NpyWriteBenchmark {

    @Param({"4KiB", "256MiB"})
    public String size;

    @Param({"tmpfs", "disk"})
    public String folder;

    private BufferArena arena;
    private NdArray array;
    private Path dir;
    private Path file;

    @Setup(Level.Trial)
    public void setup() throws IOException {
        dir = Files.createTempDirectory(folder(folder.equals("tmpfs")), "panbuf-bench-npy-");
        file = dir.resolve("data.npy");
        arena = BufferArena.ofShared();
        long count = Sizes.bytes(size) / 8;
        array = NdArray.allocate(arena, DType.INT64, count);
        MemorySegment s = array.segment();
        for (long i = 0; i < count; i++) {
            s.setAtIndex(ValueLayout.JAVA_LONG, i, i * 0x9E3779B97F4A7C15L);
        }
        Npy.write(file, array);
    }

    /** /dev/shm for tmpfs; for disk, java.io.tmpdir, or the working directory where /tmp is a tmpfs too. */
    private static Path folder(boolean tmpfs) throws IOException {
        List<Path> candidates = tmpfs ? List.of(Path.of("/dev/shm"))
                : List.of(Path.of(System.getProperty("java.io.tmpdir")), Path.of(System.getProperty("user.dir")));
        for (Path c : candidates) {
            if (Files.isDirectory(c) && Files.getFileStore(c).type().equals("tmpfs") == tmpfs) {
                return c;
            }
        }
        throw new IllegalStateException("no folder on " + (tmpfs ? "tmpfs" : "a disk") + " among " + candidates);
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

    /** The write before atomic replaces, inlined: truncate, header, 1 MiB chunks from the segment. The baseline. */
    @Benchmark
    public Path legacyInPlace() throws IOException {
        legacyWrite(false);
        return file;
    }

    /** {@link #legacyInPlace} then {@code fsync}: durable, not atomic. Baseline of {@link #atomicDurable} on disk. */
    @Benchmark
    public Path legacyInPlaceForced() throws IOException {
        legacyWrite(true);
        return file;
    }

    private void legacyWrite(boolean force) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                StandardOpenOption.WRITE)) {
            writeFully(ch, ByteBuffer.wrap(Npy.headerFor(array).encode()));
            MemorySegment data = array.segment().asSlice(array.byteOffset(), array.byteSize());
            long n = data.byteSize();
            for (long done = 0; done < n; done += 1 << 20) {
                writeFully(ch, data.asSlice(done, Math.min(1 << 20, n - done)).asByteBuffer());
            }
            if (force) {
                ch.force(true);
            }
        }
    }

    private static void writeFully(FileChannel ch, ByteBuffer buf) throws IOException {
        while (buf.hasRemaining()) {
            ch.write(buf);
        }
    }

    /** {@code Npy.write(file, array, IN_PLACE)}. Baseline: {@link #legacyInPlace}. */
    @Benchmark
    @Goal(baseline = "legacyInPlace", when = "size=256MiB", maxRatio = 1 / 0.9, text = ">= 0.9x its throughput")
    public Path inPlace() throws IOException {
        Npy.write(file, array, Npy.WriteMode.IN_PLACE);
        return file;
    }

    /** {@code Npy.write(file, array, ATOMIC)}: the atomic replace, nothing forced. Baseline: {@link #legacyInPlace}. */
    @Benchmark
    @Goal(baseline = "legacyInPlace", when = "size=256MiB", maxRatio = 1 / 0.9, text = ">= 0.9x its throughput")
    @Goal(baseline = "legacyInPlace", when = "size=4KiB")
    public Path atomic() throws IOException {
        Npy.write(file, array, Npy.WriteMode.ATOMIC);
        return file;
    }

    /**
     * {@code Npy.write(file, array)}: the default, atomic and durable.
     * Baselines: {@link #legacyInPlace} on tmpfs, {@link #legacyInPlaceForced} on disk.
     */
    @Benchmark
    @Goal(baseline = "legacyInPlace", when = "folder=tmpfs,size=256MiB", maxRatio = 1 / 0.9, text = ">= 0.9x its throughput")
    @Goal(baseline = "legacyInPlaceForced", when = "folder=disk,size=256MiB", maxRatio = 1 / 0.9,
            text = ">= 0.9x the throughput of the old write plus fsync")
    @Goal(baseline = "legacyInPlace", when = "folder=disk")
    @Goal(baseline = "legacyInPlace", when = "folder=tmpfs,size=4KiB")
    public Path atomicDurable() throws IOException {
        Npy.write(file, array);
        return file;
    }
}
