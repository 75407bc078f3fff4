/* sample.c — logits to a token (see sample.h). */
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
