/*
 * pb_dlpack.c -- DLPack for panbuf: a live pb_buffer becomes a DLPack
 * managed tensor (versioned or legacy) over the same memory, and a consumer
 * helper hands managed tensors back to their producers.
 *
 * Ownership rules
 * ---------------
 * 1. pb_dlpack_export() and pb_dlpack_export_legacy() make ONE malloc block:
 *    the managed tensor, then a private context (the pb_buffer to release and
 *    the producer's state cell), then shape[ndim] and strides[ndim]. The
 *    tensor's manager_ctx points at the context, and its shape and strides
 *    into the block; data is the view's memory, never copied or freed here.
 * 2. From a successful export on, the tensor owns the duty to release the
 *    pb_buffer: its deleter (called exactly once by the consumer) frees the
 *    block, stores 1 into the state cell with release ordering, and calls
 *    pb_release() on the view, which unpins the memory (for a panbuf export,
 *    it also flips the Java export's own cell). On any error nothing is
 *    allocated and the caller still owns the view.
 * 3. The pb_buffer must stay live while the tensor exists: its shape, strides
 *    and format are read only during the export, but its memory is what the
 *    tensor points at.
 * 4. pb_dlpack_delete() and pb_dlpack_delete_legacy() call a foreign
 *    producer's deleter; nothing here tracks whether it was called before.
 *
 * No global mutable state; every function may be called from any thread.
 */
#include "panbuf.h"

#include <stdlib.h>
#include <string.h>

#if defined(__GNUC__) || defined(__clang__)
#define PB_PUBLIC __attribute__((visibility("default")))
#else
#define PB_PUBLIC
#endif

/* What the deleter needs; lives in the tensor's block, after the struct. */
typedef struct {
    pb_buffer *view;
    int32_t *state;
} export_context;

/* shape[] and strides[] follow the context: keep them 8-byte aligned. */
_Static_assert(sizeof(pb_dl_managed_tensor_versioned) % _Alignof(int64_t) == 0, "block alignment");
_Static_assert(sizeof(pb_dl_managed_tensor) % _Alignof(int64_t) == 0, "block alignment");
_Static_assert(sizeof(export_context) % _Alignof(int64_t) == 0, "block alignment");

/* DLPack's layouts on LP64 (the platforms panbuf builds on). */
_Static_assert(sizeof(pb_dl_tensor) == 48, "DLTensor is 48 bytes on LP64");
_Static_assert(sizeof(pb_dl_managed_tensor) == 64, "DLManagedTensor is 64 bytes on LP64");
_Static_assert(sizeof(pb_dl_managed_tensor_versioned) == 80, "DLManagedTensorVersioned is 80 bytes on LP64");
_Static_assert(offsetof(pb_dl_managed_tensor_versioned, flags) == 24, "flags is the last stable field");

static int is_little_endian(void)
{
    const uint16_t probe = 1;
    unsigned char first;
    memcpy(&first, &probe, 1);
    return first == 1;
}

PB_PUBLIC int pb_dlpack_data_type(const char *format, int64_t itemsize, pb_dl_data_type *out)
{
    if (format == NULL || out == NULL) {
        return PB_EINVAL;
    }
    const char *p = format;
    /* '@' (or nothing) is native order with native sizes; the others use
       standard sizes, and '<' / '>' / '!' must also name this platform's order. */
    int native_sizes = 1;
    switch (*p) {
    case '@':
        p++;
        break;
    case '=':
        native_sizes = 0;
        p++;
        break;
    case '<':
        if (!is_little_endian()) {
            return PB_EDLDTYPE;
        }
        native_sizes = 0;
        p++;
        break;
    case '>':
    case '!':
        if (is_little_endian()) {
            return PB_EDLDTYPE;
        }
        native_sizes = 0;
        p++;
        break;
    default:
        break;
    }
    pb_dl_data_type t = {0, 0, 1};
    int complex = 0;
    if (*p == 'Z') {
        complex = 1;
        p++;
    }
    switch (*p) {
    case '?': t.code = PB_DL_BOOL; t.bits = 8; break;
    case 'b': t.code = PB_DL_INT; t.bits = 8; break;
    case 'B': t.code = PB_DL_UINT; t.bits = 8; break;
    case 'h': t.code = PB_DL_INT; t.bits = 16; break;
    case 'H': t.code = PB_DL_UINT; t.bits = 16; break;
    case 'i': t.code = PB_DL_INT; t.bits = 32; break;
    case 'I': t.code = PB_DL_UINT; t.bits = 32; break;
    case 'l': t.code = PB_DL_INT; t.bits = native_sizes ? (uint8_t)(8 * sizeof(long)) : 32; break;
    case 'L': t.code = PB_DL_UINT; t.bits = native_sizes ? (uint8_t)(8 * sizeof(long)) : 32; break;
    case 'q': t.code = PB_DL_INT; t.bits = 64; break;
    case 'Q': t.code = PB_DL_UINT; t.bits = 64; break;
    case 'n':
    case 'N':
        if (!native_sizes) {
            return PB_EDLDTYPE; /* struct allows n/N only with native sizes */
        }
        t.code = *p == 'n' ? PB_DL_INT : PB_DL_UINT;
        t.bits = (uint8_t)(8 * sizeof(size_t));
        break;
    case 'e': t.code = PB_DL_FLOAT; t.bits = 16; break;
    case 'f': t.code = PB_DL_FLOAT; t.bits = 32; break;
    case 'd': t.code = PB_DL_FLOAT; t.bits = 64; break;
    default: return PB_EDLDTYPE;
    }
    p++;
    if (*p != '\0') {
        return PB_EDLDTYPE; /* counts, records, several items: not one DLPack scalar */
    }
    if (complex) {
        if (t.code != PB_DL_FLOAT || t.bits == 16) {
            return PB_EDLDTYPE;
        }
        t.code = PB_DL_COMPLEX;
        t.bits = (uint8_t)(t.bits * 2);
    }
    if ((int64_t)t.bits != itemsize * 8) {
        return PB_EDLDTYPE;
    }
    *out = t;
    return PB_OK;
}

/* Fills the DLTensor of an export; the view is validated, its strides set. */
static int fill_tensor(const pb_buffer *view, pb_dl_tensor *tensor, int64_t *shape, int64_t *strides)
{
    int rc = pb_dlpack_data_type(view->format != NULL ? view->format : "B", view->itemsize,
                                 &tensor->dtype);
    if (rc != PB_OK) {
        return rc;
    }
    int empty = 0;
    for (int axis = 0; axis < view->ndim; axis++) {
        int64_t byte_stride = view->strides != NULL ? view->strides[axis] : 0;
        if (byte_stride % view->itemsize != 0) {
            return PB_EDLSTRIDES;
        }
        shape[axis] = view->shape[axis];
        strides[axis] = byte_stride / view->itemsize;
        if (view->shape[axis] == 0) {
            empty = 1;
        }
    }
    /* DLPack asks for NULL data when there are no elements. */
    tensor->data = empty ? NULL : view->buf;
    tensor->device.device_type = PB_DL_CPU;
    tensor->device.device_id = 0;
    tensor->ndim = view->ndim;
    tensor->shape = view->ndim > 0 ? shape : NULL;
    tensor->strides = view->ndim > 0 ? strides : NULL;
    tensor->byte_offset = 0;
    return PB_OK;
}

/* Validation shared by both exports: a live, consistent view, with the
   C-contiguous strides CPython implies when strides is NULL. */
static int check_view(const pb_buffer *view, int64_t *c_strides)
{
    int rc = pb_validate(view);
    if (rc != PB_OK) {
        return rc;
    }
    if (view->strides == NULL && view->ndim > 0) {
        pb_fill_contiguous_strides(view->ndim, view->shape, c_strides, view->itemsize, 'C');
    }
    return PB_OK;
}

static void finish_release(export_context *ctx)
{
    pb_buffer *view = ctx->view;
    int32_t *state = ctx->state;
    if (state != NULL) {
        __atomic_store_n(state, 1, __ATOMIC_RELEASE);
    }
    pb_release(view);
}

static void delete_versioned(pb_dl_managed_tensor_versioned *self)
{
    export_context ctx = *(export_context *)self->manager_ctx;
    free(self);
    finish_release(&ctx);
}

static void delete_legacy(pb_dl_managed_tensor *self)
{
    export_context ctx = *(export_context *)self->manager_ctx;
    free(self);
    finish_release(&ctx);
}

/* One block: header struct, context, shape[ndim], strides[ndim]. */
static char *alloc_block(size_t header_bytes, int ndim, export_context **ctx, int64_t **shape,
                         int64_t **strides)
{
    size_t arrays = 2 * (size_t)ndim * sizeof(int64_t);
    char *block = calloc(1, header_bytes + sizeof(export_context) + arrays);
    if (block == NULL) {
        return NULL;
    }
    *ctx = (export_context *)(void *)(block + header_bytes);
    *shape = (int64_t *)(void *)(block + header_bytes + sizeof(export_context));
    *strides = *shape + ndim;
    return block;
}

/* pb_buffer with NULL strides: a view of it with C-contiguous strides, for
   fill_tensor (which reads strides). */
static const pb_buffer *with_strides(const pb_buffer *view, pb_buffer *copy, int64_t *c_strides)
{
    if (view->strides != NULL || view->ndim == 0) {
        return view;
    }
    *copy = *view;
    copy->strides = c_strides;
    return copy;
}

PB_PUBLIC int pb_dlpack_export(pb_buffer *view, int32_t *state, pb_dl_managed_tensor_versioned **out)
{
    if (view == NULL || out == NULL) {
        return PB_EINVAL;
    }
    int64_t c_strides[PB_MAX_NDIM];
    int rc = check_view(view, c_strides);
    if (rc != PB_OK) {
        return rc;
    }
    export_context *ctx;
    int64_t *shape;
    int64_t *strides;
    char *block = alloc_block(sizeof(pb_dl_managed_tensor_versioned), view->ndim, &ctx, &shape, &strides);
    if (block == NULL) {
        return PB_ENOMEM;
    }
    pb_dl_managed_tensor_versioned *tensor = (pb_dl_managed_tensor_versioned *)(void *)block;
    pb_buffer strided;
    rc = fill_tensor(with_strides(view, &strided, c_strides), &tensor->dl_tensor, shape, strides);
    if (rc != PB_OK) {
        free(block);
        return rc;
    }
    ctx->view = view;
    ctx->state = state;
    tensor->version.major = PB_DL_MAJOR_VERSION;
    tensor->version.minor = PB_DL_MINOR_VERSION;
    tensor->manager_ctx = ctx;
    tensor->deleter = delete_versioned;
    tensor->flags = view->readonly ? PB_DL_FLAG_READ_ONLY : 0;
    *out = tensor;
    return PB_OK;
}

PB_PUBLIC int pb_dlpack_export_legacy(pb_buffer *view, int32_t *state, pb_dl_managed_tensor **out)
{
    if (view == NULL || out == NULL) {
        return PB_EINVAL;
    }
    int64_t c_strides[PB_MAX_NDIM];
    int rc = check_view(view, c_strides);
    if (rc != PB_OK) {
        return rc;
    }
    if (view->readonly) {
        return PB_EREADONLY;
    }
    export_context *ctx;
    int64_t *shape;
    int64_t *strides;
    char *block = alloc_block(sizeof(pb_dl_managed_tensor), view->ndim, &ctx, &shape, &strides);
    if (block == NULL) {
        return PB_ENOMEM;
    }
    pb_dl_managed_tensor *tensor = (pb_dl_managed_tensor *)(void *)block;
    pb_buffer strided;
    rc = fill_tensor(with_strides(view, &strided, c_strides), &tensor->dl_tensor, shape, strides);
    if (rc != PB_OK) {
        free(block);
        return rc;
    }
    ctx->view = view;
    ctx->state = state;
    tensor->manager_ctx = ctx;
    tensor->deleter = delete_legacy;
    *out = tensor;
    return PB_OK;
}

PB_PUBLIC void pb_dlpack_delete(pb_dl_managed_tensor_versioned *tensor)
{
    if (tensor != NULL && tensor->deleter != NULL) {
        tensor->deleter(tensor);
    }
}

PB_PUBLIC void pb_dlpack_delete_legacy(pb_dl_managed_tensor *tensor)
{
    if (tensor != NULL && tensor->deleter != NULL) {
        tensor->deleter(tensor);
    }
}

/* ------------------------------------------------------------------------ */
/* ABI introspection                                                        */
/* ------------------------------------------------------------------------ */

typedef struct {
    const char *type;
    const char *field; /* NULL: the sizeof entry */
    size_t value;
} abi_entry;

#define PB_DL_SIZE(T) {#T, NULL, sizeof(T)}
#define PB_DL_FIELD(T, F) {#T, #F, offsetof(T, F)}

static const abi_entry ABI[] = {
    PB_DL_SIZE(pb_dl_version),
    PB_DL_FIELD(pb_dl_version, major),
    PB_DL_FIELD(pb_dl_version, minor),
    PB_DL_SIZE(pb_dl_device),
    PB_DL_FIELD(pb_dl_device, device_type),
    PB_DL_FIELD(pb_dl_device, device_id),
    PB_DL_SIZE(pb_dl_data_type),
    PB_DL_FIELD(pb_dl_data_type, code),
    PB_DL_FIELD(pb_dl_data_type, bits),
    PB_DL_FIELD(pb_dl_data_type, lanes),
    PB_DL_SIZE(pb_dl_tensor),
    PB_DL_FIELD(pb_dl_tensor, data),
    PB_DL_FIELD(pb_dl_tensor, device),
    PB_DL_FIELD(pb_dl_tensor, ndim),
    PB_DL_FIELD(pb_dl_tensor, dtype),
    PB_DL_FIELD(pb_dl_tensor, shape),
    PB_DL_FIELD(pb_dl_tensor, strides),
    PB_DL_FIELD(pb_dl_tensor, byte_offset),
    PB_DL_SIZE(pb_dl_managed_tensor),
    PB_DL_FIELD(pb_dl_managed_tensor, dl_tensor),
    PB_DL_FIELD(pb_dl_managed_tensor, manager_ctx),
    PB_DL_FIELD(pb_dl_managed_tensor, deleter),
    PB_DL_SIZE(pb_dl_managed_tensor_versioned),
    PB_DL_FIELD(pb_dl_managed_tensor_versioned, version),
    PB_DL_FIELD(pb_dl_managed_tensor_versioned, manager_ctx),
    PB_DL_FIELD(pb_dl_managed_tensor_versioned, deleter),
    PB_DL_FIELD(pb_dl_managed_tensor_versioned, flags),
    PB_DL_FIELD(pb_dl_managed_tensor_versioned, dl_tensor),
};

PB_PUBLIC int64_t pb_dlpack_abi_sizeof(const char *type)
{
    if (type == NULL) {
        return -1;
    }
    for (size_t i = 0; i < sizeof ABI / sizeof ABI[0]; i++) {
        if (ABI[i].field == NULL && strcmp(ABI[i].type, type) == 0) {
            return (int64_t)ABI[i].value;
        }
    }
    return -1;
}

PB_PUBLIC int64_t pb_dlpack_abi_offsetof(const char *type, const char *field)
{
    if (type == NULL || field == NULL) {
        return -1;
    }
    for (size_t i = 0; i < sizeof ABI / sizeof ABI[0]; i++) {
        if (ABI[i].field != NULL && strcmp(ABI[i].type, type) == 0 && strcmp(ABI[i].field, field) == 0) {
            return (int64_t)ABI[i].value;
        }
    }
    return -1;
}
