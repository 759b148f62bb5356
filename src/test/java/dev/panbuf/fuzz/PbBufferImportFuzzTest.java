package dev.panbuf.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.panbuf.Accounting;
import dev.panbuf.BufferArena;
import dev.panbuf.DType;
import dev.panbuf.NdArray;
import dev.panbuf.shim.Shim;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.math.BigInteger;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * {@link NdArray#fromPbBuffer} of a {@code pb_buffer} whose every field comes
 * from the fuzzer, written into native memory with {@link Shim#fill} the way a
 * C producer would. Only {@code base} and {@code base_len} are kept honest
 * (they describe real bytes of a native block, or are NULL/negative, which
 * {@code pb_validate} must refuse), because no consumer can check that a
 * pointer C hands over is real; everything else may be anything, including
 * {@code buf} outside the block, any shape, strides, itemsize, ndim, format
 * (valid, invalid or fuzzed text), length, magic and ABI version.
 *
 * <p>The import must either give a view whose every reachable byte lies in
 * {@code [base, base + base_len)} (checked element by element, and by an
 * exact oracle of the header's rules), or throw
 * {@link IllegalArgumentException} having registered nothing: no live
 * import counted, and the producer's release never called. An accepted
 * buffer is released through the producer's callback exactly once, when the
 * importing arena closes. A refusal of a buffer the oracle calls valid is a
 * finding too.
 *
 * <p>Input layout: flags (1: bit 0 raw itemsize, bit 1 raw ndim, bit 2 raw
 * len, bit 3 NULL strides, bit 4 NULL base, bit 5 negative base_len, bit 6
 * raw magic and ABI version, bit 7 read-only), format (1: an index into
 * {@link #FORMATS}, or past it fuzzed text of up to 15 bytes that follow),
 * [itemsize (edgy)], ndim (1), NULL-shape flag (1), base offset (2) and
 * length (2), buf offset from base (edgy), per axis a shape (1: below 0x80
 * means & 7, else edgy) and a stride (edgy in item units), [len (edgy)],
 * [magic (8), ABI version (1)].
 */
class PbBufferImportFuzzTest {

    private static final int BLOCK = 2048;
    private static final Arena PRODUCER = Arena.ofShared();   // lives as long as the JVM, as a C library's memory would
    private static final MemorySegment DATA = PRODUCER.allocate(BLOCK, 64);
    private static final MemorySegment SHAPE = PRODUCER.allocate(ValueLayout.JAVA_LONG, 70);
    private static final MemorySegment STRIDES = PRODUCER.allocate(ValueLayout.JAVA_LONG, 70);
    private static final MemorySegment FORMAT_TEXT = PRODUCER.allocate(16);
    private static final AtomicInteger RELEASES = new AtomicInteger();
    private static final MemorySegment STRUCT = Shim.newStruct(PRODUCER, self -> RELEASES.incrementAndGet());
    /** {format or null for NULL, the item size the format says}. */
    private static final String[] FORMATS = {null, "B", "<h", "<f", "d", "3s", "T{<i:x:<d:y:}", "T{b:a:d:b:}", "T{", "",
        "?", ">q", "e", "2 0s", "x", "Zd", "T{B:a:=i:b:}", "<i:x:", "@bi"};
    private static final MemorySegment[] FORMAT_SEGMENTS = new MemorySegment[FORMATS.length];

    static {
        for (int i = 0; i < FORMATS.length; i++) {
            FORMAT_SEGMENTS[i] = FORMATS[i] == null ? MemorySegment.NULL : PRODUCER.allocateFrom(FORMATS[i]);
        }
        for (int b = 0; b < BLOCK; b++) {
            DATA.set(ValueLayout.JAVA_BYTE, b, (byte) (b * 13 + 5));
        }
    }

    @FuzzTest(maxDuration = "60s")
    void importIsInBoundsOrRefusedWithNothingRegistered(byte[] input) {
        Fuzz.Input in = new Fuzz.Input(input);
        int flags = in.u8();
        int f = in.below(FORMATS.length + 1);
        String format;
        MemorySegment formatPointer;
        if (f < FORMATS.length) {
            format = FORMATS[f] == null ? "B" : FORMATS[f];
            formatPointer = FORMAT_SEGMENTS[f];
        } else {
            byte[] text = new byte[in.below(16)];
            for (int k = 0; k < text.length; k++) {
                text[k] = (byte) Math.max(1, in.u8());   // the C string ends at the first NUL: keep none inside
            }
            FORMAT_TEXT.fill((byte) 0);
            MemorySegment.copy(text, 0, FORMAT_TEXT, ValueLayout.JAVA_BYTE, 0, text.length);
            formatPointer = FORMAT_TEXT;
            format = FORMAT_TEXT.getString(0);   // as the import reads it (UTF-8)
        }
        // What pb_validate computes: the C size of exactly these bytes.
        long formatSize = formatPointer.equals(MemorySegment.NULL) ? 1 : Shim.sizeFromFormatAt(formatPointer.address());
        long itemSize = (flags & 1) != 0 ? in.edgy(1) : formatSize > 0 ? formatSize : 4;
        int ndimByte = in.u8();
        int ndim = (flags & 2) != 0 ? (byte) ndimByte : ndimByte % 6;
        boolean nullShape = in.u8() == 0xFF;
        int baseOffset = in.u16() % BLOCK;
        long baseLen = in.u16() % (BLOCK - baseOffset + 1);
        if ((flags & 32) != 0) {
            baseLen = -1 - in.below(4);
        }
        boolean nullBase = (flags & 16) != 0;
        long bufOffset = in.edgy(itemSize);
        int axes = Math.max(0, Math.min(ndim, 66));
        long[] shape = new long[axes];
        long[] strides = new long[axes];
        for (int i = 0; i < axes; i++) {
            int b = in.u8();
            shape[i] = b < 0x80 ? b & 7 : in.edgy(1);
            strides[i] = in.edgy(itemSize);
        }
        boolean nullStrides = (flags & 8) != 0;
        if (nullStrides) {
            strides = cStrides(shape, itemSize);
        }
        long len = (flags & 4) != 0 ? in.edgy(itemSize) : byteLength(shape, itemSize).longValue();
        int magic = Shim.MAGIC_LIVE;
        int abi = Shim.ABI_VERSION;
        if ((flags & 64) != 0) {
            magic = in.bit() ? Shim.MAGIC_RELEASED : (int) in.s64();
            abi = in.u8();
        }
        boolean readOnly = (flags & 128) != 0;

        for (int i = 0; i < axes; i++) {
            SHAPE.setAtIndex(ValueLayout.JAVA_LONG, i, shape[i]);
            STRIDES.setAtIndex(ValueLayout.JAVA_LONG, i, strides[i]);
        }
        long base = nullBase ? 0 : DATA.address() + baseOffset;
        long buf = base + bufOffset;   // a number only: C code would not dereference it before validating
        Shim.fill(STRUCT, buf, len, itemSize, readOnly, ndim, formatPointer, nullShape ? MemorySegment.NULL : SHAPE,
                nullStrides ? MemorySegment.NULL : STRIDES, magic, abi, base, baseLen);

        String what = "pb_buffer{buf=base" + (bufOffset >= 0 ? "+" : "") + bufOffset + ", len=" + len + ", itemsize=" + itemSize
                + ", ndim=" + ndim + ", format=\"" + format + "\", shape=" + (nullShape ? "NULL" : Arrays.toString(shape))
                + ", strides=" + (nullStrides ? "NULL" : Arrays.toString(strides)) + ", magic=0x" + Integer.toHexString(magic)
                + ", abi=" + abi + ", base=" + (nullBase ? "NULL" : "block+" + baseOffset) + ", base_len=" + baseLen + "}";
        String invalid = oracle(magic, abi, ndim, nullShape && ndim > 0, shape, itemSize, formatSize, format, len, nullBase,
                baseLen, bufOffset, strides);

        long imports = Accounting.liveImports();
        int releases = RELEASES.get();
        BufferArena arena = BufferArena.ofConfined();
        NdArray view;
        try {
            view = NdArray.fromPbBuffer(STRUCT, arena);
        } catch (IllegalArgumentException refused) {
            Fuzz.checkMessage(refused, what);
            assertEquals(imports, Accounting.liveImports(), what + ": a refused import was counted");
            arena.close();
            assertEquals(releases, RELEASES.get(), what + ": a refused buffer was released; it is still the producer's");
            if (invalid == null) {
                fail(what + " is valid but was refused: " + refused.getMessage(), refused);
            }
            return;
        }
        try {
            if (invalid != null) {
                fail(what + " was imported, but " + invalid + ": " + view.describe());
            }
            assertEquals(imports + 1, Accounting.liveImports(), what);
            check(view, shape, strides, itemSize, readOnly, baseLen, baseOffset, what);
        } finally {
            arena.close();
        }
        assertEquals(releases + 1, RELEASES.get(), what + ": released exactly once when the importing arena closed");
        assertEquals(imports, Accounting.liveImports(), what);
        assertEquals(Shim.MAGIC_RELEASED, Shim.magic(STRUCT), what);
    }

    private static void check(NdArray view, long[] shape, long[] strides, long itemSize, boolean readOnly, long baseLen,
                              int baseOffset, String what) {
        assertArrayEquals(shape, view.shape(), what);
        assertArrayEquals(strides, view.byteStrides(), what);
        assertEquals(itemSize, view.dtype().byteSize(), what);
        assertEquals(readOnly, view.isReadOnly(), what);
        MemorySegment memory = view.segment();
        assertEquals(baseLen, memory.byteSize(), what + ": the import maps exactly [base, base + base_len)");
        long count = view.elementCount();
        AsStridedFuzzTest.Elements elements = new AsStridedFuzzTest.Elements(shape, strides, count, count <= 1 << 14);
        for (long[] index = elements.next(); index != null; index = elements.next()) {
            long at = view.byteOffsetOf(index);
            assertTrue(at >= 0 && at + itemSize <= baseLen, what + ": element " + Arrays.toString(index) + " at base+" + at
                    + " is outside [base, base+" + baseLen + ")");
            for (long k = 0; k < itemSize; k++) {
                long absolute = baseOffset + at + k;
                assertEquals((byte) (absolute * 13 + 5), memory.get(ValueLayout.JAVA_BYTE, at + k), what);
            }
        }
        if (count <= 1000) {
            assertTrue(!view.toString().isEmpty());
        }
    }

    /** Why pb_validate or Java's import must refuse the buffer, or null when both must accept it. */
    static String oracle(int magic, int abi, int ndim, boolean nullShapeWithAxes, long[] shape, long itemSize, long formatSize,
                         String format, long len, boolean nullBase, long baseLen, long bufOffset, long[] strides) {
        if (magic != Shim.MAGIC_LIVE) {
            return "its magic is not live";
        }
        if (abi < 1 || abi > Shim.ABI_VERSION) {
            return "its abi_version is unknown";
        }
        if (ndim < 0 || ndim > Shim.MAX_NDIM) {
            return "ndim is out of range";
        }
        if (nullShapeWithAxes) {
            return "shape is NULL";
        }
        boolean empty = false;
        for (long d : shape) {
            if (d < 0) {
                return "a dimension is negative";
            }
            empty |= d == 0;
        }
        if (itemSize <= 0) {
            return "itemsize is not positive";
        }
        if (formatSize != itemSize) {
            return "the format does not describe itemsize bytes";
        }
        BigInteger bytes = byteLength(shape, itemSize);
        if (bytes.bitLength() > 63) {
            return "its byte length overflows";
        }
        if (bytes.longValue() != len) {
            return "len is not product(shape) * itemsize";
        }
        if (baseLen < 0) {
            return "base_len is negative";
        }
        if (nullBase && baseLen > 0) {
            return "base is NULL";
        }
        DType dtype;
        try {
            dtype = DType.fromFormat(format);
        } catch (IllegalArgumentException e) {
            return "Java cannot type its format";
        }
        if (dtype.byteSize() != itemSize) {
            return "Java's item size differs";
        }
        if (empty) {
            // pb_validate accepts any buf for an empty view; Java also wants its offset inside [0, base_len].
            return bufOffset < 0 || bufOffset > baseLen ? "an empty view's buf is outside [base, base + base_len]" : null;
        }
        if (nullBase) {
            return "base is NULL";
        }
        BigInteger low = BigInteger.ZERO;
        BigInteger high = BigInteger.valueOf(itemSize);
        for (int i = 0; i < shape.length; i++) {
            BigInteger span = BigInteger.valueOf(strides[i]).multiply(BigInteger.valueOf(shape[i] - 1));
            if (span.bitLength() > 63) {
                return "an extent overflows";
            }
            if (span.signum() < 0) {
                low = low.add(span);
            } else {
                high = high.add(span);
            }
        }
        if (low.bitLength() > 63 || high.bitLength() > 63) {
            return "the reach overflows";
        }
        BigInteger b = BigInteger.valueOf(bufOffset);
        if (bufOffset < 0 || bufOffset >= baseLen || b.add(low).signum() < 0
                || b.add(high).compareTo(BigInteger.valueOf(baseLen)) > 0) {
            return "it reaches outside [base, base + base_len)";
        }
        return null;
    }

    private static BigInteger byteLength(long[] shape, long itemSize) {
        BigInteger n = BigInteger.valueOf(itemSize);
        for (long d : shape) {
            n = n.multiply(BigInteger.valueOf(d));
        }
        return n;
    }

    /** What NULL strides mean: C-contiguous (wrapping like the C code, for invalid shapes only). */
    private static long[] cStrides(long[] shape, long itemSize) {
        long[] out = new long[shape.length];
        long step = itemSize;
        for (int i = shape.length - 1; i >= 0; i--) {
            out[i] = step;
            step *= shape[i];
        }
        return out;
    }
}
