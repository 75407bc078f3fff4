/* ops.h — the layer kernels of a GPT, in forward/backward pairs.
 *
 * Each comment lists the buffers with their shapes; "->" separates inputs from outputs, and every
 * output is either written (=) or accumulated (+=) as said. Backward kernels take their gradient
 * outputs first. N is the number of rows (B·T). None of these know about GPT as a whole: model.c
 * wires them together. Every kernel splits its outputs (rows, columns or elements) across the
 * pool's threads; sums over rows are taken by threads that own columns, in row order, so results
 * never depend on the thread count.
 *
 * Dropout is inverted dropout with probability p: an element is kept when
 * drop_hash(key, index) >= p·2³², and kept elements are scaled by 1/(1-p). The mask is never stored:
 * backward remakes it from the same key.
 */
#ifndef MINGPT_OPS_H
#define MINGPT_OPS_H

#include <stddef.h>
#include <math.h>
#include <stdint.h>

#include "threads.h"

/* idx (B,T), wte (V,C), wpe (block_size,C) -> out (B,T,C) = wte[idx] + wpe[t] (written) */
void encoder_forward(Pool *pool, float *out, const int *idx, const float *wte, const float *wpe, size_t B,
                     size_t T, size_t C);
/* dout (B,T,C), idx (B,T) -> dwte (V,C) +=, dwpe (block_size,C) += */
void encoder_backward(Pool *pool, float *dwte, float *dwpe, const float *dout, const int *idx, size_t B,
                      size_t T, size_t C);

/* inp (N,C), weight (C), bias (C) -> out (N,C), mean (N), rstd (N) (all written); eps 1e-5 */
void layernorm_forward(Pool *pool, float *out, float *mean, float *rstd, const float *inp,
                       const float *weight, const float *bias, size_t N, size_t C);
/* dout (N,C), inp (N,C), weight (C), mean (N), rstd (N) -> dinp (N,C) +=, dweight (C) +=,
 * dbias (C) += */
void layernorm_backward(Pool *pool, float *dinp, float *dweight, float *dbias, const float *dout,
                        const float *inp, const float *weight, const float *mean,
                        const float *rstd, size_t N, size_t C);

/* Causal multi-head self-attention after the qkv projection.
 * qkv (B,T,3C) laid out [q | k | v], each split into NH heads of C/NH ->
 * out (B,T,C) (written), att (B,NH,T,T) softmax probabilities before dropout (written; entries
 * above the diagonal are 0), or NULL when p = 0 and nothing reads them again (inference). Attention dropout with probability p and key `key`. Only query rows
 * t >= t_first are computed (inference that needs the last position alone; t_first > 0 requires
 * p = 0), with the bits they have when all are. */
void attention_forward(Pool *pool, float *out, float *att, const float *qkv, size_t B, size_t T,
                       size_t C, size_t NH, float p, uint32_t key, size_t t_first);
/* dout (B,T,C), qkv (B,T,3C), att (B,NH,T,T) from forward -> dqkv (B,T,3C) (written) */
void attention_backward(Pool *pool, float *dqkv, const float *dout, const float *qkv,
                        const float *att, size_t B, size_t T, size_t C, size_t NH, float p,
                        uint32_t key);

/* x (N,n) -> x = softmax(scale·x) of each row, in place (written): attention's row softmax, the
 * same function with the same bits, for the tests and the bench. */
void softmax_forward(Pool *pool, float *x, size_t N, size_t n, float scale);

/* Attention of one new position per row against cached keys and values (generation).
 * qkv (B,3C) of the new position (only q is read), key_t (B,NH,hs,T_max) keys transposed, value
 * (B,T_max,C), both holding positions 0..len-1 (the new one included) -> out (B,C) (written).
 * Sums run in the same order as attention_forward's, so a position gets the same bits either way. */
void attention_decode(Pool *pool, float *out, const float *qkv, const float *key_t,
                      const float *value, size_t B, size_t len, size_t T_max, size_t C, size_t NH);

/* The tanh approximation, as minGPT's NewGELU: 0.5·x·(1 + tanh u) with u = sqrt(2/π)·(x + 0.044715x³),
 * computed as x·sigmoid(2u), which is the same function with one exp and one division. inp (n) ->
 * out (n) (written) */
void gelu_forward(Pool *pool, float *out, const float *inp, size_t n);
/* dout (n), inp (n), out (n) = gelu_forward's output for inp -> dinp (n) (written; may be dout) */
void gelu_backward(Pool *pool, float *dinp, const float *dout, const float *inp, const float *out, size_t n);

/* inp (n) -> out (n) = dropout(inp) (written; out may equal inp) */
void dropout_forward(Pool *pool, float *out, const float *inp, size_t n, float p, uint32_t key);
/* dout (n) -> dinp (n) = dout · mask / (1-p) (written; dinp may equal dout) */
void dropout_backward(Pool *pool, float *dinp, const float *dout, size_t n, float p, uint32_t key);
/* residual (n), inp (n) -> out (n) = residual + dropout(inp) (written) */
void residual_dropout_forward(Pool *pool, float *out, const float *residual, const float *inp, size_t n,
                              float p, uint32_t key);

/* logits (N,V), targets (N) with -1 = ignored -> probs (N,V) softmax (written).
 * Returns the mean of -log probs[target] over the targets that are not -1, and their number in
 * *count (0 gives a loss of 0). */
double crossentropy_forward(Pool *pool, float *probs, const float *logits, const int *targets, size_t N,
                            size_t V, size_t *count);
/* probs (N,V), targets (N) -> dlogits (N,V) = (probs - onehot) / count for counted rows, 0 for
 * ignored rows (written; dlogits may equal probs). */
void crossentropy_backward(Pool *pool, float *dlogits, const float *probs, const int *targets, size_t N,
                           size_t V, size_t count);

/* The most of the pool's workspace (pool_workspace) these kernels take on a (B,T,C) pass with NH
 * heads on a pool of `threads`: attention's per-thread rows, layernorm_backward's partial sums,
 * cross-entropy's row losses (the largest: the workspace is one block, reused). Decoding's
 * (threads x T_max floats) is left out as small. */
size_t ops_workspace_bytes(int threads, size_t B, size_t T, size_t C, size_t NH);

#endif
