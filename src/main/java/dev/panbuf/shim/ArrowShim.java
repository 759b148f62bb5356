package dev.panbuf.shim;

import dev.panbuf.shim.bindings.ArrowArray;
import dev.panbuf.shim.bindings.ArrowArrayStream;
import dev.panbuf.shim.bindings.ArrowSchema;
import dev.panbuf.shim.bindings.panbuf_h;

import java.lang.foreign.Arena;
import java.lang.foreign.GroupLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The hand-written layer over the Arrow part of the jextract bindings (the
 * {@code ArrowSchema}, {@code ArrowArray} and {@code ArrowArrayStream} structs
 * and the {@code pb_arrow_*} functions of {@code native/include/panbuf.h}):
 * {@code dev.panbuf.arrow} reads, makes, moves and releases Arrow structs only
 * through here.
 */
public final class ArrowShim {

    static {
        NativeLibrary.loadShim();
    }

    public static final long ARRAY_BYTES = ArrowArray.sizeof();
    public static final long SCHEMA_BYTES = ArrowSchema.sizeof();
    public static final long STREAM_BYTES = ArrowArrayStream.sizeof();
    public static final long FLAG_NULLABLE = panbuf_h.ARROW_FLAG_NULLABLE();
    public static final int E_TYPE = panbuf_h.PB_EARROWTYPE();
    public static final int E_LAYOUT = panbuf_h.PB_EARROWLAYOUT();
    public static final int E_MASK = panbuf_h.PB_EARROWMASK();
    public static final int E_LENGTH = panbuf_h.PB_EARROWLENGTH();

    private ArrowShim() {}

    /** The fields of an {@code ArrowArray}, read once; pointers as addresses. */
    public record ArrayFields(long length, long nullCount, long offset, long nBuffers, long nChildren, long buffers,
                              long children, long dictionary, long release, long privateData) {}

    /** The fields of an {@code ArrowSchema}; pointers as addresses (strings unread). */
    public record SchemaFields(long format, long name, long metadata, long flags, long nChildren, long children,
                               long dictionary, long release) {}

    // ------------------------------------------------------------------ export

    /** {@code pb_arrow_export_array}; {@code mask} and either output may be NULL. */
    public static int exportArray(MemorySegment view, MemorySegment mask, String name, MemorySegment outArray,
                                  MemorySegment outSchema) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment n = name == null ? MemorySegment.NULL : arena.allocateFrom(name);
            return panbuf_h.pb_arrow_export_array(view, mask, n, outArray, outSchema);
        }
    }

    /** {@code pb_arrow_export_batch}; a null entry of {@code masks} or {@code names} is NULL. */
    public static int exportBatch(MemorySegment[] views, MemorySegment[] masks, String[] names, MemorySegment outArray,
                                  MemorySegment outSchema) {
        int n = views.length;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment v = arena.allocate(ValueLayout.ADDRESS, n);
            MemorySegment m = arena.allocate(ValueLayout.ADDRESS, n);
            MemorySegment s = arena.allocate(ValueLayout.ADDRESS, n);
            for (int i = 0; i < n; i++) {
                v.setAtIndex(ValueLayout.ADDRESS, i, views[i]);
                m.setAtIndex(ValueLayout.ADDRESS, i, masks[i] == null ? MemorySegment.NULL : masks[i]);
                s.setAtIndex(ValueLayout.ADDRESS, i, names[i] == null ? MemorySegment.NULL : arena.allocateFrom(names[i]));
            }
            return panbuf_h.pb_arrow_export_batch(n, v, m, s, outArray, outSchema);
        }
    }

    /** {@code pb_arrow_format}: the Arrow format of a PEP 3118 scalar format, or null. */
    public static String formatOf(String format, long itemSize) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment f = panbuf_h.pb_arrow_format(arena.allocateFrom(format), itemSize);
            return f.address() == 0 ? null : f.reinterpret(8).getString(0);
        }
    }

    /** {@code pb_strerror}, which also names the Arrow codes. */
    public static String strerror(int code) {
        return Shim.strerror(code);
    }

    // ------------------------------------------------------------------ consuming

    /** {@code pb_arrow_is_own}: made by this libpanbuf and not released. */
    public static boolean isOwn(long array) {
        return panbuf_h.pb_arrow_is_own(MemorySegment.ofAddress(array)) != 0;
    }

    /** {@code pb_arrow_move_array}: the moved copy's address, or 0. */
    public static long moveArray(long array) {
        return panbuf_h.pb_arrow_move_array(MemorySegment.ofAddress(array)).address();
    }

    /** {@code pb_arrow_release_moved}: releases and frees a moved copy. */
    public static void releaseMoved(long moved) {
        panbuf_h.pb_arrow_release_moved(MemorySegment.ofAddress(moved));
    }

    /** Calls an array's release callback unless it is released (NULL). */
    public static void releaseArray(long array) {
        panbuf_h.pb_arrow_release_array(MemorySegment.ofAddress(array));
    }

    /** Calls a schema's release callback unless it is released (NULL). */
    public static void releaseSchema(long schema) {
        panbuf_h.pb_arrow_release_schema(MemorySegment.ofAddress(schema));
    }

    /** Calls a stream's release callback unless it is released (NULL). */
    public static void releaseStream(long stream) {
        panbuf_h.pb_arrow_release_stream(MemorySegment.ofAddress(stream));
    }

    public static ArrayFields readArray(long address) {
        MemorySegment a = MemorySegment.ofAddress(address).reinterpret(ARRAY_BYTES);
        return new ArrayFields(ArrowArray.length(a), ArrowArray.null_count(a), ArrowArray.offset(a),
                ArrowArray.n_buffers(a), ArrowArray.n_children(a), ArrowArray.buffers(a).address(),
                ArrowArray.children(a).address(), ArrowArray.dictionary(a).address(), ArrowArray.release(a).address(),
                ArrowArray.private_data(a).address());
    }

    public static SchemaFields readSchema(long address) {
        MemorySegment s = MemorySegment.ofAddress(address).reinterpret(SCHEMA_BYTES);
        return new SchemaFields(ArrowSchema.format(s).address(), ArrowSchema.name(s).address(),
                ArrowSchema.metadata(s).address(), ArrowSchema.flags(s), ArrowSchema.n_children(s),
                ArrowSchema.children(s).address(), ArrowSchema.dictionary(s).address(), ArrowSchema.release(s).address());
    }

    /** The {@code index}th pointer of a C pointer array. */
    public static long pointerAt(long array, long index) {
        return MemorySegment.ofAddress(array).reinterpret((index + 1) * ValueLayout.ADDRESS.byteSize())
                .getAtIndex(ValueLayout.ADDRESS, index).address();
    }

    /**
     * A NUL-terminated string of at most {@code maxBytes} bytes (then cut,
     * with "..."), UTF-8; a string that is not valid UTF-8 keeps each byte
     * as one char (ISO-8859-1), so a message can show the bytes as they were.
     */
    public static String readCString(long address, int maxBytes) {
        MemorySegment chars = MemorySegment.ofAddress(address).reinterpret(Long.MAX_VALUE);
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        boolean cut = false;
        for (long i = 0; ; i++) {
            byte b = chars.get(ValueLayout.JAVA_BYTE, i);
            if (b == 0) {
                break;
            }
            if (i == maxBytes) {
                cut = true;
                break;
            }
            out.write(b);
        }
        byte[] bytes = out.toByteArray();
        String s;
        try {
            s = java.nio.charset.StandardCharsets.UTF_8.newDecoder()
                    .decode(java.nio.ByteBuffer.wrap(bytes)).toString();
        } catch (java.nio.charset.CharacterCodingException e) {
            s = new String(bytes, java.nio.charset.StandardCharsets.ISO_8859_1);
        }
        return cut ? s + "..." : s;
    }

    /** {@code byteCount} bytes at {@code address}. */
    public static byte[] readBytes(long address, long byteCount) {
        return MemorySegment.ofAddress(address).reinterpret(byteCount).toArray(ValueLayout.JAVA_BYTE);
    }

    /** The struct at {@code address} as a segment of its size (for filling a consumer's struct). */
    public static MemorySegment arrayAt(long address) {
        return MemorySegment.ofAddress(address).reinterpret(ARRAY_BYTES);
    }

    public static MemorySegment schemaAt(long address) {
        return MemorySegment.ofAddress(address).reinterpret(SCHEMA_BYTES);
    }

    public static MemorySegment streamAt(long address) {
        return MemorySegment.ofAddress(address).reinterpret(STREAM_BYTES);
    }

    /** Marks an array released (a consumer's empty end-of-stream answer). */
    public static void markReleased(MemorySegment array) {
        ArrowArray.release(array, MemorySegment.NULL);
    }

    // ------------------------------------------------------------------ streams

    /** The callbacks a Java stream producer gives; each must not throw. */
    public interface StreamCallbacks {
        int getSchema(MemorySegment stream, MemorySegment out);

        int getNext(MemorySegment stream, MemorySegment out);

        MemorySegment getLastError(MemorySegment stream);

        void release(MemorySegment stream);
    }

    /**
     * Fills {@code stream} with function pointers to {@code callbacks} (upcall
     * stubs of {@code stubs}, which must outlive every stream that uses them)
     * and {@code privateData}.
     */
    public static void fillStream(MemorySegment stream, Stubs stubs, long privateData) {
        ArrowArrayStream.get_schema(stream, stubs.getSchema);
        ArrowArrayStream.get_next(stream, stubs.getNext);
        ArrowArrayStream.get_last_error(stream, stubs.getLastError);
        ArrowArrayStream.release(stream, stubs.release);
        ArrowArrayStream.private_data(stream, MemorySegment.ofAddress(privateData));
    }

    /** Upcall stubs for one set of stream callbacks. */
    public static final class Stubs {
        final MemorySegment getSchema;
        final MemorySegment getNext;
        final MemorySegment getLastError;
        final MemorySegment release;

        /** Stubs in {@code arena} (use {@link Arena#global()}: consumers may call them at any time). */
        public Stubs(StreamCallbacks callbacks, Arena arena) {
            getSchema = ArrowArrayStream.get_schema.allocate(callbacks::getSchema, arena);
            getNext = ArrowArrayStream.get_next.allocate(callbacks::getNext, arena);
            getLastError = ArrowArrayStream.get_last_error.allocate(callbacks::getLastError, arena);
            release = ArrowArrayStream.release.allocate(callbacks::release, arena);
        }

        public boolean isReleaseOf(long stream) {
            return ArrowArrayStream.release(streamAt(stream)).address() == release.address();
        }
    }

    /** The stream's {@code private_data} and {@code release} pointers. */
    public static long streamPrivateData(long stream) {
        return ArrowArrayStream.private_data(streamAt(stream)).address();
    }

    public static long streamRelease(long stream) {
        return ArrowArrayStream.release(streamAt(stream)).address();
    }

    public static void markStreamReleased(long stream) {
        ArrowArrayStream.release(streamAt(stream), MemorySegment.NULL);
    }

    /** {@code stream->get_schema(stream, out)}. */
    public static int streamGetSchema(long stream, MemorySegment out) {
        MemorySegment s = streamAt(stream);
        return ArrowArrayStream.get_schema.invoke(ArrowArrayStream.get_schema(s), s, out);
    }

    /** {@code stream->get_next(stream, out)}. */
    public static int streamGetNext(long stream, MemorySegment out) {
        MemorySegment s = streamAt(stream);
        return ArrowArrayStream.get_next.invoke(ArrowArrayStream.get_next(s), s, out);
    }

    /** {@code stream->get_last_error(stream)}, or null. */
    public static String streamLastError(long stream) {
        MemorySegment s = streamAt(stream);
        MemorySegment fn = ArrowArrayStream.get_last_error(s);
        if (fn.address() == 0) {
            return null;
        }
        MemorySegment text = ArrowArrayStream.get_last_error.invoke(fn, s);
        return text.address() == 0 ? null : Shim.readCString(text.address(), 4096);
    }

    // ------------------------------------------------------------------ ABI

    public static long nativeSizeOf(String type) {
        try (Arena arena = Arena.ofConfined()) {
            return panbuf_h.pb_arrow_abi_sizeof(arena.allocateFrom(type));
        }
    }

    public static long nativeOffsetOf(String type, String field) {
        try (Arena arena = Arena.ofConfined()) {
            return panbuf_h.pb_arrow_abi_offsetof(arena.allocateFrom(type), arena.allocateFrom(field));
        }
    }

    /** The generated layout of an Arrow struct, by C name. */
    public static GroupLayout layout(String type) {
        return switch (type) {
            case "ArrowSchema" -> ArrowSchema.layout();
            case "ArrowArray" -> ArrowArray.layout();
            case "ArrowArrayStream" -> ArrowArrayStream.layout();
            default -> throw new IllegalArgumentException("no Arrow struct " + type);
        };
    }
}
