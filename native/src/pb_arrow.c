/*
 * pb_arrow.c -- the Arrow C data interface for panbuf: live pb_buffers become
 * Arrow arrays (primitive columns, arrow.fixed_shape_tensor columns, record
 * batches of them) over the same memory, and a few helpers let a consumer
 * move and release a producer's structs.
 *
 * Ownership rules
 * ---------------
 * 1. Every array node (the struct array of a batch, the fixed-size list of a
 *    tensor, a primitive leaf) has its own malloc block as private_data: its
 *    buffers[] pointer array, its children[] pointer array, the child structs
 *    themselves, and the validity bitmap. Every schema node likewise holds its
 *    format, name and metadata strings and its children. A node never points
 *    into another node's block except through children[i], so a consumer may
 *    move any child out (copy it, null the source's release) and release the
 *    rest, as the specification allows.
 * 2. The leaf that holds a column's data owns the duty to pb_release() that
 *    column's pb_buffer: its release frees the node and then releases the
 *    view, which unpins the memory (for a panbuf export it flips the Java
 *    export's release cell). A parent's release first releases each child
 *    whose release is not NULL (children that were moved out are left alone).
 * 3. A release takes the node out of private_data with an atomic exchange,
 *    so two racing releases of one struct free it once; it then stores NULL
 *    into release (the "released" marker of the specification).
 * 4. Data is never copied: buffers[1] is the view's memory. The validity
 *    bitmap is the one copy, packed from a bool mask that is only read during
 *    the export call.
 * 5. On any error nothing is allocated, the outputs are untouched and the
 *    caller still owns every view.
 *
 * No global mutable state; every function may be called from any thread.
 */
#include "panbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__GNUC__) || defined(__clang__)
#define PB_PUBLIC __attribute__((visibility("default")))
#else
#define PB_PUBLIC
#endif

/* The specification's layouts on LP64 (the platforms panbuf builds on). */
_Static_assert(sizeof(struct ArrowSchema) == 72, "ArrowSchema is 72 bytes on LP64");
_Static_assert(sizeof(struct ArrowArray) == 80, "ArrowArray is 80 bytes on LP64");
_Static_assert(sizeof(struct ArrowArrayStream) == 40, "ArrowArrayStream is 40 bytes on LP64");

/* Arrow asks for a non-NULL data buffer even when it holds no bytes. */
static const int64_t EMPTY_DATA[8] __attribute__((aligned(64)));

/* ------------------------------------------------------------------ formats */

static int is_little_endian(void)
{
    const uint16_t probe = 1;
    unsigned char first;
    memcpy(&first, &probe, 1);
    return first == 1;
}

PB_PUBLIC const char *pb_arrow_format(const char *format, int64_t itemsize)
{
    if (format == NULL) {
        return NULL; /* "B" by CPython's rule, but only named formats are typed here */
    }
    const char *p = format;
    int native_sizes = 1;
    switch (*p) {
    case '@': p++; break;
    case '=': native_sizes = 0; p++; break;
    case '<':
        if (!is_little_endian()) {
            return NULL;
        }
        native_sizes = 0;
        p++;
        break;
    case '>':
    case '!':
        if (is_little_endian()) {
            return NULL;
        }
        native_sizes = 0;
        p++;
        break;
    default: break;
    }
    int is_signed = 0, is_float = 0;
    int64_t bytes;
    switch (*p) {
    case 'b': is_signed = 1; bytes = 1; break;
    case 'B': bytes = 1; break;
    case 'h': is_signed = 1; bytes = 2; break;
    case 'H': bytes = 2; break;
    case 'i': is_signed = 1; bytes = 4; break;
    case 'I': bytes = 4; break;
    case 'l': is_signed = 1; bytes = native_sizes ? (int64_t)sizeof(long) : 4; break;
    case 'L': bytes = native_sizes ? (int64_t)sizeof(long) : 4; break;
    case 'q': is_signed = 1; bytes = 8; break;
    case 'Q': bytes = 8; break;
    case 'n':
    case 'N':
        if (!native_sizes) {
            return NULL;
        }
        is_signed = *p == 'n';
        bytes = (int64_t)sizeof(size_t);
        break;
    case 'e': is_float = 1; bytes = 2; break;
    case 'f': is_float = 1; bytes = 4; break;
    case 'd': is_float = 1; bytes = 8; break;
    default: return NULL;
    }
    if (p[1] != '\0' || bytes != itemsize) {
        return NULL;
    }
    if (is_float) {
        return bytes == 2 ? "e" : bytes == 4 ? "f" : "g";
    }
    switch (bytes) {
    case 1: return is_signed ? "c" : "C";
    case 2: return is_signed ? "s" : "S";
    case 4: return is_signed ? "i" : "I";
    default: return is_signed ? "l" : "L";
    }
}

/* ------------------------------------------------------------------ array nodes */

typedef struct {
    pb_buffer *view;             /* released with this node; NULL for parents */
    int64_t n_children;
    const void *buffers[2];
    struct ArrowArray **children; /* into this block */
    /* then: n_children pointers, n_children structs, the bitmap bytes */
} array_node;

_Static_assert(sizeof(array_node) % _Alignof(struct ArrowArray) == 0, "node alignment");

static void release_array(struct ArrowArray *self)
{
    if (self == NULL) {
        return;
    }
    array_node *node = __atomic_exchange_n(&self->private_data, NULL, __ATOMIC_ACQ_REL);
    if (node == NULL) {
        return; /* released already, or a racing release won */
    }
    for (int64_t i = 0; i < node->n_children; i++) {
        struct ArrowArray *child = node->children[i];
        if (child->release != NULL) {
            child->release(child);
        }
    }
    pb_buffer *view = node->view;
    __atomic_store_n(&self->release, NULL, __ATOMIC_RELEASE);
    free(node);
    pb_release(view);
}

/* A node with n_children zeroed child structs and bitmap_bytes of bitmap, wired
   into *out (which is fully overwritten). NULL when memory is exhausted. */
static array_node *array_node_new(struct ArrowArray *out, int64_t n_children, int64_t bitmap_bytes,
                                  int64_t n_buffers, int64_t length)
{
    size_t size = sizeof(array_node) + (size_t)n_children * (sizeof(struct ArrowArray *) + sizeof(struct ArrowArray))
                  + (size_t)bitmap_bytes;
    array_node *node = calloc(1, size);
    if (node == NULL) {
        return NULL;
    }
    node->n_children = n_children;
    node->children = (struct ArrowArray **)(node + 1);
    struct ArrowArray *structs = (struct ArrowArray *)(node->children + n_children);
    for (int64_t i = 0; i < n_children; i++) {
        node->children[i] = &structs[i];
    }
    memset(out, 0, sizeof *out);
    out->length = length;
    out->n_buffers = n_buffers;
    out->n_children = n_children;
    out->buffers = node->buffers;
    out->children = n_children > 0 ? node->children : NULL;
    out->release = release_array;
    out->private_data = node;
    return node;
}

static uint8_t *array_node_bitmap(array_node *node)
{
    return (uint8_t *)((struct ArrowArray *)(node->children + node->n_children) + node->n_children);
}

/* Frees a tree that was never handed out, without releasing any view. */
static void discard_array(struct ArrowArray *a)
{
    if (a->release == NULL) {
        return;
    }
    array_node *node = a->private_data;
    for (int64_t i = 0; i < node->n_children; i++) {
        discard_array(node->children[i]);
    }
    node->view = NULL;
    a->private_data = NULL;
    a->release = NULL;
    free(node);
}

/* ------------------------------------------------------------------ schema nodes */

typedef struct {
    int64_t n_children;
    struct ArrowSchema **children;
    /* then: n_children pointers, n_children structs, format, name, metadata */
} schema_node;

_Static_assert(sizeof(schema_node) % _Alignof(struct ArrowSchema) == 0, "node alignment");

static void release_schema(struct ArrowSchema *self)
{
    if (self == NULL) {
        return;
    }
    schema_node *node = __atomic_exchange_n(&self->private_data, NULL, __ATOMIC_ACQ_REL);
    if (node == NULL) {
        return;
    }
    for (int64_t i = 0; i < node->n_children; i++) {
        struct ArrowSchema *child = node->children[i];
        if (child->release != NULL) {
            child->release(child);
        }
    }
    __atomic_store_n(&self->release, NULL, __ATOMIC_RELEASE);
    free(node);
}

static int schema_node_new(struct ArrowSchema *out, const char *format, const char *name, const char *metadata,
                           size_t metadata_len, int64_t flags, int64_t n_children)
{
    if (name == NULL) {
        name = "";
    }
    size_t format_len = strlen(format) + 1, name_len = strlen(name) + 1;
    size_t size = sizeof(schema_node)
                  + (size_t)n_children * (sizeof(struct ArrowSchema *) + sizeof(struct ArrowSchema))
                  + format_len + name_len + metadata_len;
    schema_node *node = calloc(1, size);
    if (node == NULL) {
        return PB_ENOMEM;
    }
    node->n_children = n_children;
    node->children = (struct ArrowSchema **)(node + 1);
    struct ArrowSchema *structs = (struct ArrowSchema *)(node->children + n_children);
    for (int64_t i = 0; i < n_children; i++) {
        node->children[i] = &structs[i];
    }
    char *text = (char *)(structs + n_children);
    memcpy(text, format, format_len);
    memcpy(text + format_len, name, name_len);
    memset(out, 0, sizeof *out);
    out->format = text;
    out->name = text + format_len;
    if (metadata_len > 0) {
        memcpy(text + format_len + name_len, metadata, metadata_len);
        out->metadata = text + format_len + name_len;
    }
    out->flags = flags;
    out->n_children = n_children;
    out->children = n_children > 0 ? node->children : NULL;
    out->release = release_schema;
    out->private_data = node;
    return PB_OK;
}

/* ------------------------------------------------------------------ columns */

/* What a checked column is: everything the export needs, before it allocates. */
typedef struct {
    pb_buffer *view;
    const pb_buffer *mask;
    const char *format;        /* Arrow format of the elements */
    int64_t length;            /* shape[0] */
    int64_t list_size;         /* elements per row for a tensor, 0 for a primitive column */
    int64_t null_count;
} column_plan;

static int mask_is_bool(const pb_buffer *mask)
{
    const char *f = mask->format;
    if (f == NULL) {
        return 0;
    }
    if (*f == '@' || *f == '=' || *f == '<' || *f == '>' || *f == '!') {
        f++;
    }
    return f[0] == '?' && f[1] == '\0' && mask->itemsize == 1;
}

static const uint8_t *mask_element(const pb_buffer *mask, int64_t i)
{
    int64_t stride = mask->strides != NULL ? mask->strides[0] : mask->itemsize;
    return (const uint8_t *)mask->buf + i * stride;
}

static int plan_column(pb_buffer *view, const pb_buffer *mask, column_plan *plan)
{
    if (view == NULL) {
        return PB_EINVAL;
    }
    int rc = pb_validate(view);
    if (rc != PB_OK) {
        return rc;
    }
    const char *format = pb_arrow_format(view->format, view->itemsize);
    if (format == NULL) {
        return PB_EARROWTYPE;
    }
    if (view->ndim < 1 || pb_is_contiguous(view, 'C') != 1) {
        return PB_EARROWLAYOUT;
    }
    memset(plan, 0, sizeof *plan);
    plan->view = view;
    plan->format = format;
    plan->length = view->shape[0];
    if (view->ndim >= 2) {
        int64_t n = 1;
        for (int32_t k = 1; k < view->ndim; k++) {
            /* May overflow although pb_validate passed: when shape[0] is 0 the whole product is 0. */
            if (__builtin_mul_overflow(n, view->shape[k], &n)) {
                return PB_EOVERFLOW;
            }
        }
        if (n > INT32_MAX) {
            return PB_EOVERFLOW; /* a fixed-size list's size is an int32 */
        }
        plan->list_size = n;
    }
    if (mask != NULL) {
        rc = pb_validate(mask);
        if (rc != PB_OK) {
            return rc;
        }
        if (mask->ndim != 1 || !mask_is_bool(mask) || mask->shape[0] != plan->length) {
            return PB_EARROWMASK;
        }
        plan->mask = mask;
        for (int64_t i = 0; i < plan->length; i++) {
            plan->null_count += *mask_element(mask, i) == 0;
        }
    }
    return PB_OK;
}

static void pack_mask(const pb_buffer *mask, int64_t length, uint8_t *bitmap)
{
    for (int64_t i = 0; i < length; i++) {
        if (*mask_element(mask, i) != 0) {
            bitmap[i / 8] = (uint8_t)(bitmap[i / 8] | (1u << (i % 8)));
        }
    }
}

static int64_t bitmap_bytes(const column_plan *plan)
{
    return plan->mask == NULL ? 0 : (plan->length + 7) / 8;
}

/* Builds the array of one planned column into *out. On PB_ENOMEM nothing is left allocated. */
static int build_column_array(const column_plan *plan, struct ArrowArray *out)
{
    const void *data = plan->view->buf != NULL ? plan->view->buf : (const void *)EMPTY_DATA;
    int64_t bits = bitmap_bytes(plan);
    if (plan->list_size == 0 && plan->view->ndim == 1) {
        array_node *leaf = array_node_new(out, 0, bits, 2, plan->length);
        if (leaf == NULL) {
            return PB_ENOMEM;
        }
        out->null_count = plan->null_count;
        if (plan->mask != NULL) {
            pack_mask(plan->mask, plan->length, array_node_bitmap(leaf));
            leaf->buffers[0] = array_node_bitmap(leaf);
        }
        leaf->buffers[1] = data;
        leaf->view = plan->view;
        return PB_OK;
    }
    array_node *list = array_node_new(out, 1, bits, 1, plan->length);
    if (list == NULL) {
        return PB_ENOMEM;
    }
    out->null_count = plan->null_count;
    if (plan->mask != NULL) {
        pack_mask(plan->mask, plan->length, array_node_bitmap(list));
        list->buffers[0] = array_node_bitmap(list);
    }
    array_node *leaf = array_node_new(list->children[0], 0, 0, 2, plan->length * plan->list_size);
    if (leaf == NULL) {
        discard_array(out);
        return PB_ENOMEM;
    }
    leaf->buffers[1] = data;
    leaf->view = plan->view;
    return PB_OK;
}

/* Appends the decimal digits of v to *p (v >= 0). */
static void put_int(char **p, int64_t v)
{
    *p += sprintf(*p, "%lld", (long long)v);
}

static void put_pair(char **p, const char *key, const char *value, size_t value_len)
{
    int32_t n = (int32_t)strlen(key);
    memcpy(*p, &n, 4);
    memcpy(*p + 4, key, (size_t)n);
    *p += 4 + n;
    n = (int32_t)value_len;
    memcpy(*p, &n, 4);
    memcpy(*p + 4, value, value_len);
    *p += 4 + value_len;
}

static int build_column_schema(const column_plan *plan, const char *name, struct ArrowSchema *out)
{
    int64_t flags = plan->mask != NULL ? ARROW_FLAG_NULLABLE : 0;
    if (plan->list_size == 0 && plan->view->ndim == 1) {
        return schema_node_new(out, plan->format, name, NULL, 0, flags, 0);
    }
    /* {"shape":[d1,...]}: at most 64 dimensions of at most 19 digits. */
    char json[16 + PB_MAX_NDIM * 21];
    char *j = json;
    j += sprintf(j, "{\"shape\":[");
    for (int32_t k = 1; k < plan->view->ndim; k++) {
        if (k > 1) {
            *j++ = ',';
        }
        put_int(&j, plan->view->shape[k]);
    }
    j += sprintf(j, "]}");
    static const char EXT_NAME[] = "arrow.fixed_shape_tensor";
    char metadata[4 + 2 * 8 + 64 + sizeof json];
    char *m = metadata;
    int32_t pairs = 2;
    memcpy(m, &pairs, 4);
    m += 4;
    put_pair(&m, "ARROW:extension:name", EXT_NAME, sizeof EXT_NAME - 1);
    put_pair(&m, "ARROW:extension:metadata", json, (size_t)(j - json));
    char format[32];
    char *f = format;
    f += sprintf(f, "+w:");
    put_int(&f, plan->list_size);
    int rc = schema_node_new(out, format, name, metadata, (size_t)(m - metadata), flags, 1);
    if (rc != PB_OK) {
        return rc;
    }
    schema_node *node = out->private_data;
    rc = schema_node_new(node->children[0], plan->format, "item", NULL, 0, 0, 0);
    if (rc != PB_OK) {
        out->release = NULL;
        out->private_data = NULL;
        free(node);
    }
    return rc;
}

PB_PUBLIC int pb_arrow_export_array(pb_buffer *view, const pb_buffer *mask, const char *name,
                                    struct ArrowArray *out_array, struct ArrowSchema *out_schema)
{
    if (view == NULL || (out_array == NULL && out_schema == NULL)) {
        return PB_EINVAL;
    }
    column_plan plan;
    int rc = plan_column(view, mask, &plan);
    if (rc != PB_OK) {
        return rc;
    }
    struct ArrowSchema schema;
    if (out_schema != NULL) {
        rc = build_column_schema(&plan, name, &schema);
        if (rc != PB_OK) {
            return rc;
        }
    }
    if (out_array != NULL) {
        struct ArrowArray array;
        rc = build_column_array(&plan, &array);
        if (rc != PB_OK) {
            if (out_schema != NULL) {
                release_schema(&schema);
            }
            return rc;
        }
        *out_array = array;
    }
    if (out_schema != NULL) {
        *out_schema = schema;
    }
    return PB_OK;
}

PB_PUBLIC int pb_arrow_export_batch(int64_t n_columns, pb_buffer *const *views, const pb_buffer *const *masks,
                                    const char *const *names, struct ArrowArray *out_array,
                                    struct ArrowSchema *out_schema)
{
    if (n_columns < 1 || n_columns > INT32_MAX || views == NULL || (out_array == NULL && out_schema == NULL)) {
        return PB_EINVAL;
    }
    column_plan *plans = malloc((size_t)n_columns * sizeof *plans);
    if (plans == NULL) {
        return PB_ENOMEM;
    }
    int rc = PB_OK;
    for (int64_t i = 0; i < n_columns && rc == PB_OK; i++) {
        rc = plan_column(views[i], masks != NULL ? masks[i] : NULL, &plans[i]);
        if (rc == PB_OK && plans[i].length != plans[0].length) {
            rc = PB_EARROWLENGTH;
        }
    }
    for (int64_t i = 0; i < n_columns && rc == PB_OK; i++) {
        for (int64_t k = 0; k < i; k++) {
            if (plans[k].view == plans[i].view) {
                rc = PB_EINVAL; /* one pb_buffer cannot be released by two columns */
            }
        }
    }
    struct ArrowSchema schema;
    int have_schema = 0;
    if (rc == PB_OK && out_schema != NULL) {
        rc = schema_node_new(&schema, "+s", "", NULL, 0, 0, n_columns);
        have_schema = rc == PB_OK;
        schema_node *node = have_schema ? schema.private_data : NULL;
        for (int64_t i = 0; i < n_columns && rc == PB_OK; i++) {
            rc = build_column_schema(&plans[i], names != NULL ? names[i] : NULL, node->children[i]);
        }
    }
    struct ArrowArray array;
    if (rc == PB_OK && out_array != NULL) {
        array_node *node = array_node_new(&array, n_columns, 0, 1, plans[0].length);
        if (node == NULL) {
            rc = PB_ENOMEM;
        }
        for (int64_t i = 0; i < n_columns && rc == PB_OK; i++) {
            rc = build_column_array(&plans[i], node->children[i]);
        }
        if (rc != PB_OK && node != NULL) {
            discard_array(&array);
        }
    }
    free(plans);
    if (rc != PB_OK) {
        if (have_schema) {
            release_schema(&schema); /* children not built are zeroed: their release is NULL */
        }
        return rc;
    }
    if (out_array != NULL) {
        *out_array = array;
    }
    if (out_schema != NULL) {
        *out_schema = schema;
    }
    return PB_OK;
}

/* ------------------------------------------------------------------ consumer helpers */

PB_PUBLIC int pb_arrow_is_own(const struct ArrowArray *array)
{
    return array != NULL && array->release == release_array;
}

PB_PUBLIC struct ArrowArray *pb_arrow_move_array(struct ArrowArray *src)
{
    if (src == NULL || src->release == NULL) {
        return NULL;
    }
    struct ArrowArray *moved = malloc(sizeof *moved);
    if (moved == NULL) {
        return NULL;
    }
    memcpy(moved, src, sizeof *moved);
    src->release = NULL;
    return moved;
}

PB_PUBLIC void pb_arrow_release_moved(struct ArrowArray *moved)
{
    if (moved == NULL) {
        return;
    }
    if (moved->release != NULL) {
        moved->release(moved);
    }
    free(moved);
}

PB_PUBLIC void pb_arrow_release_array(struct ArrowArray *array)
{
    if (array != NULL && array->release != NULL) {
        array->release(array);
    }
}

PB_PUBLIC void pb_arrow_release_schema(struct ArrowSchema *schema)
{
    if (schema != NULL && schema->release != NULL) {
        schema->release(schema);
    }
}

PB_PUBLIC void pb_arrow_release_stream(struct ArrowArrayStream *stream)
{
    if (stream != NULL && stream->release != NULL) {
        stream->release(stream);
    }
}

/* ------------------------------------------------------------------ ABI */

typedef struct {
    const char *type;
    const char *field; /* NULL: the row gives sizeof(type) */
    size_t value;
} abi_entry;

#define PB_AR_SIZE(T) {#T, NULL, sizeof(struct T)}
#define PB_AR_FIELD(T, F) {#T, #F, offsetof(struct T, F)}

static const abi_entry ABI[] = {
    PB_AR_SIZE(ArrowSchema),
    PB_AR_FIELD(ArrowSchema, format),
    PB_AR_FIELD(ArrowSchema, name),
    PB_AR_FIELD(ArrowSchema, metadata),
    PB_AR_FIELD(ArrowSchema, flags),
    PB_AR_FIELD(ArrowSchema, n_children),
    PB_AR_FIELD(ArrowSchema, children),
    PB_AR_FIELD(ArrowSchema, dictionary),
    PB_AR_FIELD(ArrowSchema, release),
    PB_AR_FIELD(ArrowSchema, private_data),
    PB_AR_SIZE(ArrowArray),
    PB_AR_FIELD(ArrowArray, length),
    PB_AR_FIELD(ArrowArray, null_count),
    PB_AR_FIELD(ArrowArray, offset),
    PB_AR_FIELD(ArrowArray, n_buffers),
    PB_AR_FIELD(ArrowArray, n_children),
    PB_AR_FIELD(ArrowArray, buffers),
    PB_AR_FIELD(ArrowArray, children),
    PB_AR_FIELD(ArrowArray, dictionary),
    PB_AR_FIELD(ArrowArray, release),
    PB_AR_FIELD(ArrowArray, private_data),
    PB_AR_SIZE(ArrowArrayStream),
    PB_AR_FIELD(ArrowArrayStream, get_schema),
    PB_AR_FIELD(ArrowArrayStream, get_next),
    PB_AR_FIELD(ArrowArrayStream, get_last_error),
    PB_AR_FIELD(ArrowArrayStream, release),
    PB_AR_FIELD(ArrowArrayStream, private_data),
};

PB_PUBLIC int64_t pb_arrow_abi_sizeof(const char *type)
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

PB_PUBLIC int64_t pb_arrow_abi_offsetof(const char *type, const char *field)
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
