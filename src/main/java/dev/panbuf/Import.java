package dev.panbuf;

import dev.panbuf.shim.Shim;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Objects;

/**
 * Wraps a {@code pb_buffer *} made by C code as an {@link NdArray}: validates
 * it with {@code pb_validate} before touching a byte, maps its whole
 * allocation as one segment of the importing arena, and hands it back through
 * the producer's own release function when that arena closes.
 */
final class Import {

    private Import() {}

    static NdArray wrap(MemorySegment pointer, Arena arena) {
        Objects.requireNonNull(pointer, "pointer");
        Objects.requireNonNull(arena, "arena");
        if (pointer.address() == 0) {
            throw new IllegalArgumentException("cannot import a NULL pb_buffer pointer");
        }
        if (!arena.scope().isAlive()) {
            throw new IllegalStateException("Already closed: cannot import a pb_buffer into a closed arena");
        }
        MemorySegment struct = Shim.structAt(pointer.address());
        int rc = Shim.validate(struct);
        if (rc != 0) {
            throw new IllegalArgumentException("pb_buffer at 0x" + Long.toHexString(pointer.address()) + " is not valid: "
                    + Shim.strerror(rc) + " (" + rc + ")" + details(struct, rc) + "; nothing was imported");
        }
        Shim.Fields f = Shim.read(struct);
        DType dtype;
        try {
            dtype = DType.fromFormat(f.format());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("pb_buffer at 0x" + Long.toHexString(pointer.address()) + " has format \""
                    + f.format() + "\" that panbuf cannot type: " + e.getMessage() + "; nothing was imported", e);
        }
        if (dtype.byteSize() != f.itemSize()) {
            throw new IllegalArgumentException("pb_buffer at 0x" + Long.toHexString(pointer.address()) + ": format \""
                    + f.format() + "\" describes " + dtype.byteSize() + "-byte items but itemsize is " + f.itemSize()
                    + "; nothing was imported");
        }
        long byteOffset = f.buf() - f.base();
        Geometry.checkInside(f.baseLen(), byteOffset, f.shape(), f.strides(), f.itemSize());
        long address = pointer.address();
        Accounting.LIVE_IMPORTS.incrementAndGet();
        MemorySegment memory;
        try {
            memory = MemorySegment.ofAddress(f.base()).reinterpret(f.baseLen(), arena, unused -> {
                Accounting.LIVE_IMPORTS.decrementAndGet();
                Shim.release(Shim.structAt(address));
            });
        } catch (RuntimeException | Error e) {
            Accounting.LIVE_IMPORTS.decrementAndGet();
            throw e;
        }
        return new NdArray(memory, byteOffset, f.shape(), f.strides(), dtype, f.readOnly(), null);
    }

    /** Extra words on what exactly is wrong, read from the fields that are safe to read for this code. */
    private static String details(MemorySegment struct, int rc) {
        int magic = Shim.magic(struct);
        if (magic == Shim.MAGIC_RELEASED) {
            return " (it was already released)";
        }
        if (magic != Shim.MAGIC_LIVE) {
            return " (magic is 0x" + Integer.toHexString(magic) + ", a live pb_buffer has 0x"
                    + Integer.toHexString(Shim.MAGIC_LIVE) + ")";
        }
        return "";
    }
}
