/**
 * NumPy's {@code .npy} files: read, written and memory-mapped as
 * {@link dev.panbuf.NdArray}s, byte for byte as NumPy reads and writes them.
 */
package dev.panbuf.npy;
