/* decode.h — running a GPT to generate: the key/value cache, minGPT's generate and the sliding
 * window past block_size.
 *
 * Two ways to run the model, identical while the text fits in block_size:
 *   GEN_SLIDING (default) keeps a key/value cache, so each token costs one position through the
 *     model. When the cache is full, the oldest half of the context is dropped and the cache is
 *     rebuilt from the rest in one batched pass, so the context stays between block_size/2 and
 *     block_size tokens.
 *   GEN_EXACT is minGPT's generate: every token runs the whole context, cropped to the last
 *     block_size tokens.
 * Both work on a training model and on an inference one (gpt_create_inference), with the same
 * bits. Turning logits into a token is sample.h's; the forward pass itself is model.c's.
 */
#ifndef MINGPT_DECODE_H
#define MINGPT_DECODE_H

#include <stddef.h>

#include "model.h"
#include "rng.h"
#include "sample.h"

/* Generation with a key/value cache: gpt_cache_start(model, idx, B, T) runs the prompts
 * idx (B,T) through the model in one batched pass and keeps every layer's keys and values;
 * gpt_cache_step(model, tokens) then runs one new token per row (tokens (B)) against the cache,
 * O(T·C) work per token. Both return the next-token logits (B,V) of the last position (valid until
 * the next call). Positions are absolute, as minGPT's: at most block_size fit, after which the
 * caller starts again from a shorter context. The logits are bitwise those of gpt_forward on the
 * same tokens (in the default optimised build; tests/test_model.c checks it). Stepping a cache
 * started before the weights last changed is a CHECK failure. */
const float *gpt_cache_start(GPT *model, const int *idx, int B, int T);
const float *gpt_cache_step(GPT *model, const int *tokens);

/* Inference on one sequence idx (T) -> the next-token logits (V) of its last position, bitwise
 * gpt_forward's, with the last block's work after attention done for that position only (what
 * minGPT's generate needs when the window slides; valid until the next call). No backward may
 * follow. */
const float *gpt_forward_last(GPT *model, const int *idx, int T);

typedef enum { GEN_SLIDING = 0, GEN_EXACT = 1 } GenMode;

/* tokens holds n_prompt >= 1 tokens and room for n_new more. Appends n_new tokens, calling
 * on_token(ctx, token) after each (on_token may be NULL). Returns how many it appended: fewer than
 * n_new when the model's logits were NaN or infinite (weights that overflow), where it stops. */
size_t generate(GPT *model, int *tokens, size_t n_prompt, size_t n_new, const SampleConfig *config,
                GenMode mode, Rng *rng, void (*on_token)(void *ctx, int token), void *ctx);

/* Greedy continuation of B prompts at once through the cache, as minGPT's
 * generate(do_sample=False) on a batch. prompts (B,T0) -> out (B,n_new);
 * T0 + n_new - 1 <= block_size. Returns 0, or -1 when the logits were not finite (out is then
 * incomplete). */
int generate_greedy_batch(GPT *model, const int *prompts, int B, int T0, int n_new, int *out);

#endif
