/* test_ops.c — every layer kernel's backward against central finite differences of its forward.
 *
 * Each check builds L = Σ out·R for a fixed random R, so d L / d out = R is what backward is
 * given, and compares backward's input gradients with (L(x+h) - L(x-h)) / 2h per element. Sizes are
 * small, odd and all distinct so that a swapped index cannot pass.
 */
#include "harness.h"
#include "common.h"
#include "matmul.h"
#include "ops.h"
#include "rng.h"
#include "threads.h"

static Pool *pool;

typedef double (*loss_fn)(void *ctx);

/* Compares analytic[i] with the central difference of f in x[i] for every i. */
static void fd_check(const char *what, float *x, size_t n, const float *analytic, loss_fn f,
                     void *ctx, float h) {
    float *numeric = xmalloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) {
        float saved = x[i];
        x[i] = saved + h;
        double plus = f(ctx);
        x[i] = saved - h;
        double minus = f(ctx);
        x[i] = saved;
        numeric[i] = (float)((plus - minus) / (2.0 * (double)h));
    }
    expect_close(what, analytic, numeric, n, 2e-3, 2e-2);
    free(numeric);
}

static double dot(const float *a, const float *b, size_t n) {
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += (double)a[i] * b[i];
    return s;
}

/* ---------------------------------------------------------------- linear */

typedef struct {
    float *out, *inp, *w, *b, *r;
    size_t N, C, OC;
} LinearCtx;

static double linear_loss(void *p) {
    LinearCtx *c = p;
    linear_forward(pool, c->out, c->inp, c->w, c->b, c->N, c->C, c->OC);
    return dot(c->out, c->r, c->N * c->OC);
}

static void test_linear_gradients(void) {
    LinearCtx c = {0};
    c.N = 5, c.C = 7, c.OC = 3;
    c.out = xmalloc(c.N * c.OC * 4), c.inp = xmalloc(c.N * c.C * 4), c.w = xmalloc(c.OC * c.C * 4);
    c.b = xmalloc(c.OC * 4), c.r = xmalloc(c.N * c.OC * 4);
    fill_uniform(c.inp, c.N * c.C, 1, 1.0f);
    fill_uniform(c.w, c.OC * c.C, 2, 1.0f);
    fill_uniform(c.b, c.OC, 3, 1.0f);
    fill_uniform(c.r, c.N * c.OC, 4, 1.0f);
    float *dinp = xcalloc(c.N * c.C, 4), *dw = xcalloc(c.OC * c.C, 4), *db = xcalloc(c.OC, 4);
    linear_backward(pool, dinp, 1, dw, db, c.r, c.inp, c.w, c.N, c.C, c.OC);
    fd_check("linear dinp", c.inp, c.N * c.C, dinp, linear_loss, &c, 1e-2f);
    fd_check("linear dweight", c.w, c.OC * c.C, dw, linear_loss, &c, 1e-2f);
    fd_check("linear dbias", c.b, c.OC, db, linear_loss, &c, 1e-2f);
    free(c.out), free(c.inp), free(c.w), free(c.b), free(c.r), free(dinp), free(dw), free(db);
}

/* ---------------------------------------------------------------- embeddings */

typedef struct {
    float *out, *wte, *wpe, *r;
    int *idx;
    size_t B, T, C;
} EncCtx;

static double encoder_loss(void *p) {
    EncCtx *c = p;
    encoder_forward(pool, c->out, c->idx, c->wte, c->wpe, c->B, c->T, c->C);
    return dot(c->out, c->r, c->B * c->T * c->C);
}

static void test_encoder_gradients(void) {
    size_t V = 6, block = 5;
    EncCtx c = {0};
    c.B = 2, c.T = 4, c.C = 3;
    int idx[8] = {1, 4, 1, 0, 5, 2, 2, 1}; /* repeated tokens must accumulate */
    c.idx = idx;
    c.out = xmalloc(c.B * c.T * c.C * 4), c.r = xmalloc(c.B * c.T * c.C * 4);
    c.wte = xmalloc(V * c.C * 4), c.wpe = xmalloc(block * c.C * 4);
    fill_uniform(c.wte, V * c.C, 1, 1.0f);
    fill_uniform(c.wpe, block * c.C, 2, 1.0f);
    fill_uniform(c.r, c.B * c.T * c.C, 3, 1.0f);
    float *dwte = xcalloc(V * c.C, 4), *dwpe = xcalloc(block * c.C, 4);
    encoder_backward(pool, dwte, dwpe, c.r, c.idx, c.B, c.T, c.C);
    fd_check("dwte", c.wte, V * c.C, dwte, encoder_loss, &c, 1e-2f);
    fd_check("dwpe", c.wpe, block * c.C, dwpe, encoder_loss, &c, 1e-2f);
    free(c.out), free(c.r), free(c.wte), free(c.wpe), free(dwte), free(dwpe);
}

/* ---------------------------------------------------------------- layernorm */

typedef struct {
    float *out, *mean, *rstd, *inp, *w, *b, *r;
    size_t N, C;
} LnCtx;

static double layernorm_loss(void *p) {
    LnCtx *c = p;
    layernorm_forward(pool, c->out, c->mean, c->rstd, c->inp, c->w, c->b, c->N, c->C);
    return dot(c->out, c->r, c->N * c->C);
}

static void test_layernorm_gradients(void) {
    LnCtx c = {0};
    c.N = 5, c.C = 7;
    c.out = xmalloc(c.N * c.C * 4), c.inp = xmalloc(c.N * c.C * 4), c.r = xmalloc(c.N * c.C * 4);
    c.mean = xmalloc(c.N * 4), c.rstd = xmalloc(c.N * 4), c.w = xmalloc(c.C * 4), c.b = xmalloc(c.C * 4);
    fill_uniform(c.inp, c.N * c.C, 1, 2.0f);
    for (size_t i = 0; i < c.N * c.C; i++) c.inp[i] += 3.0f; /* a mean far from 0 */
    fill_uniform(c.w, c.C, 2, 1.0f);
    fill_uniform(c.b, c.C, 3, 1.0f);
    fill_uniform(c.r, c.N * c.C, 4, 1.0f);
    layernorm_loss(&c);
    /* the forward itself: each row normalised has mean 0 and variance 1 before the affine map */
    for (size_t n = 0; n < c.N; n++) {
        double s = 0.0, s2 = 0.0;
        for (size_t i = 0; i < c.C; i++) {
            double z = (c.inp[n * c.C + i] - c.mean[n]) * c.rstd[n];
            s += z;
            s2 += z * z;
        }
        EXPECT(fabs(s / c.C) < 1e-5 && fabs(s2 / c.C - 1.0) < 1e-3);
    }
    float *dinp = xcalloc(c.N * c.C, 4), *dw = xcalloc(c.C, 4), *db = xcalloc(c.C, 4);
    layernorm_backward(pool, dinp, dw, db, c.r, c.inp, c.w, c.mean, c.rstd, c.N, c.C);
    fd_check("layernorm dinp", c.inp, c.N * c.C, dinp, layernorm_loss, &c, 1e-2f);
    fd_check("layernorm dweight", c.w, c.C, dw, layernorm_loss, &c, 1e-2f);
    fd_check("layernorm dbias", c.b, c.C, db, layernorm_loss, &c, 1e-2f);
    free(c.out), free(c.inp), free(c.r), free(c.mean), free(c.rstd), free(c.w), free(c.b);
    free(dinp), free(dw), free(db);
}

/* ---------------------------------------------------------------- attention */

typedef struct {
    float *out, *att, *qkv, *r;
    size_t B, T, C, NH;
    float p;
    uint32_t key;
} AttnCtx;

static double attention_loss(void *p) {
    AttnCtx *c = p;
    attention_forward(pool, c->out, c->att, c->qkv, c->B, c->T, c->C, c->NH, c->p, c->key, 0);
    return dot(c->out, c->r, c->B * c->T * c->C);
}

static void attention_case(float p) {
    AttnCtx c = {0};
    c.B = 2, c.T = 5, c.C = 6, c.NH = 2, c.p = p, c.key = 12345;
    size_t n_qkv = c.B * c.T * 3 * c.C, n_out = c.B * c.T * c.C;
    c.out = xmalloc(n_out * 4), c.r = xmalloc(n_out * 4), c.qkv = xmalloc(n_qkv * 4);
    c.att = xmalloc(c.B * c.NH * c.T * c.T * 4);
    fill_uniform(c.qkv, n_qkv, 1, 1.5f);
    fill_uniform(c.r, n_out, 2, 1.0f);
    attention_loss(&c);
    /* causal softmax rows: sum to 1, zero above the diagonal */
    for (size_t u = 0; u < c.B * c.NH; u++)
        for (size_t t = 0; t < c.T; t++) {
            double s = 0.0;
            for (size_t t2 = 0; t2 < c.T; t2++) {
                float a = c.att[(u * c.T + t) * c.T + t2];
                if (t2 > t) EXPECT(a == 0.0f);
                s += a;
            }
            EXPECT(fabs(s - 1.0) < 1e-5);
        }
    float *dqkv = xmalloc(n_qkv * 4);
    fill_uniform(dqkv, n_qkv, 99, 100.0f); /* backward writes every element */
    attention_backward(pool, dqkv, c.r, c.qkv, c.att, c.B, c.T, c.C, c.NH, c.p, c.key);
    fd_check(p > 0 ? "attention dqkv (dropout 0.3)" : "attention dqkv", c.qkv, n_qkv, dqkv,
             attention_loss, &c, 1e-2f);
    free(c.out), free(c.r), free(c.qkv), free(c.att), free(dqkv);
}

static void test_attention_gradients(void) { attention_case(0.0f); }
static void test_attention_gradients_with_dropout(void) { attention_case(0.3f); }

/* ---------------------------------------------------------------- GELU */

typedef struct {
    float *out, *inp, *r;
    size_t n;
} EltCtx;

static double gelu_loss(void *p) {
    EltCtx *c = p;
    gelu_forward(pool, c->out, c->inp, c->n);
    return dot(c->out, c->r, c->n);
}

static void test_gelu_gradients(void) {
    EltCtx c = {0};
    c.n = 23;
    c.out = xmalloc(c.n * 4), c.inp = xmalloc(c.n * 4), c.r = xmalloc(c.n * 4);
    fill_uniform(c.inp, c.n, 1, 4.0f);
    fill_uniform(c.r, c.n, 2, 1.0f);
    gelu_loss(&c);
    /* known values of the tanh GELU */
    float x[3] = {-1.0f, 0.5f, 2.0f}, y[3], want[3] = {-0.158808f, 0.345714f, 1.954597f};
    gelu_forward(pool, y, x, 3);
    expect_close("gelu values", y, want, 3, 1e-5, 0);
    float *dinp = xmalloc(c.n * 4);
    gelu_backward(pool, dinp, c.r, c.inp, c.out, c.n);
    fd_check("gelu dinp", c.inp, c.n, dinp, gelu_loss, &c, 1e-3f);
    free(c.out), free(c.inp), free(c.r), free(dinp);
}

static void test_gelu_is_accurate(void) {
    /* against NewGELU and its derivative in double, across the range where tanh saturates */
    size_t n = 240001;
    float *x = xmalloc(n * 4), *y = xmalloc(n * 4), *ones = xmalloc(n * 4), *dx = xmalloc(n * 4);
    for (size_t i = 0; i < n; i++) x[i] = (float)(-12.0 + 1e-4 * (double)i), ones[i] = 1.0f;
    gelu_forward(pool, y, x, n);
    gelu_backward(pool, dx, ones, x, y, n);
    double worst = 0.0, worst_grad = 0.0;
    for (size_t i = 0; i < n; i++) {
        double v = x[i], du = 0.7978845608028654 * (1.0 + 3.0 * 0.044715 * v * v);
        double th = tanh(0.7978845608028654 * (v + 0.044715 * v * v * v));
        worst = fmax(worst, fabs(y[i] - 0.5 * v * (1.0 + th)));
        worst_grad = fmax(worst_grad, fabs(dx[i] - (0.5 * (1.0 + th) + 0.5 * v * (1.0 - th * th) * du)));
    }
    if (!(worst < 1e-6 && worst_grad < 5e-6)) printf("    max abs error %.3g, gradient %.3g\n", worst, worst_grad);
    EXPECT(worst < 1e-6 && worst_grad < 5e-6);
    float special[3] = {0.0f, 100.0f, NAN}, out[3];
    gelu_forward(pool, out, special, 3);
    EXPECT(out[0] == 0.0f && out[1] == 100.0f && isnan(out[2])); /* a NaN is never hidden */
    /* far tails, as a diverging run reaches them: NewGELU is 0 and x, its gradient 0 and 1 (also
     * past |x| = 1.8e19, where x² overflows: test_simd.c) */
    float tails[6] = {-50.0f, -1e13f, -1e18f, 50.0f, 1e13f, 1e18f}, tail_out[6], tail_grad[6];
    gelu_forward(pool, tail_out, tails, 6);
    gelu_backward(pool, tail_grad, ones, tails, tail_out, 6);
    for (int i = 0; i < 6; i++) {
        int negative = tails[i] < 0.0f;
        if (!(tail_out[i] == (negative ? 0.0f : tails[i]) && tail_grad[i] == (negative ? 0.0f : 1.0f)))
            printf("    gelu(%g) = %g, gradient %g\n", tails[i], tail_out[i], tail_grad[i]);
        EXPECT(tail_out[i] == (negative ? 0.0f : tails[i]) && tail_grad[i] == (negative ? 0.0f : 1.0f));
    }
    free(x), free(y), free(ones), free(dx);
}

static void test_layernorm_backward_over_many_rows(void) {
    /* dweight and dbias are summed in blocks of rows: 150 rows are two whole blocks and a part.
     * Against the gradients in double, and the same bits on 1 and 2 threads. */
    size_t N = 150, C = 40;
    float *inp = xmalloc(N * C * 4), *dout = xmalloc(N * C * 4), *out = xmalloc(N * C * 4);
    float *w = xmalloc(C * 4), *b = xmalloc(C * 4), *mean = xmalloc(N * 4), *rstd = xmalloc(N * 4);
    fill_uniform(inp, N * C, 5, 2.0f);
    fill_uniform(dout, N * C, 6, 1.0f);
    fill_uniform(w, C, 7, 1.0f);
    fill_uniform(b, C, 8, 1.0f);
    layernorm_forward(pool, out, mean, rstd, inp, w, b, N, C);
    Pool *one = pool_create(1);
    float *dinp[2], *dw[2], *db[2];
    for (int p = 0; p < 2; p++) {
        dinp[p] = xcalloc(N * C, 4), dw[p] = xcalloc(C, 4), db[p] = xcalloc(C, 4);
        layernorm_backward(p ? pool : one, dinp[p], dw[p], db[p], dout, inp, w, mean, rstd, N, C);
    }
    expect_same_bits("dinp, 1 vs 2 threads", dinp[1], dinp[0], N * C);
    expect_same_bits("dweight, 1 vs 2 threads", dw[1], dw[0], C);
    expect_same_bits("dbias, 1 vs 2 threads", db[1], db[0], C);
    float *want_dinp = xmalloc(N * C * 4), *want_dw = xmalloc(C * 4), *want_db = xmalloc(C * 4);
    for (size_t c = 0; c < C; c++) {
        double sw = 0.0, sb = 0.0;
        for (size_t n = 0; n < N; n++) {
            sw += (double)dout[n * C + c] * ((double)inp[n * C + c] - mean[n]) * rstd[n];
            sb += dout[n * C + c];
        }
        want_dw[c] = (float)sw, want_db[c] = (float)sb;
    }
    for (size_t n = 0; n < N; n++) {
        double mean_d = 0.0, mean_dn = 0.0;
        for (size_t c = 0; c < C; c++) {
            double norm = ((double)inp[n * C + c] - mean[n]) * rstd[n], d = (double)dout[n * C + c] * w[c];
            mean_d += d / C, mean_dn += d * norm / C;
        }
        for (size_t c = 0; c < C; c++) {
            double norm = ((double)inp[n * C + c] - mean[n]) * rstd[n], d = (double)dout[n * C + c] * w[c];
            want_dinp[n * C + c] = (float)((d - mean_d - norm * mean_dn) * rstd[n]);
        }
    }
    expect_close("dinp", dinp[1], want_dinp, N * C, 1e-5, 1e-4);
    expect_close("dweight", dw[1], want_dw, C, 1e-4, 1e-4);
    expect_close("dbias", db[1], want_db, C, 1e-4, 1e-4);
    for (int p = 0; p < 2; p++) free(dinp[p]), free(dw[p]), free(db[p]);
    free(inp), free(dout), free(out), free(w), free(b), free(mean), free(rstd);
    free(want_dinp), free(want_dw), free(want_db);
    pool_free(one);
}

/* ---------------------------------------------------------------- dropout */

static double dropout_loss(void *p) {
    EltCtx *c = p;
    dropout_forward(pool, c->out, c->inp, c->n, 0.4f, 777);
    return dot(c->out, c->r, c->n);
}

static void test_dropout_gradients_with_fixed_mask(void) {
    EltCtx c = {0};
    c.n = 41;
    c.out = xmalloc(c.n * 4), c.inp = xmalloc(c.n * 4), c.r = xmalloc(c.n * 4);
    fill_uniform(c.inp, c.n, 1, 1.0f);
    fill_uniform(c.r, c.n, 2, 1.0f);
    float *dinp = xmalloc(c.n * 4);
    dropout_backward(pool, dinp, c.r, c.n, 0.4f, 777);
    fd_check("dropout dinp", c.inp, c.n, dinp, dropout_loss, &c, 1e-2f);
    free(c.out), free(c.inp), free(c.r), free(dinp);
}

static void test_dropout_statistics(void) {
    /* inverted dropout: about 1-p kept, kept values scaled by 1/(1-p), so the mean is preserved */
    size_t n = 200000;
    float *x = xmalloc(n * 4), *y = xmalloc(n * 4), *z = xmalloc(n * 4);
    for (size_t i = 0; i < n; i++) x[i] = 1.0f;
    dropout_forward(pool, y, x, n, 0.1f, 42);
    size_t kept = 0;
    double sum = 0.0;
    for (size_t i = 0; i < n; i++) {
        if (y[i] != 0.0f) {
            kept++;
            EXPECT(fabsf(y[i] - 1.0f / 0.9f) < 1e-6f);
        }
        sum += y[i];
    }
    EXPECT(fabs((double)kept / n - 0.9) < 0.005);
    EXPECT(fabs(sum / n - 1.0) < 0.01);
    /* another key gives another mask; the same key the same one */
    dropout_forward(pool, z, x, n, 0.1f, 43);
    EXPECT(memcmp(y, z, n * 4) != 0);
    dropout_forward(pool, z, x, n, 0.1f, 42);
    EXPECT(memcmp(y, z, n * 4) == 0);
    /* residual + dropout equals its two parts */
    residual_dropout_forward(pool, z, x, x, n, 0.1f, 42);
    for (size_t i = 0; i < n; i++) y[i] += 1.0f;
    expect_same_bits("residual_dropout", z, y, n);
    free(x), free(y), free(z);
}

/* ---------------------------------------------------------------- cross-entropy */

typedef struct {
    float *probs, *logits;
    int *targets;
    size_t N, V;
} CeCtx;

static double ce_loss(void *p) {
    CeCtx *c = p;
    size_t count;
    return crossentropy_forward(pool, c->probs, c->logits, c->targets, c->N, c->V, &count);
}

static void test_crossentropy_gradients(void) {
    CeCtx c = {0};
    c.N = 6, c.V = 5;
    int targets[6] = {3, -1, 0, 4, -1, 1};
    c.targets = targets;
    c.probs = xmalloc(c.N * c.V * 4), c.logits = xmalloc(c.N * c.V * 4);
    fill_uniform(c.logits, c.N * c.V, 1, 3.0f);
    size_t count;
    double loss = crossentropy_forward(pool, c.probs, c.logits, c.targets, c.N, c.V, &count);
    EXPECT(count == 4);
    /* the mean of -log softmax over counted rows, computed here directly */
    double want = 0.0;
    for (size_t n = 0; n < c.N; n++) {
        if (targets[n] < 0) continue;
        double z = 0.0;
        for (size_t v = 0; v < c.V; v++) z += exp(c.logits[n * c.V + v]);
        want += -(c.logits[n * c.V + (size_t)targets[n]] - log(z));
    }
    EXPECT(fabs(loss - want / 4) < 1e-6);
    float *dlogits = xmalloc(c.N * c.V * 4);
    crossentropy_backward(pool, dlogits, c.probs, c.targets, c.N, c.V, count);
    fd_check("crossentropy dlogits", c.logits, c.N * c.V, dlogits, ce_loss, &c, 1e-2f);
    /* the model runs it in place, turning probs into dlogits */
    float *in_place = xmalloc(c.N * c.V * 4);
    ce_loss(&c);
    memcpy(in_place, c.probs, c.N * c.V * 4);
    crossentropy_backward(pool, in_place, in_place, c.targets, c.N, c.V, count);
    expect_same_bits("crossentropy in place", in_place, dlogits, c.N * c.V);
    free(in_place);
    /* no counted target: loss 0 and no gradient, instead of a division by zero */
    int none[6] = {-1, -1, -1, -1, -1, -1};
    c.targets = none;
    EXPECT(ce_loss(&c) == 0.0);
    crossentropy_backward(pool, dlogits, c.probs, none, c.N, c.V, 0);
    for (size_t i = 0; i < c.N * c.V; i++) EXPECT(dlogits[i] == 0.0f);
    free(c.probs), free(c.logits), free(dlogits);
}

int main(void) {
    pool = pool_create(2);
    RUN(test_linear_gradients);
    RUN(test_encoder_gradients);
    RUN(test_layernorm_gradients);
    RUN(test_layernorm_backward_over_many_rows);
    RUN(test_attention_gradients);
    RUN(test_attention_gradients_with_dropout);
    RUN(test_gelu_is_accurate);
    RUN(test_gelu_gradients);
    RUN(test_dropout_gradients_with_fixed_mask);
    RUN(test_dropout_statistics);
    RUN(test_crossentropy_gradients);
    pool_free(pool);
    return harness_finish();
}
