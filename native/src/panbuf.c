/*
 * panbuf.c -- the C shim of panbuf: CPython's buffer C-API for pb_buffer
 * (contiguity, element addresses, contiguous copies), a PEP 3118 format-size
 * parser, the validation that proves a view stays inside its allocation,
 * exactly-once release, and the one-block allocation of exported structs.
 *
 * Ownership rules
 * ---------------
 * 1. A pb_buffer, its shape, strides and format, and the memory at buf/base
 *    belong to the producer. Nothing here keeps a pointer to any of them
 *    after returning, and nothing here frees them, except as in 2 and 3.
 * 2. pb_release() hands the buffer back: it flips `magic` from live to
 *    released with one compare-and-swap and, only on the call that won the
 *    swap, calls the producer's `release` callback. From then on the struct
 *    may already be freed; the consumer must not touch it.
 * 3. pb_export_alloc() makes ONE malloc block: the struct, then shape[ndim],
 *    then strides[ndim], then the format bytes and their NUL. Until the
 *    producer sets magic to PB_MAGIC_LIVE the block is the producer's, and
 *    pb_export_discard() frees it. Once live, the block belongs to the buffer
 *    itself: the callback installed by pb_export_alloc() (export_release)
 *    stores 1 into *state with release ordering and then frees the block.
 *    The memory at buf/base is never allocated or freed in this file, and
 *    *state (the producer's int32_t) must outlive the buffer.
 * 4. Only two functions write through a view: pb_from_contiguous() (into the
 *    view's elements) and pb_to_contiguous() (into the caller's dst). Both
 *    validate everything first, so on any error nothing is written.
 *
 * There is no global mutable state: every function is safe to call from any
 * thread; pb_release() may race with itself.
 */
#include "panbuf.h"

#include <stdlib.h>
#include <string.h>

/* The Makefile builds with -fvisibility=hidden: only what carries this
   attribute leaves the shared object. It lives here rather than in panbuf.h so
   that the header (the ABI contract, parsed by jextract) stays plain C. */
#if defined(__GNUC__) || defined(__clang__)
#define PB_PUBLIC __attribute__((visibility("default")))
#else
#define PB_PUBLIC
#endif

/* The int64_t arrays of an export start right after the struct; that is
   aligned because pb_buffer itself contains int64_t fields. */
_Static_assert(sizeof(pb_buffer) % _Alignof(int64_t) == 0,
               "shape[] must be aligned when it follows pb_buffer");

/* Deepest T{ nesting pb_size_from_format accepts; the parser keeps one frame
   per level on the stack instead of recursing. NumPy never nests deeper than
   the dtype it describes, and 64 matches PB_MAX_NDIM. */
#define PB_FORMAT_MAX_DEPTH 64

/* A format string longer than this is "absurd" for pb_export_alloc. */
#define PB_FORMAT_MAX_LEN ((int64_t)INT32_MAX)

/* ------------------------------------------------------------------------ */
/* small helpers                                                            */
/* ------------------------------------------------------------------------ */

/* 0 when live, else the code every consumer function reports. `magic` is read
   atomically because pb_release() may flip it from another thread. */
static int check_live(const pb_buffer *view)
{
    uint32_t magic = __atomic_load_n(&view->magic, __ATOMIC_ACQUIRE);
    if (magic == PB_MAGIC_LIVE) {
        return PB_OK;
    }
    return magic == PB_MAGIC_RELEASED ? PB_ERELEASED : PB_EMAGIC;
}

static int is_order(char order)
{
    return order == 'C' || order == 'F' || order == 'A';
}

/* C-contiguous strides for a view whose strides field is NULL. The caller
   has validated the view, so no product overflows. */
static void c_strides(const pb_buffer *view, int64_t *strides)
{
    pb_fill_contiguous_strides(view->ndim, view->shape, strides, view->itemsize, 'C');
}

/* ------------------------------------------------------------------------ */
/* contiguity and element addresses (CPython: Objects/abstract.c)           */
/* ------------------------------------------------------------------------ */

/* Walks the axes from the fastest-varying one outwards and checks that each
   axis longer than 1 steps by the size of everything inside it. Axes of
   length 0 or 1 never move, so their strides do not matter. `inner_bytes`
   grows as the product of the inner axes; once it has overflowed, no later
   axis longer than 1 can match it (a stride is an int64_t). */
static int strides_are_contiguous(const pb_buffer *view, int fortran)
{
    int64_t inner_bytes = view->itemsize;
    int overflowed = 0;
    for (int i = 0; i < view->ndim; i++) {
        int axis = fortran ? i : view->ndim - 1 - i;
        int64_t dim = view->shape[axis];
        if (dim > 1 && (overflowed || view->strides[axis] != inner_bytes)) {
            return 0;
        }
        if (dim == 0) {
            inner_bytes = 0; /* only reached when len disagrees with shape */
            overflowed = 0;
        } else if (__builtin_mul_overflow(inner_bytes, dim, &inner_bytes)) {
            overflowed = 1;
        }
    }
    return 1;
}

static int is_c_contiguous(const pb_buffer *view)
{
    if (view->len == 0 || view->strides == NULL) {
        return 1;
    }
    return strides_are_contiguous(view, 0);
}

static int is_f_contiguous(const pb_buffer *view)
{
    if (view->len == 0) {
        return 1;
    }
    if (view->strides == NULL) {
        /* C-contiguous by definition; also F-contiguous when at most one
           axis is longer than 1. */
        int long_axes = 0;
        for (int i = 0; i < view->ndim; i++) {
            long_axes += view->shape[i] > 1;
        }
        return long_axes <= 1;
    }
    return strides_are_contiguous(view, 1);
}

PB_PUBLIC int pb_is_contiguous(const pb_buffer *view, char order)
{
    if (view == NULL) {
        return PB_EINVAL;
    }
    int rc = check_live(view);
    if (rc != PB_OK) {
        return rc;
    }
    /* Not in CPython, which trusts the struct: refuse what would make us
       read outside shape[]. */
    if (view->ndim < 0 || view->ndim > PB_MAX_NDIM) {
        return PB_ENDIM;
    }
    if (view->ndim > 0 && view->shape == NULL) {
        return PB_ESHAPE;
    }
    if (view->suboffsets != NULL) {
        return 0;
    }
    switch (order) {
    case 'C':
        return is_c_contiguous(view);
    case 'F':
        return is_f_contiguous(view);
    case 'A':
        return is_c_contiguous(view) || is_f_contiguous(view);
    default:
        return 0;
    }
}

PB_PUBLIC void *pb_get_pointer(const pb_buffer *view, const int64_t *indices)
{
    if (view == NULL || check_live(view) != PB_OK) {
        return NULL;
    }
    if (view->ndim < 0 || view->ndim > PB_MAX_NDIM || view->suboffsets != NULL) {
        return NULL;
    }
    if (view->ndim > 0 && (indices == NULL || view->shape == NULL)) {
        return NULL;
    }
    /* With strides == NULL the view is C-contiguous: the stride of an axis
       is the byte size of everything after it. */
    int64_t byte_offset = 0;
    int64_t inner_bytes = view->itemsize;
    for (int axis = view->ndim - 1; axis >= 0; axis--) {
        int64_t index = indices[axis];
        if (index < 0 || index >= view->shape[axis]) {
            return NULL;
        }
        int64_t stride = view->strides != NULL ? view->strides[axis] : inner_bytes;
        int64_t step;
        if (__builtin_mul_overflow(stride, index, &step) ||
            __builtin_add_overflow(byte_offset, step, &byte_offset)) {
            return NULL;
        }
        if (view->strides == NULL &&
            __builtin_mul_overflow(inner_bytes, view->shape[axis], &inner_bytes)) {
            return NULL;
        }
    }
    return (char *)view->buf + byte_offset;
}

PB_PUBLIC void pb_fill_contiguous_strides(int ndim, const int64_t *shape, int64_t *strides,
                                          int64_t itemsize, char order)
{
    if (ndim <= 0 || shape == NULL || strides == NULL) {
        return;
    }
    /* Unsigned arithmetic: for shapes whose byte size does not fit, the
       strides wrap (as CPython's do in practice) instead of being undefined
       behaviour; such shapes never pass pb_validate. */
    uint64_t inner_bytes = (uint64_t)itemsize;
    for (int i = 0; i < ndim; i++) {
        int axis = order == 'F' ? i : ndim - 1 - i;
        strides[axis] = (int64_t)inner_bytes;
        inner_bytes *= (uint64_t)shape[axis];
    }
}

/* ------------------------------------------------------------------------ */
/* contiguous copies (CPython: PyBuffer_ToContiguous, PyBuffer_FromContiguous) */
/* ------------------------------------------------------------------------ */

/* The axes of a copy, outermost first, each with its byte stride in the view
   and in the contiguous block. Axes of length 1 are dropped and neighbours
   that step through both memories as one longer axis are merged; neither
   changes which element goes where, nor the order of the walk. */
typedef struct {
    int ndim;
    int64_t shape[PB_MAX_NDIM];
    int64_t view_strides[PB_MAX_NDIM];
    int64_t block_strides[PB_MAX_NDIM];
} copy_plan;

/* Ranks axes by how far they step: |stride|, less one for negative strides
   so that INT64_MIN does not overflow. */
static int64_t magnitude(int64_t stride)
{
    return stride < 0 ? -(stride + 1) : stride;
}

/* The walk order decides speed, and for overlapping views also the result:
 * - from the block into the view (pb_from_contiguous) the walk follows the
 *   block, element n after element n-1, as CPython's loop does: the block is
 *   read sequentially, the first `count` elements are the ones written, and
 *   where the view's elements overlap, the last write wins as in CPython;
 * - from the view into the block (pb_to_contiguous) every block slot is
 *   written exactly once, so any order gives the same bytes; the walk goes
 *   through the view's memory in address order (smallest |stride| innermost),
 *   which reads sequentially where CPython's order would read a transposed
 *   view a stride apart. */
static void plan_copy(const pb_buffer *view, const int64_t *view_strides, char order,
                      int to_block, copy_plan *plan)
{
    int64_t block_strides[PB_MAX_NDIM];
    pb_fill_contiguous_strides(view->ndim, view->shape, block_strides, view->itemsize, order);
    int axes[PB_MAX_NDIM];
    int axis_count = 0;
    for (int i = 0; i < view->ndim; i++) {
        /* block order: C walks the last axis fastest, F the first */
        int axis = order == 'F' ? view->ndim - 1 - i : i;
        if (view->shape[axis] != 1) {
            axes[axis_count++] = axis;
        }
    }
    if (to_block) {
        /* stable insertion sort, largest |view stride| outermost */
        for (int i = 1; i < axis_count; i++) {
            int axis = axes[i];
            int j = i;
            while (j > 0 && magnitude(view_strides[axes[j - 1]]) < magnitude(view_strides[axis])) {
                axes[j] = axes[j - 1];
                j--;
            }
            axes[j] = axis;
        }
    }
    plan->ndim = 0;
    for (int i = 0; i < axis_count; i++) {
        int axis = axes[i];
        int64_t dim = view->shape[axis];
        if (plan->ndim > 0) {
            int outer = plan->ndim - 1;
            int64_t view_span, block_span;
            if (!__builtin_mul_overflow(view_strides[axis], dim, &view_span) &&
                !__builtin_mul_overflow(block_strides[axis], dim, &block_span) &&
                plan->view_strides[outer] == view_span && plan->block_strides[outer] == block_span) {
                plan->shape[outer] *= dim; /* <= element count: no overflow */
                plan->view_strides[outer] = view_strides[axis];
                plan->block_strides[outer] = block_strides[axis];
                continue;
            }
        }
        plan->shape[plan->ndim] = dim;
        plan->view_strides[plan->ndim] = view_strides[axis];
        plan->block_strides[plan->ndim] = block_strides[axis];
        plan->ndim++;
    }
    if (plan->ndim == 0) { /* a scalar, or every axis of length 1 */
        plan->shape[0] = 1;
        plan->view_strides[0] = view->itemsize;
        plan->block_strides[0] = view->itemsize;
        plan->ndim = 1;
    }
}

/* Copies `count` elements between a strided run of the view and a strided
   run of the block. Fixed sizes let the compiler turn memcpy into a move. */
static void copy_run(char *view_run, int64_t view_stride, char *block_run, int64_t block_stride,
                     int64_t itemsize, int64_t count, int to_block)
{
    if (view_stride == itemsize && block_stride == itemsize) {
        size_t run_bytes = (size_t)(count * itemsize);
        if (to_block) {
            memcpy(block_run, view_run, run_bytes);
        } else {
            memcpy(view_run, block_run, run_bytes);
        }
        return;
    }
#define PB_COPY_ELEMENTS(SIZE)                                                   \
    for (int64_t i = 0; i < count; i++) {                                        \
        char *element = view_run + i * view_stride;                              \
        char *slot = block_run + i * block_stride;                               \
        if (to_block) {                                                          \
            memcpy(slot, element, SIZE);                                         \
        } else {                                                                 \
            memcpy(element, slot, SIZE);                                         \
        }                                                                        \
    }
    switch (itemsize) {
    case 1: PB_COPY_ELEMENTS(1) break;
    case 2: PB_COPY_ELEMENTS(2) break;
    case 4: PB_COPY_ELEMENTS(4) break;
    case 8: PB_COPY_ELEMENTS(8) break;
    default: PB_COPY_ELEMENTS((size_t)itemsize) break;
    }
#undef PB_COPY_ELEMENTS
}

/* Copies elements of a validated view, in `order`, to or from the contiguous
   block: all of them to the block, or the first `count` (in block order)
   from it. An odometer over the outer axes (no recursion, no allocation);
   the innermost axis is copied as one run. Both offsets are only ever those
   of real elements, so they never overflow. */
static void copy_elements(const pb_buffer *view, char order, char *block, int64_t count,
                          int to_block)
{
    int64_t strides_c[PB_MAX_NDIM];
    const int64_t *strides = view->strides;
    if (strides == NULL) {
        c_strides(view, strides_c);
        strides = strides_c;
    }
    copy_plan plan;
    plan_copy(view, strides, order, to_block, &plan);

    int inner = plan.ndim - 1;
    int64_t index[PB_MAX_NDIM] = {0};
    int64_t view_offset = 0;
    int64_t block_offset = 0;
    while (count > 0) {
        int64_t run = plan.shape[inner] < count ? plan.shape[inner] : count;
        copy_run((char *)view->buf + view_offset, plan.view_strides[inner], block + block_offset,
                 plan.block_strides[inner], view->itemsize, run, to_block);
        count -= run;
        for (int axis = inner - 1; axis >= 0 && count > 0; axis--) {
            if (++index[axis] < plan.shape[axis]) {
                view_offset += plan.view_strides[axis];
                block_offset += plan.block_strides[axis];
                break;
            }
            view_offset -= plan.view_strides[axis] * (plan.shape[axis] - 1);
            block_offset -= plan.block_strides[axis] * (plan.shape[axis] - 1);
            index[axis] = 0;
        }
    }
}

/* As in CPython (which uses memcpy too), the contiguous block must not
   overlap the view's memory. */
PB_PUBLIC int pb_to_contiguous(void *dst, const pb_buffer *src, int64_t len, char order)
{
    if (src == NULL) {
        return PB_EINVAL;
    }
    int rc = pb_validate(src);
    if (rc != PB_OK) {
        return rc;
    }
    if (!is_order(order)) {
        return PB_EINVAL;
    }
    if (len != src->len) {
        return PB_ELEN;
    }
    if (len == 0) {
        return PB_OK;
    }
    if (dst == NULL) {
        return PB_EINVAL;
    }
    if (pb_is_contiguous(src, order) == 1) {
        memcpy(dst, src->buf, (size_t)len);
        return PB_OK;
    }
    /* As CPython: 'A' of a view contiguous in neither order means 'C'. */
    copy_elements(src, order == 'F' ? 'F' : 'C', dst, len / src->itemsize, 1);
    return PB_OK;
}

PB_PUBLIC int pb_from_contiguous(const pb_buffer *view, const void *src, int64_t len, char order)
{
    if (view == NULL) {
        return PB_EINVAL;
    }
    int rc = pb_validate(view);
    if (rc != PB_OK) {
        return rc;
    }
    if (view->readonly) {
        return PB_EREADONLY;
    }
    if (!is_order(order) || len < 0) {
        return PB_EINVAL;
    }
    if (len > view->len) {
        len = view->len;
    }
    if (len == 0) {
        return PB_OK;
    }
    if (src == NULL) {
        return PB_EINVAL;
    }
    /* CPython's quirk, kept: a contiguous view receives all len bytes (a
       trailing partial element included); a strided one receives whole
       elements only. */
    if (pb_is_contiguous(view, order) == 1) {
        memcpy(view->buf, src, (size_t)len);
        return PB_OK;
    }
    /* copy_elements only reads the block when to_block is 0. */
    copy_elements(view, order == 'F' ? 'F' : 'C', (char *)src, len / view->itemsize, 0);
    return PB_OK;
}

/* ------------------------------------------------------------------------ */
/* format sizes (Python's struct.calcsize, plus PEP 3118 records)           */
/* ------------------------------------------------------------------------ */
/*
 * Grammar accepted (whitespace = " \t\n\r\v\f"):
 *
 *   format := ws* item (ws* item)* ws*
 *   item   := [ '(' dim (',' dim)* ')' ] [ order ws* ] [ count ] body [ ':' name ':' ]
 *   body   := code | 'T{' ws* (item ws*)* '}'
 *   order  := '@' | '=' | '<' | '>' | '!' | '^'
 *   code   := one of  x c b B ? h H i I l L q Q n N e f d s p P
 *   name   := any bytes but ':' and NUL
 *
 * Sizes and alignment:
 * - `order` switches the mode for everything that follows, inside and after
 *   records alike (as NumPy reads and writes these strings). The mode
 *   starts as '@'. '@' and '^' use native sizes; '=', '<', '>', '!' use
 *   standard sizes and refuse n, N and P (as struct does).
 * - In '@' mode each item starts at a multiple of its native alignment
 *   ('x', 'c', 's', 'p' align to 1), also when its count is 0 ("b0i" is 4).
 *   No other mode aligns.
 * - `count` repeats the item; for 's' and 'p' it is the byte length, for
 *   'x' the number of pad bytes. A '(d0,d1,...)' sub-array multiplies it.
 * - A record T{...} is laid out from offset 0. Its alignment is the largest
 *   alignment of the items placed in '@' mode inside it. When the mode in
 *   effect at its closing brace is '@', its size is rounded up to that
 *   alignment and it is placed at a multiple of it, as a C compiler lays out
 *   a nested struct; in other modes neither happens. This is the rule of
 *   NumPy's PEP 3118 reader, and it yields NumPy's itemsize for the records
 *   NumPy exports: aligned ones ("T{i:b:B:a:}" is 8, NumPy writes no trailing
 *   padding) and packed ones ("T{B:a:=i:b:}" is 5).
 * - The top level is struct.calcsize's sequence: no trailing padding
 *   ("ib" is 5, "T{ib}" is 8).
 * Errors: PB_EFORMAT for an empty string (or one with no item), an unknown
 * code, a dangling order character, a count or sub-array without a code,
 * an unclosed 'T{' or '(', a stray '}', an unterminated ':name', records
 * nested deeper than PB_FORMAT_MAX_DEPTH, or anything else left over;
 * PB_EOVERFLOW when a count, a sub-array or the size passes INT64_MAX.
 */

typedef struct {
    char code;
    unsigned char native_size;
    unsigned char native_align;
    unsigned char standard_size; /* 0: the code has no standard size */
} format_code;

/* Native alignment is the C11 _Alignof of the type, which on the LP64
   platforms panbuf builds for equals its alignment inside a struct (what
   struct.calcsize uses). 'e' is a 16-bit float, aligned as a short. */
#define PB_NATIVE(T) (unsigned char)sizeof(T), (unsigned char)_Alignof(T)
static const format_code FORMAT_CODES[] = {
    {'x', 1, 1, 1},
    {'c', PB_NATIVE(char), 1},
    {'b', PB_NATIVE(signed char), 1},
    {'B', PB_NATIVE(unsigned char), 1},
    {'?', PB_NATIVE(_Bool), 1},
    {'h', PB_NATIVE(short), 2},
    {'H', PB_NATIVE(unsigned short), 2},
    {'i', PB_NATIVE(int), 4},
    {'I', PB_NATIVE(unsigned int), 4},
    {'l', PB_NATIVE(long), 4},
    {'L', PB_NATIVE(unsigned long), 4},
    {'q', PB_NATIVE(long long), 8},
    {'Q', PB_NATIVE(unsigned long long), 8},
    {'n', PB_NATIVE(ptrdiff_t), 0},
    {'N', PB_NATIVE(size_t), 0},
    {'e', 2, (unsigned char)_Alignof(short), 2},
    {'f', PB_NATIVE(float), 4},
    {'d', PB_NATIVE(double), 8},
    {'s', 1, 1, 1},
    {'p', 1, 1, 1},
    {'P', PB_NATIVE(void *), 0},
};
#undef PB_NATIVE

static const format_code *find_format_code(char code)
{
    for (size_t i = 0; i < sizeof FORMAT_CODES / sizeof FORMAT_CODES[0]; i++) {
        if (FORMAT_CODES[i].code == code) {
            return &FORMAT_CODES[i];
        }
    }
    return NULL;
}

static int is_format_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int is_order_char(char c)
{
    return c == '@' || c == '=' || c == '<' || c == '>' || c == '!' || c == '^';
}

/* One record being laid out (the top level is frame 0). */
typedef struct {
    int64_t byte_size; /* bytes laid out so far */
    int64_t align;     /* largest alignment of its '@'-mode items */
    int64_t repeat;    /* how many copies the parent holds (count x sub-array) */
} record_frame;

/* Reads a decimal number at *p into *value and advances *p. */
static int parse_decimal(const char **p, int64_t *value)
{
    int64_t n = 0;
    while (is_digit(**p)) {
        if (__builtin_mul_overflow(n, 10, &n) || __builtin_add_overflow(n, **p - '0', &n)) {
            return PB_EOVERFLOW;
        }
        (*p)++;
    }
    *value = n;
    return PB_OK;
}

/* Places `repeat` items of item_size bytes at the end of `record`. */
static int place_item(record_frame *record, int64_t item_size, int64_t item_align, int64_t repeat,
                      char mode)
{
    if (mode == '@') {
        int64_t misalign = record->byte_size % item_align;
        if (misalign != 0 &&
            __builtin_add_overflow(record->byte_size, item_align - misalign, &record->byte_size)) {
            return PB_EOVERFLOW;
        }
        if (item_align > record->align) {
            record->align = item_align;
        }
    }
    int64_t bytes;
    if (__builtin_mul_overflow(item_size, repeat, &bytes) ||
        __builtin_add_overflow(record->byte_size, bytes, &record->byte_size)) {
        return PB_EOVERFLOW;
    }
    return PB_OK;
}

/* Skips an optional ":name:" after an item. */
static int skip_field_name(const char **p)
{
    if (**p != ':') {
        return PB_OK;
    }
    const char *end = *p + 1;
    while (*end != ':') {
        if (*end == '\0') {
            return PB_EFORMAT;
        }
        end++;
    }
    *p = end + 1;
    return PB_OK;
}

/* Multiplies *repeat by the sub-array shape "(d0,d1,...)" at *p. */
static int parse_subarray(const char **p, int64_t *repeat)
{
    (*p)++; /* '(' */
    for (;;) {
        if (!is_digit(**p)) {
            return PB_EFORMAT;
        }
        int64_t dim;
        int rc = parse_decimal(p, &dim);
        if (rc != PB_OK) {
            return rc;
        }
        if (__builtin_mul_overflow(*repeat, dim, repeat)) {
            return PB_EOVERFLOW;
        }
        if (**p == ')') {
            (*p)++;
            return PB_OK;
        }
        if (**p != ',') {
            return PB_EFORMAT;
        }
        (*p)++;
    }
}

PB_PUBLIC int64_t pb_size_from_format(const char *format)
{
    if (format == NULL) {
        return PB_EINVAL;
    }
    record_frame frames[PB_FORMAT_MAX_DEPTH + 1];
    int depth = 0;
    frames[0] = (record_frame){.byte_size = 0, .align = 1, .repeat = 1};
    char mode = '@';
    int64_t item_count = 0;
    const char *p = format;
    int rc;

    for (;;) {
        while (is_format_space(*p)) {
            p++;
        }
        if (*p == '\0') {
            break;
        }
        if (*p == '}') {
            if (depth == 0) {
                return PB_EFORMAT;
            }
            p++;
            record_frame record = frames[depth--];
            /* Mode at the closing brace decides, as in NumPy's reader. */
            if (mode == '@' && record.byte_size % record.align != 0 &&
                __builtin_add_overflow(record.byte_size,
                                       record.align - record.byte_size % record.align,
                                       &record.byte_size)) {
                return PB_EOVERFLOW;
            }
            rc = place_item(&frames[depth], record.byte_size, record.align, record.repeat, mode);
            if (rc == PB_OK) {
                rc = skip_field_name(&p);
            }
            if (rc != PB_OK) {
                return rc;
            }
            continue;
        }

        int64_t repeat = 1;
        if (*p == '(') {
            rc = parse_subarray(&p, &repeat);
            if (rc != PB_OK) {
                return rc;
            }
        }
        if (is_order_char(*p)) {
            mode = *p == '!' ? '>' : *p;
            p++;
            while (is_format_space(*p)) {
                p++;
            }
        }
        if (is_digit(*p)) {
            int64_t count;
            rc = parse_decimal(&p, &count);
            if (rc != PB_OK) {
                return rc;
            }
            if (__builtin_mul_overflow(repeat, count, &repeat)) {
                return PB_EOVERFLOW;
            }
        }
        item_count++;
        if (p[0] == 'T' && p[1] == '{') {
            if (depth == PB_FORMAT_MAX_DEPTH) {
                return PB_EFORMAT;
            }
            p += 2;
            frames[++depth] = (record_frame){.byte_size = 0, .align = 1, .repeat = repeat};
            continue;
        }
        const format_code *code = *p != '\0' ? find_format_code(*p) : NULL;
        if (code == NULL) {
            return PB_EFORMAT; /* unknown code, or a count/order/sub-array without one */
        }
        int native = mode == '@' || mode == '^';
        if (!native && code->standard_size == 0) {
            return PB_EFORMAT; /* n, N, P have no standard size */
        }
        p++;
        rc = place_item(&frames[depth], native ? code->native_size : code->standard_size,
                        code->native_align, repeat, mode);
        if (rc == PB_OK) {
            rc = skip_field_name(&p);
        }
        if (rc != PB_OK) {
            return rc;
        }
    }
    if (depth != 0 || item_count == 0) {
        return PB_EFORMAT; /* unclosed T{, or nothing but whitespace/order */
    }
    return frames[0].byte_size;
}

/* ------------------------------------------------------------------------ */
/* validation                                                               */
/* ------------------------------------------------------------------------ */

/* Checks that [buf + lowest, buf + highest) lies in [base, base + base_len),
   where lowest/highest are the offsets reached through negative and positive
   strides. Addresses are compared as integers: the pointers may belong to
   unrelated objects when the view is wrong. */
static int check_reach(const pb_buffer *view)
{
    if (view->base_len < 0) {
        return PB_EBOUNDS;
    }
    if (view->base == NULL && view->base_len > 0) {
        return PB_ENULL;
    }
    if (view->len == 0) {
        return PB_OK; /* a zero-length axis: the view reaches no byte */
    }
    if (view->buf == NULL || view->base == NULL) {
        return PB_ENULL;
    }

    int64_t lowest = 0;                 /* <= 0 */
    int64_t highest = view->itemsize;   /* > 0, one past the last byte */
    if (view->strides == NULL) {
        highest = view->len;
    } else {
        for (int axis = 0; axis < view->ndim; axis++) {
            int64_t span;
            if (__builtin_mul_overflow(view->strides[axis], view->shape[axis] - 1, &span)) {
                return PB_EOVERFLOW;
            }
            if (span < 0 ? __builtin_add_overflow(lowest, span, &lowest)
                         : __builtin_add_overflow(highest, span, &highest)) {
                return PB_EOVERFLOW;
            }
        }
    }

    uintptr_t buf_addr = (uintptr_t)view->buf;
    uintptr_t base_addr = (uintptr_t)view->base;
    if (base_addr + (uint64_t)view->base_len < base_addr) {
        return PB_EBOUNDS; /* the allocation would wrap the address space */
    }
    if (buf_addr < base_addr || buf_addr - base_addr >= (uint64_t)view->base_len) {
        return PB_EBOUNDS; /* element [0,...,0] itself is outside */
    }
    int64_t buf_offset = (int64_t)(buf_addr - base_addr); /* in [0, base_len) */
    int64_t end;
    if (buf_offset + lowest < 0 || __builtin_add_overflow(buf_offset, highest, &end) ||
        end > view->base_len) {
        return PB_EBOUNDS;
    }
    return PB_OK;
}

PB_PUBLIC int pb_validate(const pb_buffer *view)
{
    if (view == NULL) {
        return PB_EINVAL;
    }
    int rc = check_live(view);
    if (rc != PB_OK) {
        return rc;
    }
    if (view->abi_version == 0 || view->abi_version > PB_ABI_VERSION) {
        return PB_EABI;
    }
    if (view->ndim < 0 || view->ndim > PB_MAX_NDIM) {
        return PB_ENDIM;
    }
    if (view->ndim > 0 && view->shape == NULL) {
        return PB_ESHAPE;
    }
    for (int axis = 0; axis < view->ndim; axis++) {
        if (view->shape[axis] < 0) {
            return PB_ESHAPE;
        }
    }
    if (view->itemsize <= 0) {
        return PB_EITEMSIZE;
    }
    int64_t format_size = pb_size_from_format(view->format != NULL ? view->format : "B");
    if (format_size != view->itemsize) {
        return PB_EFORMAT; /* also when the format is invalid (< 0) */
    }
    /* A zero-length axis makes the product 0 whatever the other axes are. */
    int64_t byte_len = view->itemsize;
    int overflowed = 0;
    for (int axis = 0; axis < view->ndim; axis++) {
        if (view->shape[axis] == 0) {
            byte_len = 0;
            overflowed = 0;
            break;
        }
        if (__builtin_mul_overflow(byte_len, view->shape[axis], &byte_len)) {
            overflowed = 1;
        }
    }
    if (overflowed) {
        return PB_EOVERFLOW;
    }
    if (byte_len != view->len) {
        return PB_ELEN;
    }
    if (view->suboffsets != NULL) {
        return PB_ESUBOFFSETS;
    }
    return check_reach(view);
}

/* ------------------------------------------------------------------------ */
/* release and export                                                       */
/* ------------------------------------------------------------------------ */

PB_PUBLIC void pb_release(pb_buffer *view)
{
    if (view == NULL) {
        return;
    }
    uint32_t expected = PB_MAGIC_LIVE;
    /* Only the caller that wins the swap calls back, so concurrent and
       repeated releases call `release` exactly once. */
    if (__atomic_compare_exchange_n(&view->magic, &expected, PB_MAGIC_RELEASED, 0,
                                    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
        if (view->release != NULL) {
            view->release(view);
        }
    }
}

/* The release callback of blocks from pb_export_alloc(): tells the producer
   (through *state) that the consumer is done, then frees the block. The
   store is a release so the producer's acquire-load of 1 also sees every
   write the consumer made through the buffer. */
static void export_release(pb_buffer *self)
{
    int32_t *state = self->internal;
    if (state != NULL) {
        __atomic_store_n(state, 1, __ATOMIC_RELEASE);
    }
    free(self);
}

PB_PUBLIC pb_buffer *pb_export_alloc(int32_t ndim, int64_t format_len, int32_t *state)
{
    if (ndim < 0 || ndim > PB_MAX_NDIM || format_len < 0 || format_len > PB_FORMAT_MAX_LEN) {
        return NULL;
    }
    size_t array_bytes = (size_t)ndim * sizeof(int64_t);
    size_t block_bytes = sizeof(pb_buffer) + 2 * array_bytes + (size_t)format_len + 1;
    /* calloc: every field, both arrays and the format (with its NUL) start
       zeroed; magic 0 means "not yet live". */
    char *block = calloc(1, block_bytes);
    if (block == NULL) {
        return NULL;
    }
    pb_buffer *view = (pb_buffer *)(void *)block;
    /* shape and strides are set even for ndim 0 (pointing at empty room), as
       panbuf's exports always carry strides. */
    view->shape = (int64_t *)(void *)(block + sizeof(pb_buffer));
    view->strides = view->shape + ndim;
    view->format = (const char *)(view->strides + ndim);
    view->ndim = ndim;
    view->internal = state;
    view->abi_version = PB_ABI_VERSION;
    view->release = export_release;
    return view;
}

PB_PUBLIC void pb_export_discard(pb_buffer *view)
{
    /* Only for blocks that never became live: a live one may be in a
       consumer's hands and must go through pb_release(). */
    free(view);
}

PB_PUBLIC const char *pb_strerror(int code)
{
    switch (code) {
    case PB_OK: return "success";
    case PB_EINVAL: return "an argument is NULL or out of its domain";
    case PB_ERELEASED: return "operation forbidden on a released pb_buffer";
    case PB_EMAGIC: return "not a pb_buffer: magic is neither live nor released";
    case PB_EABI: return "abi_version is unknown to this libpanbuf (0 or newer)";
    case PB_ENDIM: return "ndim is out of range (0 to 64)";
    case PB_ESHAPE: return "a dimension is negative, or shape is NULL while ndim > 0";
    case PB_EITEMSIZE: return "itemsize is not positive";
    case PB_EFORMAT: return "format is not a valid struct string, or its size is not itemsize";
    case PB_ELEN: return "len is not product(shape) * itemsize, or a length argument does not match";
    case PB_EOVERFLOW: return "a size or extent does not fit in int64_t";
    case PB_EBOUNDS: return "a reachable byte lies outside [base, base + base_len)";
    case PB_ENULL: return "buf or base is NULL while the buffer holds bytes";
    case PB_EREADONLY: return "write to a read-only buffer";
    case PB_ESUBOFFSETS: return "suboffsets is not NULL (indirect buffers are not supported)";
    case PB_ENOMEM: return "the C allocator failed";
    case PB_EDLSTRIDES: return "a byte stride is not a multiple of itemsize (DLPack counts strides in elements)";
    case PB_EDLDTYPE: return "the format has no DLPack data type (one scalar in the platform's byte order)";
    case PB_EARROWTYPE: return "the format has no Arrow type (one integer or float scalar in the platform's byte order)";
    case PB_EARROWLAYOUT: return "not laid out as Arrow needs (1-D with stride == itemsize, or n-d C-contiguous)";
    case PB_EARROWMASK: return "the validity mask is not a 1-D bool view as long as the column";
    case PB_EARROWLENGTH: return "the columns of a record batch differ in length";
    default: return "unknown panbuf error code";
    }
}

PB_PUBLIC int64_t pb_abi_sizeof(void)
{
    return (int64_t)sizeof(pb_buffer);
}

PB_PUBLIC int64_t pb_abi_offsetof(const char *field)
{
    static const struct {
        const char *name;
        size_t offset;
    } FIELDS[] = {
        {"buf", offsetof(pb_buffer, buf)},
        {"obj", offsetof(pb_buffer, obj)},
        {"len", offsetof(pb_buffer, len)},
        {"itemsize", offsetof(pb_buffer, itemsize)},
        {"readonly", offsetof(pb_buffer, readonly)},
        {"ndim", offsetof(pb_buffer, ndim)},
        {"format", offsetof(pb_buffer, format)},
        {"shape", offsetof(pb_buffer, shape)},
        {"strides", offsetof(pb_buffer, strides)},
        {"suboffsets", offsetof(pb_buffer, suboffsets)},
        {"internal", offsetof(pb_buffer, internal)},
        {"magic", offsetof(pb_buffer, magic)},
        {"abi_version", offsetof(pb_buffer, abi_version)},
        {"base", offsetof(pb_buffer, base)},
        {"base_len", offsetof(pb_buffer, base_len)},
        {"release", offsetof(pb_buffer, release)},
    };
    if (field == NULL) {
        return -1;
    }
    for (size_t i = 0; i < sizeof FIELDS / sizeof FIELDS[0]; i++) {
        if (strcmp(FIELDS[i].name, field) == 0) {
            return (int64_t)FIELDS[i].offset;
        }
    }
    return -1;
}
