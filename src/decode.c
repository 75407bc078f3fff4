/* decode.c — generation: the key/value cache, minGPT's generate and the sliding window (see
 * decode.h).
 *
 * The prompt pass is model.c's inference forward (the same block code as training), which hands
 * each layer's qkv to cache_store; a step then runs one position per row against the cache, with
 * its own block (attention over the cache instead of the causal (T,T) attention). Every Linear
 * reads the weight's packed panels: through the GEMM for several rows, through
 * linear_forward_vec for one, with the same bits, so no transposed copy of the weights is kept.
 * This file knows nothing about text or about how a token is drawn (sample.c).
 */
#include "decode.h"

#include <math.h>

#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "matmul.h"
#include "ops.h"

/* ---------------------------------------------------------------- the cache */

/* Copies positions [t0, t0+T) of every row's keys and values out of a layer's qkv (B,T,3C). */
static void cache_store(GPT *m, int l, const float *qkv, int B, int T, int t0) {
    size_t C = (size_t)m->config.n_embd;
    size_t Tm = (size_t)m->config.block_size, Bc = (size_t)m->cache_B;
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) {
            const float *qkv_bt = qkv + ((size_t)b * T + t) * 3 * C;
            size_t pos = (size_t)(t0 + t);
            float *key_t = m->cache_key_t + ((size_t)l * Bc + b) * C * Tm; /* (NH, hs, Tm) */
            for (size_t c = 0; c < C; c++) key_t[c * Tm + pos] = qkv_bt[C + c]; /* c = h·hs + i */
            memcpy(m->cache_value + (((size_t)l * Bc + b) * Tm + pos) * C, qkv_bt + 2 * C, C * sizeof(float));
        }
}

/* gpt_forward_infer's hook: the prompt pass's layer l, qkv (B,T,3C), into the cache from 0. */
static void store_prompt(void *ctx, int l, const float *qkv) {
    GPT *m = ctx;
    cache_store(m, l, qkv, m->B, m->T, 0);
}

const float *gpt_cache_start(GPT *m, const int *idx, int B, int T) {
    const GPTConfig *c = &m->config;
    CHECK(B > 0 && T > 0 && T <= c->block_size);
    size_t C = (size_t)c->n_embd, Tm = (size_t)c->block_size, L = (size_t)c->n_layer;
    if (B > m->cache_capacity_B) { /* buffers only grow: a smaller last batch reuses them */
        free(m->cache_key_t);
        free(m->cache_value);
        size_t floats = xmul_size(xmul_size(L * (size_t)B, Tm), C);
        m->cache_key_t = xmalloc_aligned(floats * sizeof(float));
        m->cache_value = xmalloc_aligned(floats * sizeof(float));
        m->cache_capacity_B = B;
    }
    m->cache_B = B;
    m->cache_version = m->weights_version;
    /* one row needs only its last position past the last attention (the cache has every key and
     * value by then); several rows run whole, as gpt_forward does */
    const float *logits = gpt_forward_infer(m, idx, B, T, B == 1, store_prompt, m);
    m->cache_len = T;
    /* the last position's logits, packed as (B,V) */
    size_t V = (size_t)c->vocab_size;
    float *out = m->d.dlogits;
    for (int b = 0; b < B; b++)
        memmove(out + (size_t)b * V, logits + ((size_t)b * T + T - 1) * V, V * sizeof(float));
    return out;
}

/* inp (B,C) -> out (B,OC) through a Linear: one row by linear_forward_vec on the packed weight,
 * several through the GEMM; the same bits either way, and as linear_forward's when a training
 * model has no room for a packed copy. */
static void decode_linear(GPT *m, float *out, const float *inp, const float *weight, const float *bias,
                          size_t B, size_t C, size_t OC) {
    const float *packed = gpt_linear_packed(m, weight);
    if (packed && B == 1) linear_forward_vec(m->pool, out, inp, packed, bias, C, OC);
    else if (packed) linear_forward_packed(m->pool, out, inp, packed, bias, B, C, OC);
    else linear_forward(m->pool, out, inp, weight, bias, B, C, OC);
}

const float *gpt_cache_step(GPT *m, const int *tokens) {
    const GPTConfig *c = &m->config;
    CHECK(m->cache_len >= 1 && m->cache_len < c->block_size);
    CHECK(m->cache_version == m->weights_version); /* restart the cache after the weights change */
    size_t B = (size_t)m->cache_B, C = (size_t)c->n_embd, V = (size_t)c->vocab_size;
    size_t NH = (size_t)c->n_head, Tm = (size_t)c->block_size, pos = (size_t)m->cache_len;
    gpt_ensure_acts(m, (int)B, 1);
    /* one position per row: layer 0's activation buffers serve as scratch for every layer */
    BlockActs *s = &m->a.h[0];
    GPTWeights *w = &m->w;
    float *x = m->a.x0;
    for (size_t b = 0; b < B; b++) {
        CHECK(tokens[b] >= 0 && tokens[b] < c->vocab_size);
        gpt_embed(m, tokens[b], (int)pos, x + b * C);
    }
    for (int l = 0; l < c->n_layer; l++) {
        BlockWeights *bw = &w->h[l];
        layernorm_forward(m->pool, s->ln_1, s->ln_1_mean, s->ln_1_rstd, x, bw->ln_1_w, bw->ln_1_b, B, C);
        decode_linear(m, s->qkv, s->ln_1, bw->c_attn_w, bw->c_attn_b, B, C, 3 * C);
        cache_store(m, l, s->qkv, (int)B, 1, (int)pos);
        attention_decode(m->pool, s->atty, s->qkv, m->cache_key_t + (size_t)l * B * C * Tm,
                         m->cache_value + (size_t)l * B * Tm * C, B, pos + 1, Tm, C, NH);
        decode_linear(m, m->d.proj, s->atty, bw->attn_proj_w, bw->attn_proj_b, B, C, C);
        residual_dropout_forward(m->pool, s->res_1, x, m->d.proj, B * C, 0.0f, 0);
        layernorm_forward(m->pool, s->ln_2, s->ln_2_mean, s->ln_2_rstd, s->res_1, bw->ln_2_w, bw->ln_2_b, B, C);
        decode_linear(m, s->fc, s->ln_2, bw->c_fc_w, bw->c_fc_b, B, C, 4 * C);
        gelu_forward(m->pool, s->fc_gelu, s->fc, B * 4 * C);
        decode_linear(m, m->d.proj, s->fc_gelu, bw->mlp_proj_w, bw->mlp_proj_b, B, 4 * C, C);
        residual_dropout_forward(m->pool, x, s->res_1, m->d.proj, B * C, 0.0f, 0);
    }
    layernorm_forward(m->pool, m->a.ln_f, m->a.ln_f_mean, m->a.ln_f_rstd, x, w->ln_f_w, w->ln_f_b, B, C);
    decode_linear(m, m->a.logits, m->a.ln_f, w->lm_head_w, NULL, B, C, V);
    m->cache_len++;
    m->has_targets = 0;
    return m->a.logits;
}

const float *gpt_forward_last(GPT *m, const int *idx, int T) {
    return gpt_forward_infer(m, idx, 1, T, 1, NULL, NULL) + (size_t)(T - 1) * m->config.vocab_size;
}

/* ---------------------------------------------------------------- the generation driver */

/* 1 if every one of x (n) is finite: a model whose weights overflow gives NaN or infinite logits,
 * from which no token is meaningful */
static int all_finite(const float *x, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i])) return 0;
    return 1;
}

size_t generate(GPT *model, int *tokens, size_t n_prompt, size_t n_new, const SampleConfig *config,
                GenMode mode, Rng *rng, void (*on_token)(void *ctx, int token), void *ctx) {
    CHECK(n_prompt >= 1);
    int V = model->config.vocab_size;
    size_t block = (size_t)model->config.block_size, n = n_prompt;
    float *scratch = xmalloc(3 * (size_t)V * sizeof(float));
    const float *logits = NULL;
    if (mode == GEN_SLIDING && n_new > 0) {
        size_t T = MG_MIN(n, block);
        logits = gpt_cache_start(model, tokens + n - T, 1, (int)T);
    }
    for (size_t i = 0; i < n_new; i++) {
        if (mode == GEN_EXACT) {
            size_t T = MG_MIN(n, block);
            logits = gpt_forward_last(model, tokens + n - T, (int)T);
        }
        if (!all_finite(logits, (size_t)V)) {
            free(scratch);
            return i;
        }
        int next = sample_token(logits, V, config, rng, scratch);
        tokens[n++] = next;
        if (on_token) on_token(ctx, next);
        if (mode != GEN_SLIDING || i + 1 == n_new) continue;
        if ((size_t)model->cache_len < block) {
            logits = gpt_cache_step(model, &next);
        } else { /* full: keep the newest half of the context, at positions from 0 again */
            size_t keep = MG_MAX(block / 2, (size_t)1);
            logits = gpt_cache_start(model, tokens + n - keep, 1, (int)keep);
        }
    }
    free(scratch);
    return n_new;
}

int generate_greedy_batch(GPT *model, const int *prompts, int B, int T0, int n_new, int *out) {
    CHECK(T0 >= 1 && T0 + n_new - 1 <= model->config.block_size);
    if (n_new <= 0) return 0;
    int V = model->config.vocab_size;
    int *next = xmalloc((size_t)B * sizeof(int));
    const SampleConfig greedy = {.greedy = 1}; /* argmax: neither the RNG nor scratch is used */
    const float *logits = gpt_cache_start(model, prompts, B, T0);
    for (int i = 0; i < n_new; i++) {
        if (!all_finite(logits, (size_t)B * V)) {
            free(next);
            return -1;
        }
        for (int b = 0; b < B; b++) {
            next[b] = sample_token(logits + (size_t)b * V, V, &greedy, NULL, NULL);
            out[(size_t)b * n_new + i] = next[b];
        }
        if (i + 1 < n_new) logits = gpt_cache_step(model, next);
    }
    free(next);
    return 0;
}
