package dev.panbuf;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.ref.WeakReference;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.WeakHashMap;

/**
 * An {@link Arena} that knows which of its memory C is using: it counts the
 * live {@link Export}s of its memory and refuses to close while any remain,
 * naming each one, so native code can never be left holding freed memory.
 * Use it wherever FFM takes an arena.
 *
 * <p>Confined arenas ({@link #ofConfined()}) may be used and closed only by the
 * thread that made them; shared arenas ({@link #ofShared()}) by any thread.
 * An optional byte budget ({@link Builder#budgetBytes}) makes running out of
 * memory deterministic: an allocation past it throws
 * {@link BudgetExceededException} and allocates nothing.
 *
 * {@snippet :
 * try (BufferArena arena = BufferArena.ofShared()) {
 *     NdArray a = NdArray.allocate(arena, DType.FLOAT64, 1024);
 *     Export e = a.export();
 *     arena.close();   // throws LiveExportsException naming export e; nothing is freed
 * }
 * }
 */
public final class BufferArena implements Arena {

    /**
     * Who pins the memory of a segment's scope while it is exported: the arena
     * that owns it, or the import whose access scope it is. Weak, so that an
     * unreachable arena is not kept alive here.
     */
    private static final Map<MemorySegment.Scope, WeakReference<Export.Pinner>> PINNERS =
            Collections.synchronizedMap(new WeakHashMap<>());

    private final Arena inner;
    private final boolean confined;
    private final Thread owner;
    private final long budgetBytes;
    private final State state;
    private final Pins pins = new Pins();

    /** What outlives the arena object for the leak detector: never refers back to the arena. */
    static final class State {
        final Object lock = new Object();
        final Set<Export.Record> exports = new LinkedHashSet<>();
        /** Imports this arena holds, released (each through its own access scope) before the exports are counted. */
        final List<Import.Held> imports = new ArrayList<>();
        final String name;
        final Throwable site;
        long allocatedBytes;
        boolean closed;

        State(String name, Throwable site) {
            this.name = name;
            this.site = site;
        }
    }

    private BufferArena(boolean confined, long budgetBytes, String name) {
        this.inner = confined ? Arena.ofConfined() : Arena.ofShared();
        this.confined = confined;
        this.owner = confined ? Thread.currentThread() : null;
        this.budgetBytes = budgetBytes;
        this.state = new State(name, LeakDetector.creationSite());
        PINNERS.put(inner.scope(), new WeakReference<>(pins));
        Accounting.OPEN_ARENAS.incrementAndGet();
        LeakDetector.track(this, state);
    }

    /** {@return a confined arena: one thread allocates, accesses, exports and closes} */
    public static BufferArena ofConfined() {
        return builder().build();
    }

    /** {@return a shared arena: any thread may access and close it} */
    public static BufferArena ofShared() {
        return builder().shared().build();
    }

    /**
     * {@return a builder of arenas with options: shared or confined, a byte budget, a name for messages}
     */
    public static Builder builder() {
        return new Builder();
    }

    /** Builds {@link BufferArena}s. */
    public static final class Builder {
        private boolean shared;
        private long budgetBytes = Long.MAX_VALUE;
        private String name;

        private Builder() {}

        /**
         * Any thread may use and close the arena.
         *
         * @return this builder
         */
        public Builder shared() {
            this.shared = true;
            return this;
        }

        /**
         * Only the building thread may use and close the arena (the default).
         *
         * @return this builder
         */
        public Builder confined() {
            this.shared = false;
            return this;
        }

        /**
         * Most bytes the arena may hold at once; an allocation past it throws
         * {@link BudgetExceededException} and allocates nothing.
         *
         * @param bytes the budget in bytes (0 or more)
         * @return this builder
         */
        public Builder budgetBytes(long bytes) {
            if (bytes < 0) {
                throw new IllegalArgumentException("budget must be >= 0 bytes, got " + bytes);
            }
            this.budgetBytes = bytes;
            return this;
        }

        /**
         * A name used in this arena's error messages and leak reports.
         *
         * @param name the name
         * @return this builder
         */
        public Builder name(String name) {
            this.name = Objects.requireNonNull(name, "name");
            return this;
        }

        /**
         * {@return a new arena with these options}
         */
        public BufferArena build() {
            String n = name != null ? name : (shared ? "shared" : "confined") + " BufferArena";
            return new BufferArena(!shared, budgetBytes, n);
        }
    }

    /** The BufferArena whose memory {@code segment} is, or {@code null}. */
    static BufferArena owning(MemorySegment segment) {
        return pinnerOf(segment.scope()) instanceof Pins p ? p.arena() : null;
    }

    /** Who pins memory of {@code scope} while it is exported, or {@code null} when panbuf does not know the scope. */
    static Export.Pinner pinnerOf(MemorySegment.Scope scope) {
        WeakReference<Export.Pinner> ref = PINNERS.get(scope);
        return ref == null ? null : ref.get();
    }

    /** Exports of memory seen through {@code scope} (another access scope of the same memory) pin {@code pinner}. */
    static void aliasScope(MemorySegment.Scope scope, Export.Pinner pinner) {
        PINNERS.put(scope, new WeakReference<>(pinner));
    }

    static void forgetScope(MemorySegment.Scope scope) {
        PINNERS.remove(scope);
    }

    /** The name this arena's messages use. */
    String name() {
        return state.name;
    }

    /**
     * Allocates zeroed native memory, counted against the budget.
     *
     * @throws BudgetExceededException when the budget would be exceeded (nothing is allocated)
     * @throws IllegalStateException when the arena is closed
     * @throws WrongThreadException when a confined arena is used from another thread
     */
    @Override
    public MemorySegment allocate(long byteSize, long byteAlignment) {
        return allocate(byteSize, byteAlignment, true);
    }

    /** As {@link #allocate(long, long)}; without {@code zeroed}, the contents are undefined (see {@link Allocation}). */
    MemorySegment allocate(long byteSize, long byteAlignment, boolean zeroed) {
        checkThread();
        synchronized (state.lock) {
            if (state.closed) {
                throw new IllegalStateException("Already closed: " + state.name + " cannot allocate " + byteSize + " bytes");
            }
            if (byteSize > budgetBytes - state.allocatedBytes) {
                // Without a budget only sizes near Long.MAX_VALUE get here: say so rather than name a budget nobody set.
                throw new BudgetExceededException("allocating " + byteSize + " bytes in " + state.name + (budgetBytes == Long.MAX_VALUE
                        ? " would take it past the most bytes an arena can count (" + Long.MAX_VALUE + ")"
                        : " would exceed its budget of " + budgetBytes + " bytes") + " (" + state.allocatedBytes + " already allocated)");
            }
            MemorySegment segment;
            try {
                segment = Allocation.usable(byteSize, byteAlignment) ? Allocation.fromC(inner, byteSize, zeroed)
                        : inner.allocate(byteSize, byteAlignment);
            } catch (OutOfMemoryError e) {
                // The allocator says only why (the JDK: "Unable to allocate N bytes", N including alignment): name the
                // request and the arena.
                throw Allocation.refused(byteSize, byteAlignment, " in " + state.name + ", which holds " + state.allocatedBytes
                        + " bytes", e, ". A budget (BufferArena.builder().budgetBytes) refuses such sizes up front");
            }
            state.allocatedBytes += byteSize;
            Accounting.ARENA_BYTES.addAndGet(byteSize);
            return segment;
        }
    }

    @Override
    public MemorySegment.Scope scope() {
        return inner.scope();
    }

    /** {@return bytes allocated so far} */
    public long allocatedBytes() {
        synchronized (state.lock) {
            return state.allocatedBytes;
        }
    }

    /** {@return true for {@link #ofShared()} arenas} */
    public boolean isShared() {
        return !confined;
    }

    /**
     * {@return how many exports of this arena's memory neither Java nor C has released yet}
     */
    public int liveExportCount() {
        return liveExports().size();
    }

    /**
     * {@return descriptions of the live exports (with creation sites when leak tracking recorded them)}
     */
    public List<String> liveExports() {
        synchronized (state.lock) {
            retireReleased();
            List<String> out = new ArrayList<>();
            for (Export.Record r : state.exports) {
                out.add(r.describe());
            }
            return out;
        }
    }

    /**
     * Closes the arena and frees all of its memory, unless C still uses some.
     *
     * <p>First the arena releases what it imported ({@link NdArray#fromPbBuffer},
     * DLPack and Python imports), each through its producer, ending the views of
     * that memory; an import whose memory is itself exported stays until that
     * export is released. Only then are the arena's own exports counted, so an
     * arena that imported its own export closes.
     *
     * @throws LiveExportsException naming each live export and who must release it; the arena's
     *         memory is not freed and the arena stays open (imports without exports are released)
     * @throws IllegalStateException when already closed, or when a downcall is using the memory, or the
     *         memory of one of its imports, right now (the arena then stays open)
     * @throws WrongThreadException when a confined arena is closed from another thread
     */
    @Override
    public void close() {
        checkThread();
        Throwable failure = null;   // what a producer's release threw: reported once the arena is closed
        while (true) {
            List<Import.Held> releasable = new ArrayList<>();
            synchronized (state.lock) {
                if (state.closed) {
                    throw new IllegalStateException("Already closed: " + state.name);
                }
                // Newest first, as FFM runs an arena's cleanups.
                for (int i = state.imports.size() - 1; i >= 0; i--) {
                    Import.Held h = state.imports.get(i);
                    if (h.liveExports().isEmpty()) {
                        releasable.add(h);
                    }
                }
                if (releasable.isEmpty()) {
                    closeWithoutImportsLocked(failure);
                    break;
                }
            }
            // Outside the lock: a producer's release may call back into Java, on any thread.
            for (Import.Held h : releasable) {
                try {
                    h.access.close();   // ends the import's views (waiting for accesses in flight), then releases it
                } catch (RuntimeException | Error e) {
                    if (h.access.scope().isAlive()) {
                        // A downcall holds the imported memory: nothing more is released, the arena stays open.
                        throw new IllegalStateException("cannot close " + state.name + ": " + h + " is in use by a native"
                                + " call right now (" + e.getMessage() + "); close the arena again once the call has"
                                + " returned", e);
                    }
                    failure = addFailure(failure, e);   // a release callback failed; the import is released all the same
                }
                synchronized (state.lock) {
                    state.imports.remove(h);
                }
                forgetScope(h.access.scope());
            }
        }
        if (failure instanceof RuntimeException r) {
            throw r;
        }
        if (failure instanceof Error e) {
            throw e;
        }
    }

    private static Throwable addFailure(Throwable first, Throwable next) {
        if (first == null) {
            return next;
        }
        first.addSuppressed(next);
        return first;
    }

    /** Closes once every import that could be released is: refuses while exports (its own, or of its imports) live. */
    private void closeWithoutImportsLocked(Throwable failure) {
        retireReleased();
        List<String> names = new ArrayList<>();
        for (Export.Record r : state.exports) {
            names.add(r.describe());
        }
        for (Import.Held h : state.imports) {
            for (Export.Record r : h.liveExports()) {
                names.add(r.describe(" of the memory of " + h));
            }
        }
        if (!names.isEmpty()) {
            LiveExportsException e = new LiveExportsException("cannot close " + state.name + ": it has " + names.size()
                    + " live export" + (names.size() == 1 ? "" : "s") + " that C may still use: " + String.join("; ", names)
                    + ". Release each as said, then close again", names.size());
            if (failure != null) {
                e.addSuppressed(failure);
            }
            throw e;
        }
        try {
            inner.close();
        } catch (RuntimeException | Error e) {   // a cleanup action may throw an Error too
            if (inner.scope().isAlive()) {
                throw e;   // e.g. a downcall holds the memory: still open, nothing freed
            }
            finishClose();
            throw e;       // a cleanup action failed; every other one ran and the arena is closed
        }
        finishClose();
    }

    private void finishClose() {
        state.closed = true;
        forgetScope(inner.scope());
        Accounting.OPEN_ARENAS.decrementAndGet();
        Accounting.ARENA_BYTES.addAndGet(-state.allocatedBytes);
    }

    /**
     * Closes {@code access}, another access scope of this arena's memory, if
     * no export of the memory is live; exports cannot be added meanwhile, so
     * once this returns nothing but this arena can reach the memory.
     *
     * @param refusal builds the exception to throw from the live exports' descriptions
     * @throws IllegalStateException when a downcall holds {@code access} (it stays open)
     */
    void closeAccessUnlessExported(Arena access, java.util.function.Function<List<String>, RuntimeException> refusal) {
        synchronized (state.lock) {
            retireReleased();
            if (!state.exports.isEmpty()) {
                List<String> names = new ArrayList<>();
                for (Export.Record r : state.exports) {
                    names.add(r.describe());
                }
                throw refusal.apply(names);
            }
            access.close();
        }
    }

    /**
     * Views a producer's memory in its own access scope, released when this
     * arena closes (or never, if the arena never closes).
     */
    MemorySegment holdImport(Import.Held held, long address, long byteSize) {
        checkThread();
        synchronized (state.lock) {
            if (state.closed || !inner.scope().isAlive()) {
                throw new IllegalStateException("Already closed: cannot import " + held.what + " into a closed arena");
            }
            // Confined like this arena: created and closed by its owner thread.
            Arena access = confined ? Arena.ofConfined() : Arena.ofShared();
            MemorySegment memory;
            try {
                memory = MemorySegment.ofAddress(address).reinterpret(byteSize, access, unused -> held.release());
            } catch (RuntimeException | Error e) {
                access.close();   // nothing was registered with it: no release runs
                throw e;
            }
            held.access = access;
            state.imports.add(held);
            aliasScope(access.scope(), held);
            return memory;
        }
    }

    /** {@return true once closed} */
    public boolean isClosed() {
        synchronized (state.lock) {
            return state.closed;
        }
    }

    private void retireReleased() {
        List<Export.Record> done = new ArrayList<>();
        for (Export.Record r : state.exports) {
            if (r.nativeReleased() || r.released()) {
                done.add(r);
            }
        }
        for (Export.Record r : done) {
            state.exports.remove(r);
            r.pollNativeRelease();
        }
    }

    private void checkThread() {
        if (confined && Thread.currentThread() != owner) {
            throw new WrongThreadException("Attempted access outside owning thread: " + state.name + " is confined to "
                    + owner + ", called from " + Thread.currentThread());
        }
    }

    Export.Pinner pins() {
        return pins;
    }

    @Override
    public String toString() {
        synchronized (state.lock) {
            return state.name + (state.closed ? " (closed)" : " (" + state.allocatedBytes + " bytes, " + state.exports.size()
                    + " exports)");
        }
    }

    /** Registers exports against this arena; separate so pin/unpin are not public API. */
    private final class Pins implements Export.Pinner {
        BufferArena arena() {
            return BufferArena.this;
        }

        @Override
        public void pin(Export.Record r) {
            synchronized (state.lock) {
                if (state.closed || !inner.scope().isAlive()) {
                    throw new IllegalStateException("Already closed: cannot export memory of " + state.name);
                }
                // A view through another access scope of this memory (a GrowableBuffer's generation) that
                // was closed under this lock: the memory is about to move, so the export is refused.
                if (!r.view.segment.scope().isAlive()) {
                    throw new IllegalStateException("Already closed: the memory of this view of " + state.name
                            + " has moved; take a fresh view");
                }
                state.exports.add(r);
            }
        }

        @Override
        public void unpin(Export.Record r) {
            synchronized (state.lock) {
                state.exports.remove(r);
            }
        }
    }
}
