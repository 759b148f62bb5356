package dev.panbuf.arrow;

import dev.panbuf.DType;
import dev.panbuf.NdArray;
import dev.panbuf.shim.ArrowShim;
import dev.panbuf.shim.NativeLibrary;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Reads a producer's {@code ArrowArray} and {@code ArrowSchema}, checks every
 * count, length and offset against what the format needs before touching a
 * buffer, then moves the array into panbuf's own struct and holds its
 * buffers in the importing arena until one release hands it back.
 *
 * <p>Order of a refusal: nothing is read past the first field that is
 * wrong, and the structs are released before the exception is thrown
 * (except the cases {@link Arrow}'s javadoc lists, which leave them as they were).
 */
final class ArrowImport {

    /** Longest format string read (Arrow's longest real ones are a few dozen bytes). */
    static final int MAX_FORMAT_BYTES = 256;
    /** Most children or metadata pairs read: more says the struct is not what it claims. */
    static final long MAX_CHILDREN = 1L << 16;
    static final int MAX_METADATA_BYTES = 1 << 20;

    private ArrowImport() {}

    /** What the schema says, for the depth panbuf imports. */
    record Type(String format, String name, Map<String, String> metadata, List<Type> children) {}

    /** One column checked against its array: the memory it views and the view to make. */
    record Plan(String name, DType dtype, long[] shape, long dataAddress, long dataBytes, long bitmapAddress,
                long bitmapBytes, int bitOffset, long nullCount) {}

    /** A refusal: released both structs (consume) or left them (not). */
    static final class Refusal extends RuntimeException {
        private static final long serialVersionUID = 1L;
        final boolean consume;

        Refusal(String message, boolean consume) {
            super(message, null, false, false);
            this.consume = consume;
        }
    }

    static List<ImportedColumn> importColumns(MemorySegment arrayPtr, MemorySegment schemaPtr, Arena arena, boolean batch,
                                              boolean withValidity) {
        Objects.requireNonNull(arrayPtr, "array");
        Objects.requireNonNull(schemaPtr, "schema");
        Objects.requireNonNull(arena, "arena");
        long array = arrayPtr.address();
        long schema = schemaPtr.address();
        if (array == 0 || schema == 0) {
            throw new IllegalArgumentException("cannot import a NULL " + (array == 0 ? "ArrowArray" : "ArrowSchema")
                    + " pointer; nothing was imported");
        }
        NativeLibrary.loadShim();
        String where = "the ArrowArray at 0x" + Long.toHexString(array);
        ArrowShim.ArrayFields a = ArrowShim.readArray(array);
        if (a.release() == 0) {
            throw new IllegalArgumentException(where + " is released (its release is NULL): it was released or moved"
                    + " already; nothing was imported");
        }
        if (ArrowShim.readSchema(schema).release() == 0) {
            throw new IllegalArgumentException("the ArrowSchema at 0x" + Long.toHexString(schema) + " is released (its"
                    + " release is NULL): it was released or moved already; nothing was imported");
        }
        ArrowExport.State own = ArrowShim.isOwn(array) ? ArrowExport.State.live(a.privateData()) : null;
        if (own != null) {
            own.claimForImport(arena);   // refuses, touching nothing, while Java owns it
        }
        List<Plan> plans;
        try {
            if (!arena.scope().isAlive()) {
                throw new IllegalStateException("Already closed: cannot import " + where + " into a closed arena");
            }
            Type type = readType(schema, 0);
            plans = plan(a, type, batch);
        } catch (Refusal r) {
            if (r.consume) {
                releaseBoth(array, schema);
                throw new IllegalArgumentException(where + ": " + r.getMessage() + " (both structs were released)");
            }
            if (own != null) {
                own.unclaimImport();
            }
            throw new IllegalArgumentException(where + ": " + r.getMessage() + " (nothing was imported, nothing released)");
        } catch (IllegalStateException e) {
            releaseBoth(array, schema);
            throw new IllegalStateException(e.getMessage() + " (both structs were released)", e);
        }
        if (!withValidity) {
            for (Plan p : plans) {
                if (p.bitmapBytes > 0) {
                    if (own != null) {
                        own.unclaimImport();
                    }
                    throw new IllegalArgumentException(where + ": " + (p.nullCount < 0 ? "a validity bitmap with an"
                            + " uncounted number of" : p.nullCount) + " null values, which a plain view cannot show;"
                            + " import the same structs with Arrow.importColumn, which gives the validity bitmap"
                            + " (nothing was imported, nothing released)");
                }
            }
        }
        return hold(array, schema, plans, arena, where);
    }

    /** A record batch of a stream whose schema was read once: consumes the array, refused or not. */
    static List<ImportedColumn> importWithType(long array, Type type, Arena arena) {
        String where = "the ArrowArray at 0x" + Long.toHexString(array);
        List<Plan> plans;
        try {
            if (!arena.scope().isAlive()) {
                throw new IllegalStateException("Already closed: cannot import " + where + " into a closed arena");
            }
            plans = plan(ArrowShim.readArray(array), type, true);
        } catch (Refusal r) {
            ArrowShim.releaseArray(array);
            throw new IllegalArgumentException(where + ": " + r.getMessage() + " (it was released)");
        } catch (IllegalStateException e) {
            ArrowShim.releaseArray(array);
            throw new IllegalStateException(e.getMessage() + " (it was released)", e);
        }
        return hold(array, 0, plans, arena, where);
    }

    private static void releaseBoth(long array, long schema) {
        try {
            ArrowShim.releaseArray(array);
        } finally {
            ArrowShim.releaseSchema(schema);
        }
    }

    // ------------------------------------------------------------------ schema

    static Type readType(long schema, int depth) {
        ArrowShim.SchemaFields s = ArrowShim.readSchema(schema);
        if (s.release() == 0) {
            throw new Refusal("the child ArrowSchema at 0x" + Long.toHexString(schema) + " is released", true);
        }
        if (s.format() == 0) {
            throw new Refusal("the ArrowSchema's format is NULL", true);
        }
        String format = ArrowShim.readCString(s.format(), MAX_FORMAT_BYTES);
        String name = s.name() == 0 ? "" : ArrowShim.readCString(s.name(), 4096);
        if (s.dictionary() != 0) {
            throw new Refusal("format \"" + printable(format) + "\" is dictionary-encoded, which panbuf does not import"
                    + " (decode it first)", true);
        }
        if (s.nChildren() < 0 || s.nChildren() > MAX_CHILDREN) {
            throw new Refusal("the ArrowSchema of format \"" + printable(format) + "\" has n_children " + s.nChildren()
                    + " (0 to " + MAX_CHILDREN + " expected)", true);
        }
        if (s.nChildren() > 0 && s.children() == 0) {
            throw new Refusal("the ArrowSchema of format \"" + printable(format) + "\" has n_children " + s.nChildren()
                    + " but children is NULL", true);
        }
        Map<String, String> metadata = s.metadata() == 0 ? Map.of() : readMetadata(s.metadata());
        List<Type> children = new ArrayList<>();
        boolean nested = format.equals("+s") || format.startsWith("+w:");
        if (nested && depth < 2) {
            for (long i = 0; i < s.nChildren(); i++) {
                long child = ArrowShim.pointerAt(s.children(), i);
                if (child == 0) {
                    throw new Refusal("child " + i + " of the ArrowSchema of format \"" + printable(format) + "\" is NULL",
                            true);
                }
                children.add(readType(child, depth + 1));
            }
        } else if (s.nChildren() != 0) {
            throw new Refusal("format \"" + printable(format) + "\" " + (nested ? "nests deeper than panbuf imports"
                    : "has no children, but n_children is " + s.nChildren()), true);
        }
        return new Type(format, name, metadata, children);
    }

    /** Arrow's binary metadata: int32 count, then int32-length-prefixed keys and values, native order. */
    static Map<String, String> readMetadata(long address) {
        int count = ByteBuffer.wrap(ArrowShim.readBytes(address, 4)).order(ByteOrder.nativeOrder()).getInt();
        if (count < 0 || count > MAX_CHILDREN) {
            throw new Refusal("the schema's metadata holds " + count + " pairs (0 to " + MAX_CHILDREN + " expected)", true);
        }
        Map<String, String> pairs = new LinkedHashMap<>();
        long at = address + 4;
        long total = 4;
        for (int i = 0; i < count; i++) {
            String[] kv = new String[2];
            for (int k = 0; k < 2; k++) {
                int len = ByteBuffer.wrap(ArrowShim.readBytes(at, 4)).order(ByteOrder.nativeOrder()).getInt();
                total += 4L + Math.max(0, len);
                if (len < 0 || total > MAX_METADATA_BYTES) {
                    throw new Refusal("the schema's metadata has a " + (k == 0 ? "key" : "value") + " of length " + len
                            + " in pair " + i + " (at most " + MAX_METADATA_BYTES + " bytes of metadata in all)", true);
                }
                kv[k] = new String(ArrowShim.readBytes(at + 4, len), StandardCharsets.UTF_8);
                at += 4L + len;
            }
            pairs.put(kv[0], kv[1]);
        }
        return pairs;
    }

    // ------------------------------------------------------------------ planning

    static DType primitive(String format) {
        return switch (format) {
            case "c" -> DType.INT8;
            case "C" -> DType.UINT8;
            case "s" -> DType.INT16;
            case "S" -> DType.UINT16;
            case "i" -> DType.INT32;
            case "I" -> DType.UINT32;
            case "l" -> DType.INT64;
            case "L" -> DType.UINT64;
            case "e" -> DType.FLOAT16;
            case "f" -> DType.FLOAT32;
            case "g" -> DType.FLOAT64;
            default -> null;
        };
    }

    private static Refusal unsupported(String format) {
        return new Refusal("format \"" + printable(format) + "\" is not one panbuf imports (c C s S i I l L e f g, a"
                + " fixed-size list +w:N of one of those, or a record batch +s of such columns)", true);
    }

    static List<Plan> plan(ArrowShim.ArrayFields a, Type type, boolean batch) {
        checkCounts(a, "the array");
        if (!batch) {
            if (type.format.equals("+s")) {
                throw new Refusal("format \"+s\" is a record batch; import it with Arrow.importBatch", false);
            }
            return List.of(planColumn(a, type, a.offset(), a.length(), "the array"));
        }
        if (!type.format.equals("+s")) {
            if (primitive(type.format) != null || type.format.startsWith("+w:")) {
                throw new Refusal("format \"" + printable(type.format) + "\" is a single column, not a record batch (+s);"
                        + " import it with Arrow.importColumn", false);
            }
            throw unsupported(type.format);
        }
        if (a.nBuffers() != 1) {
            throw new Refusal("a struct array (+s) has 1 buffer, but n_buffers is " + a.nBuffers(), true);
        }
        if (a.nChildren() != type.children.size()) {
            throw new Refusal("the schema has " + type.children.size() + " fields but the array has n_children "
                    + a.nChildren(), true);
        }
        if (a.nullCount() != 0 && nonNull(a.buffers(), 0) != 0) {
            throw new Refusal("the record batch itself has " + a.nullCount() + " null rows; panbuf imports record"
                    + " batches whose rows are all present", true);
        }
        if (a.nChildren() > 0 && a.children() == 0) {
            throw new Refusal("n_children is " + a.nChildren() + " but children is NULL", true);
        }
        List<Plan> plans = new ArrayList<>();
        for (int i = 0; i < a.nChildren(); i++) {
            long child = ArrowShim.pointerAt(a.children(), i);
            String what = "column " + i + " (\"" + printable(type.children.get(i).name) + "\")";
            if (child == 0) {
                throw new Refusal(what + " is NULL", true);
            }
            ArrowShim.ArrayFields c = ArrowShim.readArray(child);
            checkCounts(c, what);
            if (c.release() == 0) {
                throw new Refusal(what + " is released (moved out of the batch)", true);
            }
            if (c.length() < add(a.offset(), a.length(), what)) {
                throw new Refusal(what + " has length " + c.length() + " but the batch needs offset " + a.offset()
                        + " + length " + a.length() + " rows of it", true);
            }
            plans.add(planColumn(c, type.children.get(i), add(c.offset(), a.offset(), what), a.length(), what));
        }
        return plans;
    }

    private static void checkCounts(ArrowShim.ArrayFields a, String what) {
        if (a.length() < 0) {
            throw new Refusal(what + " has negative length " + a.length(), true);
        }
        if (a.offset() < 0) {
            throw new Refusal(what + " has negative offset " + a.offset(), true);
        }
        if (a.nullCount() < -1 || a.nullCount() > a.length()) {
            throw new Refusal(what + " has null_count " + a.nullCount() + " for length " + a.length()
                    + " (-1 to length expected)", true);
        }
        if (a.nBuffers() < 0 || a.nBuffers() > 3) {
            throw new Refusal(what + " has n_buffers " + a.nBuffers(), true);
        }
        if (a.nBuffers() > 0 && a.buffers() == 0) {
            throw new Refusal(what + " has n_buffers " + a.nBuffers() + " but buffers is NULL", true);
        }
        if (a.nChildren() < 0 || a.nChildren() > MAX_CHILDREN) {
            throw new Refusal(what + " has n_children " + a.nChildren(), true);
        }
        if (a.dictionary() != 0) {
            throw new Refusal(what + " is dictionary-encoded, which panbuf does not import", true);
        }
    }

    private static long nonNull(long buffers, int index) {
        return ArrowShim.pointerAt(buffers, index);
    }

    /**
     * One column: rows {@code [start, start + rows)} of array {@code a} of
     * {@code type} (start already includes every parent's offset).
     */
    private static Plan planColumn(ArrowShim.ArrayFields a, Type type, long start, long rows, String what) {
        String format = type.format;
        DType dtype = primitive(format);
        long end = add(start, rows, what);
        if (dtype != null) {
            if (a.nBuffers() != 2 || a.nChildren() != 0) {
                throw new Refusal(what + " of format \"" + format + "\" needs 2 buffers and no children, but has n_buffers "
                        + a.nBuffers() + " and n_children " + a.nChildren(), true);
            }
            long data = ArrowShim.pointerAt(a.buffers(), 1);
            long[] range = dataRange(data, start, rows, dtype.byteSize(), what);
            long[] bits = bitmap(a, start, rows, what);
            return new Plan(type.name, dtype, new long[] {rows}, range[0], range[1], bits[0], bits[1], (int) bits[2],
                    bits[3]);
        }
        if (!format.startsWith("+w:")) {
            throw unsupported(format);
        }
        long size;
        try {
            size = Long.parseLong(format.substring(3));
        } catch (NumberFormatException e) {
            throw new Refusal("format \"" + printable(format) + "\" has no list size after +w:", true);
        }
        if (size < 0 || size > Integer.MAX_VALUE || !format.equals("+w:" + size)) {
            throw new Refusal("format \"" + printable(format) + "\" has list size out of 0 to " + Integer.MAX_VALUE, true);
        }
        if (type.children.size() != 1 || primitive(type.children.getFirst().format) == null) {
            throw new Refusal("format \"" + printable(format) + "\" needs one child of a primitive format, but has "
                    + (type.children.size() == 1 ? "child format \"" + printable(type.children.getFirst().format) + "\""
                    : type.children.size() + " children"), true);
        }
        if (a.nBuffers() != 1 || a.nChildren() != 1) {
            throw new Refusal(what + " of format \"" + format + "\" needs 1 buffer and 1 child, but has n_buffers "
                    + a.nBuffers() + " and n_children " + a.nChildren(), true);
        }
        long[] rowShape = rowShape(type, size);
        DType element = primitive(type.children.getFirst().format);
        if (a.children() == 0 || ArrowShim.pointerAt(a.children(), 0) == 0) {
            throw new Refusal(what + " has a NULL child", true);
        }
        ArrowShim.ArrayFields c = ArrowShim.readArray(ArrowShim.pointerAt(a.children(), 0));
        String inner = what + "'s values";
        checkCounts(c, inner);
        if (c.release() == 0) {
            throw new Refusal(inner + " are released (moved out of the list)", true);
        }
        if (c.nBuffers() != 2 || c.nChildren() != 0) {
            throw new Refusal(inner + " need 2 buffers and no children, but have n_buffers " + c.nBuffers()
                    + " and n_children " + c.nChildren(), true);
        }
        if (c.nullCount() != 0 && ArrowShim.pointerAt(c.buffers(), 0) != 0) {
            throw new Refusal(inner + " have " + c.nullCount() + " null elements inside rows; panbuf imports rows whose"
                    + " elements are all present", true);
        }
        long firstElement;
        long elements;
        try {
            if (c.length() < Math.multiplyExact(end, size)) {
                throw new Refusal(inner + " have length " + c.length() + " but " + end + " rows of " + size + " need "
                        + Math.multiplyExact(end, size), true);
            }
            firstElement = Math.addExact(c.offset(), Math.multiplyExact(start, size));
            elements = Math.multiplyExact(rows, size);
        } catch (ArithmeticException e) {
            throw new Refusal(what + ": offset " + start + " and length " + rows + " of rows of " + size
                    + " overflow int64", true);
        }
        long[] range = dataRange(ArrowShim.pointerAt(c.buffers(), 1), firstElement, elements, element.byteSize(), inner);
        long[] bits = bitmap(a, start, rows, what);
        long[] shape = new long[rowShape.length + 1];
        shape[0] = rows;
        System.arraycopy(rowShape, 0, shape, 1, rowShape.length);
        return new Plan(type.name, element, shape, range[0], range[1], bits[0], bits[1], (int) bits[2], bits[3]);
    }

    /** The shape of one row: the tensor's when the extension says so, else {@code [size]}. */
    private static long[] rowShape(Type type, long size) {
        String ext = type.metadata.get("ARROW:extension:name");
        if (!Arrow.FIXED_SHAPE_TENSOR.equals(ext)) {
            return new long[] {size};
        }
        String json = type.metadata.getOrDefault("ARROW:extension:metadata", "");
        long[] shape = TensorMetadata.shape(json);
        long[] permutation = TensorMetadata.permutation(json);
        if (permutation != null) {
            for (int i = 0; i < permutation.length; i++) {
                if (permutation[i] != i) {
                    throw new Refusal("arrow.fixed_shape_tensor with permutation " + Arrays.toString(permutation)
                            + " is not in row-major order; panbuf imports tensors without a permutation", true);
                }
            }
        }
        long product = 1;
        for (long d : shape) {
            if (d < 0) {
                throw new Refusal("arrow.fixed_shape_tensor shape " + Arrays.toString(shape) + " has a negative dimension",
                        true);
            }
            product = d == 0 || product == 0 ? 0 : multiply(product, d);
        }
        if (product != size || shape.length + 1 > NdArray.MAX_NDIM) {
            throw new Refusal("arrow.fixed_shape_tensor shape " + Arrays.toString(shape) + " does not describe rows of "
                    + size + " elements (format +w:" + size + ")", true);
        }
        return shape;
    }

    private static long multiply(long x, long y) {
        try {
            return Math.multiplyExact(x, y);
        } catch (ArithmeticException e) {
            return -1;
        }
    }

    private static long add(long x, long y, String what) {
        try {
            return Math.addExact(x, y);
        } catch (ArithmeticException e) {
            throw new Refusal(what + ": offset " + x + " + length " + y + " overflows int64", true);
        }
    }

    /** {address, bytes} of {@code count} items from item {@code first} of {@code data}. */
    private static long[] dataRange(long data, long first, long count, long itemBytes, String what) {
        if (count == 0) {
            return new long[] {data, 0};
        }
        if (data == 0) {
            throw new Refusal(what + " has a NULL data buffer for " + count + " values", true);
        }
        try {
            long address = Math.addExact(data, Math.multiplyExact(first, itemBytes));
            long bytes = Math.multiplyExact(count, itemBytes);
            Math.addExact(address, bytes);
            if (address < 0 || address + bytes < 0) {
                throw new ArithmeticException();
            }
            return new long[] {address, bytes};
        } catch (ArithmeticException e) {
            throw new Refusal(what + ": " + count + " values from offset " + first + " of " + itemBytes
                    + "-byte items at 0x" + Long.toHexString(data) + " reach beyond the address space", true);
        }
    }

    /** {address, bytes, bit offset, null count} of the validity bitmap, or zeros when no value is null. */
    private static long[] bitmap(ArrowShim.ArrayFields a, long start, long rows, String what) {
        long bitmap = ArrowShim.pointerAt(a.buffers(), 0);
        if (a.nullCount() == 0 || bitmap == 0 || rows == 0) {
            if (a.nullCount() > 0 && bitmap == 0) {
                throw new Refusal(what + " has null_count " + a.nullCount() + " but no validity bitmap", true);
            }
            return new long[] {0, 0, 0, 0};
        }
        long firstByte = start >>> 3;
        int bitOffset = (int) (start & 7);
        long bytes = (bitOffset + rows + 7) >>> 3;
        if (bitmap + firstByte < 0) {
            throw new Refusal(what + "'s validity bitmap at offset " + start + " reaches beyond the address space", true);
        }
        return new long[] {bitmap + firstByte, bytes, bitOffset, a.nullCount()};
    }

    // ------------------------------------------------------------------ holding

    private static List<ImportedColumn> hold(long array, long schema, List<Plan> plans, Arena arena, String where) {
        long moved = ArrowShim.moveArray(array);
        if (moved == 0) {
            releaseBoth(array, schema);
            throw new IllegalStateException(where + ": the C allocator failed to move it (both structs were released)");
        }
        if (schema != 0) {
            ArrowShim.releaseSchema(schema);   // everything it says is in the plans
        }
        if (plans.isEmpty()) {
            ArrowShim.releaseMoved(moved);   // a batch of no columns views no memory: nothing to hold
            return List.of();
        }
        int holds = 0;
        for (Plan p : plans) {
            holds += p.bitmapBytes > 0 ? 2 : 1;
        }
        Runnable release = Arrow.countedRelease(holds, moved);
        Arrow.importHeld();
        int held = 0;
        List<ImportedColumn> columns = new ArrayList<>(plans.size());
        try {
            for (Plan p : plans) {
                String what = "the Arrow column \"" + printable(p.name) + "\" of " + where;
                MemorySegment data = Arrow.lifetimes().holdImport(arena, what, 0, p.dataAddress, p.dataBytes, release)
                        .asReadOnly();
                held++;
                NdArray values = NdArray.asStrided(data, p.dtype, 0, p.shape, cStrides(p.shape, p.dtype.byteSize()))
                        .asReadOnly();
                NdArray validity = null;
                if (p.bitmapBytes > 0) {
                    MemorySegment bits = Arrow.lifetimes().holdImport(arena, what + " (validity)", 0, p.bitmapAddress,
                            p.bitmapBytes, release).asReadOnly();
                    held++;
                    validity = NdArray.asStrided(bits, DType.UINT8, 0, new long[] {p.bitmapBytes}, new long[] {1})
                            .asReadOnly();
                }
                columns.add(new ImportedColumn(p.name, values, validity, p.bitOffset, validity == null ? 0 : p.nullCount));
            }
        } catch (RuntimeException | Error e) {
            for (int i = held; i < holds; i++) {
                release.run();   // the holds never made: the last count releases the array
            }
            throw e;
        }
        return List.copyOf(columns);
    }

    static long[] cStrides(long[] shape, long itemBytes) {
        long[] strides = new long[shape.length];
        long step = itemBytes;
        for (int k = shape.length - 1; k >= 0; k--) {
            strides[k] = step;
            step = shape[k] == 0 ? step : step * shape[k];
        }
        return strides;
    }

    /** The format as a message shows it: non-printable characters escaped. */
    static String printable(String s) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < s.length(); i++) {
            char ch = s.charAt(i);
            if (ch >= 0x20 && ch < 0x7f && ch != '\\' && ch != '"') {
                b.append(ch);
            } else {
                b.append(String.format("\\u%04x", (int) ch));
            }
        }
        return b.toString();
    }
}
