package dev.panbuf.dlpack;

import dev.panbuf.DType;
import dev.panbuf.Export;
import dev.panbuf.NdArray;
import dev.panbuf.shim.DLPackShim;
import dev.panbuf.shim.NativeLibrary;
import dev.panbuf.shim.Lifetimes;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * DLPack, the tensor-exchange ABI of PyTorch, JAX, CuPy, NumPy and others:
 * views go out as managed tensors and tensors come in as views, with no copy.
 *
 * <h2>Export</h2>
 * {@link #export(NdArray)} makes a {@code DLManagedTensorVersioned} (DLPack
 * {@value #MAJOR_VERSION}.{@value #MINOR_VERSION}) over the view's memory:
 * device CPU, strides in elements, {@code DLPACK_FLAG_BITMASK_READ_ONLY} for
 * read-only views. The memory is pinned as by {@link NdArray#export()} until
 * the tensor's deleter runs. {@link #exportLegacy(NdArray)} makes the
 * unversioned {@code DLManagedTensor} that older consumers (NumPy before 2.1,
 * capsules named {@code "dltensor"}) take; it cannot say "read-only", so it
 * refuses read-only views. Refused with {@link IllegalArgumentException}: a
 * byte stride that is not a multiple of the item size (DLPack counts strides
 * in elements), a dtype DLPack has no code for (records, bytes) or not in the
 * platform's byte order (DLPack data is native-order), heap memory and
 * memory whose lifetime cannot be pinned (as for {@link NdArray#export()}).
 *
 * <h2>Import</h2>
 * {@link #importVersioned} and {@link #importLegacy} take ownership of a
 * producer's managed tensor and give a view of its memory in {@code arena};
 * the producer's deleter is called exactly once, when the arena closes. The
 * version rules of DLPack hold: another major version is refused (DLPack
 * promises nothing past {@code flags} then); a newer minor version of 1.x is
 * accepted. Host memory only ({@code kDLCPU}, and the CUDA/ROCm host-pinned
 * and managed kinds), one lane, and the types panbuf has: bool, int and uint
 * of 8 to 64 bits, float of 16, 32 and 64 bits.
 *
 * <p><b>A refused import still consumes the tensor:</b> its deleter is called
 * before the exception is thrown (as DLPack asks of a consumer that cannot
 * use a tensor), so a tensor passed to an import is never leaked and never
 * the caller's again. Two refusals leave the tensor alone, because its
 * deleter belongs to someone else: a tensor that an earlier import still
 * holds (a pointer is imported at most once), and a tensor that this JVM
 * exported and still owns ({@link DLPackExport#handOff()} it first).
 *
 * <p>A view imported into a {@link dev.panbuf.BufferArena} is released by
 * that arena's {@code close()} before it counts its exports, so importing a
 * tensor of an arena's own memory into that arena never keeps it open.
 *
 * {@snippet :
 * try (BufferArena a = BufferArena.ofConfined(); Arena b = Arena.ofConfined()) {
 *     NdArray m = NdArray.allocate(a, DType.FLOAT32, 3, 4);
 *     DLPackExport e = DLPack.export(m);
 *     NdArray same = DLPack.importVersioned(e.handOff(), b);   // same address, no copy
 * }   // b closes first: the deleter runs, m's memory is unpinned, then a closes
 * }
 */
public final class DLPack {

    /** The DLPack major version panbuf exports and imports. */
    public static final int MAJOR_VERSION = 1;
    /** The DLPack minor version panbuf exports. */
    public static final int MINOR_VERSION = 1;

    private static final AtomicLong LIVE_IMPORTS = new AtomicLong();

    private DLPack() {}

    /**
     * The gate of every native call here: loads the shim (a denied native access
     * throws, naming the flag to add) before {@link DLPackShim} initializes, and
     * checks that its DLPack version is the one this class was written for.
     */
    private static void requireShim() {
        NativeLibrary.loadShim();
        if (DLPackShim.MAJOR_VERSION != MAJOR_VERSION || DLPackShim.MINOR_VERSION != MINOR_VERSION) {
            throw new IllegalStateException("panbuf.h declares DLPack " + DLPackShim.MAJOR_VERSION + "."
                    + DLPackShim.MINOR_VERSION + " but dev.panbuf.dlpack was written for " + MAJOR_VERSION + "." + MINOR_VERSION
                    + "; rebuild panbuf so that its jar and its libpanbuf come from one build");
        }
    }

    // ------------------------------------------------------------------ export

    /**
     * Exports a view as a DLPack 1.x managed tensor over the same memory.
     *
     * @param view the view to export (off-heap, in memory whose lifetime panbuf can pin)
     * @return the tensor, owned by Java until {@link DLPackExport#handOff()}
     * @throws IllegalArgumentException naming the stride, dtype or memory kind that DLPack cannot carry
     * @throws IllegalStateException when the memory is closed
     */
    public static DLPackExport export(NdArray view) {
        return export(view, false);
    }

    /**
     * Exports a writable view as a legacy (unversioned) DLPack managed tensor.
     *
     * @param view the view to export
     * @return the tensor, owned by Java until {@link DLPackExport#handOff()}
     * @throws IllegalArgumentException as {@link #export}, and for read-only views
     */
    public static DLPackExport exportLegacy(NdArray view) {
        return export(view, true);
    }

    private static DLPackExport export(NdArray view, boolean legacy) {
        Objects.requireNonNull(view, "view");
        requireShim();
        checkExportable(view, legacy);
        Export e = view.export();
        long[] rc = new long[1];
        long tensor;
        try {
            tensor = DLPackShim.export(e.pointer(), legacy, rc);
        } catch (RuntimeException | Error t) {
            e.close();
            throw t;
        }
        if (rc[0] != 0) {
            e.close();
            throw new IllegalArgumentException("cannot export " + view.describe() + " to DLPack: "
                    + DLPackShim.strerror((int) rc[0]) + " (" + rc[0] + ")");
        }
        e.handOff();   // the tensor's deleter releases it
        return DLPackExport.of(e, tensor, !legacy);
    }

    private static void checkExportable(NdArray view, boolean legacy) {
        DType d = view.dtype();
        // Built only for a refusal: describing the view costs more than the whole export.
        java.util.function.Supplier<String> what = () -> "cannot export " + view.describe() + " to DLPack: ";
        switch (d.kind()) {
            case RECORD, BYTES -> throw new IllegalArgumentException(what.get() + "DLPack has no type for " + d.kind().name()
                    .toLowerCase(java.util.Locale.ROOT) + " dtype " + d + "; export one field at a time (field(name))");
            default -> { }
        }
        if (!d.isNativeOrder()) {
            throw new IllegalArgumentException(what.get() + "dtype " + d.str() + " is not in the platform's byte order, and DLPack"
                    + " data always is; copy it to " + d.withNativeOrder().str() + " first");
        }
        long[] strides = view.byteStrides();
        for (int k = 0; k < strides.length; k++) {
            if (strides[k] % d.byteSize() != 0) {
                throw new IllegalArgumentException(what.get() + "byte stride " + strides[k] + " of axis " + k
                        + " is not a multiple of the item size " + d.byteSize() + " (DLPack counts strides in elements);"
                        + " copy the view first (copy(Order.C, arena))");
            }
        }
        if (legacy && view.isReadOnly()) {
            throw new IllegalArgumentException(what.get() + "the view is read-only and a legacy DLManagedTensor cannot say so"
                    + " (a consumer would write to it); use DLPack.export (versioned, read-only flag) or a writable view");
        }
    }

    // ------------------------------------------------------------------ import

    /**
     * Takes ownership of a {@code DLManagedTensorVersioned *} and views its
     * memory in {@code arena}, without copying; its deleter runs exactly once
     * when the arena closes. A tensor flagged read-only gives a read-only view.
     *
     * @param tensor a {@code DLManagedTensorVersioned *}; ownership passes to panbuf
     * @param arena  the arena the view's memory belongs to
     * @return a view of the tensor's memory
     * @throws IllegalArgumentException naming what panbuf cannot use (the deleter has then already run)
     * @throws IllegalStateException when the arena is closed (the deleter has then already run)
     */
    public static NdArray importVersioned(MemorySegment tensor, Arena arena) {
        return importVersioned(tensor, arena, Runnable::run);
    }

    /**
     * As {@link #importVersioned(MemorySegment, Arena)}, calling the deleter
     * through {@code deleterContext} (which must run what it is given exactly
     * once): for producers whose deleter needs a context, such as CPython's
     * GIL for tensors that NumPy made.
     *
     * @param tensor         a {@code DLManagedTensorVersioned *}; ownership passes to panbuf
     * @param arena          the arena the view's memory belongs to
     * @param deleterContext runs the deleter call it is given, exactly once
     * @return a view of the tensor's memory
     */
    public static NdArray importVersioned(MemorySegment tensor, Arena arena, Consumer<Runnable> deleterContext) {
        Objects.requireNonNull(deleterContext, "deleterContext");
        long address = checkPointer(tensor);
        Objects.requireNonNull(arena, "arena");
        requireShim();
        DLPackExport.Tensor own = DLPackExport.Tensor.live(address);
        if (own != null) {
            return importOwn(own, true, arena);
        }
        DLPackShim.Versioned head = DLPackShim.readVersioned(address);
        Runnable delete = () -> deleterContext.accept(() -> DLPackShim.delete(address));
        if (head.major() != MAJOR_VERSION) {
            delete.run();
            throw new IllegalArgumentException("DLPack tensor at 0x" + Long.toHexString(address) + " has version "
                    + head.major() + "." + head.minor() + "; panbuf reads major version " + MAJOR_VERSION
                    + " (its deleter was called)");
        }
        boolean readOnly = (head.flags() & DLPackShim.FLAG_READ_ONLY) != 0;
        return wrap(address, DLPackShim.readVersionedTensor(address), readOnly, arena, delete);
    }

    /**
     * Takes ownership of a legacy {@code DLManagedTensor *} (as Python
     * capsules named {@code "dltensor"} carry) and views its memory in
     * {@code arena}, without copying; its deleter runs exactly once when the
     * arena closes. The view is writable: the legacy struct has no read-only flag.
     *
     * @param tensor a {@code DLManagedTensor *}; ownership passes to panbuf
     * @param arena  the arena the view's memory belongs to
     * @return a view of the tensor's memory
     * @throws IllegalArgumentException naming what panbuf cannot use (the deleter has then already run)
     * @throws IllegalStateException when the arena is closed (the deleter has then already run)
     */
    public static NdArray importLegacy(MemorySegment tensor, Arena arena) {
        return importLegacy(tensor, arena, Runnable::run);
    }

    /**
     * As {@link #importLegacy(MemorySegment, Arena)}, calling the deleter through {@code deleterContext}.
     *
     * @param tensor         a {@code DLManagedTensor *}; ownership passes to panbuf
     * @param arena          the arena the view's memory belongs to
     * @param deleterContext runs the deleter call it is given, exactly once
     * @return a view of the tensor's memory
     */
    public static NdArray importLegacy(MemorySegment tensor, Arena arena, Consumer<Runnable> deleterContext) {
        return importLegacy(tensor, arena, deleterContext, false);
    }

    /**
     * As {@link #importLegacy(MemorySegment, Arena, Consumer)}, read-only when
     * {@code readOnly} is true: for a producer that says outside the tensor
     * that its memory must not be written (the legacy struct has no flag for
     * it), such as an immutable JAX array or a Python object whose buffer is
     * read-only. The view and its segment are then read-only.
     *
     * @param tensor         a {@code DLManagedTensor *}; ownership passes to panbuf
     * @param arena          the arena the view's memory belongs to
     * @param deleterContext runs the deleter call it is given, exactly once
     * @param readOnly       whether the memory must not be written
     * @return a view of the tensor's memory
     */
    public static NdArray importLegacy(MemorySegment tensor, Arena arena, Consumer<Runnable> deleterContext,
                                       boolean readOnly) {
        Objects.requireNonNull(deleterContext, "deleterContext");
        long address = checkPointer(tensor);
        Objects.requireNonNull(arena, "arena");
        requireShim();
        DLPackExport.Tensor own = DLPackExport.Tensor.live(address);
        if (own != null) {
            return importOwn(own, readOnly, arena);
        }
        return wrap(address, DLPackShim.readLegacyTensor(address), readOnly, arena,
                () -> deleterContext.accept(() -> DLPackShim.deleteLegacy(address)));
    }

    /**
     * Imported tensors whose deleter has not yet run (their arenas are open).
     *
     * @return the count in this JVM
     */
    public static long liveImports() {
        return LIVE_IMPORTS.get();
    }

    private static long checkPointer(MemorySegment tensor) {
        Objects.requireNonNull(tensor, "tensor");
        if (tensor.address() == 0) {
            throw new IllegalArgumentException("cannot import a NULL DLPack tensor");
        }
        return tensor.address();
    }

    /**
     * Imports a tensor this JVM exported: refused (and left as it is) while
     * Java owns it or another import holds it; otherwise the import takes its
     * deleter, and its view is the exported view's geometry over the same memory.
     */
    private static NdArray importOwn(DLPackExport.Tensor own, boolean versioned, Arena arena) {
        if (own.versioned != versioned) {
            throw new IllegalArgumentException(own.describe() + " is a" + (own.versioned ? " versioned" : " legacy")
                    + " tensor; import it with DLPack." + (own.versioned ? "importVersioned" : "importLegacy")
                    + "; nothing was imported");
        }
        if (!arena.scope().isAlive()) {
            throw new IllegalStateException("Already closed: cannot import " + own.describe() + " into a closed arena");
        }
        own.claimForImport(arena);
        boolean done = false;
        try {
            NdArray view = own.export.view();
            MemorySegment whole = view.segment();
            MemorySegment memory = Lifetimes.get().holdImport(arena, own.describe(), own.address, whole.address(),
                    whole.byteSize(), () -> {
                        LIVE_IMPORTS.decrementAndGet();
                        own.deleteFromImport();
                    });
            LIVE_IMPORTS.incrementAndGet();
            NdArray v = NdArray.asStrided(memory, view.dtype(), view.byteOffset(), view.shape(), view.byteStrides(),
                    NdArray.Overlap.ALLOW_WRITES);
            done = true;
            return view.isReadOnly() ? v.asReadOnly() : v;
        } finally {
            if (!done) {
                own.unclaimImport();
            }
        }
    }

    private static NdArray wrap(long address, DLPackShim.Tensor t, boolean readOnly, Arena arena, Runnable delete) {
        Layout layout;
        try {
            if (!arena.scope().isAlive()) {
                throw new IllegalStateException("Already closed: cannot import a DLPack tensor into a closed arena");
            }
            layout = layout(t);
            // Prove the geometry on a lifetime-free view first, so nothing below can fail
            // after the arena has taken the deleter.
            NdArray.asStrided(DLPackShim.probe(layout.base, layout.byteSize), layout.dtype, layout.byteOffset, t.shape(),
                    layout.byteStrides);
        } catch (RuntimeException e) {
            delete.run();
            String prefix = "DLPack tensor at 0x" + Long.toHexString(address) + ": ";
            if (e instanceof IllegalStateException) {
                throw new IllegalStateException(prefix + e.getMessage() + " (its deleter was called)", e);
            }
            throw new IllegalArgumentException(prefix + e.getMessage() + " (its deleter was called)", e);
        }
        Runnable release = () -> {
            LIVE_IMPORTS.decrementAndGet();
            delete.run();
        };
        MemorySegment memory;
        try {
            memory = Lifetimes.get().holdImport(arena, "the DLPack tensor at 0x" + Long.toHexString(address), address,
                    layout.base, layout.byteSize, release);
        } catch (IllegalArgumentException e) {
            // Already held by another import: that import owns the deleter, so it must not run here.
            throw e;
        } catch (RuntimeException | Error e) {
            delete.run();   // the arena closed meanwhile: hand the tensor back now
            throw e;
        }
        LIVE_IMPORTS.incrementAndGet();
        NdArray v = NdArray.asStrided(memory, layout.dtype, layout.byteOffset, t.shape(), layout.byteStrides);
        // Read-only tensors give read-only memory: not even segment() of the view can write it.
        return readOnly ? v.asReadOnly() : v;
    }

    private record Layout(DType dtype, long base, long byteSize, long byteOffset, long[] byteStrides) {}

    private static Layout layout(DLPackShim.Tensor t) {
        int dev = t.deviceType();
        if (dev != DLPackShim.DEVICE_CPU && dev != DLPackShim.DEVICE_CUDA_HOST && dev != DLPackShim.DEVICE_ROCM_HOST
                && dev != DLPackShim.DEVICE_CUDA_MANAGED) {
            throw new IllegalArgumentException("device type " + dev + " is not host memory panbuf can address (kDLCPU = 1,"
                    + " or host-pinned/managed 3, 11, 13)");
        }
        DType dtype = dtype(t.code(), t.bits(), t.lanes());
        if (t.ndim() < 0 || t.ndim() > NdArray.MAX_NDIM) {
            throw new IllegalArgumentException("ndim " + t.ndim() + " is out of range (0 to " + NdArray.MAX_NDIM + ")");
        }
        long[] shape = t.shape();
        if (shape == null) {
            throw new IllegalArgumentException("shape is NULL while ndim is " + t.ndim());
        }
        long item = dtype.byteSize();
        long[] elementStrides = t.strides();
        if (elementStrides == null) {   // before DLPack 1.0: NULL means compact row-major
            elementStrides = new long[shape.length];
            long step = 1;
            for (int k = shape.length - 1; k >= 0; k--) {
                elementStrides[k] = step;
                step = shape[k] == 0 ? step : Math.multiplyExact(step, shape[k]);
            }
        }
        long[] byteStrides = new long[shape.length];
        boolean empty = false;
        long lo = 0, hi = 0;
        try {
            for (int k = 0; k < shape.length; k++) {
                if (shape[k] < 0) {
                    throw new IllegalArgumentException("dimension " + k + " of shape " + Arrays.toString(shape) + " is negative");
                }
                byteStrides[k] = Math.multiplyExact(elementStrides[k], item);
                if (shape[k] == 0) {
                    empty = true;
                    continue;
                }
                long reach = Math.multiplyExact(byteStrides[k], shape[k] - 1);
                if (reach < 0) {
                    lo = Math.addExact(lo, reach);
                } else {
                    hi = Math.addExact(hi, reach);
                }
            }
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " with element strides "
                    + Arrays.toString(elementStrides) + " reaches beyond a 64-bit address range");
        }
        if (empty) {
            return new Layout(dtype, 0, 0, 0, byteStrides);
        }
        if (t.data() == 0) {
            throw new IllegalArgumentException("data is NULL but shape " + Arrays.toString(shape) + " has elements");
        }
        if (t.byteOffset() < 0) {
            throw new IllegalArgumentException("byte_offset " + Long.toUnsignedString(t.byteOffset()) + " is beyond"
                    + " any address");
        }
        long first;
        long base;
        long size;
        try {
            first = Math.addExact(t.data(), t.byteOffset());
            base = Math.addExact(first, lo);
            size = Math.addExact(Math.subtractExact(hi, lo), item);
            Math.addExact(base, size);
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException("data 0x" + Long.toHexString(t.data()) + " + byte_offset "
                    + t.byteOffset() + " with strides " + Arrays.toString(elementStrides) + " reaches beyond the address space");
        }
        if (base <= 0) {
            throw new IllegalArgumentException("the tensor reaches below address 0 (data 0x" + Long.toHexString(t.data())
                    + ", strides " + Arrays.toString(elementStrides) + ")");
        }
        return new Layout(dtype, base, size, -lo, byteStrides);
    }

    private static DType dtype(int code, int bits, int lanes) {
        if (lanes != 1) {
            throw new IllegalArgumentException("data type with " + lanes + " lanes (vector types) has no panbuf dtype");
        }
        DType d = null;
        if (code == DLPackShim.CODE_INT) {
            d = switch (bits) {
                case 8 -> DType.INT8;
                case 16 -> DType.INT16;
                case 32 -> DType.INT32;
                case 64 -> DType.INT64;
                default -> null;
            };
        } else if (code == DLPackShim.CODE_UINT) {
            d = switch (bits) {
                case 8 -> DType.UINT8;
                case 16 -> DType.UINT16;
                case 32 -> DType.UINT32;
                case 64 -> DType.UINT64;
                default -> null;
            };
        } else if (code == DLPackShim.CODE_FLOAT) {
            d = switch (bits) {
                case 16 -> DType.FLOAT16;
                case 32 -> DType.FLOAT32;
                case 64 -> DType.FLOAT64;
                default -> null;
            };
        } else if (code == DLPackShim.CODE_BOOL && bits == 8) {
            d = DType.BOOL;
        }
        if (d == null) {
            String name = code == DLPackShim.CODE_BFLOAT ? "bfloat" : code == DLPackShim.CODE_COMPLEX ? "complex"
                    : code == DLPackShim.CODE_INT ? "int" : code == DLPackShim.CODE_UINT ? "uint"
                    : code == DLPackShim.CODE_FLOAT ? "float" : code == DLPackShim.CODE_BOOL ? "bool" : "type code " + code;
            throw new IllegalArgumentException("data type " + name + bits + " (code " + code + ", " + bits + " bits) has no"
                    + " panbuf dtype");
        }
        return d;
    }
}
