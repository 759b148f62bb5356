package dev.panbuf.dlpack;

import dev.panbuf.Export;
import dev.panbuf.NdArray;
import dev.panbuf.shim.DLPackShim;
import dev.panbuf.shim.Lifetimes;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A view exported as a DLPack managed tensor ({@code DLManagedTensorVersioned *},
 * or the legacy {@code DLManagedTensor *}), made by {@link DLPack#export} or
 * {@link DLPack#exportLegacy}.
 *
 * <h2>Ownership</h2>
 * Java owns a new tensor; {@link #close()} deletes it. To give it to a
 * consumer (a C library, {@link DLPack#importVersioned} in another arena, a
 * Python capsule), call {@link #handOff()}: the consumer then owns it and
 * must call its deleter exactly once, from any thread, and {@code close()}
 * does nothing. The memory stays pinned until the deleter runs, so the
 * view's {@link dev.panbuf.BufferArena} refuses to close meanwhile, naming
 * the tensor and who must delete it.
 *
 * <p>A tensor handed off may be imported once by {@link DLPack#importVersioned}
 * (or {@link DLPack#importLegacy}), which then deletes it when its arena
 * closes; a tensor Java still owns is refused for import, so that it never
 * has two owners.
 */
public final class DLPackExport implements AutoCloseable {

    private final Tensor tensor;

    private DLPackExport(Tensor tensor) {
        this.tensor = tensor;
    }

    /** Wraps a tensor just made from {@code export} (which the tensor's deleter releases). */
    static DLPackExport of(Export export, long address, boolean versioned) {
        Tensor t = new Tensor(export, address, versioned);
        Tensor.LIVE.put(address, t);
        Tensor.retireDeletedWhenMany();
        Lifetimes.get().describeHolder(export, t::releaseAdvice);
        DLPackExport handle = new DLPackExport(t);
        Lifetimes.get().trackLeak(handle, export, () -> t.state.get() == Tensor.JAVA_OWNED && !t.isDeleted(),
                () -> t.describe() + " was never deleted (DLPackExport.close()) nor handed off before its handle became"
                        + " unreachable; its memory stays pinned");
        return handle;
    }

    /**
     * {@return the tensor's address while Java owns it, to lend to a consumer for the
     * length of a call} A zero-length segment: Java code cannot read the
     * struct through it, so a pointer kept past the deletion never reads freed
     * memory from Java.
     *
     * @throws IllegalStateException when the tensor was already deleted
     */
    public MemorySegment pointer() {
        if (isDeleted()) {
            throw new IllegalStateException(tensor.describe() + " was already deleted");
        }
        return MemorySegment.ofAddress(tensor.address);
    }

    /** {@return true for a {@code DLManagedTensorVersioned}, false for a legacy {@code DLManagedTensor}} */
    public boolean isVersioned() {
        return tensor.versioned;
    }

    /** {@return the exported view} */
    public NdArray view() {
        return tensor.export.view();
    }

    /**
     * Gives the tensor to a consumer, which must call its deleter exactly once.
     *
     * @return the tensor pointer, as a zero-length segment (see {@link #pointer()})
     * @throws IllegalStateException when already handed off or deleted
     */
    public MemorySegment handOff() {
        MemorySegment p = pointer();
        if (!tensor.state.compareAndSet(Tensor.JAVA_OWNED, Tensor.HANDED_OFF)) {
            throw new IllegalStateException(tensor.describe() + " is already " + tensor.stateName());
        }
        return p;
    }

    /** {@return true once the deleter has run (from Java or from the consumer); the memory is then unpinned} */
    public boolean isDeleted() {
        return tensor.isDeleted();
    }

    /** Deletes the tensor unless it was handed off or is already deleted; calling it again is harmless. */
    @Override
    public void close() {
        if (tensor.state.compareAndSet(Tensor.JAVA_OWNED, Tensor.DELETED)) {
            tensor.delete();
        }
    }

    @Override
    public String toString() {
        return tensor.describe() + " of " + tensor.export + " (" + tensor.stateName() + ")";
    }

    /**
     * The state of one exported tensor, apart from the handle so that the
     * handle can be garbage collected (and reported as a leak) while the
     * registry still knows who owns the tensor.
     */
    static final class Tensor {
        static final int JAVA_OWNED = 0, HANDED_OFF = 1, IMPORTED = 2, DELETED = 3;
        /** Tensors not known to be deleted, by address: an import recognises panbuf's own tensors here. */
        static final ConcurrentHashMap<Long, Tensor> LIVE = new ConcurrentHashMap<>();
        private static final int MIN_POLL_SIZE = 64;
        private static final AtomicInteger POLL_AT = new AtomicInteger(MIN_POLL_SIZE);

        final Export export;
        final long address;
        final boolean versioned;
        final AtomicInteger state = new AtomicInteger(JAVA_OWNED);
        private volatile String importedInto;

        Tensor(Export export, long address, boolean versioned) {
            this.export = export;
            this.address = address;
            this.versioned = versioned;
        }

        /** The live tensor at {@code address}, or null (never panbuf's, or deleted: its address may be reused). */
        static Tensor live(long address) {
            Tensor t = LIVE.get(address);
            if (t != null && t.isDeleted()) {
                LIVE.remove(address, t);
                return null;
            }
            return t;
        }

        /**
         * Consumers delete tensors without telling Java: forget the deleted ones
         * once the registry has doubled since the last look (amortised O(1)).
         */
        static void retireDeletedWhenMany() {
            int at = POLL_AT.get();
            if (LIVE.size() >= at && POLL_AT.compareAndSet(at, Integer.MAX_VALUE)) {
                try {
                    LIVE.values().removeIf(Tensor::isDeleted);
                } finally {
                    POLL_AT.set(Math.max(MIN_POLL_SIZE, 2 * LIVE.size()));
                }
            }
        }

        boolean isDeleted() {
            return state.get() == DELETED || export.isReleased();
        }

        void delete() {
            LIVE.remove(address, this);
            if (versioned) {
                DLPackShim.delete(address);
            } else {
                DLPackShim.deleteLegacy(address);
            }
        }

        /**
         * Takes the deleter duty for an import: at most once, and never while
         * Java owns the tensor.
         *
         * @throws IllegalArgumentException naming the owner otherwise; nothing changes
         */
        synchronized void claimForImport(Arena arena) {
            String into = Lifetimes.get().arenaName(arena);
            if (state.get() == HANDED_OFF && !isDeleted()) {
                importedInto = into;
                if (state.compareAndSet(HANDED_OFF, IMPORTED)) {
                    return;
                }
            }
            String what = describe() + " (" + Lifetimes.get().describe(export) + ")";
            throw new IllegalArgumentException(switch (state.get()) {
                case JAVA_OWNED -> what + " is still owned by Java: an import would give it a second owner that deletes"
                        + " it. Call handOff() on the DLPackExport and import the pointer it returns, or use its view()"
                        + " directly: it is the same memory";
                case IMPORTED -> what + " is already imported into " + importedInto + ": a tensor is imported at most once;"
                        + " share the NdArray of that import instead";
                default -> what + " was already deleted; nothing was imported";
            });
        }

        /** Undoes {@link #claimForImport} when the import fails before it exists. */
        void unclaimImport() {
            state.compareAndSet(IMPORTED, HANDED_OFF);
        }

        /** The deleter an import runs when its arena lets go: once, and not if the consumer deleted it already. */
        void deleteFromImport() {
            if (state.compareAndSet(IMPORTED, DELETED) && !export.isReleased()) {
                delete();
            }
        }

        String describe() {
            return (versioned ? "the DLManagedTensorVersioned" : "the DLManagedTensor") + " at 0x" + Long.toHexString(address);
        }

        String stateName() {
            if (isDeleted()) {
                return "deleted";
            }
            return switch (state.get()) {
                case HANDED_OFF -> "handed off";
                case IMPORTED -> "imported into " + importedInto;
                default -> "owned by Java";
            };
        }

        /** How whoever holds the tensor lets go of it, for an arena's refusal to close. */
        String releaseAdvice() {
            String held = "held by " + describe() + ": ";
            return switch (state.get()) {
                case JAVA_OWNED -> held + "DLPackExport.close() deletes it";
                case HANDED_OFF -> held + "handed off to a consumer, which must call its deleter";
                case IMPORTED -> held + "imported into " + importedInto + ", which deletes it when it closes";
                default -> held + "deleted";
            };
        }
    }
}
