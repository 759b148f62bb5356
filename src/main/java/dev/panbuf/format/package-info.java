/**
 * The two spellings of an element type, read and written as NumPy reads and writes them:
 * PEP 3118 struct formats ({@link dev.panbuf.format.StructFormat}), NumPy dtype strings and {@code .npy} descrs ({@link dev.panbuf.format.NumpyDescr}).
 */
package dev.panbuf.format;
