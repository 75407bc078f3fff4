/* sample.h — turning a GPT's logits into text: minGPT's generate(), and faster ways to the same.
 *
 * Sampling divides the last position's logits by the temperature, keeps the top_k largest (ties
 * with the k-th kept, as minGPT's masking does), then the smallest set of tokens whose probability
 * mass reaches top_p, and draws from what is left; greedy takes the argmax.
 *
 * Two ways to run the model, identical while the text fits in block_size:
 *   GEN_SLIDING (default) keeps a key/value cache, so each token costs one position through the
 *     model. When the cache is full, the oldest half of the context is dropped and the cache is
 *     rebuilt from the rest in one batched pass, so the context stays between block_size/2 and
 *     block_size tokens.
 *   GEN_EXACT is minGPT's generate: every token runs the whole context, cropped to the last
 *     block_size tokens.
 */
#ifndef MINGPT_SAMPLE_H
#define MINGPT_SAMPLE_H

#include <stddef.h>

#include "model.h"
#include "rng.h"

typedef struct {
    float temperature; /* > 0 */
    int top_k;         /* 0 = off */
    float top_p;       /* nucleus mass in (0, 1]; 1 = off */
    int greedy;        /* argmax; the others are then irrelevant */
} SampleConfig;

typedef enum { GEN_SLIDING = 0, GEN_EXACT = 1 } GenMode;

/* logits (V) -> a token in [0, V). scratch (3V floats) is workspace. Ties in greedy mode go to
 * the lowest token id. */
int sample_token(const float *logits, int V, const SampleConfig *config, Rng *rng, float *scratch);

/* tokens holds n_prompt >= 1 tokens and room for n_new more. Appends n_new tokens, calling
 * on_token(ctx, token) after each (on_token may be NULL). */
void generate(GPT *model, int *tokens, size_t n_prompt, size_t n_new, const SampleConfig *config,
              GenMode mode, Rng *rng, void (*on_token)(void *ctx, int token), void *ctx);

/* Greedy continuation of B prompts at once through the cache, as minGPT's
 * generate(do_sample=False) on a batch. prompts (B,T0) -> out (B,n_new);
 * T0 + n_new - 1 <= block_size. */
void generate_greedy_batch(GPT *model, const int *prompts, int B, int T0, int n_new, int *out);

#endif
