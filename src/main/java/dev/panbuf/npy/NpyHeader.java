package dev.panbuf.npy;

import dev.panbuf.DType;
import dev.panbuf.Order;
import dev.panbuf.format.NumpyDescr;

import java.math.BigInteger;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What a {@code .npy} file's header says: the format version, the dtype,
 * whether the data is in Fortran (column-major) order, the shape, and where
 * the data starts. {@link #parse} reads the bytes NumPy writes;
 * {@link #of} and {@link #encode()} write exactly the header
 * {@code numpy.save} writes for the same array.
 *
 * <h2>The format</h2>
 * <pre>
 * bytes 0-5   "\x93NUMPY"
 * byte  6, 7  major, minor version: 1.0, 2.0 or 3.0
 * then        header length: 2 bytes little-endian (1.0), 4 bytes (2.0, 3.0)
 * then        the header: a Python dict literal
 *             {'descr': ..., 'fortran_order': ..., 'shape': (...), }
 *             in latin-1 (1.0, 2.0) or UTF-8 (3.0), padded with spaces and
 *             one final newline so that the data starts at a multiple of 64
 * then        the data: product(shape) * itemsize bytes, C or Fortran order
 * </pre>
 *
 * @param majorVersion 1, 2 or 3
 * @param minorVersion 0
 * @param dtype        the element type ({@code descr})
 * @param fortranOrder true when the data is stored column-major
 * @param shape        the dimensions; empty for a 0-d array
 * @param dataOffset   bytes from the start of the file to the first data byte
 */
public record NpyHeader(int majorVersion, int minorVersion, DType dtype, boolean fortranOrder, long[] shape,
                        long dataOffset) {

    /** The six bytes every {@code .npy} file starts with. */
    static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
    /** The data of a file NumPy writes starts at a multiple of this. */
    static final int ALIGNMENT = 64;
    /** Headers longer than this are refused when reading (NumPy's own limit is 10000 by default). */
    public static final int MAX_HEADER_BYTES = 1 << 20;
    /** Bytes of the fixed prefix for version 1.0 (magic, version, 2-byte length). */
    static final int PREFIX_V1 = 10;
    /** Bytes of the fixed prefix for versions 2.0 and 3.0 (4-byte length). */
    static final int PREFIX_V2 = 12;

    private static final int GROWTH_AXIS_MAX_DIGITS = 21;
    private static final Set<String> KEYS = Set.of("descr", "fortran_order", "shape");
    private static final Pattern DESCR_POSITION = Pattern.compile(" at position (\\d+): ");

    /** Refuses a null dtype and keeps its own copy of the shape. */
    public NpyHeader {
        Objects.requireNonNull(dtype, "dtype");
        shape = shape.clone();
    }

    /**
     * {@return the header NumPy writes for an array of this dtype, order and shape (the smallest version that fits)}
     *
     * @param dtype the element type
     * @param fortranOrder whether the data is in Fortran (column-major) order
     * @param shape the size of each dimension
     */
    public static NpyHeader of(DType dtype, boolean fortranOrder, long... shape) {
        Objects.requireNonNull(dtype, "dtype");
        String text = headerText(dtype, fortranOrder, shape);
        int version = versionFor(text);
        int prefix = version == 1 ? PREFIX_V1 : PREFIX_V2;
        int textBytes = encoded(text, version).length;
        long hlen = textBytes + 1L;
        long pad = ALIGNMENT - ((prefix + hlen) % ALIGNMENT);
        NpyHeader h = new NpyHeader(version, 0, dtype, fortranOrder, shape, prefix + hlen + pad);
        h.dataBytes();   // refuses shapes whose size overflows
        return h;
    }

    /**
     * {@return the shape (a copy)}
     */
    @Override
    public long[] shape() {
        return shape.clone();
    }

    /** {@return number of elements: the product of the shape} */
    public long elementCount() {
        long n = 1;
        for (long d : shape) {
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    /** {@return bytes of data that follow the header} */
    public long dataBytes() {
        try {
            long nonZero = 1;
            boolean empty = false;
            for (long d : shape) {
                if (d == 0) {
                    empty = true;
                } else {
                    nonZero = Math.multiplyExact(nonZero, d);
                }
            }
            long bytes = Math.multiplyExact(nonZero, dtype.byteSize());
            return empty ? 0 : bytes;
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException("shape " + shapeText(shape) + " of " + dtype.str() + " is too large: its byte"
                    + " size overflows a long");
        }
    }

    /** {@return the storage order of the data} */
    public Order order() {
        return fortranOrder ? Order.F : Order.C;
    }

    /** {@return the byte strides of the stored data, as NumPy computes contiguous strides} */
    public long[] byteStrides() {
        long[] strides = new long[shape.length];
        long step = dtype.byteSize();
        for (int k = 0; k < shape.length; k++) {
            int axis = fortranOrder ? k : shape.length - 1 - k;
            strides[axis] = step;
            if (shape[axis] != 0) {
                step *= shape[axis];
            }
        }
        return strides;
    }

    /** {@return the header's dict literal as NumPy writes it (without padding)} */
    public String text() {
        return headerText(dtype, fortranOrder, shape);
    }

    /** {@return the whole prefix of the file: magic, version, length, padded header; {@link #dataOffset()} bytes} */
    public byte[] encode() {
        String text = text();
        byte[] body = encoded(text, majorVersion);
        int prefix = majorVersion == 1 ? PREFIX_V1 : PREFIX_V2;
        long hlen = body.length + 1L;
        long pad = ALIGNMENT - ((prefix + hlen) % ALIGNMENT);
        long total = prefix + hlen + pad;
        if (majorVersion == 1 && hlen + pad > 0xFFFF || total > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("header of " + (hlen + pad) + " bytes does not fit format version "
                    + majorVersion + ".0");
        }
        byte[] out = new byte[(int) total];
        System.arraycopy(MAGIC, 0, out, 0, MAGIC.length);
        out[6] = (byte) majorVersion;
        out[7] = (byte) minorVersion;
        long len = hlen + pad;
        out[8] = (byte) len;
        out[9] = (byte) (len >>> 8);
        if (majorVersion != 1) {
            out[10] = (byte) (len >>> 16);
            out[11] = (byte) (len >>> 24);
        }
        System.arraycopy(body, 0, out, prefix, body.length);
        Arrays.fill(out, prefix + body.length, out.length - 1, (byte) ' ');
        out[out.length - 1] = '\n';
        return out;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof NpyHeader h && majorVersion == h.majorVersion && minorVersion == h.minorVersion
                && dtype.equals(h.dtype) && fortranOrder == h.fortranOrder && Arrays.equals(shape, h.shape)
                && dataOffset == h.dataOffset;
    }

    @Override
    public int hashCode() {
        return Objects.hash(majorVersion, minorVersion, dtype, fortranOrder, Arrays.hashCode(shape), dataOffset);
    }

    @Override
    public String toString() {
        return "NpyHeader[version " + majorVersion + "." + minorVersion + ", " + text() + ", data at byte " + dataOffset + "]";
    }

    // ------------------------------------------------------------------ writing

    private static String headerText(DType dtype, boolean fortranOrder, long[] shape) {
        StringBuilder h = new StringBuilder("{'descr': ").append(NumpyDescr.descr(dtype))
                .append(", 'fortran_order': ").append(fortranOrder ? "True" : "False")
                .append(", 'shape': ").append(shapeText(shape)).append(", }");
        if (shape.length > 0) {
            // NumPy leaves room to rewrite the growth axis in place.
            long growth = shape[fortranOrder ? shape.length - 1 : 0];
            h.append(" ".repeat(Math.max(0, GROWTH_AXIS_MAX_DIGITS - Long.toString(growth).length())));
        }
        return h.toString();
    }

    /** Python's repr of a tuple of ints. */
    static String shapeText(long[] shape) {
        StringBuilder b = new StringBuilder("(");
        for (int k = 0; k < shape.length; k++) {
            if (k > 0) {
                b.append(", ");
            }
            b.append(shape[k]);
        }
        return b.append(shape.length == 1 ? ",)" : ")").toString();
    }

    /** NumPy's choice: 1.0 if the header is latin-1 and fits a 2-byte length, else 2.0, else 3.0 (UTF-8). */
    private static int versionFor(String text) {
        if (!isLatin1(text)) {
            return 3;
        }
        long hlen = text.length() + 1L;
        long pad = ALIGNMENT - ((PREFIX_V1 + hlen) % ALIGNMENT);
        return hlen + pad <= 0xFFFF ? 1 : 2;
    }

    private static boolean isLatin1(String text) {
        for (int k = 0; k < text.length(); k++) {
            if (text.charAt(k) > 0xFF) {
                return false;
            }
        }
        return true;
    }

    private static byte[] encoded(String text, int version) {
        if (version == 3) {
            return text.getBytes(StandardCharsets.UTF_8);
        }
        if (!isLatin1(text)) {
            throw new IllegalArgumentException("a version " + version + ".0 header must be latin-1; this one needs"
                    + " version 3.0 (UTF-8)");
        }
        return text.getBytes(StandardCharsets.ISO_8859_1);
    }

    // ------------------------------------------------------------------ reading

    /**
     * The length of the header text that follows the fixed prefix, read from
     * the first bytes of a file, after checking the magic and the version.
     *
     * @param prefix at least the first 8 bytes, and 12 when available
     * @param fileBytes the file's length, or -1 when unknown (a stream)
     * @return {major, minor, prefix length, header text length}
     */
    static int[] readPrefix(byte[] prefix, int available, long fileBytes) throws NpyFormatException {
        for (int k = 0; k < MAGIC.length; k++) {
            if (k >= available) {
                throw new NpyFormatException("not a .npy file: it ends after " + available + " bytes, inside the magic"
                        + " string \\x93NUMPY", available);
            }
            if (prefix[k] != MAGIC[k]) {
                throw new NpyFormatException("not a .npy file: the magic string \\x93NUMPY is expected at byte 0, found "
                        + hexBytes(prefix, Math.min(available, 6)), k);
            }
        }
        if (available < 8) {
            throw new NpyFormatException("truncated .npy file: it ends after " + available + " bytes, before the format"
                    + " version", available);
        }
        int major = prefix[6] & 0xFF;
        int minor = prefix[7] & 0xFF;
        if (major < 1 || major > 3 || minor != 0) {
            throw new NpyFormatException("unknown .npy format version " + major + "." + minor + " (panbuf reads 1.0, 2.0"
                    + " and 3.0)", 6);
        }
        int prefixLen = major == 1 ? PREFIX_V1 : PREFIX_V2;
        if (available < prefixLen) {
            throw new NpyFormatException("truncated .npy file: it ends after " + available + " bytes, inside the "
                    + (prefixLen - 8) + "-byte header length", available);
        }
        long hlen = (prefix[8] & 0xFFL) | (prefix[9] & 0xFFL) << 8;
        if (major != 1) {
            hlen |= (prefix[10] & 0xFFL) << 16 | (prefix[11] & 0xFFL) << 24;
        }
        if (hlen > MAX_HEADER_BYTES) {
            throw new NpyFormatException("header length " + hlen + " is larger than panbuf reads ("
                    + MAX_HEADER_BYTES + " bytes)", 8);
        }
        if (fileBytes >= 0 && prefixLen + hlen > fileBytes) {
            throw new NpyFormatException("truncated .npy file: the header length at byte 8 says the header ends at byte "
                    + (prefixLen + hlen) + ", but the file has " + fileBytes + " bytes", fileBytes);
        }
        return new int[] {major, minor, prefixLen, (int) hlen};
    }

    /**
     * Parses the header text (the {@code hlen} bytes after the prefix).
     *
     * @param header the header bytes
     * @param major  the format version, which decides the encoding
     * @param prefixLen where the header starts in the file
     */
    static NpyHeader parse(byte[] header, int major, int minor, int prefixLen) throws NpyFormatException {
        String text;
        if (major == 3) {
            try {
                text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                        .onUnmappableCharacter(CodingErrorAction.REPORT).decode(java.nio.ByteBuffer.wrap(header)).toString();
            } catch (CharacterCodingException e) {
                throw new NpyFormatException("the version 3.0 header is not valid UTF-8", prefixLen, e);
            }
        } else {
            text = new String(header, StandardCharsets.ISO_8859_1);
        }
        Positions at = new Positions(text, major == 3, prefixLen);
        HeaderLiteral.Node root;
        try {
            root = HeaderLiteral.parse(text, major <= 2);
        } catch (HeaderLiteral.SyntaxError e) {
            throw new NpyFormatException("the header is not a Python literal: " + e.reason, at.of(e.index), e);
        }
        if (!(root instanceof HeaderLiteral.Dict dict)) {
            throw new NpyFormatException("the header is not a dict literal but " + root.describe(), at.of(root.start()));
        }
        HeaderLiteral.Node descr = null, fortran = null, shapeNode = null;
        Set<String> seen = new HashSet<>();
        for (HeaderLiteral.Entry e : dict.entries()) {
            if (!(e.key() instanceof HeaderLiteral.Str key)) {
                throw new NpyFormatException("header keys must be strings, found " + e.key().describe(),
                        at.of(e.key().start()));
            }
            if (!KEYS.contains(key.value())) {
                throw new NpyFormatException("unexpected key '" + key.value() + "' in the header (the keys are exactly"
                        + " 'descr', 'fortran_order' and 'shape')", at.of(key.start()));
            }
            if (!seen.add(key.value())) {
                throw new NpyFormatException("duplicate key '" + key.value() + "' in the header", at.of(key.start()));
            }
            switch (key.value()) {
                case "descr" -> descr = e.value();
                case "fortran_order" -> fortran = e.value();
                default -> shapeNode = e.value();
            }
        }
        for (String k : new String[] {"descr", "fortran_order", "shape"}) {
            if (!seen.contains(k)) {
                throw new NpyFormatException("the header has no '" + k + "' key (the keys are exactly 'descr',"
                        + " 'fortran_order' and 'shape')", at.of(dict.end() - 1));
            }
        }
        if (!(fortran instanceof HeaderLiteral.Const c) || c.name().equals("None")) {
            throw new NpyFormatException("'fortran_order' must be True or False, found " + fortran.describe(),
                    at.of(fortran.start()));
        }
        boolean fortranOrder = c.name().equals("True");
        long[] shape = shape(shapeNode, at);
        DType dtype = dtype(descr, text, at);
        NpyHeader h = new NpyHeader(major, minor, dtype, fortranOrder, shape, prefixLen + (long) header.length);
        try {
            h.dataBytes();
        } catch (IllegalArgumentException e) {
            throw new NpyFormatException(e.getMessage(), at.of(shapeNode.start()));
        }
        return h;
    }

    private static long[] shape(HeaderLiteral.Node node, Positions at) throws NpyFormatException {
        if (!(node instanceof HeaderLiteral.Seq seq) || !seq.tuple()) {
            throw new NpyFormatException("'shape' must be a tuple of ints, found " + node.describe(), at.of(node.start()));
        }
        if (seq.items().size() > dev.panbuf.NdArray.MAX_NDIM) {
            throw new NpyFormatException("'shape' has " + seq.items().size() + " dimensions; at most "
                    + dev.panbuf.NdArray.MAX_NDIM + " are supported", at.of(node.start()));
        }
        long[] shape = new long[seq.items().size()];
        for (int k = 0; k < shape.length; k++) {
            HeaderLiteral.Node item = seq.items().get(k);
            if (!(item instanceof HeaderLiteral.Int n)) {
                throw new NpyFormatException("dimension " + k + " of 'shape' must be an int, found " + item.describe(),
                        at.of(item.start()));
            }
            if (n.value().signum() < 0) {
                throw new NpyFormatException("dimension " + k + " of 'shape' is negative (" + n.value() + ")",
                        at.of(item.start()));
            }
            if (n.value().compareTo(BigInteger.valueOf(Long.MAX_VALUE)) > 0) {
                throw new NpyFormatException("dimension " + k + " of 'shape' (" + n.value() + ") overflows a long",
                        at.of(item.start()));
            }
            shape[k] = n.value().longValueExact();
        }
        return shape;
    }

    private static DType dtype(HeaderLiteral.Node node, String text, Positions at) throws NpyFormatException {
        if (!(node instanceof HeaderLiteral.Str) && !(node instanceof HeaderLiteral.Seq)) {
            throw new NpyFormatException("'descr' must be a dtype string or a list of fields, found " + node.describe(),
                    at.of(node.start()));
        }
        String literal = text.substring(node.start(), node.end());
        try {
            return NumpyDescr.parseDescr(literal);
        } catch (IllegalArgumentException e) {
            int inner = 0;
            Matcher m = DESCR_POSITION.matcher(String.valueOf(e.getMessage()));
            if (m.find()) {
                inner = Math.min(Integer.parseInt(m.group(1)), literal.length());
            }
            throw new NpyFormatException("'descr' is not a dtype panbuf supports: " + e.getMessage(),
                    at.of(node.start() + inner), e);
        }
    }

    private static String hexBytes(byte[] b, int n) {
        StringBuilder s = new StringBuilder();
        for (int k = 0; k < n; k++) {
            s.append(String.format("\\x%02x", b[k] & 0xFF));
        }
        return s.isEmpty() ? "nothing" : s.toString();
    }

    /** Maps a character index of the header text to a byte offset in the file. */
    private record Positions(String text, boolean utf8, int base) {
        long of(int index) {
            int k = Math.max(0, Math.min(index, text.length()));
            return base + (utf8 ? text.substring(0, k).getBytes(StandardCharsets.UTF_8).length : k);
        }
    }
}
