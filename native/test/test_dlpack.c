/*
 * test_dlpack.c -- pb_dlpack.c: exports of pb_buffers as DLPack managed
 * tensors (versioned and legacy), what they refuse and that a refusal
 * changes nothing, the deleter's exactly-once hand-back (state cells flipped,
 * every block freed: the sanitizer run's leak check and valgrind prove it),
 * element addresses through DLPack's formula against pb_get_pointer for
 * random views, and the struct layouts against the real dlpack.h when one
 * is installed (Debian: libdlpack-dev).
 */
#include "panbuf.h"
#include "pbtest.h"

#if defined(__has_include)
#if __has_include(<dlpack/dlpack.h>)
#include <dlpack/dlpack.h>
#define HAVE_DLPACK_H 1
#endif
#endif

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

/* A live export made the way panbuf's Java side makes one. */
static pb_buffer *make_export(void *base, int64_t base_len, int64_t offset, const char *format,
                              int64_t itemsize, int ndim, const int64_t *shape,
                              const int64_t *strides, int readonly, int32_t *state)
{
    pb_buffer *view = pb_export_alloc(ndim, (int64_t)strlen(format), state);
    if (view == NULL) {
        return NULL;
    }
    view->buf = (char *)base + offset;
    view->base = base;
    view->base_len = base_len;
    view->itemsize = itemsize;
    view->readonly = readonly;
    int64_t len = itemsize;
    for (int i = 0; i < ndim; i++) {
        view->shape[i] = shape[i];
        view->strides[i] = strides[i];
        len *= shape[i];
    }
    view->len = len;
    memcpy((char *)view->format, format, strlen(format) + 1);
    view->magic = PB_MAGIC_LIVE;
    return view;
}

static void export_describes_the_same_memory(pbt *t)
{
    float data[12];
    for (int i = 0; i < 12; i++) {
        data[i] = (float)i;
    }
    int64_t shape[2] = {3, 4};
    int64_t strides[2] = {16, 4};
    int32_t state = 0;
    pb_buffer *view = make_export(data, sizeof data, 0, "<f", 4, 2, shape, strides, 0, &state);
    if (!CHECK(t, view != NULL)) {
        return;
    }
    int32_t tensor_state = 0;
    pb_dl_managed_tensor_versioned *m = NULL;
    CHECK_EQ(t, pb_dlpack_export(view, &tensor_state, &m), PB_OK);
    if (!CHECK(t, m != NULL)) {
        return;
    }
    CHECK_EQ(t, m->version.major, PB_DL_MAJOR_VERSION);
    CHECK_EQ(t, m->version.minor, PB_DL_MINOR_VERSION);
    CHECK_EQ(t, m->flags, 0);
    CHECK(t, m->deleter != NULL);
    CHECK_PTR_EQ(t, m->dl_tensor.data, data);
    CHECK_EQ(t, m->dl_tensor.byte_offset, 0);
    CHECK_EQ(t, m->dl_tensor.device.device_type, PB_DL_CPU);
    CHECK_EQ(t, m->dl_tensor.device.device_id, 0);
    CHECK_EQ(t, m->dl_tensor.ndim, 2);
    CHECK_EQ(t, m->dl_tensor.dtype.code, PB_DL_FLOAT);
    CHECK_EQ(t, m->dl_tensor.dtype.bits, 32);
    CHECK_EQ(t, m->dl_tensor.dtype.lanes, 1);
    CHECK_EQ(t, m->dl_tensor.shape[0], 3);
    CHECK_EQ(t, m->dl_tensor.shape[1], 4);
    CHECK_EQ(t, m->dl_tensor.strides[0], 4); /* elements, not bytes */
    CHECK_EQ(t, m->dl_tensor.strides[1], 1);
    /* the export stays live (and pinned) until the consumer deletes */
    CHECK_EQ(t, view->magic, PB_MAGIC_LIVE);
    CHECK_EQ(t, state, 0);
    CHECK_EQ(t, tensor_state, 0);
    float *element = (float *)m->dl_tensor.data + 2 * m->dl_tensor.strides[0] + 3 * m->dl_tensor.strides[1];
    CHECK(t, *element == 11.0f);
    pb_dlpack_delete(m);
    CHECK_EQ(t, tensor_state, 1);
    CHECK_EQ(t, state, 1); /* pb_release ran: the export's own cell */
}

static void read_only_views_carry_the_flag_and_legacy_refuses_them(pbt *t)
{
    int32_t data[6] = {0};
    int64_t shape[1] = {6};
    int64_t strides[1] = {4};
    int32_t state = 0;
    pb_buffer *view = make_export(data, sizeof data, 0, "i", 4, 1, shape, strides, 1, &state);
    if (!CHECK(t, view != NULL)) {
        return;
    }
    pb_dl_managed_tensor *legacy = (pb_dl_managed_tensor *)(void *)&state; /* must stay untouched */
    CHECK_EQ(t, pb_dlpack_export_legacy(view, NULL, &legacy), PB_EREADONLY);
    CHECK_PTR_EQ(t, legacy, &state);
    CHECK_EQ(t, view->magic, PB_MAGIC_LIVE);

    pb_dl_managed_tensor_versioned *m = NULL;
    CHECK_EQ(t, pb_dlpack_export(view, NULL, &m), PB_OK);
    if (CHECK(t, m != NULL)) {
        CHECK_EQ(t, m->flags & PB_DL_FLAG_READ_ONLY, PB_DL_FLAG_READ_ONLY);
        CHECK_EQ(t, m->dl_tensor.dtype.code, PB_DL_INT);
        CHECK_EQ(t, m->dl_tensor.dtype.bits, 32);
        pb_dlpack_delete(m); /* NULL state: only the export's cell */
    }
    CHECK_EQ(t, state, 1);
}

static void legacy_export_round_trip(pbt *t)
{
    uint8_t data[10] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
    int64_t shape[1] = {5};
    int64_t strides[1] = {-2}; /* data[9], data[7], ... */
    int32_t state = 0;
    pb_buffer *view = make_export(data, sizeof data, 9, "B", 1, 1, shape, strides, 0, &state);
    if (!CHECK(t, view != NULL)) {
        return;
    }
    int32_t tensor_state = 0;
    pb_dl_managed_tensor *m = NULL;
    CHECK_EQ(t, pb_dlpack_export_legacy(view, &tensor_state, &m), PB_OK);
    if (!CHECK(t, m != NULL)) {
        return;
    }
    CHECK_PTR_EQ(t, m->dl_tensor.data, data + 9);
    CHECK_EQ(t, m->dl_tensor.strides[0], -2);
    CHECK_EQ(t, m->dl_tensor.dtype.code, PB_DL_UINT);
    CHECK_EQ(t, m->dl_tensor.dtype.bits, 8);
    uint8_t *last = (uint8_t *)m->dl_tensor.data + 4 * m->dl_tensor.strides[0];
    CHECK_EQ(t, *last, 1);
    pb_dlpack_delete_legacy(m);
    CHECK_EQ(t, tensor_state, 1);
    CHECK_EQ(t, state, 1);
}

static void refusals_change_nothing(pbt *t)
{
    char data[64] = {0};
    int32_t state = 0;
    pb_dl_managed_tensor_versioned *untouched = (pb_dl_managed_tensor_versioned *)(void *)data;
    pb_dl_managed_tensor_versioned *m = untouched;

    /* a byte stride that is not a whole number of elements */
    int64_t shape[2] = {3, 2};
    int64_t strides[2] = {6, 2}; /* int32 every 2 bytes: overlapping halves */
    pb_buffer *odd = make_export(data, sizeof data, 0, "<i", 4, 2, shape, strides, 0, &state);
    if (CHECK(t, odd != NULL)) {
        CHECK_EQ(t, pb_dlpack_export(odd, NULL, &m), PB_EDLSTRIDES);
        CHECK_PTR_EQ(t, m, untouched);
        CHECK_EQ(t, odd->magic, PB_MAGIC_LIVE);
        pb_dl_managed_tensor *legacy = NULL;
        CHECK_EQ(t, pb_dlpack_export_legacy(odd, NULL, &legacy), PB_EDLSTRIDES);
        CHECK(t, legacy == NULL);
        pb_release(odd);
        CHECK_EQ(t, state, 1);
    }

    /* formats with no DLPack type */
    static const char *const no_type[] = {">f", "!i", "T{<i:x:}", "2f", "4s", "x", "c", "Ze", "=n", "ff", ""};
    for (size_t i = 0; i < COUNT_OF(no_type); i++) {
        pbt_context(t, "format \"%s\"", no_type[i]);
        int64_t one[1] = {4};
        int64_t step[1] = {4};
        int64_t itemsize = pb_size_from_format(no_type[i]);
        if (itemsize <= 0 || itemsize > 16) {
            /* not even a valid export (pb_validate refuses it): data type check alone */
            pb_dl_data_type dt = {9, 9, 9};
            CHECK_EQ(t, pb_dlpack_data_type(no_type[i], 4, &dt), PB_EDLDTYPE);
            CHECK_EQ(t, dt.code, 9);
            continue;
        }
        step[0] = itemsize;
        state = 0;
        pb_buffer *view = make_export(data, sizeof data, 0, no_type[i], itemsize, 1, one, step, 0, &state);
        if (!CHECK(t, view != NULL)) {
            continue;
        }
        m = untouched;
        CHECK_EQ(t, pb_dlpack_export(view, NULL, &m), PB_EDLDTYPE);
        CHECK_PTR_EQ(t, m, untouched);
        CHECK_EQ(t, view->magic, PB_MAGIC_LIVE);
        pb_release(view);
    }
    pbt_context(t, "%s", "");

    /* released and NULL arguments */
    int64_t one[1] = {2};
    int64_t step[1] = {8};
    state = 0;
    pb_buffer *view = make_export(data, sizeof data, 0, "d", 8, 1, one, step, 0, &state);
    if (CHECK(t, view != NULL)) {
        CHECK_EQ(t, pb_dlpack_export(NULL, NULL, &m), PB_EINVAL);
        CHECK_EQ(t, pb_dlpack_export(view, NULL, NULL), PB_EINVAL);
        CHECK_EQ(t, pb_dlpack_export_legacy(NULL, NULL, NULL), PB_EINVAL);
        view->len = 8; /* inconsistent: pb_validate's code comes back */
        CHECK_EQ(t, pb_dlpack_export(view, NULL, &m), PB_ELEN);
        view->len = 16;
        pb_release(view);
        CHECK_EQ(t, state, 1);
    }
    /* a struct that was never live */
    pb_buffer dead;
    memset(&dead, 0, sizeof dead);
    dead.magic = PB_MAGIC_RELEASED;
    CHECK_EQ(t, pb_dlpack_export(&dead, NULL, &m), PB_ERELEASED);
    CHECK_PTR_EQ(t, m, untouched);
}

static void data_types_of_formats(pbt *t)
{
    static const struct {
        const char *format;
        int64_t itemsize;
        int code, bits;
    } OK[] = {
        {"?", 1, PB_DL_BOOL, 8},     {"b", 1, PB_DL_INT, 8},       {"B", 1, PB_DL_UINT, 8},
        {"<h", 2, PB_DL_INT, 16},    {"=H", 2, PB_DL_UINT, 16},    {"i", 4, PB_DL_INT, 32},
        {"@I", 4, PB_DL_UINT, 32},   {"l", 8, PB_DL_INT, 64},      {"<l", 4, PB_DL_INT, 32},
        {"L", 8, PB_DL_UINT, 64},    {"=L", 4, PB_DL_UINT, 32},    {"q", 8, PB_DL_INT, 64},
        {"<Q", 8, PB_DL_UINT, 64},   {"n", 8, PB_DL_INT, 64},      {"N", 8, PB_DL_UINT, 64},
        {"<e", 2, PB_DL_FLOAT, 16},  {"f", 4, PB_DL_FLOAT, 32},    {"<d", 8, PB_DL_FLOAT, 64},
        {"Zf", 8, PB_DL_COMPLEX, 64}, {"<Zd", 16, PB_DL_COMPLEX, 128},
    };
    for (size_t i = 0; i < COUNT_OF(OK); i++) {
        pbt_context(t, "format \"%s\"", OK[i].format);
        pb_dl_data_type dt = {0, 0, 0};
        CHECK_EQ(t, pb_dlpack_data_type(OK[i].format, OK[i].itemsize, &dt), PB_OK);
        CHECK_EQ(t, dt.code, OK[i].code);
        CHECK_EQ(t, dt.bits, OK[i].bits);
        CHECK_EQ(t, dt.lanes, 1);
        /* the wrong itemsize is refused */
        CHECK_EQ(t, pb_dlpack_data_type(OK[i].format, OK[i].itemsize + 1, &dt), PB_EDLDTYPE);
    }
    pbt_context(t, "%s", "");
    pb_dl_data_type dt;
    CHECK_EQ(t, pb_dlpack_data_type(NULL, 4, &dt), PB_EINVAL);
    CHECK_EQ(t, pb_dlpack_data_type("f", 4, NULL), PB_EINVAL);
}

static void shapes_without_elements_and_scalars(pbt *t)
{
    double data[4] = {1, 2, 3, 4};
    int32_t state = 0;
    int64_t shape[2] = {0, 4};
    int64_t strides[2] = {32, 8};
    pb_buffer *empty = make_export(data, sizeof data, 0, "d", 8, 2, shape, strides, 0, &state);
    pb_dl_managed_tensor_versioned *m = NULL;
    if (CHECK(t, empty != NULL) && CHECK_EQ(t, pb_dlpack_export(empty, NULL, &m), PB_OK)) {
        CHECK(t, m->dl_tensor.data == NULL); /* DLPack: no elements, no data pointer */
        CHECK_EQ(t, m->dl_tensor.shape[0], 0);
        CHECK_EQ(t, m->dl_tensor.strides[0], 4);
        pb_dlpack_delete(m);
        CHECK_EQ(t, state, 1);
    }
    state = 0;
    pb_buffer *scalar = make_export(data, sizeof data, 16, "d", 8, 0, NULL, NULL, 0, &state);
    if (CHECK(t, scalar != NULL) && CHECK_EQ(t, pb_dlpack_export(scalar, NULL, &m), PB_OK)) {
        CHECK_EQ(t, m->dl_tensor.ndim, 0);
        CHECK(t, m->dl_tensor.shape == NULL);
        CHECK(t, m->dl_tensor.strides == NULL);
        CHECK(t, *(double *)m->dl_tensor.data == 3.0);
        pb_dlpack_delete(m);
        CHECK_EQ(t, state, 1);
    }
}

/* A foreign producer's pb_buffer with NULL strides (C-contiguous, as CPython allows). */
static int foreign_releases;
static void foreign_release(pb_buffer *self)
{
    (void)self;
    foreign_releases++;
}

static void null_strides_mean_c_order(pbt *t)
{
    int16_t data[24] = {0};
    int64_t shape[3] = {2, 3, 4};
    pb_buffer view;
    memset(&view, 0, sizeof view);
    view.buf = data;
    view.base = data;
    view.base_len = sizeof data;
    view.len = sizeof data;
    view.itemsize = 2;
    view.ndim = 3;
    view.format = "h";
    view.shape = shape;
    view.abi_version = PB_ABI_VERSION;
    view.release = foreign_release;
    view.magic = PB_MAGIC_LIVE;
    foreign_releases = 0;
    pb_dl_managed_tensor_versioned *m = NULL;
    if (CHECK_EQ(t, pb_dlpack_export(&view, NULL, &m), PB_OK)) {
        CHECK_EQ(t, m->dl_tensor.strides[0], 12);
        CHECK_EQ(t, m->dl_tensor.strides[1], 4);
        CHECK_EQ(t, m->dl_tensor.strides[2], 1);
        CHECK_EQ(t, foreign_releases, 0);
        pb_dlpack_delete(m);
        CHECK_EQ(t, foreign_releases, 1);
        CHECK_EQ(t, view.magic, PB_MAGIC_RELEASED);
    }
}

static int deleter_calls;
static void counting_deleter(pb_dl_managed_tensor_versioned *self)
{
    (void)self;
    deleter_calls++;
}

static void delete_calls_foreign_deleters_and_ignores_null(pbt *t)
{
    pb_dl_managed_tensor_versioned m;
    memset(&m, 0, sizeof m);
    deleter_calls = 0;
    pb_dlpack_delete(NULL);
    pb_dlpack_delete(&m); /* no deleter: nothing to do */
    CHECK_EQ(t, deleter_calls, 0);
    m.deleter = counting_deleter;
    pb_dlpack_delete(&m);
    CHECK_EQ(t, deleter_calls, 1);
    pb_dlpack_delete_legacy(NULL);
}

/* Random views: DLPack's address formula, applied to the exported tensor,
   finds the same element as pb_get_pointer on the view. */
static void random_views_agree_with_pb_get_pointer(pbt *t)
{
    pbt_rng rng = {20261123u};
    static char memory[4096];
    static const struct {
        const char *format;
        int64_t itemsize;
    } TYPES[] = {{"B", 1}, {"<h", 2}, {"<f", 4}, {"d", 8}, {"?", 1}, {"<q", 8}};
    for (int round = 0; round < 2000; round++) {
        int type = (int)pbt_range(&rng, 0, (int64_t)COUNT_OF(TYPES) - 1);
        int64_t itemsize = TYPES[type].itemsize;
        int ndim = (int)pbt_range(&rng, 0, 4);
        int64_t shape[4], strides[4];
        int64_t lo = 0, hi = 0;
        for (int i = 0; i < ndim; i++) {
            shape[i] = pbt_range(&rng, 1, 5);
            strides[i] = pbt_range(&rng, -6, 6) * itemsize;
            int64_t reach = strides[i] * (shape[i] - 1);
            if (reach < 0) {
                lo += reach;
            } else {
                hi += reach;
            }
        }
        int64_t offset = -lo + pbt_range(&rng, 0, 4) * itemsize;
        if (offset + hi + itemsize > (int64_t)sizeof memory) {
            continue;
        }
        pbt_context(t, "round %d: %s ndim %d offset %" PRId64, round, TYPES[type].format, ndim, offset);
        int32_t state = 0;
        pb_buffer *view = make_export(memory, sizeof memory, offset, TYPES[type].format, itemsize, ndim,
                                      shape, strides, (int)pbt_range(&rng, 0, 1), &state);
        if (!CHECK(t, view != NULL) || !CHECK_EQ(t, pb_validate(view), PB_OK)) {
            pb_export_discard(view);
            continue;
        }
        pb_dl_managed_tensor_versioned *m = NULL;
        if (!CHECK_EQ(t, pb_dlpack_export(view, NULL, &m), PB_OK)) {
            pb_release(view);
            continue;
        }
        for (int probe = 0; probe < 4; probe++) {
            int64_t index[4];
            int64_t element = 0;
            for (int i = 0; i < ndim; i++) {
                index[i] = pbt_range(&rng, 0, shape[i] - 1);
                element += index[i] * m->dl_tensor.strides[i];
            }
            char *dl = (char *)m->dl_tensor.data + m->dl_tensor.byte_offset
                       + element * (m->dl_tensor.dtype.bits / 8);
            CHECK_PTR_EQ(t, dl, pb_get_pointer(view, index));
        }
        CHECK_EQ(t, (m->flags & PB_DL_FLAG_READ_ONLY) != 0, view->readonly != 0);
        pb_dlpack_delete(m);
        CHECK_EQ(t, state, 1);
    }
}

static void abi_matches_dlpack(pbt *t)
{
    /* LP64 offsets that DLPack 1.x has (read from its specification). */
    CHECK_EQ(t, pb_dlpack_abi_sizeof("pb_dl_tensor"), 48);
    CHECK_EQ(t, pb_dlpack_abi_offsetof("pb_dl_tensor", "device"), 8);
    CHECK_EQ(t, pb_dlpack_abi_offsetof("pb_dl_tensor", "ndim"), 16);
    CHECK_EQ(t, pb_dlpack_abi_offsetof("pb_dl_tensor", "dtype"), 20);
    CHECK_EQ(t, pb_dlpack_abi_offsetof("pb_dl_tensor", "shape"), 24);
    CHECK_EQ(t, pb_dlpack_abi_offsetof("pb_dl_tensor", "strides"), 32);
    CHECK_EQ(t, pb_dlpack_abi_offsetof("pb_dl_tensor", "byte_offset"), 40);
    CHECK_EQ(t, pb_dlpack_abi_sizeof("pb_dl_managed_tensor"), 64);
    CHECK_EQ(t, pb_dlpack_abi_offsetof("pb_dl_managed_tensor", "manager_ctx"), 48);
    CHECK_EQ(t, pb_dlpack_abi_offsetof("pb_dl_managed_tensor", "deleter"), 56);
    CHECK_EQ(t, pb_dlpack_abi_sizeof("pb_dl_managed_tensor_versioned"), 80);
    CHECK_EQ(t, pb_dlpack_abi_offsetof("pb_dl_managed_tensor_versioned", "manager_ctx"), 8);
    CHECK_EQ(t, pb_dlpack_abi_offsetof("pb_dl_managed_tensor_versioned", "deleter"), 16);
    CHECK_EQ(t, pb_dlpack_abi_offsetof("pb_dl_managed_tensor_versioned", "flags"), 24);
    CHECK_EQ(t, pb_dlpack_abi_offsetof("pb_dl_managed_tensor_versioned", "dl_tensor"), 32);
    CHECK_EQ(t, pb_dlpack_abi_sizeof("pb_dl_data_type"), 4);
    CHECK_EQ(t, pb_dlpack_abi_offsetof("pb_dl_data_type", "lanes"), 2);
    CHECK_EQ(t, pb_dlpack_abi_sizeof("no_such_type"), -1);
    CHECK_EQ(t, pb_dlpack_abi_offsetof("pb_dl_tensor", "no_such_field"), -1);
    CHECK_EQ(t, pb_dlpack_abi_offsetof(NULL, "data"), -1);
#ifdef HAVE_DLPACK_H
    /* The installed dlpack.h (any version) agrees on what both declare. */
    CHECK_EQ(t, sizeof(pb_dl_device), sizeof(DLDevice));
    CHECK_EQ(t, sizeof(pb_dl_data_type), sizeof(DLDataType));
    CHECK_EQ(t, sizeof(pb_dl_tensor), sizeof(DLTensor));
    CHECK_EQ(t, offsetof(pb_dl_tensor, data), offsetof(DLTensor, data));
    CHECK_EQ(t, offsetof(pb_dl_tensor, device), offsetof(DLTensor, device));
    CHECK_EQ(t, offsetof(pb_dl_tensor, ndim), offsetof(DLTensor, ndim));
    CHECK_EQ(t, offsetof(pb_dl_tensor, dtype), offsetof(DLTensor, dtype));
    CHECK_EQ(t, offsetof(pb_dl_tensor, shape), offsetof(DLTensor, shape));
    CHECK_EQ(t, offsetof(pb_dl_tensor, strides), offsetof(DLTensor, strides));
    CHECK_EQ(t, offsetof(pb_dl_tensor, byte_offset), offsetof(DLTensor, byte_offset));
    CHECK_EQ(t, sizeof(pb_dl_managed_tensor), sizeof(DLManagedTensor));
    CHECK_EQ(t, offsetof(pb_dl_managed_tensor, manager_ctx), offsetof(DLManagedTensor, manager_ctx));
    CHECK_EQ(t, offsetof(pb_dl_managed_tensor, deleter), offsetof(DLManagedTensor, deleter));
    CHECK_EQ(t, PB_DL_CPU, kDLCPU);
    CHECK_EQ(t, PB_DL_CUDA_HOST, kDLCUDAHost);
    CHECK_EQ(t, PB_DL_INT, kDLInt);
    CHECK_EQ(t, PB_DL_UINT, kDLUInt);
    CHECK_EQ(t, PB_DL_FLOAT, kDLFloat);
    CHECK_EQ(t, PB_DL_BFLOAT, kDLBfloat);
#if defined(DLPACK_MAJOR_VERSION) && DLPACK_MAJOR_VERSION >= 1
    CHECK_EQ(t, sizeof(pb_dl_version), sizeof(DLPackVersion));
    CHECK_EQ(t, sizeof(pb_dl_managed_tensor_versioned), sizeof(struct DLManagedTensorVersioned));
    CHECK_EQ(t, offsetof(pb_dl_managed_tensor_versioned, version), offsetof(struct DLManagedTensorVersioned, version));
    CHECK_EQ(t, offsetof(pb_dl_managed_tensor_versioned, manager_ctx),
             offsetof(struct DLManagedTensorVersioned, manager_ctx));
    CHECK_EQ(t, offsetof(pb_dl_managed_tensor_versioned, deleter), offsetof(struct DLManagedTensorVersioned, deleter));
    CHECK_EQ(t, offsetof(pb_dl_managed_tensor_versioned, flags), offsetof(struct DLManagedTensorVersioned, flags));
    CHECK_EQ(t, offsetof(pb_dl_managed_tensor_versioned, dl_tensor), offsetof(struct DLManagedTensorVersioned, dl_tensor));
    CHECK_EQ(t, PB_DL_MAJOR_VERSION, DLPACK_MAJOR_VERSION);
    CHECK_EQ(t, PB_DL_FLAG_READ_ONLY, DLPACK_FLAG_BITMASK_READ_ONLY);
    CHECK_EQ(t, PB_DL_FLAG_IS_COPIED, DLPACK_FLAG_BITMASK_IS_COPIED);
    CHECK_EQ(t, PB_DL_BOOL, kDLBool);
    CHECK_EQ(t, PB_DL_COMPLEX, kDLComplex);
    printf("test_dlpack: checked the layouts against dlpack.h %d.%d\n", DLPACK_MAJOR_VERSION,
           DLPACK_MINOR_VERSION);
#else
    printf("test_dlpack: checked the legacy layouts against an installed pre-1.0 dlpack.h\n");
#endif
#endif
}

static void strerror_names_the_dlpack_codes(pbt *t)
{
    CHECK(t, strstr(pb_strerror(PB_EDLSTRIDES), "stride") != NULL);
    CHECK(t, strstr(pb_strerror(PB_EDLDTYPE), "DLPack data type") != NULL);
}

int main(void)
{
    pbt t = pbt_begin("dlpack");
    PBT_RUN(&t, export_describes_the_same_memory);
    PBT_RUN(&t, read_only_views_carry_the_flag_and_legacy_refuses_them);
    PBT_RUN(&t, legacy_export_round_trip);
    PBT_RUN(&t, refusals_change_nothing);
    PBT_RUN(&t, data_types_of_formats);
    PBT_RUN(&t, shapes_without_elements_and_scalars);
    PBT_RUN(&t, null_strides_mean_c_order);
    PBT_RUN(&t, delete_calls_foreign_deleters_and_ignores_null);
    PBT_RUN(&t, random_views_agree_with_pb_get_pointer);
    PBT_RUN(&t, abi_matches_dlpack);
    PBT_RUN(&t, strerror_names_the_dlpack_codes);
    return pbt_summary(&t);
}
