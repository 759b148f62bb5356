/*
 * fuzz_view.h -- turns libFuzzer bytes into a pb_buffer over a real heap
 * block of exactly block_len bytes, for fuzz_validate and fuzz_contiguous.
 * The struct fields may be anything (that is what pb_validate is for), but
 * base and base_len always describe bytes of that block, so when a view is
 * valid, AddressSanitizer can prove that every element it reaches exists.
 *
 * Input layout (missing bytes read as 0; multi-byte values little-endian):
 *   flags     1 byte   bit 0 raw itemsize (and suboffsets when odd), bit 1 raw ndim,
 *                      bit 2 raw len, bit 3 strides NULL, bit 4 base NULL when empty,
 *                      bit 5 raw buf offset, bit 6 raw magic/abi, bit 7 read-only
 *   block_len 2 bytes  % 2049
 *   format    1 byte   index into FUZZ_FORMATS
 *   itemsize  1 byte   only with flag bit 0: a signed byte
 *   ndim      1 byte   % 6, or with flag bit 1 a signed byte (-128..127)
 *   per axis  shape 1 byte: bit 7 -> 8 raw bytes follow, else bits 0-2 = shape
 *             stride 1 byte s: with shape bit 6 -> 8 raw bytes follow; with
 *             shape bit 5 -> s as a signed byte count; else (s % 7 - 3) * itemsize
 *   len       8 bytes  only with flag bit 2
 *   base      2+2 bytes offset of base in the block, then base_len (both % what fits)
 *   buf       2 bytes  with flag bit 5: signed offset from base; else where in the slack
 *   magic     4+4 bytes only with flag bit 6: magic, abi_version
 */
#ifndef FUZZ_VIEW_H
#define FUZZ_VIEW_H

#include "panbuf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

__extension__ typedef __int128 fuzz_i128;

typedef struct {
    const uint8_t *next;
    size_t left;
} fuzz_bytes;

static uint64_t fuzz_take(fuzz_bytes *in, int byte_count)
{
    uint64_t value = 0;
    for (int i = 0; i < byte_count; i++) {
        uint64_t byte = 0;
        if (in->left > 0) {
            byte = *in->next++;
            in->left--;
        }
        value |= byte << (8 * i);
    }
    return value;
}

static const struct {
    const char *format; /* NULL means "B" */
    int64_t size;
} FUZZ_FORMATS[] = {
    {NULL, 1}, {"B", 1}, {"<h", 2}, {"<f", 4}, {"d", 8}, {"3s", 3}, {"T{<i:x:<d:y:}", 12},
    {"T{b:a:d:b:}", 16}, {"T{", -1},
};

typedef struct {
    pb_buffer view;
    int64_t shape[PB_MAX_NDIM + 2];
    int64_t strides[PB_MAX_NDIM + 2];
    int64_t suboffsets[1];
    unsigned char *block;
    size_t block_len;
    int64_t format_size; /* what FUZZ_FORMATS says the format's size is */
} fuzz_view;

/* Offsets [lowest, highest) that the first `axes` axes reach from buf, in
   128 bits, saturated at +-2^100 so that no sum of up to 66 axes overflows. */
static void fuzz_reach(const pb_buffer *v, int axes, fuzz_i128 *lowest, fuzz_i128 *highest)
{
    const fuzz_i128 limit = (fuzz_i128)1 << 100;
    *lowest = 0;
    *highest = v->itemsize;
    fuzz_i128 c_stride = v->itemsize;
    for (int axis = axes - 1; axis >= 0; axis--) {
        fuzz_i128 stride = v->strides != NULL ? v->strides[axis] : c_stride;
        fuzz_i128 span = stride * ((fuzz_i128)v->shape[axis] - 1);
        if (span < 0) {
            *lowest = *lowest + span < -limit ? -limit : *lowest + span;
        } else {
            *highest = *highest + span > limit ? limit : *highest + span;
        }
        c_stride *= v->shape[axis];
        if (c_stride > INT64_MAX || c_stride < INT64_MIN) {
            c_stride = 0; /* the view is invalid anyway; keep the numbers small */
        }
    }
}

static void fuzz_view_build(fuzz_view *fv, fuzz_bytes *in)
{
    memset(fv, 0, sizeof *fv);
    unsigned flags = (unsigned)fuzz_take(in, 1);
    fv->block_len = (size_t)(fuzz_take(in, 2) % 2049);
    fv->block = malloc(fv->block_len > 0 ? fv->block_len : 1);
    for (size_t i = 0; i < fv->block_len; i++) {
        fv->block[i] = (unsigned char)(i * 7 + 1);
    }

    pb_buffer *v = &fv->view;
    size_t f = (size_t)(fuzz_take(in, 1) % (sizeof FUZZ_FORMATS / sizeof FUZZ_FORMATS[0]));
    v->format = FUZZ_FORMATS[f].format;
    fv->format_size = FUZZ_FORMATS[f].size;
    v->itemsize = fv->format_size > 0 ? fv->format_size : 4;
    if (flags & 1) {
        int8_t raw = (int8_t)fuzz_take(in, 1);
        v->itemsize = raw;
        if (raw & 1) {
            v->suboffsets = fv->suboffsets;
        }
    }
    uint8_t ndim_byte = (uint8_t)fuzz_take(in, 1);
    v->ndim = (flags & 2) ? (int8_t)ndim_byte : ndim_byte % 6;
    int axes = v->ndim < 0 ? 0 : v->ndim > PB_MAX_NDIM + 1 ? PB_MAX_NDIM + 1 : v->ndim;
    int64_t unit = v->itemsize > 0 && v->itemsize < 64 ? v->itemsize : 1;
    for (int axis = 0; axis < axes; axis++) {
        uint8_t shape_byte = (uint8_t)fuzz_take(in, 1);
        fv->shape[axis] = (shape_byte & 0x80) ? (int64_t)fuzz_take(in, 8) : (shape_byte & 7);
        uint8_t stride_byte = (uint8_t)fuzz_take(in, 1);
        if (shape_byte & 0x40) {
            fv->strides[axis] = (int64_t)fuzz_take(in, 8);
        } else if (shape_byte & 0x20) {
            fv->strides[axis] = (int8_t)stride_byte;
        } else {
            fv->strides[axis] = ((int64_t)(stride_byte % 7) - 3) * unit;
        }
    }
    v->shape = fv->shape;
    v->strides = (flags & 8) ? NULL : fv->strides;

    fuzz_i128 len = v->itemsize;
    for (int axis = 0; axis < axes; axis++) {
        len *= fv->shape[axis];
        if (len > INT64_MAX || len < INT64_MIN) {
            len = -1;
            break;
        }
    }
    for (int axis = 0; axis < axes; axis++) {
        if (fv->shape[axis] == 0) {
            len = 0;
        }
    }
    v->len = (flags & 4) ? (int64_t)fuzz_take(in, 8) : (int64_t)len;

    size_t base_offset = (size_t)(fuzz_take(in, 2) % (fv->block_len + 1));
    size_t base_len = (size_t)(fuzz_take(in, 2) % (fv->block_len - base_offset + 1));
    v->base = fv->block + base_offset;
    v->base_len = (int64_t)base_len;
    if (base_len == 0 && (flags & 16)) {
        v->base = NULL;
    }

    uint64_t where = fuzz_take(in, 2);
    uintptr_t base_addr = (uintptr_t)(fv->block + base_offset);
    if (flags & 32) {
        v->buf = (void *)(base_addr + (uintptr_t)(int64_t)(int16_t)where);
    } else {
        /* Aim for a valid view: put the lowest reachable byte at base, plus
           some of the slack. Integer arithmetic: the view may be invalid. */
        fuzz_i128 lowest, highest;
        fuzz_reach(v, axes, &lowest, &highest);
        fuzz_i128 slack = (fuzz_i128)base_len - (highest - lowest);
        fuzz_i128 offset = -lowest + (slack > 0 ? (fuzz_i128)(where % (uint64_t)(slack + 1)) : 0);
        v->buf = (void *)(base_addr + (uintptr_t)(uint64_t)offset);
    }

    v->magic = PB_MAGIC_LIVE;
    v->abi_version = PB_ABI_VERSION;
    if (flags & 64) {
        v->magic = (uint32_t)fuzz_take(in, 4);
        v->abi_version = (uint32_t)fuzz_take(in, 4);
    }
    v->readonly = (flags & 128) != 0;
}

static void fuzz_view_free(fuzz_view *fv)
{
    free(fv->block);
}

/* Number of elements of a valid view. */
static int64_t fuzz_element_count(const pb_buffer *v)
{
    return v->len / v->itemsize;
}

/* Byte offset of element `index` from buf, from the definition. */
static int64_t fuzz_offset(const pb_buffer *v, const int64_t *index)
{
    fuzz_i128 offset = 0;
    fuzz_i128 c_stride = v->itemsize;
    for (int axis = v->ndim - 1; axis >= 0; axis--) {
        fuzz_i128 stride = v->strides != NULL ? v->strides[axis] : c_stride;
        offset += stride * index[axis];
        c_stride *= v->shape[axis];
    }
    return (int64_t)offset;
}

/* Steps `index` to the next element in C (last axis fastest) or F order. */
static void fuzz_next_index(const pb_buffer *v, int64_t *index, char order)
{
    for (int i = 0; i < v->ndim; i++) {
        int axis = order == 'F' ? i : v->ndim - 1 - i;
        if (++index[axis] < v->shape[axis]) {
            return;
        }
        index[axis] = 0;
    }
}

#endif /* FUZZ_VIEW_H */
