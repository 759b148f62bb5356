package dev.panbuf.npy;

import dev.panbuf.DType;
import dev.panbuf.NdArray;
import org.junit.jupiter.api.Assumptions;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * What the {@code .npy} durability tests share: arrays whose every element is
 * a function of a seed (so a file is checked completely without keeping a
 * copy), folder listings, and a way to make a folder read-only that works
 * for root too.
 */
final class NpyFiles {

    private NpyFiles() {}

    /** splitmix64: element {@code i} of the array of {@code seed}. */
    static long element(long seed, long i) {
        long z = seed * 0x9E3779B97F4A7C15L + (i + 1) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /** An int64 array of {@code count} elements of {@code seed}, in {@code arena}. */
    static NdArray pattern(Arena arena, long count, long seed) {
        NdArray a = NdArray.allocate(arena, DType.INT64, count);
        MemorySegment s = a.segment();
        for (long i = 0; i < count; i++) {
            s.setAtIndex(ValueLayout.JAVA_LONG_UNALIGNED, i, element(seed, i));
        }
        return a;
    }

    /** Writes the array of {@code seed} to {@code file}. */
    static void writePattern(Path file, long count, long seed) throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            Npy.write(file, pattern(arena, count, seed));
        }
    }

    /** Whether {@code file} is exactly the array of {@code seed}: header (int64, shape (count,)) and every element. */
    static boolean holds(Path file, long count, long seed) throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            NdArray a;
            try {
                a = Npy.map(file, arena, Npy.MapMode.READ_ONLY);
            } catch (IOException e) {
                return false;
            }
            if (!a.dtype().equals(DType.INT64) || a.ndim() != 1 || a.shape(0) != count
                    || Files.size(file) != Npy.headerFor(a).dataOffset() + 8 * count) {
                return false;
            }
            MemorySegment s = a.segment();
            for (long i = 0; i < count; i++) {
                if (s.getAtIndex(ValueLayout.JAVA_LONG_UNALIGNED, i) != element(seed, i)) {
                    return false;
                }
            }
            return true;
        }
    }

    static void assertHolds(Path file, long count, long seed) throws IOException {
        if (!holds(file, count, seed)) {
            throw new AssertionError(file + " is not the whole array of seed " + seed + " (" + count + " elements); it has "
                    + (Files.exists(file) ? Files.size(file) + " bytes" : "gone"));
        }
    }

    /** The names in {@code dir}, sorted. */
    static List<String> names(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    /**
     * Makes {@code dir} read-only for this process and returns how to undo it.
     * Permission bits do not stop root (CAP_DAC_OVERRIDE), so where they do
     * not bind the folder is made immutable ({@code chattr +i}, which stops
     * root too); where that is impossible (no chattr, a file system without
     * the flag, no CAP_LINUX_IMMUTABLE) the test is skipped, saying so.
     */
    static AutoCloseable makeReadOnly(Path dir) throws IOException, InterruptedException {
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("r-xr-xr-x"));
        if (!Files.isWritable(dir)) {
            return () -> Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        }
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        String why = run("chattr", "+i", dir.toString());
        if (why == null && !Files.isWritable(dir)) {
            return () -> assertEquals(null, run("chattr", "-i", dir.toString()), "chattr -i " + dir);
        }
        if (why == null) {
            run("chattr", "-i", dir.toString());
        }
        Assumptions.abort("cannot make a folder read-only here: permission bits do not bind this process (root?) and"
                + " chattr +i " + (why == null ? "did not stop writes" : "failed: " + why));
        return null;
    }

    /** Runs a command; null when it succeeded, else what it said. */
    static String run(String... cmd) throws IOException, InterruptedException {
        Process p;
        try {
            p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        } catch (IOException e) {
            return e.getMessage();
        }
        String out = new String(p.getInputStream().readAllBytes()).strip();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            return "timed out";
        }
        return p.exitValue() == 0 ? null : "exit " + p.exitValue() + ": " + out;
    }

    /** Whether permission bits stop this process (false for root). */
    static boolean permissionBitsBind(Path dir) throws IOException {
        Path probe = Files.createTempDirectory(dir, "perm");
        try {
            Files.setPosixFilePermissions(probe, PosixFilePermissions.fromString("r-xr-xr-x"));
            return !Files.isWritable(probe);
        } finally {
            Files.setPosixFilePermissions(probe, PosixFilePermissions.fromString("rwxr-xr-x"));
            Files.delete(probe);
        }
    }
}
