/**
 * panbuf: the buffer protocol for Java.
 *
 * <p>Typed, strided, n-dimensional views ({@link dev.panbuf.NdArray}) over
 * off-heap or heap memory, shared with C through a {@code Py_buffer}-compatible
 * struct without copying, with every lifetime checked.
 */
module dev.panbuf {
    requires org.slf4j;

    exports dev.panbuf;
    exports dev.panbuf.npy;
    exports dev.panbuf.dlpack;
    exports dev.panbuf.arrow;
    exports dev.panbuf.python;
}
