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

    /** Which arena owns a segment's scope; weak so that an unreachable arena is not kept alive here. */
    private static final Map<MemorySegment.Scope, WeakReference<BufferArena>> BY_SCOPE =
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
        BY_SCOPE.put(inner.scope(), new WeakReference<>(this));
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
        WeakReference<BufferArena> ref = BY_SCOPE.get(segment.scope());
        return ref == null ? null : ref.get();
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
                segment = inner.allocate(byteSize, byteAlignment);
            } catch (OutOfMemoryError e) {
                // The JDK says only "Unable to allocate N bytes" (N including alignment): name the request and the arena.
                OutOfMemoryError named = new OutOfMemoryError("cannot allocate " + byteSize + " bytes (aligned to " + byteAlignment
                        + ") in " + state.name + ", which holds " + state.allocatedBytes + " bytes: the system has no memory"
                        + " for it (" + e.getMessage() + "); nothing was allocated. A budget (BufferArena.builder()"
                        + ".budgetBytes) refuses such sizes up front");
                named.initCause(e);
                throw named;
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
     * @throws LiveExportsException naming each live export; nothing is freed and the arena stays open
     * @throws IllegalStateException when already closed, or when a downcall is using the memory right
     *         now (the arena then stays open)
     * @throws WrongThreadException when a confined arena is closed from another thread
     */
    @Override
    public void close() {
        checkThread();
        synchronized (state.lock) {
            if (state.closed) {
                throw new IllegalStateException("Already closed: " + state.name);
            }
            retireReleased();
            if (!state.exports.isEmpty()) {
                List<String> names = new ArrayList<>();
                for (Export.Record r : state.exports) {
                    names.add(r.describe());
                }
                throw new LiveExportsException("cannot close " + state.name + ": it has " + names.size() + " live export"
                        + (names.size() == 1 ? "" : "s") + " that C may still use: " + String.join("; ", names)
                        + ". Release each (Export.close(), or pb_release in C) before closing", names.size());
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
    }

    private void finishClose() {
        state.closed = true;
        BY_SCOPE.remove(inner.scope());
        Accounting.OPEN_ARENAS.decrementAndGet();
        Accounting.ARENA_BYTES.addAndGet(-state.allocatedBytes);
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
        @Override
        public void pin(Export.Record r) {
            synchronized (state.lock) {
                if (state.closed || !inner.scope().isAlive()) {
                    throw new IllegalStateException("Already closed: cannot export memory of " + state.name);
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
