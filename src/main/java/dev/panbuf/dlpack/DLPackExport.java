package dev.panbuf.dlpack;

import dev.panbuf.Export;
import dev.panbuf.NdArray;
import dev.panbuf.shim.DLPackShim;

import java.lang.foreign.MemorySegment;
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
 * the export.
 */
public final class DLPackExport implements AutoCloseable {

    private static final int JAVA_OWNED = 0, HANDED_OFF = 1, DELETED = 2;

    private final Export export;
    private final long tensor;
    private final boolean versioned;
    private final AtomicInteger state = new AtomicInteger(JAVA_OWNED);

    DLPackExport(Export export, long tensor, boolean versioned) {
        this.export = export;
        this.tensor = tensor;
        this.versioned = versioned;
    }

    /** {@return the tensor's address, sized to its struct} Java still owns it. */
    public MemorySegment pointer() {
        if (isDeleted()) {
            throw new IllegalStateException("the DLPack tensor at 0x" + Long.toHexString(tensor) + " was already deleted");
        }
        return DLPackShim.tensorPointer(tensor, versioned);
    }

    /** {@return true for a {@code DLManagedTensorVersioned}, false for a legacy {@code DLManagedTensor}} */
    public boolean isVersioned() {
        return versioned;
    }

    /** {@return the exported view} */
    public NdArray view() {
        return export.view();
    }

    /**
     * Gives the tensor to a consumer, which must call its deleter exactly once.
     *
     * @return the tensor pointer
     * @throws IllegalStateException when already handed off or deleted
     */
    public MemorySegment handOff() {
        MemorySegment p = pointer();
        if (!state.compareAndSet(JAVA_OWNED, HANDED_OFF)) {
            throw new IllegalStateException("the DLPack tensor at 0x" + Long.toHexString(tensor) + " is already "
                    + (state.get() == HANDED_OFF ? "handed off" : "deleted"));
        }
        return p;
    }

    /** {@return true once the deleter has run (from Java or from the consumer); the memory is then unpinned} */
    public boolean isDeleted() {
        return state.get() == DELETED || export.isReleased();
    }

    /** Deletes the tensor unless it was handed off or is already deleted; calling it again is harmless. */
    @Override
    public void close() {
        if (state.compareAndSet(JAVA_OWNED, DELETED)) {
            if (versioned) {
                DLPackShim.delete(tensor);
            } else {
                DLPackShim.deleteLegacy(tensor);
            }
        }
    }

    @Override
    public String toString() {
        return (versioned ? "DLManagedTensorVersioned" : "DLManagedTensor") + " at 0x" + Long.toHexString(tensor)
                + " of " + export + (isDeleted() ? " (deleted)" : state.get() == HANDED_OFF ? " (handed off)" : " (owned by Java)");
    }
}
