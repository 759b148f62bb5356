/*
 * fuzz_validate.c -- libFuzzer target for pb_validate. Builds a pb_buffer
 * from the input (see fuzz_view.h for the layout) and checks two things:
 *  - soundness: when pb_validate says 0, every element the view reaches lies
 *    in [base, base + base_len) by integer comparison, and is read and
 *    written, so AddressSanitizer proves it is real memory;
 *  - agreement: the verdict equals a 128-bit oracle of the header's rules.
 * Any disagreement aborts, which libFuzzer reports as a crash.
 */
#include "fuzz_view.h"

#include <stdio.h>

/* The header's checks in their order, in 128-bit arithmetic. */
static int oracle(const fuzz_view *fv)
{
    const pb_buffer *v = &fv->view;
    if (v->magic != PB_MAGIC_LIVE) {
        return v->magic == PB_MAGIC_RELEASED ? PB_ERELEASED : PB_EMAGIC;
    }
    if (v->abi_version < 1 || v->abi_version > PB_ABI_VERSION) {
        return PB_EABI;
    }
    if (v->ndim < 0 || v->ndim > PB_MAX_NDIM) {
        return PB_ENDIM;
    }
    int has_zero = 0;
    for (int axis = 0; axis < v->ndim; axis++) {
        if (v->shape[axis] < 0) {
            return PB_ESHAPE;
        }
        has_zero |= v->shape[axis] == 0;
    }
    if (v->itemsize <= 0) {
        return PB_EITEMSIZE;
    }
    if (fv->format_size != v->itemsize) {
        return PB_EFORMAT;
    }
    fuzz_i128 byte_len = has_zero ? 0 : v->itemsize;
    for (int axis = 0; axis < v->ndim && !has_zero; axis++) {
        byte_len *= v->shape[axis];
        if (byte_len > INT64_MAX) {
            return PB_EOVERFLOW;
        }
    }
    if (byte_len != v->len) {
        return PB_ELEN;
    }
    if (v->suboffsets != NULL) {
        return PB_ESUBOFFSETS;
    }
    if (v->base_len < 0) {
        return PB_EBOUNDS;
    }
    if (v->base == NULL && v->base_len > 0) {
        return PB_ENULL;
    }
    if (byte_len == 0) {
        return PB_OK;
    }
    if (v->buf == NULL || v->base == NULL) {
        return PB_ENULL;
    }
    /* Unsaturated extents: every span must fit in int64, and so must the sums. */
    fuzz_i128 lowest = 0;
    fuzz_i128 highest = v->itemsize;
    fuzz_i128 c_stride = v->itemsize;
    for (int axis = v->ndim - 1; axis >= 0; axis--) {
        fuzz_i128 stride = v->strides != NULL ? v->strides[axis] : c_stride;
        fuzz_i128 span = stride * ((fuzz_i128)v->shape[axis] - 1);
        if (span > INT64_MAX || span < INT64_MIN) {
            return PB_EOVERFLOW;
        }
        if (span < 0) {
            lowest += span;
        } else {
            highest += span;
        }
        c_stride *= v->shape[axis];
    }
    if (lowest < INT64_MIN || highest > INT64_MAX) {
        return PB_EOVERFLOW;
    }
    fuzz_i128 base = (fuzz_i128)(uintptr_t)v->base;
    fuzz_i128 buf = (fuzz_i128)(uintptr_t)v->buf;
    if (base + v->base_len > (fuzz_i128)UINTPTR_MAX || buf < base || buf >= base + v->base_len ||
        buf + lowest < base || buf + highest > base + v->base_len) {
        return PB_EBOUNDS;
    }
    return PB_OK;
}

/* Reads and rewrites the element at byte_offset after proving, by integer
   comparison, that it lies in [base, base + base_len). */
static void touch(const pb_buffer *v, int64_t byte_offset)
{
    uintptr_t first = (uintptr_t)v->buf + (uintptr_t)byte_offset;
    uintptr_t base = (uintptr_t)v->base;
    if (first < base || first - base > (uint64_t)v->base_len ||
        (uint64_t)v->itemsize > (uint64_t)v->base_len - (first - base)) {
        fprintf(stderr, "pb_validate accepted a view reaching offset %lld outside its base\n",
                (long long)byte_offset);
        abort();
    }
    volatile unsigned char *element = (volatile unsigned char *)first;
    for (int64_t i = 0; i < v->itemsize; i++) {
        element[i] = (unsigned char)(element[i] + 1);
    }
}

/* Touches every element when there are few, else the two extreme ones (the
   lowest and the highest reachable bytes) and a diagonal. */
static void touch_reachable(const pb_buffer *v)
{
    int64_t count = fuzz_element_count(v);
    int64_t index[PB_MAX_NDIM] = {0};
    if (count <= 4096) {
        for (int64_t n = 0; n < count; n++) {
            touch(v, fuzz_offset(v, index));
            fuzz_next_index(v, index, 'C');
        }
        return;
    }
    int64_t strides[PB_MAX_NDIM];
    int64_t c_stride = v->itemsize;
    for (int axis = v->ndim - 1; axis >= 0; axis--) {
        strides[axis] = v->strides != NULL ? v->strides[axis] : c_stride;
        c_stride = (int64_t)((uint64_t)c_stride * (uint64_t)v->shape[axis]);
    }
    for (int extreme = 0; extreme < 2; extreme++) {
        for (int axis = 0; axis < v->ndim; axis++) {
            int towards_end = (strides[axis] > 0) == (extreme == 1);
            index[axis] = towards_end ? v->shape[axis] - 1 : 0;
        }
        touch(v, fuzz_offset(v, index));
    }
    for (int64_t step = 0; step < 64; step++) {
        for (int axis = 0; axis < v->ndim; axis++) {
            index[axis] = (step * 7919) % v->shape[axis];
        }
        touch(v, fuzz_offset(v, index));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_bytes in = {data, size};
    fuzz_view fv;
    fuzz_view_build(&fv, &in);
    int actual = pb_validate(&fv.view);
    int expected = oracle(&fv);
    if (actual != expected) {
        fprintf(stderr, "pb_validate returned %d, the oracle %d\n", actual, expected);
        abort();
    }
    if (actual == PB_OK) {
        touch_reachable(&fv.view);
    }
    fuzz_view_free(&fv);
    return 0;
}
