/* matmul.h — the products a Linear layer needs, forward and backward.
 *
 * Shapes use N rows (N = B·T for activations), C input features and OC output features; weights
 * are (OC, C) as in torch.nn.Linear. The fast versions run on the pool and are bitwise identical
 * for any thread count (each output element has one owner and a fixed summation order). The *_ref
 * versions are plain loops accumulating in double: they are the oracle the tests check against,
 * not something the model calls.
 */
#ifndef MINGPT_MATMUL_H
#define MINGPT_MATMUL_H

#include <stddef.h>

#include "threads.h"

/* inp (N,C), weight (OC,C), bias (OC) or NULL -> out (N,OC) = inp · weightᵀ + bias (written). */
void linear_forward(Pool *pool, float *out, const float *inp, const float *weight,
                    const float *bias, size_t N, size_t C, size_t OC);

/* dout (N,OC), inp (N,C), weight (OC,C) -> dinp (N,C) = dout · weight (or += if
 * accumulate_dinp), dweight (OC,C) += doutᵀ · inp, dbias (OC) += Σ_rows dout. Any output may be
 * NULL to skip it. */
void linear_backward(Pool *pool, float *dinp, int accumulate_dinp, float *dweight, float *dbias,
                     const float *dout, const float *inp, const float *weight, size_t N, size_t C,
                     size_t OC);

/* At most the bytes of the pool's workspace (pool_workspace) that linear_forward or
 * linear_backward of N rows through weight (OC,C) takes on a pool of `threads`: the weight (or
 * another operand) packed once for all threads. */
size_t linear_workspace_bytes(int threads, size_t N, size_t C, size_t OC);

/* General product on the same kernel: C (M,N) += A (M,K) · B (K,N), where element (i,k) of A is
 * A[i*rsa + k*csa], element (k,j) of B is B[k*rsb + j*csb] and C has row stride ldc. */
void gemm_acc(Pool *pool, size_t M, size_t N, size_t K, const float *A, size_t rsa, size_t csa,
              const float *B, size_t rsb, size_t csb, float *C, size_t ldc);

/* Inference with weights packed once: linear_pack_weight lays weight (OC,C) out as the GEMM's
 * packed B (linear_packed_floats(C, OC) floats, 64-byte aligned, as the kernel loads whole
 * vectors), and linear_forward_packed then skips packing on every call. The same bits as
 * linear_forward. */
size_t linear_packed_floats(size_t C, size_t OC);
void linear_pack_weight(Pool *pool, float *packed, const float *weight, size_t C, size_t OC);
void linear_forward_packed(Pool *pool, float *out, const float *inp, const float *packed, const float *bias,
                           size_t N, size_t C, size_t OC);
/* Packs rows [r0, r1) of a weight as a file stores it: src holds those rows as little-endian
 * floats, not necessarily aligned (read with memcpy). Rows are the weight's own (OC,C), or with
 * `transposed` those of Wᵀ (C,OC), a Conv1D's layout. Called over every row once, in any order of
 * calls, it gives linear_pack_weight's layout, padding included; so a weight is packed straight
 * from the file a piece at a time, without a whole (OC,C) copy in between. */
void linear_pack_rows(float *packed, const unsigned char *src, size_t r0, size_t r1, int transposed, size_t C,
                      size_t OC);

/* Row o of the weight (OC,C) that `packed` holds -> row (C) (written): GPT-2's wte read from the
 * packed lm_head it is tied to. */
void linear_packed_row(float *row, const float *packed, size_t o, size_t C, size_t OC);

/* One row of linear_forward from the packed weight: inp (C), packed (linear_pack_weight of W
 * (OC,C)), bias (OC) or NULL -> out (OC) (written). Each output sums its products in the same
 * order and with the same vector arithmetic as the GEMM's micro-kernel (KC-blocks from zero,
 * each added to bias + the previous blocks), so it gives linear_forward's bits; this is the fast
 * path for generating one token at a time, and needs no second copy of the weight. */
void linear_forward_vec(Pool *pool, float *out, const float *inp, const float *packed, const float *bias, size_t C,
                        size_t OC);

void linear_forward_ref(float *out, const float *inp, const float *weight, const float *bias,
                        size_t N, size_t C, size_t OC);
void linear_backward_ref(float *dinp, float *dweight, float *dbias, const float *dout,
                         const float *inp, const float *weight, size_t N, size_t C, size_t OC);

#endif
