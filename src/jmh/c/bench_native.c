/*
 * bench_native.c -- the C side of panbuf's benchmarks: the cheapest possible
 * callees (so a benchmark measures the call, not the work), and the C kernels
 * that mark the machine's limits (a vectorised sum, a cache-blocked transpose).
 *
 * Built by BuildBenchNative.java into target/jmh-classes/native/ at -O3 for
 * this machine; not part of the library and never shipped in its jar.
 * Nothing here allocates or keeps a pointer.
 */
#include <stddef.h>
#include <stdint.h>

#include "panbuf.h"

#define PBB_PUBLIC __attribute__((visibility("default")))

/* The trivial call: what every downcall costs before it does anything. */
PBB_PUBLIC void pbb_noop(void)
{
}

/* O(1) work on a raw pointer: reads the first float. */
PBB_PUBLIC float pbb_first_f32(const float *data)
{
    return data[0];
}

/* O(1) work on an exported view: reads element [0, ..., 0] through buf. */
PBB_PUBLIC float pbb_pb_first_f32(const pb_buffer *view)
{
    return *(const float *)view->buf;
}

/* The machine's limit for a float sum: four independent 16-lane accumulators
   (GCC vector extensions, so the result does not depend on -ffast-math);
   Java's plain loop may never reorder float adds like this. */
typedef float pbb_v16f __attribute__((vector_size(64), aligned(4)));

PBB_PUBLIC float pbb_sum_f32(const float *data, int64_t n)
{
    pbb_v16f a = {0}, b = {0}, c = {0}, d = {0};
    int64_t i = 0;
    for (; i + 64 <= n; i += 64) {
        a += *(const pbb_v16f *)(data + i);
        b += *(const pbb_v16f *)(data + i + 16);
        c += *(const pbb_v16f *)(data + i + 32);
        d += *(const pbb_v16f *)(data + i + 48);
    }
    pbb_v16f v = (a + b) + (c + d);
    float s = 0.0f;
    for (int k = 0; k < 16; k++) {
        s += v[k];
    }
    for (; i < n; i++) {
        s += data[i];
    }
    return s;
}

/* Integer adds reassociate, so -O3 vectorises this plain loop by itself. */
PBB_PUBLIC int32_t pbb_sum_i32(const int32_t *data, int64_t n)
{
    uint32_t s = 0;   /* wraps like Java's int */
    for (int64_t i = 0; i < n; i++) {
        s += (uint32_t)data[i];
    }
    return (int32_t)s;
}

/* dst (cols x rows, C order) = transpose of src (rows x cols, C order), in
   tile x tile blocks: the machine's limit for ascontiguousarray(a.T). */
PBB_PUBLIC void pbb_transpose_f32(float *restrict dst, const float *restrict src, int64_t rows, int64_t cols,
                                  int64_t tile)
{
    for (int64_t r0 = 0; r0 < rows; r0 += tile) {
        int64_t r1 = r0 + tile < rows ? r0 + tile : rows;
        for (int64_t c0 = 0; c0 < cols; c0 += tile) {
            int64_t c1 = c0 + tile < cols ? c0 + tile : cols;
            for (int64_t c = c0; c < c1; c++) {
                for (int64_t r = r0; r < r1; r++) {
                    dst[c * rows + r] = src[r * cols + c];
                }
            }
        }
    }
}
