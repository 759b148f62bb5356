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
   release callback. Does nothing when view is NULL, and calls that race on one
   live buffer call back once. A call after an earlier one has returned is a
   use-after-free: the release may have freed the struct (a panbuf export's
   release frees it, and malloc may hand its address to a new export). */
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

/* ---- strided copies ---- */

/* Copies every element of an ndim-dimensional strided view of src into the
   same index of a strided view of dst: element i0..i(ndim-1) is itemsize
   bytes at byte src_offset + sum(i_k * src_strides[k]) of src, and goes to
   dst_offset + sum(i_k * dst_strides[k]) of dst. Strides are in bytes and may
   be negative (reversed axes) or zero (a broadcast source). When swap is
   nonzero each element's bytes are reversed on the way (a byte-order change;
   itemsize 1, 2, 4, 8 or 16). Any axis order is correct; the copy is fastest
   with the axes sorted by destination stride, largest first, all destination
   strides >= 0, and the destination's fastest axis last.
   src_len and dst_len are the sizes in bytes of the two memories: every byte
   either view reaches must lie in [0, len) of its memory, which is checked
   before anything is written. The two regions must not overlap (as memcpy).
   Returns 0, or PB_EINVAL (ndim outside 0..PB_MAX_NDIM, a negative len, a
   NULL pointer where elements are to be copied), PB_EITEMSIZE (itemsize <= 0,
   or swap with an itemsize other than those), PB_ESHAPE (a negative dimension), PB_EOVERFLOW or
   PB_EBOUNDS (a view reaches outside its memory); on error nothing is written.
   A shape with a 0 copies nothing and returns 0. */
int pb_copy_strided(void *dst, int64_t dst_len, int64_t dst_offset, const int64_t *dst_strides,
                    const void *src, int64_t src_len, int64_t src_offset, const int64_t *src_strides,
                    int32_t ndim, const int64_t *shape, int64_t itemsize, int32_t swap);

/* ======================================================================== */
/* DLPack                                                                   */
/* ======================================================================== */
/*
 * DLPack (https://github.com/dmlc/dlpack) is the tensor-exchange ABI of
 * PyTorch, JAX, CuPy, NumPy and others. The types below are laid out exactly
 * as DLPack 1.x lays out its own (DLPackVersion, DLDevice, DLDataType,
 * DLTensor, DLManagedTensor, DLManagedTensorVersioned) on every platform
 * panbuf builds on, under pb_dl_ names so that one file may include both this
 * header and dlpack.h: a pointer to one is a pointer to the other
 * (native/test/test_dlpack.c checks each offset against dlpack.h when that
 * header is installed).
 *
 * What DLPack's ABI promises: a major version change may change the layout
 * after `flags`; a minor change only adds enumeration values and flag bits.
 * A consumer that meets another major version must not read past `flags`,
 * but may (and must) still call the deleter.
 *
 * Ownership: a managed tensor belongs to its consumer from the moment the
 * producer hands it over; the consumer calls `deleter(self)` exactly once
 * when done (NULL deleter: nothing to do), and the deleter frees the struct
 * itself. data, shape and strides stay valid until then.
 */

/* The DLPack ABI version these types follow, and that panbuf's exports carry. */
#define PB_DL_MAJOR_VERSION 1
#define PB_DL_MINOR_VERSION 1

/* pb_dl_device.device_type values that are ordinary host memory: plain CPU
   memory, and memory pinned or managed by a GPU runtime that the CPU may
   read and write directly. Other device types are not addressable here. */
#define PB_DL_CPU 1
#define PB_DL_CUDA_HOST 3
#define PB_DL_ROCM_HOST 11
#define PB_DL_CUDA_MANAGED 13

/* pb_dl_data_type.code values. */
#define PB_DL_INT 0
#define PB_DL_UINT 1
#define PB_DL_FLOAT 2
#define PB_DL_OPAQUE_HANDLE 3
#define PB_DL_BFLOAT 4
#define PB_DL_COMPLEX 5
#define PB_DL_BOOL 6

/* pb_dl_managed_tensor_versioned.flags bits. */
#define PB_DL_FLAG_READ_ONLY 1u    /* the consumer must not write through data */
#define PB_DL_FLAG_IS_COPIED 2u    /* the producer made a copy the consumer owns alone */
#define PB_DL_FLAG_SUBBYTE_PADDED 4u /* sub-byte elements are padded to bytes (1.1) */

/* Error codes of the DLPack functions: negative like every PB_E... code,
   from -32 down, so the core list can grow without meeting them. */
#define PB_EDLSTRIDES (-32) /* a byte stride is not a multiple of itemsize: DLPack counts in elements */
#define PB_EDLDTYPE (-33)   /* the format has no DLPack data type (records, bytes, other byte order) */

/* DLPackVersion: the ABI version of one managed tensor. */
typedef struct pb_dl_version {
    uint32_t major;
    uint32_t minor;
} pb_dl_version;

/* DLDevice: where the data lives. device_type is one of DLPack's device
   codes (an int-sized enum in dlpack.h); device_id is 0 for host memory. */
typedef struct pb_dl_device {
    int32_t device_type;
    int32_t device_id;
} pb_dl_device;

/* DLDataType: an element is `lanes` values of `bits` bits of kind `code`,
   in the platform's byte order. bool is code PB_DL_BOOL with 8 bits. */
typedef struct pb_dl_data_type {
    uint8_t code;
    uint8_t bits;
    uint16_t lanes;
} pb_dl_data_type;

/* DLTensor: a strided view. Element [i0, ..., in] is at
   (char *)data + byte_offset + sum(i_k * strides[k]) * (bits * lanes / 8). */
typedef struct pb_dl_tensor {
    /* Start of the data; NULL is allowed when the tensor has no elements. */
    void *data;
    pb_dl_device device;
    /* Number of dimensions, >= 0. */
    int32_t ndim;
    pb_dl_data_type dtype;
    /* ndim sizes; may be NULL only when ndim == 0. Owned by the producer. */
    int64_t *shape;
    /* ndim strides in ELEMENTS (not bytes), negative and zero allowed; NULL
       means compact row-major (DLPack before 1.0 only). Owned by the producer. */
    int64_t *strides;
    /* Bytes from data to element [0, ..., 0]. */
    uint64_t byte_offset;
} pb_dl_tensor;

/* DLManagedTensor: the legacy (pre-1.0, unversioned) managed tensor that
   Python capsules named "dltensor" carry. */
typedef struct pb_dl_managed_tensor {
    pb_dl_tensor dl_tensor;
    /* Private to the producer; may be NULL. */
    void *manager_ctx;
    /* Called once by the consumer; frees self. May be NULL. */
    void (*deleter)(struct pb_dl_managed_tensor *self);
} pb_dl_managed_tensor;

/* DLManagedTensorVersioned: the managed tensor of DLPack 1.x (capsules named
   "dltensor_versioned"). Everything up to and including `flags` keeps its
   place in every future major version. */
typedef struct pb_dl_managed_tensor_versioned {
    pb_dl_version version;
    /* Private to the producer; may be NULL. */
    void *manager_ctx;
    /* Called once by the consumer; frees self. May be NULL. */
    void (*deleter)(struct pb_dl_managed_tensor_versioned *self);
    /* PB_DL_FLAG_... bits; unknown bits are to be ignored. */
    uint64_t flags;
    pb_dl_tensor dl_tensor;
} pb_dl_managed_tensor_versioned;

/* Exports a live pb_buffer as a DLPack 1.x managed tensor over the same
   memory (no copy): version {PB_DL_MAJOR_VERSION, PB_DL_MINOR_VERSION},
   device CPU, the data type of view->format, strides in elements,
   PB_DL_FLAG_READ_ONLY when view->readonly. On success *out owns the duty to
   release `view`: its deleter frees the tensor, stores 1 into *state (when
   not NULL, with release ordering, as pb_export_alloc does), and then calls
   pb_release(view); the caller must not release `view` itself. On error
   *out is untouched and so is `view`. Errors: PB_EINVAL (NULL argument),
   any pb_validate() code, PB_EDLDTYPE (a format that is not one scalar in
   the platform's byte order), PB_EDLSTRIDES, PB_ENOMEM. */
int pb_dlpack_export(pb_buffer *view, int32_t *state, pb_dl_managed_tensor_versioned **out);

/* As pb_dlpack_export(), as a legacy (unversioned) managed tensor. The
   legacy struct cannot say "read-only", so a read-only view is refused
   with PB_EREADONLY. */
int pb_dlpack_export_legacy(pb_buffer *view, int32_t *state, pb_dl_managed_tensor **out);

/* Hands a managed tensor back to its producer: calls tensor->deleter(tensor)
   when both are not NULL. Exactly once per tensor; the struct is gone after. */
void pb_dlpack_delete(pb_dl_managed_tensor_versioned *tensor);

/* pb_dlpack_delete() for a legacy managed tensor. */
void pb_dlpack_delete_legacy(pb_dl_managed_tensor *tensor);

/* The DLPack data type of a PEP 3118 format holding one scalar ('?', 'b',
   'B', 'h', 'H', 'i', 'I', 'l', 'L', 'q', 'Q', 'n', 'N', 'e', 'f', 'd',
   'Zf', 'Zd', optionally after a byte-order character that means the
   platform's order) whose size is itemsize. 0, or PB_EINVAL / PB_EDLDTYPE. */
int pb_dlpack_data_type(const char *format, int64_t itemsize, pb_dl_data_type *out);

/* sizeof of a DLPack struct named as above ("pb_dl_tensor", ...); -1 for an
   unknown name. */
int64_t pb_dlpack_abi_sizeof(const char *type);

/* offsetof(type, field) for the DLPack structs ("pb_dl_tensor", "strides");
   -1 for an unknown type or field. */
int64_t pb_dlpack_abi_offsetof(const char *type, const char *field);

/* ======================================================================== */
/* Arrow C data interface and C stream interface                            */
/* ======================================================================== */
/*
 * The Arrow C data interface is how the columnar world (Arrow C++, pyarrow,
 * Arrow Java, DuckDB, Polars, DataFusion) shares arrays in one process. The
 * three structs below follow its specification field for field (the ABI is
 * the layout; the names are Arrow's), inside the include guards that the
 * specification gives, so that this header and any other copy of the
 * definitions (Arrow's abi.h, nanoarrow) may be included in one file.
 *
 * Ownership (the specification's rules, which panbuf's exports follow):
 *   - The consumer allocates the base struct; the producer fills it and owns
 *     everything it points to (buffers, children, strings, private_data).
 *   - The consumer calls `release(self)` exactly once, when done. The
 *     release of a parent releases every child whose `release` is not NULL,
 *     and leaves `release` NULL: a struct whose release is NULL is released.
 *   - A consumer may move a struct: copy it bitwise, then set the source's
 *     `release` to NULL. A child may be moved out the same way, after which
 *     the parent must be released at once.
 *   - release may be called from any thread.
 */

#ifndef ARROW_C_DATA_INTERFACE
#define ARROW_C_DATA_INTERFACE

#define ARROW_FLAG_DICTIONARY_ORDERED 1
#define ARROW_FLAG_NULLABLE 2
#define ARROW_FLAG_MAP_KEYS_SORTED 4

/* The type of an array: a format string, an optional field name, optional
   metadata (binary: int32 count, then per pair int32 length + key bytes and
   int32 length + value bytes, native byte order), flags and child types. */
struct ArrowSchema {
    const char *format;
    const char *name;
    const char *metadata;
    int64_t flags;
    int64_t n_children;
    struct ArrowSchema **children;
    struct ArrowSchema *dictionary;
    void (*release)(struct ArrowSchema *);
    void *private_data;
};

/* The data of an array: `length` logical elements starting `offset` elements
   into its buffers (buffers[0] is the validity bitmap, NULL when no element
   is null), `null_count` of them null (-1: not computed). */
struct ArrowArray {
    int64_t length;
    int64_t null_count;
    int64_t offset;
    int64_t n_buffers;
    int64_t n_children;
    const void **buffers;
    struct ArrowArray **children;
    struct ArrowArray *dictionary;
    void (*release)(struct ArrowArray *);
    void *private_data;
};

#endif /* ARROW_C_DATA_INTERFACE */

#ifndef ARROW_C_STREAM_INTERFACE
#define ARROW_C_STREAM_INTERFACE

/* A producer of record batches of one schema. get_schema and get_next return
   0 or an errno value; get_next signals the end with out->release == NULL;
   get_last_error describes the last error (valid until the next call, may be
   NULL). The stream itself is released once through `release`. */
struct ArrowArrayStream {
    int (*get_schema)(struct ArrowArrayStream *, struct ArrowSchema *out);
    int (*get_next)(struct ArrowArrayStream *, struct ArrowArray *out);
    const char *(*get_last_error)(struct ArrowArrayStream *);
    void (*release)(struct ArrowArrayStream *);
    void *private_data;
};

#endif /* ARROW_C_STREAM_INTERFACE */

/* Error codes of the Arrow functions, from -40 down. */
#define PB_EARROWTYPE (-40)   /* the format has no Arrow type: records, bytes, bool, complex, or not native order */
#define PB_EARROWLAYOUT (-41) /* not laid out as Arrow needs: 1-D with stride == itemsize, or n-d C-contiguous */
#define PB_EARROWMASK (-42)   /* the validity mask is not a 1-D bool ('?') view as long as the column */
#define PB_EARROWLENGTH (-43) /* the columns of a record batch differ in length (shape[0]) */

/* The Arrow format string of a PEP 3118 format holding one integer or float
   scalar (b B h H i I l L q Q n N e f d, optionally after a byte-order
   character meaning the platform's order) whose size is itemsize: one of
   "c" "C" "s" "S" "i" "I" "l" "L" "e" "f" "g", a static string. NULL for
   anything else (bool, complex, records, bytes, the other byte order). */
const char *pb_arrow_format(const char *format, int64_t itemsize);

/* Exports a live pb_buffer as an Arrow array and its type, over the same
   memory (no copy):
     - ndim 1 with stride == itemsize: a primitive array (format from
       pb_arrow_format), length shape[0], offset 0, buffers {validity, data};
     - ndim >= 2, C-contiguous: the canonical extension type
       arrow.fixed_shape_tensor, stored as a fixed-size list "+w:N" of
       N = product(shape[1..]) elements (N <= INT32_MAX) whose one child
       "item" is the primitive array of all shape[0] * N elements; the schema
       carries ARROW:extension:name and ARROW:extension:metadata
       {"shape":[shape[1],...]}; length shape[0].
   mask, when not NULL, is a live 1-D bool view of shape[0] elements (any
   stride): its truth values are packed into a validity bitmap (a copy of
   shape[0] / 8 bytes rounded up, freed with the array) and null_count counts
   its false elements; the field is then flagged ARROW_FLAG_NULLABLE. The mask
   is only read during the call. name (may be NULL: "") is copied.
   out_schema may be NULL (no schema is made). When out_array is NULL, only
   the schema is made and the caller keeps `view`.
   On success out_array owns the duty to release `view`: the release of the
   array piece that holds the data (the child, for a tensor) calls
   pb_release(view), so the caller must not release it itself. On error the
   outputs and `view` are untouched. Errors: PB_EINVAL (NULL view, or both
   outputs NULL), any pb_validate() code, PB_EARROWTYPE, PB_EARROWLAYOUT,
   PB_EARROWMASK, PB_EOVERFLOW, PB_ENOMEM. */
int pb_arrow_export_array(pb_buffer *view, const pb_buffer *mask, const char *name,
                          struct ArrowArray *out_array, struct ArrowSchema *out_schema);

/* Exports n_columns >= 1 live pb_buffers of one length (shape[0]) as one
   record batch: a struct array ("+s", no validity, length shape[0]) whose
   children are the columns as pb_arrow_export_array() makes them, named
   names[i] (names may be NULL: "", "", ...; each may be NULL). masks may be
   NULL, and so may each masks[i]. On success out_array owns the duty to
   release every view; on error nothing changes. When out_array is NULL only
   the schema is made and the caller keeps the views. Errors: those of
   pb_arrow_export_array(), PB_EARROWLENGTH. */
int pb_arrow_export_batch(int64_t n_columns, pb_buffer *const *views, const pb_buffer *const *masks,
                          const char *const *names, struct ArrowArray *out_array,
                          struct ArrowSchema *out_schema);

/* 1 when array was made by pb_arrow_export_array() or pb_arrow_export_batch()
   of this library and is not released, 0 otherwise (NULL included). */
int pb_arrow_is_own(const struct ArrowArray *array);

/* Moves *src into a new malloc'd struct (a bitwise copy, then src->release =
   NULL as the specification describes) and returns it, or NULL when src is
   NULL or released (release == NULL) or memory is exhausted (src is then
   untouched). Release and free the copy with pb_arrow_release_moved(). */
struct ArrowArray *pb_arrow_move_array(struct ArrowArray *src);

/* Calls moved->release(moved) when it is not NULL, then frees the struct
   that pb_arrow_move_array() made. NULL does nothing. */
void pb_arrow_release_moved(struct ArrowArray *moved);

/* Calls the release callback of a producer's struct when it is not NULL
   (a released struct is left alone). NULL does nothing. */
void pb_arrow_release_array(struct ArrowArray *array);
void pb_arrow_release_schema(struct ArrowSchema *schema);
void pb_arrow_release_stream(struct ArrowArrayStream *stream);

/* sizeof of "ArrowSchema", "ArrowArray" or "ArrowArrayStream"; -1 otherwise. */
int64_t pb_arrow_abi_sizeof(const char *type);

/* offsetof(type, field) for the three Arrow structs; -1 for an unknown name. */
int64_t pb_arrow_abi_offsetof(const char *type, const char *field);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* PANBUF_H */
