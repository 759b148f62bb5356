package dev.panbuf.shim;

import dev.panbuf.shim.bindings.panbuf_h;
import dev.panbuf.shim.bindings.pb_buffer;

import org.slf4j.LoggerFactory;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.function.Consumer;

/**
 * The one hand-written layer over the jextract bindings of
 * {@code native/include/panbuf.h}: every read or write of a {@code pb_buffer}
 * field and every call into {@code libpanbuf} from Java goes through here, so
 * the generated code can be regenerated without touching anything else.
 *
 * <p>Loading this class loads the native library; callers pass
 * {@link NativeLibrary#loadShim()} first, so that a refusal (native access
 * denied) never leaves this class unusable.
 */
public final class Shim {

    static {
        NativeLibrary.loadShim();
    }

    /** {@code PB_ABI_VERSION} of the header the bindings were generated from. */
    public static final int ABI_VERSION = panbuf_h.PB_ABI_VERSION();
    public static final int MAGIC_LIVE = panbuf_h.PB_MAGIC_LIVE();
    public static final int MAGIC_RELEASED = panbuf_h.PB_MAGIC_RELEASED();
    public static final int MAX_NDIM = panbuf_h.PB_MAX_NDIM();
    /** {@code sizeof(pb_buffer)} according to the generated layout. */
    public static final long STRUCT_BYTES = pb_buffer.sizeof();

    private static final java.lang.invoke.VarHandle MAGIC_HANDLE = pb_buffer.magic$layout().varHandle();

    public static final int E_READONLY = panbuf_h.PB_EREADONLY();
    public static final int E_RELEASED = panbuf_h.PB_ERELEASED();

    private Shim() {}

    // ------------------------------------------------------------ ABI

    /** The generated layout of {@code pb_buffer}. */
    public static java.lang.foreign.GroupLayout structLayout() {
        return pb_buffer.layout();
    }

    /** {@code sizeof(pb_buffer)} as the compiled shim reports it. */
    public static long nativeStructBytes() {
        return panbuf_h.pb_abi_sizeof();
    }

    /** {@code offsetof(pb_buffer, field)} as the compiled shim reports it; -1 for no such field. */
    public static long nativeOffsetOf(String field) {
        try (Arena arena = Arena.ofConfined()) {
            return panbuf_h.pb_abi_offsetof(arena.allocateFrom(field));
        }
    }

    // ------------------------------------------------------------ producing exports

    /**
     * Allocates an export block ({@code pb_export_alloc}) and fills every field.
     * The returned segment covers the {@code pb_buffer} struct; it is not live
     * until {@link #publish} is called.
     */
    public static MemorySegment newExport(MemorySegment data, long elementZeroOffset, long byteLen, long itemSize,
                                          boolean readOnly, long[] shape, long[] strides, String format,
                                          long baseOffset, long baseLen, MemorySegment stateCell) {
        byte[] formatBytes = format.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        for (byte b : formatBytes) {
            // A NUL (possible in a record's field name) would end the C string early: C would see a
            // truncated, invalid format for this export. Refused before anything is allocated.
            if (b == 0) {
                throw new IllegalArgumentException("cannot export a dtype whose format \"" + format.replace("\0", "\\0")
                        + "\" contains a NUL character (in a field name), which would end the C string pb_buffer.format;"
                        + " rename the field");
            }
        }
        MemorySegment raw = panbuf_h.pb_export_alloc(shape.length, formatBytes.length, stateCell);
        if (raw.equals(MemorySegment.NULL)) {
            throw new OutOfMemoryError("panbuf: pb_export_alloc could not allocate an export of " + shape.length
                    + " dimensions (the C allocator returned NULL)");
        }
        MemorySegment pb = raw.reinterpret(STRUCT_BYTES);
        int ndim = shape.length;
        pb_buffer.buf(pb, MemorySegment.ofAddress(data.address() + elementZeroOffset));
        pb_buffer.obj(pb, MemorySegment.NULL);
        pb_buffer.len(pb, byteLen);
        pb_buffer.itemsize(pb, itemSize);
        pb_buffer.readonly(pb, readOnly ? 1 : 0);
        pb_buffer.ndim(pb, ndim);
        MemorySegment shapeArray = pb_buffer.shape(pb).reinterpret(8L * ndim);
        MemorySegment strideArray = pb_buffer.strides(pb).reinterpret(8L * ndim);
        for (int i = 0; i < ndim; i++) {
            shapeArray.setAtIndex(ValueLayout.JAVA_LONG, i, shape[i]);
            strideArray.setAtIndex(ValueLayout.JAVA_LONG, i, strides[i]);
        }
        MemorySegment formatChars = pb_buffer.format(pb).reinterpret(formatBytes.length + 1L);
        MemorySegment.copy(formatBytes, 0, formatChars, ValueLayout.JAVA_BYTE, 0, formatBytes.length);
        formatChars.set(ValueLayout.JAVA_BYTE, formatBytes.length, (byte) 0);
        pb_buffer.suboffsets(pb, MemorySegment.NULL);
        pb_buffer.base(pb, MemorySegment.ofAddress(data.address() + baseOffset));
        pb_buffer.base_len(pb, baseLen);
        return pb;
    }

    /** Makes a filled export live: after this, C may use it and release it. */
    public static void publish(MemorySegment pb) {
        // A release-store, so C threads that see the magic also see every field.
        MAGIC_HANDLE.setRelease(pb, pb_buffer.magic$offset(), MAGIC_LIVE);
    }

    /**
     * {@code pb_release}: releases once; later calls on a still-allocated struct do nothing.
     *
     * <p>When the release callback is one of panbuf's own upcalls (a struct made by
     * {@link #newStruct}) and its Java code throws, the exception cannot cross C
     * (it would kill the JVM): the upcall catches it and it is rethrown here,
     * after {@code pb_release} has returned.
     *
     * @throws IllegalStateException wrapping what a Java release callback threw
     *         (an {@link Error} is rethrown as it is); the buffer is released all the same
     */
    public static void release(MemorySegment pb) {
        ReleaseCallbacks.Frame frame = ReleaseCallbacks.enter();
        try {
            panbuf_h.pb_release(pb);
        } finally {
            ReleaseCallbacks.exit(frame, pb.address());
        }
    }

    /** {@code pb_export_discard}: frees a block from {@link #newExport} that was never made live. */
    public static void discard(MemorySegment pb) {
        panbuf_h.pb_export_discard(pb);
    }

    /** The address of {@code pb_release}, for C code that wants a release function pointer. */
    public static MemorySegment releaseFunction() {
        return panbuf_h.pb_release$address();
    }

    // ------------------------------------------------------------ consuming pb_buffers from C

    /** {@code pb_validate}: 0, or the negative code of the first problem. */
    public static int validate(MemorySegment pb) {
        return panbuf_h.pb_validate(pb);
    }

    /** {@code pb_strerror}. */
    public static String strerror(int code) {
        return panbuf_h.pb_strerror(code).reinterpret(1024).getString(0);
    }

    // ------------------------------------------------------------ strided copies

    /**
     * {@code pb_copy_strided}: copies the {@code ndim}-dimensional strided
     * region of {@code src} into that of {@code dst}, reversing each element's
     * bytes when {@code swap}. The segments go to C as segments, so the linker
     * keeps their arenas open and checks the calling thread for the length of
     * the call; C checks that both regions lie inside them before it writes.
     * Both segments must be native and the regions must not overlap.
     *
     * @param dst the destination memory
     * @param dstOffset byte offset of the destination's element 0 in {@code dst}
     * @param dstStrides the destination's byte strides, {@code ndim} of them
     * @param src the source memory
     * @param srcOffset byte offset of the source's element 0 in {@code src}
     * @param srcStrides the source's byte strides
     * @param shape the region's shape
     * @param ndim how many axes of the arrays are used
     * @param itemSize bytes per element
     * @param swap whether to reverse each element's bytes
     * @return 0, or the negative {@code PB_E...} code C refused the copy with (nothing written)
     */
    public static int copyStrided(MemorySegment dst, long dstOffset, long[] dstStrides, MemorySegment src, long srcOffset,
                                  long[] srcStrides, long[] shape, int ndim, long itemSize, boolean swap) {
        try (Arena arena = Arena.ofConfined()) {
            // One block for the three arrays: shape, then the destination's strides, then the source's.
            MemorySegment arrays = arena.allocate(ValueLayout.JAVA_LONG, 3L * Math.max(ndim, 1));
            MemorySegment.copy(shape, 0, arrays, ValueLayout.JAVA_LONG, 0, ndim);
            MemorySegment.copy(dstStrides, 0, arrays, ValueLayout.JAVA_LONG, 8L * ndim, ndim);
            MemorySegment.copy(srcStrides, 0, arrays, ValueLayout.JAVA_LONG, 16L * ndim, ndim);
            return panbuf_h.pb_copy_strided(dst, dst.byteSize(), dstOffset, arrays.asSlice(8L * ndim),
                    src, src.byteSize(), srcOffset, arrays.asSlice(16L * ndim), ndim, arrays, itemSize, swap ? 1 : 0);
        }
    }

    /** Views the struct at {@code address}, sized for reading its fields. */
    public static MemorySegment structAt(long address) {
        return MemorySegment.ofAddress(address).reinterpret(STRUCT_BYTES);
    }

    /** The struct's fields, read once (the caller validated it first). */
    public record Fields(long buf, long len, long itemSize, boolean readOnly, int ndim, String format,
                         long[] shape, long[] strides, long suboffsets, int magic, int abiVersion,
                         long base, long baseLen, long release) {}

    /** Reads every field of a {@code pb_buffer} that {@link #validate} accepted. */
    public static Fields read(MemorySegment pb) {
        int ndim = pb_buffer.ndim(pb);
        long[] shape = new long[Math.max(ndim, 0)];
        long[] strides = new long[Math.max(ndim, 0)];
        MemorySegment sh = pb_buffer.shape(pb);
        MemorySegment st = pb_buffer.strides(pb);
        if (ndim > 0) {
            MemorySegment.copy(sh.reinterpret(8L * ndim), ValueLayout.JAVA_LONG, 0, shape, 0, ndim);
            if (!st.equals(MemorySegment.NULL)) {
                MemorySegment.copy(st.reinterpret(8L * ndim), ValueLayout.JAVA_LONG, 0, strides, 0, ndim);
            } else {
                long step = pb_buffer.itemsize(pb);
                for (int i = ndim - 1; i >= 0; i--) {
                    strides[i] = step;
                    step *= shape[i];
                }
            }
        }
        MemorySegment fmt = pb_buffer.format(pb);
        String format = fmt.equals(MemorySegment.NULL) ? "B" : fmt.reinterpret(Integer.MAX_VALUE).getString(0);
        return new Fields(pb_buffer.buf(pb).address(), pb_buffer.len(pb), pb_buffer.itemsize(pb),
                pb_buffer.readonly(pb) != 0, ndim, format, shape, strides, pb_buffer.suboffsets(pb).address(),
                pb_buffer.magic(pb), pb_buffer.abi_version(pb), pb_buffer.base(pb).address(), pb_buffer.base_len(pb),
                pb_buffer.release(pb).address());
    }

    /** The {@code magic} field (for diagnostics of a struct that failed validation). */
    public static int magic(MemorySegment pb) {
        return pb_buffer.magic(pb);
    }

    /**
     * The struct's own fields, pointers as addresses and nothing dereferenced:
     * safe to read from any struct-sized memory, valid or not (for the messages
     * of a struct that {@link #validate} refused).
     */
    public record RawFields(long buf, long len, long itemSize, int readOnly, int ndim, long format, long shape,
                            long strides, long suboffsets, int magic, int abiVersion, long base, long baseLen) {}

    /** Reads {@link RawFields} without following any pointer. */
    public static RawFields readRaw(MemorySegment pb) {
        return new RawFields(pb_buffer.buf(pb).address(), pb_buffer.len(pb), pb_buffer.itemsize(pb), pb_buffer.readonly(pb),
                pb_buffer.ndim(pb), pb_buffer.format(pb).address(), pb_buffer.shape(pb).address(),
                pb_buffer.strides(pb).address(), pb_buffer.suboffsets(pb).address(), pb_buffer.magic(pb),
                pb_buffer.abi_version(pb), pb_buffer.base(pb).address(), pb_buffer.base_len(pb));
    }

    /** {@code count} int64 values at {@code address} (the caller knows they are readable). */
    public static long[] readLongs(long address, int count) {
        long[] out = new long[count];
        if (count > 0) {
            MemorySegment.copy(MemorySegment.ofAddress(address).reinterpret(8L * count), ValueLayout.JAVA_LONG, 0, out, 0, count);
        }
        return out;
    }

    /**
     * The NUL-terminated string at {@code address}, cut after {@code maxChars}
     * (with "..."), for messages; the caller knows it is readable up to its NUL.
     */
    public static String readCString(long address, int maxChars) {
        MemorySegment chars = MemorySegment.ofAddress(address).reinterpret(Long.MAX_VALUE);
        StringBuilder sb = new StringBuilder();
        for (long i = 0; ; i++) {
            byte b = chars.get(ValueLayout.JAVA_BYTE, i);
            if (b == 0) {
                return sb.toString();
            }
            if (i == maxChars) {
                return sb.append("...").toString();
            }
            sb.append(b >= 0x20 && b < 0x7f ? (char) b : '?');
        }
    }

    // ------------------------------------------------------------ C helpers, for tests and tools

    /** {@code pb_is_contiguous}. */
    public static int isContiguous(MemorySegment pb, char order) {
        return panbuf_h.pb_is_contiguous(pb, (byte) order);
    }

    /** {@code pb_to_contiguous}. */
    public static int toContiguous(MemorySegment dst, MemorySegment pb, long len, char order) {
        return panbuf_h.pb_to_contiguous(dst, pb, len, (byte) order);
    }

    /** {@code pb_from_contiguous}. */
    public static int fromContiguous(MemorySegment pb, MemorySegment src, long len, char order) {
        return panbuf_h.pb_from_contiguous(pb, src, len, (byte) order);
    }

    /** {@code pb_size_from_format}. */
    public static long sizeFromFormat(String format) {
        try (Arena arena = Arena.ofConfined()) {
            return panbuf_h.pb_size_from_format(arena.allocateFrom(format));
        }
    }

    /** {@code pb_size_from_format} of the NUL-terminated string at {@code address} (not copied). */
    public static long sizeFromFormatAt(long address) {
        return panbuf_h.pb_size_from_format(MemorySegment.ofAddress(address));
    }

    /**
     * A {@code pb_buffer} struct allocated in {@code arena} whose {@code release}
     * field calls {@code onRelease} (an upcall), for tests and for Java code that
     * plays the producer. The struct and the upcall stub live as long as
     * {@code arena}: release the buffer before closing it.
     *
     * <p>Nothing {@code onRelease} throws escapes into C (an exception leaving an
     * upcall terminates the JVM): when the release was started by
     * {@link #release} on this thread, {@link #release} rethrows it; when C
     * released the buffer on its own, it is logged (logger {@code dev.panbuf.shim},
     * ERROR) and dropped.
     */
    public static MemorySegment newStruct(Arena arena, Consumer<MemorySegment> onRelease) {
        MemorySegment pb = pb_buffer.allocate(arena);
        if (onRelease != null) {
            pb_buffer.release(pb, pb_buffer.release.allocate(self -> ReleaseCallbacks.run(onRelease, self), arena));
        }
        return pb;
    }

    /**
     * Keeps the Java code of release upcalls from throwing into C, and hands
     * what it threw to the {@link #release} call that started the release.
     */
    private static final class ReleaseCallbacks {
        /** One {@link #release} in progress on this thread; releases nest when a callback releases another buffer. */
        static final class Frame {
            final Frame outer;
            Throwable failure;

            Frame(Frame outer) {
                this.outer = outer;
            }
        }

        private static final ThreadLocal<Frame> CURRENT = new ThreadLocal<>();

        static Frame enter() {
            Frame f = new Frame(CURRENT.get());
            CURRENT.set(f);
            return f;
        }

        static void exit(Frame f, long address) {
            if (f.outer == null) {
                CURRENT.remove();
            } else {
                CURRENT.set(f.outer);
            }
            Throwable t = f.failure;
            if (t == null) {
                return;
            }
            if (t instanceof Error e) {
                throw e;
            }
            throw new IllegalStateException("the release callback of the pb_buffer at 0x" + Long.toHexString(address)
                    + " threw " + t + "; the buffer is released all the same", t);
        }

        /** Runs in the upcall: must not throw. */
        static void run(Consumer<MemorySegment> onRelease, MemorySegment self) {
            try {
                onRelease.accept(self);
            } catch (Throwable t) {
                Frame f = CURRENT.get();
                if (f != null) {
                    if (f.failure == null) {
                        f.failure = t;
                    } else {
                        f.failure.addSuppressed(t);
                    }
                    return;
                }
                try {
                    LoggerFactory.getLogger("dev.panbuf.shim").error("the release callback of the pb_buffer at 0x{} threw;"
                            + " C released the buffer, so the exception is dropped here", Long.toHexString(self.address()), t);
                } catch (Throwable ignored) {
                    // nothing may leave an upcall, not even a failing logger
                }
            }
        }
    }

    /** Writes the fields of a struct made by {@link #newStruct}; {@code magic} as given. */
    public static void fill(MemorySegment pb, long buf, long len, long itemSize, boolean readOnly, int ndim,
                            MemorySegment format, MemorySegment shape, MemorySegment strides, int magic,
                            int abiVersion, long base, long baseLen) {
        pb_buffer.buf(pb, MemorySegment.ofAddress(buf));
        pb_buffer.len(pb, len);
        pb_buffer.itemsize(pb, itemSize);
        pb_buffer.readonly(pb, readOnly ? 1 : 0);
        pb_buffer.ndim(pb, ndim);
        pb_buffer.format(pb, format);
        pb_buffer.shape(pb, shape);
        pb_buffer.strides(pb, strides);
        pb_buffer.suboffsets(pb, MemorySegment.NULL);
        pb_buffer.abi_version(pb, abiVersion);
        pb_buffer.base(pb, MemorySegment.ofAddress(base));
        pb_buffer.base_len(pb, baseLen);
        pb_buffer.magic(pb, magic);
    }
}
