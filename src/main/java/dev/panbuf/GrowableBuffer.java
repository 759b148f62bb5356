package dev.panbuf;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.Objects;

/**
 * A resizable block of native memory: panbuf's {@code bytearray}. It appends
 * and resizes by reallocating when it outgrows its capacity; the old memory is
 * then closed, so a view made before the move throws
 * {@link IllegalStateException} instead of reading stale bytes.
 *
 * <p>No write is ever lost to a move. Views reach the memory through an
 * access scope of their own (one per generation of the memory), and a move
 * first closes that scope, which waits until no thread is in the middle of
 * an access, then copies, then frees. A write through an old view either
 * landed before the copy (and was copied) or throws; a writer that catches
 * the exception and takes a fresh {@link #view} writes the new memory.
 *
 * <p>Like {@code bytearray} while a {@code memoryview} exists, it refuses to
 * change size at all while any export of its memory is live
 * ({@link LiveExportsException}), and nothing changes: the contents and size
 * stay as they were.
 *
 * {@snippet :
 * try (GrowableBuffer buf = GrowableBuffer.ofConfined(16)) {
 *     buf.append(new byte[] {1, 2, 3, 4});
 *     NdArray v = buf.view(DType.UINT8);
 *     try (Export e = v.export()) {
 *         buf.append(new byte[] {5});        // throws LiveExportsException; nothing changed
 *     }
 *     buf.append(new byte[64]);              // relocates: v now throws on access
 * }
 * }
 */
public final class GrowableBuffer implements AutoCloseable {

    private final boolean shared;
    private final Thread owner;     // null when shared
    private final long budgetBytes;
    private final Object lock = new Object();
    private BufferArena arena;      // owns the memory: exports pin it
    private MemorySegment memory;   // the whole capacity, in the arena's own scope: only moves read it
    private Arena access;           // this generation's access scope: every view and segment() goes through it
    private Generation generation;  // owner of this generation's views: says why they stopped working
    private MemorySegment visible;  // memory as seen through access
    private long byteSize;
    private boolean closed;
    /**
     * What {@link #view(DType)} and {@link #segment()} hand out, republished
     * under the lock whenever the size or the generation changes, null once
     * closed: they read it without the lock. A view made from it just before a
     * move is like one made just before the move took the lock, closed by it.
     */
    private volatile Contents contents;

    private record Contents(MemorySegment bytes, Generation generation) { }

    private void publish() {
        contents = closed ? null : new Contents(visible.asSlice(0, byteSize), generation);
    }

    private GrowableBuffer(boolean shared, long initialCapacity, long budgetBytes) {
        if (initialCapacity < 0) {
            throw new IllegalArgumentException("initial capacity must be >= 0 bytes, got " + initialCapacity);
        }
        if (budgetBytes < 0) {
            throw new IllegalArgumentException("budget must be >= 0 bytes, got " + budgetBytes);
        }
        if (initialCapacity > budgetBytes) {
            throw new BudgetExceededException("initial capacity of " + initialCapacity + " bytes exceeds the GrowableBuffer's"
                    + " budget of " + budgetBytes + " bytes");
        }
        this.shared = shared;
        this.owner = shared ? null : Thread.currentThread();
        this.budgetBytes = budgetBytes;
        this.arena = newArena();
        this.memory = Allocation.anonymous(arena.allocate(Math.max(initialCapacity, 1), Geometry.ALLOCATION_ALIGNMENT));
        openAccess();
    }

    /**
     * One generation of the buffer's memory: the owner of the views made of
     * it, which tells them, once they no longer work, why and what to do.
     */
    static final class Generation {
        private volatile String gone;

        /** Why this generation's views no longer work, or null while they do. */
        String gone() {
            return gone;
        }
    }

    /** A new access scope over the current memory; exports of what it shows pin the memory's arena. */
    private void openAccess() {
        Arena a = shared ? Arena.ofShared() : Arena.ofConfined();
        visible = memory.reinterpret(a, null);
        access = a;
        generation = new Generation();
        BufferArena.aliasScope(a.scope(), arena.pins());
        publish();
    }

    /**
     * Ends every view of the current memory, waiting for accesses in flight,
     * unless an export of it is live; while this runs no export can start, so
     * afterwards only this buffer can reach the memory.
     *
     * @throws LiveExportsException naming the live exports (nothing changed)
     * @throws IllegalStateException when a downcall is using the memory right now (nothing changed)
     */
    private void closeAccess(String what) {
        try {
            arena.closeAccessUnlessExported(access, names -> exportsRefusal(what, names));
        } catch (IllegalStateException e) {
            if (e instanceof LiveExportsException) {
                throw e;
            }
            throw new IllegalStateException("cannot " + what + " GrowableBuffer of " + byteSize + " bytes: a native call"
                    + " is using its memory right now (" + e.getMessage() + "); nothing changed; try again once it"
                    + " has returned", e);
        }
        BufferArena.forgetScope(access.scope());
        generation.gone = "stopped its views to " + what + " it (" + byteSize + " bytes, capacity " + memory.byteSize()
                + "); take a fresh view with GrowableBuffer.view(...)";
    }

    private LiveExportsException exportsRefusal(String what, List<String> exports) {
        return new LiveExportsException("cannot " + what + " GrowableBuffer of " + byteSize + " bytes: it has "
                + exports.size() + " live export" + (exports.size() == 1 ? "" : "s") + " that C may still use ("
                + String.join("; ", exports) + "); release them first (Python refuses likewise with"
                + " BufferError: Existing exports of data: object cannot be re-sized)", exports.size());
    }

    /**
     * {@return an empty buffer for the calling thread only, with room for {@code initialCapacity} bytes}
     *
     * @param initialCapacity bytes to reserve (the buffer grows past it as needed)
     */
    public static GrowableBuffer ofConfined(long initialCapacity) {
        return new GrowableBuffer(false, initialCapacity, Long.MAX_VALUE);
    }

    /**
     * {@return an empty buffer any thread may use, with room for {@code initialCapacity} bytes}
     *
     * @param initialCapacity bytes to reserve (the buffer grows past it as needed)
     */
    public static GrowableBuffer ofShared(long initialCapacity) {
        return new GrowableBuffer(true, initialCapacity, Long.MAX_VALUE);
    }

    /**
     * {@return an empty buffer that never holds more than {@code budgetBytes} bytes of
     * capacity; growing past it throws {@link BudgetExceededException} and changes nothing}
     *
     * @param shared whether any thread may use it (else only the calling thread)
     * @param initialCapacity bytes to reserve (at most {@code budgetBytes})
     * @param budgetBytes the most bytes of capacity the buffer may ever have
     */
    public static GrowableBuffer withBudget(boolean shared, long initialCapacity, long budgetBytes) {
        return new GrowableBuffer(shared, initialCapacity, budgetBytes);
    }

    private BufferArena newArena() {
        BufferArena.Builder b = BufferArena.builder().name("GrowableBuffer memory");
        return (shared ? b.shared() : b.confined()).build();
    }

    /** {@return bytes in the buffer} */
    public long byteSize() {
        synchronized (lock) {
            checkOpen("byteSize");
            return byteSize;
        }
    }

    /** {@return bytes the buffer can hold before it must relocate} */
    public long capacity() {
        synchronized (lock) {
            checkOpen("capacity");
            return memory.byteSize();
        }
    }

    /** {@return the current bytes {@code [0, byteSize())}; invalid (closed) after the buffer relocates} */
    public MemorySegment segment() {
        return current("segment").bytes();
    }

    /** The published contents, checked as {@link #checkOpen} checks: no lock unless something is wrong. */
    private Contents current(String what) {
        Contents c = contents;
        if (c == null || owner != null && Thread.currentThread() != owner) {
            synchronized (lock) {
                checkOpen(what);   // throws: another thread, or closed
                c = contents;      // published by the constructor's thread before this one could see the buffer
            }
        }
        return c;
    }

    /**
     * {@return a 1-d view of all the bytes as {@code dtype} elements}
     *
     * @param dtype the element type
     * @throws IllegalArgumentException when the size is not a multiple
     */
    public NdArray view(DType dtype) {
        Contents c = current("view");
        return NdArray.ofOwned(c.bytes(), dtype, c.generation());
    }

    /**
     * {@return a C-order view of the first bytes with {@code shape}}
     *
     * @param dtype the element type
     * @param shape the size of each dimension
     * @throws IllegalArgumentException when the buffer is too short
     */
    public NdArray view(DType dtype, long... shape) {
        Contents c = current("view");
        return NdArray.of(c.bytes(), dtype, shape).ownedBy(c.generation());
    }

    /**
     * Appends a copy of {@code bytes}.
     *
     * @param bytes the bytes to add at the end
     * @throws LiveExportsException while exports are live (nothing changes)
     */
    public void append(byte[] bytes) {
        Objects.requireNonNull(bytes, "bytes");
        append(MemorySegment.ofArray(bytes));
    }

    /**
     * Appends a copy of {@code bytes}.
     *
     * @param bytes the bytes to add at the end
     * @throws LiveExportsException while exports are live (nothing changes)
     */
    public void append(MemorySegment bytes) {
        Objects.requireNonNull(bytes, "bytes");
        synchronized (lock) {
            checkOpen("append");
            long start = byteSize;
            long end = Math.addExact(start, bytes.byteSize());
            resizeLocked(end, "append " + bytes.byteSize() + " bytes to");
            MemorySegment.copy(bytes, 0, visible, start, bytes.byteSize());
        }
    }

    /**
     * Sets the size; new bytes are zero. Relocates when the capacity is too small.
     *
     * @param newByteSize the size in bytes
     * @throws LiveExportsException while exports are live (nothing changes)
     * @throws BudgetExceededException when the capacity needed exceeds the budget (nothing changes)
     */
    public void resize(long newByteSize) {
        if (newByteSize < 0) {
            throw new IllegalArgumentException("size must be >= 0 bytes, got " + newByteSize);
        }
        synchronized (lock) {
            checkOpen("resize");
            resizeLocked(newByteSize, "resize");
        }
    }

    private void resizeLocked(long newSize, String what) {
        List<String> exports = arena.liveExports();
        if (!exports.isEmpty()) {
            throw exportsRefusal(what, exports);
        }
        long capacity = memory.byteSize();
        if (newSize <= capacity) {
            if (newSize > byteSize) {
                visible.asSlice(byteSize, newSize - byteSize).fill((byte) 0);
            }
            byteSize = newSize;
            publish();
            return;
        }
        long newCapacity = Math.max(newSize, capacity > Long.MAX_VALUE / 2 ? newSize : capacity * 2);
        if (newCapacity > budgetBytes) {
            newCapacity = newSize;
        }
        if (newCapacity > budgetBytes) {
            throw new BudgetExceededException("cannot " + what + " GrowableBuffer of " + byteSize + " bytes: " + newSize
                    + " bytes exceed its budget of " + budgetBytes + " bytes");
        }
        BufferArena next = newArena();
        MemorySegment nextMemory;
        try {
            nextMemory = Allocation.anonymous(next.allocate(newCapacity, Geometry.ALLOCATION_ALIGNMENT));
        } catch (RuntimeException | Error e) {
            next.close();
            throw e;
        }
        // Stop every access first: after this no thread can be writing the old memory, so the copy is complete.
        try {
            closeAccess(what);
        } catch (RuntimeException | Error e) {
            next.close();
            throw e;
        }
        try {
            MemorySegment.copy(memory, 0, nextMemory, 0, byteSize);
            arena.close();   // frees the old memory, which nothing else can reach any more
        } catch (RuntimeException | Error e) {
            next.close();
            openAccess();    // the old memory is intact; views made before this call stay closed
            throw e;
        }
        generation.gone = "moved its memory when it grew from " + byteSize + " to " + newSize + " bytes (capacity "
                + memory.byteSize() + " to " + newCapacity + "); take a fresh view with GrowableBuffer.view(...)";
        arena = next;
        memory = nextMemory;
        byteSize = newSize;
        openAccess();
    }

    /** {@return live exports of the buffer's current memory} */
    public int liveExportCount() {
        synchronized (lock) {
            return closed ? 0 : arena.liveExportCount();
        }
    }

    /**
     * Frees the memory.
     *
     * @throws LiveExportsException naming the live exports; nothing is freed
     */
    @Override
    public void close() {
        synchronized (lock) {
            if (closed) {
                return;
            }
            List<String> exports = arena.liveExports();
            if (!exports.isEmpty()) {
                arena.close();   // throws LiveExportsException naming them; nothing is freed
            }
            try {
                arena.closeAccessUnlessExported(access, names -> new LiveExportsException("cannot close GrowableBuffer"
                        + " memory: it has " + names.size() + " live export" + (names.size() == 1 ? "" : "s") + " that C"
                        + " may still use: " + String.join("; ", names) + ". Release each as said, then close again",
                        names.size()));
            } catch (LiveExportsException e) {
                throw e;
            } catch (IllegalStateException e) {
                throw new IllegalStateException("cannot close GrowableBuffer of " + byteSize + " bytes: a native call is"
                        + " using its memory right now (" + e.getMessage() + "); close it again once it has returned", e);
            }
            BufferArena.forgetScope(access.scope());
            generation.gone = "was closed";
            arena.close();
            closed = true;
            publish();
        }
    }

    /** Thread first, then state, as FFM checks a confined segment. */
    private void checkOpen(String what) {
        if (owner != null && Thread.currentThread() != owner) {
            throw new WrongThreadException("Attempted access outside owning thread: GrowableBuffer." + what + " of a buffer"
                    + " confined to " + owner + ", called from " + Thread.currentThread());
        }
        if (closed) {
            throw new IllegalStateException("Already closed: GrowableBuffer." + what + " after close()");
        }
    }

    @Override
    public String toString() {
        synchronized (lock) {
            return closed ? "GrowableBuffer (closed)" : "GrowableBuffer[" + byteSize + " of " + memory.byteSize() + " bytes]";
        }
    }
}
