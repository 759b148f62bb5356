package dev.panbuf;

/**
 * Thrown when memory cannot be freed or moved because C may still be using
 * it: closing a {@link BufferArena}, or resizing a {@link GrowableBuffer},
 * while exports of it are live. Nothing was changed when this is thrown.
 */
public final class LiveExportsException extends IllegalStateException {

    private static final long serialVersionUID = 1L;

    /** How many exports were live. */
    private final int liveExports;

    LiveExportsException(String message, int liveExports) {
        super(message);
        this.liveExports = liveExports;
    }

    /** {@return how many exports were live} */
    public int liveExports() {
        return liveExports;
    }
}
