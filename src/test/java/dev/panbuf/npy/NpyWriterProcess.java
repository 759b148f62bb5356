package dev.panbuf.npy;

import dev.panbuf.NdArray;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The child JVM of {@link NpyCrashConsistencyTest}: a writer that the test
 * kills, starves of file size or of disk space, and watches.
 *
 * <pre>
 * write DEST SOURCE.npy MODE   maps SOURCE read-only, prints WRITING, writes it to DEST in MODE, prints DONE &lt;ns&gt;
 * full DIR                     in DIR (a small file system): writes a 1 MiB array (seed 1), then tries a larger one
 *                              (seed 2) that cannot fit; prints what that threw, whether DIR/data.npy is still the
 *                              first array, and the names in DIR
 * </pre>
 *
 * A write that throws prints {@code THREW <class>: <message>} and exits with 3.
 */
public final class NpyWriterProcess {

    private NpyWriterProcess() {}

    public static void main(String[] args) throws IOException {
        switch (args[0]) {
            case "write" -> write(Path.of(args[1]), Path.of(args[2]), Npy.WriteMode.valueOf(args[3]));
            case "full" -> full(Path.of(args[1]));
            default -> throw new IllegalArgumentException("unknown command " + args[0]);
        }
    }

    private static void write(Path dest, Path source, Npy.WriteMode mode) throws IOException {
        // One small write first, elsewhere: class loading is then not part of the write the test kills.
        Path warmUp = Files.createTempFile("panbuf-warm-up", ".npy");
        Npy.write(warmUp, NdArray.wrap(new int[] {1, 2, 3}), mode);
        Files.delete(warmUp);
        try (Arena arena = Arena.ofConfined()) {
            NdArray a = Npy.map(source, arena, Npy.MapMode.READ_ONLY);
            System.out.println("WRITING");
            System.out.flush();
            long t0 = System.nanoTime();
            try {
                Npy.write(dest, a, mode);
            } catch (IOException | RuntimeException e) {
                threw(e);
            }
            System.out.println("DONE " + (System.nanoTime() - t0));
        }
    }

    private static void full(Path dir) throws IOException {
        Path f = dir.resolve("data.npy");
        long small = 1 << 17;
        NpyFiles.writePattern(f, small, 1);
        try {
            NpyFiles.writePattern(f, 16 * small, 2);
            System.out.println("WROTE");
        } catch (IOException e) {
            System.out.println("THREW " + e.getClass().getName() + ": " + e.getMessage());
        }
        System.out.println("OLD_HOLDS " + NpyFiles.holds(f, small, 1));
        System.out.println("NAMES " + NpyFiles.names(dir));
    }

    private static void threw(Exception e) {
        System.out.println("THREW " + e.getClass().getName() + ": " + e.getMessage());
        System.out.flush();
        System.exit(3);
    }
}
