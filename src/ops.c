/* ops.c — forward and backward of every GPT layer except the Linear products (matmul.c).
 *
 * Ports the pieces of minGPT's model.py: the embeddings, nn.LayerNorm, CausalSelfAttention's
 * core, NewGELU, nn.Dropout and F.cross_entropy(ignore_index=-1). Sums that feed a result are
 * taken in a fixed order so that the same inputs always give the same bits. The elementwise and
 * row loops are written in simd.h's vectors, their tails through the same vector code, so
 * an element's bits never depend on where a thread's share of the elements ends.
 */
#include "ops.h"

#include <math.h>
#include <string.h>

#include "common.h"
#include "rng.h"
#include "simd.h"

#define LN_EPS 1e-5

/* ---------------------------------------------------------------- embeddings */

typedef struct {
    float *out, *dwte, *dwpe;
    const float *dout, *wte, *wpe;
    const int *idx;
    size_t B, T, C;
} EncoderJob;

static void encoder_forward_rows(void *ctx, size_t lo, size_t hi) {
    const EncoderJob *j = ctx;
    for (size_t bt = lo; bt < hi; bt++) {
        float *out_bt = j->out + bt * j->C;
        const float *wte_ix = j->wte + (size_t)j->idx[bt] * j->C;
        const float *wpe_t = j->wpe + (bt % j->T) * j->C;
        for (size_t c = 0; c < j->C; c += SIMD_W)
            vstore_upto(out_bt + c, vload_upto(wte_ix + c, j->C - c, 0.0f) + vload_upto(wpe_t + c, j->C - c, 0.0f),
                        j->C - c);
    }
}

void encoder_forward(Pool *pool, float *out, const int *idx, const float *wte, const float *wpe,
                     size_t B, size_t T, size_t C) {
    EncoderJob j = {out, NULL, NULL, NULL, wte, wpe, idx, B, T, C};
    pool_for(pool, B * T, encoder_forward_rows, &j);
}

/* Threads own columns: a token may appear in many rows, so rows cannot be split. */
static void encoder_backward_cols(void *ctx, size_t lo, size_t hi) {
    const EncoderJob *j = ctx;
    for (size_t bt = 0; bt < j->B * j->T; bt++) {
        const float *dout_bt = j->dout + bt * j->C;
        float *dwte_ix = j->dwte + (size_t)j->idx[bt] * j->C;
        float *dwpe_t = j->dwpe + (bt % j->T) * j->C;
        for (size_t c = lo; c < hi; c += SIMD_W) {
            vfloat d = vload_upto(dout_bt + c, hi - c, 0.0f);
            vstore_upto(dwte_ix + c, vload_upto(dwte_ix + c, hi - c, 0.0f) + d, hi - c);
            vstore_upto(dwpe_t + c, vload_upto(dwpe_t + c, hi - c, 0.0f) + d, hi - c);
        }
    }
}

void encoder_backward(Pool *pool, float *dwte, float *dwpe, const float *dout, const int *idx,
                      size_t B, size_t T, size_t C) {
    EncoderJob j = {NULL, dwte, dwpe, dout, NULL, NULL, idx, B, T, C};
    pool_for(pool, C, encoder_backward_cols, &j);
}

/* ---------------------------------------------------------------- layernorm */

typedef struct {
    float *out, *mean, *rstd, *dinp, *dweight, *dbias;
    const float *inp, *weight, *bias, *dout, *mean_in, *rstd_in;
    float *partial; /* backward: (blocks, 2, C) column sums per LN_BLOCK rows */
    size_t N, C;
} LnJob;

/* Sums of a row in double, in SIMD_W vector lanes: a single running sum is one long chain of
 * dependent adds (latency-bound, and the compiler may not reorder it). The order is fixed by C
 * alone (lane c % SIMD_W, then simd.h's fixed lane order), so results do not depend on threads. */
static double row_sum(const float *x, size_t C) {
    vdouble lo = {0}, hi = {0}; /* the vector's low and high lanes (simd.h) */
    size_t c = 0;
    for (; c + SIMD_W <= C; c += SIMD_W) {
        vfloat v = vload(x + c);
        lo += vwiden_lo(v);
        hi += vwiden_hi(v);
    }
    if (c < C) {
        vfloat v = vload_n(x + c, C - c, 0.0f);
        lo += vwiden_lo(v);
        hi += vwiden_hi(v);
    }
    return vhsum64(lo, hi);
}

/* Σ (x[c] - m)² in double, lanes as row_sum's */
static double row_sq_dev(const float *x, double m, size_t C) {
    vdouble lo = {0}, hi = {0}, mv = m - (vdouble){0};
    size_t c = 0;
    for (; c + SIMD_W <= C; c += SIMD_W) {
        vfloat v = vload(x + c);
        vdouble d_lo = vwiden_lo(v) - mv, d_hi = vwiden_hi(v) - mv;
        lo += d_lo * d_lo;
        hi += d_hi * d_hi;
    }
    if (c < C) { /* the missing lanes would add m², so they are dropped */
        ptrdiff_t n = (ptrdiff_t)(C - c);
        vfloat v = vload_n(x + c, C - c, 0.0f);
        vdouble d_lo = vkeep64_n(vwiden_lo(v) - mv, n), d_hi = vkeep64_n(vwiden_hi(v) - mv, n - SIMD_W / 2);
        lo += d_lo * d_lo;
        hi += d_hi * d_hi;
    }
    return vhsum64(lo, hi);
}

static void layernorm_forward_rows(void *ctx, size_t lo, size_t hi) {
    const LnJob *j = ctx;
    size_t C = j->C;
    for (size_t n = lo; n < hi; n++) {
        const float *x = j->inp + n * C;
        /* Two passes in double: the variance of a row with a large mean stays accurate. */
        double m = row_sum(x, C) / (double)C;
        double var = row_sq_dev(x, m, C) / (double)C; /* biased, as torch.nn.LayerNorm */
        float s = (float)(1.0 / sqrt(var + LN_EPS));
        float mf = (float)m;
        float *out_n = j->out + n * C;
        for (size_t c = 0; c < C; c += SIMD_W) {
            size_t left = C - c;
            vfloat norm = (vload_upto(x + c, left, 0.0f) - mf) * s;
            vstore_upto(out_n + c, norm * vload_upto(j->weight + c, left, 0.0f) + vload_upto(j->bias + c, left, 0.0f),
                        left);
        }
        j->mean[n] = mf;
        j->rstd[n] = s;
    }
}

void layernorm_forward(Pool *pool, float *out, float *mean, float *rstd, const float *inp,
                       const float *weight, const float *bias, size_t N, size_t C) {
    LnJob j = {out, mean, rstd, NULL, NULL, NULL, inp, weight, bias, NULL, NULL, NULL, NULL, N, C};
    pool_for(pool, N, layernorm_forward_rows, &j);
}

/* dweight and dbias are sums over all rows. Each block of LN_BLOCK rows sums its rows into its own
 * partial (while its rows' dinp are made, so dout and inp are read once), and the partials are
 * then added in block order: the blocks depend on N alone, so any thread count gives the same
 * bits, and no thread has to read rows another thread just wrote. */
#define LN_BLOCK 64

/* One row: dinp_n += its gradient; part_w += norm·dout and part_b += dout, column by column. */
static void layernorm_backward_row(float *restrict dinp_n, float *restrict part_w, float *restrict part_b,
                                   const float *restrict dout_n, const float *restrict inp_n,
                                   const float *restrict weight, float m, float s, size_t C) {
    /* With norm = (x - mean)·rstd and dnorm = dout·weight:
     * dx = rstd · (dnorm - mean(dnorm) - norm · mean(dnorm · norm)). Sums in double lanes as
     * row_sum's; a tail's missing lanes have dout = weight = 0, so dnorm = 0 adds nothing. */
    vdouble acc_lo = {0}, acc_hi = {0}, acc_norm_lo = {0}, acc_norm_hi = {0};
    for (size_t c = 0; c < C; c += SIMD_W) {
        size_t left = C - c;
        vfloat norm = (vload_upto(inp_n + c, left, 0.0f) - m) * s;
        vfloat dnorm = vload_upto(dout_n + c, left, 0.0f) * vload_upto(weight + c, left, 0.0f);
        vdouble dnorm_lo = vwiden_lo(dnorm), dnorm_hi = vwiden_hi(dnorm);
        acc_lo += dnorm_lo;
        acc_hi += dnorm_hi;
        acc_norm_lo += dnorm_lo * vwiden_lo(norm);
        acc_norm_hi += dnorm_hi * vwiden_hi(norm);
    }
    float dnorm_mean = (float)(vhsum64(acc_lo, acc_hi) / (double)C);
    float dnorm_norm_mean = (float)(vhsum64(acc_norm_lo, acc_norm_hi) / (double)C);
    for (size_t c = 0; c < C; c += SIMD_W) {
        size_t left = C - c;
        vfloat dout = vload_upto(dout_n + c, left, 0.0f);
        vfloat norm = (vload_upto(inp_n + c, left, 0.0f) - m) * s;
        vfloat dnorm = dout * vload_upto(weight + c, left, 0.0f);
        vstore_upto(dinp_n + c, vload_upto(dinp_n + c, left, 0.0f) + (dnorm - dnorm_mean - norm * dnorm_norm_mean) * s,
                    left);
        vstore_upto(part_w + c, vload_upto(part_w + c, left, 0.0f) + norm * dout, left);
        vstore_upto(part_b + c, vload_upto(part_b + c, left, 0.0f) + dout, left);
    }
}

/* the rows of blocks [lo, hi); partial (blocks, 2, C) gets each block's column sums of norm·dout
 * (for dweight) and of dout (for dbias) */
static void layernorm_backward_blocks(void *ctx, size_t lo, size_t hi) {
    const LnJob *j = ctx;
    size_t C = j->C;
    for (size_t block = lo; block < hi; block++) {
        float *part_w = j->partial + block * 2 * C, *part_b = part_w + C;
        memset(part_w, 0, 2 * C * sizeof(float)); /* part_w and part_b */
        for (size_t n = block * LN_BLOCK; n < MG_MIN(j->N, (block + 1) * LN_BLOCK); n++)
            layernorm_backward_row(j->dinp + n * C, part_w, part_b, j->dout + n * C, j->inp + n * C, j->weight,
                                   j->mean_in[n], j->rstd_in[n], C);
    }
}

/* columns [lo, hi): dweight, dbias += the blocks' partials, in block order */
static void layernorm_backward_reduce(void *ctx, size_t lo, size_t hi) {
    const LnJob *j = ctx;
    size_t C = j->C, blocks = (j->N + LN_BLOCK - 1) / LN_BLOCK;
    for (size_t c = lo; c < hi; c += SIMD_W) { /* a column per lane */
        size_t left = hi - c;
        vfloat sum_w = {0}, sum_b = {0};
        for (size_t block = 0; block < blocks; block++) {
            sum_w += vload_upto(j->partial + block * 2 * C + c, left, 0.0f);
            sum_b += vload_upto(j->partial + block * 2 * C + C + c, left, 0.0f);
        }
        vstore_upto(j->dweight + c, vload_upto(j->dweight + c, left, 0.0f) + sum_w, left);
        vstore_upto(j->dbias + c, vload_upto(j->dbias + c, left, 0.0f) + sum_b, left);
    }
}

void layernorm_backward(Pool *pool, float *dinp, float *dweight, float *dbias, const float *dout,
                        const float *inp, const float *weight, const float *mean,
                        const float *rstd, size_t N, size_t C) {
    size_t blocks = (N + LN_BLOCK - 1) / LN_BLOCK;
    float *partial = pool_workspace(pool, xmul_size(blocks * 2, C * sizeof(float)));
    LnJob j = {NULL, NULL, NULL, dinp, dweight, dbias, inp, weight, NULL, dout, mean, rstd, partial, N, C};
    pool_for(pool, blocks, layernorm_backward_blocks, &j);
    pool_for(pool, C, layernorm_backward_reduce, &j);
}

/* ---------------------------------------------------------------- dropout */

static inline uint32_t drop_threshold(float p) { return (uint32_t)((double)p * 4294967296.0); }

typedef struct {
    float *out;
    const float *inp, *residual;
    float p;
    uint32_t key;
} DropJob;

/* drop_hash (rng.h) of indices index0 .. index0 + SIMD_W - 1, lane by lane: the same integer
 * steps, so the same bits. */
static inline vuint drop_hash_v(uint32_t key, uint32_t index0) {
    vuint x = ((vuint)viota() + index0) * 0x9E3779B9u ^ key;
    x ^= x >> 16;
    x *= 0x21F0AAADu;
    x ^= x >> 15;
    x *= 0x735A2D97u;
    x ^= x >> 15;
    return x;
}

/* the dropout multipliers (0 or scale) of elements index0 .. index0 + SIMD_W - 1 */
static inline vfloat drop_mask_v(uint32_t key, uint32_t index0, uint32_t threshold, float scale) {
    return vselect(vuge(drop_hash_v(key, index0), threshold - (vuint){0}), vsplat(scale), vsplat(0.0f));
}

/* inp (n), residual (n) or NULL -> out [lo, hi) = residual (or 0) + inp·mask/(1-p) */
static void dropout_elems(void *ctx, size_t lo, size_t hi) {
    const DropJob *j = ctx;
    float *out = j->out;
    const float *inp = j->inp, *residual = j->residual;
    uint32_t threshold = drop_threshold(j->p), key = j->key;
    float scale = 1.0f / (1.0f - j->p);
    for (size_t i = lo; i < hi; i += SIMD_W) {
        size_t left = hi - i;
        vfloat x = vload_upto(inp + i, left, 0.0f);
        if (j->p > 0.0f) x *= drop_mask_v(key, (uint32_t)i, threshold, scale);
        if (residual) x = vload_upto(residual + i, left, 0.0f) + x;
        vstore_upto(out + i, x, left);
    }
}

void dropout_forward(Pool *pool, float *out, const float *inp, size_t n, float p, uint32_t key) {
    if (p <= 0.0f && out == inp) return;
    CHECK(n <= UINT32_MAX);
    DropJob j = {out, inp, NULL, p, key};
    pool_for(pool, n, dropout_elems, &j);
}

void dropout_backward(Pool *pool, float *dinp, const float *dout, size_t n, float p, uint32_t key) {
    /* The same mask and scale as forward: d(x·mask·scale)/dx = mask·scale. */
    dropout_forward(pool, dinp, dout, n, p, key);
}

void residual_dropout_forward(Pool *pool, float *out, const float *residual, const float *inp,
                              size_t n, float p, uint32_t key) {
    CHECK(n <= UINT32_MAX);
    DropJob j = {out, inp, residual, p, key};
    pool_for(pool, n, dropout_elems, &j);
}

/* ---------------------------------------------------------------- attention */

/* Each (batch, head) unit is one thread's, done in full, as five small matrix products over the
 * unit's (T, hs) slices of q, k and v. The products run on a register-blocked kernel (4 rows x 16
 * columns in vector registers) that skips the blocks the causal mask makes zero. Sums run in a
 * fixed order, so results do not depend on which thread does a unit. */

typedef float v8 __attribute__((vector_size(32)));
typedef float v8u __attribute__((vector_size(32), aligned(4), may_alias));

typedef enum {
    FULL,    /* every (i, j, p) */
    COLS_LE, /* only columns j <= i are wanted (others may hold garbage) */
    K_LE,    /* row i of A is zero past p = i: the sum stops at the row block's last row */
    K_GE,    /* row i of A is zero before p = i: the sum starts at the row block's first row */
} Causal;

#define SG_MR 4
#define SG_NR 16

/* C (m,n) (=, or += if accumulate) A (m,k) · B (k,n), where A(i,p) = A[i·ars + p·acs], row p of B
 * starts at B + p·ldb (contiguous, and readable for b_cols >= n columns: a padded row lets the
 * last columns run in vector registers too), row i of C at C + i·ldc. Row i is row row0 + i of
 * the causal pattern (a product that starts part way down the matrix). Every element sums its p in
 * order with one fused multiply-add each, vector lane or scalar, so the path does not change bits. */
static void small_gemm(size_t m, size_t n, size_t k, const float *A, size_t ars, size_t acs,
                       const float *B, size_t ldb, size_t b_cols, float *C, size_t ldc, int accumulate,
                       Causal causal, size_t row0) {
    for (size_t i0 = 0; i0 < m; i0 += SG_MR) {
        size_t mr = MG_MIN((size_t)SG_MR, m - i0), r0 = row0 + i0;
        size_t n_end = causal == COLS_LE ? MG_MIN(n, r0 + mr) : n;
        size_t p_lo = causal == K_GE ? r0 : 0, p_hi = causal == K_LE ? MG_MIN(k, r0 + mr) : k;
        const float *A_i = A + i0 * ars;
        size_t j0 = 0;
        for (; j0 < n_end && j0 + SG_NR <= b_cols; j0 += SG_NR) {
            v8 acc[SG_MR][2];
            for (int r = 0; r < SG_MR; r++) acc[r][0] = acc[r][1] = (v8){0};
            for (size_t p = p_lo; p < p_hi; p++) {
                v8 b0 = *(const v8u *)(B + p * ldb + j0), b1 = *(const v8u *)(B + p * ldb + j0 + 8);
                for (int r = 0; r < SG_MR; r++) {
                    float a = (size_t)r < mr ? A_i[r * ars + p * acs] : 0.0f;
                    acc[r][0] += a * b0;
                    acc[r][1] += a * b1;
                }
            }
            size_t nr = MG_MIN((size_t)SG_NR, n_end - j0);
            if (nr < SG_NR) { /* a padded last block: store only the columns that exist */
                float tile[SG_MR][SG_NR];
                for (size_t r = 0; r < mr; r++) {
                    *(v8u *)&tile[r][0] = acc[r][0];
                    *(v8u *)&tile[r][8] = acc[r][1];
                    float *c = C + (i0 + r) * ldc + j0;
                    for (size_t j = 0; j < nr; j++) c[j] = accumulate ? c[j] + tile[r][j] : tile[r][j];
                }
                continue;
            }
            for (size_t r = 0; r < mr; r++) {
                v8u *c0 = (v8u *)(C + (i0 + r) * ldc + j0), *c1 = (v8u *)(C + (i0 + r) * ldc + j0 + 8);
                if (accumulate) {
                    *c0 += acc[r][0];
                    *c1 += acc[r][1];
                } else {
                    *c0 = acc[r][0];
                    *c1 = acc[r][1];
                }
            }
        }
        for (; j0 < n_end; j0++) /* the last columns, one at a time */
            for (size_t r = 0; r < mr; r++) {
                float sum = 0.0f;
                for (size_t p = p_lo; p < p_hi; p++) sum = MULADD(A_i[r * ars + p * acs], B[p * ldb + j0], sum);
                float *c = C + (i0 + r) * ldc + j0;
                *c = accumulate ? *c + sum : sum;
            }
    }
}

/* Softmax over row[0..n) scaled by `scale`, in place: row = exp(scale·row - max) / sum. The max
 * and the sum run in SIMD_W vector lanes (a single running sum or max is a chain of dependent
 * operations), then across the lanes in simd.h's fixed order. attention_forward and
 * attention_decode both use this, so a position gets the same bits either way. */
static void softmax_row(float *row, size_t n, float scale) {
    vfloat lane_max = vsplat(-INFINITY);
    size_t c = 0;
    for (; c + SIMD_W <= n; c += SIMD_W) lane_max = vmax(lane_max, vload(row + c) * scale);
    if (c < n) lane_max = vmax(lane_max, vload_n(row + c, n - c, -INFINITY) * scale);
    vfloat maxval = vsplat(vhmax(lane_max)), lane_sum = {0};
    for (c = 0; c + SIMD_W <= n; c += SIMD_W) {
        vfloat e = vexp(vload(row + c) * scale - maxval);
        vstore(row + c, e);
        lane_sum += e;
    }
    if (c < n) {
        vfloat e = vexp(vload_n(row + c, n - c, 0.0f) * scale - maxval);
        vstore_n(row + c, e, n - c);
        lane_sum += vselect(vmask_n(n - c), e, vsplat(0.0f));
    }
    float inv = 1.0f / vhsum(lane_sum);
    for (c = 0; c + SIMD_W <= n; c += SIMD_W) vstore(row + c, vload(row + c) * inv);
    if (c < n) vstore_n(row + c, vload_n(row + c, n - c, 0.0f) * inv, n - c);
}

/* Σ a[t]·b[t] over [0, n), in lanes as softmax_row's sum. */
static float dot_lanes(const float *a, const float *b, size_t n) {
    vfloat lane = {0};
    size_t c = 0;
    for (; c + SIMD_W <= n; c += SIMD_W) lane += vload(a + c) * vload(b + c);
    if (c < n) lane += vload_n(a + c, n - c, 0.0f) * vload_n(b + c, n - c, 0.0f);
    return vhsum(lane);
}

typedef struct {
    float *x;
    size_t n;
    float scale;
} SoftmaxJob;

static void softmax_rows_job(void *ctx, size_t lo, size_t hi) {
    const SoftmaxJob *j = ctx;
    for (size_t r = lo; r < hi; r++) softmax_row(j->x + r * j->n, j->n, j->scale);
}

void softmax_forward(Pool *pool, float *x, size_t N, size_t n, float scale) {
    SoftmaxJob j = {x, n, scale};
    pool_for(pool, N, softmax_rows_job, &j);
}

typedef struct {
    float *out, *att, *dqkv;
    const float *qkv, *dout, *att_in;
    size_t B, T, C, NH;
    float p;
    uint32_t key;
    float *workspace; /* (nth, attn_workspace_floats) */
    size_t t_first;   /* forward: the first query row computed */
} AttnJob;

/* A transposed head's rows are padded to whole SG_NR blocks, so that q·kᵀ and dy·vᵀ run all their
 * columns in vector registers even for short T (the adder's T = 6). */
static size_t padded_T(size_t T) { return (T + SG_NR - 1) / SG_NR * SG_NR; }

/* per thread: a transposed head (hs, padded_T), dropout(att) (T, T), its gradient (T, T) and the
 * dropout masks (T, T) (backward; forward keeps one mask row) */
static size_t attn_workspace_floats(size_t T, size_t hs) { return hs * padded_T(T) + 3 * T * T; }

size_t ops_workspace_bytes(int threads, size_t B, size_t T, size_t C, size_t NH) {
    size_t N = B * T, nth = (size_t)(threads > 0 ? threads : 1);
    size_t attention = nth * attn_workspace_floats(T, C / NH) * sizeof(float);
    size_t layernorm = (N + LN_BLOCK - 1) / LN_BLOCK * 2 * C * sizeof(float);
    size_t crossentropy = N * sizeof(double);
    return MG_MAX(attention, MG_MAX(layernorm, crossentropy));
}

/* mask_t (T) = attention-dropout multipliers 0 or 1/(1-p) for query row t of a unit (t2 <= t) */
static void attn_drop_row(const AttnJob *job, size_t unit, size_t t, float *mask_t) {
    uint32_t threshold = drop_threshold(job->p), key = job->key;
    float scale = 1.0f / (1.0f - job->p);
    uint32_t base = (uint32_t)((unit * job->T + t) * job->T);
    for (size_t t2 = 0; t2 <= t; t2 += SIMD_W)
        vstore_upto(mask_t + t2, drop_mask_v(key, base + (uint32_t)t2, threshold, scale), t + 1 - t2);
}

/* (hs, padded_T) <- the (T, hs) slice of one head at qkv_part with row stride C3. The padding
 * columns are left as they are: zero_padding sets them once per call, and no unit writes them. */
static void transpose_head(float *dst, const float *qkv_part, size_t T, size_t hs, size_t C3) {
    size_t Tp = padded_T(T);
    for (size_t t2 = 0; t2 < T; t2++)
        for (size_t i = 0; i < hs; i++) dst[i * Tp + t2] = qkv_part[t2 * C3 + i];
}

static void zero_padding(float *head_t, size_t T, size_t hs) {
    size_t Tp = padded_T(T);
    for (size_t i = 0; i < hs; i++)
        for (size_t t2 = T; t2 < Tp; t2++) head_t[i * Tp + t2] = 0.0f;
}

static void attention_forward_worker(void *ctx, int ith, int nth) {
    const AttnJob *job = ctx;
    size_t T = job->T, C = job->C, NH = job->NH, hs = C / NH, C3 = 3 * C, t0 = job->t_first;
    float qk_scale = (float)(1.0 / sqrt((double)hs));
    float *keyT = job->workspace + (size_t)ith * attn_workspace_floats(T, hs); /* (hs, Tp) */
    float *att_drop = keyT + hs * padded_T(T);                                /* (T, T) */
    float *mask_t = att_drop + T * T;                                         /* (T) */
    zero_padding(keyT, T, hs);
    size_t lo, hi;
    split_range(job->B * NH, ith, nth, &lo, &hi);
    for (size_t unit = lo; unit < hi; unit++) {
        size_t b = unit / NH, h = unit % NH;
        const float *query = job->qkv + b * T * C3 + h * hs, *key = query + C, *value = query + 2 * C;
        float *att = job->att ? job->att + unit * T * T : att_drop; /* without dropout, att_drop is free */
        /* preatt = q·kᵀ, rows t >= t0, columns t2 <= t */
        transpose_head(keyT, key, T, hs, C3);
        small_gemm(T - t0, T, hs, query + t0 * C3, C3, 1, keyT, padded_T(T), padded_T(T), att + t0 * T, T, 0,
                   COLS_LE, t0);
        for (size_t t = t0; t < T; t++) {
            float *att_t = att + t * T, *drop_t = att_drop + t * T;
            softmax_row(att_t, t + 1, qk_scale);
            for (size_t t2 = t + 1; t2 < T; t2++) att_t[t2] = 0.0f;
            if (job->p > 0.0f) {
                attn_drop_row(job, unit, t, mask_t);
                for (size_t t2 = 0; t2 <= t; t2 += SIMD_W)
                    vstore_upto(drop_t + t2, vload_upto(att_t + t2, t + 1 - t2, 0.0f) * vload_upto(mask_t + t2, t + 1 - t2, 0.0f),
                                t + 1 - t2);
                for (size_t t2 = t + 1; t2 < T; t2++) drop_t[t2] = 0.0f;
            }
        }
        /* y = dropout(att) · v */
        const float *p_att = job->p > 0.0f ? att_drop : att;
        small_gemm(T - t0, hs, T, p_att + t0 * T, T, 1, value, C3, hs, job->out + (b * T + t0) * C + h * hs, C, 0,
                   K_LE, t0);
    }
}

void attention_forward(Pool *pool, float *out, float *att, const float *qkv, size_t B, size_t T,
                       size_t C, size_t NH, float p, uint32_t key, size_t t_first) {
    CHECK(C % NH == 0 && t_first < T && (t_first == 0 || p <= 0.0f) && (att || p <= 0.0f));
    CHECK(p <= 0.0f || B * NH * T * T <= UINT32_MAX);
    size_t per_thread = attn_workspace_floats(T, C / NH);
    float *ws = pool_workspace(pool, (size_t)pool_size(pool) * per_thread * sizeof(float));
    AttnJob job = {out, att, NULL, qkv, NULL, NULL, B, T, C, NH, p, key, ws, t_first};
    pool_run(pool, attention_forward_worker, &job);
}

static void attention_backward_worker(void *ctx, int ith, int nth) {
    const AttnJob *job = ctx;
    size_t T = job->T, C = job->C, NH = job->NH, hs = C / NH, C3 = 3 * C;
    float qk_scale = (float)(1.0 / sqrt((double)hs));
    float *valueT = job->workspace + (size_t)ith * attn_workspace_floats(T, hs);       /* (hs, Tp) */
    float *att_drop = valueT + hs * padded_T(T);                                       /* (T, T) */
    float *datt = att_drop + T * T;                                                    /* (T, T) */
    float *mask = datt + T * T;                                                        /* (T, T) */
    zero_padding(valueT, T, hs);
    size_t lo, hi;
    split_range(job->B * NH, ith, nth, &lo, &hi);
    for (size_t unit = lo; unit < hi; unit++) {
        size_t b = unit / NH, h = unit % NH;
        const float *query = job->qkv + b * T * C3 + h * hs, *key = query + C, *value = query + 2 * C;
        float *dquery = job->dqkv + b * T * C3 + h * hs, *dkey = dquery + C, *dvalue = dquery + 2 * C;
        const float *dout = job->dout + b * T * C + h * hs;
        const float *att = job->att_in + unit * T * T;
        const float *p_att = att;
        if (job->p > 0.0f) { /* remake dropout(att), keeping the masks for datt below */
            for (size_t t = 0; t < T; t++) {
                float *mask_t = mask + t * T;
                attn_drop_row(job, unit, t, mask_t);
                for (size_t t2 = 0; t2 <= t; t2 += SIMD_W)
                    vstore_upto(att_drop + t * T + t2,
                                vload_upto(att + t * T + t2, t + 1 - t2, 0.0f) * vload_upto(mask_t + t2, t + 1 - t2, 0.0f),
                                t + 1 - t2);
                for (size_t t2 = t + 1; t2 < T; t2++) att_drop[t * T + t2] = 0.0f;
            }
            p_att = att_drop;
        }
        /* y = P·v with P = dropout(att): dP = dy·vᵀ, dv = Pᵀ·dy */
        transpose_head(valueT, value, T, hs, C3);
        small_gemm(T, T, hs, dout, C, 1, valueT, padded_T(T), padded_T(T), datt, T, 0, COLS_LE, 0);
        small_gemm(T, hs, T, p_att, 1, T, dout, C, hs, dvalue, C3, 0, K_GE, 0);
        /* through dropout and softmax: dpreatt = att·(datt - Σ att·datt), times 1/sqrt(hs) */
        for (size_t t = 0; t < T; t++) {
            const float *att_t = att + t * T;
            float *datt_t = datt + t * T;
            if (job->p > 0.0f)
                for (size_t t2 = 0; t2 <= t; t2 += SIMD_W)
                    vstore_upto(datt_t + t2,
                                vload_upto(datt_t + t2, t + 1 - t2, 0.0f) * vload_upto(mask + t * T + t2, t + 1 - t2, 0.0f),
                                t + 1 - t2);
            float s = dot_lanes(att_t, datt_t, t + 1);
            for (size_t t2 = 0; t2 <= t; t2 += SIMD_W) {
                size_t left = t + 1 - t2;
                vfloat a = vload_upto(att_t + t2, left, 0.0f);
                vstore_upto(datt_t + t2, a * (vload_upto(datt_t + t2, left, 0.0f) - s) * qk_scale, left);
            }
            for (size_t t2 = t + 1; t2 < T; t2++) datt_t[t2] = 0.0f;
        }
        /* preatt = q·kᵀ: dq = dpre·k, dk = dpreᵀ·q */
        small_gemm(T, hs, T, datt, T, 1, key, C3, hs, dquery, C3, 0, K_LE, 0);
        small_gemm(T, hs, T, datt, 1, T, query, C3, hs, dkey, C3, 0, K_GE, 0);
    }
}

void attention_backward(Pool *pool, float *dqkv, const float *dout, const float *qkv,
                        const float *att, size_t B, size_t T, size_t C, size_t NH, float p,
                        uint32_t key) {
    CHECK(C % NH == 0);
    size_t per_thread = attn_workspace_floats(T, C / NH);
    float *ws = pool_workspace(pool, (size_t)pool_size(pool) * per_thread * sizeof(float));
    AttnJob job = {NULL, NULL, dqkv, qkv, dout, att, B, T, C, NH, p, key, ws, 0};
    pool_run(pool, attention_backward_worker, &job);
}

typedef struct {
    float *out;
    const float *qkv, *key_t, *value;
    size_t B, len, T_max, C, NH;
    float *workspace; /* (nth, T_max) */
} DecodeJob;

static void attention_decode_worker(void *ctx, int ith, int nth) {
    const DecodeJob *job = ctx;
    size_t C = job->C, NH = job->NH, hs = C / NH, len = job->len, T_max = job->T_max;
    float qk_scale = (float)(1.0 / sqrt((double)hs));
    float *att = job->workspace + (size_t)ith * T_max;
    size_t lo, hi;
    split_range(job->B * NH, ith, nth, &lo, &hi);
    for (size_t unit = lo; unit < hi; unit++) {
        size_t b = unit / NH, h = unit % NH;
        const float *query = job->qkv + b * 3 * C + h * hs;
        const float *key_t = job->key_t + unit * hs * T_max;       /* (hs, T_max) */
        const float *value = job->value + b * T_max * C + h * hs; /* rows of stride C */
        /* the steps of attention_forward's row, in its order */
        for (size_t t2 = 0; t2 < len; t2++) att[t2] = 0.0f;
        for (size_t i = 0; i < hs; i++) {
            float q = query[i];
            const float *key_i = key_t + i * T_max;
            for (size_t t2 = 0; t2 < len; t2++) att[t2] = MULADD(q, key_i[t2], att[t2]);
        }
        softmax_row(att, len, qk_scale);
        float *out = job->out + b * C + h * hs;
        for (size_t i = 0; i < hs; i++) out[i] = 0.0f;
        for (size_t t2 = 0; t2 < len; t2++) {
            float a = att[t2];
            const float *value_t2 = value + t2 * C;
            for (size_t i = 0; i < hs; i++) out[i] = MULADD(a, value_t2[i], out[i]);
        }
    }
}

void attention_decode(Pool *pool, float *out, const float *qkv, const float *key_t,
                      const float *value, size_t B, size_t len, size_t T_max, size_t C, size_t NH) {
    CHECK(C % NH == 0 && len >= 1 && len <= T_max);
    float *ws = pool_workspace(pool, (size_t)pool_size(pool) * T_max * sizeof(float));
    DecodeJob job = {out, qkv, key_t, value, B, len, T_max, C, NH, ws};
    pool_run(pool, attention_decode_worker, &job);
}

/* ---------------------------------------------------------------- GELU */

#define GELU_SCALE 0.7978845608028654f /* sqrt(2/pi) */
/* Below this u, sigmoid(2u) < e^-88 is zero to float precision, and vexp(-2u) would be clamped:
 * without the cut, its floor times x³ in the derivative gives a diverged run's huge activations
 * (x < -1e12) finite, growing gradients where NewGELU's are 0. */
#define GELU_U_ZERO -44.0f

typedef struct {
    float *out;
    const float *inp, *dout, *gelu; /* gelu: the forward's output, for the backward */
} GeluJob;

/* NewGELU of a vector of elements, as x·sigmoid(2u) = 0.5·x·(1 + tanh u) */
static inline vfloat gelu_v(vfloat x) {
    vfloat u = GELU_SCALE * (x + 0.044715f * x * x * x);
    vfloat out = x / (1.0f + vexp(-2.0f * u));
    return vselect(vlt(u, vsplat(GELU_U_ZERO)), 0.0f * x, out);
}

/* its derivative, d/dx x·sig(2u) = sig + 2x·sig·(1 - sig)·du/dx, with sig = sig(2u) read off the
 * forward's output as out / x: the backward then needs no exp, which was most of its cost. Where
 * that division says nothing, sig is what the forward's formula gives: 1/2 at (and, to float
 * precision, near) x = 0, 1 where out is x (large x, +inf), 0 where out is 0 (u below the cut). */
static inline vfloat gelu_grad_v(vfloat x, vfloat out) {
    vfloat sig = out / x;
    vfloat ax = (vfloat)((vint)x & INT32_MAX);
    sig = vselect(vlt(ax, vsplat(1e-30f)), vsplat(0.5f), sig); /* also x = 0; out may be subnormal */
    sig = vselect(veq(out, x), vsplat(1.0f), sig);
    vfloat slope = 2.0f * x * sig * (1.0f - sig) * GELU_SCALE * (1.0f + 3.0f * 0.044715f * x * x);
    /* where sig is 0 or 1 the slope is 0, also past |x| = 1.8e19 where x² overflows (0·inf) */
    return sig + vselect(veq(sig, vsplat(0.0f)) | veq(sig, vsplat(1.0f)), vsplat(0.0f), slope);
}

/* inp (n) -> out [lo, hi) */
static void gelu_forward_elems(void *ctx, size_t lo, size_t hi) {
    const GeluJob *j = ctx;
    float *out = j->out; /* locals: a store through out could otherwise alias *j */
    const float *inp = j->inp;
    size_t i = lo;
    for (; i + SIMD_W <= hi; i += SIMD_W) vstore(out + i, gelu_v(vload(inp + i)));
    if (i < hi) vstore_n(out + i, gelu_v(vload_n(inp + i, hi - i, 0.0f)), hi - i);
}

void gelu_forward(Pool *pool, float *out, const float *inp, size_t n) {
    GeluJob j = {out, inp, NULL, NULL};
    pool_for(pool, n, gelu_forward_elems, &j);
}

/* dout (n), inp (n), out = gelu(inp) (n) -> dinp [lo, hi) (dinp may be dout) */
static void gelu_backward_elems(void *ctx, size_t lo, size_t hi) {
    const GeluJob *j = ctx;
    float *dinp = j->out;
    const float *inp = j->inp, *dout = j->dout, *out = j->gelu;
    size_t i = lo;
    for (; i + SIMD_W <= hi; i += SIMD_W) vstore(dinp + i, gelu_grad_v(vload(inp + i), vload(out + i)) * vload(dout + i));
    if (i < hi) {
        size_t n = hi - i;
        vstore_n(dinp + i, gelu_grad_v(vload_n(inp + i, n, 0.0f), vload_n(out + i, n, 0.0f)) * vload_n(dout + i, n, 0.0f), n);
    }
}

void gelu_backward(Pool *pool, float *dinp, const float *dout, const float *inp, const float *out, size_t n) {
    GeluJob j = {dinp, inp, dout, out};
    pool_for(pool, n, gelu_backward_elems, &j);
}

/* ---------------------------------------------------------------- cross-entropy */

typedef struct {
    float *probs, *dlogits;
    const float *logits;
    const int *targets;
    double *row_loss; /* (N) */
    size_t V;
    float inv_count;
} CeJob;

/* logits (N,V), targets (N) -> probs rows [lo, hi) (V), row_loss [lo, hi) */
static void crossentropy_forward_rows(void *ctx, size_t lo, size_t hi) {
    const CeJob *j = ctx;
    size_t V = j->V;
    for (size_t n = lo; n < hi; n++) {
        const float *logits_n = j->logits + n * V;
        float *probs_n = j->probs + n * V;
        vfloat lane_max = vsplat(-INFINITY);
        for (size_t v = 0; v < V; v += SIMD_W) lane_max = vmax(lane_max, vload_upto(logits_n + v, V - v, -INFINITY));
        float maxval = vhmax(lane_max);
        /* the sum in double lanes: a vocabulary of 50,257 adds thousands of terms per lane */
        vdouble sum_lo = {0}, sum_hi = {0};
        for (size_t v = 0; v < V; v += SIMD_W) {
            size_t left = V - v; /* past the row, lanes are dropped */
            vfloat e = vexp(vload_upto(logits_n + v, left, 0.0f) - maxval);
            vstore_upto(probs_n + v, e, left);
            sum_lo += vkeep64_n(vwiden_lo(e), (ptrdiff_t)left);
            sum_hi += vkeep64_n(vwiden_hi(e), (ptrdiff_t)left - SIMD_W / 2);
        }
        double sum = vhsum64(sum_lo, sum_hi);
        float inv = (float)(1.0 / sum);
        for (size_t v = 0; v < V; v += SIMD_W) vstore_upto(probs_n + v, vload_upto(probs_n + v, V - v, 0.0f) * inv, V - v);
        int target = j->targets[n];
        CHECK(target < (int)V);
        /* log-softmax from the logits, not log(prob): exact even when the prob underflows */
        j->row_loss[n] = target < 0 ? 0.0 : -((double)logits_n[target] - maxval - log(sum));
    }
}

double crossentropy_forward(Pool *pool, float *probs, const float *logits, const int *targets,
                            size_t N, size_t V, size_t *count) {
    double *row_loss = pool_workspace(pool, N * sizeof(double));
    CeJob j = {probs, NULL, logits, targets, row_loss, V, 0.0f};
    pool_for(pool, N, crossentropy_forward_rows, &j);
    double total = 0.0;
    size_t counted = 0;
    for (size_t n = 0; n < N; n++) /* in row order, whatever the thread count */
        if (targets[n] >= 0) {
            total += row_loss[n];
            counted++;
        }
    *count = counted;
    return counted ? total / (double)counted : 0.0;
}

static void crossentropy_backward_rows(void *ctx, size_t lo, size_t hi) {
    const CeJob *j = ctx;
    size_t V = j->V;
    float inv_count = j->inv_count;
    for (size_t n = lo; n < hi; n++) {
        float *dlogits_n = j->dlogits + n * V;
        const float *probs_n = j->probs + n * V;
        int target = j->targets[n];
        if (target < 0) {
            memset(dlogits_n, 0, V * sizeof(float));
            continue;
        }
        float p_target = probs_n[target]; /* read before dlogits (maybe the same row) is written */
        size_t v = 0;
        for (; v + SIMD_W <= V; v += SIMD_W) vstore(dlogits_n + v, vload(probs_n + v) * inv_count);
        if (v < V) vstore_n(dlogits_n + v, vload_n(probs_n + v, V - v, 0.0f) * inv_count, V - v);
        dlogits_n[target] = (p_target - 1.0f) * j->inv_count;
    }
}

void crossentropy_backward(Pool *pool, float *dlogits, const float *probs, const int *targets,
                           size_t N, size_t V, size_t count) {
    CeJob j = {(float *)probs, dlogits, NULL, targets, NULL, V, count ? 1.0f / (float)count : 0.0f};
    pool_for(pool, N, crossentropy_backward_rows, &j);
}
