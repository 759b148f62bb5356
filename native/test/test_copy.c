/*
 * test_copy.c -- pb_copy_strided: thousands of random copies (ndim 0..5,
 * permuted, reversed, broadcast, padded and odd strides, item sizes 1, 2, 3,
 * 4, 8, 16, with and without a byte swap, planes large enough for tiles and
 * their edges) compared byte for byte with a reference written from the
 * definition, one element at a time; each memory is a heap block of exactly
 * the bytes the view reaches, so a stray access is an AddressSanitizer
 * report. Then every refusal, which must write nothing.
 */
#include "panbuf.h"
#include "pbtest.h"

typedef struct {
    int32_t ndim;
    int64_t shape[PB_MAX_NDIM];
    int64_t strides[PB_MAX_NDIM];
    int64_t offset;
    int64_t len;
} layout;

/* Strides for `shape` in a random axis order, steps of 1..3 elements, some
   axes reversed, some broadcast (stride 0) when `broadcast`; offset and len
   so that the reach is exactly [0, len) minus a random lead and tail. */
static void random_layout(pbt_rng *rng, layout *l, int32_t ndim, const int64_t *shape, int64_t item,
                          int broadcast)
{
    int order[PB_MAX_NDIM];
    l->ndim = ndim;
    for (int i = 0; i < ndim; i++) {
        order[i] = ndim - 1 - i;   /* innermost first: C order */
        l->shape[i] = shape[i];
    }
    int kind = (int)pbt_range(rng, 0, 3);
    for (int i = ndim - 1; kind >= 2 && i > 0; i--) {
        int j = (int)pbt_range(rng, 0, i);
        int tmp = order[i];
        order[i] = order[j];
        order[j] = tmp;
    }
    if (kind == 1) {
        for (int i = 0; i < ndim / 2; i++) {
            int tmp = order[i];
            order[i] = order[ndim - 1 - i];
            order[ndim - 1 - i] = tmp;
        }
    }
    int64_t running = item;
    for (int i = 0; i < ndim; i++) {
        int axis = order[i];
        int64_t step = pbt_range(rng, 0, 9) < 7 ? 1 : pbt_range(rng, 2, 3);
        int64_t pad = pbt_range(rng, 0, 5) == 0 ? pbt_range(rng, 1, 3) : 0;
        l->strides[axis] = running * step;
        running *= shape[axis] * step + pad;
        if (pbt_range(rng, 0, 3) == 0) {
            l->strides[axis] = -l->strides[axis];
        }
        if (broadcast && pbt_range(rng, 0, 6) == 0) {
            l->strides[axis] = 0;
        }
    }
    int64_t low = 0;
    int64_t high = item;
    for (int i = 0; i < ndim; i++) {
        int64_t extent = l->strides[i] * (shape[i] - 1);
        if (extent < 0) {
            low += extent;
        } else {
            high += extent;
        }
    }
    int64_t lead = pbt_range(rng, 0, 2) * item + pbt_range(rng, 0, 1);
    l->offset = lead - low;
    l->len = lead + (high - low) + pbt_range(rng, 0, 2);
}

/* The definition: element by element, offsets recomputed from the indices. */
static void reference(unsigned char *dst, const layout *dl, const unsigned char *src, const layout *sl,
                      int64_t item, int swap)
{
    int64_t count = 1;
    for (int i = 0; i < dl->ndim; i++) {
        count *= dl->shape[i];
    }
    int64_t index[PB_MAX_NDIM] = {0};
    for (int64_t n = 0; n < count; n++) {
        int64_t d = dl->offset;
        int64_t s = sl->offset;
        for (int k = 0; k < dl->ndim; k++) {
            d += index[k] * dl->strides[k];
            s += index[k] * sl->strides[k];
        }
        for (int64_t b = 0; b < item; b++) {
            dst[d + b] = src[s + (swap ? item - 1 - b : b)];
        }
        for (int k = dl->ndim - 1; k >= 0; k--) {
            if (++index[k] < dl->shape[k]) {
                break;
            }
            index[k] = 0;
        }
    }
}

static unsigned char *random_bytes(pbt_rng *rng, int64_t len)
{
    unsigned char *p = pbt_malloc((size_t)len);
    for (int64_t i = 0; i < len; i++) {
        p[i] = (unsigned char)pbt_next(rng);
    }
    return p;
}

static void one_case(pbt *t, pbt_rng *rng, int32_t ndim, const int64_t *shape, int64_t item, int swap,
                     long label)
{
    layout sl;
    layout dl;
    random_layout(rng, &sl, ndim, shape, item, 1);
    random_layout(rng, &dl, ndim, shape, item, 0);
    unsigned char *src = random_bytes(rng, sl.len);
    unsigned char *dst = random_bytes(rng, dl.len);
    unsigned char *expected = pbt_malloc((size_t)dl.len);
    memcpy(expected, dst, (size_t)dl.len);
    reference(expected, &dl, src, &sl, item, swap);
    pbt_context(t, "case %ld: ndim %d item %lld swap %d", label, ndim, (long long)item, swap);
    int rc = pb_copy_strided(dst, dl.len, dl.offset, dl.strides, src, sl.len, sl.offset, sl.strides,
                             ndim, shape, item, swap);
    CHECK_EQ(t, rc, PB_OK);
    CHECK_MEM_EQ(t, dst, expected, (size_t)dl.len);
    free(src);
    free(dst);
    free(expected);
}

static const int64_t ITEMS[] = {1, 2, 3, 4, 8, 16};

static void random_copies_match_the_reference(pbt *t)
{
    pbt_rng rng = {0xC0917ull};
    for (long i = 0; i < 6000; i++) {
        int32_t ndim = (int32_t)pbt_range(&rng, 0, 5);
        int64_t shape[PB_MAX_NDIM];
        for (int k = 0; k < ndim; k++) {
            int64_t pick = pbt_range(&rng, 0, 19);
            shape[k] = pick < 3 ? 1 : pick < 16 ? pbt_range(&rng, 2, 6) : pbt_range(&rng, 7, ndim <= 2 ? 80 : 14);
        }
        int64_t item = ITEMS[pbt_range(&rng, 0, 5)];
        int swap = item != 3 && pbt_range(&rng, 0, 1);
        one_case(t, &rng, ndim, shape, item, swap, i);
    }
}

/* Planes past one tile (64 elements) in both directions, with partial blocks at the edges. */
static void large_planes_match_the_reference(pbt *t)
{
    pbt_rng rng = {0x71E5ull};
    for (long i = 0; i < 60; i++) {
        int32_t ndim = (int32_t)pbt_range(&rng, 2, 3);
        int64_t shape[3];
        shape[0] = ndim == 3 ? pbt_range(&rng, 1, 3) : pbt_range(&rng, 60, 200);
        shape[1] = pbt_range(&rng, 60, 200);
        shape[2] = pbt_range(&rng, 60, 140);
        int64_t item = ITEMS[pbt_range(&rng, 0, 5)];
        int swap = item != 3 && pbt_range(&rng, 0, 1);
        one_case(t, &rng, ndim, shape, item, swap, i);
    }
}

/* The normalised float32 transpose Java hands over: the SSE2 blocks' path. */
static void dense_float32_transposes_match_the_reference(pbt *t)
{
    pbt_rng rng = {0xF32ull};
    for (long i = 0; i < 20; i++) {
        int64_t rows = pbt_range(&rng, 1, 150);
        int64_t cols = pbt_range(&rng, 1, 150);
        int64_t shape[2] = {rows, cols};
        layout sl = {2, {rows, cols}, {4, 4 * rows}, 0, 4 * rows * cols};
        layout dl = {2, {rows, cols}, {4 * cols, 4}, 0, 4 * rows * cols};
        unsigned char *src = random_bytes(&rng, sl.len);
        unsigned char *dst = random_bytes(&rng, dl.len);
        unsigned char *expected = pbt_malloc((size_t)dl.len);
        memcpy(expected, dst, (size_t)dl.len);
        int swap = (int)(i & 1);
        reference(expected, &dl, src, &sl, 4, swap);
        pbt_context(t, "%lld x %lld swap %d", (long long)rows, (long long)cols, swap);
        CHECK_EQ(t, pb_copy_strided(dst, dl.len, 0, dl.strides, src, sl.len, 0, sl.strides, 2, shape, 4, swap), PB_OK);
        CHECK_MEM_EQ(t, dst, expected, (size_t)dl.len);
        free(src);
        free(dst);
        free(expected);
    }
}

/* Copies past 8 MiB write contiguous destination runs with non-temporal stores:
   forwards, reversed and broadcast sources, every item size, with and without a
   swap, destinations aligned and not (which take the ordinary stores). */
static void streamed_copies_match_the_reference(pbt *t)
{
    pbt_rng rng = {0x57EAull};
    for (long i = 0; i < 72; i++) {
        int64_t item = ITEMS[i % 6];
        int kind = (int)((i / 6) % 3);
        int swap = item != 3 && (i / 18) % 2 == 1;
        int32_t ndim = kind == 2 && (i / 36) % 2 == 1 ? 2 : 1;
        int64_t count = ((int64_t)17 << 19) / item + pbt_range(&rng, 0, 40);
        layout sl;
        layout dl;
        memset(&sl, 0, sizeof sl);
        memset(&dl, 0, sizeof dl);
        sl.ndim = dl.ndim = ndim;
        if (ndim == 2) {
            /* One row of 1000 elements broadcast down the rows. */
            int64_t rows = count / 1000 + 1;
            sl.shape[0] = dl.shape[0] = rows;
            sl.shape[1] = dl.shape[1] = 1000;
            sl.strides[0] = 0;
            sl.strides[1] = item;
            dl.strides[0] = 1000 * item;
            dl.strides[1] = item;
            sl.len = 1000 * item;
            dl.offset = pbt_range(&rng, 0, 2) * item;
            dl.len = dl.offset + rows * 1000 * item;
        } else {
            sl.shape[0] = dl.shape[0] = count;
            sl.strides[0] = kind == 0 ? item : kind == 1 ? -item : 0;
            sl.len = kind == 2 ? item + 1 : count * item + 1;
            sl.offset = kind == 1 ? (count - 1) * item + 1 : 1;
            dl.strides[0] = item;
            /* A multiple of item (streamed), or every fifth case any offset (mostly not streamed). */
            dl.offset = i % 5 == 4 ? pbt_range(&rng, 0, 16) : pbt_range(&rng, 0, 2) * item;
            dl.len = dl.offset + count * item;
        }
        unsigned char *src = random_bytes(&rng, sl.len);
        unsigned char *dst = random_bytes(&rng, dl.len);
        unsigned char *expected = pbt_malloc((size_t)dl.len);
        memcpy(expected, dst, (size_t)dl.len);
        reference(expected, &dl, src, &sl, item, swap);
        pbt_context(t, "case %ld: ndim %d kind %d item %lld swap %d dst offset %lld", i, ndim, kind,
                    (long long)item, swap, (long long)dl.offset);
        CHECK_EQ(t, pb_copy_strided(dst, dl.len, dl.offset, dl.strides, src, sl.len, sl.offset, sl.strides,
                                    ndim, dl.shape, item, swap), PB_OK);
        CHECK_MEM_EQ(t, dst, expected, (size_t)dl.len);
        free(src);
        free(dst);
        free(expected);
    }
}

/* Transposes past 8 MiB of float32 write whole destination lines with
   non-temporal stores where every destination row is 64-byte aligned: planes
   whose source lines are close (< 4 KiB apart) and far, rows and columns
   left over from the 4 x 16 blocks (columns in destinations whose rows are
   padded to whole lines), destinations one element off (which take the
   8 x 8 blocks); then the (1, 0, 2) permutation, whose short runs prefetch
   the next run's source. */
static void streamed_transposes_match_the_reference(pbt *t)
{
    pbt_rng rng = {0x7A15ull};
    /* rows along the source's fastest axis, cols along the destination's */
    static const int64_t base[][2] = {{3136, 64}, {64, 3136}, {1024, 1024}, {2048, 1040}};
    for (long i = 0; i < 10; i++) {
        int perm102 = i >= 8;
        int64_t rows = perm102 ? 256 : base[i % 4][0] + (i < 4 ? 0 : pbt_range(&rng, 1, 3));
        int64_t cols = perm102 ? 250 + i : base[i % 4][1] + (i < 4 ? 0 : pbt_range(&rng, 1, 15));
        /* destination row length in elements: padded to whole lines in odd cases */
        int64_t pitch = !perm102 && i % 2 == 1 ? (cols + 15) / 16 * 16 : cols;
        int64_t planes = ((int64_t)17 << 19) / (4 * rows * cols) + 1;
        layout sl;
        layout dl;
        memset(&sl, 0, sizeof sl);
        memset(&dl, 0, sizeof dl);
        sl.ndim = dl.ndim = 3;
        int64_t shape[3] = {planes, rows, cols};
        memcpy(sl.shape, shape, sizeof shape);
        memcpy(dl.shape, shape, sizeof shape);
        if (perm102) {
            /* the source is (rows, planes, cols) in C order */
            int64_t ss[3] = {4 * cols, 4 * planes * cols, 4};
            memcpy(sl.strides, ss, sizeof ss);
        } else {
            /* the source is (planes, cols, rows) in C order */
            int64_t ss[3] = {4 * rows * cols, 4, 4 * rows};
            memcpy(sl.strides, ss, sizeof ss);
        }
        int64_t ds[3] = {4 * rows * pitch, 4 * pitch, 4};
        memcpy(dl.strides, ds, sizeof ds);
        sl.len = 4 * planes * rows * cols;
        unsigned char *src = random_bytes(&rng, sl.len);
        dl.len = 4 * planes * rows * pitch + 128;
        unsigned char *dst = random_bytes(&rng, dl.len);
        dl.offset = (int64_t)((64 - (uintptr_t)dst % 64) % 64) + (i == 3 || i == 6 ? 4 : 0);
        unsigned char *expected = pbt_malloc((size_t)dl.len);
        memcpy(expected, dst, (size_t)dl.len);
        reference(expected, &dl, src, &sl, 4, 0);
        pbt_context(t, "case %ld: %lld planes of %lld x %lld, pitch %lld, dst offset %lld", i, (long long)planes,
                    (long long)rows, (long long)cols, (long long)pitch, (long long)dl.offset);
        CHECK_EQ(t, pb_copy_strided(dst, dl.len, dl.offset, dl.strides, src, sl.len, 0, sl.strides,
                                    3, dl.shape, 4, 0), PB_OK);
        CHECK_MEM_EQ(t, dst, expected, (size_t)dl.len);
        free(src);
        free(dst);
        free(expected);
    }
}

static void refusals_write_nothing(pbt *t)
{
    unsigned char src[64];
    unsigned char dst[64];
    unsigned char before[64];
    for (int i = 0; i < 64; i++) {
        src[i] = (unsigned char)i;
        dst[i] = (unsigned char)(0xA0 ^ i);
    }
    memcpy(before, dst, sizeof dst);
    int64_t shape[2] = {4, 4};
    int64_t contiguous[2] = {16, 4};
    int64_t reversed[2] = {-16, -4};
    int64_t negative_shape[2] = {4, -1};
    int64_t big_stride[2] = {INT64_MAX / 2, 4};
    /* Each view reaches exactly 64 bytes: one byte less of memory is out of bounds. */
    CHECK_EQ(t, pb_copy_strided(dst, 63, 0, contiguous, src, 64, 0, contiguous, 2, shape, 4, 0), PB_EBOUNDS);
    CHECK_EQ(t, pb_copy_strided(dst, 64, 0, contiguous, src, 63, 0, contiguous, 2, shape, 4, 0), PB_EBOUNDS);
    CHECK_EQ(t, pb_copy_strided(dst, 64, 1, contiguous, src, 64, 0, contiguous, 2, shape, 4, 0), PB_EBOUNDS);
    CHECK_EQ(t, pb_copy_strided(dst, 64, 0, contiguous, src, 64, 0, reversed, 2, shape, 4, 0), PB_EBOUNDS);
    CHECK_EQ(t, pb_copy_strided(dst, 64, -1, contiguous, src, 64, 0, contiguous, 2, shape, 4, 0), PB_EBOUNDS);
    CHECK_EQ(t, pb_copy_strided(dst, 64, 0, contiguous, src, 64, 0, big_stride, 2, shape, 4, 0), PB_EOVERFLOW);
    CHECK_EQ(t, pb_copy_strided(dst, 64, 0, contiguous, src, 64, 0, contiguous, 2, negative_shape, 4, 0), PB_ESHAPE);
    CHECK_EQ(t, pb_copy_strided(dst, 64, 0, contiguous, src, 64, 0, contiguous, 2, shape, 0, 0), PB_EITEMSIZE);
    CHECK_EQ(t, pb_copy_strided(dst, 64, 0, contiguous, src, 64, 0, contiguous, 2, shape, 3, 1), PB_EITEMSIZE);
    CHECK_EQ(t, pb_copy_strided(dst, 64, 0, contiguous, src, 64, 0, contiguous, PB_MAX_NDIM + 1, shape, 4, 0), PB_EINVAL);
    CHECK_EQ(t, pb_copy_strided(dst, 64, 0, contiguous, src, 64, 0, contiguous, -1, shape, 4, 0), PB_EINVAL);
    CHECK_EQ(t, pb_copy_strided(dst, 64, 0, contiguous, src, 64, 0, NULL, 2, shape, 4, 0), PB_EINVAL);
    CHECK_EQ(t, pb_copy_strided(NULL, 64, 0, contiguous, src, 64, 0, contiguous, 2, shape, 4, 0), PB_EINVAL);
    CHECK_EQ(t, pb_copy_strided(dst, -1, 0, contiguous, src, 64, 0, contiguous, 2, shape, 4, 0), PB_EINVAL);
    CHECK_MEM_EQ(t, dst, before, sizeof dst);
    /* A shape with a 0 copies nothing, even from NULL. */
    int64_t empty[2] = {0, 4};
    CHECK_EQ(t, pb_copy_strided(NULL, 0, 0, contiguous, NULL, 0, 0, contiguous, 2, empty, 4, 0), PB_OK);
    /* The reversed view of the same 64 bytes starts at its last element. */
    CHECK_EQ(t, pb_copy_strided(dst, 64, 0, contiguous, src, 64, 60, reversed, 2, shape, 4, 0), PB_OK);
    for (int i = 0; i < 16; i++) {
        CHECK_EQ(t, dst[4 * i], 4 * (15 - i));
    }
}

int main(void)
{
    pbt t = pbt_begin("copy");
    PBT_RUN(&t, random_copies_match_the_reference);
    PBT_RUN(&t, large_planes_match_the_reference);
    PBT_RUN(&t, dense_float32_transposes_match_the_reference);
    PBT_RUN(&t, streamed_copies_match_the_reference);
    PBT_RUN(&t, streamed_transposes_match_the_reference);
    PBT_RUN(&t, refusals_write_nothing);
    return pbt_summary(&t);
}
