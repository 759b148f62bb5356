package dev.panbuf.shim;

import dev.panbuf.shim.bindings.panbuf_h;
import dev.panbuf.shim.bindings.pb_dl_data_type;
import dev.panbuf.shim.bindings.pb_dl_device;
import dev.panbuf.shim.bindings.pb_dl_managed_tensor;
import dev.panbuf.shim.bindings.pb_dl_managed_tensor_versioned;
import dev.panbuf.shim.bindings.pb_dl_tensor;
import dev.panbuf.shim.bindings.pb_dl_version;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The hand-written layer over the DLPack part of the jextract bindings
 * ({@code pb_dl_*} structs and {@code pb_dlpack_*} functions of
 * {@code native/include/panbuf.h}): {@code dev.panbuf.dlpack} reads and makes
 * DLPack tensors only through here.
 */
public final class DLPackShim {

    static {
        NativeLibrary.loadShim();
    }

    public static final int MAJOR_VERSION = panbuf_h.PB_DL_MAJOR_VERSION();
    public static final int MINOR_VERSION = panbuf_h.PB_DL_MINOR_VERSION();
    public static final long FLAG_READ_ONLY = panbuf_h.PB_DL_FLAG_READ_ONLY();
    public static final long FLAG_IS_COPIED = panbuf_h.PB_DL_FLAG_IS_COPIED();
    public static final int DEVICE_CPU = panbuf_h.PB_DL_CPU();
    public static final int DEVICE_CUDA_HOST = panbuf_h.PB_DL_CUDA_HOST();
    public static final int DEVICE_ROCM_HOST = panbuf_h.PB_DL_ROCM_HOST();
    public static final int DEVICE_CUDA_MANAGED = panbuf_h.PB_DL_CUDA_MANAGED();
    public static final int CODE_INT = panbuf_h.PB_DL_INT();
    public static final int CODE_UINT = panbuf_h.PB_DL_UINT();
    public static final int CODE_FLOAT = panbuf_h.PB_DL_FLOAT();
    public static final int CODE_BFLOAT = panbuf_h.PB_DL_BFLOAT();
    public static final int CODE_COMPLEX = panbuf_h.PB_DL_COMPLEX();
    public static final int CODE_BOOL = panbuf_h.PB_DL_BOOL();
    public static final int E_STRIDES = panbuf_h.PB_EDLSTRIDES();
    public static final int E_DTYPE = panbuf_h.PB_EDLDTYPE();

    /** sizeof of the versioned and the legacy managed tensor. */
    public static final long VERSIONED_BYTES = pb_dl_managed_tensor_versioned.sizeof();
    public static final long LEGACY_BYTES = pb_dl_managed_tensor.sizeof();

    private DLPackShim() {}

    /** What a tensor says, read once. {@code strides} is null when the producer gave none. */
    public record Tensor(long data, int deviceType, int deviceId, int ndim, int code, int bits, int lanes,
                         long[] shape, long[] strides, long byteOffset) {}

    /** The header of a versioned managed tensor: the part every major version keeps. */
    public record Versioned(int major, int minor, long flags, long deleter) {}

    // ------------------------------------------------------------------ export

    /** {@code pb_dlpack_export}: 0 and the tensor, or a negative code and NULL. */
    public static long export(MemorySegment pbBuffer, boolean legacy, long[] rc) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
            int code = legacy
                    ? panbuf_h.pb_dlpack_export_legacy(pbBuffer, MemorySegment.NULL, out)
                    : panbuf_h.pb_dlpack_export(pbBuffer, MemorySegment.NULL, out);
            rc[0] = code;
            return code == 0 ? out.get(ValueLayout.ADDRESS, 0).address() : 0;
        }
    }

    /** A tensor address as a segment sized to its struct. */
    public static MemorySegment tensorPointer(long address, boolean versioned) {
        return MemorySegment.ofAddress(address).reinterpret(versioned ? VERSIONED_BYTES : LEGACY_BYTES);
    }

    /** {@code pb_dlpack_delete}: calls the producer's deleter (once per tensor: the caller's duty). */
    public static void delete(long tensor) {
        panbuf_h.pb_dlpack_delete(MemorySegment.ofAddress(tensor));
    }

    /** {@code pb_dlpack_delete_legacy}. */
    public static void deleteLegacy(long tensor) {
        panbuf_h.pb_dlpack_delete_legacy(MemorySegment.ofAddress(tensor));
    }

    /** Sets {@code flags} of a versioned tensor (the producer's, before it hands the tensor over). */
    public static void setFlags(long tensor, long flags) {
        pb_dl_managed_tensor_versioned.flags(MemorySegment.ofAddress(tensor).reinterpret(VERSIONED_BYTES), flags);
    }

    /**
     * Replaces the deleter of a tensor that is still its producer's (not yet
     * handed to a consumer) and returns the one it had: for a producer that
     * wraps panbuf's deleter in its own.
     */
    public static long replaceDeleter(long tensor, boolean versioned, MemorySegment deleter) {
        MemorySegment t = MemorySegment.ofAddress(tensor).reinterpret(versioned ? VERSIONED_BYTES : LEGACY_BYTES);
        if (versioned) {
            long old = pb_dl_managed_tensor_versioned.deleter(t).address();
            pb_dl_managed_tensor_versioned.deleter(t, deleter);
            return old;
        }
        long old = pb_dl_managed_tensor.deleter(t).address();
        pb_dl_managed_tensor.deleter(t, deleter);
        return old;
    }

    /** {@code pb_strerror}, which also names the DLPack codes. */
    public static String strerror(int code) {
        return Shim.strerror(code);
    }

    // ------------------------------------------------------------------ reading tensors

    /** The stable head of a versioned tensor (safe to read whatever its major version). */
    public static Versioned readVersioned(long address) {
        MemorySegment t = MemorySegment.ofAddress(address).reinterpret(VERSIONED_BYTES);
        MemorySegment v = pb_dl_managed_tensor_versioned.version(t);
        return new Versioned(pb_dl_version.major(v), pb_dl_version.minor(v), pb_dl_managed_tensor_versioned.flags(t),
                pb_dl_managed_tensor_versioned.deleter(t).address());
    }

    /** The {@code dl_tensor} of a versioned tensor (read only after its major version is known). */
    public static Tensor readVersionedTensor(long address) {
        MemorySegment t = MemorySegment.ofAddress(address).reinterpret(VERSIONED_BYTES);
        return readTensor(pb_dl_managed_tensor_versioned.dl_tensor(t));
    }

    /** The {@code dl_tensor} of a legacy tensor. */
    public static Tensor readLegacyTensor(long address) {
        MemorySegment t = MemorySegment.ofAddress(address).reinterpret(LEGACY_BYTES);
        return readTensor(pb_dl_managed_tensor.dl_tensor(t));
    }

    /** The deleter of a legacy tensor (0 when NULL). */
    public static long legacyDeleter(long address) {
        return pb_dl_managed_tensor.deleter(MemorySegment.ofAddress(address).reinterpret(LEGACY_BYTES)).address();
    }

    private static Tensor readTensor(MemorySegment dl) {
        int ndim = pb_dl_tensor.ndim(dl);
        MemorySegment device = pb_dl_tensor.device(dl);
        MemorySegment dtype = pb_dl_tensor.dtype(dl);
        long[] shape = null;
        long[] strides = null;
        if (ndim > 0 && ndim <= Shim.MAX_NDIM) {
            MemorySegment sh = pb_dl_tensor.shape(dl);
            if (sh.address() != 0) {
                shape = sh.reinterpret(8L * ndim).toArray(ValueLayout.JAVA_LONG);
            }
            MemorySegment st = pb_dl_tensor.strides(dl);
            if (st.address() != 0) {
                strides = st.reinterpret(8L * ndim).toArray(ValueLayout.JAVA_LONG);
            }
        } else if (ndim == 0) {
            shape = new long[0];
            strides = new long[0];
        }
        return new Tensor(pb_dl_tensor.data(dl).address(), pb_dl_device.device_type(device),
                pb_dl_device.device_id(device), ndim, Byte.toUnsignedInt(pb_dl_data_type.code(dtype)),
                Byte.toUnsignedInt(pb_dl_data_type.bits(dtype)), Short.toUnsignedInt(pb_dl_data_type.lanes(dtype)),
                shape, strides, pb_dl_tensor.byte_offset(dl));
    }

    /**
     * {@code byteSize} bytes at {@code address} as a segment of {@code arena};
     * {@code cleanup} runs once when the arena closes.
     */
    public static MemorySegment memory(long address, long byteSize, Arena arena, Runnable cleanup) {
        return MemorySegment.ofAddress(address).reinterpret(byteSize, arena, unused -> cleanup.run());
    }

    /** The same bytes with no lifetime (for checking a view's geometry before committing to it). */
    public static MemorySegment probe(long address, long byteSize) {
        return MemorySegment.ofAddress(address).reinterpret(byteSize);
    }

    // ------------------------------------------------------------------ producing tensors (tests, foreign producers)

    /**
     * A versioned managed tensor in {@code arena} (for tests and Java code that
     * plays a foreign producer): every field as given; {@code deleter} is a
     * function pointer or NULL.
     */
    public static MemorySegment newVersioned(Arena arena, int major, int minor, long flags, MemorySegment deleter,
                                             Tensor t) {
        MemorySegment m = pb_dl_managed_tensor_versioned.allocate(arena);
        MemorySegment v = pb_dl_managed_tensor_versioned.version(m);
        pb_dl_version.major(v, major);
        pb_dl_version.minor(v, minor);
        pb_dl_managed_tensor_versioned.flags(m, flags);
        pb_dl_managed_tensor_versioned.deleter(m, deleter);
        fillTensor(arena, pb_dl_managed_tensor_versioned.dl_tensor(m), t);
        return m;
    }

    /** A legacy managed tensor in {@code arena}, as {@link #newVersioned}. */
    public static MemorySegment newLegacy(Arena arena, MemorySegment deleter, Tensor t) {
        MemorySegment m = pb_dl_managed_tensor.allocate(arena);
        pb_dl_managed_tensor.deleter(m, deleter);
        fillTensor(arena, pb_dl_managed_tensor.dl_tensor(m), t);
        return m;
    }

    /** A function pointer for a {@code void deleter(void *self)} that runs {@code onDelete} (an upcall). */
    public static MemorySegment deleterStub(Arena arena, java.util.function.Consumer<MemorySegment> onDelete) {
        // An exception escaping an upcall would end the JVM: log it instead.
        return pb_dl_managed_tensor_versioned.deleter.allocate(self -> {
            try {
                onDelete.accept(self);
            } catch (Throwable t) {
                org.slf4j.LoggerFactory.getLogger(DLPackShim.class).error(
                        "a DLPack deleter written in Java threw; the exception cannot cross into C and is dropped", t);
            }
        }, arena);
    }

    private static void fillTensor(Arena arena, MemorySegment dl, Tensor t) {
        pb_dl_tensor.data(dl, MemorySegment.ofAddress(t.data()));
        MemorySegment device = pb_dl_tensor.device(dl);
        pb_dl_device.device_type(device, t.deviceType());
        pb_dl_device.device_id(device, t.deviceId());
        pb_dl_tensor.ndim(dl, t.ndim());
        MemorySegment dtype = pb_dl_tensor.dtype(dl);
        pb_dl_data_type.code(dtype, (byte) t.code());
        pb_dl_data_type.bits(dtype, (byte) t.bits());
        pb_dl_data_type.lanes(dtype, (short) t.lanes());
        pb_dl_tensor.shape(dl, t.shape() == null ? MemorySegment.NULL : arena.allocateFrom(ValueLayout.JAVA_LONG, t.shape()));
        pb_dl_tensor.strides(dl, t.strides() == null ? MemorySegment.NULL
                : arena.allocateFrom(ValueLayout.JAVA_LONG, t.strides()));
        pb_dl_tensor.byte_offset(dl, t.byteOffset());
    }

    // ------------------------------------------------------------------ ABI

    /** {@code sizeof} of a {@code pb_dl_*} struct as the compiled shim reports it. */
    public static long nativeSizeOf(String type) {
        try (Arena arena = Arena.ofConfined()) {
            return panbuf_h.pb_dlpack_abi_sizeof(arena.allocateFrom(type));
        }
    }

    /** {@code offsetof(type, field)} as the compiled shim reports it. */
    public static long nativeOffsetOf(String type, String field) {
        try (Arena arena = Arena.ofConfined()) {
            return panbuf_h.pb_dlpack_abi_offsetof(arena.allocateFrom(type), arena.allocateFrom(field));
        }
    }

    /** The generated layout of a {@code pb_dl_*} struct, by C name. */
    public static java.lang.foreign.GroupLayout layout(String type) {
        return switch (type) {
            case "pb_dl_version" -> pb_dl_version.layout();
            case "pb_dl_device" -> pb_dl_device.layout();
            case "pb_dl_data_type" -> pb_dl_data_type.layout();
            case "pb_dl_tensor" -> pb_dl_tensor.layout();
            case "pb_dl_managed_tensor" -> pb_dl_managed_tensor.layout();
            case "pb_dl_managed_tensor_versioned" -> pb_dl_managed_tensor_versioned.layout();
            default -> throw new IllegalArgumentException("no DLPack struct " + type);
        };
    }
}
