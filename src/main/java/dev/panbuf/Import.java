package dev.panbuf;

import dev.panbuf.shim.Lifetimes;
import dev.panbuf.shim.Shim;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * Wraps a {@code pb_buffer *} made by C code as an {@link NdArray}: validates
 * it with {@code pb_validate} before touching a byte, maps its whole
 * allocation as one segment of the importing arena, and hands it back through
 * the producer's own release function when that arena closes.
 *
 * <p>Nothing is registered until every check has passed: a refused buffer
 * leaves the arena, the accounting and the producer's struct as they were.
 *
 * <p>Every import, whatever its producer (a {@code pb_buffer}, a DLPack
 * tensor, a Python object), is a {@link Held} here: it is released exactly
 * once, a producer's pointer is held by at most one import at a time, and a
 * {@link BufferArena} releases what it holds before it counts its exports.
 * A pointer that is one of panbuf's own exports is recognised without
 * reading it: Java-owned ones are refused, handed-off ones are claimed once.
 */
final class Import {

    private static final AtomicLong IDS = new AtomicLong();
    /**
     * Imports not yet released, by the producer's pointer: a pointer is
     * imported at most once, because two imports would each release it.
     */
    private static final ConcurrentHashMap<Long, Held> BY_POINTER = new ConcurrentHashMap<>();

    static {
        Lifetimes.install(new Lifetimes.Service() {
            @Override
            public MemorySegment holdImport(Arena arena, String what, long key, long address, long byteSize,
                                            Runnable release) {
                return hold(arena, what, key, address, byteSize, release);
            }

            @Override
            public void describeHolder(Export export, Supplier<String> releaseAdvice) {
                export.record().holder = releaseAdvice;
            }

            @Override
            public String describe(Export export) {
                return export.record().description();
            }

            @Override
            public String arenaName(Arena arena) {
                return Import.arenaName(arena);
            }

            @Override
            public void trackLeak(Object handle, Export export, BooleanSupplier leaked, Supplier<String> what) {
                LeakDetector.track(handle, export.record().site, leaked, what);
            }

            @Override
            public MemorySegment allocateUninitialized(Arena arena, long byteSize, long byteAlignment) {
                return Allocation.uninitialized(arena, byteSize, byteAlignment);
            }
        });
    }

    private Import() {}

    /**
     * One import: a producer's memory viewed in an arena, handed back through
     * the producer's release exactly once, when the arena lets go of it.
     */
    static final class Held implements Export.Pinner {
        final long id = IDS.incrementAndGet();
        final String what;
        final long key;
        private final Runnable release;
        private final AtomicBoolean released = new AtomicBoolean();
        /** The import's own access scope when a {@link BufferArena} holds it; closing it ends every view first. */
        Arena access;
        /** Exports of this import's memory: while any lives, its arena does not release it. */
        private final Set<Export.Record> exports = new LinkedHashSet<>();

        @Override
        public synchronized void pin(Export.Record r) {
            if (released.get() || (access != null && !access.scope().isAlive())) {
                throw new IllegalStateException("Already closed: cannot export memory of " + what + ", whose import was"
                        + " released");
            }
            exports.add(r);
        }

        @Override
        public synchronized void unpin(Export.Record r) {
            exports.remove(r);
        }

        /** The exports of this import's memory that are still live (C's releases retired first). */
        synchronized List<Export.Record> liveExports() {
            List<Export.Record> live = new ArrayList<>();
            for (Export.Record r : exports) {
                if (!r.released()) {
                    live.add(r);
                }
            }
            return live;
        }

        Held(String what, long key, Runnable release) {
            this.what = what;
            this.key = key;
            this.release = release;
        }

        /** Runs the producer's release once; later calls do nothing. */
        void release() {
            if (!released.compareAndSet(false, true)) {
                return;
            }
            if (key != 0) {
                BY_POINTER.remove(key, this);
            }
            Accounting.LIVE_IMPORTS.decrementAndGet();
            try {
                release.run();
            } catch (Error e) {
                // FFM runs an arena's remaining cleanups after a RuntimeException but not
                // after an Error: wrapped, every other import is still handed back.
                throw new IllegalStateException("the release of " + what + " failed with " + e, e);
            }
        }

        boolean isReleased() {
            return released.get();
        }

        @Override
        public String toString() {
            return "import #" + id + " of " + what;
        }
    }

    /**
     * Views {@code [address, address + byteSize)} in {@code arena} and runs
     * {@code release} exactly once when the arena lets go of it (closes, or,
     * for an automatic arena, finds it unreachable). A {@link BufferArena}
     * gives each import its own access scope and releases its imports before
     * it counts its exports, so an arena that imports its own export can
     * always close. A non-zero {@code key} (the producer's pointer) is held at
     * most once at a time.
     *
     * <p>Nothing is registered and {@code release} does not run when this throws.
     *
     * @throws IllegalArgumentException when {@code key} is already imported
     * @throws IllegalStateException when the arena is closed
     */
    static MemorySegment hold(Arena arena, String what, long key, long address, long byteSize, Runnable release) {
        Held held = new Held(what, key, release);
        if (key != 0) {
            Held before = BY_POINTER.putIfAbsent(key, held);
            if (before != null) {
                throw new IllegalArgumentException(what + " is already imported (" + before + "): a pointer is imported"
                        + " at most once, because each import releases it; share the NdArray of that import instead;"
                        + " nothing was imported");
            }
        }
        Accounting.LIVE_IMPORTS.incrementAndGet();
        boolean done = false;
        try {
            MemorySegment memory;
            if (arena instanceof BufferArena buffers) {
                memory = buffers.holdImport(held, address, byteSize);
            } else {
                if (!arena.scope().isAlive()) {
                    throw new IllegalStateException("Already closed: cannot import " + what + " into a closed arena");
                }
                memory = MemorySegment.ofAddress(address).reinterpret(byteSize, arena, unused -> held.release());
            }
            done = true;
            return memory;
        } finally {
            if (!done) {
                // Never held: undo the registration without calling the producer.
                if (key != 0) {
                    BY_POINTER.remove(key, held);
                }
                Accounting.LIVE_IMPORTS.decrementAndGet();
            }
        }
    }

    /** The import holding {@code pointer}, or null. */
    static Held heldAt(long pointer) {
        return BY_POINTER.get(pointer);
    }

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
        long address = pointer.address();
        // One of panbuf's own exports: Java knows who owns it, without reading the struct.
        Export.Record own = Export.live(address);
        if (own != null) {
            return wrapOwn(own, arena);
        }
        Held already = heldAt(address);
        if (already != null) {
            throw new IllegalArgumentException("the pb_buffer at 0x" + Long.toHexString(address) + " is already imported ("
                    + already + "): a pointer is imported at most once, because each import releases it; share the"
                    + " NdArray of that import instead; nothing was imported");
        }
        MemorySegment struct = Shim.structAt(address);
        int rc = Shim.validate(struct);
        if (rc != 0) {
            throw new IllegalArgumentException("pb_buffer at 0x" + Long.toHexString(address) + " is not valid: "
                    + Shim.strerror(rc) + " (" + rc + ")" + details(struct) + "; nothing was imported");
        }
        Shim.Fields f = Shim.read(struct);
        DType dtype = typeOf(f, address);
        long byteOffset = f.buf() - f.base();
        Geometry.checkInside(f.baseLen(), byteOffset, f.shape(), f.strides(), f.itemSize());
        MemorySegment memory = hold(arena, "the pb_buffer at 0x" + Long.toHexString(address), address, f.base(),
                f.baseLen(), () -> Shim.release(Shim.structAt(address)));
        // A read-only buffer gives a read-only segment too, so not even segment() can write it.
        if (f.readOnly()) {
            memory = memory.asReadOnly();
        }
        return new NdArray(memory, byteOffset, f.shape(), f.strides(), dtype, f.readOnly(), null);
    }

    /**
     * Imports a handed-off export of this JVM: the import takes its release
     * duty (the export stays live, and its memory pinned, until the import is
     * released), or is refused while Java owns it or another import holds it.
     */
    private static NdArray wrapOwn(Export.Record own, Arena arena) {
        NdArray view = own.view;
        own.claimForImport(arenaName(arena));
        boolean done = false;
        try {
            // The export's struct describes exactly its view, so the view's geometry needs no second proof.
            MemorySegment whole = view.segment;
            String what = "the pb_buffer at 0x" + Long.toHexString(own.struct.address()) + " (" + own.description() + ")";
            MemorySegment memory = hold(arena, what, 0, whole.address(), whole.byteSize(), own::releaseFromImport);
            if (own.readOnly || whole.isReadOnly()) {
                memory = memory.asReadOnly();
            }
            NdArray v = new NdArray(memory, view.byteOffset, view.shapeRef().clone(), view.stridesRef().clone(), view.dtype,
                    own.readOnly, null);
            done = true;
            return v;
        } finally {
            if (!done) {
                own.unclaimImport();
            }
        }
    }

    /** The name of {@code arena} for messages. */
    static String arenaName(Arena arena) {
        return arena instanceof BufferArena b ? b.name() : arena.toString();
    }

    private static DType typeOf(Shim.Fields f, long address) {
        DType dtype;
        try {
            dtype = DType.fromFormat(f.format());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("pb_buffer at 0x" + Long.toHexString(address) + " has format \""
                    + f.format() + "\" that panbuf cannot type: " + e.getMessage() + "; nothing was imported", e);
        }
        if (dtype.byteSize() != f.itemSize()) {
            throw new IllegalArgumentException("pb_buffer at 0x" + Long.toHexString(address) + ": format \""
                    + f.format() + "\" describes " + dtype.byteSize() + "-byte items but itemsize is " + f.itemSize()
                    + "; nothing was imported");
        }
        return dtype;
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
