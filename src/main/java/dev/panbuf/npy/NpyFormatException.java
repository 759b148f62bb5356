package dev.panbuf.npy;

import java.io.IOException;

/**
 * A {@code .npy} file (or stream) that is not what its header says, or whose
 * header panbuf cannot read: bad magic, an unknown format version, a
 * truncated prefix or header, a header that is not the dict literal NumPy
 * writes (missing or extra keys, a shape with negative or overflowing
 * dimensions), a dtype panbuf does not support, or less data than the header
 * declares. The message says what is wrong and where; {@link #byteOffset()}
 * is the position in the file, counted from its first byte.
 *
 * <p>Nothing was allocated, mapped or written when this is thrown.
 */
public final class NpyFormatException extends IOException {

    private static final long serialVersionUID = 1L;

    /** Where in the file the problem is. */
    private final long byteOffset;

    NpyFormatException(String reason, long byteOffset) {
        super(reason + " (at byte " + byteOffset + ")");
        this.byteOffset = byteOffset;
    }

    NpyFormatException(String reason, long byteOffset, Throwable cause) {
        this(reason, byteOffset);
        initCause(cause);
    }

    /**
     * {@return where in the file the problem is: 0 is the first byte of the magic string}
     */
    public long byteOffset() {
        return byteOffset;
    }
}
