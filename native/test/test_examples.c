/*
 * test_examples.c -- the example library Java calls in its round-trip test
 * and demo: iota, scaling and row sums over contiguous, transposed, reversed,
 * broadcast, misaligned and scalar views, and every refusal with its code.
 */
#include "../examples/panbuf_examples.h"
#include "panbuf.h"
#include "pbtest.h"

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

typedef struct {
    pb_buffer view;
    int64_t shape[4];
    int64_t strides[4];
} f32_view;

/* A float32 view of `ndim` axes at byte offset buf_offset into block. */
static void init_f32(f32_view *v, void *block, int64_t block_len, int64_t buf_offset, int ndim,
                     const int64_t *shape, const int64_t *strides)
{
    memset(v, 0, sizeof *v);
    int64_t len = 4;
    for (int i = 0; i < ndim; i++) {
        v->shape[i] = shape[i];
        v->strides[i] = strides != NULL ? strides[i] : 0;
        len *= shape[i];
    }
    v->view.buf = (char *)block + buf_offset;
    v->view.base = block;
    v->view.base_len = block_len;
    v->view.len = len;
    v->view.itemsize = 4;
    v->view.ndim = ndim;
    v->view.format = "f";
    v->view.shape = v->shape;
    v->view.strides = strides != NULL ? v->strides : NULL;
    v->view.magic = PB_MAGIC_LIVE;
    v->view.abi_version = PB_ABI_VERSION;
}

static void iota_then_row_sums_on_a_c_array(pbt *t)
{
    float data[6];
    memset(data, 0, sizeof data);
    int64_t shape[2] = {2, 3};
    int64_t strides[2] = {12, 4};
    f32_view v;
    init_f32(&v, data, sizeof data, 0, 2, shape, strides);
    CHECK_EQ(t, pbx_fill_iota_f32(&v.view), 0);
    float expected[6] = {0, 1, 2, 3, 4, 5};
    CHECK_MEM_EQ(t, data, expected, sizeof data);
    float sums[2] = {-1, -1};
    CHECK_EQ(t, pbx_row_sums_f32(&v.view, sums), 0);
    CHECK(t, sums[0] == 3.0f && sums[1] == 12.0f);
    CHECK_EQ(t, pbx_scale_f32(&v.view, 0.5f), 0);
    float halved[6] = {0, 0.5f, 1, 1.5f, 2, 2.5f};
    CHECK_MEM_EQ(t, data, halved, sizeof data);
    CHECK_EQ(t, pbx_buf_address(&v.view), (int64_t)(intptr_t)data);
    CHECK_EQ(t, pbx_buf_address(NULL), 0);
    /* strides NULL means C-contiguous */
    v.view.strides = NULL;
    CHECK_EQ(t, pbx_row_sums_f32(&v.view, sums), 0);
    CHECK(t, sums[0] == 1.5f && sums[1] == 6.0f);
}

static void strided_views_follow_their_strides(pbt *t)
{
    float data[6] = {0};
    f32_view v;

    /* the transpose of a 2x3 C array: shape (3,2), strides (4,12) */
    int64_t t_shape[2] = {3, 2};
    int64_t t_strides[2] = {4, 12};
    init_f32(&v, data, sizeof data, 0, 2, t_shape, t_strides);
    CHECK_EQ(t, pbx_fill_iota_f32(&v.view), 0);
    float transposed[6] = {0, 2, 4, 1, 3, 5};
    CHECK_MEM_EQ(t, data, transposed, sizeof data);
    float sums[3];
    CHECK_EQ(t, pbx_row_sums_f32(&v.view, sums), 0);
    CHECK(t, sums[0] == 1.0f && sums[1] == 5.0f && sums[2] == 9.0f);

    /* both axes reversed: buf at the last element */
    int64_t r_shape[2] = {2, 3};
    int64_t r_strides[2] = {-12, -4};
    init_f32(&v, data, sizeof data, 20, 2, r_shape, r_strides);
    CHECK_EQ(t, pbx_fill_iota_f32(&v.view), 0);
    float reversed[6] = {5, 4, 3, 2, 1, 0};
    CHECK_MEM_EQ(t, data, reversed, sizeof data);

    /* 3-D with a zero-size axis: nothing to do, nothing touched */
    int64_t e_shape[3] = {2, 0, 3};
    int64_t e_strides[3] = {12, 4, 4};
    init_f32(&v, data, sizeof data, 0, 3, e_shape, e_strides);
    CHECK_EQ(t, pbx_fill_iota_f32(&v.view), 0);
    CHECK_EQ(t, pbx_scale_f32(&v.view, 9.0f), 0);
    CHECK_MEM_EQ(t, data, reversed, sizeof data);
}

static void broadcast_elements_are_scaled_once_per_index(pbt *t)
{
    float data[3] = {1, 1, 1};
    int64_t shape[1] = {3};
    int64_t strides[1] = {0};
    f32_view v;
    init_f32(&v, data, sizeof data, 4, 1, shape, strides);
    CHECK_EQ(t, pbx_scale_f32(&v.view, 2.0f), 0);
    CHECK(t, data[0] == 1.0f && data[1] == 8.0f && data[2] == 1.0f);
    CHECK_EQ(t, pbx_fill_iota_f32(&v.view), 0);
    CHECK(t, data[1] == 2.0f); /* the last index written wins */
}

static void misaligned_floats_are_read_and_written(pbt *t)
{
    /* floats at odd byte offsets, 6 bytes apart: legal for a byte-strided view */
    unsigned char block[32] = {0};
    int64_t shape[1] = {4};
    int64_t strides[1] = {6};
    f32_view v;
    init_f32(&v, block, sizeof block, 1, 1, shape, strides);
    CHECK_EQ(t, pbx_fill_iota_f32(&v.view), 0);
    CHECK_EQ(t, pbx_scale_f32(&v.view, 3.0f), 0);
    for (int i = 0; i < 4; i++) {
        float value;
        memcpy(&value, block + 1 + 6 * i, sizeof value);
        pbt_context(t, "element %d", i);
        CHECK(t, value == 3.0f * (float)i);
    }
}

static void scalars_are_one_element(pbt *t)
{
    float data[1] = {7};
    f32_view v;
    init_f32(&v, data, sizeof data, 0, 0, NULL, NULL);
    v.view.shape = NULL;
    CHECK_EQ(t, pbx_scale_f32(&v.view, 2.0f), 0);
    CHECK(t, data[0] == 14.0f);
    CHECK_EQ(t, pbx_fill_iota_f32(&v.view), 0);
    CHECK(t, data[0] == 0.0f);
    float sums[1];
    CHECK_EQ(t, pbx_row_sums_f32(&v.view, sums), PB_EINVAL); /* not 2-D */
}

static void every_native_float32_format_is_accepted(pbt *t)
{
    static const char *const ACCEPTED[] = {"f", "@f", "=f", "^f",
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
                                           "<f"};
    static const char *const REFUSED[] = {">f", "!f", "d", "i", "I", "4B", "T{f}", "1f ", "ff"};
#else
                                           ">f", "!f"};
    static const char *const REFUSED[] = {"<f", "d", "i", "I", "4B", "T{f}", "1f ", "ff"};
#endif
    float data[4] = {1, 2, 3, 4};
    int64_t shape[2] = {2, 2};
    int64_t strides[2] = {8, 4};
    f32_view v;
    init_f32(&v, data, sizeof data, 0, 2, shape, strides);
    float sums[2];
    for (size_t i = 0; i < COUNT_OF(ACCEPTED); i++) {
        v.view.format = ACCEPTED[i];
        pbt_context(t, "format \"%s\"", ACCEPTED[i]);
        CHECK_EQ(t, pbx_scale_f32(&v.view, 1.0f), 0);
        CHECK_EQ(t, pbx_row_sums_f32(&v.view, sums), 0);
    }
    for (size_t i = 0; i < COUNT_OF(REFUSED); i++) {
        /* 4-byte formats pass validation and are refused as not float32;
           the others fail validation, with the same code */
        v.view.format = REFUSED[i];
        pbt_context(t, "format \"%s\"", REFUSED[i]);
        CHECK_EQ(t, pbx_scale_f32(&v.view, 2.0f), PB_EFORMAT);
        CHECK_EQ(t, pbx_fill_iota_f32(&v.view), PB_EFORMAT);
        CHECK_EQ(t, pbx_row_sums_f32(&v.view, sums), PB_EFORMAT);
    }
    float untouched[4] = {1, 2, 3, 4};
    CHECK_MEM_EQ(t, data, untouched, sizeof data);
}

static void refusals_leave_the_data_alone(pbt *t)
{
    float data[6] = {1, 2, 3, 4, 5, 6};
    float untouched[6] = {1, 2, 3, 4, 5, 6};
    int64_t shape[2] = {2, 3};
    int64_t strides[2] = {12, 4};
    f32_view v;
    float sums[2];

    CHECK_EQ(t, pbx_scale_f32(NULL, 2.0f), PB_EINVAL);
    CHECK_EQ(t, pbx_fill_iota_f32(NULL), PB_EINVAL);
    CHECK_EQ(t, pbx_row_sums_f32(NULL, sums), PB_EINVAL);

    init_f32(&v, data, sizeof data, 0, 2, shape, strides);
    v.view.readonly = 1;
    CHECK_EQ(t, pbx_scale_f32(&v.view, 2.0f), PB_EREADONLY);
    CHECK_EQ(t, pbx_fill_iota_f32(&v.view), PB_EREADONLY);
    CHECK_EQ(t, pbx_row_sums_f32(&v.view, sums), 0); /* reading is fine */

    init_f32(&v, data, sizeof data, 0, 2, shape, strides);
    v.view.magic = PB_MAGIC_RELEASED;
    CHECK_EQ(t, pbx_scale_f32(&v.view, 2.0f), PB_ERELEASED);
    CHECK_EQ(t, pbx_fill_iota_f32(&v.view), PB_ERELEASED);
    CHECK_EQ(t, pbx_row_sums_f32(&v.view, sums), PB_ERELEASED);

    init_f32(&v, data, sizeof data, 4, 2, shape, strides); /* one float past the end */
    CHECK_EQ(t, pbx_scale_f32(&v.view, 2.0f), PB_EBOUNDS);
    CHECK_EQ(t, pbx_row_sums_f32(&v.view, sums), PB_EBOUNDS);

    init_f32(&v, data, sizeof data, 0, 2, shape, strides);
    v.view.format = NULL; /* "B": itemsize 1, so the view is inconsistent */
    CHECK_EQ(t, pbx_scale_f32(&v.view, 2.0f), PB_EFORMAT);

    init_f32(&v, data, sizeof data, 0, 2, shape, strides);
    CHECK_EQ(t, pbx_row_sums_f32(&v.view, NULL), PB_EINVAL);
    int64_t three_d[3] = {1, 2, 3};
    int64_t three_d_strides[3] = {24, 12, 4};
    init_f32(&v, data, sizeof data, 0, 3, three_d, three_d_strides);
    CHECK_EQ(t, pbx_row_sums_f32(&v.view, sums), PB_EINVAL);
    CHECK_MEM_EQ(t, data, untouched, sizeof data);

    /* no rows: nothing to write, out may be NULL */
    int64_t no_rows[2] = {0, 3};
    init_f32(&v, data, sizeof data, 0, 2, no_rows, strides);
    CHECK_EQ(t, pbx_row_sums_f32(&v.view, NULL), 0);
}

/* Row sums are accumulated in float, j ascending: 1e8 + 1 + ... loses the
   ones exactly as a float loop in Java does. */
static void row_sums_accumulate_in_float_in_order(pbt *t)
{
    float data[4] = {1e8f, 1, 1, 1};
    int64_t shape[2] = {1, 4};
    int64_t strides[2] = {16, 4};
    f32_view v;
    init_f32(&v, data, sizeof data, 0, 2, shape, strides);
    float sums[1];
    CHECK_EQ(t, pbx_row_sums_f32(&v.view, sums), 0);
    float expected = 0.0f;
    for (int j = 0; j < 4; j++) {
        expected += data[j];
    }
    CHECK(t, sums[0] == expected);
    CHECK(t, sums[0] == 1e8f);
}

int main(void)
{
    pbt t = pbt_begin("examples");
    PBT_RUN(&t, iota_then_row_sums_on_a_c_array);
    PBT_RUN(&t, strided_views_follow_their_strides);
    PBT_RUN(&t, broadcast_elements_are_scaled_once_per_index);
    PBT_RUN(&t, misaligned_floats_are_read_and_written);
    PBT_RUN(&t, scalars_are_one_element);
    PBT_RUN(&t, every_native_float32_format_is_accepted);
    PBT_RUN(&t, refusals_leave_the_data_alone);
    PBT_RUN(&t, row_sums_accumulate_in_float_in_order);
    return pbt_summary(&t);
}
