package dev.panbuf;

import dev.panbuf.format.NumpyDescr;
import dev.panbuf.format.StructFormat;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Objects;

/**
 * The type of one element of an {@link NdArray}: its kind, size in bytes, byte
 * order, and, for records, its named fields.
 *
 * <p>A dtype reads and prints both spellings that the buffer world uses: NumPy's
 * dtype strings ({@code <f4}, {@code >i2}, {@code |u1}, {@code |b1}) and PEP 3118
 * struct strings ({@code <f}, {@code >h}, {@code T{<i:x:<d:y:}}), converting
 * between them as NumPy does when it exports or consumes a buffer.
 *
 * {@snippet :
 * DType f = DType.parse("<f4");            // NumPy spelling
 * DType g = DType.fromFormat("<f");        // PEP 3118 spelling of the same type
 * assert f.equals(g) && f.format().equals("<f") && g.str().equals("<f4");
 * }
 *
 * <p>Dtypes are immutable values; equal dtypes describe the same bytes.
 */
public final class DType {

    /** What the bytes of an element mean. */
    public enum Kind {
        /** {@code |b1}: one byte, 0 is false and anything else true. */
        BOOL('b'),
        /** Two's complement integer: {@code i1 i2 i4 i8}. */
        SIGNED('i'),
        /** Unsigned integer: {@code u1 u2 u4 u8}; read into the same-size Java type. */
        UNSIGNED('u'),
        /** IEEE 754 binary float: {@code f2 f4 f8}. */
        FLOAT('f'),
        /** Uninterpreted bytes ({@code |S<n>}, {@code |V<n>}, struct {@code <n>s}). */
        BYTES('V'),
        /** A record of named fields at fixed byte offsets ({@code T{...}}). */
        RECORD('V');

        private final char numpyKind;

        Kind(char numpyKind) {
            this.numpyKind = numpyKind;
        }

        /** {@return NumPy's one-letter {@code dtype.kind}} */
        public char numpyKind() {
            return numpyKind;
        }
    }

    /**
     * One named field of a record dtype.
     *
     * @param name the field's name
     * @param dtype the field's dtype
     * @param byteOffset where the field starts inside the record, in bytes
     */
    public record Field(String name, DType dtype, long byteOffset) {
        /** Refuses a null name or dtype and a negative offset. */
        public Field {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(dtype, "dtype");
            if (byteOffset < 0) {
                throw new IllegalArgumentException("field '" + name + "' has negative byte offset " + byteOffset);
            }
        }
    }

    // Element access codes: which Java carrier and which byte order. NdArray
    // branches on these small ints in its hot accessors.
    static final int A_NONE = 0, A_BOOL = 1, A_I8 = 2,
            A_I16_LE = 3, A_I16_BE = 4, A_I32_LE = 5, A_I32_BE = 6, A_I64_LE = 7, A_I64_BE = 8,
            A_F16_LE = 9, A_F16_BE = 10, A_F32_LE = 11, A_F32_BE = 12, A_F64_LE = 13, A_F64_BE = 14;

    private static final boolean NATIVE_LE = ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN;

    /** The largest item, in bytes, a dtype may have: NumPy keeps item sizes in a C {@code int}. */
    public static final long MAX_ITEM_SIZE = Integer.MAX_VALUE;

    /** {@code |b1}: NumPy's bool, one byte. */
    public static final DType BOOL = scalar(Kind.BOOL, 1, null);
    /** {@code |i1}: int8. */
    public static final DType INT8 = scalar(Kind.SIGNED, 1, null);
    /** {@code |u1}: uint8. */
    public static final DType UINT8 = scalar(Kind.UNSIGNED, 1, null);
    /** int16 in the native byte order. */
    public static final DType INT16 = scalar(Kind.SIGNED, 2, ByteOrder.nativeOrder());
    /** uint16 in the native byte order. */
    public static final DType UINT16 = scalar(Kind.UNSIGNED, 2, ByteOrder.nativeOrder());
    /** int32 in the native byte order. */
    public static final DType INT32 = scalar(Kind.SIGNED, 4, ByteOrder.nativeOrder());
    /** uint32 in the native byte order. */
    public static final DType UINT32 = scalar(Kind.UNSIGNED, 4, ByteOrder.nativeOrder());
    /** int64 in the native byte order. */
    public static final DType INT64 = scalar(Kind.SIGNED, 8, ByteOrder.nativeOrder());
    /** uint64 in the native byte order. */
    public static final DType UINT64 = scalar(Kind.UNSIGNED, 8, ByteOrder.nativeOrder());
    /** IEEE binary16 (NumPy float16) in the native byte order. */
    public static final DType FLOAT16 = scalar(Kind.FLOAT, 2, ByteOrder.nativeOrder());
    /** IEEE binary32 (float32) in the native byte order. */
    public static final DType FLOAT32 = scalar(Kind.FLOAT, 4, ByteOrder.nativeOrder());
    /** IEEE binary64 (float64) in the native byte order. */
    public static final DType FLOAT64 = scalar(Kind.FLOAT, 8, ByteOrder.nativeOrder());

    private final Kind kind;
    private final long byteSize;
    private final ByteOrder byteOrder;   // null when not applicable (one-byte types, bytes, records)
    private final long byteAlignment;
    private final List<Field> fields;    // empty unless RECORD
    final int access;
    private final MemoryLayout layout;
    private String format;               // format(), computed once: every export needs it

    private DType(Kind kind, long byteSize, ByteOrder byteOrder, long byteAlignment, List<Field> fields) {
        this.kind = kind;
        this.byteSize = byteSize;
        this.byteOrder = byteOrder;
        this.byteAlignment = byteAlignment;
        this.fields = fields;
        this.access = accessCode(kind, byteSize, byteOrder);
        this.layout = buildLayout();
    }

    /**
     * {@return a scalar dtype}
     *
     * @param kind     any kind but {@link Kind#RECORD}
     * @param byteSize 1, 2, 4 or 8 as the kind allows (bool: 1; float: 2, 4, 8); for {@link Kind#BYTES} 1 to {@value #MAX_ITEM_SIZE}
     * @param order    the byte order; ignored (and reported as {@code null}) for one-byte types and bytes
     * @throws IllegalArgumentException naming the kind and size when NumPy has no such type
     */
    public static DType scalar(Kind kind, long byteSize, ByteOrder order) {
        Objects.requireNonNull(kind, "kind");
        boolean ok = switch (kind) {
            case BOOL -> byteSize == 1;
            case SIGNED, UNSIGNED -> byteSize == 1 || byteSize == 2 || byteSize == 4 || byteSize == 8;
            case FLOAT -> byteSize == 2 || byteSize == 4 || byteSize == 8;
            case BYTES -> byteSize > 0 && byteSize <= MAX_ITEM_SIZE;
            case RECORD -> false;
        };
        if (!ok) {
            throw new IllegalArgumentException(kind == Kind.RECORD
                    ? "a record dtype is built with DType.record(fields, byteSize), not DType.scalar"
                    : "no " + kind.name().toLowerCase() + " dtype of " + byteSize + " bytes; "
                    + switch (kind) {
                        case BOOL -> "bool is 1 byte";
                        case FLOAT -> "floats are 2, 4 or 8 bytes";
                        case BYTES -> byteSize > 0 ? "bytes are at most " + MAX_ITEM_SIZE
                                + " bytes, the largest item NumPy allows (it keeps item sizes in a C int)"
                                : "bytes need a size > 0";
                        default -> "integers are 1, 2, 4 or 8 bytes";
                    });
        }
        ByteOrder effective = (byteSize == 1 || kind == Kind.BYTES) ? null : Objects.requireNonNull(order, "order");
        long alignment = kind == Kind.BYTES ? 1 : byteSize;
        return new DType(kind, byteSize, effective, alignment, List.of());
    }

    /**
     * {@return a record dtype: named fields at given byte offsets inside an element of
     * {@code byteSize} bytes} Bytes not covered by a field are padding. Fields
     * may be listed in any order but may not overlap or extend past the element.
     *
     * @param fields the fields, in the order NumPy lists their names
     * @param byteSize the size of one record in bytes
     * @throws IllegalArgumentException naming the field, when a name repeats, is empty,
     *         or a field overlaps another or the end of the element; naming the size when it
     *         is not between 1 and {@value #MAX_ITEM_SIZE}
     */
    public static DType record(List<Field> fields, long byteSize) {
        Objects.requireNonNull(fields, "fields");
        if (byteSize <= 0) {
            throw new IllegalArgumentException("a record needs a byte size > 0, got " + byteSize);
        }
        if (byteSize > MAX_ITEM_SIZE) {
            throw new IllegalArgumentException("a record of " + byteSize + " bytes is larger than " + MAX_ITEM_SIZE
                    + " bytes, the largest item NumPy allows (it keeps item sizes in a C int)");
        }
        List<Field> copy = List.copyOf(fields);
        List<Field> byOffset = new ArrayList<>(copy);
        byOffset.sort((a, b) -> Long.compare(a.byteOffset(), b.byteOffset()));
        java.util.Set<String> names = new java.util.HashSet<>();
        long alignment = 1;
        long end = 0;
        Field previous = null;
        for (Field f : byOffset) {
            if (f.name().isEmpty()) {
                throw new IllegalArgumentException("record field at byte offset " + f.byteOffset() + " has an empty name");
            }
            if (!names.add(f.name())) {
                throw new IllegalArgumentException("record field name '" + f.name() + "' appears twice");
            }
            if (f.byteOffset() < end) {
                throw new IllegalArgumentException("record field '" + f.name() + "' at byte offset " + f.byteOffset()
                        + " overlaps field '" + previous.name() + "' which ends at byte " + end);
            }
            if (f.byteOffset() > Long.MAX_VALUE - f.dtype().byteSize()) {   // offset + size would overflow
                throw new IllegalArgumentException("record field '" + f.name() + "' at byte offset " + f.byteOffset()
                        + " ends past the record's byte size " + byteSize);
            }
            end = f.byteOffset() + f.dtype().byteSize();
            if (end > byteSize) {
                throw new IllegalArgumentException("record field '" + f.name() + "' ends at byte " + end
                        + ", past the record's byte size " + byteSize);
            }
            alignment = Math.max(alignment, f.dtype().byteAlignment());
            previous = f;
        }
        // Aligned like a C struct only when every field sits at a multiple of its own
        // alignment and the size is a multiple of the largest; a packed record
        // (NumPy's default, align=False) may sit at any byte, as NumPy reports.
        boolean cLike = byteSize % alignment == 0;
        for (Field f : copy) {
            cLike &= f.byteOffset() % f.dtype().byteAlignment() == 0;
        }
        return new DType(Kind.RECORD, byteSize, null, cLike ? alignment : 1, Collections.unmodifiableList(copy));
    }

    /**
     * Parses a NumPy dtype string ({@code dtype.str} or {@code dtype.descr}
     * spelling): {@code |b1 |i1 |u1 <i2 >u4 =f8 <f2}, and the short forms NumPy
     * accepts ({@code f4}, {@code float32}, {@code int64}, {@code ?}).
     *
     * @param numpyDtype the dtype as NumPy spells it
     * @return the dtype
     * @throws IllegalArgumentException naming the string and what is wrong with it
     */
    public static DType parse(String numpyDtype) {
        return NumpyDescr.parse(numpyDtype);
    }

    /**
     * Parses a PEP 3118 struct string as NumPy and {@code memoryview} emit and
     * accept: byte-order prefixes {@code @ = < > !}, codes
     * {@code ? b B h H i I l L q Q e f d x s}, repeat counts, and
     * {@code T{...:name:}} records with padding.
     *
     * @param pep3118 the struct string, as {@code memoryview.format} gives it
     * @return the dtype
     * @throws IllegalArgumentException naming the position and what was expected there
     */
    public static DType fromFormat(String pep3118) {
        return StructFormat.parse(pep3118);
    }

    /** {@return the kind of element} */
    public Kind kind() {
        return kind;
    }

    /** {@return bytes of one element (NumPy's {@code itemsize})} */
    public long byteSize() {
        return byteSize;
    }

    /** {@return the byte order, or {@code null} when it does not apply (one-byte types, bytes, records)} */
    public ByteOrder byteOrder() {
        return byteOrder;
    }

    /** {@return true when the elements are in the platform's order, or order does not apply} */
    public boolean isNativeOrder() {
        return byteOrder == null || byteOrder == ByteOrder.nativeOrder();
    }

    /**
     * {@return the alignment in bytes that C gives this type; for records, their largest
     * field's when every field is naturally aligned (a C struct), else 1 (packed)}
     */
    public long byteAlignment() {
        return byteAlignment;
    }

    /** {@return true for {@link Kind#RECORD}} */
    public boolean isRecord() {
        return kind == Kind.RECORD;
    }

    /** {@return the fields of a record, in declaration order; empty for scalars} */
    public List<Field> fields() {
        return fields;
    }

    /**
     * {@return the field called {@code name}}
     *
     * @param name the field's name
     * @throws IllegalArgumentException listing the field names when there is no such field
     */
    public Field field(String name) {
        for (Field f : fields) {
            if (f.name().equals(name)) {
                return f;
            }
        }
        if (!isRecord()) {
            throw new IllegalArgumentException("dtype " + str() + " is not a record; field('" + name + "') needs a record dtype");
        }
        List<String> names = fields.stream().map(Field::name).toList();
        throw new IllegalArgumentException("no field '" + name + "' in record dtype " + this + "; fields are " + names);
    }

    /**
     * {@return the same dtype in {@code order} (records: every field)}
     *
     * @param order the byte order
     */
    public DType withByteOrder(ByteOrder order) {
        Objects.requireNonNull(order, "order");
        if (kind == Kind.RECORD) {
            List<Field> swapped = fields.stream()
                    .map(f -> new Field(f.name(), f.dtype().withByteOrder(order), f.byteOffset())).toList();
            return record(swapped, byteSize);
        }
        if (byteOrder == null || byteOrder == order) {
            return this;
        }
        return new DType(kind, byteSize, order, byteAlignment, List.of());
    }

    /** {@return the same dtype in the platform's byte order} */
    public DType withNativeOrder() {
        return withByteOrder(ByteOrder.nativeOrder());
    }

    /**
     * {@return NumPy's {@code dtype.str}: {@code <f4}, {@code |u1}, {@code |b1}, and
     * {@code |V<n>} for records and bytes}
     */
    public String str() {
        return NumpyDescr.str(this);
    }

    /** {@return the PEP 3118 struct string NumPy's buffer export gives this dtype ({@code memoryview(a).format})} */
    public String format() {
        String f = format;
        if (f == null) {
            f = StructFormat.format(this);
            format = f;   // a racy cache of an immutable String, as String.hash is
        }
        return f;
    }

    /**
     * {@return the memory layout of one element: a {@link ValueLayout} in this dtype's
     * byte order for scalars, a {@link StructLayout} (with padding) for records,
     * a byte sequence for {@link Kind#BYTES}} Scalar layouts have alignment 1,
     * because views may sit at any byte offset (a heap {@code byte[]}, a packed
     * record); use {@link #alignedLayout()} where the memory is known aligned.
     */
    public MemoryLayout layout() {
        return layout;
    }

    /**
     * {@return {@link #layout()} with the natural alignment C would give it}
     */
    public MemoryLayout alignedLayout() {
        if (kind == Kind.RECORD) {
            return layout.withByteAlignment(byteAlignment);
        }
        return layout.withByteAlignment(byteAlignment);
    }

    /** {@return the scalar {@link ValueLayout}, unaligned, in this dtype's order} */
    public ValueLayout valueLayout() {
        if (layout instanceof ValueLayout v) {
            return v;
        }
        throw new IllegalArgumentException("dtype " + str() + " is a " + kind.name().toLowerCase() + " type and has no single value layout; use layout()");
    }

    /**
     * {@return the Java type that {@link NdArray}'s typed accessors use for this dtype:
     * {@code boolean}, {@code byte}, {@code short}, {@code int}, {@code long}
     * (unsigned types in the same-size signed carrier), {@code float} (for
     * float16 and float32) or {@code double}; {@code null} for records and bytes}
     */
    public Class<?> carrier() {
        return switch (kind) {
            case BOOL -> boolean.class;
            case SIGNED, UNSIGNED -> switch ((int) byteSize) {
                case 1 -> byte.class;
                case 2 -> short.class;
                case 4 -> int.class;
                default -> long.class;
            };
            case FLOAT -> byteSize == 8 ? double.class : float.class;
            case BYTES, RECORD -> null;
        };
    }

    /** {@return a readable name: {@code float32}, {@code uint8}, {@code >int16}, {@code record T{...}}} */
    public String name() {
        String base = switch (kind) {
            case BOOL -> "bool";
            case SIGNED -> "int" + byteSize * 8;
            case UNSIGNED -> "uint" + byteSize * 8;
            case FLOAT -> "float" + byteSize * 8;
            case BYTES -> "bytes" + byteSize;
            case RECORD -> "record " + this;
        };
        return isNativeOrder() ? base : (byteOrder == ByteOrder.BIG_ENDIAN ? ">" : "<") + base;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof DType d && kind == d.kind && byteSize == d.byteSize
                && Objects.equals(byteOrder, d.byteOrder) && fields.equals(d.fields);
    }

    @Override
    public int hashCode() {
        return Objects.hash(kind, byteSize, byteOrder, fields);
    }

    /**
     * The NumPy dtype string for scalars, the struct string for records (the
     * {@code .npy} descr for a record with a field name that contains {@code ':'},
     * which a struct string cannot express).
     */
    @Override
    public String toString() {
        if (kind != Kind.RECORD) {
            return str();
        }
        try {
            return format();
        } catch (IllegalArgumentException e) {
            return NumpyDescr.descr(this);
        }
    }

    private static int accessCode(Kind kind, long byteSize, ByteOrder order) {
        boolean le = order == null || order == ByteOrder.LITTLE_ENDIAN;
        return switch (kind) {
            case BOOL -> A_BOOL;
            case SIGNED, UNSIGNED -> switch ((int) byteSize) {
                case 1 -> A_I8;
                case 2 -> le ? A_I16_LE : A_I16_BE;
                case 4 -> le ? A_I32_LE : A_I32_BE;
                default -> le ? A_I64_LE : A_I64_BE;
            };
            case FLOAT -> switch ((int) byteSize) {
                case 2 -> le ? A_F16_LE : A_F16_BE;
                case 4 -> le ? A_F32_LE : A_F32_BE;
                default -> le ? A_F64_LE : A_F64_BE;
            };
            case BYTES, RECORD -> A_NONE;
        };
    }

    private MemoryLayout buildLayout() {
        ByteOrder order = byteOrder == null ? ByteOrder.nativeOrder() : byteOrder;
        return switch (kind) {
            case BOOL -> ValueLayout.JAVA_BOOLEAN;
            case SIGNED, UNSIGNED -> switch ((int) byteSize) {
                case 1 -> ValueLayout.JAVA_BYTE;
                case 2 -> ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(order);
                case 4 -> ValueLayout.JAVA_INT_UNALIGNED.withOrder(order);
                default -> ValueLayout.JAVA_LONG_UNALIGNED.withOrder(order);
            };
            case FLOAT -> switch ((int) byteSize) {
                case 2 -> ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(order);
                case 4 -> ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(order);
                default -> ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(order);
            };
            case BYTES -> MemoryLayout.sequenceLayout(byteSize, ValueLayout.JAVA_BYTE);
            case RECORD -> recordLayout();
        };
    }

    private StructLayout recordLayout() {
        List<Field> byOffset = new ArrayList<>(fields);
        byOffset.sort((a, b) -> Long.compare(a.byteOffset(), b.byteOffset()));
        List<MemoryLayout> members = new ArrayList<>();
        long at = 0;
        for (Field f : byOffset) {
            if (f.byteOffset() > at) {
                members.add(MemoryLayout.paddingLayout(f.byteOffset() - at));
            }
            members.add(f.dtype().layout().withName(f.name()));
            at = f.byteOffset() + f.dtype().byteSize();
        }
        if (byteSize > at) {
            members.add(MemoryLayout.paddingLayout(byteSize - at));
        }
        return MemoryLayout.structLayout(members.toArray(MemoryLayout[]::new));
    }

    static boolean nativeLittleEndian() {
        return NATIVE_LE;
    }
}
