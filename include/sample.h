/* sample.h — turning a GPT's logits into text: minGPT's generate().
 *
 * Each new token runs the model over the last block_size tokens of the context (minGPT crops the
 * same way) and samples from the last position's logits divided by the temperature, optionally
 * keeping only the top_k largest (ties with the k-th kept, as minGPT's masking does), or takes the
 * argmax when greedy.
 */
#ifndef MINGPT_SAMPLE_H
#define MINGPT_SAMPLE_H

#include <stddef.h>

#include "model.h"
#include "rng.h"

typedef struct {
    float temperature; /* > 0 */
    int top_k;         /* 0 = off */
    int greedy;        /* argmax; temperature and top_k are then irrelevant */
} SampleConfig;

/* logits (V) -> a token in [0, V). scratch (V) is workspace. Ties in greedy mode go to the lowest
 * token id. */
int sample_token(const float *logits, int V, const SampleConfig *config, Rng *rng, float *scratch);

/* tokens holds n_prompt >= 1 tokens and room for n_new more. Appends n_new tokens, calling
 * on_token(ctx, token) after each (on_token may be NULL). */
void generate(GPT *model, int *tokens, size_t n_prompt, size_t n_new, const SampleConfig *config,
              Rng *rng, void (*on_token)(void *ctx, int token), void *ctx);

/* Greedy continuation of B prompts at once, as minGPT's generate(do_sample=False) on a batch.
 * prompts (B,T0) -> out (B,n_new); T0 + n_new - 1 <= block_size. */
void generate_greedy_batch(GPT *model, const int *prompts, int B, int T0, int n_new, int *out);

#endif
