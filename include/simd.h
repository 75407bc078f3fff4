/* simd.h — the vector types and helpers that the elementwise and row kernels are written in.
 *
 * GCC/Clang vector extensions, SIMD_W floats wide: 16 (one zmm register) with AVX-512, else 8 —
 * one ymm register with AVX2 (-march=x86-64-v3), a pair of SSE registers in a baseline x86-64
 * build (`make PORTABLE=1`), NEON pairs on ARM64, plain scalar code where there is nothing
 * better; the compiler lowers every lane operation to what the target has. So the kernels never
 * depend on the auto-vectoriser, which gives up on loops with selects (GCC 12 without AVX-512
 * left the old GELU and exp loops scalar: "control flow in loop"). Only the masked tail loads and
 * stores and the square root use intrinsics, under #ifdef, with plain C beside them. This is the
 * one file that knows AVX-512, AVX2 or plain C.
 *
 * Tails: a kernel runs its last partial vector through the same vector code, with the missing
 * lanes filled by vload_n and dropped by vstore_n, so an element gets the same bits whether it
 * falls in a whole vector or in a tail — and so wherever a thread's share happens to end.
 * Horizontal sums add the lanes in one fixed order (a tree of halves). Every operation is IEEE
 * (no -ffast-math): division and square root are correctly rounded, so builds differ only where
 * the compiler fuses a·b+c into an FMA and, for sums, in the lane count, within the tests'
 * tolerances. Any one build gives the same bits for any thread count.
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

#if defined(__AVX512F__)
#define SIMD_W 16
#define SIMD_IOTA {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}
#define SIMD_LO 0, 1, 2, 3, 4, 5, 6, 7
#define SIMD_HI 8, 9, 10, 11, 12, 13, 14, 15
#else
#define SIMD_W 8
#define SIMD_IOTA {0, 1, 2, 3, 4, 5, 6, 7}
#define SIMD_LO 0, 1, 2, 3
#define SIMD_HI 4, 5, 6, 7
#endif

typedef float vfloat __attribute__((vector_size(SIMD_W * 4)));
typedef int32_t vint __attribute__((vector_size(SIMD_W * 4))); /* lane masks: -1 (true) or 0 */
typedef uint32_t vuint __attribute__((vector_size(SIMD_W * 4)));
/* SIMD_W / 2 doubles, one register: a vfloat's sums in double take two, its low and its high half
 * (a vector of SIMD_W doubles would be wider than a register, which GCC 12 spills to the stack) */
typedef double vdouble __attribute__((vector_size(SIMD_W * 4)));
typedef int64_t vlong __attribute__((vector_size(SIMD_W * 4))); /* masks for vdouble */
typedef float vfloat_half __attribute__((vector_size(SIMD_W * 2)));
/* the same, for loads and stores at any float-aligned address */
typedef float vfloat_u __attribute__((vector_size(SIMD_W * 4), aligned(4), may_alias));

static inline vfloat vsplat(float x) { return x - (vfloat){0}; } /* x - 0 keeps -0 and NaN */
static inline vfloat vload(const float *p) { return *(const vfloat_u *)p; }
static inline void vstore(float *p, vfloat v) { *(vfloat_u *)p = v; }
/* lane k = k */
static inline vint viota(void) { return (vint)SIMD_IOTA; }

/* Lane masks, from the comparisons below: an AVX-512 mask register, else a vint of -1 (true) and
 * 0 lanes. Comparisons are ordered: a NaN lane compares false. Intrinsics where the target has
 * them, because GCC 12 turns a vector compare on AVX-512 into a vector of -1/0 and back into a
 * mask at each use, and an and/or select into a masked copy of the operation that made an
 * operand (which doubled GELU's divisions). */
#if defined(__AVX512F__)
typedef __mmask16 vmask;
static inline vmask vlt(vfloat a, vfloat b) { return _mm512_cmp_ps_mask((__m512)a, (__m512)b, _CMP_LT_OQ); }
static inline vmask vgt(vfloat a, vfloat b) { return _mm512_cmp_ps_mask((__m512)a, (__m512)b, _CMP_GT_OQ); }
static inline vmask veq(vfloat a, vfloat b) { return _mm512_cmp_ps_mask((__m512)a, (__m512)b, _CMP_EQ_OQ); }
static inline vmask vuge(vuint a, vuint b) { return _mm512_cmpge_epu32_mask((__m512i)a, (__m512i)b); }
static inline vmask vmask_n(size_t n) { return (vmask)((1u << n) - 1); } /* lanes k < n (n <= W) */
/* lane k = m[k] ? a[k] : b[k] */
static inline vfloat vselect(vmask m, vfloat a, vfloat b) {
    return (vfloat)_mm512_mask_blend_ps(m, (__m512)b, (__m512)a);
}
#else
typedef vint vmask;
static inline vmask vlt(vfloat a, vfloat b) { return a < b; }
static inline vmask vgt(vfloat a, vfloat b) { return a > b; }
static inline vmask veq(vfloat a, vfloat b) { return a == b; }
static inline vmask vuge(vuint a, vuint b) { return (vint)(a >= b); }
static inline vmask vmask_n(size_t n) { return viota() < (int32_t)n; } /* lanes k < n (n <= W) */
/* lane k = m[k] ? a[k] : b[k] */
static inline vfloat vselect(vmask m, vfloat a, vfloat b) {
#if defined(__AVX__)
    return (vfloat)_mm256_blendv_ps((__m256)b, (__m256)a, (__m256)m);
#else
    return (vfloat)(((vint)a & m) | ((vint)b & ~m));
#endif
}
#endif
static inline vfloat vmax(vfloat a, vfloat b) { return vselect(vgt(a, b), a, b); }

/* p[0..n) in lanes 0..n-1 (n < SIMD_W), `fill` in the others; nothing past p + n is read. */
static inline vfloat vload_n(const float *p, size_t n, float fill) {
#if defined(__AVX512F__)
    return (vfloat)_mm512_mask_loadu_ps((__m512)vsplat(fill), (__mmask16)((1u << n) - 1), p);
#elif defined(__AVX2__)
    vmask m = vmask_n(n);
    return vselect(m, (vfloat)_mm256_maskload_ps(p, (__m256i)m), vsplat(fill));
#else
    vfloat v = vsplat(fill);
    for (size_t k = 0; k < n; k++) v[k] = p[k];
    return v;
#endif
}

/* p[0..n) = lanes 0..n-1 (n < SIMD_W); nothing past p + n is written. */
static inline void vstore_n(float *p, vfloat v, size_t n) {
#if defined(__AVX512F__)
    _mm512_mask_storeu_ps(p, (__mmask16)((1u << n) - 1), (__m512)v);
#elif defined(__AVX2__)
    _mm256_maskstore_ps(p, (__m256i)vmask_n(n), (__m256)v);
#else
    for (size_t k = 0; k < n; k++) p[k] = v[k];
#endif
}

/* The next vector of a loop over [i, end) with n = end - i left: whole when n >= SIMD_W, else the
 * tail through vload_n/vstore_n (for loops whose tail is not worth keeping apart). */
static inline vfloat vload_upto(const float *p, size_t n, float fill) {
    return n >= SIMD_W ? vload(p) : vload_n(p, n, fill);
}
static inline void vstore_upto(float *p, vfloat v, size_t n) {
    if (n >= SIMD_W)
        vstore(p, v);
    else
        vstore_n(p, v, n);
}

/* Horizontal sums and max, as a tree of halves: lane k += lane k + w for w = W/2, W/4, ..., 1,
 * always in this order, so a sum never depends on how the compiler would reduce. Each step is one
 * vector operation on halves (a loop over lanes became scalar code). */
typedef float vf8 __attribute__((vector_size(32)));
typedef float vf4 __attribute__((vector_size(16)));
typedef float vf2 __attribute__((vector_size(8)));
typedef int32_t vi8 __attribute__((vector_size(32)));
typedef int32_t vi4 __attribute__((vector_size(16)));
typedef int32_t vi2 __attribute__((vector_size(8)));
typedef double vd4 __attribute__((vector_size(32)));
typedef double vd2 __attribute__((vector_size(16)));
#define SIMD_MAX_OF(a, b, vi) ((__typeof__(a))(((vi)(a) & (vi)((a) > (b))) | ((vi)(b) & ~(vi)((a) > (b)))))

static inline vf8 vhalves8(vfloat v) {
#if SIMD_W == 16
    return (vf8)__builtin_shufflevector(v, v, 0, 1, 2, 3, 4, 5, 6, 7) +
           (vf8)__builtin_shufflevector(v, v, 8, 9, 10, 11, 12, 13, 14, 15);
#else
    return (vf8)v;
#endif
}
static inline float vhsum(vfloat v) {
    vf8 v8 = vhalves8(v);
    vf4 v4 = (vf4)__builtin_shufflevector(v8, v8, 0, 1, 2, 3) + (vf4)__builtin_shufflevector(v8, v8, 4, 5, 6, 7);
    vf2 v2 = (vf2)__builtin_shufflevector(v4, v4, 0, 1) + (vf2)__builtin_shufflevector(v4, v4, 2, 3);
    return v2[0] + v2[1];
}
/* Σ of the SIMD_W double lanes lo ++ hi, in vhsum's order (its first step adds lane k + W/2 to
 * lane k, which is lo + hi) */
static inline double vhsum64(vdouble lo, vdouble hi) {
    vdouble v = lo + hi;
#if SIMD_W == 16
    vd4 v4 = (vd4)__builtin_shufflevector(v, v, 0, 1, 2, 3) + (vd4)__builtin_shufflevector(v, v, 4, 5, 6, 7);
#else
    vd4 v4 = (vd4)v;
#endif
    vd2 v2 = (vd2)__builtin_shufflevector(v4, v4, 0, 1) + (vd2)__builtin_shufflevector(v4, v4, 2, 3);
    return v2[0] + v2[1];
}
static inline float vhmax(vfloat v) {
#if SIMD_W == 16
    vf8 a8 = (vf8)__builtin_shufflevector(v, v, 0, 1, 2, 3, 4, 5, 6, 7);
    vf8 b8 = (vf8)__builtin_shufflevector(v, v, 8, 9, 10, 11, 12, 13, 14, 15);
    vf8 v8 = SIMD_MAX_OF(a8, b8, vi8);
#else
    vf8 v8 = (vf8)v;
#endif
    vf4 a4 = (vf4)__builtin_shufflevector(v8, v8, 0, 1, 2, 3), b4 = (vf4)__builtin_shufflevector(v8, v8, 4, 5, 6, 7);
    vf4 v4 = SIMD_MAX_OF(a4, b4, vi4);
    vf2 a2 = (vf2)__builtin_shufflevector(v4, v4, 0, 1), b2 = (vf2)__builtin_shufflevector(v4, v4, 2, 3);
    vf2 v2 = SIMD_MAX_OF(a2, b2, vi2);
    return v2[0] > v2[1] ? v2[0] : v2[1];
}

/* lanes 0 .. W/2-1 and W/2 .. W-1 of v in double */
static inline vdouble vwiden_lo(vfloat v) {
#if defined(__AVX512F__)
    return (vdouble)_mm512_cvtps_pd(_mm512_castps512_ps256((__m512)v));
#elif defined(__AVX__)
    return (vdouble)_mm256_cvtps_pd(_mm256_castps256_ps128((__m256)v));
#else
    return __builtin_convertvector((vfloat_half)__builtin_shufflevector(v, v, SIMD_LO), vdouble);
#endif
}
static inline vdouble vwiden_hi(vfloat v) {
#if defined(__AVX512F__)
    return (vdouble)_mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd((__m512)v), 1)));
#elif defined(__AVX__)
    return (vdouble)_mm256_cvtps_pd(_mm256_extractf128_ps((__m256)v, 1));
#else
    return __builtin_convertvector((vfloat_half)__builtin_shufflevector(v, v, SIMD_HI), vdouble);
#endif
}
/* double lanes k < n kept (n may exceed W/2: all kept), the others 0 */
static inline vdouble vkeep64_n(vdouble v, ptrdiff_t n) {
    vlong m = __builtin_convertvector(__builtin_shufflevector(viota(), viota(), SIMD_LO), vlong) < (int64_t)n;
    return (vdouble)((vlong)v & m);
}

/* 1/x, correctly rounded: a division, not rcpps, whose 12 bits (14 with AVX-512) would need a
 * Newton step and would give different bits on each ISA. */
static inline vfloat vrecip(vfloat x) { return vsplat(1.0f) / x; }

/* √x per lane, correctly rounded (as sqrtf). */
static inline vfloat vsqrt(vfloat x) {
#if defined(__AVX512F__)
    return (vfloat)_mm512_sqrt_ps((__m512)x);
#elif defined(__AVX__)
    return (vfloat)_mm256_sqrt_ps((__m256)x);
#else
    for (int k = 0; k < SIMD_W; k++) x[k] = __builtin_sqrtf(x[k]);
    return x;
#endif
}

/* exp(x) for x in [-87, 88], clamped outside (so exp(-1000) is 1.6e-38 and exp(1000) is
 * 1.65e38, never 0 or inf), to within 2 ulp; a NaN stays a NaN. Cephes' expf: x = n·ln2 + r with
 * n = round(x·log2 e) and |r| <= ln2/2, a degree-7 polynomial in r, times 2^n made in the exponent
 * bits. Branch-free: the clamps are selects. */
static inline vfloat vexp(vfloat x) {
    x = vselect(vlt(x, vsplat(-87.0f)), vsplat(-87.0f), x);
    x = vselect(vgt(x, vsplat(88.0f)), vsplat(88.0f), x);
    /* adding 1.5·2²³ rounds x·log2 e to an integer, which then sits in the low mantissa bits */
    vfloat shifted = x * 1.44269504f + 12582912.0f;
    vfloat n = shifted - 12582912.0f;
    vfloat r = x - n * 0.693359375f; /* ln2 split in two, so that n·ln2 is exact */
    r = r + n * 2.12194440e-4f;
    vfloat p = vsplat(1.98756912e-4f);
    p = p * r + 1.39819994e-3f;
    p = p * r + 8.33345205e-3f;
    p = p * r + 4.16657962e-2f;
    p = p * r + 1.66666657e-1f;
    p = p * r + 5.00000001e-1f;
    p = p * r * r + r + 1.0f;
    /* 2^n: n + 127 in the exponent field; n is in [-126, 127] after the clamps. Unsigned lanes
     * wrap, so a NaN's arbitrary bits are harmless (p is already NaN). */
    vuint n_int = (vuint)shifted - 0x4B400000u; /* the bits of 1.5·2²³ */
    return p * (vfloat)((n_int + 127u) << 23);
}

/* tanh(x) to within a few ulp: Cephes' tanhf, an odd polynomial for |x| < 0.625 (where
 * 1 - 2/(e^2x + 1) would cancel) and through vexp above; ±1 for large |x|, NaN for NaN. */
static inline vfloat vtanh(vfloat x) {
    vint sign = (vint)x & INT32_MIN;
    vfloat ax = (vfloat)((vint)x & INT32_MAX);
    vfloat big = vsplat(1.0f) - vsplat(2.0f) / (vexp(ax + ax) + 1.0f);
    big = (vfloat)((vint)big | sign);
    vfloat z = x * x;
    vfloat small = vsplat(-5.70498872745e-3f);
    small = small * z + 2.06390887954e-2f;
    small = small * z - 5.37397155531e-2f;
    small = small * z + 1.33314422036e-1f;
    small = small * z - 3.33332819422e-1f;
    small = small * z * x + x;
    return vselect(vlt(ax, vsplat(0.625f)), small, big);
}

#endif
