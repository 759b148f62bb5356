/*
 * test_arrow.c -- pb_arrow.c: pb_buffers exported as Arrow arrays (primitive
 * columns, arrow.fixed_shape_tensor columns, record batches), what the
 * exports refuse and that a refusal changes nothing, validity bitmaps packed
 * from bool masks, and the release rules of the C data interface: parents
 * release children, a moved child outlives its parent, racing and repeated
 * releases free once, every view is pb_release()d exactly once (state cells
 * flipped; the sanitizer run's leak check and valgrind prove every block is
 * freed). The struct layouts are checked against Arrow's own abi.h when one
 * is installed.
 */
#include "panbuf.h"
#include "pbtest.h"

#include <pthread.h>

#if defined(__has_include)
#if __has_include(<arrow/c/abi.h>)
#include <arrow/c/abi.h>
#define HAVE_ARROW_ABI_H 1
#endif
#endif

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

/* A live export made the way panbuf's Java side makes one. */
static pb_buffer *make_export(void *base, int64_t base_len, int64_t offset, const char *format, int64_t itemsize,
                              int ndim, const int64_t *shape, const int64_t *strides, int32_t *state)
{
    pb_buffer *view = pb_export_alloc(ndim, (int64_t)strlen(format), state);
    if (view == NULL) {
        return NULL;
    }
    view->buf = (char *)base + offset;
    view->base = base;
    view->base_len = base_len;
    view->itemsize = itemsize;
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

static int32_t metadata_int(const char *p)
{
    int32_t v;
    memcpy(&v, p, 4);
    return v;
}

static void primitive_column_is_the_same_memory(pbt *t)
{
    int64_t data[5] = {1, 2, 3, 4, 5};
    int64_t shape[1] = {5}, strides[1] = {8};
    int32_t state = 0;
    pb_buffer *view = make_export(data, sizeof data, 0, "<q", 8, 1, shape, strides, &state);
    struct ArrowArray array;
    struct ArrowSchema schema;
    CHECK_EQ(t, pb_arrow_export_array(view, NULL, "x", &array, &schema), PB_OK);
    CHECK_STR_EQ(t, schema.format, "l");
    CHECK_STR_EQ(t, schema.name, "x");
    CHECK(t, schema.metadata == NULL);
    CHECK_EQ(t, schema.flags, 0);
    CHECK_EQ(t, schema.n_children, 0);
    CHECK_EQ(t, array.length, 5);
    CHECK_EQ(t, array.null_count, 0);
    CHECK_EQ(t, array.offset, 0);
    CHECK_EQ(t, array.n_buffers, 2);
    CHECK_EQ(t, array.n_children, 0);
    CHECK(t, array.buffers[0] == NULL);
    CHECK_PTR_EQ(t, array.buffers[1], data);
    CHECK_EQ(t, pb_arrow_is_own(&array), 1);
    CHECK_EQ(t, state, 0);
    schema.release(&schema);
    CHECK(t, schema.release == NULL);
    CHECK_EQ(t, state, 0);
    array.release(&array);
    CHECK(t, array.release == NULL);
    CHECK_EQ(t, state, 1);
    CHECK_EQ(t, pb_arrow_is_own(&array), 0);
}

static void formats_map_to_arrow(pbt *t)
{
    static const struct {
        const char *format;
        int64_t itemsize;
        const char *arrow;
    } CASES[] = {
        {"b", 1, "c"}, {"B", 1, "C"}, {"<h", 2, "s"}, {"=H", 2, "S"}, {"i", 4, "i"}, {"I", 4, "I"},
        {"q", 8, "l"}, {"<Q", 8, "L"}, {"l", 8, "l"}, {"=l", 4, "i"}, {"n", 8, "l"}, {"N", 8, "L"},
        {"e", 2, "e"}, {"<f", 4, "f"}, {"@d", 8, "g"},
        {"?", 1, NULL}, {">f", 4, NULL}, {"Zf", 8, NULL}, {"2f", 8, NULL}, {"3s", 3, NULL},
        {"T{<i:x:}", 4, NULL}, {"f", 8, NULL}, {"", 1, NULL}, {"=n", 8, NULL},
    };
    for (size_t i = 0; i < COUNT_OF(CASES); i++) {
        pbt_context(t, "format \"%s\" itemsize %lld", CASES[i].format, (long long)CASES[i].itemsize);
        const char *got = pb_arrow_format(CASES[i].format, CASES[i].itemsize);
        if (CASES[i].arrow == NULL) {
            CHECK(t, got == NULL);
        } else if (CHECK(t, got != NULL)) {
            CHECK_STR_EQ(t, got, CASES[i].arrow);
        }
    }
    pbt_context(t, "");
    CHECK(t, pb_arrow_format(NULL, 1) == NULL);
}

static void tensor_column_is_a_fixed_size_list_with_shape_metadata(pbt *t)
{
    float data[24];
    int64_t shape[3] = {2, 3, 4}, strides[3] = {48, 16, 4};
    int32_t state = 0;
    pb_buffer *view = make_export(data, sizeof data, 0, "f", 4, 3, shape, strides, &state);
    struct ArrowArray array;
    struct ArrowSchema schema;
    CHECK_EQ(t, pb_arrow_export_array(view, NULL, NULL, &array, &schema), PB_OK);
    CHECK_STR_EQ(t, schema.format, "+w:12");
    CHECK_STR_EQ(t, schema.name, "");
    CHECK_EQ(t, schema.n_children, 1);
    CHECK_STR_EQ(t, schema.children[0]->format, "f");
    CHECK_STR_EQ(t, schema.children[0]->name, "item");
    const char *m = schema.metadata;
    if (CHECK(t, m != NULL)) {
        CHECK_EQ(t, metadata_int(m), 2);
        CHECK_EQ(t, metadata_int(m + 4), 20);
        CHECK(t, memcmp(m + 8, "ARROW:extension:name", 20) == 0);
        CHECK_EQ(t, metadata_int(m + 28), 24);
        CHECK(t, memcmp(m + 32, "arrow.fixed_shape_tensor", 24) == 0);
        CHECK_EQ(t, metadata_int(m + 56), 24);
        CHECK(t, memcmp(m + 60, "ARROW:extension:metadata", 24) == 0);
        CHECK_EQ(t, metadata_int(m + 84), 15);
        CHECK(t, memcmp(m + 88, "{\"shape\":[3,4]}", 15) == 0);
    }
    CHECK_EQ(t, array.length, 2);
    CHECK_EQ(t, array.n_buffers, 1);
    CHECK(t, array.buffers[0] == NULL);
    CHECK_EQ(t, array.n_children, 1);
    CHECK_EQ(t, array.children[0]->length, 24);
    CHECK_EQ(t, array.children[0]->n_buffers, 2);
    CHECK_PTR_EQ(t, array.children[0]->buffers[1], data);
    /* Move the child out, release the parent: the data stays pinned until the child goes. */
    struct ArrowArray child = *array.children[0];
    array.children[0]->release = NULL;
    array.release(&array);
    CHECK_EQ(t, state, 0);
    CHECK_PTR_EQ(t, child.buffers[1], data);
    child.release(&child);
    CHECK_EQ(t, state, 1);
    schema.release(&schema);
    CHECK(t, schema.release == NULL);
}

static void mask_packs_into_a_bitmap_with_its_null_count(pbt *t)
{
    int32_t data[10] = {0};
    uint8_t mask_bytes[20] = {0};
    for (int i = 0; i < 10; i++) {
        mask_bytes[2 * i] = (uint8_t)(i % 3 != 0); /* every other byte: a strided mask */
    }
    int64_t shape[1] = {10}, strides[1] = {4}, mask_strides[1] = {2};
    int32_t state = 0, mask_state = 0;
    pb_buffer *view = make_export(data, sizeof data, 0, "i", 4, 1, shape, strides, &state);
    pb_buffer *mask = make_export(mask_bytes, sizeof mask_bytes, 0, "?", 1, 1, shape, mask_strides, &mask_state);
    struct ArrowArray array;
    struct ArrowSchema schema;
    CHECK_EQ(t, pb_arrow_export_array(view, mask, "v", &array, &schema), PB_OK);
    CHECK_EQ(t, schema.flags, ARROW_FLAG_NULLABLE);
    CHECK_EQ(t, array.null_count, 4); /* 0, 3, 6, 9 */
    const uint8_t *bits = array.buffers[0];
    if (CHECK(t, bits != NULL)) {
        CHECK_EQ(t, bits[0], 0xB6); /* 1 0 1 1 0 1 1 0 from bit 7 down: elements 1,2,4,5,7 */
        CHECK_EQ(t, bits[1] & 0x03, 0x01);
    }
    array.release(&array);
    schema.release(&schema);
    CHECK_EQ(t, state, 1);
    CHECK_EQ(t, mask_state, 0); /* the mask is only read */
    pb_release(mask);
}

static void batch_holds_every_column_and_releases_each_once(pbt *t)
{
    int64_t xs[4] = {1, 2, 3, 4};
    double ys[4] = {0.5, 1.5, 2.5, 3.5};
    float ts[8] = {0};
    int64_t shape[1] = {4}, sx[1] = {8}, shape2[2] = {4, 2}, st[2] = {8, 4};
    int32_t state[3] = {0, 0, 0};
    pb_buffer *views[3] = {
        make_export(xs, sizeof xs, 0, "q", 8, 1, shape, sx, &state[0]),
        make_export(ys, sizeof ys, 0, "d", 8, 1, shape, sx, &state[1]),
        make_export(ts, sizeof ts, 0, "f", 4, 2, shape2, st, &state[2]),
    };
    const char *names[3] = {"x", "y", "t"};
    struct ArrowArray array;
    struct ArrowSchema schema;
    CHECK_EQ(t, pb_arrow_export_batch(3, views, NULL, names, &array, &schema), PB_OK);
    CHECK_STR_EQ(t, schema.format, "+s");
    CHECK_EQ(t, schema.n_children, 3);
    CHECK_STR_EQ(t, schema.children[0]->name, "x");
    CHECK_STR_EQ(t, schema.children[1]->format, "g");
    CHECK_STR_EQ(t, schema.children[2]->format, "+w:2");
    CHECK_EQ(t, array.length, 4);
    CHECK_EQ(t, array.n_buffers, 1);
    CHECK_EQ(t, array.n_children, 3);
    CHECK_PTR_EQ(t, array.children[1]->buffers[1], ys);
    /* A moved struct is released through its copy. */
    struct ArrowArray *moved = pb_arrow_move_array(&array);
    CHECK(t, array.release == NULL);
    CHECK(t, pb_arrow_move_array(&array) == NULL);
    pb_arrow_release_array(&array); /* released: left alone */
    CHECK_EQ(t, state[0] + state[1] + state[2], 0);
    pb_arrow_release_moved(moved);
    CHECK_EQ(t, state[0], 1);
    CHECK_EQ(t, state[1], 1);
    CHECK_EQ(t, state[2], 1);
    pb_arrow_release_schema(&schema);
    pb_arrow_release_schema(&schema);
}

static void refusals_change_nothing(pbt *t)
{
    float data[12] = {0};
    int64_t shape2[2] = {3, 4}, transposed[2] = {4, 12}, shape1[1] = {6}, step2[1] = {8};
    int32_t state = 0;
    struct ArrowArray array;
    struct ArrowSchema schema;
    memset(&array, 0x5A, sizeof array);
    memset(&schema, 0x5A, sizeof schema);
    struct ArrowArray array_before = array;

    pb_buffer *strided = make_export(data, sizeof data, 0, "f", 4, 1, shape1, step2, &state);
    CHECK_EQ(t, pb_arrow_export_array(strided, NULL, NULL, &array, &schema), PB_EARROWLAYOUT);
    pb_buffer *fortran = make_export(data, sizeof data, 0, "f", 4, 2, shape2, transposed, &state);
    CHECK_EQ(t, pb_arrow_export_array(fortran, NULL, NULL, &array, &schema), PB_EARROWLAYOUT);
    int64_t one[1] = {12}, unit[1] = {4};
    pb_buffer *swapped = make_export(data, sizeof data, 0, ">f", 4, 1, one, unit, &state);
    CHECK_EQ(t, pb_arrow_export_array(swapped, NULL, NULL, &array, &schema), PB_EARROWTYPE);
    pb_buffer *boolean = make_export(data, sizeof data, 0, "?", 1, 1, one, (int64_t[]){1}, &state);
    CHECK_EQ(t, pb_arrow_export_array(boolean, NULL, NULL, &array, &schema), PB_EARROWTYPE);
    pb_buffer *scalar = make_export(data, sizeof data, 0, "f", 4, 0, NULL, NULL, &state);
    CHECK_EQ(t, pb_arrow_export_array(scalar, NULL, NULL, &array, &schema), PB_EARROWLAYOUT);
    pb_buffer *ok = make_export(data, sizeof data, 0, "f", 4, 1, one, unit, &state);
    /* masks: wrong length, wrong type */
    pb_buffer *short_mask = make_export(data, sizeof data, 0, "?", 1, 1, (int64_t[]){5}, (int64_t[]){1}, &state);
    CHECK_EQ(t, pb_arrow_export_array(ok, short_mask, NULL, &array, &schema), PB_EARROWMASK);
    CHECK_EQ(t, pb_arrow_export_array(ok, ok, NULL, &array, &schema), PB_EARROWMASK);
    CHECK_EQ(t, pb_arrow_export_array(NULL, NULL, NULL, &array, &schema), PB_EINVAL);
    CHECK_EQ(t, pb_arrow_export_array(ok, NULL, NULL, NULL, NULL), PB_EINVAL);
    /* batches: lengths differ, a view twice, no columns */
    pb_buffer *views[2] = {ok, strided};
    CHECK_EQ(t, pb_arrow_export_batch(2, views, NULL, NULL, &array, &schema), PB_EARROWLAYOUT);
    int32_t six_state = 0;
    pb_buffer *six = make_export(data, sizeof data, 0, "f", 4, 1, shape1, unit, &six_state);
    views[1] = six;
    CHECK_EQ(t, pb_arrow_export_batch(2, views, NULL, NULL, &array, &schema), PB_EARROWLENGTH);
    views[1] = ok;
    CHECK_EQ(t, pb_arrow_export_batch(2, views, NULL, NULL, &array, &schema), PB_EINVAL);
    CHECK_EQ(t, pb_arrow_export_batch(0, views, NULL, NULL, &array, &schema), PB_EINVAL);
    CHECK(t, memcmp(&array, &array_before, sizeof array) == 0);
    /* A released view is refused with the pb_validate code. */
    pb_release(six);
    CHECK_EQ(t, six_state, 1);
    CHECK_EQ(t, state, 0);
    pb_buffer *views2[1] = {ok};
    CHECK_EQ(t, pb_arrow_export_batch(1, views2, NULL, NULL, NULL, &schema), PB_OK);
    schema.release(&schema); /* schema only: the view is still the caller's */
    pb_release(strided);
    pb_release(fortran);
    pb_release(swapped);
    pb_release(boolean);
    pb_release(scalar);
    pb_release(short_mask);
    pb_release(ok);
}

static void empty_columns_have_a_data_buffer(pbt *t)
{
    int64_t shape[1] = {0}, strides[1] = {8};
    int32_t state = 0;
    pb_buffer *view = make_export(NULL, 0, 0, "d", 8, 1, shape, strides, &state);
    view->buf = NULL;
    struct ArrowArray array;
    CHECK_EQ(t, pb_arrow_export_array(view, NULL, NULL, &array, NULL), PB_OK);
    CHECK_EQ(t, array.length, 0);
    CHECK(t, array.buffers[1] != NULL);
    array.release(&array);
    CHECK_EQ(t, state, 1);
}

static void *release_in_thread(void *arg)
{
    struct ArrowArray *a = arg;
    pb_arrow_release_array(a);
    return NULL;
}

static void racing_releases_free_once(pbt *t)
{
    for (int round = 0; round < 200; round++) {
        double data[3] = {1, 2, 3};
        int64_t shape[1] = {3}, strides[1] = {8};
        int32_t state = 0;
        pb_buffer *view = make_export(data, sizeof data, 0, "d", 8, 1, shape, strides, &state);
        struct ArrowArray array;
        if (!CHECK_EQ(t, pb_arrow_export_array(view, NULL, NULL, &array, NULL), PB_OK)) {
            return;
        }
        pthread_t other;
        pthread_create(&other, NULL, release_in_thread, &array);
        /* Not a call the specification allows (the loser may read release
           after the winner nulled it), but panbuf's release survives it. */
        void (*release)(struct ArrowArray *) = __atomic_load_n(&array.release, __ATOMIC_ACQUIRE);
        if (release != NULL) {
            release(&array);
        }
        pthread_join(other, NULL);
        CHECK_EQ(t, state, 1);
        CHECK(t, array.release == NULL);
    }
}

static void abi_matches_the_specification(pbt *t)
{
    CHECK_EQ(t, pb_arrow_abi_sizeof("ArrowSchema"), 72);
    CHECK_EQ(t, pb_arrow_abi_sizeof("ArrowArray"), 80);
    CHECK_EQ(t, pb_arrow_abi_sizeof("ArrowArrayStream"), 40);
    CHECK_EQ(t, pb_arrow_abi_sizeof("Nope"), -1);
    CHECK_EQ(t, pb_arrow_abi_offsetof("ArrowArray", "release"), 64);
    CHECK_EQ(t, pb_arrow_abi_offsetof("ArrowSchema", "release"), 56);
    CHECK_EQ(t, pb_arrow_abi_offsetof("ArrowArrayStream", "private_data"), 32);
    CHECK_EQ(t, pb_arrow_abi_offsetof("ArrowArray", "nope"), -1);
    CHECK_EQ(t, pb_arrow_abi_offsetof(NULL, "nope"), -1);
#ifdef HAVE_ARROW_ABI_H
    pbt_context(t, "against <arrow/c/abi.h>");
    CHECK_EQ(t, pb_arrow_abi_offsetof("ArrowArray", "buffers"), offsetof(struct ArrowArray, buffers));
#endif
}

static void strerror_names_the_arrow_codes(pbt *t)
{
    CHECK(t, strstr(pb_strerror(PB_EARROWTYPE), "Arrow type") != NULL);
    CHECK(t, strstr(pb_strerror(PB_EARROWLAYOUT), "C-contiguous") != NULL);
    CHECK(t, strstr(pb_strerror(PB_EARROWMASK), "mask") != NULL);
    CHECK(t, strstr(pb_strerror(PB_EARROWLENGTH), "length") != NULL);
}

int main(void)
{
    pbt t = pbt_begin("arrow");
    PBT_RUN(&t, primitive_column_is_the_same_memory);
    PBT_RUN(&t, formats_map_to_arrow);
    PBT_RUN(&t, tensor_column_is_a_fixed_size_list_with_shape_metadata);
    PBT_RUN(&t, mask_packs_into_a_bitmap_with_its_null_count);
    PBT_RUN(&t, batch_holds_every_column_and_releases_each_once);
    PBT_RUN(&t, refusals_change_nothing);
    PBT_RUN(&t, empty_columns_have_a_data_buffer);
    PBT_RUN(&t, racing_releases_free_once);
    PBT_RUN(&t, abi_matches_the_specification);
    PBT_RUN(&t, strerror_names_the_arrow_codes);
    return pbt_summary(&t);
}
