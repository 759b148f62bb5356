/*
 * test_validate.c -- pb_validate: every failure code on its own, the order in
 * which the header lists the checks, the edge cases of reach (negative, zero
 * and huge strides, zero-size views, allocations at the end of the address
 * space), and random structures -- many near INT64_MAX -- compared with an
 * oracle that does the same arithmetic in 128 bits, where nothing overflows.
 * pb_validate never dereferences buf or base, so these views may point
 * anywhere.
 */
#include "panbuf.h"
#include "pbtest.h"

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

__extension__ typedef __int128 int128;

/* A valid 3x4 float32 view in the middle of a 64-byte block. */
typedef struct {
    pb_buffer view;
    int64_t shape[PB_MAX_NDIM + 1];
    int64_t strides[PB_MAX_NDIM + 1];
    unsigned char block[64];
} fixture;

static void good_view(fixture *f)
{
    memset(f, 0, sizeof *f);
    f->shape[0] = 3;
    f->shape[1] = 4;
    f->strides[0] = 16;
    f->strides[1] = 4;
    f->view.buf = f->block + 8;
    f->view.len = 48;
    f->view.itemsize = 4;
    f->view.ndim = 2;
    f->view.format = "<f";
    f->view.shape = f->shape;
    f->view.strides = f->strides;
    f->view.magic = PB_MAGIC_LIVE;
    f->view.abi_version = PB_ABI_VERSION;
    f->view.base = f->block;
    f->view.base_len = sizeof f->block;
}

static void a_good_view_is_valid(pbt *t)
{
    fixture f;
    good_view(&f);
    CHECK_EQ(t, pb_validate(&f.view), PB_OK);
    f.view.readonly = 1; /* read-only changes nothing here */
    CHECK_EQ(t, pb_validate(&f.view), PB_OK);
    f.view.strides = NULL; /* NULL strides: C-contiguous, [buf, buf + len) */
    CHECK_EQ(t, pb_validate(&f.view), PB_OK);
}

static void each_broken_field_gives_its_code(pbt *t)
{
    fixture f;
    int64_t suboffsets[2] = {-1, -1};

    CHECK_EQ(t, pb_validate(NULL), PB_EINVAL);

    good_view(&f);
    f.view.magic = PB_MAGIC_RELEASED;
    CHECK_EQ(t, pb_validate(&f.view), PB_ERELEASED);
    f.view.magic = 0;
    CHECK_EQ(t, pb_validate(&f.view), PB_EMAGIC);
    f.view.magic = PB_MAGIC_LIVE ^ 1;
    CHECK_EQ(t, pb_validate(&f.view), PB_EMAGIC);

    good_view(&f);
    f.view.abi_version = PB_ABI_VERSION + 1;
    CHECK_EQ(t, pb_validate(&f.view), PB_EABI);
    f.view.abi_version = 0;
    CHECK_EQ(t, pb_validate(&f.view), PB_EABI);

    good_view(&f);
    f.view.ndim = PB_MAX_NDIM + 1;
    CHECK_EQ(t, pb_validate(&f.view), PB_ENDIM);
    f.view.ndim = -1;
    CHECK_EQ(t, pb_validate(&f.view), PB_ENDIM);
    f.view.ndim = INT32_MIN;
    CHECK_EQ(t, pb_validate(&f.view), PB_ENDIM);

    good_view(&f);
    f.view.shape = NULL;
    CHECK_EQ(t, pb_validate(&f.view), PB_ESHAPE);
    good_view(&f);
    f.shape[1] = -4;
    CHECK_EQ(t, pb_validate(&f.view), PB_ESHAPE);
    f.shape[1] = INT64_MIN;
    CHECK_EQ(t, pb_validate(&f.view), PB_ESHAPE);

    good_view(&f);
    f.view.itemsize = 0;
    CHECK_EQ(t, pb_validate(&f.view), PB_EITEMSIZE);
    f.view.itemsize = -4;
    CHECK_EQ(t, pb_validate(&f.view), PB_EITEMSIZE);

    good_view(&f);
    f.view.format = "<d"; /* valid, but 8 bytes */
    CHECK_EQ(t, pb_validate(&f.view), PB_EFORMAT);
    f.view.format = "T{<f"; /* invalid */
    CHECK_EQ(t, pb_validate(&f.view), PB_EFORMAT);
    f.view.format = "99999999999999999999f"; /* overflowing: still "not valid" */
    CHECK_EQ(t, pb_validate(&f.view), PB_EFORMAT);
    f.view.format = NULL; /* means "B": itemsize 1 */
    CHECK_EQ(t, pb_validate(&f.view), PB_EFORMAT);

    good_view(&f);
    f.view.len = 47;
    CHECK_EQ(t, pb_validate(&f.view), PB_ELEN);
    f.view.len = 0;
    CHECK_EQ(t, pb_validate(&f.view), PB_ELEN);
    f.view.len = -48;
    CHECK_EQ(t, pb_validate(&f.view), PB_ELEN);

    good_view(&f);
    f.view.suboffsets = suboffsets;
    CHECK_EQ(t, pb_validate(&f.view), PB_ESUBOFFSETS);

    good_view(&f);
    f.view.buf = NULL;
    CHECK_EQ(t, pb_validate(&f.view), PB_ENULL);
    good_view(&f);
    f.view.base = NULL;
    CHECK_EQ(t, pb_validate(&f.view), PB_ENULL); /* base_len > 0 */
    f.view.base_len = 0;
    CHECK_EQ(t, pb_validate(&f.view), PB_ENULL); /* the view holds bytes */

    good_view(&f);
    f.view.base_len = -1;
    CHECK_EQ(t, pb_validate(&f.view), PB_EBOUNDS);
}

static void reach_is_checked_through_every_kind_of_stride(pbt *t)
{
    fixture f;

    /* positive strides: the last element ends exactly at the block's end */
    good_view(&f);
    f.view.buf = f.block + 16; /* 16 + 2*16 + 3*4 + 4 = 64 */
    CHECK_EQ(t, pb_validate(&f.view), PB_OK);
    f.view.buf = f.block + 17;
    CHECK_EQ(t, pb_validate(&f.view), PB_EBOUNDS);
    f.view.base_len = 63;
    f.view.buf = f.block + 16;
    CHECK_EQ(t, pb_validate(&f.view), PB_EBOUNDS);

    /* negative strides reach before buf: a[::-1, ::-1] */
    good_view(&f);
    f.strides[0] = -16;
    f.strides[1] = -4;
    f.view.buf = f.block + 44; /* reaches [44 - 32 - 12, 44 + 4) = [0, 48) */
    CHECK_EQ(t, pb_validate(&f.view), PB_OK);
    f.view.buf = f.block + 43;
    CHECK_EQ(t, pb_validate(&f.view), PB_EBOUNDS);
    f.view.buf = f.block; /* element [0,0] inside, the others before base */
    CHECK_EQ(t, pb_validate(&f.view), PB_EBOUNDS);

    /* mixed signs */
    good_view(&f);
    f.strides[0] = 16;
    f.strides[1] = -4;
    f.view.buf = f.block + 12; /* [0, 12 + 32 + 4) */
    CHECK_EQ(t, pb_validate(&f.view), PB_OK);
    f.view.buf = f.block + 11;
    CHECK_EQ(t, pb_validate(&f.view), PB_EBOUNDS);

    /* zero strides: broadcasting one row reaches 16 bytes */
    good_view(&f);
    f.strides[0] = 0;
    f.view.buf = f.block + 48;
    CHECK_EQ(t, pb_validate(&f.view), PB_OK);
    f.view.buf = f.block + 49;
    CHECK_EQ(t, pb_validate(&f.view), PB_EBOUNDS);
    f.strides[1] = 0; /* every element is the same 4 bytes */
    f.view.buf = f.block + 60;
    CHECK_EQ(t, pb_validate(&f.view), PB_OK);
    f.view.buf = f.block + 61;
    CHECK_EQ(t, pb_validate(&f.view), PB_EBOUNDS);

    /* overlapping strides shorter than the item are allowed */
    good_view(&f);
    f.strides[0] = 3;
    f.strides[1] = 1;
    CHECK_EQ(t, pb_validate(&f.view), PB_OK);

    /* buf before base, or at/after its end */
    good_view(&f);
    f.view.base = f.block + 8;
    f.view.base_len = 56;
    f.view.buf = f.block + 4;
    CHECK_EQ(t, pb_validate(&f.view), PB_EBOUNDS);
    f.view.buf = f.block + 64;
    CHECK_EQ(t, pb_validate(&f.view), PB_EBOUNDS);

    /* strides NULL: C-contiguous, so [buf, buf + len) */
    good_view(&f);
    f.view.strides = NULL;
    f.view.buf = f.block + 16;
    CHECK_EQ(t, pb_validate(&f.view), PB_OK);
    f.view.buf = f.block + 17;
    CHECK_EQ(t, pb_validate(&f.view), PB_EBOUNDS);
}

static void zero_size_views_reach_nothing(pbt *t)
{
    fixture f;
    good_view(&f);
    f.shape[0] = 0;
    f.view.len = 0;
    f.strides[0] = INT64_MAX; /* never used */
    f.strides[1] = INT64_MIN;
    CHECK_EQ(t, pb_validate(&f.view), PB_OK);
    f.view.buf = NULL;
    CHECK_EQ(t, pb_validate(&f.view), PB_OK);
    f.view.base = NULL;
    f.view.base_len = 0;
    CHECK_EQ(t, pb_validate(&f.view), PB_OK);
    f.view.buf = (void *)((uintptr_t)f.block + 1000); /* anywhere */
    CHECK_EQ(t, pb_validate(&f.view), PB_OK);
    /* ... but base and base_len must still agree */
    f.view.base_len = 10;
    CHECK_EQ(t, pb_validate(&f.view), PB_ENULL);
    f.view.base = f.block;
    f.view.base_len = -1;
    CHECK_EQ(t, pb_validate(&f.view), PB_EBOUNDS);

    /* huge axes times a zero axis: the byte length is exactly 0 */
    good_view(&f);
    f.view.ndim = 3;
    f.shape[0] = INT64_MAX;
    f.shape[1] = INT64_MAX;
    f.shape[2] = 0;
    f.view.len = 0;
    CHECK_EQ(t, pb_validate(&f.view), PB_OK);
}

static void overflowing_sizes_and_extents_are_refused(pbt *t)
{
    fixture f;

    /* product(shape) * itemsize past INT64_MAX */
    good_view(&f);
    f.shape[0] = (int64_t)1 << 32;
    f.shape[1] = (int64_t)1 << 32;
    f.view.len = 0;
    CHECK_EQ(t, pb_validate(&f.view), PB_EOVERFLOW);
    f.shape[0] = INT64_MAX / 4 + 1; /* times itemsize 4 */
    f.shape[1] = 1;
    CHECK_EQ(t, pb_validate(&f.view), PB_EOVERFLOW);

    /* stride * (dim - 1) past INT64_MAX */
    good_view(&f);
    f.view.itemsize = 1;
    f.view.format = "B";
    f.view.ndim = 1;
    f.shape[0] = (int64_t)1 << 62;
    f.strides[0] = 4;
    f.view.len = (int64_t)1 << 62;
    CHECK_EQ(t, pb_validate(&f.view), PB_EOVERFLOW);
    f.strides[0] = -4;
    CHECK_EQ(t, pb_validate(&f.view), PB_EOVERFLOW);
    f.strides[0] = INT64_MIN;
    f.shape[0] = 2;
    f.view.len = 2;
    CHECK_EQ(t, pb_validate(&f.view), PB_EBOUNDS); /* fits (-2^63), but reaches far before */
    f.shape[0] = 3;
    f.view.len = 3;
    CHECK_EQ(t, pb_validate(&f.view), PB_EOVERFLOW);

    /* each span fits, their sum does not */
    good_view(&f);
    f.view.itemsize = 1;
    f.view.format = "b";
    f.shape[0] = 2;
    f.shape[1] = 2;
    f.view.len = 4;
    f.strides[0] = (int64_t)1 << 62;
    f.strides[1] = (int64_t)1 << 62;
    CHECK_EQ(t, pb_validate(&f.view), PB_EOVERFLOW);
    f.strides[0] = -((int64_t)1 << 62);
    f.strides[1] = -((int64_t)1 << 62) - 1;
    CHECK_EQ(t, pb_validate(&f.view), PB_EOVERFLOW);
    /* the largest extent that fits is merely out of bounds */
    f.strides[0] = INT64_MAX - 1;
    f.strides[1] = 0;
    CHECK_EQ(t, pb_validate(&f.view), PB_EBOUNDS);
}

static void the_address_space_does_not_wrap(pbt *t)
{
    fixture f;
    good_view(&f);
    /* A claimed allocation running past the top of the address space. */
    f.view.base = (void *)(UINTPTR_MAX - 31);
    f.view.buf = f.view.base;
    f.view.base_len = 64;
    CHECK_EQ(t, pb_validate(&f.view), PB_EBOUNDS);
    /* Nor may it end exactly at the top: its one-past-the-end address would
       be 0, which no C object can have. */
    f.view.base_len = 32;
    f.view.ndim = 1;
    f.shape[0] = 8;
    f.strides[0] = 4;
    f.view.len = 32;
    CHECK_EQ(t, pb_validate(&f.view), PB_EBOUNDS);
    f.view.base_len = 31;
    f.shape[0] = 7;
    f.view.len = 28;
    CHECK_EQ(t, pb_validate(&f.view), PB_OK);
    f.shape[0] = 8;
    f.view.len = 32;
    CHECK_EQ(t, pb_validate(&f.view), PB_EBOUNDS);
    /* A huge buf offset plus the extent overflowing int64. */
    f.view.base = (void *)(uintptr_t)0x1000;
    f.view.base_len = INT64_MAX;
    f.view.buf = (void *)((uintptr_t)0x1000 + (uintptr_t)(INT64_MAX - 8));
    f.shape[0] = 4;
    f.view.len = 16;
    CHECK_EQ(t, pb_validate(&f.view), PB_EBOUNDS);
}

static void checks_run_in_the_header_order(pbt *t)
{
    fixture f;
    int64_t suboffsets[2] = {-1, -1};
    /* Break everything, then repair one field at a time: each step must
       report the next check in the header's list. */
    good_view(&f);
    f.view.magic = PB_MAGIC_RELEASED;
    f.view.abi_version = 99;
    f.view.ndim = 70;
    f.view.itemsize = 0;
    f.view.format = "d";
    f.view.len = 1;
    f.view.suboffsets = suboffsets;
    f.view.base_len = 1;

    CHECK_EQ(t, pb_validate(&f.view), PB_ERELEASED);
    f.view.magic = PB_MAGIC_LIVE;
    CHECK_EQ(t, pb_validate(&f.view), PB_EABI);
    f.view.abi_version = PB_ABI_VERSION;
    CHECK_EQ(t, pb_validate(&f.view), PB_ENDIM);
    f.view.ndim = 2;
    f.view.shape = NULL;
    CHECK_EQ(t, pb_validate(&f.view), PB_ESHAPE);
    f.view.shape = f.shape;
    f.shape[0] = -3;
    CHECK_EQ(t, pb_validate(&f.view), PB_ESHAPE);
    f.shape[0] = 3;
    CHECK_EQ(t, pb_validate(&f.view), PB_EITEMSIZE);
    f.view.itemsize = 4;
    CHECK_EQ(t, pb_validate(&f.view), PB_EFORMAT);
    f.view.format = "f";
    CHECK_EQ(t, pb_validate(&f.view), PB_ELEN);
    f.view.len = 48;
    CHECK_EQ(t, pb_validate(&f.view), PB_ESUBOFFSETS);
    f.view.suboffsets = NULL;
    CHECK_EQ(t, pb_validate(&f.view), PB_EBOUNDS);
    f.view.base_len = sizeof f.block;
    CHECK_EQ(t, pb_validate(&f.view), PB_OK);
}

static void sixty_four_axes_are_valid_and_sixty_five_are_not(pbt *t)
{
    fixture f;
    good_view(&f);
    f.view.ndim = PB_MAX_NDIM;
    f.view.itemsize = 1;
    f.view.format = NULL;
    for (int i = 0; i < PB_MAX_NDIM; i++) {
        f.shape[i] = 1;
        f.strides[i] = INT64_MIN + i; /* length-1 axes never move */
    }
    f.shape[63] = 2;
    f.strides[63] = 1;
    f.view.len = 2;
    CHECK_EQ(t, pb_validate(&f.view), PB_OK);
    f.view.ndim = PB_MAX_NDIM + 1;
    f.shape[64] = 1;
    CHECK_EQ(t, pb_validate(&f.view), PB_ENDIM);
    /* ndim 0 needs no shape */
    good_view(&f);
    f.view.ndim = 0;
    f.view.shape = NULL;
    f.view.strides = NULL;
    f.view.len = 4;
    CHECK_EQ(t, pb_validate(&f.view), PB_OK);
}

/* ---- random structures against a 128-bit oracle ------------------------- */

static const struct {
    const char *format; /* NULL: "B" */
    int64_t size;
} FORMATS[] = {
    {NULL, 1}, {"B", 1}, {"<f", 4}, {"d", 8}, {"3s", 3}, {"T{<i:x:<d:y:}", 12}, {"T{", -1},
};

/* The header's checks, written from the definition with 128-bit integers. */
static int oracle(const pb_buffer *v, int64_t format_size)
{
    if (v->magic != PB_MAGIC_LIVE) {
        return v->magic == PB_MAGIC_RELEASED ? PB_ERELEASED : PB_EMAGIC;
    }
    if (v->abi_version < 1 || v->abi_version > PB_ABI_VERSION) {
        return PB_EABI;
    }
    if (v->ndim < 0 || v->ndim > PB_MAX_NDIM) {
        return PB_ENDIM;
    }
    if (v->ndim > 0 && v->shape == NULL) {
        return PB_ESHAPE;
    }
    int has_zero = 0;
    for (int i = 0; i < v->ndim; i++) {
        if (v->shape[i] < 0) {
            return PB_ESHAPE;
        }
        has_zero |= v->shape[i] == 0;
    }
    if (v->itemsize <= 0) {
        return PB_EITEMSIZE;
    }
    if (format_size != v->itemsize) {
        return PB_EFORMAT;
    }
    int128 byte_len = has_zero ? 0 : v->itemsize;
    for (int i = 0; i < v->ndim && !has_zero; i++) {
        byte_len *= v->shape[i];
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
    int128 lowest = 0;
    int128 highest = v->itemsize;
    for (int i = 0; i < v->ndim; i++) {
        int128 stride = v->strides != NULL ? v->strides[i] : 0;
        if (v->strides == NULL) {
            stride = v->itemsize;
            for (int k = i + 1; k < v->ndim; k++) {
                stride *= v->shape[k];
            }
        }
        int128 span = stride * (v->shape[i] - 1);
        if (span > INT64_MAX || span < INT64_MIN) {
            return PB_EOVERFLOW;
        }
        if (span < 0) {
            lowest += span;
        } else {
            highest += span;
        }
    }
    if (lowest < INT64_MIN || highest > INT64_MAX) {
        return PB_EOVERFLOW;
    }
    int128 base = (int128)(uintptr_t)v->base;
    int128 buf = (int128)(uintptr_t)v->buf;
    if (base + v->base_len > (int128)UINTPTR_MAX) {
        return PB_EBOUNDS;
    }
    if (buf + lowest < base || buf + highest > base + v->base_len || buf < base ||
        buf >= base + v->base_len) {
        return PB_EBOUNDS;
    }
    return PB_OK;
}

/* Values near every boundary that matters. */
static int64_t tricky(pbt_rng *rng, int64_t small_lo, int64_t small_hi)
{
    static const int64_t EDGES[] = {
        0, 1, 2, 3, -1, -2, INT64_MAX, INT64_MAX - 1, INT64_MIN, INT64_MIN + 1,
        (int64_t)1 << 31, (int64_t)1 << 32, (int64_t)1 << 62, -((int64_t)1 << 62),
        INT64_MAX / 2, INT64_MAX / 3, INT64_MIN / 2, 3037000499, 3037000500,
    };
    if (pbt_range(rng, 0, 3) == 0) {
        return EDGES[pbt_range(rng, 0, COUNT_OF(EDGES) - 1)];
    }
    return pbt_range(rng, small_lo, small_hi);
}

static void random_structures_agree_with_the_oracle(pbt *t)
{
    pbt_rng rng = {3118};
    unsigned char block[256];
    long valid = 0;
    for (int n = 0; n < 200000; n++) {
        pb_buffer v;
        int64_t shape[PB_MAX_NDIM + 2];
        int64_t strides[PB_MAX_NDIM + 2];
        int64_t suboffsets[1] = {-1};
        memset(&v, 0, sizeof v);
        size_t f = (size_t)pbt_range(&rng, 0, COUNT_OF(FORMATS) - 1);
        int mutate = pbt_range(&rng, 0, 2) == 0; /* otherwise aim for valid */
        v.format = FORMATS[f].format;
        v.itemsize = FORMATS[f].size;
        v.ndim = (int)pbt_range(&rng, 0, 4);
        if (mutate && pbt_range(&rng, 0, 9) == 0) {
            static const int NDIMS[] = {-1, 63, 64, 65, INT32_MAX};
            v.ndim = NDIMS[pbt_range(&rng, 0, COUNT_OF(NDIMS) - 1)];
        }
        int axes = v.ndim > 0 && v.ndim <= PB_MAX_NDIM ? v.ndim : 0;
        for (int i = 0; i < axes; i++) {
            shape[i] = mutate ? tricky(&rng, 0, 5) : pbt_range(&rng, 0, 5);
            strides[i] = mutate ? tricky(&rng, -40, 40) : pbt_range(&rng, -20, 20);
            if (i > 4 && !mutate) {
                shape[i] = 1;
            }
        }
        int128 len = v.itemsize > 0 ? v.itemsize : 1;
        int has_zero = 0;
        for (int i = 0; i < axes; i++) {
            has_zero |= shape[i] == 0;
            len = len * shape[i];
            if (len > INT64_MAX || len < INT64_MIN) {
                len = 0;
            }
        }
        v.len = has_zero ? 0 : (int64_t)len;
        if (mutate && pbt_range(&rng, 0, 4) == 0) {
            v.len = tricky(&rng, -3, 100);
        }
        v.shape = shape;
        v.strides = pbt_range(&rng, 0, 9) == 0 ? NULL : strides;
        v.magic = PB_MAGIC_LIVE;
        v.abi_version = PB_ABI_VERSION;
        /* base: the real block, NULL, or an address near the top */
        int64_t where = pbt_range(&rng, 0, 19);
        uintptr_t base = where == 0 ? 0 : where == 1 ? UINTPTR_MAX - 127 : (uintptr_t)block;
        v.base = (void *)base;
        v.base_len = base == 0 ? 0 : pbt_range(&rng, 0, 128);
        v.buf = (void *)(base + (uintptr_t)pbt_range(&rng, 0, 128));
        if (mutate) {
            switch (pbt_range(&rng, 0, 9)) {
            case 0: v.magic = pbt_range(&rng, 0, 1) ? PB_MAGIC_RELEASED : (uint32_t)pbt_next(&rng); break;
            case 1: v.abi_version = (uint32_t)pbt_range(&rng, 0, 3); break;
            case 2: v.shape = NULL; break;
            case 3: v.suboffsets = suboffsets; break;
            case 4: v.buf = NULL; break;
            case 5: v.base_len = tricky(&rng, -5, 300); break;
            case 6: v.itemsize = tricky(&rng, -2, 16); break;
            case 7: v.buf = (void *)((uintptr_t)block + (uintptr_t)tricky(&rng, -200, 200)); break;
            default: break;
            }
        }
        int expected = oracle(&v, FORMATS[f].size);
        int actual = pb_validate(&v);
        if (actual == PB_OK) {
            valid++;
        }
        pbt_context(t, "structure %d (ndim %d, len %lld, base_len %lld)", n, v.ndim,
                    (long long)v.len, (long long)v.base_len);
        CHECK_EQ(t, actual, expected);
    }
    pbt_context(t, "%ld of 200000 random structures were valid", valid);
    CHECK(t, valid > 20000); /* the generator exercises both outcomes */
}

int main(void)
{
    pbt t = pbt_begin("validate");
    PBT_RUN(&t, a_good_view_is_valid);
    PBT_RUN(&t, each_broken_field_gives_its_code);
    PBT_RUN(&t, reach_is_checked_through_every_kind_of_stride);
    PBT_RUN(&t, zero_size_views_reach_nothing);
    PBT_RUN(&t, overflowing_sizes_and_extents_are_refused);
    PBT_RUN(&t, the_address_space_does_not_wrap);
    PBT_RUN(&t, checks_run_in_the_header_order);
    PBT_RUN(&t, sixty_four_axes_are_valid_and_sixty_five_are_not);
    PBT_RUN(&t, random_structures_agree_with_the_oracle);
    return pbt_summary(&t);
}
