/**
 * The Arrow C data interface and C stream interface: views go out as Arrow
 * arrays, record batches and streams, and Arrow arrays come in as views, with no copy.
 */
package dev.panbuf.arrow;
