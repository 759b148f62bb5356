package dev.panbuf;

import dev.panbuf.npy.Npy;

import java.io.RandomAccessFile;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Child JVM for {@link NativeCopyTest#aTruncatedMappingNeverReachesTheKernel}:
 * maps a 16 MiB {@code .npy} file, truncates the file to one page, then copies
 * the mapping (as {@code Npy.map} gives it, and as a bare address that an
 * import from a producer would give) with a transpose large enough for the C
 * kernel. Each copy must throw; a copy through C would end this JVM with
 * SIGBUS instead. Last, an allocated copy of the same size does use the kernel.
 */
final class TruncatedMappingCopyScenario {

    private TruncatedMappingCopyScenario() {}

    public static void main(String[] args) throws Exception {
        System.out.println("kernel=" + Copier.nativeKernelEnabled());
        Path file = Files.createTempFile("panbuf-truncated-", ".npy");
        try (Arena arena = Arena.ofConfined()) {
            Npy.write(file, NdArray.allocate(arena, DType.FLOAT32, 2048, 2048));
            NdArray mapped = Npy.map(file, arena, Npy.MapMode.READ_ONLY);
            NdArray bare = NdArray.of(MemorySegment.ofAddress(mapped.address()).reinterpret(mapped.byteSize()),
                    DType.FLOAT32, 2048, 2048);
            try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
                f.setLength(4096);
            }
            for (String name : new String[] {"mapped", "address"}) {
                NdArray source = name.equals("mapped") ? mapped : bare;
                try {
                    source.transpose().copy(Order.C, arena);
                    System.out.println(name + ": copied, which a truncated file cannot give");
                } catch (InternalError e) {
                    System.out.println(name + ": InternalError: " + e.getMessage());
                }
            }
            long before = Copier.NATIVE_COPIES.sum();
            NdArray allocated = NdArray.allocate(arena, DType.FLOAT32, 2048, 2048);
            allocated.transpose().copy(Order.C, arena);
            System.out.println("allocated: copies=" + (Copier.NATIVE_COPIES.sum() - before));
        } finally {
            Files.deleteIfExists(file);
        }
        System.out.println("alive");
    }
}
