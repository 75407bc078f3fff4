/* simd.h — the 8-lane vector types and helpers that the elementwise and row kernels are written in.
 *
 * GCC/Clang vector extensions: an f32x8 is one AVX register (ymm) with -march=x86-64-v3 or
 * -march=native, a pair of SSE registers in a baseline x86-64 build (`make PORTABLE=1`), NEON
 * pairs on ARM64, and plain scalar code where there is nothing better; the compiler lowers every
 * lane operation to what the target has. So the kernels never depend on the auto-vectoriser,
 * which gives up on loops with selects (GCC 12 without AVX-512 leaves the old GELU and exp loops
 * scalar: "control flow in loop"). Only the masked tail loads and stores and the square root use
 * intrinsics, under #ifdef, with plain C beside them.
 *
 * Tails: a kernel runs its last partial vector through the same vector code, with the missing
 * lanes filled by vload_n and dropped by vstore_n, so an element gets the same bits whether it
 * falls in a whole vector or in a tail — and so wherever a thread's share happens to end.
 * Horizontal sums add the lanes in one fixed order. Every operation is IEEE (no -ffast-math):
 * division and square root are correctly rounded, so the fallback differs from AVX only where
 * the compiler fuses a·b+c into an FMA, within the tests' tolerances.
 */
#ifndef MINGPT_SIMD_H
#define MINGPT_SIMD_H

#include <stddef.h>
#include <stdint.h>

#if defined(__AVX__)
#include <immintrin.h>
#endif

/* GCC warns that returning a 32- or 64-byte vector without AVX (AVX-512) would pass it differently
 * between translation units; every function here is static inline, so no such call exists. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wpsabi"
#endif

typedef float f32x8 __attribute__((vector_size(32)));
typedef int32_t i32x8 __attribute__((vector_size(32)));   /* lane masks: -1 (true) or 0 */
typedef uint32_t u32x8 __attribute__((vector_size(32)));
typedef double f64x8 __attribute__((vector_size(64)));    /* sums in double, 8 lanes */
typedef int64_t i64x8 __attribute__((vector_size(64)));   /* masks for f64x8 */
/* the same, for loads and stores at any float-aligned address */
typedef float f32x8u __attribute__((vector_size(32), aligned(4), may_alias));

#define SIMD_W 8

static inline f32x8 vsplat(float x) { return (f32x8){x, x, x, x, x, x, x, x}; }
static inline f32x8 vload(const float *p) { return *(const f32x8u *)p; }
static inline void vstore(float *p, f32x8 v) { *(f32x8u *)p = v; }

/* lanes k < n (n <= 8) true */
static inline i32x8 vmask_n(size_t n) { return (i32x8){0, 1, 2, 3, 4, 5, 6, 7} < (int32_t)n; }

/* lane k = m[k] ? a[k] : b[k] (m from a vector compare) */
static inline f32x8 vselect(i32x8 m, f32x8 a, f32x8 b) {
    return (f32x8)(((i32x8)a & m) | ((i32x8)b & ~m));
}
static inline f32x8 vmax(f32x8 a, f32x8 b) { return vselect(a > b, a, b); }

/* p[0..n) in lanes 0..n-1 (n <= 8), `fill` in the others; nothing past p + n is read. */
static inline f32x8 vload_n(const float *p, size_t n, float fill) {
#if defined(__AVX2__)
    i32x8 m = vmask_n(n);
    return vselect(m, (f32x8)_mm256_maskload_ps(p, (__m256i)m), vsplat(fill));
#else
    f32x8 v = vsplat(fill);
    for (size_t k = 0; k < n; k++) v[k] = p[k];
    return v;
#endif
}

/* p[0..n) = lanes 0..n-1 (n <= 8); nothing past p + n is written. */
static inline void vstore_n(float *p, f32x8 v, size_t n) {
#if defined(__AVX2__)
    _mm256_maskstore_ps(p, (__m256i)vmask_n(n), (__m256)v);
#else
    for (size_t k = 0; k < n; k++) p[k] = v[k];
#endif
}

/* The next vector of a loop over [i, end) with n = end - i left: whole when n >= 8, else the
 * tail through vload_n/vstore_n (for loops that are not hot enough to keep the tail apart). */
static inline f32x8 vload_upto(const float *p, size_t n, float fill) {
    return n >= SIMD_W ? vload(p) : vload_n(p, n, fill);
}
static inline void vstore_upto(float *p, f32x8 v, size_t n) {
    if (n >= SIMD_W)
        vstore(p, v);
    else
        vstore_n(p, v, n);
}

/* Σ lanes, always in this order (a tree of halves), so a sum does not depend on the build. */
static inline float vhsum(f32x8 v) {
    return ((v[0] + v[4]) + (v[2] + v[6])) + ((v[1] + v[5]) + (v[3] + v[7]));
}
static inline double vhsum64(f64x8 v) {
    return ((v[0] + v[4]) + (v[2] + v[6])) + ((v[1] + v[5]) + (v[3] + v[7]));
}
static inline float vhmax(f32x8 v) {
    float m = v[0];
    for (int k = 1; k < SIMD_W; k++) m = v[k] > m ? v[k] : m;
    return m;
}

static inline f64x8 vwiden(f32x8 v) { return __builtin_convertvector(v, f64x8); }
/* f64 lanes k < n (n <= 8) kept, the others 0 */
static inline f64x8 vkeep64_n(f64x8 v, size_t n) {
    i64x8 m = (i64x8){0, 1, 2, 3, 4, 5, 6, 7} < (int64_t)n;
    return (f64x8)((i64x8)v & m);
}

/* 1/x, correctly rounded: a division, not rcpps, whose 12 bits (14 with AVX-512) would need a
 * Newton step and would give different bits on each ISA. */
static inline f32x8 vrecip(f32x8 x) { return vsplat(1.0f) / x; }

/* √x per lane, correctly rounded (as sqrtf). */
static inline f32x8 vsqrt(f32x8 x) {
#if defined(__AVX__)
    return (f32x8)_mm256_sqrt_ps((__m256)x);
#else
    for (int k = 0; k < SIMD_W; k++) x[k] = __builtin_sqrtf(x[k]);
    return x;
#endif
}

/* exp(x) for x in [-87, 88], clamped outside (so exp(-1000) is 1.6e-38 and exp(1000) is
 * 1.65e38, never 0 or inf), to within 2 ulp; a NaN stays a NaN. Cephes' expf: x = n·ln2 + r with
 * n = round(x·log2 e) and |r| <= ln2/2, a degree-7 polynomial in r, times 2^n made in the exponent
 * bits. Branch-free: the clamps are selects. */
static inline f32x8 vexp(f32x8 x) {
    x = vselect(x < vsplat(-87.0f), vsplat(-87.0f), x);
    x = vselect(x > vsplat(88.0f), vsplat(88.0f), x);
    /* adding 1.5·2²³ rounds x·log2 e to an integer, which then sits in the low mantissa bits */
    f32x8 shifted = x * 1.44269504f + 12582912.0f;
    f32x8 n = shifted - 12582912.0f;
    f32x8 r = x - n * 0.693359375f; /* ln2 split in two, so that n·ln2 is exact */
    r = r + n * 2.12194440e-4f;
    f32x8 p = vsplat(1.98756912e-4f);
    p = p * r + 1.39819994e-3f;
    p = p * r + 8.33345205e-3f;
    p = p * r + 4.16657962e-2f;
    p = p * r + 1.66666657e-1f;
    p = p * r + 5.00000001e-1f;
    p = p * r * r + r + 1.0f;
    /* 2^n: n + 127 in the exponent field; n is in [-126, 127] after the clamps. Unsigned lanes
     * wrap, so a NaN's arbitrary bits are harmless (p is already NaN). */
    u32x8 n_int = (u32x8)shifted - 0x4B400000u; /* the bits of 1.5·2²³ */
    return p * (f32x8)((n_int + 127u) << 23);
}

/* tanh(x) to within a few ulp: Cephes' tanhf, an odd polynomial for |x| < 0.625 (where
 * 1 - 2/(e^2x + 1) would cancel) and through vexp above; ±1 for large |x|, NaN for NaN. */
static inline f32x8 vtanh(f32x8 x) {
    i32x8 sign = (i32x8)x & INT32_MIN;
    f32x8 ax = (f32x8)((i32x8)x & INT32_MAX);
    f32x8 big = vsplat(1.0f) - vsplat(2.0f) / (vexp(ax + ax) + 1.0f);
    big = (f32x8)((i32x8)big | sign);
    f32x8 z = x * x;
    f32x8 small = vsplat(-5.70498872745e-3f);
    small = small * z + 2.06390887954e-2f;
    small = small * z - 5.37397155531e-2f;
    small = small * z + 1.33314422036e-1f;
    small = small * z - 3.33332819422e-1f;
    small = small * z * x + x;
    return vselect(ax < vsplat(0.625f), small, big);
}

#endif
