package dev.panbuf.npy;

import dev.panbuf.DType;
import dev.panbuf.NdArray;
import dev.panbuf.Order;
import dev.panbuf.shim.Lifetimes;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.List;
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
 * <h2>Durability: nothing lost on disk</h2>
 * {@link #write(Path, NdArray)} and {@link #create} never write into the
 * destination: they write a new temporary file in the destination's folder,
 * force it to the storage device, move it over the destination atomically
 * ({@code rename(2)}) and force the folder. At every moment, even if the
 * process is killed or the machine loses power, the destination is the whole
 * old file or the whole new one; readers and mappings of the old file (a
 * view being saved over the very file it maps, for one) keep reading the old
 * data, which lives until they close. Whatever makes that impossible (the
 * folder is not writable, the destination is a directory, a device or a
 * mount point, it changed while being written) is refused with a message
 * that says what to do, and the destination is left as it was.
 * {@link WriteMode} offers the same replace without forcing, and an explicit
 * in-place write.
 *
 * <p>Edits through a {@link MapMode#READ_WRITE} mapping are in the file at
 * once for every reader of this machine, and reach the storage device when
 * the kernel writes them back; {@link #flush(NdArray)} forces them there at a
 * moment of the caller's choosing, as {@code numpy.memmap.flush()} does.
 *
 * <p>A temporary file is named {@code .<name>.panbuf-tmp-<pid>-<16 hex digits>}
 * (hidden, never matching {@code *.npy}); a writer killed mid-write leaves its
 * temporary file behind (never a damaged destination): {@link #isTemporaryFile}
 * recognises such files and {@link #deleteStaleTemporaryFiles} removes those
 * whose writer has ended.
 *
 * {@snippet :
 * try (BufferArena arena = BufferArena.ofConfined()) {
 *     NdArray a = Npy.map(Path.of("weights.npy"), arena, Npy.MapMode.READ_ONLY);   // no copy
 *     Npy.write(Path.of("copy.npy"), a.transpose());                                 // NumPy reads it back
 *     Npy.write(Path.of("weights.npy"), a.get("::-1"));    // over the file a maps: a keeps the old data
 *     NdArray counts = Npy.map(Path.of("counts.npy"), arena, Npy.MapMode.READ_WRITE);
 *     counts.setLong(counts.getLong(0) + 1, 0);
 *     Npy.flush(counts);                                                              // on the disk now
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

    /**
     * How {@link #write(Path, NdArray, WriteMode)} and
     * {@link #create(Path, DType, Order, Arena, WriteMode, long...)} put the
     * new file in place.
     */
    public enum WriteMode {
        /**
         * The default: a new temporary file in the destination's folder,
         * forced to the storage device, moved over the destination atomically,
         * then the folder forced. When the call returns, the new file survives a
         * power loss; at every moment before, a crash (of the process, the
         * kernel or the machine) leaves the whole old file. Costs the time the
         * device needs to store the data (none on tmpfs).
         */
        ATOMIC_DURABLE,
        /**
         * The same atomic replace without forcing anything: a killed process
         * still leaves the whole old or the whole new file (the kernel makes the
         * rename atomic), but after a kernel crash or power loss soon after the
         * call, the destination may be the old file, or the new name with data
         * the device had not stored yet (an empty or partial file on some file
         * systems). For files that can be made again.
         */
        ATOMIC,
        /**
         * The old way, and {@code np.save}'s: the destination itself is
         * truncated and written. Keeps the file's identity (its inode, hard
         * links, ACLs, extended attributes, a bind mount) and needs no space for
         * a second copy nor a writable folder. Hazards: a crash or failure
         * during the write leaves a truncated, partial file; every mapping of
         * the file (in any process) loses the pages past the new end, and
         * reading them faults. Refused when this process maps the file through
         * {@link #map} or {@link #create}: the data being written may be those
         * very pages.
         */
        IN_PLACE
    }

    private static final int COPY_CHUNK = 1 << 20;

    /**
     * Tests only: told of each step of an atomic write ({@link AtomicReplace#STEP_DATA}
     * after each chunk, with the bytes written so far; {@link AtomicReplace#STEP_COMMIT}
     * before the move), to inject faults at those moments. Null in normal use.
     */
    interface WriteHook {
        void step(String step, Path temporary, long bytesWritten) throws IOException;
    }

    static volatile WriteHook hook;

    static void step(String step, Path temporary, long bytesWritten) throws IOException {
        WriteHook h = hook;
        if (h != null) {
            h.step(step, temporary, bytesWritten);
        }
    }

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

    /** Memory for the data, not zeroed: every read fills it completely before the view is made. */
    private static MemorySegment allocate(Arena arena, NpyHeader h) {
        return Lifetimes.get().allocateUninitialized(arena, Math.max(1, h.dataBytes()),
                Math.min(64, Math.max(1, h.dtype().byteAlignment())));
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
     * <p>The mapping is of the file the path names now. When
     * {@link #write(Path, NdArray)} or {@link #create} later replace that path,
     * the mapping keeps the old file, complete, until the arena closes: a
     * {@link MapMode#READ_WRITE} mapping then edits a file that no longer has
     * a name, and {@link #flush(NdArray)} says so.
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
            Object fileKey = Files.readAttributes(file, BasicFileAttributes.class).fileKey();
            NpyHeader h = readHeader(ch, ch.size());
            return mapData(ch, h, arena, mode, file.toAbsolutePath(), fileKey);
        }
    }

    private static NdArray mapData(FileChannel ch, NpyHeader h, Arena arena, MapMode mode, Path path, Object fileKey)
            throws IOException {
        long n = h.dataBytes();
        if (n == 0) {
            // Nothing to map: an empty view of (arena-owned) empty memory.
            MemorySegment empty = arena.allocate(1);
            NdArray v = NdArray.asStrided(empty, h.dtype(), 0, h.shape(), h.byteStrides());
            return mode == MapMode.READ_ONLY ? v.asReadOnly() : v;
        }
        MemorySegment memory = ch.map(mode.channelMode, h.dataOffset(), n, arena);
        MappedFiles.register(memory, mode, path, fileKey);
        return view(memory, h);
    }

    /**
     * Creates (or replaces) a {@code .npy} file for an array of this dtype,
     * order and shape, and maps its data read-write for the lifetime of
     * {@code arena}, as {@code np.lib.format.open_memmap(file, mode='w+')}:
     * the data starts zeroed, and what is written through the view is in the file
     * (forced to the device by {@link #flush(NdArray)}). The file is put in place
     * as {@link WriteMode#ATOMIC_DURABLE} says: an existing file, and every
     * mapping of it, stays whole until the new one (header and size) replaces it.
     *
     * @param file the {@code .npy} file
     * @param dtype the element type
     * @param order {@link Order#C} (row-major) or {@link Order#F} (column-major)
     * @param arena the arena that owns the new memory
     * @param shape the size of each dimension
     * @return the view of the new file's data, zero-filled
     * @throws IllegalArgumentException when the shape is invalid or its byte size overflows
     * @throws IOException when the file cannot be written or mapped, with the reason;
     *         the destination is then unchanged
     */
    public static NdArray create(Path file, DType dtype, Order order, Arena arena, long... shape) throws IOException {
        return create(file, dtype, order, arena, WriteMode.ATOMIC_DURABLE, shape);
    }

    /**
     * {@link #create(Path, DType, Order, Arena, long...)}, putting the file in place
     * as {@code mode} says. With {@link WriteMode#ATOMIC_DURABLE} and
     * {@link WriteMode#ATOMIC} the file is mapped before it replaces the
     * destination; should the replace then fail, the view maps the discarded
     * temporary file until the arena closes.
     *
     * @param file the {@code .npy} file
     * @param dtype the element type
     * @param order {@link Order#C} (row-major) or {@link Order#F} (column-major)
     * @param arena the arena that owns the mapping
     * @param mode how the new file is put in place
     * @param shape the size of each dimension
     * @return the view of the new file's data, zero-filled
     * @throws IllegalArgumentException when the shape is invalid or its byte size overflows
     * @throws IllegalStateException when {@code mode} is {@link WriteMode#IN_PLACE} and this
     *         process maps the file (truncating it would fault those mappings)
     * @throws IOException when the file cannot be written or mapped, with the reason;
     *         the destination is then unchanged
     */
    public static NdArray create(Path file, DType dtype, Order order, Arena arena, WriteMode mode, long... shape)
            throws IOException {
        Objects.requireNonNull(file, "file");
        Objects.requireNonNull(order, "order");
        Objects.requireNonNull(arena, "arena");
        Objects.requireNonNull(mode, "mode");
        checkShape(shape);
        NpyHeader h = NpyHeader.of(dtype, order == Order.F && shape.length > 1, shape);
        if (mode == WriteMode.IN_PLACE) {
            refuseInPlaceOverMappedFile(file, "create");
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                    StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                sizeNewFile(ch, h);
                Object fileKey = Files.readAttributes(file, BasicFileAttributes.class).fileKey();
                return mapData(ch, h, arena, MapMode.READ_WRITE, file.toAbsolutePath(), fileKey);
            }
        }
        try (AtomicReplace replace = AtomicReplace.prepare(file, mode == WriteMode.ATOMIC_DURABLE, "create")) {
            FileChannel ch = replace.open();
            try {
                sizeNewFile(ch, h);
            } catch (IOException e) {
                throw replace.failed("writing its temporary file failed (" + AtomicReplace.reason(e) + ")", e);
            }
            Object fileKey = Files.readAttributes(replace.temporary(), BasicFileAttributes.class).fileKey();
            NdArray view = mapData(ch, h, arena, MapMode.READ_WRITE, replace.given(), fileKey);
            replace.commit();
            return view;
        }
    }

    /** Writes the header and sizes the file; the data reads as zeros (a hole, where the file system has them). */
    private static void sizeNewFile(FileChannel ch, NpyHeader h) throws IOException {
        writeFully(ch, ByteBuffer.wrap(h.encode()));
        if (h.dataBytes() > 0) {
            writeFully(ch, ByteBuffer.wrap(new byte[1]), h.dataOffset() + h.dataBytes() - 1);
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

    // ------------------------------------------------------------------ flushing

    /**
     * Forces the edits made through a {@link MapMode#READ_WRITE} mapping to
     * the storage device, for the bytes this view reaches (all of a mapping
     * for the view {@link #map} or {@link #create} returned; only those
     * elements' pages for a slice of it), as {@code numpy.memmap.flush()} and
     * {@code MappedByteBuffer.force()} do. When it returns, those edits survive
     * a crash of the process, the kernel or the machine (on a local file
     * system; a network file system promises what its server does).
     * Edits are visible to other readers of the file on this machine at
     * once, flushed or not: flushing is about power loss and kernel crashes.
     *
     * <ul>
     * <li>A {@link MapMode#READ_ONLY} mapping has nothing to force: the call
     *     returns having written nothing.</li>
     * <li>A {@link MapMode#COPY_ON_WRITE} mapping is refused: its edits live
     *     in memory only and never reach the file; save them with
     *     {@link #write(Path, NdArray)}.</li>
     * <li>A view of memory that is not a mapped file (native, heap) is
     *     refused. A view with no elements returns at once.</li>
     * <li>A mapping panbuf did not make (a {@code MemorySegment} from
     *     {@code FileChannel.map}) is forced as {@link MemorySegment#force()} does.</li>
     * </ul>
     *
     * @param view a view of a mapping (or of part of one)
     * @throws IllegalArgumentException when the view is not of a mapped file, or of a
     *         {@code COPY_ON_WRITE} mapping
     * @throws IllegalStateException when the mapping's arena is closed
     * @throws WrongThreadException when the mapping's arena is confined to another thread
     * @throws IOException when the edits were forced, but the path the file was mapped
     *         from no longer names that file (it was replaced, moved or deleted since, for
     *         example by {@link #write(Path, NdArray)}): they are in a file without that name
     */
    public static void flush(NdArray view) throws IOException {
        Objects.requireNonNull(view, "view");
        if (view.elementCount() == 0) {
            return;
        }
        long low = lowestByte(view);
        force(view, low, highestByte(view) + view.dtype().byteSize() - low);
    }

    /**
     * {@link #flush(NdArray)} for a byte range of the view's memory:
     * {@code [byteOffset, byteOffset + byteSize)} of {@link NdArray#segment()},
     * the coordinates of {@link NdArray#byteOffset()}. For a view from
     * {@link #map} or {@link #create}, that segment is the file's data, so
     * byte {@code b} of the range is byte {@code b} after the header
     * ({@link NpyHeader#dataOffset()}) in the file.
     *
     * @param view a view of a mapping
     * @param byteOffset where the range starts in the view's memory
     * @param byteSize how many bytes it covers (0: none)
     * @throws IndexOutOfBoundsException when the range is not inside the view's memory
     * @throws IllegalArgumentException when the view is not of a mapped file, or of a
     *         {@code COPY_ON_WRITE} mapping
     * @throws IllegalStateException when the mapping's arena is closed
     * @throws IOException when the edits were forced, but the path the file was mapped
     *         from no longer names that file
     */
    public static void flush(NdArray view, long byteOffset, long byteSize) throws IOException {
        Objects.requireNonNull(view, "view");
        long limit = view.segment().byteSize();
        if (byteOffset < 0 || byteSize < 0 || byteOffset > limit || byteSize > limit - byteOffset) {
            throw new IndexOutOfBoundsException("flush range: byteOffset " + byteOffset + " and byteSize " + byteSize
                    + " are not inside the view's memory of " + limit + " bytes; give a range within [0, " + limit + ")");
        }
        force(view, byteOffset, byteSize);
    }

    private static void force(NdArray view, long byteOffset, long byteSize) throws IOException {
        MemorySegment segment = view.segment();
        if (!segment.isMapped()) {
            throw new IllegalArgumentException("cannot flush " + view.describe() + ": its memory is not a mapped file"
                    + " (flush forces the edits of a view from Npy.map(..., READ_WRITE) or Npy.create to its file); to"
                    + " store this array, write it with Npy.write(path, view)");
        }
        MappedFiles.Mapping m = MappedFiles.find(segment);
        if (m != null && m.mode() == MapMode.COPY_ON_WRITE) {
            throw new IllegalArgumentException("cannot flush a COPY_ON_WRITE mapping of " + m.path() + ": its edits stay"
                    + " in this process's memory and never reach the file; save them with Npy.write(path, view), or map"
                    + " the file READ_WRITE to edit it");
        }
        if (byteSize > 0) {
            // READ_ONLY: no page can be dirty, so this writes nothing, but FFM still checks the arena.
            segment.asSlice(byteOffset, byteSize).force();
        }
        if (m != null && m.mode() == MapMode.READ_WRITE && !m.stillNamed()) {
            throw new IOException("the edits were forced to the file that " + m.path() + " named when it was mapped,"
                    + " but that path now names another file or none (it was replaced, moved or deleted since; Npy.write"
                    + " and Npy.create replace a file, they do not write into it): the edits are in a file without that"
                    + " name. Save them with Npy.write(path, view)");
        }
    }

    // ------------------------------------------------------------------ writing

    /**
     * Writes {@code array} as a {@code .npy} file that {@code np.load} reads
     * back exactly (a copy, by name): the header {@code np.save} would write,
     * then the elements in C order, or in Fortran order when the view is
     * F-contiguous but not C-contiguous (as NumPy chooses). The dtype keeps
     * its byte order. Replaces an existing file atomically and durably
     * ({@link WriteMode#ATOMIC_DURABLE}): a view may be written over the very
     * file it maps.
     *
     * <p>An existing destination keeps its permission bits, owner and group
     * (the owner only when this process may give it: otherwise the write is
     * refused); being a new file, it has a new inode: other hard links to the
     * old file, its ACLs and extended attributes stay with the old file (use
     * {@link WriteMode#IN_PLACE} to keep them). A destination that is a symbolic
     * link stays a link, and the file it names is replaced (in that file's
     * folder). A destination that another writer replaces, deletes or turns
     * into a link while this write runs is left as the other writer made it,
     * and this write throws.
     *
     * @param file the {@code .npy} file
     * @param array the array to write
     * @throws IllegalStateException when the view's memory is closed (also during the write:
     *         the destination is then unchanged)
     * @throws IOException when the file cannot be written, saying why; the destination is
     *         then unchanged and the temporary file removed (or, when even that failed, the
     *         message says where it is)
     */
    public static void write(Path file, NdArray array) throws IOException {
        write(file, array, WriteMode.ATOMIC_DURABLE);
    }

    /**
     * {@link #write(Path, NdArray)}, putting the file in place as {@code mode} says.
     *
     * @param file the {@code .npy} file
     * @param array the array to write
     * @param mode how the new file is put in place
     * @throws IllegalStateException when the view's memory is closed, or when {@code mode} is
     *         {@link WriteMode#IN_PLACE} and this process maps the file
     * @throws IOException when the file cannot be written, saying why; with the atomic modes
     *         the destination is then unchanged
     */
    public static void write(Path file, NdArray array, WriteMode mode) throws IOException {
        Objects.requireNonNull(file, "file");
        Objects.requireNonNull(array, "array");
        Objects.requireNonNull(mode, "mode");
        touch(array);
        if (mode == WriteMode.IN_PLACE) {
            refuseInPlaceOverMappedFile(file, "write");
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                    StandardOpenOption.WRITE)) {
                writeTo(array, buf -> writeFully(ch, buf));
            }
            return;
        }
        try (AtomicReplace replace = AtomicReplace.prepare(file, mode == WriteMode.ATOMIC_DURABLE, "write")) {
            FileChannel ch = replace.open();
            Path temporary = replace.temporary();
            NpyHeader header = headerFor(array);
            long total = header.dataOffset() + header.dataBytes();
            long[] written = {0};
            try {
                writeTo(array, buf -> {
                    int n = buf.remaining();
                    writeFully(ch, buf);
                    written[0] += n;
                    step(AtomicReplace.STEP_DATA, temporary, written[0]);
                });
            } catch (IOException e) {
                throw replace.failed("writing its temporary file failed after " + written[0] + " of " + total + " bytes ("
                        + AtomicReplace.reason(e) + ")", e);
            } catch (IllegalStateException e) {
                String outcome = replace.discard();
                throw new IllegalStateException(replace.cannot() + ": the memory of the view being written was closed"
                        + " during the write, after " + written[0] + " of " + total + " bytes (" + e.getMessage() + "); "
                        + replace.target() + " is unchanged and " + outcome, e);
            }
            replace.commit();
        }
    }

    /**
     * Reads the first byte the view reaches, so that memory that is closed, or
     * confined to another thread, fails with FFM's own exception before any
     * file is touched.
     */
    private static void touch(NdArray array) {
        if (array.elementCount() > 0) {
            array.segment().get(ValueLayout.JAVA_BYTE, lowestByte(array));
        }
    }

    private static void refuseInPlaceOverMappedFile(Path file, String operation) throws IOException {
        BasicFileAttributes at = AtomicReplace.attributesOrNull(file);
        if (at == null || !at.isRegularFile()) {
            return;
        }
        List<MappedFiles.Mapping> live = MappedFiles.of(at.fileKey());
        if (!live.isEmpty()) {
            StringBuilder modes = new StringBuilder();
            for (MappedFiles.Mapping m : live) {
                modes.append(modes.isEmpty() ? "" : ", ").append(m.mode());
            }
            throw new IllegalStateException("cannot " + operation + " " + file.toAbsolutePath() + " in place: this"
                    + " process maps it (" + live.size() + " live mapping" + (live.size() == 1 ? "" : "s") + " made by"
                    + " Npy.map or Npy.create: " + modes + "), and truncating it would take the pages from under those"
                    + " mappings (the view being written may be one of them); write with Npy.WriteMode.ATOMIC_DURABLE (the"
                    + " mappings keep the old file), or close their arenas first");
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
            writeChunks(array.segment().asSlice(array.byteOffset(), n), sink);
            return;
        }
        try (Arena scratch = Arena.ofConfined()) {
            NdArray copy = array.copy(order, scratch);
            writeChunks(copy.segment().asSlice(copy.byteOffset(), n), sink);
        }
    }

    private static void writeChunks(MemorySegment data, Sink sink) throws IOException {
        long n = data.byteSize();
        if (data.isNative()) {
            for (long done = 0; done < n; done += COPY_CHUNK) {
                sink.accept(data.asSlice(done, Math.min(COPY_CHUNK, n - done)).asByteBuffer());
            }
            return;
        }
        // A heap segment over an int[] (or any array but byte[]) has no ByteBuffer view: copy through bytes.
        byte[] chunk = new byte[(int) Math.min(COPY_CHUNK, n)];
        MemorySegment bytes = MemorySegment.ofArray(chunk);
        for (long done = 0; done < n; done += COPY_CHUNK) {
            int len = (int) Math.min(COPY_CHUNK, n - done);
            MemorySegment.copy(data, done, bytes, 0, len);
            sink.accept(ByteBuffer.wrap(chunk, 0, len));
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

    /** Offset of the highest element the view reaches (its last element when strides are positive). */
    private static long highestByte(NdArray a) {
        long high = a.byteOffset();
        long[] shape = a.shape();
        long[] strides = a.byteStrides();
        for (int k = 0; k < shape.length; k++) {
            if (strides[k] > 0 && shape[k] > 0) {
                high += strides[k] * (shape[k] - 1);
            }
        }
        return high;
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

    // ------------------------------------------------------------------ temporary files

    /**
     * Whether {@code file}'s name is that of a temporary file an atomic write
     * makes: {@code .<name>.panbuf-tmp-<pid>-<16 hex digits>}, where
     * {@code <name>} is the destination's name (its first 200 UTF-8 bytes) and
     * {@code <pid>} the writing process. Such a file next to a destination is
     * a write in progress, or what a writer killed mid-write left; it is never
     * the destination itself. Only the name is looked at.
     *
     * @param file a path; only its last element is read
     * @return whether that name is a temporary file's
     */
    public static boolean isTemporaryFile(Path file) {
        Objects.requireNonNull(file, "file");
        return AtomicReplace.isTemporary(file);
    }

    /**
     * Deletes the temporary files of atomic writes in {@code folder} (not its
     * subfolders) whose writing process has ended, and returns them: what
     * writers killed mid-write left. A temporary file of a process still
     * running is kept (it may be writing it now), so this is safe to call at
     * any time from one machine. Process ids are those of this machine (and
     * PID namespace): on a folder that other machines or containers write to,
     * call it only when none of them is writing there.
     *
     * @param folder the folder to clean (its subfolders are left alone)
     * @return the files deleted
     * @throws IOException when the folder cannot be listed or a file cannot be deleted
     */
    public static List<Path> deleteStaleTemporaryFiles(Path folder) throws IOException {
        Objects.requireNonNull(folder, "folder");
        return AtomicReplace.deleteStale(folder);
    }
}
