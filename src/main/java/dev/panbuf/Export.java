package dev.panbuf;

import dev.panbuf.shim.Shim;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.util.ArrayDeque;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A view of off-heap memory handed to C as a {@code pb_buffer *}, with no copy.
 *
 * <h2>Ownership</h2>
 * The export is released exactly once, after which its struct (and its
 * shape, strides and format) are freed and the memory is unpinned:
 * <ul>
 * <li>Java owns a new export: C code may use {@link #pointer()} during calls,
 *     and {@link #close()} releases it (try-with-resources). C may also release
 *     it itself with {@code pb_release}; Java's later {@code close()} then does
 *     nothing.</li>
 * <li>{@link #handOff()} gives ownership to C, which keeps the pointer as long
 *     as it likes and must call {@code pb_release} exactly once; Java's
 *     {@code close()} then leaves it alone.</li>
 * </ul>
 * Never release the same export from Java and C at the same time: once
 * released, the pointer dangles as after {@code free()}.
 *
 * <p>While an export is live its memory cannot go away: its
 * {@link BufferArena} refuses to close and its {@link GrowableBuffer} refuses
 * to resize, naming this export.
 *
 * {@snippet :
 * try (BufferArena arena = BufferArena.ofConfined()) {
 *     NdArray m = NdArray.allocate(arena, DType.FLOAT32, 3, 4);
 *     try (Export e = m.export()) {
 *         int rc = (int) scale.invokeExact(e.pointer(), 2.0f);   // C sees m's memory
 *     }
 * }
 * }
 */
public final class Export implements AutoCloseable {

    private static final AtomicLong IDS = new AtomicLong();
    /**
     * Every export not yet known to be released, by the address of its struct:
     * keeps its memory reachable while C may use it, and lets an import
     * recognise a pointer that is one of panbuf's own exports (and who owns it).
     */
    private static final ConcurrentHashMap<Long, Record> LIVE = new ConcurrentHashMap<>();
    /**
     * {@link #LIVE}'s size at which the next export first retires what C
     * released. C's releases are only seen when Java looks; without this, a
     * program that hands exports of global or automatic memory to C (no arena
     * close ever looks) would keep every released record, its view (and so its
     * memory) and its state cell forever. Doubling keeps the cost amortized O(1).
     */
    private static final int MIN_POLL_SIZE = 64;
    private static final AtomicInteger POLL_AT = new AtomicInteger(MIN_POLL_SIZE);

    private final Record record;

    private Export(Record record) {
        this.record = record;
    }

    static Export create(NdArray view, boolean readOnly) {
        MemorySegment segment = view.segment;
        if (!segment.isNative()) {
            throw new IllegalArgumentException("cannot export a view of Java heap memory: the garbage collector may move it"
                    + " while C holds the pointer; allocate it off-heap (NdArray.allocate(arena, ...)) or copy it there"
                    + " (copy(Order.C, arena)), or pass it to one short C call with CriticalCall");
        }
        Copier.checkReadable(view);
        retireReleasedWhenMany();
        Pinner pinner = Pinner.of(segment);
        dev.panbuf.shim.NativeLibrary.loadShim();   // the gate: a denied native access throws here, with the flag to add
        long id = IDS.incrementAndGet();
        Record record = new Record(id, view, readOnly, LeakDetector.creationSite());
        if (pinner != null) {
            pinner.pin(record);   // throws, pinning nothing, when the arena is closing or closed
        }
        MemorySegment cell = null;
        MemorySegment struct = null;
        boolean listed = false;
        try {
            cell = Cells.take();
            record.cell = cell;
            struct = Shim.newExport(segment, view.byteOffset, view.byteSize(), view.dtype.byteSize(), readOnly,
                    view.shapeRef(), view.stridesRef(), view.dtype.format(), 0, segment.byteSize(), cell);
            record.struct = struct;
            record.pinner = pinner;
            Record before = LIVE.put(struct.address(), record);
            if (before != null) {
                // malloc gave this struct the address of an earlier export, so C has released that one
                // (its struct is freed) and Java has not yet looked: retire it now, or it is never retired.
                before.pollNativeRelease();
            }
            listed = true;
            Accounting.LIVE_EXPORTS.incrementAndGet();
            Shim.publish(struct);
        } catch (RuntimeException | Error e) {
            // Full rollback: the struct never became live, so no C code can hold it.
            if (listed) {
                LIVE.remove(record.struct.address(), record);
                Accounting.LIVE_EXPORTS.decrementAndGet();
            }
            if (struct != null) {
                Shim.discard(struct);
            }
            record.cell = null;
            Cells.giveBack(cell);
            if (pinner != null) {
                pinner.unpin(record);
            }
            throw e;
        }
        Export handle = new Export(record);
        LeakDetector.track(handle, record);
        return handle;
    }

    /**
     * {@return the {@code pb_buffer *} to pass to C while Java owns the export} It is a
     * zero-length segment (an address, as FFM gives for C pointers): Java code
     * cannot read the struct through it, so a pointer kept past the release
     * never reads freed memory from Java.
     *
     * @throws IllegalStateException when the export is already released
     */
    public MemorySegment pointer() {
        record.checkNotReleased("pointer()");
        return MemorySegment.ofAddress(record.struct.address());
    }

    /** {@return the {@code pb_buffer *} as a number} */
    public long address() {
        return pointer().address();
    }

    /** {@return the view that was exported} */
    public NdArray view() {
        return record.view;
    }

    /** {@return true when {@code readonly = 1} in the struct} */
    public boolean isReadOnly() {
        return record.readOnly();
    }

    /** {@return true once released, from Java or from C} */
    public boolean isReleased() {
        return record.released();
    }

    /**
     * Gives ownership to C: C must release the buffer with {@code pb_release}
     * exactly once, from any thread, and Java's {@link #close()} will not.
     * Until C releases it, the memory stays pinned. The pointer may also be
     * imported once ({@link NdArray#fromPbBuffer}), in this JVM or by
     * panbuf's own C code: the import then owns the release.
     *
     * @return the {@code pb_buffer *} C now owns, as a zero-length segment (see {@link #pointer()})
     * @throws IllegalStateException when the export is already released or handed off
     */
    public MemorySegment handOff() {
        // C may have released a Java-owned export already (allowed); its struct is freed then.
        if (record.nativeReleased() || !record.state.compareAndSet(Record.JAVA_OWNED, Record.HANDED_OFF)) {
            record.pollNativeRelease();
            throw new IllegalStateException(record.description() + " is already " + record.stateName());
        }
        return MemorySegment.ofAddress(record.struct.address());
    }

    /**
     * Releases the export unless it already is released or was handed off to C.
     * Calling it again is harmless.
     */
    @Override
    public void close() {
        record.releaseFromJava();
    }

    @Override
    public String toString() {
        return record.description() + " (" + record.stateName() + ")";
    }

    Record record() {
        return record;
    }

    // ----------------------------------------------------------------- internals

    /** Live exports in this JVM, after retiring those that C released. */
    static int liveCount() {
        pollAll();
        return LIVE.size();
    }

    /**
     * The live export whose struct is at {@code address}, or {@code null} when
     * there is none (never one of panbuf's, or released: a released struct
     * may already be freed, and its address reused by any other allocation).
     */
    static Record live(long address) {
        Record r = LIVE.get(address);
        if (r != null && r.nativeReleased()) {
            r.pollNativeRelease();
            return null;
        }
        return r;
    }

    /** {@link #pollAll()} once {@link #LIVE} has doubled since the last look (one thread at a time). */
    private static void retireReleasedWhenMany() {
        int at = POLL_AT.get();
        if (LIVE.size() >= at && POLL_AT.compareAndSet(at, Integer.MAX_VALUE)) {
            try {
                pollAll();
            } finally {
                POLL_AT.set(Math.max(MIN_POLL_SIZE, 2 * LIVE.size()));
            }
        }
    }

    /** Retires every export C has released since the last look. */
    static void pollAll() {
        for (Record r : LIVE.values()) {
            r.pollNativeRelease();
        }
    }

    /** The state of one export, kept apart from the handle so the handle can be garbage collected. */
    static final class Record {
        /** Who must release: Java's {@link Export#close()}, C, an import in this JVM; or nobody any more. */
        static final int JAVA_OWNED = 0, HANDED_OFF = 1, IMPORTED = 2, RELEASED = 3;
        private static final VarHandle CELL = ValueLayout.JAVA_INT.varHandle();

        final long id;
        final NdArray view;           // keeps the memory (and an automatic arena) reachable
        final Throwable site;         // creation site when leak tracking records it, else null
        final boolean readOnly;
        final AtomicInteger state = new AtomicInteger(JAVA_OWNED);
        volatile MemorySegment struct;
        volatile MemorySegment cell;  // set to 1 by the C release function
        volatile Pinner pinner;
        volatile String importedInto;  // the importing arena's name once IMPORTED
        /** Set when another object (a DLPack tensor) holds the export: says how that one is released. */
        volatile java.util.function.Supplier<String> holder;
        private final java.util.concurrent.atomic.AtomicBoolean retired = new java.util.concurrent.atomic.AtomicBoolean();

        Record(long id, NdArray view, boolean readOnly, Throwable site) {
            this.id = id;
            this.readOnly = readOnly;
            this.view = view;
            this.site = site;
        }

        /** {@code export #7 of <f4 (3, 4) at 0x7f...}: built when a message needs it, not for every export. */
        String description() {
            return "export #" + id + " of " + view.dtype + " " + Errors.shape(view.shapeRef()) + " at 0x"
                    + Long.toHexString(view.segment.address() + view.byteOffset);
        }

        // Records live in hash sets (the live set, each arena's pins): hash the unique
        // id instead of making every export pay for an identity hash code.
        @Override
        public int hashCode() {
            return Long.hashCode(id);
        }

        boolean readOnly() {
            return readOnly;
        }

        boolean nativeReleased() {
            MemorySegment c = cell;
            return retired.get() || (c != null && (int) CELL.getAcquire(c, 0L) != 0);
        }

        boolean released() {
            return state.get() == RELEASED || nativeReleased();
        }

        String stateName() {
            if (released()) {
                return "released";
            }
            return switch (state.get()) {
                case HANDED_OFF -> "handed off to C";
                case IMPORTED -> "imported into " + importedInto;
                default -> "live";
            };
        }

        /** How the holder releases it, for messages that say what to do. */
        String releaseAdvice() {
            java.util.function.Supplier<String> h = holder;
            if (h != null) {
                return h.get();
            }
            return switch (state.get()) {
                case HANDED_OFF -> "handed off to C, which must pb_release it";
                case IMPORTED -> "imported into " + importedInto + ", which releases it when it closes";
                default -> "owned by Java: Export.close() releases it";
            };
        }

        /**
         * Takes the release duty of a handed-off export for an import in this
         * JVM: at most once, and never while Java still owns it.
         *
         * @throws IllegalArgumentException naming the owner when the export is owned by Java or already imported
         */
        synchronized void claimForImport(String arenaName) {   // claimers are serialised: one names the importer
            if (state.get() == HANDED_OFF && !nativeReleased()) {
                importedInto = arenaName;
                if (state.compareAndSet(HANDED_OFF, IMPORTED)) {
                    return;
                }
            }
            int s = state.get();
            String what = "the pb_buffer at 0x" + Long.toHexString(struct.address()) + " is " + description();
            if (s == JAVA_OWNED) {
                throw new IllegalArgumentException(what + ", still owned by Java: an import would give it a second"
                        + " owner that releases it. Call handOff() on the Export and import the pointer it returns,"
                        + " or use the exported view itself (Export.view()): it is the same memory");
            }
            if (s == IMPORTED) {
                throw new IllegalArgumentException(what + ", already imported into " + importedInto + ": a pointer is"
                        + " imported at most once; share the NdArray of that import instead");
            }
            throw new IllegalArgumentException(what + ", already released; nothing was imported");
        }

        /** Undoes {@link #claimForImport} when the import fails before it exists. */
        void unclaimImport() {
            state.compareAndSet(IMPORTED, HANDED_OFF);
        }

        /**
         * The release an import runs when its arena lets go: once, and only if
         * C has not released it already (C must not, but if it did the struct is
         * freed and must not be touched again).
         */
        void releaseFromImport() {
            if (!state.compareAndSet(IMPORTED, RELEASED)) {
                pollNativeRelease();
                return;
            }
            if (!nativeReleased()) {
                Shim.release(struct);
            }
            retire();
        }

        void checkNotReleased(String what) {
            if (released()) {
                throw new IllegalStateException(what + ": " + description() + " is already released");
            }
        }

        void releaseFromJava() {
            if (!state.compareAndSet(JAVA_OWNED, RELEASED)) {
                pollNativeRelease();
                return;
            }
            if (!nativeReleased()) {
                Shim.release(struct);   // frees the struct, sets the cell
            }
            retire();
        }

        /** Retires the record if C has released it. */
        void pollNativeRelease() {
            if (nativeReleased()) {
                state.set(RELEASED);
                retire();
            }
        }

        private void retire() {
            if (!retired.compareAndSet(false, true)) {
                return;
            }
            LIVE.remove(struct.address(), this);
            Accounting.LIVE_EXPORTS.decrementAndGet();
            Pinner p = pinner;
            if (p != null) {
                p.unpin(this);
            }
            MemorySegment c = cell;
            cell = null;
            Cells.giveBack(c);
        }

        String describe() {
            return describe("");
        }

        /** {@link #description()}, then {@code what} (about the memory), who must release it, and the creation site. */
        String describe(String what) {
            return description() + what + " (" + releaseAdvice() + ")"
                    + (site == null ? "" : ", created at " + LeakDetector.firstUserFrame(site));
        }
    }

    /**
     * Who must stay open while an export lives: the {@link BufferArena} whose
     * memory it is. {@code null} for memory that never goes away while the
     * export holds a reference (global memory, automatic arenas).
     */
    interface Pinner {
        void pin(Record r);

        void unpin(Record r);

        static Pinner of(MemorySegment segment) {
            Pinner known = BufferArena.pinnerOf(segment.scope());
            if (known != null) {
                return known;
            }
            if (!segment.scope().isAlive()) {
                // closed after the caller's check: a BufferArena leaves the registry once closed
                throw new IllegalStateException("Already closed: cannot export memory of a closed arena");
            }
            String kind = segment.scope().getClass().getSimpleName();
            // The JDK does not say which kind of arena a scope belongs to; these
            // implementation names are stable since JDK 22 and, if they change,
            // the export is refused (never wrongly allowed).
            if (kind.equals("GlobalSession") || kind.equals("ImplicitSession")) {
                return null;
            }
            throw new IllegalArgumentException("cannot export memory of a plain Arena.ofConfined() or Arena.ofShared():"
                    + " panbuf cannot stop such an arena from closing while C uses the memory; allocate it from a"
                    + " BufferArena (BufferArena.ofConfined() / ofShared()), a GrowableBuffer, Arena.global() or Arena.ofAuto()");
        }
    }

    /**
     * The release flags C writes: int cells in never-freed native slabs,
     * reused only after Java has seen the release, so C never writes a cell
     * that belongs to another export.
     */
    static final class Cells {
        private static final int PER_SLAB = 1024;
        private static final ArrayDeque<MemorySegment> FREE = new ArrayDeque<>();
        private static int slabs;

        private Cells() {}

        static synchronized MemorySegment take() {
            if (FREE.isEmpty()) {
                MemorySegment slab = Arena.global().allocate(4L * PER_SLAB, 64);
                slabs++;
                for (int i = 0; i < PER_SLAB; i++) {
                    FREE.push(slab.asSlice(4L * i, 4));
                }
            }
            MemorySegment c = FREE.pop();
            c.set(ValueLayout.JAVA_INT, 0, 0);
            return c;
        }

        /** Slabs allocated so far: they are never freed, so this is the pool's high-water mark in units of 1024 cells. */
        static synchronized int slabs() {
            return slabs;
        }

        static synchronized void giveBack(MemorySegment c) {
            if (c != null) {
                FREE.push(c);
            }
        }
    }
}
