/**
 * DLPack: views exported as DLPack managed tensors, and DLPack tensors from
 * other libraries imported as {@link dev.panbuf.NdArray}s, with no copy.
 */
package dev.panbuf.dlpack;
