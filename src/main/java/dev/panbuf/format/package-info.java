/**
 * The two spellings of an element type in the buffer world, read and written as NumPy does:
 * PEP 3118 struct formats ({@link dev.panbuf.format.StructFormat}) and NumPy dtype strings and {@code .npy} descrs ({@link dev.panbuf.format.NumpyDescr}).
 */
package dev.panbuf.format;
