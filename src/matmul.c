/* matmul.c — a packed, register-blocked GEMM and the Linear products built on it.
 *
 * One kernel serves all three Linear products: the operands are described by strides. The
 * micro-kernel reads MR-row panels of A and NR-column panels of B in place where their layout
 * allows (A: one stride of 1, as in every Linear product; B: row-major, as W for the input
 * gradient and inp for the weight gradient) and packed copies otherwise (the forward's Wᵀ, partial
 * panels), so the transposes cost nothing beyond that packing. The micro-kernel keeps an
 * MR x NR tile of C in vector registers (GCC/Clang vector extensions: 8-float vectors become AVX2
 * registers with -march=native and SSE pairs in a portable build).
 *
 * Determinism: every C element sums its K products in blocks (KC, or KC_T for the weight
 * gradient), in order, each block accumulated from zero and then added to C. That order depends on
 * K and the operands' layout alone, never on how the (MC x NC) tiles are dealt out to threads, so
 * any thread count gives the same bits.
 */
#include "matmul.h"

#include <stdint.h>
#include <string.h>

#include "common.h"
#include "simd.h"

/* The register tile: MR rows x NR columns of C live in MR·NR/8 vector registers. With AVX-512's
 * 32 registers 10 x 16 measured fastest here (make bench: 8 and 9 slower, 12 spills); AVX2's 16
 * registers fit 6 x 16. */
#ifndef MR
#if defined(__AVX512F__)
#define MR 10
#else
#define MR 6
#endif
#endif
#define NR 16
/* K block: a micro-kernel call streams KC rows of an A panel and of a B panel, and packed weights
 * are laid out in KC blocks. The weight gradient's A (doutᵀ) and B (inp) are both read in place
 * from rows, a cache line per row each, and at 256 those 512 lines crowd L1: at 128 its products
 * took 11-19% less time on AVX2, 1-9% on AVX-512 (1 thread, CPU time, gpt-mini shapes). The
 * forward's and the input gradient's did not change, and decoding, which streams the packed
 * weights KC rows at a time, measured no better at 128 on this noisy machine; so only products
 * whose A is transposed (the weight gradient's doutᵀ) use KC_T. */
#ifndef KC
#define KC 256
#endif
#define KC_T 128
#define MC_MAX (MR * (200 / MR)) /* about 200 rows: 10 x 20 with AVX-512, 6 x 33 with AVX2 */
#define NC_MAX 512 /* multiple of NR */

typedef float v8 __attribute__((vector_size(32), aligned(32)));
typedef float v8u __attribute__((vector_size(32), aligned(4), may_alias));

/* Writes the MR x NR accumulators to the C tile (mr <= MR, nr <= NR), row stride ldc. If `init`,
 * the tile is set to acc + bias (bias (nr) or NULL); otherwise acc is added to it. */
static inline __attribute__((always_inline)) void store_tile(v8 acc[MR][2], float *restrict C, size_t ldc,
                                                             int mr, int nr, int init, const float *bias) {
    if (mr == MR && nr == NR) {
        for (int r = 0; r < MR; r++) {
            v8u *c0 = (v8u *)(C + r * ldc), *c1 = (v8u *)(C + r * ldc + 8);
            if (init) {
                v8 bias0 = {0}, bias1 = {0};
                if (bias) {
                    bias0 = *(const v8u *)bias;
                    bias1 = *(const v8u *)(bias + 8);
                }
                *c0 = bias0 + acc[r][0];
                *c1 = bias1 + acc[r][1];
            } else {
                *c0 += acc[r][0];
                *c1 += acc[r][1];
            }
        }
        return;
    }
    float tile[MR][NR] __attribute__((aligned(32)));
    for (int r = 0; r < MR; r++) {
        *(v8 *)&tile[r][0] = acc[r][0];
        *(v8 *)&tile[r][8] = acc[r][1];
    }
    for (int r = 0; r < mr; r++)
        for (int j = 0; j < nr; j++) {
            if (init)
                C[r * ldc + j] = (bias ? bias[j] : 0.0f) + tile[r][j];
            else
                C[r * ldc + j] += tile[r][j];
        }
}

/* MR rows of A (element (r,k) at A[r*rsa + k*csa]) · Bp (kc rows of NR columns, row stride ldb:
 * NR for a packed panel) -> C tile. Inlined with rsa = 1 (a packed panel, csa = MR, or a
 * transposed operand read in place) or with csa = 1 (a row-major operand read in place), so the
 * compiler sees one stride as a constant; and with nv = 2 vectors per row, or 1 for a last panel
 * of at most 8 columns (lm_head's 65 = 4·16 + 1), which then costs half a full one. */
static inline __attribute__((always_inline)) void micro_kernel_strided(
    size_t kc, const float *restrict A, size_t rsa, size_t csa, const float *restrict Bp, size_t ldb,
    float *restrict C, size_t ldc, int mr, int nr, int init, const float *bias, int nv) {
    v8 acc[MR][2];
    for (int r = 0; r < MR; r++) acc[r][0] = acc[r][1] = (v8){0};
    for (size_t k = 0; k < kc; k++) {
        v8 b0 = *(const v8u *)(Bp + k * ldb);
        v8 b1 = {0};
        if (nv == 2) b1 = *(const v8u *)(Bp + k * ldb + 8);
        const float *a = A + k * csa;
        for (int r = 0; r < MR; r++) {
            acc[r][0] += a[r * rsa] * b0;
            if (nv == 2) acc[r][1] += a[r * rsa] * b1;
        }
    }
    store_tile(acc, C, ldc, mr, nr, init, bias);
}

/* Rows of A contiguous: a packed panel (csa = MR) or Aᵀ stored row-major (csa = its row length). */
static void micro_kernel_rows(size_t kc, const float *restrict A, size_t csa, const float *restrict Bp, size_t ldb,
                              float *restrict C, size_t ldc, int mr, int nr, int init, const float *bias) {
    if (nr > 8)
        micro_kernel_strided(kc, A, 1, csa, Bp, ldb, C, ldc, mr, nr, init, bias, 2);
    else
        micro_kernel_strided(kc, A, 1, csa, Bp, ldb, C, ldc, mr, nr, init, bias, 1);
}

/* A row-major with row stride rsa, read in place. */
static void micro_kernel_cols(size_t kc, const float *restrict A, size_t rsa, const float *restrict Bp, size_t ldb,
                              float *restrict C, size_t ldc, int mr, int nr, int init, const float *bias) {
    if (nr > 8)
        micro_kernel_strided(kc, A, rsa, 1, Bp, ldb, C, ldc, mr, nr, init, bias, 2);
    else
        micro_kernel_strided(kc, A, rsa, 1, Bp, ldb, C, ldc, mr, nr, init, bias, 1);
}

/* A block (mc,kc) -> Ap: ceil(mc/MR) panels, each (kc, MR), rows past mc zero. */
static void pack_A(float *restrict Ap, const float *A, size_t rsa, size_t csa, size_t mc,
                   size_t kc) {
    for (size_t i0 = 0; i0 < mc; i0 += MR) {
        size_t rows = MG_MIN((size_t)MR, mc - i0);
        for (size_t k = 0; k < kc; k++) {
            const float *a = A + i0 * rsa + k * csa;
            size_t r = 0;
            for (; r < rows; r++) Ap[k * MR + r] = a[r * rsa];
            for (; r < MR; r++) Ap[k * MR + r] = 0.0f;
        }
        Ap += kc * MR;
    }
}

/* B block (kc,nc) -> Bp: ceil(nc/NR) panels, each (kc, NR), columns past nc zero. */
static void pack_B(float *restrict Bp, const float *B, size_t rsb, size_t csb, size_t kc,
                   size_t nc) {
    for (size_t j0 = 0; j0 < nc; j0 += NR) {
        size_t cols = MG_MIN((size_t)NR, nc - j0);
        for (size_t k = 0; k < kc; k++) {
            const float *b = B + k * rsb + j0 * csb;
            size_t c = 0;
            if (csb == 1)
                for (; c < cols; c++) Bp[k * NR + c] = b[c];
            else
                for (; c < cols; c++) Bp[k * NR + c] = b[c * csb];
            for (; c < NR; c++) Bp[k * NR + c] = 0.0f;
        }
        Bp += kc * NR;
    }
}

typedef struct {
    size_t M, N, K;
    const float *A;
    size_t rsa, csa;
    const float *B;
    size_t rsb, csb;
    float *C;
    size_t ldc;
    int init;           /* the first K block sets C (to bias + product) instead of adding */
    const float *bias;  /* (N) or NULL, used with init */
    size_t mc, nc;      /* tile shape chosen for this call */
    /* B packed once for all row tiles, or NULL for each tile to pack its own: panel j (of NR
     * columns) of the K block at k0 is at Bpack + k0·npad + j·NR·kc */
    float *Bpack;
    size_t npad;        /* N rounded up to NR */
    int prepacked;      /* Bpack was packed by the caller beforehand (linear_pack_weight) */
    int direct_a;       /* whole MR-row panels of A are read in place, not packed (gemm_plan) */
    int direct_b;       /* whole NR-column panels of B are read in place (gemm_plan) */
    size_t kc;          /* the K block: KC, or KC_T (gemm_plan); Bpack is laid out in it */
} GemmJob;

static void gemm_worker(void *ctx, int ith, int nth) {
    const GemmJob *g = ctx;
    float Ap[MC_MAX * KC] __attribute__((aligned(64)));
    float Bp[KC * NC_MAX] __attribute__((aligned(64)));
    size_t tiles_m = (g->M + g->mc - 1) / g->mc, tiles_n = (g->N + g->nc - 1) / g->nc;
    size_t lo, hi;
    split_range(tiles_m * tiles_n, ith, nth, &lo, &hi);
    for (size_t tile = lo; tile < hi; tile++) {
        size_t i0 = (tile / tiles_n) * g->mc, j0 = (tile % tiles_n) * g->nc;
        size_t mc = MG_MIN(g->mc, g->M - i0), nc = MG_MIN(g->nc, g->N - j0);
        if (g->K == 0 && g->init) { /* empty sum: C = bias */
            for (size_t i = 0; i < mc; i++)
                for (size_t j = 0; j < nc; j++)
                    g->C[(i0 + i) * g->ldc + j0 + j] = g->bias ? g->bias[j0 + j] : 0.0f;
        }
        for (size_t k0 = 0; k0 < g->K; k0 += g->kc) {
            size_t kc = MG_MIN(g->kc, g->K - k0);
            int init = g->init && k0 == 0;
            const float *Bk = g->Bpack ? g->Bpack + k0 * g->npad + j0 * kc : Bp;
            size_t full_nc = !g->Bpack && g->direct_b ? nc / NR * NR : 0; /* column panels read in place */
            if (!g->Bpack && full_nc < nc)
                pack_B(Bp + full_nc * kc, g->B + k0 * g->rsb + (j0 + full_nc) * g->csb, g->rsb, g->csb, kc, nc - full_nc);
            const float *Ak = g->A + i0 * g->rsa + k0 * g->csa;
            size_t full_mc = g->direct_a ? mc / MR * MR : 0; /* row panels read in place */
            if (full_mc < mc) pack_A(Ap + full_mc * kc, Ak + full_mc * g->rsa, g->rsa, g->csa, mc - full_mc, kc);
            for (size_t jr = 0; jr < nc; jr += NR) {
                const float *bias = init && g->bias ? g->bias + j0 + jr : NULL;
                int nr = (int)MG_MIN((size_t)NR, nc - jr);
                const float *Bt = jr < full_nc ? g->B + k0 * g->rsb + j0 + jr : Bk + jr * kc;
                size_t ldb = jr < full_nc ? g->rsb : NR;
                for (size_t ir = 0; ir < mc; ir += MR) {
                    int mr = (int)MG_MIN((size_t)MR, mc - ir);
                    float *Ct = g->C + (i0 + ir) * g->ldc + j0 + jr;
                    if (ir >= full_mc)
                        micro_kernel_rows(kc, Ap + ir * kc, MR, Bt, ldb, Ct, g->ldc, mr, nr, init, bias);
                    else if (g->csa == 1)
                        micro_kernel_cols(kc, Ak + ir * g->rsa, g->rsa, Bt, ldb, Ct, g->ldc, mr, nr, init, bias);
                    else
                        micro_kernel_rows(kc, Ak + ir, g->csa, Bt, ldb, Ct, g->ldc, mr, nr, init, bias);
                }
            }
        }
    }
}

/* Reading panels of A and B in place (A needs one stride of 1, B unit column stride) beat packing
 * them at every shape measured, from the adder's K = 48 to gpt-mini's (make bench) and GPT-2's,
 * except when the other stride is a multiple of 4 KiB: then the rows fall in one L1 set and evict
 * each other (C = 2048 or 3072 forward with A in place: 199 -> 150-160 GFLOP/s). */
static int in_place_stride_ok(size_t stride) { return stride * sizeof(float) % 4096 != 0; }

/* Chooses the tiling of g for the pool's thread count. */
static void gemm_plan(Pool *pool, GemmJob *g) {
    /* Smaller tiles when there are too few to keep every thread busy; this changes who computes
     * a tile, never the arithmetic inside it. */
    size_t nth = (size_t)pool_size(pool);
    /* as few column tiles as fit NC_MAX, of equal width (576 columns: 2 x 288, not 512 + 64) */
    size_t col_panels = (g->N + NR - 1) / NR;
    size_t tiles_n = (col_panels + NC_MAX / NR - 1) / (NC_MAX / NR);
    g->nc = (col_panels + tiles_n - 1) / tiles_n * NR;
    /* As few row tiles as fit MC_MAX, rounded up so that every thread gets the same number of
     * tiles of nearly equal size. */
    size_t panels = (g->M + MR - 1) / MR;
    size_t tiles_m = (panels + MC_MAX / MR - 1) / (MC_MAX / MR);
    while ((tiles_m * tiles_n) % nth != 0 && tiles_m < panels) tiles_m++;
    g->mc = (panels + tiles_m - 1) / tiles_m * MR;
    g->direct_a = (g->csa == 1 && in_place_stride_ok(g->rsa)) || (g->rsa == 1 && in_place_stride_ok(g->csa));
    g->direct_b = g->csb == 1 && in_place_stride_ok(g->rsb);
    g->kc = g->rsa == 1 && g->csa != 1 ? KC_T : KC; /* by A's layout alone: in place or packed, one order */
}

/* Floats of shared packed B that g wants (0: its row tiles pack their own). Sharing pays when
 * several row tiles would each pack the same B; past a size limit the tiles pack their own. */
static size_t gemm_shared_floats(Pool *pool, const GemmJob *g) {
    size_t npad = (g->N + NR - 1) / NR * NR;
    if (g->direct_b) return 0; /* read in place, all but a last partial panel */
    if (pool_size(pool) < 2 || g->M <= g->mc || g->K == 0 || g->K * npad > ((size_t)8 << 20)) return 0;
    /* below ~8M multiply-adds the extra dispatch costs more than the packing it saves */
    if (g->M * g->N * g->K < ((size_t)8 << 20)) return 0;
    return g->K * npad;
}

/* gemm_shared_floats for a product not yet planned: its limits without the row tiling's (a job
 * of one row tile packs nothing), so never less than what the planned job takes. */
static size_t shared_floats_bound(int threads, size_t M, size_t N, size_t K, int direct_b) {
    size_t npad = (N + NR - 1) / NR * NR;
    if (direct_b || threads < 2 || K == 0 || K * npad > ((size_t)8 << 20)) return 0;
    if (M * N * K < ((size_t)8 << 20)) return 0;
    return K * npad;
}

size_t linear_workspace_bytes(int threads, size_t N, size_t C, size_t OC) {
    /* the jobs of linear_forward, and linear_backward's dinp and dweight, which share the
     * workspace at once; B is W transposed (packed), W itself and inp (both read in place when
     * their row stride allows) */
    size_t forward = shared_floats_bound(threads, N, OC, C, 0);
    size_t dinp = shared_floats_bound(threads, N, C, OC, in_place_stride_ok(C));
    size_t dweight = shared_floats_bound(threads, OC, C, N, in_place_stride_ok(C));
    return MG_MAX(forward, dinp + dweight) * sizeof(float);
}

/* Packs the B of up to two jobs, each thread its share of (K block, panel) pairs. */
typedef struct {
    GemmJob *jobs[2];
} PackJob;

static void gemm_pack_worker(void *ctx, int ith, int nth) {
    PackJob *pj = ctx;
    for (int j = 0; j < 2; j++) {
        GemmJob *g = pj->jobs[j];
        if (!g || !g->Bpack) continue;
        size_t panels = g->npad / NR, blocks = (g->K + g->kc - 1) / g->kc, lo, hi;
        split_range(blocks * panels, ith, nth, &lo, &hi);
        for (size_t task = lo; task < hi; task++) {
            size_t k0 = (task / panels) * g->kc, j0 = (task % panels) * NR;
            size_t kc = MG_MIN(g->kc, g->K - k0);
            pack_B(g->Bpack + k0 * g->npad + j0 * kc, g->B + k0 * g->rsb + j0 * g->csb, g->rsb, g->csb,
                   kc, MG_MIN((size_t)NR, g->N - j0));
        }
    }
}

/* Plans up to two jobs, gives those that want it shared packed B in the pool's workspace, and
 * packs it. Returns after the packing, so the jobs can run. */
static void gemm_prepare(Pool *pool, GemmJob *a, GemmJob *b) {
    GemmJob *jobs[2] = {a, b};
    size_t floats[2] = {0, 0};
    for (int j = 0; j < 2; j++)
        if (jobs[j]) {
            gemm_plan(pool, jobs[j]);
            if (jobs[j]->prepacked) continue;
            jobs[j]->Bpack = NULL;
            jobs[j]->npad = (jobs[j]->N + NR - 1) / NR * NR;
            floats[j] = gemm_shared_floats(pool, jobs[j]);
        }
    if (floats[0] + floats[1] == 0) return;
    float *ws = pool_workspace(pool, (floats[0] + floats[1]) * sizeof(float));
    if (floats[0]) jobs[0]->Bpack = ws;
    if (floats[1]) jobs[1]->Bpack = ws + floats[0];
    PackJob pj = {{floats[0] ? a : NULL, floats[1] ? b : NULL}};
    pool_run(pool, gemm_pack_worker, &pj);
}

static void gemm_run(Pool *pool, GemmJob *g) {
    if (g->M == 0 || g->N == 0) return;
    gemm_prepare(pool, g, NULL);
    pool_run(pool, gemm_worker, g);
}

void gemm_acc(Pool *pool, size_t M, size_t N, size_t K, const float *A, size_t rsa, size_t csa,
              const float *B, size_t rsb, size_t csb, float *C, size_t ldc) {
    GemmJob g = {M, N, K, A, rsa, csa, B, rsb, csb, C, ldc, 0, NULL, 0, 0, NULL, 0, 0, 0, 0, 0};
    gemm_run(pool, &g);
}

void linear_forward(Pool *pool, float *out, const float *inp, const float *weight,
                    const float *bias, size_t N, size_t C, size_t OC) {
    /* out (N,OC) = inp (N,C) · Wᵀ: B[k][j] = W[j][k], so rsb = 1 and csb = C. */
    GemmJob g = {N, OC, C, inp, C, 1, weight, 1, C, out, OC, 1, bias, 0, 0, NULL, 0, 0, 0, 0, 0};
    gemm_run(pool, &g);
}

size_t linear_packed_floats(size_t C, size_t OC) { return xmul_size(C, (OC + NR - 1) / NR * NR); }

void linear_pack_weight(Pool *pool, float *packed, const float *weight, size_t C, size_t OC) {
    CHECK(((uintptr_t)packed & 63) == 0);
    /* B of linear_forward: B[k][j] = W[j][k], as the shared packing lays it out */
    GemmJob g = {0, OC, C, NULL, 0, 0, weight, 1, C, NULL, 0, 0, NULL, 0, 0, packed, (OC + NR - 1) / NR * NR, 1, 0, 0, KC};
    PackJob pj = {{&g, NULL}};
    pool_run(pool, gemm_pack_worker, &pj);
}

void linear_forward_packed(Pool *pool, float *out, const float *inp, const float *packed, const float *bias,
                           size_t N, size_t C, size_t OC) {
    GemmJob g = {N, OC, C, inp, C, 1, NULL, 1, C, out, OC, 1, bias, 0, 0, (float *)packed,
                 (OC + NR - 1) / NR * NR, 1, 0, 0, 0};
    CHECK(((uintptr_t)packed & 63) == 0);
    if (N == 0 || OC == 0) return;
    gemm_prepare(pool, &g, NULL);
    pool_run(pool, gemm_worker, &g);
}

typedef struct {
    GemmJob dinp, dweight;
    float *dbias;
    const float *dout;
    size_t N, OC;
} BackwardJob;

/* dbias[lo, hi) += Σ_n dout (N, OC) over the rows: four vectors of columns at a time, summed in
 * registers down all N rows and then added, so dbias is not loaded and stored once per row. Each
 * column sums its rows in order, whichever thread has it. */
static void dbias_cols(float *dbias, const float *dout, size_t N, size_t OC, size_t lo, size_t hi) {
    for (size_t o = lo; o < hi; o += 4 * SIMD_W) {
        size_t left = hi - o;
        vfloat acc[4] = {{0}, {0}, {0}, {0}};
        if (left >= 4 * SIMD_W) {
            for (size_t n = 0; n < N; n++)
                for (int v = 0; v < 4; v++) acc[v] += vload(dout + n * OC + o + v * SIMD_W);
        } else {
            for (size_t n = 0; n < N; n++)
                for (size_t v = 0; v * SIMD_W < left; v++)
                    acc[v] += vload_upto(dout + n * OC + o + v * SIMD_W, left - v * SIMD_W, 0.0f);
        }
        for (size_t v = 0; v < 4 && v * SIMD_W < left; v++) {
            size_t n_left = left - v * SIMD_W;
            vstore_upto(dbias + o + v * SIMD_W, vload_upto(dbias + o + v * SIMD_W, n_left, 0.0f) + acc[v], n_left);
        }
    }
}

/* The three products are independent outputs, so one dispatch runs them all: each thread does
 * its share of the dinp tiles, of the dweight tiles, then of the dbias columns. */
static void linear_backward_worker(void *ctx, int ith, int nth) {
    BackwardJob *job = ctx;
    if (job->dinp.C && job->dinp.M && job->dinp.N) gemm_worker(&job->dinp, ith, nth);
    if (job->dweight.C && job->dweight.M && job->dweight.N) gemm_worker(&job->dweight, ith, nth);
    if (job->dbias) {
        size_t lo, hi;
        split_range(job->OC, ith, nth, &lo, &hi);
        dbias_cols(job->dbias, job->dout, job->N, job->OC, lo, hi);
    }
}

void linear_backward(Pool *pool, float *dinp, int accumulate_dinp, float *dweight, float *dbias,
                     const float *dout, const float *inp, const float *weight, size_t N, size_t C,
                     size_t OC) {
    BackwardJob job = {
        /* dinp (N,C) (+)= dout (N,OC) · W (OC,C) */
        {N, C, OC, dout, OC, 1, weight, C, 1, dinp, C, !accumulate_dinp, NULL, 0, 0, NULL, 0, 0, 0, 0, 0},
        /* dW (OC,C) += doutᵀ (OC,N) · inp (N,C): A[i][k] = dout[k][i], so rsa = 1 and csa = OC */
        {OC, C, N, dout, 1, OC, inp, C, 1, dweight, C, 0, NULL, 0, 0, NULL, 0, 0, 0, 0, 0},
        dbias, dout, N, OC};
    gemm_prepare(pool, dinp && N && C ? &job.dinp : NULL, dweight && OC && C ? &job.dweight : NULL);
    pool_run(pool, linear_backward_worker, &job);
}

typedef struct {
    float *out;
    const float *inp, *packed, *bias;
    size_t C, OC;
} VecJob;

/* Each thread takes whole NR-column panels of the packed weight. A panel's K block at k0 is kc rows
 * of NR floats (see GemmJob.Bpack), so the inner loop reads the weight contiguously, as the GEMM's
 * micro-kernel does; a last partial panel is zero-padded there, and only its real columns are
 * stored. */
static void linear_forward_vec_worker(void *ctx, int ith, int nth) {
    const VecJob *job = ctx;
    size_t C = job->C, OC = job->OC, npad = (OC + NR - 1) / NR * NR, lo, hi;
    split_range(npad / NR, ith, nth, &lo, &hi);
    for (size_t panel = lo; panel < hi; panel++) {
        size_t o0 = panel * NR;
        v8 out0 = {0}, out1 = {0};
        for (size_t k0 = 0; k0 < C; k0 += KC) {
            size_t kc = MG_MIN((size_t)KC, C - k0);
            const float *w = job->packed + k0 * npad + o0 * kc; /* (kc, NR) */
            v8 acc0 = {0}, acc1 = {0};
            for (size_t k = 0; k < kc; k++) {
                acc0 += job->inp[k0 + k] * *(const v8 *)(w + k * NR);
                acc1 += job->inp[k0 + k] * *(const v8 *)(w + k * NR + 8);
            }
            if (k0 == 0) { /* as the micro-kernel's init store: bias + the first block */
                float bias[NR] __attribute__((aligned(32))) = {0};
                if (job->bias) memcpy(bias, job->bias + o0, MG_MIN((size_t)NR, OC - o0) * sizeof(float));
                v8 bias0 = *(const v8 *)bias, bias1 = *(const v8 *)(bias + 8);
                out0 = bias0 + acc0;
                out1 = bias1 + acc1;
            } else {
                out0 += acc0;
                out1 += acc1;
            }
        }
        if (o0 + NR <= OC) {
            *(v8u *)(job->out + o0) = out0;
            *(v8u *)(job->out + o0 + 8) = out1;
        } else {
            for (size_t j = 0; o0 + j < OC; j++) job->out[o0 + j] = j < 8 ? out0[j] : out1[j - 8];
        }
    }
}

void linear_forward_vec(Pool *pool, float *out, const float *inp, const float *packed, const float *bias, size_t C,
                        size_t OC) {
    CHECK(((uintptr_t)packed & 63) == 0);
    VecJob job = {out, inp, packed, bias, C, OC};
    pool_run(pool, linear_forward_vec_worker, &job);
}

void linear_packed_row(float *row, const float *packed, size_t o, size_t C, size_t OC) {
    size_t npad = (OC + NR - 1) / NR * NR;
    for (size_t k0 = 0; k0 < C; k0 += KC) {
        size_t kc = MG_MIN((size_t)KC, C - k0);
        const float *panel = packed + k0 * npad + o / NR * NR * kc + o % NR; /* column o of (kc, NR) */
        for (size_t k = 0; k < kc; k++) row[k0 + k] = panel[k * NR];
    }
}

void linear_pack_rows(float *packed, const unsigned char *src, size_t r0, size_t r1, int transposed, size_t C,
                      size_t OC) {
    size_t npad = (OC + NR - 1) / NR * NR;
    if (r0 == 0 && !transposed) /* the padding columns of a last partial panel, once */
        for (size_t k0 = 0; k0 < C && npad > OC; k0 += KC) {
            size_t kc = MG_MIN((size_t)KC, C - k0);
            float *panel = packed + k0 * npad + (npad - NR) * kc;
            for (size_t k = 0; k < kc; k++)
                for (size_t j = OC % NR; j < NR; j++) panel[k * NR + j] = 0.0f;
        }
    size_t row_len = transposed ? OC : C;
    for (size_t r = r0; r < r1; r++) {
        const unsigned char *row = src + (r - r0) * row_len * sizeof(float);
        for (size_t e = 0; e < row_len; e++) {
            size_t o = transposed ? e : r, k = transposed ? r : e; /* W[o][k] */
            size_t k0 = k / KC * KC, kc = MG_MIN((size_t)KC, C - k0);
            float *dst = packed + k0 * npad + o / NR * NR * kc + (k - k0) * NR + o % NR;
            memcpy(dst, row + e * sizeof(float), sizeof(float));
        }
        if (transposed && npad > OC) { /* row k: its padding columns */
            size_t k = r, k0 = k / KC * KC, kc = MG_MIN((size_t)KC, C - k0);
            float *panel = packed + k0 * npad + (npad - NR) * kc + (k - k0) * NR;
            for (size_t j = OC % NR; j < NR; j++) panel[j] = 0.0f;
        }
    }
}

void linear_forward_ref(float *out, const float *inp, const float *weight, const float *bias,
                        size_t N, size_t C, size_t OC) {
    for (size_t n = 0; n < N; n++)
        for (size_t o = 0; o < OC; o++) {
            double sum = bias ? bias[o] : 0.0;
            for (size_t c = 0; c < C; c++) sum += (double)inp[n * C + c] * weight[o * C + c];
            out[n * OC + o] = (float)sum;
        }
}

void linear_backward_ref(float *dinp, float *dweight, float *dbias, const float *dout,
                         const float *inp, const float *weight, size_t N, size_t C, size_t OC) {
    if (dinp)
        for (size_t n = 0; n < N; n++)
            for (size_t c = 0; c < C; c++) {
                double sum = 0.0;
                for (size_t o = 0; o < OC; o++) sum += (double)dout[n * OC + o] * weight[o * C + c];
                dinp[n * C + c] += (float)sum;
            }
    if (dweight)
        for (size_t o = 0; o < OC; o++)
            for (size_t c = 0; c < C; c++) {
                double sum = 0.0;
                for (size_t n = 0; n < N; n++) sum += (double)dout[n * OC + o] * inp[n * C + c];
                dweight[o * C + c] += (float)sum;
            }
    if (dbias)
        for (size_t o = 0; o < OC; o++) {
            double sum = 0.0;
            for (size_t n = 0; n < N; n++) sum += dout[n * OC + o];
            dbias[o] += (float)sum;
        }
}
