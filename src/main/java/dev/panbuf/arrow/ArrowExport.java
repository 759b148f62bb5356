package dev.panbuf.arrow;

import dev.panbuf.Export;
import dev.panbuf.shim.ArrowShim;
import dev.panbuf.shim.Lifetimes;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Views exported as an Arrow array and its schema ({@code struct ArrowArray}
 * and {@code struct ArrowSchema} of the Arrow C data interface), made by
 * {@link Arrow#exportArray}, {@link Arrow#exportBatch} and their
 * {@code ...Into} forms.
 *
 * <h2>Ownership</h2>
 * Java owns an export whose structs panbuf allocated; {@link #close()}
 * releases both. To give it to a consumer (Arrow Java's
 * {@code Data.importVector}, pyarrow's {@code _import_from_c}, a C library,
 * or {@link Arrow#importArray} in another arena), call {@link #handOff()}
 * and pass {@link #array()} and {@link #schema()}: the consumer then owns both
 * structs and calls each release exactly once, from any thread (as every
 * Arrow consumer does, it may first move them elsewhere), and
 * {@code close()} does nothing. An export into structs the consumer allocated
 * ({@link Arrow#exportArrayInto}) is the consumer's from the start.
 *
 * <p>The exported memory is pinned exactly as by {@link dev.panbuf.NdArray#export()}
 * until the array's release runs: the views' {@link dev.panbuf.BufferArena}
 * refuses to close meanwhile, naming this export and who must release it.
 * A record batch releases each column's memory when that column is released
 * (a consumer may move columns out of the batch).
 *
 * <p>A handed-off export may be imported once by {@link Arrow#importArray}
 * (or {@link Arrow#importColumn}, {@link Arrow#importBatch}), which then
 * releases it when its arena closes; one Java still owns is refused, so that
 * it never has two owners.
 */
public final class ArrowExport implements AutoCloseable {

    private final State state;

    private ArrowExport(State state) {
        this.state = state;
    }

    static ArrowExport of(List<Export> exports, long privateData, MemorySegment array, MemorySegment schema,
                          Arena shells, boolean handedOff, String what) {
        State s = new State(exports, privateData, array, schema, shells, what);
        if (handedOff) {
            s.state.set(State.HANDED_OFF);
        }
        State.LIVE.put(privateData, s);
        State.retireReleasedWhenMany();
        for (Export e : exports) {
            Lifetimes.get().describeHolder(e, s::releaseAdvice);
        }
        ArrowExport handle = new ArrowExport(s);
        Lifetimes.get().trackLeak(handle, exports.getFirst(), () -> s.state.get() == State.JAVA_OWNED && !s.isReleased(),
                () -> s.describe() + " was never released (ArrowExport.close()) nor handed off before its handle became"
                        + " unreachable; its memory stays pinned");
        return handle;
    }

    /**
     * {@return the {@code struct ArrowArray *}} A zero-length segment: Java code
     * cannot read the struct through it. Pass it to a consumer after
     * {@link #handOff()}.
     */
    public MemorySegment array() {
        return MemorySegment.ofAddress(state.array.address());
    }

    /** {@return the {@code struct ArrowSchema *}, as {@link #array()}} */
    public MemorySegment schema() {
        return MemorySegment.ofAddress(state.schema.address());
    }

    /** {@return the exported views (the columns, for a record batch)} */
    public List<dev.panbuf.NdArray> views() {
        return state.exports.stream().map(Export::view).toList();
    }

    /**
     * Gives both structs to a consumer, which must release each exactly once.
     *
     * @return this export
     * @throws IllegalStateException when already handed off or released
     */
    public ArrowExport handOff() {
        if (state.isReleased() || !state.state.compareAndSet(State.JAVA_OWNED, State.HANDED_OFF)) {
            throw new IllegalStateException(state.describe() + " is already " + state.stateName());
        }
        return this;
    }

    /** {@return true once every exported view's memory is released (the array's release ran, from Java or a consumer)} */
    public boolean isReleased() {
        return state.isReleased();
    }

    /** Releases the array and the schema unless handed off or released already; calling it again is harmless. */
    @Override
    public void close() {
        if (state.state.compareAndSet(State.JAVA_OWNED, State.RELEASED)) {
            state.releaseShells();
        }
    }

    @Override
    public String toString() {
        return state.describe() + " (" + state.stateName() + ")";
    }

    /** The state of one export, apart from the handle so the handle can be collected (and reported as a leak). */
    static final class State {
        static final int JAVA_OWNED = 0, HANDED_OFF = 1, IMPORTED = 2, RELEASED = 3;
        /** Exports not known to be released, by the array's private_data (which moving the struct keeps). */
        static final ConcurrentHashMap<Long, State> LIVE = new ConcurrentHashMap<>();
        private static final int MIN_POLL_SIZE = 64;
        private static final AtomicInteger POLL_AT = new AtomicInteger(MIN_POLL_SIZE);

        final List<Export> exports;
        final long privateData;
        final MemorySegment array;
        final MemorySegment schema;
        /** The arena of structs panbuf allocated (kept reachable with the state), or null. */
        final Arena shells;
        final String what;
        final AtomicInteger state = new AtomicInteger(JAVA_OWNED);
        private volatile String importedInto;

        State(List<Export> exports, long privateData, MemorySegment array, MemorySegment schema, Arena shells,
              String what) {
            this.exports = exports;
            this.privateData = privateData;
            this.array = array;
            this.schema = schema;
            this.shells = shells;
            this.what = what;
        }

        /** The live export whose array has this private_data, or null. */
        static State live(long privateData) {
            State s = LIVE.get(privateData);
            if (s != null && s.isReleased()) {
                LIVE.remove(privateData, s);
                return null;
            }
            return s;
        }

        static void retireReleasedWhenMany() {
            int at = POLL_AT.get();
            if (LIVE.size() >= at && POLL_AT.compareAndSet(at, Integer.MAX_VALUE)) {
                try {
                    LIVE.values().removeIf(State::isReleased);
                } finally {
                    POLL_AT.set(Math.max(MIN_POLL_SIZE, 2 * LIVE.size()));
                }
            }
        }

        boolean isReleased() {
            for (Export e : exports) {
                if (!e.isReleased()) {
                    return false;
                }
            }
            return true;
        }

        void releaseShells() {
            LIVE.remove(privateData, this);
            ArrowShim.releaseArray(array.address());
            ArrowShim.releaseSchema(schema.address());
        }

        /**
         * Takes the release duty for an import: at most once, and never while Java owns the export.
         *
         * @throws IllegalArgumentException naming the owner otherwise; nothing changes
         */
        synchronized void claimForImport(Arena arena) {
            String into = Lifetimes.get().arenaName(arena);
            if (state.get() == HANDED_OFF && !isReleased()) {
                importedInto = into;
                if (state.compareAndSet(HANDED_OFF, IMPORTED)) {
                    return;
                }
            }
            throw new IllegalArgumentException(switch (state.get()) {
                case JAVA_OWNED -> describe() + " is still owned by Java: an import would give it a second owner that"
                        + " releases it. Call handOff() on the ArrowExport and import array() and schema(), or use its"
                        + " views() directly: they are the same memory; nothing was imported";
                case IMPORTED -> describe() + " is already imported into " + importedInto + "; nothing was imported";
                default -> describe() + " was already released; nothing was imported";
            });
        }

        /** Undoes {@link #claimForImport} when an import refuses without consuming the structs. */
        void unclaimImport() {
            state.compareAndSet(IMPORTED, HANDED_OFF);
        }

        String describe() {
            return "the Arrow " + what + " at 0x" + Long.toHexString(array.address());
        }

        String stateName() {
            if (isReleased()) {
                return "released";
            }
            return switch (state.get()) {
                case HANDED_OFF -> "handed off";
                case IMPORTED -> "imported into " + importedInto;
                case RELEASED -> "released";
                default -> "owned by Java";
            };
        }

        String releaseAdvice() {
            String held = "held by " + describe() + ": ";
            return switch (state.get()) {
                case JAVA_OWNED -> held + "ArrowExport.close() releases it";
                case HANDED_OFF -> held + "handed off to an Arrow consumer, which must call the array's release";
                case IMPORTED -> held + "imported into " + importedInto + ", which releases it when it closes";
                default -> held + "released";
            };
        }
    }
}
