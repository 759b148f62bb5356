/*
 * pb_copy.c -- pb_copy_strided, the C loop nest behind panbuf's large copies
 * between two native memories.
 *
 * Java's Copier sorts and merges the axes of a copy (destination strides
 * descending and non-negative, neighbours that step as one merged, axes of one
 * element dropped) and hands the result here when both memories are native
 * and the copy is large: FFM keeps a bounds check on every access of a loop
 * whose strides are only known at run time, and these loops have none. The
 * function is correct for any axis order; it is fast for that normalised one.
 *
 * Safety: every byte the two views can reach is proved to lie inside
 * [0, len) of its memory before the first byte is written, with overflow
 * checks, so a wrong argument is an error code, never a stray write.
 *
 * Shapes of the work, by the innermost axis (the last one):
 *   - contiguous on both sides: one memcpy (or a byte-swapping loop) per run;
 *   - the source's fastest axis is another one (a transpose): the plane of
 *     those two axes is walked in tiles of small square blocks, each block
 *     loaded along the source's lines and stored along the destination's;
 *   - otherwise one typed loop per element size: a reversed source
 *     (stride -itemsize), a broadcast one (stride 0), or any strides.
 * Byte swapping is fused into every loop (__builtin_bswap*).
 */
#include "panbuf.h"

#include <stdint.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#include <tmmintrin.h>
#endif

#if defined(__GNUC__) || defined(__clang__)
#define PB_PUBLIC __attribute__((visibility("default")))
/* For the helpers whose element size is a parameter: inlined into each
   caller with a constant size, every branch on it folds away. */
#define PB_INLINE static inline __attribute__((always_inline))
#else
#define PB_PUBLIC
#define PB_INLINE static inline
#endif

typedef unsigned char byte;

/* Square tile edge, in elements, of a transposed plane: a 64 x 64 tile of
   float32 is 16 KiB per side, so the source lines read for one block row are
   still in L1 for the next. */
#define PB_COPY_TILE 64

/* ------------------------------------------------------------------------ */
/* element moves: unaligned loads and stores through memcpy of a constant   */
/* size, which compilers turn into single instructions                      */
/* ------------------------------------------------------------------------ */

typedef struct { uint64_t lo, hi; } pb_u128;

static inline uint16_t ld2(const byte *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static inline uint32_t ld4(const byte *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static inline uint64_t ld8(const byte *p) { uint64_t v; memcpy(&v, p, 8); return v; }
static inline pb_u128 ld16(const byte *p) { pb_u128 v; memcpy(&v, p, 16); return v; }
static inline void st2(byte *p, uint16_t v) { memcpy(p, &v, 2); }
static inline void st4(byte *p, uint32_t v) { memcpy(p, &v, 4); }
static inline void st8(byte *p, uint64_t v) { memcpy(p, &v, 8); }
static inline void st16(byte *p, pb_u128 v) { memcpy(p, &v, 16); }
static inline uint16_t sw2(uint16_t v) { return __builtin_bswap16(v); }
static inline uint32_t sw4(uint32_t v) { return __builtin_bswap32(v); }
static inline uint64_t sw8(uint64_t v) { return __builtin_bswap64(v); }
static inline pb_u128 sw16(pb_u128 v)
{
    pb_u128 r;
    r.lo = __builtin_bswap64(v.hi);
    r.hi = __builtin_bswap64(v.lo);
    return r;
}

/* ------------------------------------------------------------------------ */
/* 16 bytes at a time (SSE2, the x86-64 baseline): byte swaps and reversals */
/* of contiguous runs, which compilers do not vectorize at -O2 by themselves */
/* ------------------------------------------------------------------------ */

#if defined(__SSE2__)
/* Reverses the bytes of each 2-, 4- or 8-byte lane. */
PB_INLINE __m128i swap_lanes(__m128i v, int item)
{
    v = _mm_or_si128(_mm_slli_epi16(v, 8), _mm_srli_epi16(v, 8));
    if (item == 4) {
        v = _mm_shufflehi_epi16(_mm_shufflelo_epi16(v, 0xB1), 0xB1);
    } else if (item == 8) {
        v = _mm_shufflehi_epi16(_mm_shufflelo_epi16(v, 0x1B), 0x1B);
    }
    return v;
}

/* Reverses the order of the 1-, 2-, 4- or 8-byte lanes. */
PB_INLINE __m128i reverse_lanes(__m128i v, int item)
{
    if (item == 1) {
        v = swap_lanes(v, 2);   /* then as 2-byte lanes */
    }
    switch (item) {
    case 8: return _mm_shuffle_epi32(v, 0x4E);
    case 4: return _mm_shuffle_epi32(v, 0x1B);
    default: return _mm_shuffle_epi32(_mm_shufflehi_epi16(_mm_shufflelo_epi16(v, 0x1B), 0x1B), 0x4E);
    }
}
#endif

#if defined(__SSE2__) && (defined(__GNUC__) || defined(__clang__))
#define PB_COPY_SSSE3 1
/* With SSSE3 (checked at run time: the shim's baseline is SSE2) one byte
   shuffle does a reversal, a swap, or both, 16 bytes at a time. With
   `stream`, the destination is 16-byte aligned and written with
   non-temporal stores. The SSE2 shifts and shuffles of swap_lanes cost
   enough to make a 64 MiB swap compute-bound on a 2-core machine (7.4 ms,
   against 4.9 ms with this loop). */
__attribute__((target("ssse3")))
static int64_t run_ssse3(byte *d, const byte *s, int64_t ss, int64_t n, int item, int swap, int stream)
{
    int64_t lanes = 16 / item;
    int64_t k = n - n % lanes;
    /* Byte b of the result is byte pick[b] of the 16 source bytes. */
    char pick[16];
    for (int b = 0; b < 16; b++) {
        int lane = b / item;
        int within = b % item;
        int from_lane = ss < 0 ? (int)lanes - 1 - lane : lane;
        pick[b] = (char)(from_lane * item + (swap ? item - 1 - within : within));
    }
    __m128i mask = _mm_loadu_si128((const __m128i *)(const void *)pick);
    /* Source element of destination element i, for the first of each 16 bytes. */
    int64_t first = ss > 0 ? 0 : -(lanes - 1) * item;
    int64_t step = ss > 0 ? item : -item;
    if (stream) {
        for (int64_t i = 0; i < k; i += lanes) {
            __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s + first + i * step));
            _mm_stream_si128((__m128i *)(void *)(d + i * item), _mm_shuffle_epi8(v, mask));
        }
    } else {
        for (int64_t i = 0; i < k; i += lanes) {
            __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s + first + i * step));
            _mm_storeu_si128((__m128i *)(void *)(d + i * item), _mm_shuffle_epi8(v, mask));
        }
    }
    return k;
}

/* 1 when the processor has SSSE3; asked once (a relaxed race between threads asks twice, harmlessly). */
static int has_ssse3(void)
{
    static int known = -1;
    int v = __atomic_load_n(&known, __ATOMIC_RELAXED);
    if (v < 0) {
        __builtin_cpu_init();
        v = __builtin_cpu_supports("ssse3") ? 1 : 0;
        __atomic_store_n(&known, v, __ATOMIC_RELAXED);
    }
    return v;
}
#endif

/* Elements [0, k) of a run into a contiguous destination, for the source
   steps +item (with a swap) and -item (with or without); returns k, a
   multiple of the lanes in 16 bytes, which the caller's scalar loop finishes.
   0 when this source step or platform has no such loop. */
PB_INLINE int64_t run_simd(byte *d, const byte *s, int64_t ss, int64_t n, int item, int swap)
{
#if defined(__SSE2__)
    int64_t lanes = 16 / item;
    int64_t k = n - n % lanes;
#if defined(PB_COPY_SSSE3)
    if (((ss == item && swap && item > 1) || ss == -item) && has_ssse3()) {
        return run_ssse3(d, s, ss, n, item, swap && item > 1, 0);
    }
#endif
    if (ss == item && swap && item > 1) {
        for (int64_t i = 0; i < k; i += lanes) {
            __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s + i * item));
            _mm_storeu_si128((__m128i *)(void *)(d + i * item), swap_lanes(v, item));
        }
        return k;
    }
    if (ss == -item) {
        /* Destination elements [i, i + lanes) are the source's 16 bytes ending at element -i. */
        for (int64_t i = 0; i < k; i += lanes) {
            __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s - (i + lanes - 1) * item));
            v = reverse_lanes(v, item);
            if (swap && item > 1) {
                v = swap_lanes(v, item);
            }
            _mm_storeu_si128((__m128i *)(void *)(d + i * item), v);
        }
        return k;
    }
#else
    (void)d; (void)s; (void)ss; (void)n; (void)item; (void)swap;
#endif
    return 0;
}

/* ------------------------------------------------------------------------ */
/* one run: n elements, strides in bytes                                    */
/* ------------------------------------------------------------------------ */

/* A run of one element size, with and without the swap. Contiguous
   destinations get their own loops (forwards, reversed, broadcast source),
   whose constant strides the compiler can vectorize. */
#define PB_DEFINE_RUN(N, T, SWAPPED)                                                 \
    static void run##N##_##SWAPPED(byte *d, int64_t ds, const byte *s, int64_t ss,  \
                                   int64_t n)                                        \
    {                                                                                \
        if (ds == N) {                                                               \
            int64_t i0 = N <= 8 ? run_simd(d, s, ss, n, N, SWAPPED) : 0;             \
            if (ss == N) {                                                           \
                for (int64_t i = i0; i < n; i++) {                                   \
                    T v = ld##N(s + i * N);                                          \
                    st##N(d + i * N, SWAPPED ? sw##N(v) : v);                        \
                }                                                                    \
                return;                                                              \
            }                                                                        \
            if (ss == -N) {                                                          \
                for (int64_t i = i0; i < n; i++) {                                   \
                    T v = ld##N(s - i * N);                                          \
                    st##N(d + i * N, SWAPPED ? sw##N(v) : v);                        \
                }                                                                    \
                return;                                                              \
            }                                                                        \
            if (ss == 0) {                                                           \
                T v = ld##N(s);                                                      \
                v = SWAPPED ? sw##N(v) : v;                                          \
                for (int64_t i = 0; i < n; i++) {                                    \
                    st##N(d + i * N, v);                                             \
                }                                                                    \
                return;                                                              \
            }                                                                        \
            for (int64_t i = 0; i < n; i++) {                                        \
                T v = ld##N(s + i * ss);                                             \
                st##N(d + i * N, SWAPPED ? sw##N(v) : v);                            \
            }                                                                        \
            return;                                                                  \
        }                                                                            \
        for (int64_t i = 0; i < n; i++) {                                            \
            T v = ld##N(s + i * ss);                                                 \
            st##N(d + i * ds, SWAPPED ? sw##N(v) : v);                               \
        }                                                                            \
    }

PB_DEFINE_RUN(2, uint16_t, 0)
PB_DEFINE_RUN(2, uint16_t, 1)
PB_DEFINE_RUN(4, uint32_t, 0)
PB_DEFINE_RUN(4, uint32_t, 1)
PB_DEFINE_RUN(8, uint64_t, 0)
PB_DEFINE_RUN(8, uint64_t, 1)
PB_DEFINE_RUN(16, pb_u128, 0)
PB_DEFINE_RUN(16, pb_u128, 1)

static void run1(byte *d, int64_t ds, const byte *s, int64_t ss, int64_t n)
{
    if (ds == 1 && ss == -1) {
        for (int64_t i = run_simd(d, s, ss, n, 1, 0); i < n; i++) {
            d[i] = s[-i];
        }
    } else if (ds == 1 && ss == 0) {
        memset(d, s[0], (size_t)n);
    } else {
        for (int64_t i = 0; i < n; i++) {
            d[i * ds] = s[i * ss];
        }
    }
}

/* Any element size (odd-sized bytes, records in one byte order): moved whole. */
static void run_any(byte *d, int64_t ds, const byte *s, int64_t ss, int64_t n, int64_t item)
{
    for (int64_t i = 0; i < n; i++) {
        memcpy(d + i * ds, s + i * ss, (size_t)item);
    }
}

static void run(byte *d, int64_t ds, const byte *s, int64_t ss, int64_t n, int64_t item, int swap)
{
    if (ds == item && ss == item && !swap) {
        memcpy(d, s, (size_t)(n * item));
        return;
    }
    switch (item) {
    case 1: run1(d, ds, s, ss, n); return;
    case 2: if (swap) run2_1(d, ds, s, ss, n); else run2_0(d, ds, s, ss, n); return;
    case 4: if (swap) run4_1(d, ds, s, ss, n); else run4_0(d, ds, s, ss, n); return;
    case 8: if (swap) run8_1(d, ds, s, ss, n); else run8_0(d, ds, s, ss, n); return;
    case 16: if (swap) run16_1(d, ds, s, ss, n); else run16_0(d, ds, s, ss, n); return;
    default: run_any(d, ds, s, ss, n, item); return;
    }
}

/* ------------------------------------------------------------------------ */
/* streaming runs                                                           */
/* ------------------------------------------------------------------------ */

/* Copies whose destination is at least this large write it with
   non-temporal stores where its runs are contiguous: such a destination does
   not fit in the caches anyway, and a normal store first reads each line it
   will overwrite, which is a third of the memory traffic of a copy. */
#define PB_COPY_STREAM_BYTES ((int64_t)8 << 20)

#if defined(__SSE2__)
/* The 16 bytes of destination elements [i, i + 16 / item) of a run whose
   source steps by item or 0 (then `fill` holds the element, repeated). */
PB_INLINE __m128i stream_load(const byte *s, int64_t ss, int64_t i, int item, int swap, __m128i fill)
{
    if (ss == 0) {
        return fill;
    }
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s + i * item));
    if (swap && item > 1) {
        v = item == 16 ? _mm_shuffle_epi32(swap_lanes(v, 8), 0x4E) : swap_lanes(v, item);
    }
    return v;
}
#endif

/* A run into a contiguous destination with non-temporal stores: the
   elements before the first 16-byte boundary and after the last one go
   through run(); 0 when the run is not of that kind (the caller runs it).
   Source steps: +item and 0 on SSE2; -item (a reversal) only with SSSE3's
   byte shuffle, which also takes swapped runs. */
static int run_stream(byte *d, int64_t ds, const byte *s, int64_t ss, int64_t n, int64_t item, int swap)
{
#if defined(__SSE2__)
#if defined(PB_COPY_SSSE3)
    int shuffle = item <= 8 && ((ss == item && swap && item > 1) || ss == -item) && has_ssse3();
#else
    int shuffle = 0;
#endif
    if (ds != item || (ss != item && ss != 0 && !shuffle) || 16 % item != 0
        || (uintptr_t)d % (uintptr_t)item != 0 || n * item < 256) {
        return 0;
    }
    int64_t head = (int64_t)((16 - (uintptr_t)d % 16) % 16) / item;
    int64_t lanes = 16 / item;
    int64_t body = (n - head) - (n - head) % lanes;
    __m128i fill = _mm_setzero_si128();
    if (ss == 0) {
        byte pattern[16];
        for (int64_t k = 0; k < 16; k += item) {
            memcpy(pattern + k, s, (size_t)item);
        }
        fill = _mm_loadu_si128((const __m128i *)(const void *)pattern);
        if (swap && item > 1) {
            fill = item == 16 ? _mm_shuffle_epi32(swap_lanes(fill, 8), 0x4E) : swap_lanes(fill, (int)item);
        }
    }
    run(d, ds, s, ss, head, item, swap);
    byte *dp = d + head * item;
    const byte *sp = s + head * ss;
#if defined(PB_COPY_SSSE3)
    if (shuffle) {
        int64_t k = run_ssse3(dp, sp, ss, n - head, (int)item, swap && item > 1, 1);
        run(dp + k * item, ds, sp + k * ss, ss, n - head - k, item, swap);
        return 1;
    }
#endif
    for (int64_t i = 0; i < body; i += lanes) {
        _mm_stream_si128((__m128i *)(void *)(dp + i * item), stream_load(sp, ss, i, (int)item, swap, fill));
    }
    run(dp + body * item, ds, sp + body * ss, ss, n - head - body, item, swap);
    return 1;
#else
    (void)d; (void)ds; (void)s; (void)ss; (void)n; (void)item; (void)swap;
    return 0;
#endif
}

/* ------------------------------------------------------------------------ */
/* transposed planes                                                        */
/* ------------------------------------------------------------------------ */

/* A B x B block of one element size: rows r run along the source's fastest
   axis (source step sr, destination step dr), columns c along the
   destination's (source step sc, destination step dc). Loaded along the
   source's lines, stored along the destination's; the fixed trip counts let
   the compiler unroll both loops and keep the block in registers. */
#define PB_DEFINE_BLOCK(N, T, SWAPPED, B)                                                     \
    static void block##N##_##SWAPPED(byte *d, int64_t dr, int64_t dc, const byte *s,         \
                                     int64_t sr, int64_t sc)                                  \
    {                                                                                         \
        T t[B][B];                                                                            \
        for (int c = 0; c < B; c++) {                                                         \
            for (int r = 0; r < B; r++) {                                                     \
                T v = ld##N(s + c * sc + r * sr);                                             \
                t[r][c] = SWAPPED ? sw##N(v) : v;                                             \
            }                                                                                 \
        }                                                                                     \
        for (int r = 0; r < B; r++) {                                                         \
            for (int c = 0; c < B; c++) {                                                     \
                st##N(d + r * dr + c * dc, t[r][c]);                                          \
            }                                                                                 \
        }                                                                                     \
    }

PB_DEFINE_BLOCK(2, uint16_t, 0, 8)
PB_DEFINE_BLOCK(2, uint16_t, 1, 8)
PB_DEFINE_BLOCK(4, uint32_t, 1, 8)
PB_DEFINE_BLOCK(8, uint64_t, 0, 4)
PB_DEFINE_BLOCK(8, uint64_t, 1, 4)

static void block1_0(byte *d, int64_t dr, int64_t dc, const byte *s, int64_t sr, int64_t sc)
{
    byte t[8][8];
    for (int c = 0; c < 8; c++) {
        for (int r = 0; r < 8; r++) {
            t[r][c] = s[c * sc + r * sr];
        }
    }
    for (int r = 0; r < 8; r++) {
        for (int c = 0; c < 8; c++) {
            d[r * dr + c * dc] = t[r][c];
        }
    }
}

/* 4-byte elements without a swap, the common float32 transpose: four 4 x 4
   transposes in SSE2 registers where the block's lines are contiguous on
   both sides (source rows along sr == 4, destination columns along dc == 4),
   the generic block otherwise. */
PB_DEFINE_BLOCK(4, uint32_t, 0, 8)

#if defined(__SSE2__)
static inline void transpose4x4_sse2(byte *d, int64_t dr, const byte *s, int64_t sc)
{
    /* Source lines c = 0..3 each hold rows 0..3; destination lines r hold columns. */
    __m128 a = _mm_loadu_ps((const float *)(const void *)(s));
    __m128 b = _mm_loadu_ps((const float *)(const void *)(s + sc));
    __m128 c = _mm_loadu_ps((const float *)(const void *)(s + 2 * sc));
    __m128 e = _mm_loadu_ps((const float *)(const void *)(s + 3 * sc));
    _MM_TRANSPOSE4_PS(a, b, c, e);
    _mm_storeu_ps((float *)(void *)(d), a);
    _mm_storeu_ps((float *)(void *)(d + dr), b);
    _mm_storeu_ps((float *)(void *)(d + 2 * dr), c);
    _mm_storeu_ps((float *)(void *)(d + 3 * dr), e);
}
#endif

static void block4_0_dense(byte *d, int64_t dr, const byte *s, int64_t sc)
{
#if defined(__SSE2__)
    transpose4x4_sse2(d, dr, s, sc);
    transpose4x4_sse2(d + 16, dr, s + 4 * sc, sc);
    transpose4x4_sse2(d + 4 * dr, dr, s + 16, sc);
    transpose4x4_sse2(d + 4 * dr + 16, dr, s + 4 * sc + 16, sc);
#else
    block4_0(d, dr, 4, s, 4, sc);
#endif
}

#if defined(__SSE2__)
/* 4 rows x 16 columns of float32 for a destination that does not fit in the
   caches: four 4 x 4 register transposes, then each destination row's 64
   bytes, one whole aligned line, written with non-temporal stores. A line
   written whole needs no read of its old contents, and the 8 x 8 blocks
   above write half lines. */
static void block4_0_lines_nt(byte *d, int64_t dr, const byte *s, int64_t sc)
{
    __m128 row[4][4];   /* [destination row][16-byte quarter of its line] */
    for (int q = 0; q < 4; q++) {
        const byte *p = s + 4 * q * sc;
        __m128 a = _mm_loadu_ps((const float *)(const void *)(p));
        __m128 b = _mm_loadu_ps((const float *)(const void *)(p + sc));
        __m128 c = _mm_loadu_ps((const float *)(const void *)(p + 2 * sc));
        __m128 e = _mm_loadu_ps((const float *)(const void *)(p + 3 * sc));
        _MM_TRANSPOSE4_PS(a, b, c, e);
        row[0][q] = a;
        row[1][q] = b;
        row[2][q] = c;
        row[3][q] = e;
    }
    for (int r = 0; r < 4; r++) {
        for (int q = 0; q < 4; q++) {
            _mm_stream_ps((float *)(void *)(d + r * dr + 16 * q), row[r][q]);
        }
    }
}

/* The full blocks of a float32 plane with block4_0_lines_nt, when every
   destination row's lines are 64-byte aligned; 0 when they are not.
   Tile shape, measured on the bench's shapes: where the source's lines lie
   4 KiB or more apart (NCHW -> NHWC, the 4096^2 and (2, 1, 0) transposes),
   16 of them at a time walked a long way, so that the processor's
   prefetchers follow each as a stream;
   where they are close (NHWC -> NCHW, (0, 2, 1)), 64 at a time, so that each
   destination row gets 256 bytes in a row. */
static int plane4_lines_nt(byte *d, int64_t dr, const byte *s, int64_t sc, int64_t rows, int64_t cols)
{
    if ((uintptr_t)d % 64 != 0 || dr % 64 != 0 || rows < 4 || cols < 16) {
        return 0;
    }
    int64_t full_rows = rows - rows % 4;
    int64_t full_cols = cols - cols % 16;
    int64_t tile_rows = sc >= 4096 ? 1024 : 64;
    int64_t tile_cols = sc >= 4096 ? 16 : 64;
    for (int64_t r0 = 0; r0 < full_rows; r0 += tile_rows) {
        int64_t r1 = r0 + tile_rows < full_rows ? r0 + tile_rows : full_rows;
        for (int64_t c0 = 0; c0 < full_cols; c0 += tile_cols) {
            int64_t c1 = c0 + tile_cols < full_cols ? c0 + tile_cols : full_cols;
            for (int64_t r = r0; r < r1; r += 4) {
                for (int64_t c = c0; c < c1; c += 16) {
                    block4_0_lines_nt(d + r * dr + c * 4, dr, s + r * 4 + c * sc, sc);
                }
            }
        }
    }
    /* The edges, as runs along the destination: rows below, then columns right of the full ones. */
    for (int64_t r = full_rows; r < rows; r++) {
        run(d + r * dr, 4, s + r * 4, sc, cols, 4, 0);
    }
    if (full_cols < cols) {
        for (int64_t r = 0; r < full_rows; r++) {
            run(d + r * dr + full_cols * 4, 4, s + r * 4 + full_cols * sc, sc, cols - full_cols, 4, 0);
        }
    }
    return 1;
}
#endif

typedef void (*block_fn)(byte *d, int64_t dr, int64_t dc, const byte *s, int64_t sr, int64_t sc);

/* The block function and edge for an element size; NULL for sizes walked row by row. */
static block_fn block_for(int64_t item, int swap, int *edge)
{
    switch (item) {
    case 1: *edge = 8; return block1_0;   /* a swap of one byte changes nothing */
    case 2: *edge = 8; return swap ? block2_1 : block2_0;
    case 4: *edge = 8; return swap ? block4_1 : block4_0;
    case 8: *edge = 4; return swap ? block8_1 : block8_0;
    default: *edge = 0; return NULL;
    }
}

/* One plane: `rows` along the source's fastest axis, `cols` along the
   destination's. Tiles of PB_COPY_TILE x PB_COPY_TILE, full blocks inside,
   edges as runs along the destination. `stream`: the copy's destination
   does not fit in the caches. */
static void plane(byte *d, int64_t dr, int64_t dc, const byte *s, int64_t sr, int64_t sc,
                  int64_t rows, int64_t cols, int64_t item, int swap, int stream)
{
    int dense4 = item == 4 && !swap && dc == 4 && sr == 4;
#if defined(__SSE2__)
    if (stream && dense4 && plane4_lines_nt(d, dr, s, sc, rows, cols)) {
        return;
    }
#else
    (void)stream;
#endif
    int edge;
    block_fn block = block_for(item, swap, &edge);
    int64_t full_rows = block ? rows - rows % edge : 0;
    int64_t full_cols = block ? cols - cols % edge : 0;
    if (block) {
        for (int64_t r0 = 0; r0 < full_rows; r0 += PB_COPY_TILE) {
            int64_t r1 = r0 + PB_COPY_TILE < full_rows ? r0 + PB_COPY_TILE : full_rows;
            for (int64_t c0 = 0; c0 < full_cols; c0 += PB_COPY_TILE) {
                int64_t c1 = c0 + PB_COPY_TILE < full_cols ? c0 + PB_COPY_TILE : full_cols;
                for (int64_t r = r0; r < r1; r += edge) {
                    for (int64_t c = c0; c < c1; c += edge) {
                        byte *dp = d + r * dr + c * dc;
                        const byte *sp = s + r * sr + c * sc;
                        if (dense4) {
                            block4_0_dense(dp, dr, sp, sc);
                        } else {
                            block(dp, dr, dc, sp, sr, sc);
                        }
                    }
                }
            }
        }
    }
    /* Rows below the full blocks, whole; then the columns right of them, for the full rows. */
    for (int64_t r = full_rows; r < rows; r++) {
        run(d + r * dr, dc, s + r * sr, sc, cols, item, swap);
    }
    if (full_cols < cols) {
        for (int64_t r = 0; r < full_rows; r++) {
            run(d + r * dr + full_cols * dc, dc, s + r * sr + full_cols * sc, sc, cols - full_cols, item, swap);
        }
    }
}

/* ------------------------------------------------------------------------ */
/* the nest                                                                 */
/* ------------------------------------------------------------------------ */

static int64_t magnitude(int64_t v) { return v < 0 ? -v : v; }

/* Every byte reached by offset + sum(index * stride) for indices inside shape,
   plus item bytes, lies in [0, len). 0 when so; PB_EOVERFLOW or PB_EBOUNDS. */
static int check_reach(int32_t ndim, const int64_t *shape, const int64_t *strides, int64_t offset,
                       int64_t item, int64_t len)
{
    int64_t low = offset;
    int64_t high = offset;
    for (int32_t i = 0; i < ndim; i++) {
        int64_t extent;
        if (__builtin_mul_overflow(strides[i], shape[i] - 1, &extent)) {
            return PB_EOVERFLOW;
        }
        if (extent < 0 ? __builtin_add_overflow(low, extent, &low) : __builtin_add_overflow(high, extent, &high)) {
            return PB_EOVERFLOW;
        }
    }
    if (__builtin_add_overflow(high, item, &high)) {
        return PB_EOVERFLOW;
    }
    return low < 0 || high > len ? PB_EBOUNDS : PB_OK;
}

PB_PUBLIC int pb_copy_strided(void *dst, int64_t dst_len, int64_t dst_offset, const int64_t *dst_strides,
                              const void *src, int64_t src_len, int64_t src_offset, const int64_t *src_strides,
                              int32_t ndim, const int64_t *shape, int64_t itemsize, int32_t swap)
{
    if (itemsize <= 0) {
        return PB_EITEMSIZE;
    }
    if (ndim < 0 || ndim > PB_MAX_NDIM || dst_len < 0 || src_len < 0
        || (ndim > 0 && (shape == NULL || dst_strides == NULL || src_strides == NULL))) {
        return PB_EINVAL;
    }
    if (swap && itemsize != 1 && itemsize != 2 && itemsize != 4 && itemsize != 8 && itemsize != 16) {
        return PB_EITEMSIZE;
    }
    for (int32_t i = 0; i < ndim; i++) {
        if (shape[i] < 0) {
            return PB_ESHAPE;
        }
        if (shape[i] == 0) {
            return PB_OK;   /* nothing to copy, whatever the strides */
        }
    }
    if (dst == NULL || src == NULL) {
        return PB_EINVAL;
    }
    int rc = check_reach(ndim, shape, dst_strides, dst_offset, itemsize, dst_len);
    if (rc == PB_OK) {
        rc = check_reach(ndim, shape, src_strides, src_offset, itemsize, src_len);
    }
    if (rc != PB_OK) {
        return rc;
    }
    byte *d = (byte *)dst + dst_offset;
    const byte *s = (const byte *)src + src_offset;
    if (ndim == 0) {
        run(d, itemsize, s, itemsize, 1, itemsize, swap);
        return PB_OK;
    }
    int32_t inner = ndim - 1;
    /* The source's fastest axis, when it is not the destination's: a transpose. */
    int32_t fast = -1;
    if (!(src_strides[inner] == itemsize && dst_strides[inner] == itemsize)) {
        for (int32_t i = 0; i < inner; i++) {
            int64_t a = magnitude(src_strides[i]);
            if (shape[i] > 1 && a != 0 && a < magnitude(src_strides[inner])
                && (fast < 0 || a < magnitude(src_strides[fast]))) {
                fast = i;
            }
        }
    }
    int64_t total_bytes = itemsize;
    for (int32_t i = 0; i < ndim; i++) {
        if (__builtin_mul_overflow(total_bytes, shape[i], &total_bytes)) {
            total_bytes = INT64_MAX;   /* a broadcast destination (stride 0) may count more than memory holds */
            break;
        }
    }
    int stream = total_bytes >= PB_COPY_STREAM_BYTES;
    /* Short contiguous runs whose sources lie apart (the (1, 0, 2) permutation:
       1 KiB runs 256 KiB apart): the next run's source is asked for while this
       one is copied, since the processor's prefetchers start each run cold
       (11.0 -> 8.8 ms for 64 MiB). Only when the next run is along the same
       axis, so that every address asked for lies inside the source. */
    int64_t run_bytes = shape[inner] * itemsize;
    int prefetch = fast < 0 && inner > 0 && src_strides[inner] == itemsize && run_bytes <= 4096
                   && magnitude(src_strides[inner - 1]) > run_bytes;
    /* Odometer over every axis but inner and fast; offsets stay integers so that
       no pointer is formed outside the two memories. */
    int64_t index[PB_MAX_NDIM];
    for (int32_t i = 0; i < inner; i++) {
        index[i] = 0;
    }
    int64_t doff = 0;
    int64_t soff = 0;
    for (;;) {
        if (fast >= 0) {
            plane(d + doff, dst_strides[fast], dst_strides[inner], s + soff, src_strides[fast], src_strides[inner],
                  shape[fast], shape[inner], itemsize, swap, stream);
        } else {
            if (prefetch && index[inner - 1] + 1 < shape[inner - 1]) {
                const byte *next = s + soff + src_strides[inner - 1];
                for (int64_t b = 0; b < run_bytes; b += 64) {
                    __builtin_prefetch(next + b);
                }
            }
            if (!stream || !run_stream(d + doff, dst_strides[inner], s + soff, src_strides[inner], shape[inner],
                                       itemsize, swap)) {
                run(d + doff, dst_strides[inner], s + soff, src_strides[inner], shape[inner], itemsize, swap);
            }
        }
        int32_t axis = inner - 1;
        for (; axis >= 0; axis--) {
            if (axis == fast) {
                continue;
            }
            doff += dst_strides[axis];
            soff += src_strides[axis];
            if (++index[axis] < shape[axis]) {
                break;
            }
            doff -= dst_strides[axis] * shape[axis];
            soff -= src_strides[axis] * shape[axis];
            index[axis] = 0;
        }
        if (axis < 0) {
#if defined(__SSE2__)
            if (stream) {
                _mm_sfence();   /* the streamed stores are visible before the caller reads on */
            }
#endif
            return PB_OK;
        }
    }
}
