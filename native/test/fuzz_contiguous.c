/*
 * fuzz_contiguous.c -- libFuzzer target for pb_to_contiguous and
 * pb_from_contiguous on views built from the input (fuzz_view.h). For a view
 * that pb_validate accepts, in each order C, F and A:
 *  - to_contiguous equals an element-by-element copy from the definition;
 *  - from_contiguous of that copy restores every byte of the block (a round
 *    trip), even for overlapping and broadcast views;
 *  - from_contiguous of a partial length writes what CPython would.
 * For any other view (or a read-only one), both functions must return the
 * validation code (or PB_EREADONLY) and leave the block and dst untouched.
 */
#include "fuzz_view.h"

#include <stdio.h>

static void fail(const char *what, char order)
{
    fprintf(stderr, "fuzz_contiguous: %s (order %c)\n", what, order);
    abort();
}

/* CPython's rule, from NumPy's definition of contiguity. */
static int model_contiguous(const pb_buffer *v, char order)
{
    if (order == 'A') {
        return model_contiguous(v, 'C') || model_contiguous(v, 'F');
    }
    if (v->len == 0 || v->strides == NULL) {
        if (v->len == 0 || order == 'C') {
            return 1;
        }
        int long_axes = 0;
        for (int axis = 0; axis < v->ndim; axis++) {
            long_axes += v->shape[axis] > 1;
        }
        return long_axes <= 1;
    }
    fuzz_i128 inside = v->itemsize;
    for (int i = 0; i < v->ndim; i++) {
        int axis = order == 'F' ? i : v->ndim - 1 - i;
        if (v->shape[axis] > 1 && v->strides[axis] != inside) {
            return 0;
        }
        inside *= v->shape[axis];
    }
    return 1;
}

static void model_copy(const pb_buffer *v, unsigned char *block, int64_t count, char order,
                       int to_block)
{
    int64_t index[PB_MAX_NDIM] = {0};
    char walk = order == 'F' ? 'F' : 'C';
    for (int64_t n = 0; n < count; n++) {
        unsigned char *element = (unsigned char *)v->buf + fuzz_offset(v, index);
        if (to_block) {
            memcpy(block + n * v->itemsize, element, (size_t)v->itemsize);
        } else {
            memcpy(element, block + n * v->itemsize, (size_t)v->itemsize);
        }
        fuzz_next_index(v, index, walk);
    }
}

static void check_valid_view(fuzz_view *fv, uint64_t partial_seed)
{
    pb_buffer *v = &fv->view;
    int64_t len = v->len;
    if (fuzz_element_count(v) > 4096) {
        return; /* broadcast views of millions of elements: too slow to model */
    }
    unsigned char *original = malloc(fv->block_len + 1);
    unsigned char *modelled = malloc(fv->block_len + 1);
    unsigned char *ours = malloc((size_t)len + 1);
    unsigned char *expected = malloc((size_t)len + 1);
    memcpy(original, fv->block, fv->block_len);
    static const char ORDERS[] = {'C', 'F', 'A'};
    for (size_t o = 0; o < sizeof ORDERS; o++) {
        char order = ORDERS[o];
        int contiguous = model_contiguous(v, order);
        if (pb_is_contiguous(v, order) != contiguous) {
            fail("pb_is_contiguous disagrees with the model", order);
        }
        if (pb_to_contiguous(ours, v, len, order) != PB_OK) {
            fail("pb_to_contiguous refused a valid view", order);
        }
        if (len > 0) {
            if (contiguous) {
                memcpy(expected, v->buf, (size_t)len);
            } else {
                model_copy(v, expected, len / v->itemsize, order, 1);
            }
        }
        if (memcmp(ours, expected, (size_t)len) != 0) {
            fail("pb_to_contiguous differs from the model", order);
        }
        if (v->readonly) {
            if (pb_from_contiguous(v, ours, len, order) != PB_EREADONLY) {
                fail("pb_from_contiguous wrote to a read-only view", order);
            }
            if (memcmp(original, fv->block, fv->block_len) != 0) {
                fail("a refused pb_from_contiguous changed the block", order);
            }
            continue;
        }
        /* round trip: writing back what was read changes no byte */
        if (pb_from_contiguous(v, ours, len, order) != PB_OK) {
            fail("pb_from_contiguous refused a valid view", order);
        }
        if (memcmp(original, fv->block, fv->block_len) != 0) {
            fail("round trip changed the block", order);
        }
        /* a partial write of fresh bytes: as CPython does it */
        int64_t partial = len > 0 ? (int64_t)(partial_seed % (uint64_t)(len + 2)) : 0;
        for (int64_t i = 0; i < len; i++) {
            ours[i] = (unsigned char)(ours[i] ^ 0x5A);
        }
        if (pb_from_contiguous(v, ours, partial, order) != PB_OK) {
            fail("partial pb_from_contiguous failed", order);
        }
        memcpy(modelled, fv->block, fv->block_len);
        memcpy(fv->block, original, fv->block_len);
        int64_t clamped = partial < len ? partial : len;
        if (clamped > 0) {
            if (contiguous) {
                memcpy(v->buf, ours, (size_t)clamped);
            } else {
                model_copy(v, ours, clamped / v->itemsize, order, 0);
            }
        }
        if (memcmp(modelled, fv->block, fv->block_len) != 0) {
            fail("partial pb_from_contiguous differs from the model", order);
        }
        memcpy(fv->block, original, fv->block_len);
    }
    free(original);
    free(modelled);
    free(ours);
    free(expected);
}

/* An invalid view: both copies must fail with the validation code, touching
   nothing (ASan would also see any access outside the block). */
static void check_invalid_view(fuzz_view *fv, int code)
{
    unsigned char dst[64];
    unsigned char canary[64];
    memset(dst, 0xC3, sizeof dst);
    memset(canary, 0xC3, sizeof canary);
    unsigned char *original = malloc(fv->block_len + 1);
    memcpy(original, fv->block, fv->block_len);
    int64_t len = fv->view.len;
    if (len < 0 || len > (int64_t)sizeof dst) {
        len = sizeof dst;
    }
    if (pb_to_contiguous(dst, &fv->view, len, 'C') != code) {
        fail("pb_to_contiguous did not report the validation error", 'C');
    }
    if (pb_from_contiguous(&fv->view, canary, len, 'F') != code) {
        fail("pb_from_contiguous did not report the validation error", 'F');
    }
    if (memcmp(dst, canary, sizeof dst) != 0 || memcmp(original, fv->block, fv->block_len) != 0) {
        fail("a failed copy wrote something", 'C');
    }
    free(original);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_bytes in = {data, size};
    fuzz_view fv;
    fuzz_view_build(&fv, &in);
    uint64_t partial_seed = fuzz_take(&in, 2);
    int code = pb_validate(&fv.view);
    if (code == PB_OK) {
        check_valid_view(&fv, partial_seed);
    } else {
        check_invalid_view(&fv, code);
    }
    fuzz_view_free(&fv);
    return 0;
}
