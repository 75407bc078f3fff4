/* test_simd.c — simd.h's vector exp and tanh against libm, and the vector kernels' tails.
 *
 * exp and tanh are checked on a dense sweep and at the extremes a diverging run reaches (±100,
 * ±1e30, ±inf, NaN). The kernels built on them must give an element the same bits whether it sits
 * in a whole vector or in a tail, so that results never depend on where a thread's share ends:
 * each is run on whole arrays, one element at a time (every element a tail) and on 1 and 3
 * threads (shares that end mid-vector), and the bits compared.
 */
#include "harness.h"
#include "common.h"
#include "ops.h"
#include "rng.h"
#include "simd.h"
#include "threads.h"

static Pool *pool1, *pool3;

typedef enum { EXP, TANH } Fn;

static vfloat apply(Fn f, vfloat x) { return f == EXP ? vexp(x) : vtanh(x); }

/* f on x[0..n), SIMD_W at a time, the last vector through vload_n/vstore_n (an enum, not a
 * function pointer: GCC warns about the ABI of an out-of-line vector function without AVX) */
static void map(Fn f, float *y, const float *x, size_t n) {
    size_t i = 0;
    for (; i + SIMD_W <= n; i += SIMD_W) vstore(y + i, apply(f, vload(x + i)));
    if (i < n) vstore_n(y + i, apply(f, vload_n(x + i, n - i, 0.0f)), n - i);
}

static void test_exp_matches_libm(void) {
    size_t n = 1750001; /* [-87, 88] in steps of 1e-4 */
    float *x = xmalloc(n * 4), *y = xmalloc(n * 4);
    for (size_t i = 0; i < n; i++) x[i] = (float)(-87.0 + 1e-4 * (double)i);
    map(EXP, y, x, n);
    double worst = 0.0;
    float worst_x = 0.0f;
    for (size_t i = 0; i < n; i++) {
        double want = exp((double)x[i]), rel = fabs(y[i] - want) / want;
        if (rel > worst) worst = rel, worst_x = x[i];
    }
    if (!(worst < 3e-7)) printf("    max relative error %.3g at x = %.9g\n", worst, worst_x);
    EXPECT(worst < 3e-7); /* about 2 ulp */
    /* the extremes: clamped to exp(-87) and exp(88), never 0, inf or NaN; a NaN stays a NaN */
    float ext[8] = {0.0f, -100.0f, 100.0f, -1e30f, 1e30f, -INFINITY, INFINITY, NAN}, out[8];
    map(EXP, out, ext, 8);
    EXPECT(out[0] == 1.0f);
    for (int i = 1; i < 7; i++) {
        int neg = ext[i] < 0.0f;
        if (!(isfinite(out[i]) && (neg ? out[i] > 0.0f && out[i] < 1e-37f : out[i] > 1e38f)))
            printf("    exp(%g) = %g\n", ext[i], out[i]);
        EXPECT(isfinite(out[i]) && (neg ? out[i] > 0.0f && out[i] < 1e-37f : out[i] > 1e38f));
    }
    EXPECT(isnan(out[7]));
    free(x), free(y);
}

static void test_tanh_matches_libm(void) {
    size_t n = 400001; /* [-20, 20] in steps of 1e-4, both sides of the polynomial's 0.625 */
    float *x = xmalloc(n * 4), *y = xmalloc(n * 4);
    for (size_t i = 0; i < n; i++) x[i] = (float)(-20.0 + 1e-4 * (double)i);
    map(TANH, y, x, n);
    double worst = 0.0;
    float worst_x = 0.0f;
    for (size_t i = 0; i < n; i++) {
        double want = tanh((double)x[i]);
        double err = fabs(y[i] - want) / fmax(fabs(want), 1e-30);
        if (err > worst) worst = err, worst_x = x[i];
    }
    if (!(worst < 5e-7)) printf("    max relative error %.3g at x = %.9g\n", worst, worst_x);
    EXPECT(worst < 5e-7);
    float ext[10] = {0.0f, 1e-30f, -1e-30f, -100.0f, 100.0f, -1e30f, 1e30f, -INFINITY, INFINITY, NAN}, out[10];
    map(TANH, out, ext, 10);
    EXPECT(out[0] == 0.0f && out[1] == 1e-30f && out[2] == -1e-30f);
    for (int i = 3; i < 9; i++) {
        if (out[i] != (ext[i] < 0.0f ? -1.0f : 1.0f)) printf("    tanh(%g) = %g\n", ext[i], out[i]);
        EXPECT(out[i] == (ext[i] < 0.0f ? -1.0f : 1.0f));
    }
    EXPECT(isnan(out[9]));
    free(x), free(y);
}

static void test_gelu_at_the_extremes(void) {
    /* NewGELU is 0 and x far out, its gradient 0 and 1; nothing there may be NaN or inf */
    float x[8] = {-100.0f, 100.0f, -1e30f, 1e30f, -3e38f, 3e38f, -50.0f, 50.0f}, y[8], dy[8], ones[8];
    for (int i = 0; i < 8; i++) ones[i] = 1.0f;
    gelu_forward(pool1, y, x, 8);
    gelu_backward(pool1, dy, ones, x, y, 8);
    for (int i = 0; i < 8; i++) {
        int neg = x[i] < 0.0f;
        int ok = y[i] == (neg ? 0.0f : x[i]) && dy[i] == (neg ? 0.0f : 1.0f);
        if (!ok) printf("    gelu(%g) = %g, gradient %g\n", x[i], y[i], dy[i]);
        EXPECT(ok);
    }
}

/* ---------------------------------------------------------------- tails */

static void test_gelu_tails_give_the_bits_of_whole_vectors(void) {
    size_t n = 1001; /* 3 threads: shares of 334, 334, 333 that end mid-vector */
    float *x = xmalloc(n * 4), *dout = xmalloc(n * 4), *y1 = xmalloc(n * 4), *y3 = xmalloc(n * 4);
    float *each = xmalloc(n * 4), *d1 = xmalloc(n * 4), *d3 = xmalloc(n * 4), *d_each = xmalloc(n * 4);
    fill_uniform(x, n, 1, 6.0f);
    fill_uniform(dout, n, 2, 1.0f);
    gelu_forward(pool1, y1, x, n);
    gelu_forward(pool3, y3, x, n);
    gelu_backward(pool1, d1, dout, x, y1, n);
    gelu_backward(pool3, d3, dout, x, y1, n);
    for (size_t i = 0; i < n; i++) { /* one element: lane 0 of a tail */
        gelu_forward(pool1, each + i, x + i, 1);
        gelu_backward(pool1, d_each + i, dout + i, x + i, each + i, 1);
    }
    expect_same_bits("gelu, 3 threads vs 1", y3, y1, n);
    expect_same_bits("gelu, one at a time vs whole", each, y1, n);
    expect_same_bits("gelu backward, 3 threads vs 1", d3, d1, n);
    expect_same_bits("gelu backward, one at a time vs whole", d_each, d1, n);
    free(x), free(dout), free(y1), free(y3), free(each), free(d1), free(d3), free(d_each);
}

static void test_softmax_tails_give_the_bits_of_whole_vectors(void) {
    /* a row of 2W + r (W = SIMD_W) against the row of 3W that has extra elements so small that
     * exp makes them 1.6e-38, which adds nothing to a sum >= 1: the first 2W + r probabilities must
     * have the same bits, so a tail lane computes what a whole vector's lane does */
    enum { LONG = 3 * SIMD_W };
    for (size_t r = 1; r < SIMD_W; r++) {
        size_t n = 2 * SIMD_W + r;
        float row[LONG], longer[LONG];
        fill_uniform(row, n, (unsigned)r, 3.0f);
        memcpy(longer, row, n * 4);
        for (size_t k = n; k < LONG; k++) longer[k] = -1e4f;
        softmax_forward(pool1, row, 1, n, 0.5f);
        softmax_forward(pool1, longer, 1, LONG, 0.5f);
        char what[48];
        snprintf(what, sizeof what, "softmax row of %zu vs %d", n, LONG);
        expect_same_bits(what, row, longer, n);
    }
}

static void test_row_kernels_agree_across_thread_counts(void) {
    /* rows of 37 (a tail in every row), columns split 3 ways for the LayerNorm weight sums */
    size_t N = 131, C = 37, V = 29;
    float *x = xmalloc(N * C * 4), *w = xmalloc(C * 4), *b = xmalloc(C * 4), *dout = xmalloc(N * C * 4);
    fill_uniform(x, N * C, 1, 2.0f);
    fill_uniform(w, C, 2, 1.0f);
    fill_uniform(b, C, 3, 1.0f);
    fill_uniform(dout, N * C, 4, 1.0f);
    float *out[2], *mean[2], *rstd[2], *dx[2], *dw[2], *db[2], *drop[2], *probs[2];
    int *targets = xmalloc(N * sizeof(int));
    for (size_t n = 0; n < N; n++) targets[n] = n % 5 == 0 ? -1 : (int)(n * 7 % V);
    for (int k = 0; k < 2; k++) {
        Pool *p = k ? pool3 : pool1;
        out[k] = xmalloc(N * C * 4), mean[k] = xmalloc(N * 4), rstd[k] = xmalloc(N * 4);
        dx[k] = xcalloc(N * C, 4), dw[k] = xcalloc(C, 4), db[k] = xcalloc(C, 4), drop[k] = xmalloc(N * C * 4);
        probs[k] = xmalloc(N * V * 4);
        layernorm_forward(p, out[k], mean[k], rstd[k], x, w, b, N, C);
        layernorm_backward(p, dx[k], dw[k], db[k], dout, x, w, mean[k], rstd[k], N, C);
        residual_dropout_forward(p, drop[k], x, dout, N * C, 0.3f, 99);
        size_t count;
        crossentropy_forward(p, probs[k], x, targets, N, V, &count); /* x as (N, V) logits */
        crossentropy_backward(p, probs[k], probs[k], targets, N, V, count);
    }
    expect_same_bits("layernorm out", out[1], out[0], N * C);
    expect_same_bits("layernorm dinp", dx[1], dx[0], N * C);
    expect_same_bits("layernorm dweight", dw[1], dw[0], C);
    expect_same_bits("layernorm dbias", db[1], db[0], C);
    expect_same_bits("residual dropout", drop[1], drop[0], N * C);
    expect_same_bits("crossentropy dlogits", probs[1], probs[0], N * V);
    for (int k = 0; k < 2; k++)
        free(out[k]), free(mean[k]), free(rstd[k]), free(dx[k]), free(dw[k]), free(db[k]), free(drop[k]), free(probs[k]);
    free(x), free(w), free(b), free(dout), free(targets);
}

static void test_dropout_mask_is_the_scalar_hash(void) {
    /* the vector hash must keep exactly the elements drop_hash (rng.h) keeps */
    size_t n = 1003;
    float *ones = xmalloc(n * 4), *out = xmalloc(n * 4);
    for (size_t i = 0; i < n; i++) ones[i] = 1.0f;
    float p = 0.25f;
    dropout_forward(pool3, out, ones, n, p, 1234);
    uint32_t threshold = (uint32_t)((double)p * 4294967296.0);
    size_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        float want = drop_hash(1234, (uint32_t)i) >= threshold ? 1.0f / (1.0f - p) : 0.0f;
        bad += out[i] != want;
    }
    if (bad) printf("    %zu of %zu elements differ from the scalar mask\n", bad, n);
    EXPECT(bad == 0);
    free(ones), free(out);
}

static void test_horizontal_sum_order_is_fixed(void) {
    /* values whose float sum depends on the order: the documented tree of halves gives this value */
    float lanes[SIMD_W];
    for (int k = 0; k < SIMD_W; k++) lanes[k] = k % 3 == 0 ? 1e8f : k % 3 == 1 ? -1e8f : 0.75f + (float)k;
    float tree[SIMD_W];
    memcpy(tree, lanes, sizeof tree);
    for (int w = SIMD_W / 2; w >= 1; w /= 2)
        for (int k = 0; k < w; k++) tree[k] += tree[k + w];
    EXPECT(vhsum(vload(lanes)) == tree[0]);
    float tail[3] = {1.0f, 2.0f, 3.0f};
    vfloat t = vload_n(tail, 3, -7.0f);
    EXPECT(t[0] == 1.0f && t[2] == 3.0f && t[3] == -7.0f && t[SIMD_W - 1] == -7.0f);
    float dst[SIMD_W + 1] = {0};
    vstore_n(dst, vsplat(5.0f), 3);
    EXPECT(dst[2] == 5.0f && dst[3] == 0.0f && dst[SIMD_W] == 0.0f);
}

int main(void) {
    pool1 = pool_create(1);
    pool3 = pool_create(3);
    RUN(test_exp_matches_libm);
    RUN(test_tanh_matches_libm);
    RUN(test_gelu_at_the_extremes);
    RUN(test_gelu_tails_give_the_bits_of_whole_vectors);
    RUN(test_softmax_tails_give_the_bits_of_whole_vectors);
    RUN(test_row_kernels_agree_across_thread_counts);
    RUN(test_dropout_mask_is_the_scalar_hash);
    RUN(test_horizontal_sum_order_is_fixed);
    pool_free(pool1);
    pool_free(pool3);
    return harness_finish();
}
