/*
 * panbuf_examples.h -- a small C library that consumes pb_buffer views of
 * float32 data. Java calls it in panbuf's round-trip tests and in
 * `panbuf demo`; C programmers read it to learn how to use a pb_buffer.
 *
 * Every function accepts any view that pb_validate() accepts: any ndim, any
 * strides (negative, zero, not multiples of 4, unaligned), provided its format
 * is a native float32 ("f", "@f", "=f", "^f", and "<f" on little-endian or
 * ">f"/"!f" on big-endian hosts). Errors are the negative PB_E... codes of
 * panbuf.h; these functions never keep a pointer into the view and never
 * release it (the caller does).
 */
#ifndef PANBUF_EXAMPLES_H
#define PANBUF_EXAMPLES_H

#include "panbuf.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Multiplies every element by factor, in place. An element reachable through
   several indices (zero strides, overlapping views) is multiplied once per
   index. PB_EREADONLY for a read-only view, PB_EFORMAT when the format is not
   float32, else the pb_validate() code. */
int pbx_scale_f32(const pb_buffer *view, float factor);

/* For a 2-D view: out[i] = view[i, 0] + view[i, 1] + ... summed in float, j
   ascending (so Java can reproduce the result bit for bit). out has
   view->shape[0] entries. PB_EINVAL when ndim != 2 or out is NULL with rows
   to write, PB_EFORMAT when not float32, else the pb_validate() code. */
int pbx_row_sums_f32(const pb_buffer *view, float *out);

/* view->buf as an integer (0 for a NULL view), so Java can prove that C saw
   its memory and not a copy. */
int64_t pbx_buf_address(const pb_buffer *view);

/* Writes (float) n into the element whose C-order flat index is n. Errors as
   for pbx_scale_f32. */
int pbx_fill_iota_f32(const pb_buffer *view);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* PANBUF_EXAMPLES_H */
