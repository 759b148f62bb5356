/*
 * panbuf_examples.c -- how C code consumes a pb_buffer, shown on float32
 * views: validate the buffer, check its format, then reach each element as
 *
 *     (char *)view->buf + index[0] * strides[0] + ... + index[n-1] * strides[n-1]
 *
 * Ownership: the caller (Java, or a test) owns the pb_buffer and releases it;
 * these functions only read the struct and read or write the elements.
 */
#include "panbuf_examples.h"

#include <string.h>

/* libpanbuf_examples.so is built with -fvisibility=hidden: export only pbx_. */
#define PBX_PUBLIC __attribute__((visibility("default")))

/* True when format means one float32 in this machine's byte order. A NULL
   format means "B" (bytes), as in CPython. */
static int is_native_f32(const char *format)
{
    static const char *const NATIVE_F32[] = {
        "f", "@f", "=f", "^f",
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        "<f",
#else
        ">f", "!f",
#endif
    };
    if (format == NULL) {
        return 0;
    }
    for (size_t i = 0; i < sizeof NATIVE_F32 / sizeof NATIVE_F32[0]; i++) {
        if (strcmp(format, NATIVE_F32[i]) == 0) {
            return 1;
        }
    }
    return 0;
}

/* The checks every function starts with. pb_validate() proves that every
   element lies inside the producer's allocation and that the buffer is
   still live; after it, plain pointer arithmetic is safe. */
static int check_f32_view(const pb_buffer *view, int writable)
{
    int rc = pb_validate(view);
    if (rc != PB_OK) {
        return rc;
    }
    if (writable && view->readonly) {
        return PB_EREADONLY;
    }
    return is_native_f32(view->format) ? PB_OK : PB_EFORMAT;
}

/* Strides may legally be NULL (C-contiguous); this gives real ones either way. */
static void get_strides(const pb_buffer *view, int64_t *strides)
{
    if (view->strides != NULL) {
        memcpy(strides, view->strides, (size_t)view->ndim * sizeof strides[0]);
    } else {
        pb_fill_contiguous_strides(view->ndim, view->shape, strides, view->itemsize, 'C');
    }
}

/* Elements are read and written with memcpy: strides need not keep them
   4-byte aligned, and the compiler turns this into a plain load/store. */
static float load_f32(const pb_buffer *view, int64_t byte_offset)
{
    float value;
    memcpy(&value, (const char *)view->buf + byte_offset, sizeof value);
    return value;
}

static void store_f32(const pb_buffer *view, int64_t byte_offset, float value)
{
    memcpy((char *)view->buf + byte_offset, &value, sizeof value);
}

/* An odometer over the indices in C order (last index fastest). byte_offset
   is the current element's distance from view->buf; it is updated by one
   stride per step instead of being recomputed from all indices. */
typedef struct {
    int64_t strides[PB_MAX_NDIM];
    int64_t index[PB_MAX_NDIM];
    int64_t byte_offset;
} element_walk;

static void walk_start(element_walk *walk, const pb_buffer *view)
{
    get_strides(view, walk->strides);
    memset(walk->index, 0, sizeof walk->index);
    walk->byte_offset = 0;
}

static void walk_next(element_walk *walk, const pb_buffer *view)
{
    for (int axis = view->ndim - 1; axis >= 0; axis--) {
        if (++walk->index[axis] < view->shape[axis]) {
            walk->byte_offset += walk->strides[axis];
            return;
        }
        walk->byte_offset -= walk->strides[axis] * (view->shape[axis] - 1);
        walk->index[axis] = 0;
    }
}

PBX_PUBLIC int pbx_scale_f32(const pb_buffer *view, float factor)
{
    int rc = check_f32_view(view, 1);
    if (rc != PB_OK) {
        return rc;
    }
    int64_t element_count = view->len / view->itemsize;
    element_walk walk;
    walk_start(&walk, view);
    for (int64_t n = 0; n < element_count; n++, walk_next(&walk, view)) {
        store_f32(view, walk.byte_offset, load_f32(view, walk.byte_offset) * factor);
    }
    return PB_OK;
}

PBX_PUBLIC int pbx_row_sums_f32(const pb_buffer *view, float *out)
{
    int rc = check_f32_view(view, 0);
    if (rc != PB_OK) {
        return rc;
    }
    if (view->ndim != 2 || (out == NULL && view->shape[0] > 0)) {
        return PB_EINVAL;
    }
    int64_t strides[2];
    get_strides(view, strides);
    for (int64_t i = 0; i < view->shape[0]; i++) {
        float sum = 0.0f;
        for (int64_t j = 0; j < view->shape[1]; j++) {
            sum += load_f32(view, i * strides[0] + j * strides[1]);
        }
        out[i] = sum;
    }
    return PB_OK;
}

PBX_PUBLIC int64_t pbx_buf_address(const pb_buffer *view)
{
    return view != NULL ? (int64_t)(intptr_t)view->buf : 0;
}

PBX_PUBLIC int pbx_fill_iota_f32(const pb_buffer *view)
{
    int rc = check_f32_view(view, 1);
    if (rc != PB_OK) {
        return rc;
    }
    int64_t element_count = view->len / view->itemsize;
    element_walk walk;
    walk_start(&walk, view);
    for (int64_t n = 0; n < element_count; n++, walk_next(&walk, view)) {
        store_f32(view, walk.byte_offset, (float)n);
    }
    return PB_OK;
}
