package dev.panbuf.arrow;

import dev.panbuf.DType;
import dev.panbuf.Export;
import dev.panbuf.NdArray;
import dev.panbuf.Order;
import dev.panbuf.shim.ArrowShim;
import dev.panbuf.shim.Lifetimes;
import dev.panbuf.shim.NativeLibrary;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The Arrow C data interface: views go out as Arrow arrays and record
 * batches, and Arrow arrays come in as views, with no copy of the values.
 *
 * <h2>Types</h2>
 * <table>
 * <caption>panbuf dtype and Arrow format</caption>
 * <tr><th>dtype</th><th>Arrow</th></tr>
 * <tr><td>int8 / uint8</td><td>{@code c} / {@code C}</td></tr>
 * <tr><td>int16 / uint16</td><td>{@code s} / {@code S}</td></tr>
 * <tr><td>int32 / uint32</td><td>{@code i} / {@code I}</td></tr>
 * <tr><td>int64 / uint64</td><td>{@code l} / {@code L}</td></tr>
 * <tr><td>float16 / float32 / float64</td><td>{@code e} / {@code f} / {@code g}</td></tr>
 * <tr><td>n-d of any of these, C-contiguous</td><td>{@code +w:N} (extension
 *     {@code arrow.fixed_shape_tensor}, {@code {"shape":[...]}})</td></tr>
 * <tr><td>several columns of one length</td><td>{@code +s} (a record batch)</td></tr>
 * </table>
 * The platform's byte order only: Arrow data is native-order. bool is not
 * exported (Arrow packs booleans into bits, which would be a copy).
 *
 * <h2>Export</h2>
 * A column must be laid out as Arrow lays out data: 1-D with a stride of one
 * item, or n-d C-contiguous. Other views are refused with a message that
 * says to {@code copy()} first. The values are never copied; a validity
 * mask ({@link Column#mask()}) is packed into Arrow's bitmap, which is a copy
 * of one bit per value. See {@link ArrowExport} for ownership and lifetimes.
 *
 * <h2>Import</h2>
 * {@link #importArray}, {@link #importColumn} and {@link #importBatch} take
 * ownership of a producer's {@code ArrowArray} and {@code ArrowSchema}: the
 * schema is released at once (everything it says has been read), the array
 * is moved into panbuf's own struct (the caller's is marked released, as the
 * specification describes) and released exactly once, through the
 * producer's release, when the importing arena closes. The views are
 * read-only: Arrow data is immutable once built. The array's offset is
 * honoured.
 *
 * <p><b>A refused import still consumes both structs</b> (their release has
 * run before the exception is thrown, as Arrow's own importers do), except in
 * three cases that leave them as they were: a struct that is already
 * released ({@code release == NULL}), an export of this JVM that Java still
 * owns ({@link ArrowExport#handOff()} it first), and null values in an
 * {@link #importArray} (import the same structs with {@link #importColumn},
 * which gives the validity bitmap).
 *
 * {@snippet :
 * try (BufferArena a = BufferArena.ofConfined(); Arena b = Arena.ofConfined()) {
 *     NdArray x = NdArray.allocate(a, DType.FLOAT64, 1000);
 *     ArrowExport e = Arrow.exportArray(x).handOff();
 *     NdArray same = Arrow.importArray(e.array(), e.schema(), b);   // same memory, no copy
 * }   // b closes first: the array is released, x's memory unpinned, then a closes
 * }
 */
public final class Arrow {

    /** The extension name of Arrow's canonical fixed-shape tensor type. */
    public static final String FIXED_SHAPE_TENSOR = "arrow.fixed_shape_tensor";

    private static final AtomicLong LIVE_IMPORTS = new AtomicLong();

    private Arrow() {}

    // ------------------------------------------------------------------ export

    /**
     * Exports a view as an Arrow array (a primitive array for a 1-D view, an
     * {@code arrow.fixed_shape_tensor} array for an n-d one) and its schema,
     * in structs panbuf allocates.
     *
     * @param view a 1-D view with a stride of one item, or an n-d C-contiguous view
     * @return the export, owned by Java until {@link ArrowExport#handOff()}
     * @throws IllegalArgumentException naming the dtype, layout or memory that Arrow cannot carry
     * @throws IllegalStateException when the memory is closed
     */
    public static ArrowExport exportArray(NdArray view) {
        return exportArray(Column.of("", view));
    }

    /**
     * Exports one column (values and an optional validity mask) as an Arrow array and its schema.
     *
     * @param column the column
     * @return the export, owned by Java until {@link ArrowExport#handOff()}
     * @throws IllegalArgumentException as {@link #exportArray(NdArray)}, and for a mask that is not a 1-D bool
     *                                  view as long as the values
     */
    public static ArrowExport exportArray(Column column) {
        Objects.requireNonNull(column, "column");
        return export(List.of(column), false, null, null);
    }

    /**
     * Exports columns of one length as one record batch: a struct array
     * ({@code +s}) whose fields are the columns, in structs panbuf allocates.
     *
     * @param columns one or more columns whose values have one length (shape[0])
     * @return the export, owned by Java until {@link ArrowExport#handOff()}
     * @throws IllegalArgumentException as {@link #exportArray(Column)}, for no columns, and for lengths that differ
     */
    public static ArrowExport exportBatch(List<Column> columns) {
        return export(checkColumns(columns), true, null, null);
    }

    /**
     * Exports one column into structs the consumer allocated (such as Arrow
     * Java's {@code ArrowArray.allocateNew(allocator)}): the consumer owns them from the start.
     *
     * @param column    the column
     * @param outArray  a {@code struct ArrowArray} to fill (its old contents are overwritten, never released)
     * @param outSchema a {@code struct ArrowSchema} to fill, or {@code MemorySegment.NULL} for none
     * @return the export, already handed off (to observe {@link ArrowExport#isReleased()})
     */
    public static ArrowExport exportArrayInto(Column column, MemorySegment outArray, MemorySegment outSchema) {
        Objects.requireNonNull(column, "column");
        return export(List.of(column), false, checkOut(outArray, "outArray"), outSchema);
    }

    /**
     * Exports a record batch into structs the consumer allocated, as {@link #exportArrayInto}.
     *
     * @param columns   the columns
     * @param outArray  a {@code struct ArrowArray} to fill
     * @param outSchema a {@code struct ArrowSchema} to fill, or {@code MemorySegment.NULL} for none
     * @return the export, already handed off
     */
    public static ArrowExport exportBatchInto(List<Column> columns, MemorySegment outArray, MemorySegment outSchema) {
        return export(checkColumns(columns), true, checkOut(outArray, "outArray"), outSchema);
    }

    private static MemorySegment checkOut(MemorySegment out, String name) {
        Objects.requireNonNull(out, name);
        if (out.address() == 0) {
            throw new IllegalArgumentException(name + " is NULL; pass the struct the consumer allocated");
        }
        return MemorySegment.ofAddress(out.address());
    }

    private static List<Column> checkColumns(List<Column> columns) {
        Objects.requireNonNull(columns, "columns");
        if (columns.isEmpty()) {
            throw new IllegalArgumentException("a record batch needs at least one column; got none");
        }
        List<Column> copy = List.copyOf(columns);
        long length = copy.getFirst().values().shape().length == 0 ? -1 : copy.getFirst().values().shape()[0];
        for (int i = 0; i < copy.size(); i++) {
            NdArray v = copy.get(i).values();
            for (int k = 0; k < i; k++) {
                if (copy.get(k).values() == v) {
                    throw new IllegalArgumentException("column " + i + " (\"" + copy.get(i).name() + "\") is the same"
                            + " view as column " + k + "; export a view once per batch");
                }
            }
            if (v.ndim() >= 1 && v.shape()[0] != length) {
                throw new IllegalArgumentException("column " + i + " (\"" + copy.get(i).name() + "\") has " + v.shape()[0]
                        + " rows but column 0 (\"" + copy.getFirst().name() + "\") has " + length + "; the columns of a"
                        + " record batch have one length");
            }
        }
        return copy;
    }

    /** Why Arrow cannot carry {@code column} as it is, or null when it can (built only for a refusal). */
    static String refusal(Column column) {
        NdArray v = column.values();
        DType d = v.dtype();
        // Describing the view costs more than the whole export: only a refusal does it.
        java.util.function.Supplier<String> what = () -> "column \"" + column.name() + "\" (" + v.describe() + "): ";
        if (d.kind() != DType.Kind.SIGNED && d.kind() != DType.Kind.UNSIGNED && d.kind() != DType.Kind.FLOAT) {
            return what.get() + "Arrow has no zero-copy type for " + d.kind().name().toLowerCase(java.util.Locale.ROOT)
                    + " dtype " + d.str() + (d.kind() == DType.Kind.BOOL ? " (Arrow packs booleans into bits; export a"
                    + " uint8 view of it instead, or use it as a validity mask)" : "; export one field at a time"
                    + " (field(name)) or a numeric view");
        }
        if (!d.isNativeOrder()) {
            return what.get() + "dtype " + d.str() + " is not in the platform's byte order, and Arrow data always is;"
                    + " copy() it to " + d.withNativeOrder().str() + " first";
        }
        int ndim = v.ndim();
        if (ndim == 0) {
            return what.get() + "a 0-d view has no length; reshape it to (1,) first";
        }
        long rows = v.shape()[0];
        if (ndim == 1 && rows > 1 && v.byteStrides()[0] != d.byteSize()) {
            return what.get() + "byte stride " + v.byteStrides()[0] + " is not the item size " + d.byteSize() + ": an"
                    + " Arrow column is contiguous; copy() the view first (copy(Order.C, arena)) and export the copy";
        }
        if (ndim >= 2 && !v.isContiguous(Order.C)) {
            return what.get() + "strides " + Arrays.toString(v.byteStrides()) + " are not C-contiguous, which"
                    + " arrow.fixed_shape_tensor requires; copy() the view first (copy(Order.C, arena)) and export the copy";
        }
        if (ndim >= 2 && v.elementCount() / Math.max(1, rows) > Integer.MAX_VALUE) {
            return what.get() + "rows of " + v.elementCount() / rows + " elements exceed a fixed-size list's int32 size";
        }
        NdArray m = column.mask();
        if (m != null && (m.dtype().kind() != DType.Kind.BOOL || m.ndim() != 1 || m.shape()[0] != rows)) {
            return what.get() + "the validity mask " + m.describe() + " is not a 1-D bool view of " + rows
                    + " elements (true where the value is valid)";
        }
        return null;
    }

    /**
     * Exports the columns into the given structs (or new ones that Java owns
     * when {@code outArray} is null); {@code outSchema} null or NULL makes no
     * schema. Views and masks are exported as pb_buffers for the call; the
     * values' exports are then the array's to release.
     */
    static ArrowExport export(List<Column> columns, boolean batch, MemorySegment outArray, MemorySegment outSchema) {
        NativeLibrary.loadShim();
        for (Column c : columns) {
            String why = refusal(c);
            if (why != null) {
                throw new IllegalArgumentException("cannot export to Arrow: " + why);
            }
        }
        Arena shells = null;
        MemorySegment array = outArray;
        MemorySegment schema = outSchema;
        if (array == null) {
            shells = Arena.ofAuto();
            array = shells.allocate(ArrowShim.ARRAY_BYTES, 8);
            schema = shells.allocate(ArrowShim.SCHEMA_BYTES, 8);
        }
        boolean hasSchema = schema != null && schema.address() != 0;
        List<Export> values = new ArrayList<>(columns.size());
        List<Export> masks = new ArrayList<>();
        int rc;
        try {
            MemorySegment[] v = new MemorySegment[columns.size()];
            MemorySegment[] m = new MemorySegment[columns.size()];
            String[] names = new String[columns.size()];
            for (int i = 0; i < v.length; i++) {
                Column c = columns.get(i);
                Export e = c.values().export();
                values.add(e);
                v[i] = e.pointer();
                if (c.mask() != null) {
                    Export me = c.mask().exportReadOnly();
                    masks.add(me);
                    m[i] = me.pointer();
                }
                names[i] = c.name();
            }
            MemorySegment s = hasSchema ? MemorySegment.ofAddress(schema.address()) : MemorySegment.NULL;
            MemorySegment a = MemorySegment.ofAddress(array.address());
            rc = batch ? ArrowShim.exportBatch(v, m, names, a, s)
                    : ArrowShim.exportArray(v[0], m[0] == null ? MemorySegment.NULL : m[0], names[0], a, s);
        } catch (RuntimeException | Error e) {
            values.forEach(Export::close);
            throw e;
        } finally {
            masks.forEach(Export::close);   // the bitmap is a copy: the masks were only read
        }
        if (rc != 0) {
            values.forEach(Export::close);
            throw new IllegalArgumentException("cannot export " + (batch ? "the record batch" : "the column") + " to Arrow: "
                    + ArrowShim.strerror(rc) + " (" + rc + ")");
        }
        for (Export e : values) {
            e.handOff();   // the array's release pb_releases it
        }
        long privateData = ArrowShim.readArray(array.address()).privateData();
        return ArrowExport.of(values, privateData, array, hasSchema ? schema : MemorySegment.NULL, shells,
                shells == null, batch ? "record batch of " + columns.size() + " columns" : "array");
    }

    /**
     * Makes only the schema of {@code columns} (as a record batch when
     * {@code batch}) into {@code outSchema}; the values stay the caller's.
     */
    static void exportSchemaInto(List<Column> columns, boolean batch, MemorySegment outSchema) {
        NativeLibrary.loadShim();
        List<Export> exports = new ArrayList<>();
        try {
            MemorySegment[] v = new MemorySegment[columns.size()];
            MemorySegment[] m = new MemorySegment[columns.size()];
            String[] names = new String[columns.size()];
            for (int i = 0; i < v.length; i++) {
                Column c = columns.get(i);
                String why = refusal(c);
                if (why != null) {
                    throw new IllegalArgumentException("cannot export to Arrow: " + why);
                }
                Export e = c.values().exportReadOnly();
                exports.add(e);
                v[i] = e.pointer();
                if (c.mask() != null) {
                    Export me = c.mask().exportReadOnly();
                    exports.add(me);
                    m[i] = me.pointer();
                }
                names[i] = c.name();
            }
            int rc = batch ? ArrowShim.exportBatch(v, m, names, MemorySegment.NULL, outSchema)
                    : ArrowShim.exportArray(v[0], m[0] == null ? MemorySegment.NULL : m[0], names[0], MemorySegment.NULL,
                    outSchema);
            if (rc != 0) {
                throw new IllegalArgumentException("cannot make the Arrow schema: " + ArrowShim.strerror(rc) + " (" + rc + ")");
            }
        } finally {
            exports.forEach(Export::close);
        }
    }

    // ------------------------------------------------------------------ streams

    /**
     * Exports a sequence of record batches as an Arrow C stream
     * ({@code struct ArrowArrayStream}) that a consumer pulls batch by batch;
     * see {@link ArrowStreamExport}. The first batch is taken from the iterator
     * now (its columns give the stream's schema); the others when the consumer asks.
     *
     * @param batches the batches, each a list of columns as {@link #exportBatch} takes; at least one
     * @return the stream, owned by Java until {@link ArrowStreamExport#handOff()}
     * @throws IllegalArgumentException when there is no batch, or the first cannot go to Arrow
     */
    public static ArrowStreamExport exportStream(Iterator<List<Column>> batches) {
        NativeLibrary.loadShim();
        return ArrowStreamExport.of(batches, null);
    }

    /**
     * As {@link #exportStream}, into a stream struct the consumer allocated
     * (such as Arrow Java's {@code ArrowArrayStream.allocateNew(allocator)}); the consumer owns it from the start.
     *
     * @param batches the batches
     * @param out     the {@code struct ArrowArrayStream} to fill
     * @return the stream, already handed off
     */
    public static ArrowStreamExport exportStreamInto(Iterator<List<Column>> batches, MemorySegment out) {
        NativeLibrary.loadShim();
        return ArrowStreamExport.of(batches, ArrowShim.streamAt(checkOut(out, "out").address()));
    }

    /**
     * The row blocks of columns of one length, as batches for {@link #exportStream}:
     * rows {@code [0, rowsPerBatch)}, {@code [rowsPerBatch, 2 rowsPerBatch)}, ... of every
     * column (values and mask), as views (no copy). A large table goes out in
     * batches a consumer can take one at a time.
     *
     * @param columns      the columns, all of one length
     * @param rowsPerBatch rows in each batch but the last (at least 1)
     * @return the batches
     */
    public static Iterator<List<Column>> rowBlocks(List<Column> columns, long rowsPerBatch) {
        List<Column> all = checkColumns(columns);
        if (rowsPerBatch < 1) {
            throw new IllegalArgumentException("rowsPerBatch is " + rowsPerBatch + "; it must be at least 1");
        }
        long rows = all.getFirst().values().ndim() == 0 ? 0 : all.getFirst().values().shape()[0];
        return new Iterator<>() {
            private long next;
            private boolean any;

            @Override
            public boolean hasNext() {
                return next < rows || !any;
            }

            @Override
            public List<Column> next() {
                if (!hasNext()) {
                    throw new java.util.NoSuchElementException("no more row blocks: " + rows + " rows were given");
                }
                any = true;
                long end = Math.min(rows, next + rowsPerBatch);
                String slice = next + ":" + end;
                List<Column> block = new ArrayList<>(all.size());
                for (Column c : all) {
                    block.add(new Column(c.name(), c.values().get(slice), c.mask() == null ? null : c.mask().get(slice)));
                }
                next = end;
                return block;
            }
        };
    }

    /**
     * Imports a producer's {@code struct ArrowArrayStream} of record batches;
     * see {@link ArrowStreamReader}.
     *
     * @param stream a {@code struct ArrowArrayStream *}; ownership passes to panbuf (the struct is moved)
     * @return the reader, which releases the stream when closed
     * @throws IllegalArgumentException for a NULL or released stream, a Java-owned one of this JVM, or a schema
     *                                  that is not a record batch of importable columns (the stream is then released)
     * @throws IllegalStateException    when get_schema fails (with the producer's errno and message)
     */
    public static ArrowStreamReader importStream(MemorySegment stream) {
        return ArrowStreamReader.open(stream);
    }

    // ------------------------------------------------------------------ import

    /**
     * Imports an Arrow array of a primitive type, a fixed-size list of one
     * ({@code arrow.fixed_shape_tensor} or plain) with no null values, as a
     * read-only view of the producer's memory in {@code arena}.
     *
     * @param array  a {@code struct ArrowArray *}; ownership passes to panbuf
     * @param schema its {@code struct ArrowSchema *}; ownership passes to panbuf
     * @param arena  the arena the view's memory belongs to
     * @return the values, 1-D, or n-d for tensors and fixed-size lists
     * @throws IllegalArgumentException naming what panbuf cannot use (the format string, the count that does
     *                                  not match); the structs are released unless the class javadoc says otherwise
     * @throws IllegalStateException    when the arena is closed (the structs are then released)
     */
    public static NdArray importArray(MemorySegment array, MemorySegment schema, Arena arena) {
        return ArrowImport.importColumns(array, schema, arena, false, false).getFirst().values();
    }

    /**
     * As {@link #importArray}, also giving the producer's validity bitmap (as a view, not copied) when values are null.
     *
     * @param array  a {@code struct ArrowArray *}; ownership passes to panbuf
     * @param schema its {@code struct ArrowSchema *}; ownership passes to panbuf
     * @param arena  the arena the views' memory belongs to
     * @return the column
     */
    public static ImportedColumn importColumn(MemorySegment array, MemorySegment schema, Arena arena) {
        return ArrowImport.importColumns(array, schema, arena, false, true).getFirst();
    }

    /**
     * Imports a record batch (a struct array, {@code +s}, without nulls of its
     * own) whose fields are columns {@link #importColumn} can import.
     *
     * @param array  a {@code struct ArrowArray *}; ownership passes to panbuf
     * @param schema its {@code struct ArrowSchema *}; ownership passes to panbuf
     * @param arena  the arena the views' memory belongs to
     * @return the columns, in the schema's order
     */
    public static List<ImportedColumn> importBatch(MemorySegment array, MemorySegment schema, Arena arena) {
        return ArrowImport.importColumns(array, schema, arena, true, true);
    }

    /**
     * Imported arrays whose release has not yet run (their arenas are open).
     *
     * @return the count in this JVM
     */
    public static long liveImports() {
        return LIVE_IMPORTS.get();
    }

    static void importHeld() {
        LIVE_IMPORTS.incrementAndGet();
    }

    static void importReleased() {
        LIVE_IMPORTS.decrementAndGet();
    }

    /** Counts down the holds of one import; the last one releases the moved array. */
    static Runnable countedRelease(int holds, long moved) {
        AtomicInteger left = new AtomicInteger(holds);
        return () -> {
            if (left.decrementAndGet() == 0) {
                importReleased();
                ArrowShim.releaseMoved(moved);
            }
        };
    }

    static Lifetimes.Service lifetimes() {
        return Lifetimes.get();
    }
}
