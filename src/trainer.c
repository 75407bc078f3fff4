/* trainer.c — AdamW with minGPT's groups, gradient clipping and the training loop.
 *
 * The update is torch.optim.AdamW's, step for step: decoupled decay p -= lr·wd·p first, then
 * bias-corrected moments. The gradient norm is summed in double over fixed 8 Ki-float chunks, each
 * in vector lanes, and the chunks are added in order, so its value does not depend on the
 * thread count. Clipping scales the gradient inside the AdamW pass rather than in a pass of its own.
 * Both passes are simd.h vector loops; AdamW's tails (where a thread's share of a tensor ends) go
 * through the same vector code, so an element's update does not depend on the thread count.
 */
#include "trainer.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dist.h"
#include "common.h"
#include "simd.h"

/* Small enough that a small model's few chunks still split evenly between threads. */
#define NORM_CHUNK 8192

TrainConfig train_config_default(void) {
    TrainConfig c = {0};
    c.learning_rate = 5e-4f;
    c.beta1 = 0.9f;
    c.beta2 = 0.95f;
    c.eps = 1e-8f;
    c.weight_decay = 0.1f;
    c.grad_clip = 1.0f;
    c.warmup_iters = 0;
    c.lr_decay = LR_CONSTANT;
    c.lr_decay_iters = 0;
    c.min_lr = 5e-5f;
    return c;
}

void trainer_init(Trainer *tr, GPT *model, const TrainConfig *config) {
    memset(tr, 0, sizeof *tr);
    tr->config = *config;
    tr->params = &model->params;
    tr->m = table_alloc(&model->params);
    tr->v = table_alloc(&model->params);
    tr->n_norm_parts = (model->params.numel + NORM_CHUNK - 1) / NORM_CHUNK;
    tr->norm_parts = xcalloc(tr->n_norm_parts, sizeof(double));
}

size_t trainer_bytes(const GPTConfig *config, int accum, size_t B, size_t T) {
    size_t params = gpt_count_params(config);
    size_t bytes = xmul_size(params, 2 * sizeof(float)); /* m, v */
    bytes += (params + NORM_CHUNK - 1) / NORM_CHUNK * sizeof(double);
    if (accum > 1) bytes += xmul_size(params, sizeof(float)); /* grad_sum */
    /* trainer_run's idx and targets: every micro-batch of a step, on every rank */
    return bytes + xmul_size(xmul_size(B, T), (size_t)accum * (size_t)dist_size() * 2 * sizeof(int));
}

void trainer_free(Trainer *tr) {
    free(tr->m);
    free(tr->v);
    free(tr->norm_parts);
    free(tr->grad_sum);
    memset(tr, 0, sizeof *tr);
}

float trainer_lr(const TrainConfig *c, long step) {
    /* nanoGPT's get_lr */
    if (c->warmup_iters > 0 && step < c->warmup_iters)
        return c->learning_rate * (float)(step + 1) / (float)(c->warmup_iters + 1);
    if (c->lr_decay != LR_COSINE) return c->learning_rate;
    if (step >= c->lr_decay_iters) return c->min_lr;
    double ratio = (double)(step - c->warmup_iters) / (double)(c->lr_decay_iters - c->warmup_iters);
    double coeff = 0.5 * (1.0 + cos(3.141592653589793 * ratio));
    return (float)(c->min_lr + coeff * (c->learning_rate - c->min_lr));
}

typedef struct {
    Trainer *tr;
    const float *grad;
    size_t numel;
} NormJob;

static void norm_worker(void *ctx, int ith, int nth) {
    NormJob *job = ctx;
    size_t lo, hi;
    split_range(job->tr->n_norm_parts, ith, nth, &lo, &hi);
    for (size_t part = lo; part < hi; part++) {
        size_t start = part * NORM_CHUNK, end = MG_MIN(start + NORM_CHUNK, job->numel);
        /* independent lanes: one running double sum is a chain of dependent adds (latency-bound) */
        vdouble lo = {0}, hi = {0}; /* the vector's low and high lanes (simd.h) */
        size_t i = start;
        for (; i + SIMD_W <= end; i += SIMD_W) {
            vfloat g = vload(job->grad + i);
            vdouble g_lo = vwiden_lo(g), g_hi = vwiden_hi(g);
            lo += g_lo * g_lo;
            hi += g_hi * g_hi;
        }
        if (i < end) { /* missing lanes load 0 and add 0 */
            vfloat g = vload_n(job->grad + i, end - i, 0.0f);
            vdouble g_lo = vwiden_lo(g), g_hi = vwiden_hi(g);
            lo += g_lo * g_lo;
            hi += g_hi * g_hi;
        }
        job->tr->norm_parts[part] = vhsum64(lo, hi);
    }
}

/* torch.nn.utils.clip_grad_norm_: the total norm before clipping. *scale is what the gradients
 * are to be multiplied by (1 when the norm is within max_norm), which adamw_worker applies. */
static float clip_grad_norm(Trainer *tr, GPT *model, float max_norm, float *scale) {
    NormJob job = {tr, model->grad_mem, model->params.numel};
    pool_run(model->pool, norm_worker, &job);
    double total = 0.0;
    for (size_t part = 0; part < tr->n_norm_parts; part++) total += tr->norm_parts[part];
    float norm = (float)sqrt(total);
    *scale = 1.0f;
    if (max_norm > 0.0f) {
        float coef = max_norm / (norm + 1e-6f);
        if (coef < 1.0f) *scale = coef;
    }
    return norm;
}

typedef struct {
    Trainer *tr;
    GPT *model;
    float lr, bias_correction1, bias_correction2_sqrt;
    float grad_scale; /* from clipping: the same product torch's in-place g.mul_(coef) stores */
} AdamJob;

static void adamw_worker(void *ctx, int ith, int nth) {
    const AdamJob *job = ctx;
    const TrainConfig *c = &job->tr->config;
    const TensorTable *params = job->tr->params;
    float beta1 = c->beta1, beta2 = c->beta2, eps = c->eps;
    float step_size = job->lr / job->bias_correction1;
    /* locals, so that the loop does not reload them (its stores could alias *job) */
    float grad_scale = job->grad_scale, bc2_sqrt = job->bias_correction2_sqrt;
    float one_minus_beta1 = 1.0f - beta1, one_minus_beta2 = 1.0f - beta2;
    for (int ti = 0; ti < params->n; ti++) {
        const Tensor *t = &params->t[ti];
        float decay = t->decay ? 1.0f - job->lr * c->weight_decay : 1.0f;
        float *p = job->model->param_mem + t->offset, *g = job->model->grad_mem + t->offset;
        float *m = job->tr->m + t->offset, *v = job->tr->v + t->offset;
        size_t lo, hi;
        split_range(t->numel, ith, nth, &lo, &hi);
        /* p, g, m, v (numel): elements [lo, hi) */
        for (size_t i = lo; i < hi; i += SIMD_W) {
            size_t left = hi - i;
            vfloat grad = vload_upto(g + i, left, 0.0f) * grad_scale;
            vfloat p_i = vload_upto(p + i, left, 0.0f) * decay;
            vfloat m_i = beta1 * vload_upto(m + i, left, 0.0f) + one_minus_beta1 * grad;
            vfloat v_i = beta2 * vload_upto(v + i, left, 0.0f) + one_minus_beta2 * grad * grad;
            vfloat denom = vsqrt(v_i) / bc2_sqrt + eps;
            p_i -= step_size * m_i / denom;
            vstore_upto(m + i, m_i, left);
            vstore_upto(v + i, v_i, left);
            vstore_upto(p + i, p_i, left);
        }
    }
}

void trainer_update(Trainer *tr, GPT *model) {
    CHECK(tr->params == &model->params);
    float grad_scale;
    tr->grad_norm = clip_grad_norm(tr, model, tr->config.grad_clip, &grad_scale);
    tr->lr = trainer_lr(&tr->config, tr->step);
    tr->step++;
    AdamJob job = {tr, model, tr->lr,
                   (float)(1.0 - pow(tr->config.beta1, (double)tr->step)),
                   (float)sqrt(1.0 - pow(tr->config.beta2, (double)tr->step)), grad_scale};
    pool_run(model->pool, adamw_worker, &job);
    gpt_weights_changed(model);
}

typedef struct {
    float *sum, *grad;
    int last; /* grad = sum + grad, for the last micro-batch; else sum += grad */
} SumJob;

static void sum_grads(void *ctx, size_t lo, size_t hi) {
    const SumJob *job = ctx;
    for (size_t i = lo; i < hi; i++) {
        if (job->last) job->grad[i] = job->sum[i] + job->grad[i];
        else job->sum[i] += job->grad[i];
    }
}

float trainer_step_accum(Trainer *tr, GPT *model, const int *idx, const int *targets, int accum, int B, int T) {
    CHECK(tr->params == &model->params && accum >= 1);
    size_t rows = (size_t)B * T, n_targets = 0, numel = model->params.numel, lo, hi;
    for (size_t i = 0; i < (size_t)accum * rows; i++) n_targets += targets[i] != -1;
    /* this rank's micro-batches, in order; each forward advances the dropout pass by one, so a
     * micro-batch draws the masks it would draw in one process running them all */
    split_range((size_t)accum, dist_rank(), dist_size(), &lo, &hi);
    uint64_t pass0 = model->pass;
    model->pass = pass0 + lo;
    double loss_sum = 0.0;
    if (hi == lo) memset(model->grad_mem, 0, numel * sizeof(float));
    if (hi - lo > 1 && !tr->grad_sum) tr->grad_sum = xmalloc_aligned(xmul_size(numel, sizeof(float)));
    for (size_t k = lo; k < hi; k++) {
        /* each micro-batch's gradient is computed alone and added in order, ((g0 + g1) + g2)...,
         * so that K ranks of one micro-batch sum the same numbers as one process of K */
        float loss = gpt_forward_backward(model, idx + k * rows, targets + k * rows, B, T, n_targets);
        loss_sum += (double)loss * (double)model->n_targets;
        if (hi - lo == 1) continue;
        if (k == lo) {
            memcpy(tr->grad_sum, model->grad_mem, numel * sizeof(float));
        } else {
            SumJob job = {tr->grad_sum, model->grad_mem, k == hi - 1};
            pool_for(model->pool, numel, sum_grads, &job);
        }
    }
    dist_sum_floats(model->grad_mem, numel);
    dist_sum_doubles(&loss_sum, 1);
    model->pass = pass0 + (uint64_t)accum;
    float loss = n_targets ? (float)(loss_sum / (double)n_targets) : 0.0f;
    trainer_update(tr, model);
    tr->loss = loss;
    return loss;
}

float trainer_step(Trainer *tr, GPT *model, const int *idx, const int *targets, int B, int T) {
    return trainer_step_accum(tr, model, idx, targets, 1, B, T);
}

long trainer_run(Trainer *tr, GPT *model, int accum, int B, int T, long max_iters, trainer_batch_fn next_batch,
                 trainer_iter_fn on_iter, void *ctx) {
    accum *= dist_size(); /* micro-batches per step in all */
    size_t rows = xmul_size((size_t)B, (size_t)T), n = xmul_size(rows, (size_t)accum);
    int *idx = xmalloc(xmul_size(n, sizeof(int)));
    int *targets = xmalloc(xmul_size(n, sizeof(int)));
    long taken = 0;
    while (max_iters <= 0 || tr->step < max_iters) {
        /* every rank draws every micro-batch, so all keep the same data order */
        for (int k = 0; k < accum; k++) next_batch(ctx, idx + k * rows, targets + k * rows, B, T);
        trainer_step_accum(tr, model, idx, targets, accum, B, T);
        taken++;
        if (on_iter && on_iter(ctx, tr, model)) break;
    }
    free(idx);
    free(targets);
    return taken;
}
