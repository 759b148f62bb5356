package dev.panbuf;

import dev.panbuf.shim.NativeLibrary;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * Native memory for arrays: for results that are written in full before
 * anyone can see them ({@code Npy.read}, {@code copy}) allocated without
 * zeroing, and for every large array on huge pages.
 *
 * <p>Why: {@link Arena#allocate} zeroes what it returns. For a result that
 * a read or a copy then overwrites, that is one more pass over the whole
 * block, and on fresh pages the more expensive one (it is where the kernel
 * first maps them): reading a 1 GiB {@code .npy} file took 2.7 times
 * NumPy's time, which allocates with {@code np.empty}, mostly in zeroing.
 * Blocks of at least {@link #MIN_BYTES} therefore come from the C library's
 * {@code aligned_alloc} and are tied to the caller's arena with
 * {@link MemorySegment#reinterpret(long, Arena, java.util.function.Consumer)}:
 * the arena's scope, thread and lifetime are the segment's, as for
 * {@code arena.allocate}, and closing the arena frees the block. Blocks of
 * {@link #HUGE_PAGE_MIN_BYTES} and more ask Linux for transparent huge pages,
 * zeroed ones too ({@code NdArray.allocate}): a copy whose source jumps
 * between pages (a permutation, a transpose) misses the TLB on each jump
 * with 4 KiB pages, and NumPy's arrays, which it is measured against, have
 * huge pages.
 *
 * <p>Only the JDK's arenas and {@link BufferArena} are served this way: the
 * block is tied to the arena's scope and bypasses its {@code allocate}, so a
 * user's own {@link Arena} implementation (one that pools, or counts) keeps
 * every allocation, and its memory is not recorded as anonymous: it may be a
 * file mapping.
 *
 * <p>The caller must fill every byte before the memory becomes visible, and
 * must not hand out a view when filling fails. Smaller blocks, and every
 * block when panbuf has no native access (then {@code reinterpret} is
 * refused), are allocated by {@code arena.allocate} as before.
 */
final class Allocation {

    /** Below this, zeroing costs less than a call into the C library. */
    static final long MIN_BYTES = 1 << 20;

    /** {@code aligned_alloc} alignment; panbuf's allocations ask for at most 64. */
    private static final long ALIGNMENT_BYTES = 64;

    /**
     * From this size, blocks are offered to the kernel for transparent huge
     * pages, as NumPy does for its arrays: first touching 1 GiB in 4 KiB
     * pages took about 1 s here (262,144 page faults), where 2 MiB pages need
     * 512. Linux's default policy ("madvise") gives huge pages only to
     * memory that asks.
     */
    static final long HUGE_PAGE_MIN_BYTES = 4L << 20;

    private static final long PAGE_BYTES = 4096;
    private static final int MADV_HUGEPAGE = 14;

    /**
     * The C library's functions, bound on first use: a program that never
     * reads a large file or copies a large array makes no downcall handle.
     */
    private static final class C {
        static final MethodHandle ALIGNED_ALLOC;
        static final MethodHandle FREE;
        /** Linux's {@code madvise}. */
        static final MethodHandle MADVISE;

        static {
            MethodHandle alloc = null;
            MethodHandle free = null;
            MethodHandle madvise = null;
            // Only on the platforms panbuf is built for (Linux on x86-64 and AArch64): the C library's names and
            // madvise's constant are Linux's, and elsewhere the linker may not even match the machine.
            if (Allocation.class.getModule().isNativeAccessEnabled() && NativeLibrary.platform() != null) {
                try {
                    Linker linker = Linker.nativeLinker();
                    alloc = linker.downcallHandle(linker.defaultLookup().findOrThrow("aligned_alloc"),
                            FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG));
                    free = linker.downcallHandle(linker.defaultLookup().findOrThrow("free"),
                            FunctionDescriptor.ofVoid(ValueLayout.ADDRESS));
                    madvise = linker.downcallHandle(linker.defaultLookup().findOrThrow("madvise"),
                            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG,
                                    ValueLayout.JAVA_INT));
                } catch (RuntimeException e) {
                    // No C library allocator here (or access refused): every block is zeroed by arena.allocate.
                    alloc = null;
                    free = null;
                    madvise = null;
                }
            }
            ALIGNED_ALLOC = alloc;
            FREE = free;
            MADVISE = madvise;
        }

        private C() {}
    }

    private Allocation() {}

    // ------------------------------------------------------------ anonymous memory

    /**
     * Blocks of anonymous memory (no file behind them) that panbuf allocated
     * for arrays, by start address, with their end and (weakly) their arena's
     * scope. The C copy kernel may only touch memory found here: a file
     * mapping that another process truncates faults on access, which the JVM
     * turns into an {@code InternalError} in Java code but which ends the
     * process inside C. Memory of a producer (an import, a user's segment)
     * may be such a mapping without saying so ({@code isMapped()} knows only
     * the JDK's own mappings), so only what panbuf itself allocated qualifies.
     * An entry whose arena is alive names memory that cannot be anything
     * else; entries of closed arenas are dropped as they are found.
     */
    private static final java.util.concurrent.ConcurrentSkipListMap<Long, Block> ANONYMOUS =
            new java.util.concurrent.ConcurrentSkipListMap<>();
    private static final java.util.concurrent.atomic.AtomicLong REGISTRATIONS = new java.util.concurrent.atomic.AtomicLong();

    /** Blocks smaller than this are not recorded: the C kernel takes only copies of at least this size. */
    static final long ANONYMOUS_MIN_BYTES = 16 << 10;

    private record Block(long end, java.lang.ref.WeakReference<MemorySegment.Scope> scope) {
        boolean alive() {
            MemorySegment.Scope s = scope.get();
            return s != null && s.isAlive();
        }
    }

    /** Records {@code segment}, just allocated by panbuf from an arena, as anonymous memory. */
    static MemorySegment anonymous(MemorySegment segment) {
        return segment.byteSize() >= ANONYMOUS_MIN_BYTES ? recordAnonymous(segment) : segment;
    }

    /** As {@link #anonymous} whatever the size (tests send small copies through the C kernel too). */
    static MemorySegment recordAnonymous(MemorySegment segment) {
        if (segment.isNative()) {
            ANONYMOUS.put(segment.address(), new Block(segment.address() + segment.byteSize(),
                    new java.lang.ref.WeakReference<>(segment.scope())));
            if (REGISTRATIONS.incrementAndGet() % 1024 == 0) {
                ANONYMOUS.values().removeIf(b -> !b.alive());
            }
        }
        return segment;
    }

    /** True when all of {@code segment} lies in anonymous memory panbuf allocated and whose arena is open. */
    static boolean isAnonymous(MemorySegment segment) {
        if (!segment.isNative() || segment.isMapped()) {
            return false;
        }
        long start = segment.address();
        java.util.Map.Entry<Long, Block> e = ANONYMOUS.floorEntry(start);
        if (e == null) {
            return false;
        }
        Block b = e.getValue();
        if (!b.alive()) {
            ANONYMOUS.remove(e.getKey(), b);
            return false;
        }
        return start + segment.byteSize() <= b.end();
    }

    /** Recorded blocks, for tests. */
    static int anonymousBlocks() {
        return ANONYMOUS.size();
    }

    /**
     * Memory of {@code arena} whose contents are undefined until the caller
     * writes them. A {@link BufferArena} counts it against its budget as any
     * allocation.
     */
    static MemorySegment uninitialized(Arena arena, long byteSize, long byteAlignment) {
        return allocate(arena, byteSize, byteAlignment, false);
    }

    /** Zeroed memory of {@code arena} for an array; large blocks on huge pages. */
    static MemorySegment zeroed(Arena arena, long byteSize, long byteAlignment) {
        return allocate(arena, byteSize, byteAlignment, true);
    }

    private static MemorySegment allocate(Arena arena, long byteSize, long byteAlignment, boolean zeroed) {
        if (arena instanceof BufferArena b) {
            return anonymous(b.allocate(byteSize, byteAlignment, zeroed));
        }
        if (arena.getClass().getModule() != Arena.class.getModule()) {
            // A user's arena may hand out anything, a file mapping too: not recorded for the C kernel.
            return arena.allocate(byteSize, byteAlignment);
        }
        if (!usable(byteSize, byteAlignment)) {
            return anonymous(arena.allocate(byteSize, byteAlignment));
        }
        try {
            return anonymous(fromC(arena, byteSize, zeroed));
        } catch (OutOfMemoryError e) {
            throw refused(byteSize, byteAlignment, "", e, "");
        }
    }

    /**
     * The refusal of an allocation the system had no memory for, naming the
     * request ({@code where} says in which arena, or is empty) around the
     * allocator's own {@code reason}, and ending with {@code advice}.
     */
    static OutOfMemoryError refused(long byteSize, long byteAlignment, String where, OutOfMemoryError reason, String advice) {
        OutOfMemoryError named = new OutOfMemoryError("cannot allocate " + byteSize + " bytes (aligned to " + byteAlignment
                + ")" + where + ": the system has no memory for it (" + reason.getMessage() + "); nothing was allocated"
                + advice);
        named.initCause(reason);
        return named;
    }

    /** True when {@link #fromC} serves this request. */
    static boolean usable(long byteSize, long byteAlignment) {
        return byteSize >= MIN_BYTES && C.FREE != null && byteAlignment <= ALIGNMENT_BYTES
                && byteSize <= Long.MAX_VALUE - ALIGNMENT_BYTES;
    }

    /**
     * A block from {@code aligned_alloc}, freed when {@code arena} closes;
     * filled with zeros when {@code zeroed}, after the huge-page advice so
     * that the first touch maps huge pages.
     *
     * @throws OutOfMemoryError when the C library has no memory for it; the message gives only the reason
     * @throws IllegalStateException when the arena is closed (nothing stays allocated)
     * @throws WrongThreadException when a confined arena is used from another thread (nothing stays allocated)
     */
    static MemorySegment fromC(Arena arena, long byteSize, boolean zeroed) {
        // aligned_alloc wants a size that is a multiple of the alignment.
        long rounded = (byteSize + ALIGNMENT_BYTES - 1) & -ALIGNMENT_BYTES;
        MemorySegment block;
        try {
            block = (MemorySegment) C.ALIGNED_ALLOC.invokeExact(ALIGNMENT_BYTES, rounded);
        } catch (Throwable t) {
            throw new AssertionError("aligned_alloc cannot throw", t);
        }
        if (block.address() == 0) {
            // Only the reason: the caller names the request (and its arena) around it.
            throw new OutOfMemoryError("the C library's aligned_alloc has no " + rounded + " bytes to give");
        }
        if (C.MADVISE != null && rounded >= HUGE_PAGE_MIN_BYTES) {
            adviseHugePages(block.address(), rounded);
        }
        MemorySegment segment;
        try {
            segment = block.reinterpret(byteSize, arena, Allocation::free);
        } catch (RuntimeException | Error e) {
            free(block);
            throw e;
        }
        if (zeroed) {
            segment.fill((byte) 0);
        }
        return segment;
    }

    /** Asks for huge pages over the whole pages of the block; a kernel without them says no, which changes nothing. */
    private static void adviseHugePages(long address, long byteSize) {
        long start = (address + PAGE_BYTES - 1) & -PAGE_BYTES;
        long end = (address + byteSize) & -PAGE_BYTES;
        if (end > start) {
            try {
                int ignored = (int) C.MADVISE.invokeExact(MemorySegment.ofAddress(start), end - start, MADV_HUGEPAGE);
            } catch (Throwable t) {
                throw new AssertionError("madvise cannot throw", t);
            }
        }
    }

    private static void free(MemorySegment block) {
        try {
            C.FREE.invokeExact(block);
        } catch (Throwable t) {
            throw new AssertionError("free cannot throw", t);
        }
    }
}
