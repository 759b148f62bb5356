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
 *
 * <p>Nothing is registered until every check has passed: a refused buffer
 * leaves the arena, the accounting and the producer's struct as they were.
 */
final class Import {

    private Import() {}

    static NdArray wrap(MemorySegment pointer, Arena arena) {
        Objects.requireNonNull(pointer, "pointer");
        Objects.requireNonNull(arena, "arena");
        if (pointer.address() == 0) {
            throw new IllegalArgumentException("cannot import a NULL pb_buffer pointer");
        }
        if (pointer.address() % 8 != 0) {
            throw new IllegalArgumentException("cannot import the pb_buffer pointer 0x" + Long.toHexString(pointer.address())
                    + ": it is not 8-byte aligned, so it does not point at a pb_buffer");
        }
        if (!arena.scope().isAlive()) {
            throw new IllegalStateException("Already closed: cannot import a pb_buffer into a closed arena");
        }
        dev.panbuf.shim.NativeLibrary.loadShim();   // the gate: a denied native access throws here, with the flag to add
        MemorySegment struct = Shim.structAt(pointer.address());
        int rc = Shim.validate(struct);
        if (rc != 0) {
            throw new IllegalArgumentException("pb_buffer at 0x" + Long.toHexString(pointer.address()) + " is not valid: "
                    + Shim.strerror(rc) + " (" + rc + ")" + details(struct) + "; nothing was imported");
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
                try {
                    Shim.release(Shim.structAt(address));
                } catch (Error e) {
                    // FFM runs the arena's remaining cleanups after a RuntimeException but not
                    // after an Error: wrapped, every other import is still handed back.
                    throw new IllegalStateException("the release of the pb_buffer at 0x" + Long.toHexString(address)
                            + " failed with " + e, e);
                }
            });
        } catch (RuntimeException | Error e) {
            Accounting.LIVE_IMPORTS.decrementAndGet();
            throw e;
        }
        // A read-only buffer gives a read-only segment too, so not even segment() can write it.
        if (f.readOnly()) {
            memory = memory.asReadOnly();
        }
        return new NdArray(memory, byteOffset, f.shape(), f.strides(), dtype, f.readOnly(), null);
    }

    /**
     * What exactly is wrong, with the offending values: the checks of
     * {@code pb_validate} in its order, reading only what it read before it
     * stopped (the struct's own fields; shape, format and strides only once the
     * earlier checks made them safe to follow). Empty when Java finds nothing
     * (the two never disagree unless the header and this code drift apart).
     */
    static String details(MemorySegment struct) {
        Shim.RawFields f = Shim.readRaw(struct);
        if (f.magic() == Shim.MAGIC_RELEASED) {
            return ": it was already released (magic is PB_MAGIC_RELEASED)";
        }
        if (f.magic() != Shim.MAGIC_LIVE) {
            return ": magic is 0x" + Integer.toHexString(f.magic()) + ", a live pb_buffer has 0x"
                    + Integer.toHexString(Shim.MAGIC_LIVE) + " (not a pb_buffer, or not yet made live)";
        }
        int abi = f.abiVersion();
        if (abi == 0 || Integer.compareUnsigned(abi, Shim.ABI_VERSION) > 0) {
            return ": abi_version " + Integer.toUnsignedString(abi) + ", this libpanbuf knows 1 to " + Shim.ABI_VERSION;
        }
        int ndim = f.ndim();
        if (ndim < 0) {
            return ": ndim " + ndim + " is negative";
        }
        if (ndim > Shim.MAX_NDIM) {
            return ": ndim " + ndim + " exceeds " + Shim.MAX_NDIM;
        }
        if (ndim > 0 && f.shape() == 0) {
            return ": NULL shape with ndim " + ndim;
        }
        long[] shape = Shim.readLongs(f.shape(), ndim);
        for (int i = 0; i < ndim; i++) {
            if (shape[i] < 0) {
                return ": shape[" + i + "] is " + shape[i] + " (shape " + Errors.shape(shape) + ")";
            }
        }
        if (f.itemSize() <= 0) {
            return ": itemsize " + f.itemSize() + " is not positive";
        }
        String format = f.format() == 0 ? "B" : Shim.readCString(f.format(), 80);
        long formatSize = f.format() == 0 ? 1 : Shim.sizeFromFormatAt(f.format());
        if (formatSize < 0) {
            return ": format \"" + format + "\" is not a valid struct string (" + Shim.strerror((int) formatSize) + ")";
        }
        if (formatSize != f.itemSize()) {
            return ": format \"" + format + "\" describes " + formatSize + "-byte items but itemsize is " + f.itemSize();
        }
        long product = f.itemSize();
        for (long d : shape) {
            if (d == 0) {
                product = 0;
                break;
            }
        }
        if (product != 0) {
            for (long d : shape) {
                try {
                    product = Math.multiplyExact(product, d);
                } catch (ArithmeticException e) {
                    return ": product(shape) * itemsize overflows int64 (shape " + Errors.shape(shape) + ", itemsize "
                            + f.itemSize() + ")";
                }
            }
        }
        if (product != f.len()) {
            return ": len " + f.len() + " but product(shape) * itemsize is " + product + " (shape " + Errors.shape(shape)
                    + ", itemsize " + f.itemSize() + ")";
        }
        if (f.suboffsets() != 0) {
            return ": suboffsets is 0x" + Long.toHexString(f.suboffsets()) + "; it must be NULL (indirect buffers are not supported)";
        }
        return reachDetails(f, shape);
    }

    /** The bounds part of {@code pb_validate} ({@code check_reach}), with the reachable range relative to base. */
    private static String reachDetails(Shim.RawFields f, long[] shape) {
        if (f.baseLen() < 0) {
            return ": base_len " + f.baseLen() + " is negative";
        }
        if (f.base() == 0 && f.baseLen() > 0) {
            return ": NULL base with base_len " + f.baseLen();
        }
        if (f.len() == 0) {
            return "";
        }
        if (f.buf() == 0) {
            return ": NULL buf with len " + f.len();
        }
        if (f.base() == 0) {
            return ": NULL base with len " + f.len() + " (base_len is 0)";
        }
        long lowest = 0;
        long highest = f.itemSize();
        if (f.strides() == 0) {
            highest = f.len();
        } else {
            long[] strides = Shim.readLongs(f.strides(), shape.length);
            for (int i = 0; i < shape.length; i++) {
                try {
                    long span = Math.multiplyExact(strides[i], shape[i] - 1);
                    if (span < 0) {
                        lowest = Math.addExact(lowest, span);
                    } else {
                        highest = Math.addExact(highest, span);
                    }
                } catch (ArithmeticException e) {
                    return ": the extent of axis " + i + " (stride " + strides[i] + " x " + (shape[i] - 1)
                            + ") overflows int64 (strides " + Errors.shape(strides) + ")";
                }
            }
        }
        String inside = "[base, base+" + f.baseLen() + ")";
        if (Long.compareUnsigned(f.base() + f.baseLen(), f.base()) < 0) {
            return ": base 0x" + Long.toHexString(f.base()) + " + base_len " + f.baseLen() + " wraps around the address space";
        }
        long bufOffset = f.buf() - f.base();
        if (Long.compareUnsigned(f.buf(), f.base()) < 0 || Long.compareUnsigned(bufOffset, f.baseLen()) >= 0) {
            return ": buf is " + relative(bufOffset) + ", outside " + inside;
        }
        long end;
        try {
            end = Math.addExact(bufOffset, highest);
        } catch (ArithmeticException e) {
            return ": the last reachable byte, " + highest + " bytes past buf (" + relative(bufOffset) + "), overflows int64";
        }
        return ": reachable bytes [" + relative(bufOffset + lowest) + ", " + relative(end) + ") outside " + inside;
    }

    private static String relative(long offset) {
        return offset < 0 ? "base-" + Long.toUnsignedString(-offset) : "base+" + offset;
    }
}
