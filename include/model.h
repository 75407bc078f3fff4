/* model.h — minGPT's GPT: configuration, parameters, forward and hand-written backward.
 *
 * Parameters follow minGPT's state_dict exactly (names, shapes, order); that one table drives
 * allocation, initialisation, the AdamW decay mask and checkpoint names. Parameters and gradients
 * are one contiguous block each, with named views (GPTWeights). Activations are one block sized
 * for the largest (B,T) seen, allocated on the first forward at that size and reused afterwards;
 * activation gradients need only one layer's worth of scratch, reused by every layer.
 *
 * An inference model (gpt_create_inference) holds the weights and forward buffers only: no
 * gradients, one layer's activations shared by every layer, and each Linear weight once, in the
 * GEMM's packed layout (matmul.h), which both the batched forward and the one-row decoding step
 * read. Generation with a key/value cache is decode.h's.
 */
#ifndef MINGPT_MODEL_H
#define MINGPT_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "tensor.h"
#include "threads.h"

typedef struct {
    int n_layer, n_head, n_embd;
    int vocab_size, block_size;
    float embd_pdrop, resid_pdrop, attn_pdrop;
} GPTConfig;

/* Sets n_layer, n_head, n_embd from a minGPT model_type ("gpt-mini", "gpt2", ...). Returns 0 for
 * an unknown name. */
int gpt_preset(const char *name, GPTConfig *config);
/* Comma-separated list of preset names, for usage messages. */
const char *gpt_preset_names(void);
/* NULL if the config is usable, otherwise a message saying which value is wrong. */
const char *gpt_config_error(const GPTConfig *config);

typedef struct {
    float *ln_1_w, *ln_1_b;           /* (C) (C) */
    float *c_attn_w, *c_attn_b;       /* (3C,C) (3C) */
    float *attn_proj_w, *attn_proj_b; /* (C,C) (C) */
    float *ln_2_w, *ln_2_b;           /* (C) (C) */
    float *c_fc_w, *c_fc_b;           /* (4C,C) (4C) */
    float *mlp_proj_w, *mlp_proj_b;   /* (C,4C) (C) */
} BlockWeights;

typedef struct {
    float *wte;             /* (V,C) */
    float *wpe;             /* (block_size,C) */
    BlockWeights *h;        /* (n_layer) */
    float *ln_f_w, *ln_f_b; /* (C) (C) */
    float *lm_head_w;       /* (V,C) */
} GPTWeights;

typedef struct {
    float *ln_1, *ln_1_mean, *ln_1_rstd; /* (B,T,C) (B,T) (B,T) */
    float *qkv;                          /* (B,T,3C) */
    float *att;                          /* (B,NH,T,T) softmax, before dropout */
    float *atty;                         /* (B,T,C) attention output, before c_proj */
    float *res_1;                        /* (B,T,C) x + attn(ln_1(x)) */
    float *ln_2, *ln_2_mean, *ln_2_rstd; /* (B,T,C) (B,T) (B,T) */
    float *fc, *fc_gelu;                 /* (B,T,4C) (B,T,4C) */
    float *res_2;                        /* (B,T,C) block output */
} BlockActs;

typedef struct {
    float *x0;                           /* (B,T,C) embeddings after dropout */
    BlockActs *h;                        /* (n_layer) */
    float *ln_f, *ln_f_mean, *ln_f_rstd; /* (B,T,C) (B,T) (B,T) */
    float *logits;                       /* (B,T,V) */
} GPTActs;

/* One layer's worth of gradient scratch, shared by all layers during backward. */
typedef struct {
    float *dres;    /* (B,T,C) gradient of the residual stream */
    float *dln;     /* (B,T,C) gradient of a LayerNorm output */
    float *proj;    /* (B,T,C) c_proj output in forward, its gradient in backward */
    float *datty;   /* (B,T,C) */
    float *dqkv;    /* (B,T,3C) */
    float *dfc;     /* (B,T,4C) */
    float *dlogits; /* (B,T,V) softmax after a forward with targets, then its gradient */
} GPTScratch;

/* How many shards a small model's batch is cut into for a training pass; fixed, so that the
 * results do not depend on the thread count (see gpt_forward_backward). */
#define GPT_SHARDS 2

typedef struct GPT {
    GPTConfig config;
    Pool *pool;                 /* not owned */
    int inference;              /* gpt_create_inference: no gradients, Linear weights packed only */
    int tied;                   /* inference with wte tied to lm_head: w.wte is NULL, its rows are
                                   read from lm_head's panels (GPT-2 as OpenAI published it) */
    TensorTable params;         /* minGPT's state_dict: names, shapes, decay, init */
    size_t num_params;          /* sum of numel over params */
    float *param_mem, *grad_mem; /* (params.numel) each; grad_mem NULL for inference */
    GPTWeights w, g;            /* views into param_mem, grad_mem (inference: w's Linear weights are
                                   packed panels, g is empty) */

    int act_B, act_T;           /* capacity of the activation buffers */
    TensorTable act_table, scratch_table;
    float *act_mem, *scratch_mem;
    GPTActs a;
    GPTScratch d;
    int *idx, *targets;         /* (act_B,act_T) copies of the last batch */

    /* the last forward pass */
    int B, T;
    int has_targets;            /* targets were given, so backward may run */
    int dropout_on;             /* it was a training pass */
    size_t n_targets;           /* targets that were not -1 */
    double loss;                /* mean over them */

    uint64_t dropout_seed;      /* dropout masks are a function of (seed, pass, site, index) */
    uint64_t pass;              /* training forward passes so far */

    uint64_t weights_version;   /* bumped whenever the weights change (gpt_weights_changed) */

    /* a small model's training pass in shards (gpt_forward_backward): each shard a model that
     * borrows this one's weights (and shard 0 its gradients), with a one-thread pool of its own */
    struct GPT *shards[GPT_SHARDS];
    int n_shards;               /* created so far */
    uint32_t shard;             /* a shard's index, in its dropout keys; 0 for any other model */
    int borrows_params, borrows_grads; /* param_mem, grad_mem are another model's: not freed */

    /* generation: a key/value cache, decode.c's (see gpt_cache_start); freed with the model */
    int cache_B, cache_len;     /* rows, positions held */
    int cache_capacity_B;       /* rows the cache buffers can hold */
    uint64_t cache_version;     /* weights_version the cache was started with */
    float *cache_key_t;         /* (n_layer, cache_B, NH, hs, block_size) keys, transposed */
    float *cache_value;         /* (n_layer, cache_B, block_size, C) */
    /* a training model's Linear weights packed for inference (gpt_linear_packed), once per
     * weights version; an inference model has them so in param_mem and never uses these */
    float *weight_packed;       /* one block; NULL until first needed */
    size_t *packed_offset;      /* (params.n) where each Linear weight's panels start in it */
    uint64_t weight_packed_version;
} GPT;

/* Allocates the parameters and gradients (zeroed) for a valid config; init with gpt_init. */
GPT *gpt_create(const GPTConfig *config, Pool *pool);
/* Allocates an inference model's parameters (zeroed), to be filled with gpt_load_rows; gpt_init,
 * gpt_zero_grad, gpt_backward and a training forward are CHECK failures on it. Its logits are
 * bitwise those of a training model with the same weights (tests/test_model.c checks it). With
 * `tied`, wte and lm_head are one matrix, stored once (as lm_head): loading either fills it. */
GPT *gpt_create_inference(const GPTConfig *config, Pool *pool, int tied);
/* Rows of parameter i as a file stores it: shape[0] for a matrix (shape[1] if transposed, a
 * Conv1D's (in, out) layout), 1 for a vector. */
int gpt_param_rows(const GPT *model, int i, int transposed);
/* Writes rows [r0, r1) of parameter i from src, those rows' little-endian floats as a file holds
 * them (not necessarily 4-byte aligned), wherever the model keeps the parameter: plainly, or
 * packed for an inference model's Linear weights. transposed: the rows are those of the
 * parameter's transpose (only for a matrix). Loading a piece at a time this way needs no copy of a
 * whole tensor besides the model's own. Call gpt_weights_changed after the last piece. */
void gpt_load_rows(GPT *model, int i, const unsigned char *src, size_t r0, size_t r1, int transposed);
void gpt_free(GPT *model);
/* A new trainable model of config holding src's weights: src's shape, with block_size at most
 * src's (wpe keeps its first block_size rows, as nanoGPT's crop_block_size), dropout config's.
 * This is how fine-tuning starts from a loaded model (minGPT's from_pretrained gives lm_head its own
 * copy of wte: so does any GPT here). */
GPT *gpt_clone(const GPT *src, const GPTConfig *config);
/* minGPT's init: Linear and Embedding weights normal(0, 0.02), c_proj weights
 * normal(0, 0.02/sqrt(2·n_layer)), biases 0, LayerNorm weight 1 and bias 0. Also seeds dropout. */
void gpt_init(GPT *model, uint64_t seed);
/* The parameter table of a valid config (names, shapes, no data), to check a file's tensors
 * before anything the size of the model is allocated; free it with table_free. */
void gpt_param_table(const GPTConfig *config, TensorTable *table);
/* Number of parameters of a valid config, without allocating them. */
size_t gpt_count_params(const GPTConfig *config);
/* The parameter holding the weight of largest magnitude (a NaN first), for saying which tensor
 * overflows when a model's output is not finite; its magnitude in *value. */
const char *gpt_largest_weight(const GPT *model, float *value);
/* Parameters as minGPT counts them when it prints "number of parameters" (lm_head excluded). */
size_t gpt_num_params_mingpt(const GPT *model);
/* Bytes of activations and scratch for a batch of (B,T). */
size_t gpt_activation_bytes(const GPTConfig *config, size_t B, size_t T);
/* Bytes a training model of config holds at its peak, trained on (B,T) batches by
 * gpt_forward_backward on a pool of `threads` and evaluated between steps (gpt_forward on up to B
 * rows of T, then generate of one row): weights, gradients, activations and scratch, the pool's
 * workspace, a small model's shards (their activations, one-thread pools and gradients), the
 * model's own activations that evaluation fills when shards train, and what sampling adds (the
 * packed copy of the Linear weights, a one-row key/value cache). The optimizer's buffers are
 * trainer_bytes'. */
size_t gpt_train_bytes(const GPTConfig *config, size_t B, size_t T, int threads);
/* FLOPs per token of one training step at sequence length T: 6 per weight (forward 2, backward
 * 4; position embeddings left out, as nanoGPT's estimate) plus attention's 12·n_layer·T·n_embd. */
double gpt_train_flops_per_token(const GPTConfig *config, int T);

/* idx (B,T) tokens in [0,V), targets (B,T) in [0,V) or -1, or NULL -> model->a.logits (B,T,V).
 * T <= block_size. `training` turns dropout on (never for an inference model). Returns the mean
 * cross-entropy over targets that are not -1 (0 if there are none or targets is NULL). */
float gpt_forward(GPT *model, const int *idx, const int *targets, int B, int T, int training);
void gpt_zero_grad(GPT *model);
/* Accumulates d(loss)/d(param) of the last forward (which must have had targets) into grad_mem. */
void gpt_backward(GPT *model);
/* A training pass: the loss of gpt_forward(model, idx, targets, B, T, 1) (returned, and in
 * model->loss, with this batch's count of targets that are not -1 in n_targets) and its gradients
 * in grad_mem (written, not accumulated), divided by divide_by: this batch's count of targets, or
 * that of a larger batch this one is a micro-batch of (gradient accumulation). A small model (see
 * model.c) cuts the batch into GPT_SHARDS shards of rows that the pool's threads run whole, each a
 * forward and backward on one thread, then sums their gradients in shard order: the same loss and
 * gradients up to float rounding, the same bits for any thread count, and dropout masks of its
 * own. model->a then holds no activations of this pass. */
float gpt_forward_backward(GPT *model, const int *idx, const int *targets, int B, int T, size_t divide_by);

/* Says the weights changed (the trainer calls it after every step; call it after writing
 * param_mem directly), so that a cache started before cannot be stepped with. */
void gpt_weights_changed(GPT *model);

/* For decode.c. The inference forward over idx (B,T), without targets or dropout, through the
 * block code gpt_forward runs, with the Linear weights packed when there is room for that (the
 * same bits either way): on_qkv(ctx, l, qkv) (may be NULL) sees layer l's qkv (B,T,3C) as soon
 * as it is computed, before the next layer reuses an inference model's buffers. With last_only
 * (B = 1) the last block's work after attention, ln_f and lm_head run for the last position
 * alone. Returns model->a.logits (B,T,V) (only the last row written with last_only), valid until
 * the next call. No backward may follow. */
const float *gpt_forward_infer(GPT *model, const int *idx, int B, int T, int last_only,
                               void (*on_qkv)(void *ctx, int l, const float *qkv), void *ctx);
/* out (C) = wte[token] + wpe[pos] (written), the embedding of one position, as the forward's. */
void gpt_embed(const GPT *model, int token, int pos, float *out);
/* Makes sure the activation buffers hold a (B,T) batch (the forward calls it itself). */
void gpt_ensure_acts(GPT *model, int B, int T);
/* The packed panels (linear_pack_weight) of the Linear weight `weight` (a view in model->w), or
 * NULL when a training model's packed copy would take more than a quarter of the memory. */
const float *gpt_linear_packed(GPT *model, const float *weight);

#endif
