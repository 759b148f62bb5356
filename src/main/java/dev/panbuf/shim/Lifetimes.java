package dev.panbuf.shim;

import dev.panbuf.Export;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * The lifetime rules of package {@code dev.panbuf}, lent to panbuf's other
 * packages (DLPack, the Python bridge) so that every import, whatever its
 * producer, is held, released and refused the same way. Not API: this
 * package is not exported from the module.
 */
public final class Lifetimes {

    /** What {@code dev.panbuf} provides. */
    public interface Service {
        /**
         * Views {@code [address, address + byteSize)} in {@code arena} and runs
         * {@code release} exactly once when the arena lets go of it; a non-zero
         * {@code key} (the producer's pointer) is held by at most one import at a
         * time. Nothing is registered, and {@code release} does not run, when it throws.
         *
         * @throws IllegalArgumentException when {@code key} is already imported
         * @throws IllegalStateException when the arena is closed
         */
        MemorySegment holdImport(Arena arena, String what, long key, long address, long byteSize, Runnable release);

        /** Makes messages about {@code export} say who holds it and how it is released. */
        void describeHolder(Export export, Supplier<String> releaseAdvice);

        /** "export #7 of &lt;f4 (3, 4) at 0x…": the export, without its state. */
        String describe(Export export);

        /** The name of {@code arena} in messages. */
        String arenaName(Arena arena);

        /**
         * Reports {@code handle} as a leak (with the creation site of
         * {@code export}, when leak detection recorded one) if the garbage
         * collector finds it unreachable while {@code leaked} is true.
         */
        void trackLeak(Object handle, Export export, BooleanSupplier leaked, Supplier<String> what);

        /**
         * Memory of {@code arena} that is not zeroed, for a result the caller
         * writes in full before anyone sees it (a {@code .npy} read); counted
         * against a {@code BufferArena}'s budget like any allocation.
         */
        MemorySegment allocateUninitialized(Arena arena, long byteSize, long byteAlignment);
    }

    private static volatile Service service;

    private Lifetimes() {}

    /** Called once, by {@code dev.panbuf}. */
    public static void install(Service s) {
        if (service != null) {
            throw new IllegalStateException("the lifetime service is already installed");
        }
        service = s;
    }

    /** The service, installing it first if no class of {@code dev.panbuf} has done so yet. */
    public static Service get() {
        Service s = service;
        if (s == null) {
            try {
                Class.forName("dev.panbuf.Import", true, Lifetimes.class.getClassLoader());
            } catch (ClassNotFoundException e) {
                throw new AssertionError("dev.panbuf.Import is part of this module", e);
            }
            s = service;
        }
        return s;
    }
}
