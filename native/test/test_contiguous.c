/*
 * test_contiguous.c -- pb_is_contiguous, pb_get_pointer,
 * pb_fill_contiguous_strides, pb_to_contiguous and pb_from_contiguous:
 * CPython's documented cases by hand, then thousands of random views
 * (transposed, reversed, broadcast, sliced, odd strides, zero-size, ndim 0..5
 * and 64) compared with a reference written straight from the definitions:
 * one element at a time, offsets recomputed from the indices.
 */
#include "panbuf.h"
#include "pbtest.h"

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

/* A view and the storage of its arrays. */
typedef struct {
    pb_buffer view;
    int64_t shape[PB_MAX_NDIM];
    int64_t strides[PB_MAX_NDIM];
    char format[32];
    unsigned char *base; /* heap block of exactly base_len bytes */
} test_view;

static void init_view(test_view *tv, int ndim, const int64_t *shape, const int64_t *strides,
                      int64_t itemsize, void *buf, void *base, int64_t base_len)
{
    memset(tv, 0, sizeof *tv);
    int64_t len = itemsize;
    for (int i = 0; i < ndim; i++) {
        tv->shape[i] = shape[i];
        if (strides != NULL) {
            tv->strides[i] = strides[i];
        }
        len *= shape[i];
    }
    snprintf(tv->format, sizeof tv->format, "%llds", (long long)itemsize);
    tv->view.buf = buf;
    tv->view.len = len;
    tv->view.itemsize = itemsize;
    tv->view.ndim = ndim;
    tv->view.format = tv->format;
    tv->view.shape = tv->shape;
    tv->view.strides = strides != NULL ? tv->strides : NULL;
    tv->view.magic = PB_MAGIC_LIVE;
    tv->view.abi_version = PB_ABI_VERSION;
    tv->view.base = base;
    tv->view.base_len = base_len;
}

/* ---- the reference ------------------------------------------------------- */

/* The view's strides, or C-contiguous ones when it has none. */
static void ref_strides(const pb_buffer *view, int64_t *strides)
{
    int64_t step = view->itemsize;
    for (int axis = view->ndim - 1; axis >= 0; axis--) {
        strides[axis] = view->strides != NULL ? view->strides[axis] : step;
        step *= view->shape[axis];
    }
}

/* NumPy's definition: every axis longer than 1 steps by the byte size of the
   axes inside it (for C: the later axes; for F: the earlier ones). */
static int ref_contiguous_in(const pb_buffer *view, char order)
{
    if (view->len == 0) {
        return 1;
    }
    int64_t strides[PB_MAX_NDIM];
    ref_strides(view, strides);
    for (int axis = 0; axis < view->ndim; axis++) {
        int64_t inside = view->itemsize;
        int from = order == 'C' ? axis + 1 : 0;
        int to = order == 'C' ? view->ndim : axis;
        for (int k = from; k < to; k++) {
            inside *= view->shape[k];
        }
        if (view->shape[axis] > 1 && strides[axis] != inside) {
            return 0;
        }
    }
    return 1;
}

static int ref_contiguous(const pb_buffer *view, char order)
{
    if (order == 'A') {
        return ref_contiguous_in(view, 'C') || ref_contiguous_in(view, 'F');
    }
    return ref_contiguous_in(view, order);
}

static int64_t ref_offset(const pb_buffer *view, const int64_t *index)
{
    int64_t strides[PB_MAX_NDIM];
    ref_strides(view, strides);
    int64_t offset = 0;
    for (int axis = 0; axis < view->ndim; axis++) {
        offset += index[axis] * strides[axis];
    }
    return offset;
}

/* The element after `index` in C order (last axis fastest) or F order. */
static void ref_next(const pb_buffer *view, int64_t *index, char order)
{
    for (int i = 0; i < view->ndim; i++) {
        int axis = order == 'F' ? i : view->ndim - 1 - i;
        if (++index[axis] < view->shape[axis]) {
            return;
        }
        index[axis] = 0;
    }
}

static void ref_to_contiguous(unsigned char *dst, const pb_buffer *view, char order)
{
    if (view->len == 0) {
        return;
    }
    if (ref_contiguous(view, order)) {
        memcpy(dst, view->buf, (size_t)view->len);
        return;
    }
    int64_t index[PB_MAX_NDIM] = {0};
    for (int64_t n = 0; n < view->len / view->itemsize; n++) {
        memcpy(dst + n * view->itemsize, (char *)view->buf + ref_offset(view, index),
               (size_t)view->itemsize);
        ref_next(view, index, order == 'F' ? 'F' : 'C');
    }
}

static void ref_from_contiguous(const pb_buffer *view, const unsigned char *src, int64_t len,
                                char order)
{
    if (len > view->len) {
        len = view->len;
    }
    if (len == 0) {
        return;
    }
    if (ref_contiguous(view, order)) {
        memcpy(view->buf, src, (size_t)len);
        return;
    }
    int64_t index[PB_MAX_NDIM] = {0};
    for (int64_t n = 0; n < len / view->itemsize; n++) {
        memcpy((char *)view->buf + ref_offset(view, index), src + n * view->itemsize,
               (size_t)view->itemsize);
        ref_next(view, index, order == 'F' ? 'F' : 'C');
    }
}

/* ---- CPython's cases by hand -------------------------------------------- */

static void contiguity_follows_cpython(pbt *t)
{
    enum { STRIDED, NO_STRIDES };
    static const struct {
        int ndim;
        int64_t shape[3];
        int strides_kind; /* NO_STRIDES: strides == NULL, C-contiguous by definition */
        int64_t strides[3];
        int64_t itemsize;
        int c, f, a;
    } CASES[] = {
        {0, {0}, STRIDED, {0}, 4, 1, 1, 1},                 /* scalar */
        {1, {5}, STRIDED, {4}, 4, 1, 1, 1},
        {1, {5}, STRIDED, {8}, 4, 0, 0, 0},                 /* every other element */
        {1, {5}, STRIDED, {-4}, 4, 0, 0, 0},                /* reversed */
        {1, {1}, STRIDED, {100}, 4, 1, 1, 1},               /* a size-1 axis: any stride */
        {1, {0}, STRIDED, {100}, 4, 1, 1, 1},               /* len 0: contiguous in every order */
        {2, {2, 3}, STRIDED, {12, 4}, 4, 1, 0, 1},
        {2, {2, 3}, STRIDED, {4, 8}, 4, 0, 1, 1},
        {2, {2, 3}, STRIDED, {24, 4}, 4, 0, 0, 0},          /* rows of a wider array */
        {2, {1, 3}, STRIDED, {999, 4}, 4, 1, 1, 1},         /* size-1 axes are skipped */
        {2, {3, 1}, STRIDED, {4, 77}, 4, 1, 1, 1},
        {2, {0, 3}, STRIDED, {5, 7}, 4, 1, 1, 1},           /* zero-size: anything goes */
        {2, {3, 0}, STRIDED, {-5, 0}, 4, 1, 1, 1},
        {2, {2, 3}, STRIDED, {0, 4}, 4, 0, 0, 0},           /* broadcast rows */
        {2, {1, 1}, STRIDED, {0, 0}, 8, 1, 1, 1},
        {3, {2, 3, 4}, STRIDED, {96, 32, 8}, 8, 1, 0, 1},
        {3, {2, 3, 4}, STRIDED, {8, 16, 48}, 8, 0, 1, 1},
        {3, {2, 1, 4}, STRIDED, {32, -3, 8}, 8, 1, 0, 1},
        {2, {2, 3}, NO_STRIDES, {0}, 4, 1, 0, 1},
        {2, {1, 3}, NO_STRIDES, {0}, 4, 1, 1, 1},           /* F too: effectively 1-D */
        {3, {1, 3, 1}, NO_STRIDES, {0}, 4, 1, 1, 1},
        {1, {7}, NO_STRIDES, {0}, 4, 1, 1, 1},
        {0, {0}, NO_STRIDES, {0}, 4, 1, 1, 1},
    };
    for (size_t i = 0; i < COUNT_OF(CASES); i++) {
        test_view tv;
        int null_strides = CASES[i].strides_kind == NO_STRIDES;
        init_view(&tv, CASES[i].ndim, CASES[i].shape, null_strides ? NULL : CASES[i].strides,
                  CASES[i].itemsize, NULL, NULL, 0);
        pbt_context(t, "case %zu", i);
        CHECK_EQ(t, pb_is_contiguous(&tv.view, 'C'), CASES[i].c);
        CHECK_EQ(t, pb_is_contiguous(&tv.view, 'F'), CASES[i].f);
        CHECK_EQ(t, pb_is_contiguous(&tv.view, 'A'), CASES[i].a);
        CHECK_EQ(t, pb_is_contiguous(&tv.view, 'c'), 0); /* only upper case */
        CHECK_EQ(t, pb_is_contiguous(&tv.view, 'X'), 0);
        CHECK_EQ(t, pb_is_contiguous(&tv.view, '\0'), 0);
        CHECK_EQ(t, CASES[i].c, ref_contiguous(&tv.view, 'C'));
        CHECK_EQ(t, CASES[i].f, ref_contiguous(&tv.view, 'F'));
    }
}

static void contiguity_refuses_what_it_cannot_read(pbt *t)
{
    int64_t shape[2] = {2, 3};
    int64_t strides[2] = {12, 4};
    int64_t suboffsets[2] = {-1, -1};
    test_view tv;
    init_view(&tv, 2, shape, strides, 4, NULL, NULL, 0);
    CHECK_EQ(t, pb_is_contiguous(NULL, 'C'), PB_EINVAL);
    tv.view.suboffsets = suboffsets; /* CPython: never contiguous */
    CHECK_EQ(t, pb_is_contiguous(&tv.view, 'C'), 0);
    tv.view.suboffsets = NULL;
    tv.view.magic = PB_MAGIC_RELEASED;
    CHECK_EQ(t, pb_is_contiguous(&tv.view, 'C'), PB_ERELEASED);
    tv.view.magic = 0xdeadbeef;
    CHECK_EQ(t, pb_is_contiguous(&tv.view, 'C'), PB_EMAGIC);
    tv.view.magic = PB_MAGIC_LIVE;
    tv.view.ndim = 65;
    CHECK_EQ(t, pb_is_contiguous(&tv.view, 'C'), PB_ENDIM);
    tv.view.ndim = -1;
    CHECK_EQ(t, pb_is_contiguous(&tv.view, 'F'), PB_ENDIM);
    tv.view.ndim = 2;
    tv.view.shape = NULL;
    CHECK_EQ(t, pb_is_contiguous(&tv.view, 'A'), PB_ESHAPE);
}

static void fill_contiguous_strides_matches_cpython(pbt *t)
{
    int64_t shape[3] = {2, 3, 4};
    int64_t strides[3] = {0};
    pb_fill_contiguous_strides(3, shape, strides, 8, 'C');
    CHECK_EQ(t, strides[0], 96);
    CHECK_EQ(t, strides[1], 32);
    CHECK_EQ(t, strides[2], 8);
    pb_fill_contiguous_strides(3, shape, strides, 8, 'F');
    CHECK_EQ(t, strides[0], 8);
    CHECK_EQ(t, strides[1], 16);
    CHECK_EQ(t, strides[2], 48);
    pb_fill_contiguous_strides(3, shape, strides, 8, 'A'); /* anything but 'F' is C */
    CHECK_EQ(t, strides[0], 96);
    /* A zero-length axis zeroes the strides outside it, as in CPython. */
    int64_t empty_shape[3] = {3, 0, 2};
    pb_fill_contiguous_strides(3, empty_shape, strides, 4, 'C');
    CHECK_EQ(t, strides[0], 0);
    CHECK_EQ(t, strides[1], 8);
    CHECK_EQ(t, strides[2], 4);
    /* Nothing happens for ndim <= 0 or NULL arrays. */
    strides[0] = 12345;
    pb_fill_contiguous_strides(0, shape, strides, 4, 'C');
    pb_fill_contiguous_strides(-3, shape, strides, 4, 'C');
    pb_fill_contiguous_strides(3, NULL, strides, 4, 'C');
    pb_fill_contiguous_strides(3, shape, NULL, 4, 'C');
    CHECK_EQ(t, strides[0], 12345);
}

static void get_pointer_checks_every_index(pbt *t)
{
    unsigned char base[64];
    int64_t shape[2] = {3, 4};
    int64_t strides[2] = {16, -4};
    test_view tv;
    init_view(&tv, 2, shape, strides, 4, base + 12, base, sizeof base);
    int64_t index[2] = {2, 3};
    CHECK_PTR_EQ(t, pb_get_pointer(&tv.view, index), base + 12 + 32 - 12);
    index[0] = 0;
    index[1] = 0;
    CHECK_PTR_EQ(t, pb_get_pointer(&tv.view, index), base + 12);
    index[0] = 3; /* one past the end */
    CHECK_PTR_EQ(t, pb_get_pointer(&tv.view, index), NULL);
    index[0] = -1;
    CHECK_PTR_EQ(t, pb_get_pointer(&tv.view, index), NULL);
    index[0] = 0;
    index[1] = INT64_MAX;
    CHECK_PTR_EQ(t, pb_get_pointer(&tv.view, index), NULL);
    index[1] = INT64_MIN;
    CHECK_PTR_EQ(t, pb_get_pointer(&tv.view, index), NULL);
    index[1] = 0;
    CHECK_PTR_EQ(t, pb_get_pointer(&tv.view, NULL), NULL);
    CHECK_PTR_EQ(t, pb_get_pointer(NULL, index), NULL);

    /* strides NULL: C-contiguous */
    tv.view.strides = NULL;
    index[0] = 2;
    index[1] = 1;
    CHECK_PTR_EQ(t, pb_get_pointer(&tv.view, index), base + 12 + 2 * 16 + 4);

    /* a zero-size axis has no valid index */
    tv.view.strides = tv.strides;
    tv.shape[1] = 0;
    index[0] = 0;
    index[1] = 0;
    CHECK_PTR_EQ(t, pb_get_pointer(&tv.view, index), NULL);
    tv.shape[1] = 4;

    /* scalars need no indices */
    test_view scalar;
    init_view(&scalar, 0, NULL, NULL, 8, base, base, sizeof base);
    CHECK_PTR_EQ(t, pb_get_pointer(&scalar.view, NULL), base);

    /* stride * index overflowing on a (not validated) view */
    tv.strides[0] = INT64_MAX / 2;
    tv.shape[0] = 10;
    index[0] = 5;
    CHECK_PTR_EQ(t, pb_get_pointer(&tv.view, index), NULL);
    tv.strides[0] = 16;
    tv.shape[0] = 3;

    int64_t suboffsets[2] = {-1, -1};
    tv.view.suboffsets = suboffsets;
    CHECK_PTR_EQ(t, pb_get_pointer(&tv.view, index), NULL);
    tv.view.suboffsets = NULL;
    tv.view.magic = PB_MAGIC_RELEASED;
    CHECK_PTR_EQ(t, pb_get_pointer(&tv.view, index), NULL);
    tv.view.magic = 7;
    CHECK_PTR_EQ(t, pb_get_pointer(&tv.view, index), NULL);
    tv.view.magic = PB_MAGIC_LIVE;
    tv.view.ndim = 65;
    CHECK_PTR_EQ(t, pb_get_pointer(&tv.view, index), NULL);
}

/* ---- copies by hand ------------------------------------------------------ */

/* Six int32 values 0..5 laid out as a C-contiguous 2x3 matrix. */
static void fill_counting(int32_t *values, int count)
{
    for (int i = 0; i < count; i++) {
        values[i] = i;
    }
}

static void copies_of_small_views_match_numpy(pbt *t)
{
    int32_t base[6];
    int32_t out[6];
    fill_counting(base, 6);
    test_view tv;

    /* a.T of a 2x3 C array: shape (3,2), strides (4,12) */
    int64_t t_shape[2] = {3, 2};
    int64_t t_strides[2] = {4, 12};
    init_view(&tv, 2, t_shape, t_strides, 4, base, base, sizeof base);
    CHECK_EQ(t, pb_to_contiguous(out, &tv.view, 24, 'C'), 0);
    int32_t transposed_c[6] = {0, 3, 1, 4, 2, 5};
    CHECK_MEM_EQ(t, out, transposed_c, sizeof out);
    CHECK_EQ(t, pb_to_contiguous(out, &tv.view, 24, 'F'), 0);
    CHECK_MEM_EQ(t, out, base, sizeof out);
    CHECK_EQ(t, pb_to_contiguous(out, &tv.view, 24, 'A'), 0); /* F-contiguous: copied as is */
    CHECK_MEM_EQ(t, out, base, sizeof out);

    /* a[:, ::-1]: shape (2,3), strides (12,-4), buf at element [0,2] */
    int64_t r_shape[2] = {2, 3};
    int64_t r_strides[2] = {12, -4};
    init_view(&tv, 2, r_shape, r_strides, 4, base + 2, base, sizeof base);
    CHECK_EQ(t, pb_to_contiguous(out, &tv.view, 24, 'C'), 0);
    int32_t reversed_c[6] = {2, 1, 0, 5, 4, 3};
    CHECK_MEM_EQ(t, out, reversed_c, sizeof out);
    CHECK_EQ(t, pb_to_contiguous(out, &tv.view, 24, 'A'), 0); /* neither: 'A' is C */
    CHECK_MEM_EQ(t, out, reversed_c, sizeof out);
    CHECK_EQ(t, pb_to_contiguous(out, &tv.view, 24, 'F'), 0);
    int32_t reversed_f[6] = {2, 5, 1, 4, 0, 3};
    CHECK_MEM_EQ(t, out, reversed_f, sizeof out);

    /* broadcast_to(a[0], (2,3)): strides (0,4) */
    int64_t b_strides[2] = {0, 4};
    init_view(&tv, 2, r_shape, b_strides, 4, base, base, sizeof base);
    CHECK_EQ(t, pb_to_contiguous(out, &tv.view, 24, 'C'), 0);
    int32_t broadcast_c[6] = {0, 1, 2, 0, 1, 2};
    CHECK_MEM_EQ(t, out, broadcast_c, sizeof out);
    CHECK_EQ(t, pb_to_contiguous(out, &tv.view, 24, 'F'), 0);
    int32_t broadcast_f[6] = {0, 0, 1, 1, 2, 2};
    CHECK_MEM_EQ(t, out, broadcast_f, sizeof out);

    /* writing through the broadcast view: the last write of each element wins */
    int32_t src[6] = {10, 11, 12, 20, 21, 22};
    CHECK_EQ(t, pb_from_contiguous(&tv.view, src, 24, 'C'), 0);
    int32_t after_c[6] = {20, 21, 22, 3, 4, 5};
    CHECK_MEM_EQ(t, base, after_c, sizeof base);
    fill_counting(base, 6);
    CHECK_EQ(t, pb_from_contiguous(&tv.view, src, 24, 'F'), 0);
    int32_t after_f[6] = {11, 20, 22, 3, 4, 5};
    CHECK_MEM_EQ(t, base, after_f, sizeof base);
}

static void partial_from_contiguous_keeps_cpython_quirk(pbt *t)
{
    int32_t base[6];
    unsigned char src[24];
    memset(src, 0xAB, sizeof src);
    test_view tv;
    int64_t shape[2] = {2, 3};
    int64_t c_strides[2] = {12, 4};

    /* contiguous: all len bytes, even half an element */
    fill_counting(base, 6);
    init_view(&tv, 2, shape, c_strides, 4, base, base, sizeof base);
    CHECK_EQ(t, pb_from_contiguous(&tv.view, src, 6, 'C'), 0);
    unsigned char expected[24];
    int32_t counting[6];
    fill_counting(counting, 6);
    memcpy(expected, counting, sizeof expected);
    memset(expected, 0xAB, 6);
    CHECK_MEM_EQ(t, base, expected, sizeof base);

    /* strided: whole elements only */
    int64_t t_shape[2] = {3, 2};
    int64_t t_strides[2] = {4, 12};
    fill_counting(base, 6);
    init_view(&tv, 2, t_shape, t_strides, 4, base, base, sizeof base);
    CHECK_EQ(t, pb_from_contiguous(&tv.view, src, 6, 'C'), 0);
    memcpy(expected, counting, sizeof expected);
    memset(expected, 0xAB, 4);
    CHECK_MEM_EQ(t, base, expected, sizeof base);

    /* len larger than the view is clamped */
    fill_counting(base, 6);
    unsigned char big[100];
    memset(big, 0x11, sizeof big);
    CHECK_EQ(t, pb_from_contiguous(&tv.view, big, (int64_t)sizeof big, 'C'), 0);
    memset(expected, 0x11, sizeof expected);
    CHECK_MEM_EQ(t, base, expected, sizeof base);
}

static void failed_copies_write_nothing(pbt *t)
{
    int32_t base[6];
    fill_counting(base, 6);
    int32_t untouched[6];
    memcpy(untouched, base, sizeof base);
    unsigned char dst[32];
    unsigned char canary[32];
    memset(canary, 0x5A, sizeof canary);
    memset(dst, 0x5A, sizeof dst);
    int64_t shape[2] = {3, 2};
    int64_t strides[2] = {4, 12};
    test_view tv;
    init_view(&tv, 2, shape, strides, 4, base, base, sizeof base);

    CHECK_EQ(t, pb_to_contiguous(dst, &tv.view, 23, 'C'), PB_ELEN);
    CHECK_EQ(t, pb_to_contiguous(dst, &tv.view, 25, 'C'), PB_ELEN);
    CHECK_EQ(t, pb_to_contiguous(dst, &tv.view, 24, 'X'), PB_EINVAL);
    CHECK_EQ(t, pb_to_contiguous(NULL, &tv.view, 24, 'C'), PB_EINVAL);
    CHECK_EQ(t, pb_to_contiguous(dst, NULL, 24, 'C'), PB_EINVAL);
    tv.view.base_len = 20; /* the last element now lies outside */
    CHECK_EQ(t, pb_to_contiguous(dst, &tv.view, 24, 'C'), PB_EBOUNDS);
    tv.view.base_len = sizeof base;
    tv.view.magic = PB_MAGIC_RELEASED;
    CHECK_EQ(t, pb_to_contiguous(dst, &tv.view, 24, 'C'), PB_ERELEASED);
    CHECK_MEM_EQ(t, dst, canary, sizeof dst);

    int32_t src[6] = {9, 9, 9, 9, 9, 9};
    CHECK_EQ(t, pb_from_contiguous(&tv.view, src, 24, 'C'), PB_ERELEASED);
    tv.view.magic = PB_MAGIC_LIVE;
    tv.view.readonly = 1;
    CHECK_EQ(t, pb_from_contiguous(&tv.view, src, 24, 'C'), PB_EREADONLY);
    tv.view.readonly = 0;
    CHECK_EQ(t, pb_from_contiguous(&tv.view, src, -1, 'C'), PB_EINVAL);
    CHECK_EQ(t, pb_from_contiguous(&tv.view, src, 24, 'a'), PB_EINVAL);
    CHECK_EQ(t, pb_from_contiguous(&tv.view, NULL, 24, 'C'), PB_EINVAL);
    CHECK_EQ(t, pb_from_contiguous(NULL, src, 24, 'C'), PB_EINVAL);
    tv.view.len = 20;
    CHECK_EQ(t, pb_from_contiguous(&tv.view, src, 24, 'C'), PB_ELEN);
    tv.view.len = 24;
    CHECK_MEM_EQ(t, base, untouched, sizeof base);

    /* Zero bytes: success, nothing written, NULL pointers allowed. */
    CHECK_EQ(t, pb_from_contiguous(&tv.view, NULL, 0, 'C'), 0);
    CHECK_MEM_EQ(t, base, untouched, sizeof base);
    int64_t empty_shape[2] = {3, 0};
    init_view(&tv, 2, empty_shape, strides, 4, NULL, NULL, 0);
    CHECK_EQ(t, pb_to_contiguous(NULL, &tv.view, 0, 'F'), 0);
    CHECK_EQ(t, pb_from_contiguous(&tv.view, NULL, 100, 'F'), 0);
}

/* ---- random views against the reference --------------------------------- */

static const int64_t ITEMSIZES[] = {1, 2, 3, 4, 8, 12, 16};

/* Fills tv with a random valid view over a fresh heap block of exactly
   base_len bytes (so ASan sees any byte read or written outside it). */
static void random_view(pbt_rng *rng, test_view *tv, int ndim)
{
    int64_t itemsize = ITEMSIZES[pbt_range(rng, 0, COUNT_OF(ITEMSIZES) - 1)];
    int64_t shape[PB_MAX_NDIM];
    int64_t strides[PB_MAX_NDIM];
    for (int i = 0; i < ndim; i++) {
        shape[i] = pbt_range(rng, 0, 99) < 6 ? 0 : pbt_range(rng, 1, 4);
    }
    /* contiguous strides in a random axis order (C, F, or a transpose) */
    int order[PB_MAX_NDIM];
    for (int i = 0; i < ndim; i++) {
        order[i] = i;
    }
    int kind = (int)pbt_range(rng, 0, 5);
    if (kind == 1) {
        for (int i = 0; i < ndim; i++) {
            order[i] = ndim - 1 - i;
        }
    } else if (kind == 2) {
        for (int i = ndim - 1; i > 0; i--) {
            int j = (int)pbt_range(rng, 0, i);
            int swap = order[i];
            order[i] = order[j];
            order[j] = swap;
        }
    }
    int64_t step = itemsize * pbt_range(rng, 1, 2); /* sometimes every other element */
    for (int i = ndim - 1; i >= 0; i--) {
        strides[order[i]] = step;
        step *= shape[order[i]] > 0 ? shape[order[i]] : 1;
    }
    for (int i = 0; i < ndim; i++) {
        if (kind == 3) { /* multiples of the itemsize, zero and negative included */
            strides[i] = itemsize * pbt_range(rng, -3, 3);
        } else if (kind == 4) { /* any byte stride: overlapping, misaligned */
            strides[i] = pbt_range(rng, -3 * itemsize - 2, 3 * itemsize + 2);
        } else {
            if (pbt_range(rng, 0, 3) == 0) {
                strides[i] = -strides[i]; /* reversed axis */
            }
            if (pbt_range(rng, 0, 7) == 0) {
                strides[i] = 0; /* broadcast axis */
            }
        }
    }
    int null_strides = kind == 5;
    if (null_strides) {
        int64_t c_step = itemsize;
        for (int i = ndim - 1; i >= 0; i--) {
            strides[i] = c_step;
            c_step *= shape[i];
        }
    }

    int64_t lowest = 0;
    int64_t highest = itemsize;
    int empty = 0;
    for (int i = 0; i < ndim; i++) {
        empty |= shape[i] == 0;
        int64_t span = strides[i] * (shape[i] > 0 ? shape[i] - 1 : 0);
        if (span < 0) {
            lowest += span;
        } else {
            highest += span;
        }
    }
    int64_t slack = pbt_range(rng, 0, 8);
    int64_t base_len = empty ? pbt_range(rng, 0, 8) : highest - lowest + slack;
    unsigned char *base = pbt_malloc((size_t)base_len);
    for (int64_t i = 0; i < base_len; i++) {
        base[i] = (unsigned char)pbt_next(rng);
    }
    unsigned char *buf = empty ? (base_len > 0 ? base : NULL) : base - lowest + pbt_range(rng, 0, slack);
    init_view(tv, ndim, shape, null_strides ? NULL : strides, itemsize, buf,
              base_len > 0 ? base : NULL, base_len);
    tv->base = base;
    if (itemsize == 1 && pbt_range(rng, 0, 1) == 0) {
        tv->view.format = NULL; /* means "B" */
    }
}

static void compare_with_reference(pbt *t, pbt_rng *rng, test_view *tv)
{
    pb_buffer *view = &tv->view;
    int64_t len = view->len;
    int64_t base_len = view->base_len;
    unsigned char *original = pbt_malloc((size_t)base_len);
    unsigned char *ours = pbt_malloc((size_t)base_len);
    unsigned char *dst = pbt_malloc((size_t)len + 8);
    unsigned char *ref = pbt_malloc((size_t)len + 8);
    unsigned char *src = pbt_malloc((size_t)len + 8);
    memcpy(original, tv->base, (size_t)base_len);
    for (int64_t i = 0; i < len + 8; i++) {
        src[i] = (unsigned char)pbt_next(rng);
    }

    if (!CHECK_EQ(t, pb_validate(view), 0)) {
        goto done;
    }
    static const char ORDERS[] = {'C', 'F', 'A'};
    for (size_t o = 0; o < sizeof ORDERS; o++) {
        char order = ORDERS[o];
        CHECK_EQ(t, pb_is_contiguous(view, order), ref_contiguous(view, order));

        memset(dst, 0xEE, (size_t)len + 8);
        memset(ref, 0xEE, (size_t)len + 8);
        CHECK_EQ(t, pb_to_contiguous(dst, view, len, order), 0);
        ref_to_contiguous(ref, view, order);
        CHECK_MEM_EQ(t, dst, ref, (size_t)len + 8); /* also: nothing past len */

        /* full, partial (maybe half an element), clamped */
        int64_t lengths[3] = {len, pbt_range(rng, 0, len), len + 8};
        for (int l = 0; l < 3; l++) {
            CHECK_EQ(t, pb_from_contiguous(view, src, lengths[l], order), 0);
            memcpy(ours, tv->base, (size_t)base_len);
            memcpy(tv->base, original, (size_t)base_len);
            ref_from_contiguous(view, src, lengths[l], order);
            CHECK_MEM_EQ(t, ours, tv->base, (size_t)base_len);
            memcpy(tv->base, original, (size_t)base_len);
        }
    }

    /* one random element's address */
    if (len > 0) {
        int64_t index[PB_MAX_NDIM];
        for (int i = 0; i < view->ndim; i++) {
            index[i] = pbt_range(rng, 0, view->shape[i] - 1);
        }
        CHECK_PTR_EQ(t, pb_get_pointer(view, index), (char *)view->buf + ref_offset(view, index));
    }
done:
    free(original);
    free(ours);
    free(dst);
    free(ref);
    free(src);
}

static void random_views_copy_like_the_reference(pbt *t)
{
    pbt_rng rng = {20240611};
    for (int n = 0; n < 6000; n++) {
        test_view tv;
        int ndim = (int)pbt_range(&rng, 0, 5);
        random_view(&rng, &tv, ndim);
        pbt_context(t, "random view %d (ndim %d, itemsize %lld)", n, ndim,
                    (long long)tv.view.itemsize);
        compare_with_reference(t, &rng, &tv);
        free(tv.base);
    }
}

/* 64 axes, six of them of length 2, the others of length 1 with wild strides
   (a length-1 axis never moves, so any stride is valid). */
static void sixty_four_axes_copy_like_the_reference(pbt *t)
{
    pbt_rng rng = {64};
    for (int n = 0; n < 200; n++) {
        int64_t shape[PB_MAX_NDIM];
        int64_t strides[PB_MAX_NDIM];
        int64_t itemsize = 2;
        int64_t lowest = 0;
        int64_t highest = itemsize;
        int64_t step = itemsize;
        for (int i = 0; i < PB_MAX_NDIM; i++) {
            int long_axis = i % 11 == 3;
            shape[i] = long_axis ? 2 : 1;
            if (long_axis) {
                strides[i] = pbt_range(&rng, 0, 1) ? step : -step;
                step *= 2;
            } else {
                strides[i] = (int64_t)pbt_next(&rng); /* never used */
            }
            if (pbt_range(&rng, 0, 9) == 0 && long_axis) {
                strides[i] = 0;
            }
            if (long_axis) {
                if (strides[i] < 0) {
                    lowest += strides[i];
                } else {
                    highest += strides[i];
                }
            }
        }
        int64_t base_len = highest - lowest;
        unsigned char *base = pbt_malloc((size_t)base_len);
        for (int64_t i = 0; i < base_len; i++) {
            base[i] = (unsigned char)pbt_next(&rng);
        }
        test_view tv;
        init_view(&tv, PB_MAX_NDIM, shape, strides, itemsize, base - lowest, base, base_len);
        tv.base = base;
        pbt_context(t, "64-axis view %d", n);
        compare_with_reference(t, &rng, &tv);
        free(base);
    }
}

int main(void)
{
    pbt t = pbt_begin("contiguous");
    PBT_RUN(&t, contiguity_follows_cpython);
    PBT_RUN(&t, contiguity_refuses_what_it_cannot_read);
    PBT_RUN(&t, fill_contiguous_strides_matches_cpython);
    PBT_RUN(&t, get_pointer_checks_every_index);
    PBT_RUN(&t, copies_of_small_views_match_numpy);
    PBT_RUN(&t, partial_from_contiguous_keeps_cpython_quirk);
    PBT_RUN(&t, failed_copies_write_nothing);
    PBT_RUN(&t, random_views_copy_like_the_reference);
    PBT_RUN(&t, sixty_four_axes_copy_like_the_reference);
    return pbt_summary(&t);
}
