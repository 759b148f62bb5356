/*
 * fuzz_arrow.c -- libFuzzer target for the Arrow export of pb_arrow.c. Builds
 * one to three pb_buffers (see fuzz_view.h for their layout) and an optional
 * validity mask from the input, exports them as one column or a record batch,
 * and checks:
 *  - a refusal leaves the output structs and every view untouched;
 *  - an accepted export describes the views' own memory: every leaf's data is
 *    read in full and every bitmap byte too, so AddressSanitizer proves it is
 *    real memory; lengths and buffer counts follow the specification;
 *  - releases, with or without a child moved out first, release every view
 *    exactly once and free every block (the leak check proves it).
 * Any failed check aborts, which libFuzzer reports as a crash.
 */
#include "fuzz_view.h"

#include <stdio.h>

static int release_count[3];

static void count_release(pb_buffer *self)
{
    release_count[(intptr_t)self->internal]++;
}

static void require(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_arrow: %s\n", what);
        abort();
    }
}

static volatile unsigned char sink;

static void read_bytes(const void *p, int64_t n)
{
    const unsigned char *b = p;
    unsigned char x = 0;
    for (int64_t i = 0; i < n; i++) {
        x ^= b[i];
    }
    sink = x;
}

static int64_t item_bytes(const char *format)
{
    switch (format[0]) {
    case 'c': case 'C': return 1;
    case 's': case 'S': case 'e': return 2;
    case 'i': case 'I': case 'f': return 4;
    default: return 8;
    }
}

/* Checks one column array against its schema and reads every byte it describes. */
static void walk_column(const struct ArrowArray *a, const struct ArrowSchema *s, int64_t rows)
{
    require(a->release != NULL && s->release != NULL, "column released early");
    require(a->length == rows && a->offset == 0, "column length");
    if (a->null_count > 0) {
        require(a->buffers[0] != NULL, "nulls without a bitmap");
        read_bytes(a->buffers[0], (rows + 7) / 8);
    }
    if (s->format[0] == '+') {
        require(a->n_buffers == 1 && a->n_children == 1 && s->n_children == 1, "tensor layout");
        int64_t size = strtoll(s->format + 3, NULL, 10);
        const struct ArrowArray *c = a->children[0];
        require(c->length == rows * size && c->n_buffers == 2 && c->buffers[1] != NULL, "tensor values");
        read_bytes(c->buffers[1], c->length * item_bytes(s->children[0]->format));
    } else {
        require(a->n_buffers == 2 && a->n_children == 0 && a->buffers[1] != NULL, "primitive layout");
        read_bytes(a->buffers[1], rows * item_bytes(s->format));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_bytes in = {data, size};
    unsigned mode = (unsigned)fuzz_take(&in, 1);
    int n = 1 + (int)(mode % 3);
    fuzz_view fv[3];
    fuzz_view mask_fv;
    pb_buffer *views[3] = {NULL, NULL, NULL};
    const pb_buffer *masks[3] = {NULL, NULL, NULL};
    for (int i = 0; i < n; i++) {
        fuzz_view_build(&fv[i], &in);
        fv[i].view.release = count_release;
        fv[i].view.internal = (void *)(intptr_t)i;
        views[i] = &fv[i].view;
        release_count[i] = 0;
    }
    int with_mask = (mode & 4) != 0;
    if (with_mask) {
        fuzz_view_build(&mask_fv, &in);
        if (mode & 8) {
            mask_fv.view.format = "?";
        }
        masks[0] = &mask_fv.view;
    }
    uint32_t magic_before[3] = {0, 0, 0};
    for (int i = 0; i < n; i++) {
        magic_before[i] = views[i]->magic;
    }
    const char *names[3] = {"a", NULL, "c"};
    struct ArrowArray array;
    struct ArrowSchema schema;
    memset(&array, 0xA5, sizeof array);
    memset(&schema, 0xA5, sizeof schema);
    struct ArrowArray array_before = array;
    struct ArrowSchema schema_before = schema;
    int batch = n > 1 || (mode & 16);
    int rc = batch ? pb_arrow_export_batch(n, views, masks, names, &array, &schema)
                   : pb_arrow_export_array(views[0], masks[0], "a", &array, &schema);
    if (rc != PB_OK) {
        require(memcmp(&array, &array_before, sizeof array) == 0, "refusal changed the array");
        require(memcmp(&schema, &schema_before, sizeof schema) == 0, "refusal changed the schema");
        for (int i = 0; i < n; i++) {
            require(release_count[i] == 0 && views[i]->magic == magic_before[i], "refusal released a view");
        }
    } else {
        int64_t rows = views[0]->shape[0];
        if (batch) {
            require(array.n_children == n && schema.n_children == n && array.length == rows, "batch layout");
            for (int i = 0; i < n; i++) {
                walk_column(array.children[i], schema.children[i], rows);
            }
        } else {
            walk_column(&array, &schema, rows);
        }
        for (int i = 0; i < n; i++) {
            require(release_count[i] == 0, "export released a view");
        }
        schema.release(&schema);
        require(schema.release == NULL, "schema not marked released");
        if (batch && (mode & 32)) {
            struct ArrowArray child = *array.children[0];
            array.children[0]->release = NULL;
            array.release(&array);
            require(release_count[0] == 0, "a moved child's view was released with its parent");
            child.release(&child);
        } else {
            array.release(&array);
        }
        require(array.release == NULL, "array not marked released");
        for (int i = 0; i < n; i++) {
            require(release_count[i] == 1, "a view was not released exactly once");
        }
    }
    for (int i = 0; i < n; i++) {
        fuzz_view_free(&fv[i]);
    }
    if (with_mask) {
        fuzz_view_free(&mask_fv);
    }
    return 0;
}
