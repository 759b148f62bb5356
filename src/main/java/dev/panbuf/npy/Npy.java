package dev.panbuf.npy;

import dev.panbuf.DType;
import dev.panbuf.NdArray;
import dev.panbuf.Order;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Objects;

/**
 * NumPy's {@code .npy} files: read, write and memory-map them as
 * {@link NdArray}s, byte for byte as NumPy does ({@code np.load},
 * {@code np.save}, {@code np.load(mmap_mode=...)},
 * {@code np.lib.format.open_memmap}).
 *
 * <ul>
 * <li>Format versions 1.0, 2.0 and 3.0 (UTF-8 header) are read; writing
 *     picks the smallest version that holds the header, as NumPy does, and
 *     pads the header with spaces and a newline so the data starts at a
 *     multiple of 64 bytes.</li>
 * <li>Every dtype panbuf has: {@code |b1 |i1 |u1 <i2 >i2 ... <f2 >f2 <f4 >f4 <f8 >f8},
 *     bytes ({@code |S<n>}, {@code |V<n>}) and records, in the byte order the
 *     file says (a big-endian file gives a big-endian view; nothing is swapped).</li>
 * <li>Fortran-order files give column-major views (strides ascending),
 *     exactly the strides NumPy gives.</li>
 * </ul>
 *
 * <h2>Copies and mappings</h2>
 * {@link #read} copies the data into memory of the caller's arena;
 * {@link #map} copies nothing: the view's memory is the file, mapped for
 * the lifetime of the arena ({@code FileChannel.map(mode, offset, size, arena)}),
 * so closing the arena unmaps it. A mapping from a {@link dev.panbuf.BufferArena}
 * can be exported to C or Python like any other memory, and the arena then
 * refuses to close (and unmap) while an export is live.
 *
 * <h2>Errors</h2>
 * A malformed file is refused with {@link NpyFormatException} (an
 * {@link IOException}) whose message says what is wrong and at which byte.
 * Sizes are checked against the file before anything is allocated or
 * mapped, so a header that claims more data than the file has never maps
 * past its end. Bytes after the data are ignored, as NumPy ignores them.
 * A file that another process truncates while it is mapped can still fault
 * on access, as with any mapping.
 *
 * {@snippet :
 * try (BufferArena arena = BufferArena.ofConfined()) {
 *     NdArray a = Npy.map(Path.of("weights.npy"), arena, Npy.MapMode.READ_ONLY);   // no copy
 *     Npy.write(Path.of("copy.npy"), a.transpose());                                 // NumPy reads it back
 * }
 * }
 */
public final class Npy {

    /** How {@link #map} maps a file, as {@code np.load(mmap_mode=...)}. */
    public enum MapMode {
        /** {@code 'r'}: a read-only view; writes through it throw. */
        READ_ONLY(FileChannel.MapMode.READ_ONLY),
        /** {@code 'r+'}: writes go to the file. */
        READ_WRITE(FileChannel.MapMode.READ_WRITE),
        /**
         * {@code 'c'}: writes stay in memory (copy-on-write); the file is never changed
         * (but, as {@code FileChannel} requires, it must be writable by this process).
         */
        COPY_ON_WRITE(FileChannel.MapMode.PRIVATE);

        final FileChannel.MapMode channelMode;

        MapMode(FileChannel.MapMode channelMode) {
            this.channelMode = channelMode;
        }
    }

    private static final int COPY_CHUNK = 1 << 20;

    private Npy() {}

    // ------------------------------------------------------------------ headers

    /**
     * Reads and checks the header of a {@code .npy} file, including that the
     * file holds all the data the header declares.
     *
     * @param file the {@code .npy} file
     * @return the header
     * @throws NpyFormatException when the file is malformed (the message names the byte)
     * @throws IOException when the file cannot be read
     */
    public static NpyHeader readHeader(Path file) throws IOException {
        Objects.requireNonNull(file, "file");
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            return readHeader(ch, ch.size());
        }
    }

    private static NpyHeader readHeader(FileChannel ch, long fileBytes) throws IOException {
        byte[] prefix = new byte[NpyHeader.PREFIX_V2];
        int got = readAt(ch, ByteBuffer.wrap(prefix), 0);
        int[] p = NpyHeader.readPrefix(prefix, got, fileBytes);
        byte[] header = new byte[p[3]];
        int hgot = readAt(ch, ByteBuffer.wrap(header), p[2]);
        if (hgot < header.length) {
            throw new NpyFormatException("truncated .npy file: the header ends at byte " + (p[2] + header.length)
                    + ", but the file ends at byte " + (p[2] + hgot), p[2] + hgot);
        }
        NpyHeader h = NpyHeader.parse(header, p[0], p[1], p[2]);
        checkDataFits(h, fileBytes);
        return h;
    }

    private static void checkDataFits(NpyHeader h, long fileBytes) throws NpyFormatException {
        long need = h.dataBytes();
        long have = fileBytes - h.dataOffset();
        if (have < need) {
            throw new NpyFormatException("truncated .npy file: shape " + NpyHeader.shapeText(h.shape()) + " of "
                    + h.dtype().str() + " needs " + need + " data bytes from byte " + h.dataOffset() + ", but the file"
                    + " ends at byte " + fileBytes + " (" + have + " data bytes)", fileBytes);
        }
    }

    private static int readAt(FileChannel ch, ByteBuffer buf, long position) throws IOException {
        int total = 0;
        while (buf.hasRemaining()) {
            int n = ch.read(buf, position + total);
            if (n < 0) {
                break;
            }
            total += n;
        }
        return total;
    }

    // ------------------------------------------------------------------ reading

    /**
     * Reads a {@code .npy} file into new memory of {@code arena} (a copy; see
     * {@link #map} for none). The view has the file's dtype (byte order
     * included), shape and order: C-contiguous, or F-contiguous for a
     * Fortran-order file.
     *
     * @param file the {@code .npy} file
     * @param arena the arena that owns the new memory
     * @return the array
     * @throws NpyFormatException when the file is malformed; nothing is allocated then
     * @throws IOException when the file cannot be read
     */
    public static NdArray read(Path file, Arena arena) throws IOException {
        Objects.requireNonNull(file, "file");
        Objects.requireNonNull(arena, "arena");
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            NpyHeader h = readHeader(ch, size);
            MemorySegment memory = allocate(arena, h);
            long done = 0;
            long n = h.dataBytes();
            while (done < n) {
                int len = (int) Math.min(COPY_CHUNK, n - done);
                int got = ch.read(memory.asSlice(done, len).asByteBuffer(), h.dataOffset() + done);
                if (got < 0) {
                    throw new NpyFormatException("truncated .npy file: it ended while its data was read", h.dataOffset() + done);
                }
                done += got;
            }
            return view(memory, h);
        }
    }

    /**
     * Reads one {@code .npy} array from a stream into new memory of
     * {@code arena}, leaving the stream just after its data. As NumPy does for
     * streams, the data's memory is allocated once the header is read (use a
     * {@link dev.panbuf.BufferArena} with a budget to bound it).
     *
     * @param in the stream, positioned at an array's magic string
     * @param arena the arena that owns the new memory
     * @return the array
     * @throws NpyFormatException when the stream is malformed or ends early
     * @throws IOException when the stream cannot be read
     */
    public static NdArray read(InputStream in, Arena arena) throws IOException {
        Objects.requireNonNull(in, "in");
        Objects.requireNonNull(arena, "arena");
        byte[] prefix = new byte[NpyHeader.PREFIX_V2];
        int got = in.readNBytes(prefix, 0, 8);
        if (got == 8 && prefix[6] != 1) {
            got += in.readNBytes(prefix, 8, 4);
        } else if (got == 8) {
            got += in.readNBytes(prefix, 8, 2);
        }
        int[] p = NpyHeader.readPrefix(prefix, got, -1);
        byte[] header = in.readNBytes(p[3]);
        if (header.length < p[3]) {
            throw new NpyFormatException("truncated .npy stream: the header ends at byte " + (p[2] + p[3])
                    + ", but the stream ends at byte " + (p[2] + header.length), p[2] + header.length);
        }
        NpyHeader h = NpyHeader.parse(header, p[0], p[1], p[2]);
        MemorySegment memory = allocate(arena, h);
        byte[] chunk = new byte[(int) Math.min(COPY_CHUNK, Math.max(1, h.dataBytes()))];
        long done = 0;
        while (done < h.dataBytes()) {
            int len = (int) Math.min(chunk.length, h.dataBytes() - done);
            int n = in.readNBytes(chunk, 0, len);
            MemorySegment.copy(chunk, 0, memory, ValueLayout.JAVA_BYTE, done, n);
            done += n;
            if (n < len) {
                throw new NpyFormatException("truncated .npy stream: shape " + NpyHeader.shapeText(h.shape()) + " of "
                        + h.dtype().str() + " needs " + h.dataBytes() + " data bytes from byte " + h.dataOffset()
                        + ", but the stream ends at byte " + (h.dataOffset() + done), h.dataOffset() + done);
            }
        }
        return view(memory, h);
    }

    private static MemorySegment allocate(Arena arena, NpyHeader h) {
        return arena.allocate(Math.max(1, h.dataBytes()), Math.min(64, Math.max(1, h.dtype().byteAlignment())));
    }

    private static NdArray view(MemorySegment memory, NpyHeader h) {
        return NdArray.asStrided(memory, h.dtype(), 0, h.shape(), h.byteStrides());
    }

    // ------------------------------------------------------------------ mapping

    /**
     * Maps a {@code .npy} file's data into memory for the lifetime of
     * {@code arena}, with no copy, as {@code np.load(file, mmap_mode=...)}:
     * the view's memory is the file. Fortran-order files give F-strided views.
     * The mapping covers exactly the data the header declares, checked
     * against the file's size first.
     *
     * @param file the {@code .npy} file
     * @param arena the arena whose closing unmaps the file
     * @param mode read-only, read-write (writes reach the file) or copy-on-write
     * @return the view of the file's data
     * @throws NpyFormatException when the file is malformed; nothing is mapped then
     * @throws IOException when the file cannot be opened or mapped
     */
    public static NdArray map(Path file, Arena arena, MapMode mode) throws IOException {
        Objects.requireNonNull(file, "file");
        Objects.requireNonNull(arena, "arena");
        Objects.requireNonNull(mode, "mode");
        // FileChannel maps PRIVATE (copy-on-write) only from a channel opened for writing too; the file is not changed.
        StandardOpenOption[] options = mode != MapMode.READ_ONLY
                ? new StandardOpenOption[] {StandardOpenOption.READ, StandardOpenOption.WRITE}
                : new StandardOpenOption[] {StandardOpenOption.READ};
        try (FileChannel ch = FileChannel.open(file, options)) {
            NpyHeader h = readHeader(ch, ch.size());
            return mapData(ch, h, arena, mode);
        }
    }

    private static NdArray mapData(FileChannel ch, NpyHeader h, Arena arena, MapMode mode) throws IOException {
        long n = h.dataBytes();
        if (n == 0) {
            // Nothing to map: an empty view of (arena-owned) empty memory.
            MemorySegment empty = arena.allocate(1);
            NdArray v = NdArray.asStrided(empty, h.dtype(), 0, h.shape(), h.byteStrides());
            return mode == MapMode.READ_ONLY ? v.asReadOnly() : v;
        }
        MemorySegment memory = ch.map(mode.channelMode, h.dataOffset(), n, arena);
        return view(memory, h);
    }

    /**
     * Creates (or replaces) a {@code .npy} file for an array of this dtype,
     * order and shape, and maps its data read-write for the lifetime of
     * {@code arena}, as {@code np.lib.format.open_memmap(file, mode='w+')}:
     * the data starts zeroed, and what is written through the view is in the file.
     *
     * @param file the {@code .npy} file
     * @param dtype the element type
     * @param order {@link Order#C} (row-major) or {@link Order#F} (column-major)
     * @param arena the arena that owns the new memory
     * @param shape the size of each dimension
     * @return the view of the new file's data, zero-filled
     * @throws IllegalArgumentException when the shape is invalid or its byte size overflows
     * @throws IOException when the file cannot be written or mapped
     */
    public static NdArray create(Path file, DType dtype, Order order, Arena arena, long... shape) throws IOException {
        Objects.requireNonNull(file, "file");
        Objects.requireNonNull(order, "order");
        Objects.requireNonNull(arena, "arena");
        checkShape(shape);
        NpyHeader h = NpyHeader.of(dtype, order == Order.F && shape.length > 1, shape);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            writeFully(ch, ByteBuffer.wrap(h.encode()));
            long end = h.dataOffset() + h.dataBytes();
            if (h.dataBytes() > 0) {
                writeFully(ch, ByteBuffer.wrap(new byte[1]), end - 1);   // sizes the file; the rest reads as zeros
            }
            return mapData(ch, h, arena, MapMode.READ_WRITE);
        }
    }

    private static void checkShape(long[] shape) {
        Objects.requireNonNull(shape, "shape");
        if (shape.length > NdArray.MAX_NDIM) {
            throw new IllegalArgumentException("shape has " + shape.length + " dimensions; at most " + NdArray.MAX_NDIM);
        }
        for (int k = 0; k < shape.length; k++) {
            if (shape[k] < 0) {
                throw new IllegalArgumentException("dimension " + k + " of shape " + NpyHeader.shapeText(shape)
                        + " is negative");
            }
        }
    }

    // ------------------------------------------------------------------ writing

    /**
     * Writes {@code array} as a {@code .npy} file that {@code np.load} reads
     * back exactly (a copy, by name): the header {@code np.save} would write,
     * then the elements in C order, or in Fortran order when the view is
     * F-contiguous but not C-contiguous (as NumPy chooses). The dtype keeps
     * its byte order. Replaces an existing file.
     *
     * @param file the {@code .npy} file
     * @param array the array to write
     * @throws IllegalStateException when the view's memory is closed
     * @throws IOException when the file cannot be written
     */
    public static void write(Path file, NdArray array) throws IOException {
        Objects.requireNonNull(file, "file");
        Objects.requireNonNull(array, "array");
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                StandardOpenOption.WRITE)) {
            writeTo(array, buf -> writeFully(ch, buf));
        }
    }

    /**
     * Writes {@code array} in {@code .npy} format to a stream, as
     * {@link #write(Path, NdArray)} does; the stream is not closed.
     *
     * @param out the stream
     * @param array the array to write
     * @throws IllegalStateException when the view's memory is closed
     * @throws IOException when the stream cannot be written
     */
    public static void write(OutputStream out, NdArray array) throws IOException {
        Objects.requireNonNull(out, "out");
        Objects.requireNonNull(array, "array");
        byte[] chunk = new byte[COPY_CHUNK];
        writeTo(array, buf -> {
            while (buf.hasRemaining()) {
                int n = Math.min(chunk.length, buf.remaining());
                buf.get(chunk, 0, n);
                out.write(chunk, 0, n);
            }
        });
    }

    /**
     * {@return the header {@link #write} writes for this array}
     *
     * @param array the array
     */
    public static NpyHeader headerFor(NdArray array) {
        boolean fortran = array.isContiguous(Order.F) && !array.isContiguous(Order.C);
        return NpyHeader.of(array.dtype(), fortran, array.shape());
    }

    private interface Sink {
        void accept(ByteBuffer buf) throws IOException;
    }

    private static void writeTo(NdArray array, Sink sink) throws IOException {
        NpyHeader h = headerFor(array);
        sink.accept(ByteBuffer.wrap(h.encode()));
        long n = h.dataBytes();
        if (n == 0) {
            return;
        }
        Order order = h.order();
        if (array.isContiguous(order) && lowestByte(array) == array.byteOffset()) {
            MemorySegment data = array.segment().asSlice(array.byteOffset(), n);
            for (long done = 0; done < n; done += COPY_CHUNK) {
                sink.accept(data.asSlice(done, Math.min(COPY_CHUNK, n - done)).asByteBuffer());
            }
            return;
        }
        try (Arena scratch = Arena.ofConfined()) {
            NdArray copy = array.copy(order, scratch);
            MemorySegment data = copy.segment().asSlice(copy.byteOffset(), n);
            for (long done = 0; done < n; done += COPY_CHUNK) {
                sink.accept(data.asSlice(done, Math.min(COPY_CHUNK, n - done)).asByteBuffer());
            }
        }
    }

    /** Offset of the lowest byte the view reaches (its first element when strides are positive). */
    private static long lowestByte(NdArray a) {
        long low = a.byteOffset();
        long[] shape = a.shape();
        long[] strides = a.byteStrides();
        for (int k = 0; k < shape.length; k++) {
            if (strides[k] < 0 && shape[k] > 0) {
                low += strides[k] * (shape[k] - 1);
            }
        }
        return low;
    }

    private static void writeFully(FileChannel ch, ByteBuffer buf) throws IOException {
        while (buf.hasRemaining()) {
            ch.write(buf);
        }
    }

    private static void writeFully(FileChannel ch, ByteBuffer buf, long position) throws IOException {
        long at = position;
        while (buf.hasRemaining()) {
            at += ch.write(buf, at);
        }
    }
}
