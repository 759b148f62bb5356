package dev.panbuf.arrow;

import dev.panbuf.shim.ArrowShim;
import dev.panbuf.shim.NativeLibrary;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.Objects;

/**
 * A consumer of a {@code struct ArrowArrayStream} (the Arrow C stream
 * interface), made by {@link Arrow#importStream}: reads the schema once, then
 * gives each record batch as columns over the producer's memory, held by the
 * arena passed to {@link #next(Arena)} (each batch is released through the
 * producer when its arena closes, as {@link Arrow#importBatch} does).
 *
 * <p>The stream is moved into the reader at once (the caller's struct is
 * marked released) and released exactly once by {@link #close()}. Not
 * thread-safe: the stream interface allows one call at a time.
 */
public final class ArrowStreamReader implements AutoCloseable {

    /** Holds the moved stream struct; closed after the stream's release. */
    private final Arena structs;
    private final MemorySegment stream;
    private final ArrowImport.Type type;
    private boolean closed;
    private boolean ended;

    private ArrowStreamReader(Arena structs, MemorySegment stream, ArrowImport.Type type) {
        this.structs = structs;
        this.stream = stream;
        this.type = type;
    }

    static ArrowStreamReader open(MemorySegment streamPtr) {
        Objects.requireNonNull(streamPtr, "stream");
        long address = streamPtr.address();
        if (address == 0) {
            throw new IllegalArgumentException("cannot import a NULL ArrowArrayStream pointer");
        }
        NativeLibrary.loadShim();
        if (ArrowShim.streamRelease(address) == 0) {
            throw new IllegalArgumentException("the ArrowArrayStream at 0x" + Long.toHexString(address) + " is released"
                    + " (its release is NULL): it was released or moved already; nothing was imported");
        }
        ArrowStreamExport.Producer own = ArrowStreamExport.producerOf(address);
        if (own != null && own.state.get() == ArrowStreamExport.Producer.JAVA_OWNED) {
            throw new IllegalArgumentException("the ArrowArrayStream at 0x" + Long.toHexString(address) + " is still"
                    + " owned by Java: call handOff() on the ArrowStreamExport first; nothing was imported");
        }
        Arena structs = Arena.ofShared();
        MemorySegment moved = structs.allocate(ArrowShim.STREAM_BYTES, 8);
        moved.copyFrom(ArrowShim.streamAt(address));
        ArrowShim.markStreamReleased(address);
        ArrowImport.Type type;
        try (Arena temp = Arena.ofConfined()) {
            MemorySegment schema = temp.allocate(ArrowShim.SCHEMA_BYTES, 8);
            int rc = ArrowShim.streamGetSchema(moved.address(), schema);
            if (rc != 0) {
                String error = ArrowShim.streamLastError(moved.address());
                ArrowShim.releaseStream(moved.address());
                structs.close();
                throw new IllegalStateException("the Arrow stream's get_schema failed with errno " + rc
                        + (error == null ? "" : ": " + error) + " (the stream was released)");
            }
            try {
                type = ArrowImport.readType(schema.address(), 0);
            } catch (ArrowImport.Refusal r) {
                ArrowShim.releaseStream(moved.address());
                structs.close();
                throw new IllegalArgumentException("the Arrow stream's schema: " + r.getMessage()
                        + " (the stream was released)");
            } finally {
                ArrowShim.releaseSchema(schema.address());
            }
        }
        if (!type.format().equals("+s")) {
            ArrowShim.releaseStream(moved.address());
            structs.close();
            throw new IllegalArgumentException("the Arrow stream's schema has format \""
                    + ArrowImport.printable(type.format()) + "\", not a record batch (+s) (the stream was released)");
        }
        return new ArrowStreamReader(structs, moved, type);
    }

    /** {@return the field names of the stream's schema} */
    public List<String> names() {
        return type.children().stream().map(ArrowImport.Type::name).toList();
    }

    /**
     * The next record batch, its columns held by {@code arena}; null at the end of the stream.
     *
     * @param arena the arena the batch's memory belongs to
     * @return the columns, or null when the stream has ended
     * @throws IllegalStateException when the producer reports an error (with its errno and message) or the reader is closed
     * @throws IllegalArgumentException when a batch does not match the schema (that batch is released)
     */
    public List<ImportedColumn> next(Arena arena) {
        Objects.requireNonNull(arena, "arena");
        if (closed) {
            throw new IllegalStateException("Already closed: the ArrowStreamReader was closed");
        }
        if (ended) {
            return null;
        }
        try (Arena temp = Arena.ofConfined()) {
            MemorySegment array = temp.allocate(ArrowShim.ARRAY_BYTES, 8);
            int rc = ArrowShim.streamGetNext(stream.address(), array);
            if (rc != 0) {
                String error = ArrowShim.streamLastError(stream.address());
                throw new IllegalStateException("the Arrow stream's get_next failed with errno " + rc
                        + (error == null ? "" : ": " + error));
            }
            if (ArrowShim.readArray(array.address()).release() == 0) {
                ended = true;
                return null;
            }
            return ArrowImport.importWithType(array.address(), type, arena);
        }
    }

    /** Releases the stream (once; later calls do nothing). Batches already imported stay held by their arenas. */
    @Override
    public void close() {
        if (!closed) {
            closed = true;
            ArrowShim.releaseStream(stream.address());
            structs.close();
        }
    }
}
