/*
 * panbuf.h -- the C side of panbuf, the buffer protocol for Java.
 *
 * A pb_buffer describes one n-dimensional, strided, typed view of memory that
 * Java (or another producer) shares with C without copying. Its first fields
 * are laid out exactly as CPython's Py_buffer on LP64 platforms, so code that
 * reads a Py_buffer can read a pb_buffer; the fields after `internal` are
 * panbuf's own and let a consumer check that the buffer is alive and that every
 * byte it can reach lies inside the producer's allocation.
 *
 * Contract (what may change and what may not):
 *   - Fields are never reordered or removed within one PB_ABI_VERSION. A new
 *     field is only ever appended, together with a PB_ABI_VERSION increment.
 *   - Sizes and strides are in bytes and signed (strides may be negative or
 *     zero). Every pointer field that may be NULL says so below.
 *   - Functions return 0 (or a count, or a pointer) on success and a negative
 *     PB_E... code on failure. There is no global error state.
 *   - A pb_buffer is released exactly once, through pb_release(). After the
 *     release the pointer is dangling, exactly as after free(): reading it,
 *     or releasing it again, is a use-after-free.
 *
 * Ownership: the producer owns the struct and everything it points to. The
 * consumer owns nothing; it hands the buffer back with pb_release() when it
 * was given ownership, and must not use it after that.
 *
 * This header needs only <stdint.h> and <stddef.h>, and compiles as C99 and
 * as C++ with -Wall -Wextra -Werror -pedantic.
 */
#ifndef PANBUF_H
#define PANBUF_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Incremented whenever a field is appended to pb_buffer. */
#define PB_ABI_VERSION 1

/* Value of `magic` while the buffer may be used ("PBUF" in ASCII). */
#define PB_MAGIC_LIVE 0x50425546u
/* Value of `magic` once pb_release() has started releasing the buffer. */
#define PB_MAGIC_RELEASED 0x50424458u

/* Largest ndim a pb_buffer may have (CPython's PyBUF_MAX_NDIM is 64). */
#define PB_MAX_NDIM 64

/* Error codes: always negative, never stored globally. pb_strerror() names them. */
#define PB_OK 0
#define PB_EINVAL (-1)      /* an argument is NULL or out of its domain */
#define PB_ERELEASED (-2)   /* the buffer was already released */
#define PB_EMAGIC (-3)      /* `magic` is neither live nor released: not a pb_buffer */
#define PB_EABI (-4)        /* `abi_version` is newer than this library understands */
#define PB_ENDIM (-5)       /* ndim < 0 or ndim > PB_MAX_NDIM */
#define PB_ESHAPE (-6)      /* a dimension is negative, or shape is NULL while ndim > 0 */
#define PB_EITEMSIZE (-7)   /* itemsize <= 0 */
#define PB_EFORMAT (-8)     /* format is not a valid struct string, or its size is not itemsize */
#define PB_ELEN (-9)        /* len != product(shape) * itemsize, or a length argument mismatches */
#define PB_EOVERFLOW (-10)  /* a size or extent does not fit in int64_t */
#define PB_EBOUNDS (-11)    /* a reachable byte lies outside [base, base + base_len) */
#define PB_ENULL (-12)      /* buf or base is NULL while the buffer holds bytes */
#define PB_EREADONLY (-13)  /* a write was asked of a read-only buffer */
#define PB_ESUBOFFSETS (-14) /* suboffsets is not NULL (indirect buffers are not supported) */
#define PB_ENOMEM (-15)     /* the C allocator failed */

/* One strided, typed view of memory. The first 11 fields match Py_buffer. */
typedef struct pb_buffer {
    /* Address of element [0, ..., 0]. NULL only when len == 0. */
    void *buf;
    /* Opaque owner handle of the producer; consumers never touch it. May be NULL. */
    void *obj;
    /* Bytes the view covers: product(shape) * itemsize (not the span of memory). */
    int64_t len;
    /* Bytes of one element; equals pb_size_from_format(format). > 0. */
    int64_t itemsize;
    /* Non-zero when the consumer must not write through buf. */
    int32_t readonly;
    /* Number of dimensions, 0 (a scalar) to PB_MAX_NDIM. */
    int32_t ndim;
    /* PEP 3118 struct string, NUL-terminated, owned by the producer.
       NULL means "B" (unsigned bytes), as in CPython. */
    const char *format;
    /* ndim sizes, owned by the producer. NULL only when ndim == 0. */
    int64_t *shape;
    /* ndim byte strides, owned by the producer; negative and zero allowed.
       NULL means C-contiguous (as in CPython); panbuf's exports always set it. */
    int64_t *strides;
    /* Always NULL: indirect (PIL-style) buffers are not supported. */
    int64_t *suboffsets;
    /* Private to the producer. */
    void *internal;

    /* -- panbuf fields (not in Py_buffer) -- */

    /* PB_MAGIC_LIVE while usable, PB_MAGIC_RELEASED once released. */
    uint32_t magic;
    /* PB_ABI_VERSION of the producer. */
    uint32_t abi_version;
    /* Start of the producer's whole allocation: every byte the view can reach
       lies in [base, base + base_len). NULL only when base_len == 0. */
    void *base;
    /* Length of the allocation in bytes, >= 0. */
    int64_t base_len;
    /* Called exactly once, by pb_release(), to hand the buffer back to its
       producer. May be called from any thread. Consumers never call it directly. */
    void (*release)(struct pb_buffer *self);
} pb_buffer;

/* ---- consumer functions (CPython's buffer C-API, int64_t for Py_ssize_t) ---- */

/* 1 when the view is contiguous in `order` ('C' row-major, 'F' column-major,
   'A' either), 0 when not (or when order is not one of these),
   a negative PB_E... code when the buffer is NULL or released.
   Like CPython, a view with len == 0 is contiguous in every order. */
int pb_is_contiguous(const pb_buffer *view, char order);

/* Address of the element at indices[0..ndim-1]. NULL when the view is NULL or
   released, indices is NULL while ndim > 0, or an index is out of range
   (CPython does not check ranges; panbuf does). */
void *pb_get_pointer(const pb_buffer *view, const int64_t *indices);

/* Copies the len bytes of src into dst, laid out contiguously in `order`
   ('C', 'F', or 'A' meaning C). len must equal src->len. Returns 0 or a
   negative PB_E... code; dst is untouched on error. */
int pb_to_contiguous(void *dst, const pb_buffer *src, int64_t len, char order);

/* Copies up to len bytes from the contiguous block src (in `order`) into the
   elements of view; len larger than view->len is clamped, as in CPython.
   Refuses read-only and released views. Returns 0 or a negative PB_E... code;
   the view is untouched on error. */
int pb_from_contiguous(const pb_buffer *view, const void *src, int64_t len, char order);

/* Fills strides[0..ndim-1] with the contiguous strides for shape and itemsize,
   Fortran order when order == 'F', C order otherwise (as in CPython). */
void pb_fill_contiguous_strides(int ndim, const int64_t *shape, int64_t *strides,
                                int64_t itemsize, char order);

/* Size in bytes of one item described by a PEP 3118 struct string, as Python's
   struct.calcsize computes it, extended with T{...} records and :name: fields.
   Negative PB_EFORMAT (or PB_EOVERFLOW) when the string is invalid. */
int64_t pb_size_from_format(const char *format);

/* 0 when view is a live pb_buffer whose every field is consistent: live magic,
   a known abi_version, 0 <= ndim <= PB_MAX_NDIM, shape present, dimensions
   >= 0, itemsize > 0 and equal to the format's size, len == product(shape) *
   itemsize, no suboffsets, and every byte the view can reach (through positive,
   negative and zero strides) inside [base, base + base_len). Otherwise the
   negative PB_E... code of the first problem found. */
int pb_validate(const pb_buffer *view);

/* Releases the buffer exactly once: marks it PB_MAGIC_RELEASED and calls its
   release callback. Does nothing when view is NULL or not live. */
void pb_release(pb_buffer *view);

/* Static description of a PB_E... code; never NULL. */
const char *pb_strerror(int code);

/* ---- producer functions ---- */

/* Allocates one block holding a pb_buffer followed by room for ndim shape
   entries, ndim stride entries and a format string of format_len bytes plus its
   NUL. shape, strides and format point into that room, `internal` is set to
   `state`, abi_version and release are set, magic is 0 (not yet live) and
   every other field is zero. The caller fills the fields, then sets magic to
   PB_MAGIC_LIVE. When the buffer is released, *state (if not NULL) is set to 1
   atomically, then the block is freed. NULL when ndim or format_len is out of
   range or memory is exhausted. */
pb_buffer *pb_export_alloc(int32_t ndim, int64_t format_len, int32_t *state);

/* Frees a block from pb_export_alloc() that was never made live. */
void pb_export_discard(pb_buffer *view);

/* ---- ABI introspection (lets bindings prove they match this header) ---- */

/* sizeof(pb_buffer). */
int64_t pb_abi_sizeof(void);

/* offsetof(pb_buffer, field) for a field name such as "base_len"; -1 when
   there is no such field. */
int64_t pb_abi_offsetof(const char *field);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* PANBUF_H */
