/*
 * test_lifetime.c -- release exactly once (also when threads race), the
 * export block of pb_export_alloc (layout, release, discard; the sanitizer
 * run's leak check proves every block is freed), pb_strerror, and the ABI
 * introspection the Java bindings check themselves against.
 */
/* pthread_barrier_t is POSIX, not C11; C11 <threads.h> would do, but
   ThreadSanitizer (clang-14) only follows threads made by pthread_create. */
#define _POSIX_C_SOURCE 200809L

#include "panbuf.h"
#include "pbtest.h"

#include <pthread.h>
#include <stdatomic.h>

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

/* A producer that counts how often it was handed its buffer back. */
typedef struct {
    pb_buffer view;
    atomic_int releases;
    uint32_t magic_seen; /* magic as the callback saw it */
} counted_buffer;

static void count_release(pb_buffer *self)
{
    counted_buffer *owner = (counted_buffer *)(void *)self;
    /* atomic: losing pb_release calls may still be reading it */
    owner->magic_seen = __atomic_load_n(&self->magic, __ATOMIC_ACQUIRE);
    atomic_fetch_add(&owner->releases, 1);
}

static void init_counted(counted_buffer *b)
{
    memset(b, 0, sizeof *b);
    atomic_init(&b->releases, 0);
    b->view.magic = PB_MAGIC_LIVE;
    b->view.abi_version = PB_ABI_VERSION;
    b->view.itemsize = 1;
    b->view.release = count_release;
}

static void release_calls_back_exactly_once(pbt *t)
{
    counted_buffer b;
    init_counted(&b);
    pb_release(&b.view);
    CHECK_EQ(t, atomic_load(&b.releases), 1);
    CHECK_EQ(t, b.magic_seen, PB_MAGIC_RELEASED); /* marked before the callback runs */
    CHECK_EQ(t, b.view.magic, PB_MAGIC_RELEASED);
    pb_release(&b.view); /* harmless while the struct still exists */
    pb_release(&b.view);
    CHECK_EQ(t, atomic_load(&b.releases), 1);
    pb_release(NULL);
}

static void release_ignores_what_is_not_live(pbt *t)
{
    counted_buffer b;
    init_counted(&b);
    b.view.magic = 0; /* not yet live */
    pb_release(&b.view);
    CHECK_EQ(t, atomic_load(&b.releases), 0);
    CHECK_EQ(t, b.view.magic, 0);
    b.view.magic = 0x12345678u; /* not a pb_buffer */
    pb_release(&b.view);
    CHECK_EQ(t, atomic_load(&b.releases), 0);
    CHECK_EQ(t, b.view.magic, 0x12345678u);
    /* live without a callback: marked released all the same */
    b.view.magic = PB_MAGIC_LIVE;
    b.view.release = NULL;
    pb_release(&b.view);
    CHECK_EQ(t, b.view.magic, PB_MAGIC_RELEASED);
}

static void released_buffers_are_refused_everywhere(pbt *t)
{
    unsigned char block[16] = {0};
    int64_t shape[1] = {16};
    int64_t strides[1] = {1};
    counted_buffer b;
    init_counted(&b);
    b.view.buf = block;
    b.view.base = block;
    b.view.base_len = sizeof block;
    b.view.len = 16;
    b.view.ndim = 1;
    b.view.shape = shape;
    b.view.strides = strides;
    CHECK_EQ(t, pb_validate(&b.view), 0);
    pb_release(&b.view);
    unsigned char out[16];
    int64_t index[1] = {0};
    CHECK_EQ(t, pb_validate(&b.view), PB_ERELEASED);
    CHECK_EQ(t, pb_is_contiguous(&b.view, 'C'), PB_ERELEASED);
    CHECK_PTR_EQ(t, pb_get_pointer(&b.view, index), NULL);
    CHECK_EQ(t, pb_to_contiguous(out, &b.view, 16, 'C'), PB_ERELEASED);
    CHECK_EQ(t, pb_from_contiguous(&b.view, out, 16, 'C'), PB_ERELEASED);
}

/* ---- racing releases ---------------------------------------------------- */

enum { RACERS = 8, RACES = 300 };

typedef struct {
    counted_buffer *buffer;
    pthread_barrier_t *start; /* so that the releases really overlap */
} racer_args;

static void *racer(void *arg)
{
    racer_args *args = arg;
    pthread_barrier_wait(args->start);
    pb_release(&args->buffer->view);
    return NULL;
}

static void racing_releases_call_back_once(pbt *t)
{
    for (int race = 0; race < RACES; race++) {
        counted_buffer b;
        init_counted(&b);
        pthread_barrier_t start;
        pthread_barrier_init(&start, NULL, RACERS);
        racer_args args = {&b, &start};
        pthread_t threads[RACERS];
        int started = 0;
        for (int i = 0; i < RACERS; i++) {
            started += pthread_create(&threads[i], NULL, racer, &args) == 0;
        }
        if (!CHECK_EQ(t, started, RACERS)) {
            exit(2); /* the started racers wait at the barrier forever */
        }
        for (int i = 0; i < RACERS; i++) {
            pthread_join(threads[i], NULL);
        }
        pthread_barrier_destroy(&start);
        pbt_context(t, "race %d", race);
        CHECK_EQ(t, atomic_load(&b.releases), 1);
    }
}

/* ---- pb_export_alloc ---------------------------------------------------- */

static void export_blocks_are_laid_out_as_documented(pbt *t)
{
    int32_t ndims[] = {0, 1, 2, 3, 7, 63, 64};
    int64_t format_lens[] = {0, 1, 2, 13, 4096};
    for (size_t d = 0; d < COUNT_OF(ndims); d++) {
        for (size_t f = 0; f < COUNT_OF(format_lens); f++) {
            int32_t ndim = ndims[d];
            int64_t format_len = format_lens[f];
            int32_t state = 0;
            pbt_context(t, "ndim %d, format_len %lld", ndim, (long long)format_len);
            pb_buffer *view = pb_export_alloc(ndim, format_len, &state);
            if (!CHECK(t, view != NULL)) {
                continue;
            }
            CHECK_EQ(t, view->magic, 0);
            CHECK_EQ(t, view->abi_version, PB_ABI_VERSION);
            CHECK_EQ(t, view->ndim, ndim);
            CHECK(t, view->release != NULL);
            CHECK_PTR_EQ(t, view->internal, &state);
            CHECK_PTR_EQ(t, view->buf, NULL);
            CHECK_PTR_EQ(t, view->obj, NULL);
            CHECK_PTR_EQ(t, view->base, NULL);
            CHECK_PTR_EQ(t, view->suboffsets, NULL);
            CHECK_EQ(t, view->len, 0);
            CHECK_EQ(t, view->itemsize, 0);
            CHECK_EQ(t, view->readonly, 0);
            CHECK_EQ(t, view->base_len, 0);
            /* shape, strides and format follow the struct, in that order */
            CHECK_PTR_EQ(t, view->shape, (char *)view + sizeof(pb_buffer));
            CHECK_PTR_EQ(t, view->strides, view->shape + ndim);
            CHECK_PTR_EQ(t, view->format, view->strides + ndim);
            CHECK_EQ(t, (uintptr_t)view->shape % _Alignof(int64_t), 0);
            for (int32_t i = 0; i < ndim; i++) {
                CHECK_EQ(t, view->shape[i], 0);
                CHECK_EQ(t, view->strides[i], 0);
            }
            /* the format room: format_len zero bytes, then the NUL */
            char *format = (char *)view->format;
            for (int64_t i = 0; i <= format_len; i++) {
                if (format[i] != 0) {
                    CHECK_EQ(t, format[i], 0);
                    break;
                }
            }
            /* every byte is writable (ASan checks the block's end) */
            memset(view->shape, 0x7F, (size_t)ndim * 2 * sizeof(int64_t));
            memset(format, 'x', (size_t)format_len);
            pb_export_discard(view);
            CHECK_EQ(t, state, 0); /* discarding is not a release */
        }
    }
}

static void export_release_sets_state_and_frees(pbt *t)
{
    float data[6] = {0};
    int32_t state = 0;
    pb_buffer *view = pb_export_alloc(2, 2, &state);
    if (!CHECK(t, view != NULL)) {
        return;
    }
    /* what a producer (Java) does: fill every field, then go live */
    view->buf = data;
    view->base = data;
    view->base_len = sizeof data;
    view->itemsize = 4;
    view->len = 24;
    view->shape[0] = 2;
    view->shape[1] = 3;
    view->strides[0] = 12;
    view->strides[1] = 4;
    memcpy((char *)view->format, "<f", 2);
    __atomic_store_n(&view->magic, PB_MAGIC_LIVE, __ATOMIC_RELEASE);
    CHECK_STR_EQ(t, view->format, "<f");
    CHECK_EQ(t, pb_validate(view), 0);

    pb_release(view); /* frees the block: the leak check sees it go */
    CHECK_EQ(t, __atomic_load_n(&state, __ATOMIC_ACQUIRE), 1);

    /* without a state word the release still frees */
    view = pb_export_alloc(1, 1, NULL);
    if (CHECK(t, view != NULL)) {
        view->magic = PB_MAGIC_LIVE;
        pb_release(view);
    }
}

static void export_alloc_refuses_bad_sizes(pbt *t)
{
    int32_t state = 0;
    CHECK_PTR_EQ(t, pb_export_alloc(-1, 0, &state), NULL);
    CHECK_PTR_EQ(t, pb_export_alloc(PB_MAX_NDIM + 1, 0, &state), NULL);
    CHECK_PTR_EQ(t, pb_export_alloc(INT32_MIN, 0, &state), NULL);
    CHECK_PTR_EQ(t, pb_export_alloc(1, -1, &state), NULL);
    CHECK_PTR_EQ(t, pb_export_alloc(1, INT64_MIN, &state), NULL);
    CHECK_PTR_EQ(t, pb_export_alloc(1, INT64_MAX, &state), NULL);
    CHECK_PTR_EQ(t, pb_export_alloc(1, (int64_t)INT32_MAX + 1, &state), NULL);
    pb_export_discard(NULL); /* harmless */
    CHECK_EQ(t, state, 0);
}

/* ---- pb_strerror and ABI ------------------------------------------------ */

static void every_code_has_its_own_message(pbt *t)
{
    const char *messages[16];
    for (int code = 0; code >= PB_ENOMEM; code--) {
        const char *message = pb_strerror(code);
        pbt_context(t, "code %d", code);
        if (!CHECK(t, message != NULL && message[0] != '\0')) {
            continue;
        }
        CHECK(t, strcmp(message, "unknown panbuf error code") != 0);
        for (int other = 0; other > code; other--) {
            CHECK(t, strcmp(message, messages[-other]) != 0);
        }
        messages[-code] = message;
    }
    int unknown[] = {1, 2, -16, -100, INT32_MIN, INT32_MAX};
    for (size_t i = 0; i < COUNT_OF(unknown); i++) {
        CHECK_STR_EQ(t, pb_strerror(unknown[i]), "unknown panbuf error code");
    }
    CHECK(t, strstr(pb_strerror(PB_ERELEASED), "released") != NULL);
}

static void abi_introspection_matches_the_header(pbt *t)
{
    static const struct {
        const char *name;
        size_t offset;
        int64_t lp64; /* Py_buffer's LP64 layout for its 11 fields, then panbuf's */
    } FIELDS[] = {
        {"buf", offsetof(pb_buffer, buf), 0},
        {"obj", offsetof(pb_buffer, obj), 8},
        {"len", offsetof(pb_buffer, len), 16},
        {"itemsize", offsetof(pb_buffer, itemsize), 24},
        {"readonly", offsetof(pb_buffer, readonly), 32},
        {"ndim", offsetof(pb_buffer, ndim), 36},
        {"format", offsetof(pb_buffer, format), 40},
        {"shape", offsetof(pb_buffer, shape), 48},
        {"strides", offsetof(pb_buffer, strides), 56},
        {"suboffsets", offsetof(pb_buffer, suboffsets), 64},
        {"internal", offsetof(pb_buffer, internal), 72},
        {"magic", offsetof(pb_buffer, magic), 80},
        {"abi_version", offsetof(pb_buffer, abi_version), 84},
        {"base", offsetof(pb_buffer, base), 88},
        {"base_len", offsetof(pb_buffer, base_len), 96},
        {"release", offsetof(pb_buffer, release), 104},
    };
    CHECK_EQ(t, pb_abi_sizeof(), sizeof(pb_buffer));
    if (sizeof(void *) == 8) {
        CHECK_EQ(t, pb_abi_sizeof(), 112);
    }
    for (size_t i = 0; i < COUNT_OF(FIELDS); i++) {
        pbt_context(t, "field %s", FIELDS[i].name);
        CHECK_EQ(t, pb_abi_offsetof(FIELDS[i].name), FIELDS[i].offset);
        if (sizeof(void *) == 8) {
            CHECK_EQ(t, pb_abi_offsetof(FIELDS[i].name), FIELDS[i].lp64);
        }
    }
    pbt_context(t, "unknown names");
    CHECK_EQ(t, pb_abi_offsetof(NULL), -1);
    CHECK_EQ(t, pb_abi_offsetof(""), -1);
    CHECK_EQ(t, pb_abi_offsetof("BUF"), -1);
    CHECK_EQ(t, pb_abi_offsetof("buf "), -1);
    CHECK_EQ(t, pb_abi_offsetof("bu"), -1);
    CHECK_EQ(t, pb_abi_offsetof("releasee"), -1);
}

int main(void)
{
    pbt t = pbt_begin("lifetime");
    PBT_RUN(&t, release_calls_back_exactly_once);
    PBT_RUN(&t, release_ignores_what_is_not_live);
    PBT_RUN(&t, released_buffers_are_refused_everywhere);
    PBT_RUN(&t, racing_releases_call_back_once);
    PBT_RUN(&t, export_blocks_are_laid_out_as_documented);
    PBT_RUN(&t, export_release_sets_state_and_frees);
    PBT_RUN(&t, export_alloc_refuses_bad_sizes);
    PBT_RUN(&t, every_code_has_its_own_message);
    PBT_RUN(&t, abi_introspection_matches_the_header);
    return pbt_summary(&t);
}
