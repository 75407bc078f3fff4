/* model.h — minGPT's GPT: configuration, parameters, forward and hand-written backward.
 *
 * Parameters follow minGPT's state_dict exactly (names, shapes, order); that one table drives
 * allocation, initialisation, the AdamW decay mask and checkpoint names. Parameters and gradients
 * are one contiguous block each, with named views (GPTWeights). Activations are one block sized
 * for the largest (B,T) seen, allocated on the first forward at that size and reused afterwards;
 * activation gradients need only one layer's worth of scratch, reused by every layer.
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

typedef struct {
    GPTConfig config;
    Pool *pool;                 /* not owned */
    TensorTable params;         /* minGPT's state_dict: names, shapes, decay, init */
    size_t num_params;          /* sum of numel over params */
    float *param_mem, *grad_mem; /* (params.numel) each */
    GPTWeights w, g;            /* views into param_mem, grad_mem */

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

    /* generation: a key/value cache (see gpt_cache_start) */
    int cache_B, cache_len;     /* rows, positions held */
    int cache_capacity_B;       /* rows the cache buffers can hold */
    uint64_t cache_version;     /* weights_version the cache was started with */
    uint64_t weight_t_version;  /* weights_version weight_t was transposed from */
    float *cache_key_t;         /* (n_layer, cache_B, NH, hs, block_size) keys, transposed */
    float *cache_value;         /* (n_layer, cache_B, block_size, C) */
    float *weight_t;            /* (params.numel) Linear weights transposed, at their params offsets */
    /* inference on many rows (gpt_forward_last): the Linear weights packed for the GEMM once */
    float *weight_packed;       /* one block; NULL until first needed */
    size_t *packed_offset;      /* (params.n) where each Linear weight's panels start in it */
    uint64_t weight_packed_version;
} GPT;

/* Allocates the parameters and gradients (zeroed) for a valid config; init with gpt_init. */
GPT *gpt_create(const GPTConfig *config, Pool *pool);
void gpt_free(GPT *model);
/* A new trainable model of config holding src's weights: src's shape, with block_size at most
 * src's (wpe keeps its first block_size rows, as nanoGPT's crop_block_size), dropout config's.
 * This is how fine-tuning starts from a loaded model (minGPT's from_pretrained gives lm_head its own
 * copy of wte: so does any GPT here). */
GPT *gpt_clone(const GPT *src, const GPTConfig *config);
/* minGPT's init: Linear and Embedding weights normal(0, 0.02), c_proj weights
 * normal(0, 0.02/sqrt(2·n_layer)), biases 0, LayerNorm weight 1 and bias 0. Also seeds dropout. */
void gpt_init(GPT *model, uint64_t seed);
/* Number of parameters of a valid config, without allocating them. */
size_t gpt_count_params(const GPTConfig *config);
/* Parameters as minGPT counts them when it prints "number of parameters" (lm_head excluded). */
size_t gpt_num_params_mingpt(const GPT *model);
/* Bytes of activations and scratch for a batch of (B,T). */
size_t gpt_activation_bytes(const GPTConfig *config, size_t B, size_t T);
/* FLOPs per token of one training step at sequence length T: 6 per weight (forward 2, backward
 * 4; position embeddings left out, as nanoGPT's estimate) plus attention's 12·n_layer·T·n_embd. */
double gpt_train_flops_per_token(const GPTConfig *config, int T);

/* idx (B,T) tokens in [0,V), targets (B,T) in [0,V) or -1, or NULL -> model->a.logits (B,T,V).
 * T <= block_size. `training` turns dropout on. Returns the mean cross-entropy over targets that
 * are not -1 (0 if there are none or targets is NULL). */
float gpt_forward(GPT *model, const int *idx, const int *targets, int B, int T, int training);
/* Inference on one sequence idx (T) -> the next-token logits (V) of its last position, bitwise
 * gpt_forward's, with the last block's work after attention done for that position only (what
 * minGPT's generate needs when the window slides; valid until the next call). No backward may
 * follow. */
const float *gpt_forward_last(GPT *model, const int *idx, int T);
void gpt_zero_grad(GPT *model);
/* Accumulates d(loss)/d(param) of the last forward (which must have had targets) into grad_mem. */
void gpt_backward(GPT *model);

/* Generation with a key/value cache: gpt_cache_start(model, B, idx, T) runs the prompts
 * idx (B,T) through the model in one batched pass and keeps every layer's keys and values;
 * gpt_cache_step(model, tokens) then runs one new token per row (tokens (B)) against the cache,
 * O(T·C) work per token. Both return the next-token logits (B,V) of the last position (valid until
 * the next call). Positions are absolute, as minGPT's: at most block_size fit, after which the
 * caller starts again from a shorter context. The logits are bitwise those of gpt_forward on the
 * same tokens (in the default optimised build; tests/test_model.c checks it). Stepping a cache
 * started before the weights last changed is a CHECK failure. */
const float *gpt_cache_start(GPT *model, const int *idx, int B, int T);
/* Says the weights changed (the trainer calls it after every step; call it after writing
 * param_mem directly), so that a cache started before cannot be stepped with. */
void gpt_weights_changed(GPT *model);
const float *gpt_cache_step(GPT *model, const int *tokens);

#endif
