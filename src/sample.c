/* sample.c — sampling and generation (see sample.h). No KV cache yet: every token re-runs the
 * cropped context, exactly like minGPT's generate. */
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

/* The k-th largest value of x (1 <= k <= n). */
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

int sample_token(const float *logits, int V, const SampleConfig *c, Rng *rng, float *scratch) {
    if (c->greedy) return argmax(logits, V);
    float threshold = -INFINITY;
    if (c->top_k > 0 && c->top_k < V) threshold = kth_largest(logits, V, c->top_k, scratch);
    float maxval = logits[argmax(logits, V)];
    double total = 0.0;
    for (int i = 0; i < V; i++) {
        /* softmax(logits / temperature) over the kept logits */
        float p = logits[i] < threshold ? 0.0f : expf((logits[i] - maxval) / c->temperature);
        scratch[i] = p;
        total += p;
    }
    double u = (double)rng_uniform(rng) * total, cum = 0.0;
    int last_kept = 0;
    for (int i = 0; i < V; i++) {
        if (scratch[i] <= 0.0f) continue;
        cum += scratch[i];
        last_kept = i;
        if (u < cum) return i;
    }
    return last_kept; /* u landed on the rounding slack at the very end */
}

void generate(GPT *model, int *tokens, size_t n_prompt, size_t n_new, const SampleConfig *config,
              Rng *rng, void (*on_token)(void *ctx, int token), void *ctx) {
    CHECK(n_prompt >= 1);
    int V = model->config.vocab_size;
    size_t block = (size_t)model->config.block_size;
    float *scratch = xmalloc((size_t)V * sizeof(float));
    for (size_t i = 0; i < n_new; i++) {
        size_t n = n_prompt + i, T = MG_MIN(n, block);
        gpt_forward(model, tokens + n - T, NULL, 1, (int)T, 0);
        int next = sample_token(model->a.logits + (T - 1) * (size_t)V, V, config, rng, scratch);
        tokens[n] = next;
        if (on_token) on_token(ctx, next);
    }
    free(scratch);
}

void generate_greedy_batch(GPT *model, const int *prompts, int B, int T0, int n_new, int *out) {
    CHECK(T0 >= 1 && T0 + n_new - 1 <= model->config.block_size);
    int V = model->config.vocab_size, T_max = T0 + n_new - 1;
    int *seq = xmalloc((size_t)B * T_max * sizeof(int));
    int *batch = xmalloc((size_t)B * T_max * sizeof(int));
    for (int b = 0; b < B; b++) memcpy(seq + (size_t)b * T_max, prompts + (size_t)b * T0, (size_t)T0 * sizeof(int));
    for (int i = 0; i < n_new; i++) {
        int T = T0 + i;
        for (int b = 0; b < B; b++) memcpy(batch + (size_t)b * T, seq + (size_t)b * T_max, (size_t)T * sizeof(int));
        gpt_forward(model, batch, NULL, B, T, 0);
        for (int b = 0; b < B; b++) {
            int next = argmax(model->a.logits + ((size_t)b * T + T - 1) * V, V);
            out[(size_t)b * n_new + i] = next;
            if (T < T_max) seq[(size_t)b * T_max + T] = next;
        }
    }
    free(seq);
    free(batch);
}
