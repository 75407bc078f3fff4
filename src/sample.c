/* sample.c — sampling and generation (see sample.h). */
#include "sample.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

static int argmax(const float *x, int n) {
    int best = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[best]) best = i;
    return best;
}

/* The k-th largest value of x (1 <= k <= n); top (k) is workspace. */
static float kth_largest(const float *x, int n, int k, float *top) {
    /* top[0..k) kept sorted in descending order; fine for the small k of sampling */
    int filled = 0;
    for (int i = 0; i < n; i++) {
        float v = x[i];
        if (filled == k && v <= top[k - 1]) continue;
        int j = filled < k ? filled++ : k - 1;
        while (j > 0 && top[j - 1] < v) {
            top[j] = top[j - 1];
            j--;
        }
        top[j] = v;
    }
    return top[k - 1];
}

typedef struct {
    float prob;
    int token;
} Ranked;

/* by probability, descending; ties by token id */
static int by_prob_desc(const void *a, const void *b) {
    const Ranked *x = a, *y = b;
    return x->prob > y->prob ? -1 : x->prob < y->prob ? 1 : (x->token > y->token) - (x->token < y->token);
}

int sample_token(const float *logits, int V, const SampleConfig *c, Rng *rng, float *scratch) {
    if (c->greedy) return argmax(logits, V);
    float *probs = scratch, *work = scratch + V;
    float threshold = -INFINITY;
    if (c->top_k > 0 && c->top_k < V) threshold = kth_largest(logits, V, c->top_k, work);
    float maxval = logits[argmax(logits, V)];
    double total = 0.0;
    for (int i = 0; i < V; i++) {
        /* softmax(logits / temperature) over the kept logits */
        float p = logits[i] < threshold ? 0.0f : expf((logits[i] - maxval) / c->temperature);
        probs[i] = p;
        total += p;
    }
    if (c->top_p < 1.0f) {
        /* nucleus: the most likely tokens until their mass reaches top_p; the rest are dropped */
        Ranked *ranked = (Ranked *)work;
        for (int i = 0; i < V; i++) ranked[i] = (Ranked){probs[i], i};
        qsort(ranked, (size_t)V, sizeof(Ranked), by_prob_desc);
        double cum = 0.0;
        int i = 0;
        for (; i < V && cum < c->top_p * total; i++) cum += ranked[i].prob;
        for (; i < V; i++) probs[ranked[i].token] = 0.0f;
        total = cum;
    }
    double u = (double)rng_uniform(rng) * total, cum = 0.0;
    int last_kept = 0;
    for (int i = 0; i < V; i++) {
        if (probs[i] <= 0.0f) continue;
        cum += probs[i];
        last_kept = i;
        if (u < cum) return i;
    }
    return last_kept; /* u landed on the rounding slack at the very end */
}

void generate(GPT *model, int *tokens, size_t n_prompt, size_t n_new, const SampleConfig *config,
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
}

void generate_greedy_batch(GPT *model, const int *prompts, int B, int T0, int n_new, int *out) {
    CHECK(T0 >= 1 && T0 + n_new - 1 <= model->config.block_size);
    if (n_new <= 0) return;
    int V = model->config.vocab_size;
    int *next = xmalloc((size_t)B * sizeof(int));
    const float *logits = gpt_cache_start(model, prompts, B, T0);
    for (int i = 0; i < n_new; i++) {
        for (int b = 0; b < B; b++) {
            next[b] = argmax(logits + (size_t)b * V, V);
            out[(size_t)b * n_new + i] = next[b];
        }
        if (i + 1 < n_new) logits = gpt_cache_step(model, next);
    }
    free(next);
}
