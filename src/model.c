/* model.c — the GPT of minGPT's model.py, forward and backward, written out by hand.
 *
 * gpt_forward runs embeddings -> n_layer pre-LayerNorm blocks -> ln_f -> lm_head, storing what
 * backward needs; gpt_backward walks the same list in reverse. An inference model (see
 * gpt_create_inference) runs the same block code on one layer's buffers, with its Linear weights
 * kept only in the GEMM's packed layout. The Linear products live in matmul.c and the other layers
 * in ops.c, so this file reads as the model's wiring; the key/value cache and generation are
 * decode.c's. It knows nothing about text, addition or optimisers.
 */
#include "model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "matmul.h"
#include "ops.h"
#include "rng.h"

/* ---------------------------------------------------------------- configuration */

static const struct {
    const char *name;
    int n_layer, n_head, n_embd;
} PRESETS[] = {
    {"openai-gpt", 12, 12, 768}, {"gpt2", 12, 12, 768},       {"gpt2-medium", 24, 16, 1024},
    {"gpt2-large", 36, 20, 1280}, {"gpt2-xl", 48, 25, 1600},  {"gopher-44m", 8, 16, 512},
    {"gpt-mini", 6, 6, 192},      {"gpt-micro", 4, 4, 128},   {"gpt-nano", 3, 3, 48},
};
#define N_PRESETS (sizeof PRESETS / sizeof PRESETS[0])

int gpt_preset(const char *name, GPTConfig *config) {
    for (size_t i = 0; i < N_PRESETS; i++)
        if (strcmp(PRESETS[i].name, name) == 0) {
            config->n_layer = PRESETS[i].n_layer;
            config->n_head = PRESETS[i].n_head;
            config->n_embd = PRESETS[i].n_embd;
            return 1;
        }
    return 0;
}

const char *gpt_preset_names(void) {
    return "gpt-nano, gpt-micro, gpt-mini, gopher-44m, gpt2, gpt2-medium, gpt2-large, gpt2-xl, "
           "openai-gpt";
}

const char *gpt_config_error(const GPTConfig *c) {
    /* Upper bounds keep every size product far from overflow and refuse absurd configs early. */
    if (c->n_layer < 1 || c->n_layer > 256) return "n_layer must be between 1 and 256";
    if (c->n_head < 1 || c->n_head > 256) return "n_head must be between 1 and 256";
    if (c->n_embd < 1 || c->n_embd > 16384) return "n_embd must be between 1 and 16384";
    if (c->n_embd % c->n_head != 0) return "n_embd must be divisible by n_head";
    if (c->vocab_size < 1 || c->vocab_size > (1 << 22)) return "vocab_size must be between 1 and 4194304";
    if (c->block_size < 1 || c->block_size > 16384) return "block_size must be between 1 and 16384";
    if (!(c->embd_pdrop >= 0.0f && c->embd_pdrop < 1.0f)) return "embd_pdrop must be in [0, 1)";
    if (!(c->resid_pdrop >= 0.0f && c->resid_pdrop < 1.0f)) return "resid_pdrop must be in [0, 1)";
    if (!(c->attn_pdrop >= 0.0f && c->attn_pdrop < 1.0f)) return "attn_pdrop must be in [0, 1)";
    return NULL;
}

/* ---------------------------------------------------------------- tensor lists */

/* Each list of tensors (parameters, activations, scratch) is written once, as a function that
 * calls def() per tensor. The first call builds the table; later calls walk it again with another
 * base pointer to fill a struct of views, and CHECK that the names still line up. */
typedef struct {
    TensorTable *table;
    float *base; /* NULL while building */
    int next;
} Def;

static float *def(Def *d, int decay, float init_std, float init_value, int ndim, size_t d0,
                  size_t d1, const char *fmt, int layer) {
    char name[TENSOR_NAME_MAX];
    snprintf(name, sizeof name, fmt, layer);
    size_t shape[2] = {d0, d1};
    if (!d->base) {
        int i = table_add(d->table, name, ndim, shape);
        d->table->t[i].decay = decay;
        d->table->t[i].init_std = init_std;
        d->table->t[i].init_value = init_value;
        return NULL;
    }
    CHECK(d->next < d->table->n && strcmp(d->table->t[d->next].name, name) == 0);
    return d->base + d->table->t[d->next++].offset;
}

/* minGPT's state_dict, in its order. Linear weights decay; biases, LayerNorm and embeddings do
 * not (GPT.configure_optimizers). */
static void define_params(const GPTConfig *c, Def *d, GPTWeights *w) {
    size_t C = (size_t)c->n_embd, V = (size_t)c->vocab_size;
    float std = 0.02f, proj_std = (float)(0.02 / sqrt(2.0 * c->n_layer));
    GPTWeights dummy;
    BlockWeights block_dummy;
    if (!w) w = &dummy;
    w->wte = def(d, 0, std, 0, 2, V, C, "transformer.wte.weight", 0);
    w->wpe = def(d, 0, std, 0, 2, (size_t)c->block_size, C, "transformer.wpe.weight", 0);
    for (int l = 0; l < c->n_layer; l++) {
        BlockWeights *b = w == &dummy ? &block_dummy : &w->h[l];
        b->ln_1_w = def(d, 0, 0, 1, 1, C, 0, "transformer.h.%d.ln_1.weight", l);
        b->ln_1_b = def(d, 0, 0, 0, 1, C, 0, "transformer.h.%d.ln_1.bias", l);
        b->c_attn_w = def(d, 1, std, 0, 2, 3 * C, C, "transformer.h.%d.attn.c_attn.weight", l);
        b->c_attn_b = def(d, 0, 0, 0, 1, 3 * C, 0, "transformer.h.%d.attn.c_attn.bias", l);
        b->attn_proj_w = def(d, 1, proj_std, 0, 2, C, C, "transformer.h.%d.attn.c_proj.weight", l);
        b->attn_proj_b = def(d, 0, 0, 0, 1, C, 0, "transformer.h.%d.attn.c_proj.bias", l);
        b->ln_2_w = def(d, 0, 0, 1, 1, C, 0, "transformer.h.%d.ln_2.weight", l);
        b->ln_2_b = def(d, 0, 0, 0, 1, C, 0, "transformer.h.%d.ln_2.bias", l);
        b->c_fc_w = def(d, 1, std, 0, 2, 4 * C, C, "transformer.h.%d.mlp.c_fc.weight", l);
        b->c_fc_b = def(d, 0, 0, 0, 1, 4 * C, 0, "transformer.h.%d.mlp.c_fc.bias", l);
        b->mlp_proj_w = def(d, 1, proj_std, 0, 2, C, 4 * C, "transformer.h.%d.mlp.c_proj.weight", l);
        b->mlp_proj_b = def(d, 0, 0, 0, 1, C, 0, "transformer.h.%d.mlp.c_proj.bias", l);
    }
    w->ln_f_w = def(d, 0, 0, 1, 1, C, 0, "transformer.ln_f.weight", 0);
    w->ln_f_b = def(d, 0, 0, 0, 1, C, 0, "transformer.ln_f.bias", 0);
    w->lm_head_w = def(d, 1, std, 0, 2, V, C, "lm_head.weight", 0);
}

/* Every layer's activations for training; with `inference` one layer's, which all layers share
 * (a->h[l] all view the same buffers, see gpt_create_inference). */
static void define_acts(const GPTConfig *c, int inference, size_t B, size_t T, Def *d, GPTActs *a) {
    size_t C = (size_t)c->n_embd, V = (size_t)c->vocab_size, NH = (size_t)c->n_head, BT = B * T;
    GPTActs dummy;
    BlockActs block_dummy;
    if (!a) a = &dummy;
    a->x0 = def(d, 0, 0, 0, 2, BT, C, "x0", 0);
    for (int l = 0; l < (inference ? 1 : c->n_layer); l++) {
        BlockActs *h = a == &dummy ? &block_dummy : &a->h[l];
        h->ln_1 = def(d, 0, 0, 0, 2, BT, C, "h.%d.ln_1", l);
        h->ln_1_mean = def(d, 0, 0, 0, 1, BT, 0, "h.%d.ln_1_mean", l);
        h->ln_1_rstd = def(d, 0, 0, 0, 1, BT, 0, "h.%d.ln_1_rstd", l);
        h->qkv = def(d, 0, 0, 0, 2, BT, 3 * C, "h.%d.qkv", l);
        /* only backward reads the probabilities again: inference leaves them in attention's
         * per-thread workspace (NULL here), which at GPT-2's 1,024 positions saves 48 MB */
        h->att = inference ? NULL : def(d, 0, 0, 0, 2, B * NH, T * T, "h.%d.att", l);
        h->atty = def(d, 0, 0, 0, 2, BT, C, "h.%d.atty", l);
        h->res_1 = def(d, 0, 0, 0, 2, BT, C, "h.%d.res_1", l);
        h->ln_2 = def(d, 0, 0, 0, 2, BT, C, "h.%d.ln_2", l);
        h->ln_2_mean = def(d, 0, 0, 0, 1, BT, 0, "h.%d.ln_2_mean", l);
        h->ln_2_rstd = def(d, 0, 0, 0, 1, BT, 0, "h.%d.ln_2_rstd", l);
        h->fc = def(d, 0, 0, 0, 2, BT, 4 * C, "h.%d.fc", l);
        h->fc_gelu = def(d, 0, 0, 0, 2, BT, 4 * C, "h.%d.fc_gelu", l);
        h->res_2 = def(d, 0, 0, 0, 2, BT, C, "h.%d.res_2", l);
    }
    if (inference && a != &dummy)
        for (int l = 1; l < c->n_layer; l++) a->h[l] = a->h[0];
    a->ln_f = def(d, 0, 0, 0, 2, BT, C, "ln_f", 0);
    a->ln_f_mean = def(d, 0, 0, 0, 1, BT, 0, "ln_f_mean", 0);
    a->ln_f_rstd = def(d, 0, 0, 0, 1, BT, 0, "ln_f_rstd", 0);
    a->logits = def(d, 0, 0, 0, 2, BT, V, "logits", 0);
}

/* The backward scratch; with `inference` only what the forward uses: proj, and dlogits for the
 * softmax of a loss (the gradients stay NULL). */
static void define_scratch(const GPTConfig *c, int inference, size_t B, size_t T, Def *d, GPTScratch *s) {
    size_t C = (size_t)c->n_embd, V = (size_t)c->vocab_size, BT = B * T;
    GPTScratch dummy;
    if (!s) s = &dummy;
    memset(s, 0, sizeof *s);
    if (!inference) {
        s->dres = def(d, 0, 0, 0, 2, BT, C, "dres", 0);
        s->dln = def(d, 0, 0, 0, 2, BT, C, "dln", 0);
    }
    s->proj = def(d, 0, 0, 0, 2, BT, C, "proj", 0);
    if (!inference) {
        s->datty = def(d, 0, 0, 0, 2, BT, C, "datty", 0);
        s->dqkv = def(d, 0, 0, 0, 2, BT, 3 * C, "dqkv", 0);
        s->dfc = def(d, 0, 0, 0, 2, BT, 4 * C, "dfc", 0);
    }
    s->dlogits = def(d, 0, 0, 0, 2, BT, V, "dlogits", 0);
}

/* ---------------------------------------------------------------- lifetime */

/* An inference model keeps each Linear weight only as linear_pack_weight lays it out (what both
 * the GEMM and linear_forward_vec read), every other parameter plainly: the offsets are
 * recomputed for those sizes, still multiples of 16 floats (64 bytes, as the kernels need). */
static void layout_packed(TensorTable *params, int tied) {
    size_t total = 0;
    for (int i = 0; i < params->n; i++) {
        Tensor *t = &params->t[i];
        size_t floats = t->decay ? linear_packed_floats(t->shape[1], t->shape[0]) : t->numel;
        if (tied && i == 0) floats = 0; /* wte lives in lm_head's panels */
        t->offset = total;
        total += (floats + 15) / 16 * 16;
        CHECK(total >= floats);
    }
    params->numel = total;
}

/* A model of config; with a lender (a training model), one that reads the lender's weights and,
 * with borrow_grads, writes its gradients into the lender's (a shard, see gpt_forward_backward). */
static GPT *create(const GPTConfig *config, Pool *pool, int inference, int tied, const GPT *lender,
                   int borrow_grads) {
    CHECK(gpt_config_error(config) == NULL);
    CHECK(!lender || (!inference && !lender->inference));
    GPT *m = xcalloc(1, sizeof *m);
    m->config = *config;
    m->pool = pool;
    m->inference = inference;
    m->tied = tied;
    table_init(&m->params);
    Def build = {&m->params, NULL, 0};
    define_params(config, &build, NULL);
    m->num_params = table_count(&m->params);
    if (inference) layout_packed(&m->params, tied);
    m->borrows_params = lender != NULL;
    m->borrows_grads = lender && borrow_grads;
    m->param_mem = lender ? lender->param_mem : table_alloc(&m->params);
    table_bind(&m->params, m->param_mem);
    m->w.h = xcalloc((size_t)config->n_layer, sizeof(BlockWeights));
    Def views = {&m->params, m->param_mem, 0};
    define_params(config, &views, &m->w);
    if (tied) { /* no storage of its own: a write through it would land in the next tensor */
        CHECK(inference && m->params.t[0].data == m->w.wte && m->params.t[m->params.n - 1].data == m->w.lm_head_w);
        m->w.wte = m->params.t[0].data = NULL;
    }
    if (!inference) {
        m->grad_mem = m->borrows_grads ? lender->grad_mem : table_alloc(&m->params);
        m->g.h = xcalloc((size_t)config->n_layer, sizeof(BlockWeights));
        Def grad_views = {&m->params, m->grad_mem, 0};
        define_params(config, &grad_views, &m->g);
    }
    m->a.h = xcalloc((size_t)config->n_layer, sizeof(BlockActs));
    return m;
}

GPT *gpt_create(const GPTConfig *config, Pool *pool) { return create(config, pool, 0, 0, NULL, 0); }

GPT *gpt_create_inference(const GPTConfig *config, Pool *pool, int tied) {
    return create(config, pool, 1, tied, NULL, 0);
}

int gpt_param_rows(const GPT *m, int i, int transposed) {
    const Tensor *t = &m->params.t[i];
    CHECK(!transposed || t->ndim == 2);
    return (int)(t->ndim == 2 ? t->shape[transposed ? 1 : 0] : 1);
}

void gpt_load_rows(GPT *m, int i, const unsigned char *src, size_t r0, size_t r1, int transposed) {
    const Tensor *t = &m->params.t[i];
    CHECK(i >= 0 && i < m->params.n && r0 <= r1 && r1 <= (size_t)gpt_param_rows(m, i, transposed));
    if (m->tied && i == 0) t = &m->params.t[m->params.n - 1]; /* wte goes into lm_head (V,C) */
    if (m->inference && t->decay) {
        linear_pack_rows(t->data, src, r0, r1, transposed, t->shape[1], t->shape[0]);
        return;
    }
    if (!transposed) { /* little-endian floats, as every target is */
        size_t row = t->numel / (size_t)gpt_param_rows(m, i, 0);
        memcpy(t->data + r0 * row, src, (r1 - r0) * row * sizeof(float));
        return;
    }
    /* src rows k of Wᵀ (in, out) into W (out, in): for each output, the chunk's inputs in a run */
    size_t out = t->shape[0], in = t->shape[1];
    for (size_t o = 0; o < out; o++)
        for (size_t k = r0; k < r1; k++) memcpy(&t->data[o * in + k], src + 4 * ((k - r0) * out + o), 4);
}

static void free_acts(GPT *m) {
    free(m->act_mem);
    free(m->scratch_mem);
    free(m->idx);
    free(m->targets);
    table_free(&m->act_table);
    table_free(&m->scratch_table);
    m->act_mem = m->scratch_mem = NULL;
    m->idx = m->targets = NULL;
    m->act_B = m->act_T = 0;
}

static void free_cache(GPT *m) {
    free(m->cache_key_t);
    free(m->cache_value);
    free(m->weight_packed);
    free(m->packed_offset);
    m->cache_key_t = m->cache_value = m->weight_packed = NULL;
    m->packed_offset = NULL;
    m->cache_B = m->cache_len = m->cache_capacity_B = 0;
}

void gpt_weights_changed(GPT *m) { m->weights_version++; }

void gpt_free(GPT *m) {
    if (!m) return;
    for (int s = 0; s < m->n_shards; s++) {
        Pool *pool = m->shards[s]->pool;
        gpt_free(m->shards[s]);
        pool_free(pool);
    }
    free_acts(m);
    free_cache(m);
    if (!m->borrows_params) free(m->param_mem);
    if (!m->borrows_grads) free(m->grad_mem);
    free(m->w.h);
    free(m->g.h);
    free(m->a.h);
    table_free(&m->params);
    free(m);
}

void gpt_init(GPT *m, uint64_t seed) {
    CHECK(!m->inference); /* its Linear weights are packed: it is loaded, never initialised */
    Rng rng;
    rng_seed(&rng, seed);
    for (int i = 0; i < m->params.n; i++) {
        Tensor *t = &m->params.t[i];
        for (size_t j = 0; j < t->numel; j++)
            t->data[j] = t->init_std > 0.0f ? t->init_std * rng_normal(&rng) : t->init_value;
    }
    m->dropout_seed = rng_u64(&rng);
    m->pass = 0;
}

void gpt_param_table(const GPTConfig *config, TensorTable *table) {
    table_init(table);
    Def build = {table, NULL, 0};
    define_params(config, &build, NULL);
}

size_t gpt_count_params(const GPTConfig *config) {
    TensorTable table;
    gpt_param_table(config, &table);
    size_t n = table_count(&table);
    table_free(&table);
    return n;
}

const char *gpt_largest_weight(const GPT *m, float *value) {
    const char *name = NULL;
    float largest = -1.0f;
    for (int i = 0; i < m->params.n; i++) {
        const Tensor *t = &m->params.t[i];
        size_t end = i + 1 < m->params.n ? m->params.t[i + 1].offset : m->params.numel;
        for (size_t j = t->offset; j < end; j++) { /* (a packed weight's panels, padding too) */
            float a = fabsf(m->param_mem[j]);
            if (!(a <= largest)) { /* NaN wins */
                largest = a;
                name = t->name;
                if (isnan(a)) break;
            }
        }
        if (isnan(largest)) break;
    }
    *value = largest;
    return name;
}

size_t gpt_num_params_mingpt(const GPT *m) {
    int lm_head = table_find(&m->params, "lm_head.weight");
    CHECK(lm_head >= 0);
    return m->num_params - m->params.t[lm_head].numel;
}

double gpt_train_flops_per_token(const GPTConfig *c, int T) {
    size_t params = gpt_count_params(c) - (size_t)c->block_size * (size_t)c->n_embd;
    return 6.0 * (double)params + 12.0 * c->n_layer * T * c->n_embd;
}

/* Activations, scratch and the copies of idx and targets for a (B,T) batch. */
static size_t tables_bytes(const TensorTable *acts, const TensorTable *scratch, size_t B, size_t T) {
    return xmul_size(acts->numel + scratch->numel, sizeof(float)) + xmul_size(2 * B * T, sizeof(int));
}

size_t gpt_activation_bytes(const GPTConfig *config, size_t B, size_t T) {
    TensorTable acts, scratch;
    table_init(&acts);
    table_init(&scratch);
    Def da = {&acts, NULL, 0}, ds = {&scratch, NULL, 0};
    define_acts(config, 0, B, T, &da, NULL);
    define_scratch(config, 0, B, T, &ds, NULL);
    size_t bytes = tables_bytes(&acts, &scratch, B, T);
    table_free(&acts);
    table_free(&scratch);
    return bytes;
}

/* A step of a small model is dozens of kernels of a few microseconds each, and with every kernel
 * split across threads the step is bound by their barriers (the adder: 1 thread ran at 60% of its
 * FMA peak, 2 threads at 32-53% of theirs). So a model up to this many parameters runs its
 * training pass as shards, one thread each, with a barrier only at the end. */
#define SHARD_MAX_PARAMS 1000000

/* A training model packs a copy of its Linear weights for inference (gpt_linear_packed) unless
 * that copy would take more than a quarter of the memory. */
static int room_for_packed_copy(size_t num_params) {
    size_t have = physical_memory_bytes();
    return !have || num_params * sizeof(float) <= have / 4;
}

/* The pool's workspace for a (B,T) pass on `threads`: one block, as large as the largest kernel's. */
static size_t workspace_bytes(const GPTConfig *c, size_t B, size_t T, int threads) {
    size_t C = (size_t)c->n_embd, V = (size_t)c->vocab_size, N = B * T;
    size_t bytes = ops_workspace_bytes(threads, B, T, C, (size_t)c->n_head);
    const size_t linears[5][2] = {{C, 3 * C}, {C, C}, {C, 4 * C}, {4 * C, C}, {C, V}}; /* (C, OC) */
    for (int i = 0; i < 5; i++) bytes = MG_MAX(bytes, linear_workspace_bytes(threads, N, linears[i][0], linears[i][1]));
    return bytes;
}

size_t gpt_train_bytes(const GPTConfig *c, size_t B, size_t T, int threads) {
    TensorTable params;
    table_init(&params);
    Def build = {&params, NULL, 0};
    define_params(c, &build, NULL);
    size_t num_params = table_count(&params), floats = params.numel, packed = 0;
    for (int i = 0; i < params.n; i++) /* as gpt_linear_packed lays the copy out */
        if (params.t[i].decay)
            packed += (linear_packed_floats(params.t[i].shape[1], params.t[i].shape[0]) + 15) / 16 * 16;
    table_free(&params);
    size_t bytes = xmul_size(floats, 2 * sizeof(float)); /* weights, gradients */
    size_t n_shards = num_params <= SHARD_MAX_PARAMS ? MG_MIN(B, (size_t)GPT_SHARDS) : 1;
    if (n_shards > 1) {
        /* each shard its rows' activations, a one-thread pool's workspace and (but the first)
         * gradients; the model's own activations are filled by evaluation alone */
        for (size_t s = 0; s < n_shards; s++) {
            size_t lo, hi;
            split_range(B, (int)s, (int)n_shards, &lo, &hi);
            bytes += gpt_activation_bytes(c, hi - lo, T) + workspace_bytes(c, hi - lo, T, 1);
            if (s > 0) bytes += xmul_size(floats, sizeof(float));
        }
    }
    bytes += gpt_activation_bytes(c, B, T) + workspace_bytes(c, B, T, threads);
    /* a sample at evaluation: the packed copy, a one-row key/value cache, the sampler's scratch */
    if (room_for_packed_copy(num_params)) bytes += xmul_size(packed, sizeof(float));
    size_t L = (size_t)c->n_layer, Tm = (size_t)c->block_size, C = (size_t)c->n_embd;
    bytes += (2 * L * Tm * C + 3 * (size_t)c->vocab_size) * sizeof(float);
    return bytes;
}

/* Makes sure the activation buffers hold a (B,T) batch. Views are laid out for the capacity, and
 * a smaller batch uses the leading part of each buffer with its own (B,T) strides. */
void gpt_ensure_acts(GPT *m, int B, int T) {
    if (m->act_mem && B <= m->act_B && T <= m->act_T) return;
    int new_B = MG_MAX(B, m->act_B), new_T = MG_MAX(T, m->act_T);
    free_acts(m);
    Def da = {&m->act_table, NULL, 0}, ds = {&m->scratch_table, NULL, 0};
    define_acts(&m->config, m->inference, (size_t)new_B, (size_t)new_T, &da, NULL);
    define_scratch(&m->config, m->inference, (size_t)new_B, (size_t)new_T, &ds, NULL);
    /* refuse, with the size, before asking for more than the machine has */
    size_t need = tables_bytes(&m->act_table, &m->scratch_table, (size_t)new_B, (size_t)new_T);
    size_t have = physical_memory_bytes();
    if (have && need > have)
        die(1, "a batch of %d x %d needs %.1f GiB of activations, more than this machine's %.1f GiB",
            new_B, new_T, (double)need / (1 << 30), (double)have / (1 << 30));
    if (m->inference) {
        /* not zeroed: every kernel writes what it later reads, and a page a pass never writes is
         * never touched and takes no memory (the logits of the prompt positions a one-row prompt
         * pass skips: 200 MB for GPT-2 at 1,024 tokens, and dlogits unless a loss is asked for) */
        m->act_mem = xmalloc_aligned(xmul_size(m->act_table.numel, sizeof(float)));
        m->scratch_mem = xmalloc_aligned(xmul_size(m->scratch_table.numel, sizeof(float)));
    } else {
        m->act_mem = table_alloc(&m->act_table);
        m->scratch_mem = table_alloc(&m->scratch_table);
    }
    Def va = {&m->act_table, m->act_mem, 0}, vs = {&m->scratch_table, m->scratch_mem, 0};
    define_acts(&m->config, m->inference, (size_t)new_B, (size_t)new_T, &va, &m->a);
    define_scratch(&m->config, m->inference, (size_t)new_B, (size_t)new_T, &vs, &m->d);
    m->idx = xmalloc(xmul_size((size_t)new_B * new_T, sizeof(int)));
    m->targets = xmalloc(xmul_size((size_t)new_B * new_T, sizeof(int)));
    m->act_B = new_B;
    m->act_T = new_T;
}

/* ---------------------------------------------------------------- forward and backward */

/* Dropout sites: 0 is the embedding; layer l has attention 1+3l, attention residual 2+3l and MLP
 * residual 3+3l. */
static uint32_t site_key(const GPT *m, int site) {
    return drop_key(m->dropout_seed, m->pass, (uint32_t)site | m->shard << 20); /* sites < 2^20 */
}

/* The packed panels of a Linear weight (a view of param_mem), or NULL: an inference model keeps
 * nothing else; a training model packs a copy of every Linear weight once per weights version,
 * unless that copy would take more than a quarter of the memory. */
const float *gpt_linear_packed(GPT *m, const float *weight) {
    if (m->inference) return weight;
    if (!m->weight_packed || m->weight_packed_version != m->weights_version) {
        if (!m->weight_packed) {
            if (!room_for_packed_copy(m->num_params)) return NULL;
            size_t total = 0;
            m->packed_offset = xcalloc((size_t)m->params.n, sizeof(size_t));
            for (int i = 0; i < m->params.n; i++) {
                const Tensor *t = &m->params.t[i];
                if (!t->decay) continue; /* Linear weights (OC, C): the decayed tensors */
                m->packed_offset[i] = total;
                total += (linear_packed_floats(t->shape[1], t->shape[0]) + 15) / 16 * 16;
            }
            m->weight_packed = xmalloc_aligned(xmul_size(total, sizeof(float)));
        }
        for (int i = 0; i < m->params.n; i++) {
            const Tensor *t = &m->params.t[i];
            if (!t->decay) continue;
            linear_pack_weight(m->pool, m->weight_packed + m->packed_offset[i], m->param_mem + t->offset,
                               t->shape[1], t->shape[0]);
        }
        m->weight_packed_version = m->weights_version;
    }
    size_t offset = (size_t)(weight - m->param_mem);
    for (int i = 0; i < m->params.n; i++)
        if (m->params.t[i].offset == offset) return m->weight_packed + m->packed_offset[i];
    CHECK(0); /* every Linear weight is in the table */
    return NULL;
}

/* inp (rows,C) -> out (rows,OC) through a Linear: from packed panels when `packed` (inference;
 * always for an inference model), else packing on every call as training does. Same bits. */
static void forward_linear(GPT *m, int packed, float *out, const float *inp, const float *weight,
                           const float *bias, size_t rows, size_t C, size_t OC) {
    const float *panels = packed || m->inference ? gpt_linear_packed(m, weight) : NULL;
    if (panels) linear_forward_packed(m->pool, out, inp, panels, bias, rows, C, OC);
    else linear_forward(m->pool, out, inp, weight, bias, rows, C, OC);
}

void gpt_embed(const GPT *m, int token, int pos, float *out) {
    size_t C = (size_t)m->config.n_embd;
    const float *wpe_t = m->w.wpe + (size_t)pos * C;
    if (m->w.wte) {
        const float *wte_ix = m->w.wte + (size_t)token * C;
        for (size_t i = 0; i < C; i++) out[i] = wte_ix[i] + wpe_t[i]; /* as encoder_forward */
        return;
    }
    linear_packed_row(out, m->w.lm_head_w, (size_t)token, C, (size_t)m->config.vocab_size);
    for (size_t i = 0; i < C; i++) out[i] = out[i] + wpe_t[i];
}

/* Copies the batch in and sets the pass state shared by gpt_forward and gpt_forward_infer. */
static void forward_begin(GPT *m, const int *idx, const int *targets, int B, int T, int training) {
    const GPTConfig *c = &m->config;
    CHECK(B > 0 && T > 0 && T <= c->block_size);
    CHECK(!training || !m->inference); /* nothing could learn from it */
    gpt_ensure_acts(m, B, T);
    size_t BT = (size_t)B * T;
    for (size_t i = 0; i < BT; i++) {
        CHECK(idx[i] >= 0 && idx[i] < c->vocab_size);
        m->idx[i] = idx[i];
        if (targets) {
            CHECK(targets[i] >= -1 && targets[i] < c->vocab_size);
            m->targets[i] = targets[i];
        }
    }
    m->B = B;
    m->T = T;
    m->has_targets = targets != NULL;
    m->dropout_on = training;
    if (training) m->pass++;
}

/* One pre-LayerNorm block of layer l on the pass in m (B, T, dropout): x (B,T,C) -> h->res_2
 * (B,T,C), through h's buffers. With rows = 1 (the last position of B = 1), everything after
 * attention runs on the last position only. x may be h->res_2 itself (an inference model's
 * layers share one set of buffers): x is last read by res_1 = x + ..., before res_2 is written.
 * on_qkv, if not NULL, sees the layer's qkv (B,T,3C) as soon as it exists. */
static void block_forward(GPT *m, int l, const float *x, BlockActs *h, size_t rows, int packed,
                          void (*on_qkv)(void *ctx, int l, const float *qkv), void *ctx) {
    const GPTConfig *c = &m->config;
    size_t B = (size_t)m->B, T = (size_t)m->T, BT = B * T;
    size_t C = (size_t)c->n_embd, NH = (size_t)c->n_head;
    float pa = m->dropout_on ? c->attn_pdrop : 0.0f;
    float pr = m->dropout_on ? c->resid_pdrop : 0.0f;
    BlockWeights *bw = &m->w.h[l];
    size_t off = (BT - rows) * C; /* the rows from attention's output on: all, or the last one */
    /* x = x + attn(ln_1(x)) */
    layernorm_forward(m->pool, h->ln_1, h->ln_1_mean, h->ln_1_rstd, x, bw->ln_1_w, bw->ln_1_b, BT, C);
    forward_linear(m, packed, h->qkv, h->ln_1, bw->c_attn_w, bw->c_attn_b, BT, C, 3 * C);
    if (on_qkv) on_qkv(ctx, l, h->qkv);
    attention_forward(m->pool, h->atty, h->att, h->qkv, B, T, C, NH, pa, site_key(m, 1 + 3 * l),
                      rows == 1 && BT > 1 ? T - 1 : 0);
    forward_linear(m, packed, m->d.proj, h->atty + off, bw->attn_proj_w, bw->attn_proj_b, rows, C, C);
    residual_dropout_forward(m->pool, h->res_1 + off, x + off, m->d.proj, rows * C, pr, site_key(m, 2 + 3 * l));
    /* x = x + mlp(ln_2(x)) */
    layernorm_forward(m->pool, h->ln_2 + off, h->ln_2_mean + off / C, h->ln_2_rstd + off / C, h->res_1 + off,
                      bw->ln_2_w, bw->ln_2_b, rows, C);
    forward_linear(m, packed, h->fc + 4 * off, h->ln_2 + off, bw->c_fc_w, bw->c_fc_b, rows, C, 4 * C);
    gelu_forward(m->pool, h->fc_gelu + 4 * off, h->fc + 4 * off, rows * 4 * C);
    forward_linear(m, packed, m->d.proj, h->fc_gelu + 4 * off, bw->mlp_proj_w, bw->mlp_proj_b, rows, 4 * C, C);
    residual_dropout_forward(m->pool, h->res_2 + off, h->res_1 + off, m->d.proj, rows * C, pr,
                             site_key(m, 3 + 3 * l));
}

/* The embeddings, the blocks, ln_f and lm_head over the batch in m->idx -> m->a.logits (B,T,V).
 * With last_only (B = 1, inference), the last block's work after attention, ln_f and lm_head run
 * on the last position alone: nothing else reads those rows, and each row's arithmetic does not
 * depend on the others, so its logits have the same bits. */
static void forward_blocks(GPT *m, int last_only, int packed, void (*on_qkv)(void *ctx, int l, const float *qkv),
                           void *ctx) {
    const GPTConfig *c = &m->config;
    size_t B = (size_t)m->B, T = (size_t)m->T, BT = B * T;
    size_t C = (size_t)c->n_embd, V = (size_t)c->vocab_size;
    GPTWeights *w = &m->w;
    GPTActs *a = &m->a;
    if (w->wte)
        encoder_forward(m->pool, a->x0, m->idx, w->wte, w->wpe, B, T, C);
    else
        for (size_t bt = 0; bt < BT; bt++) gpt_embed(m, m->idx[bt], (int)(bt % T), a->x0 + bt * C);
    dropout_forward(m->pool, a->x0, a->x0, BT * C, m->dropout_on ? c->embd_pdrop : 0.0f, site_key(m, 0));
    const float *x = a->x0;
    size_t rows = BT;
    for (int l = 0; l < c->n_layer; l++) {
        if (last_only && l == c->n_layer - 1) rows = 1;
        block_forward(m, l, x, &a->h[l], rows, packed, on_qkv, ctx);
        x = a->h[l].res_2;
    }
    size_t off = (BT - rows) * C;
    layernorm_forward(m->pool, a->ln_f + off, a->ln_f_mean + off / C, a->ln_f_rstd + off / C, x + off, w->ln_f_w,
                      w->ln_f_b, rows, C);
    forward_linear(m, packed, a->logits + off / C * V, a->ln_f + off, w->lm_head_w, NULL, rows, C, V);
}

float gpt_forward(GPT *m, const int *idx, const int *targets, int B, int T, int training) {
    forward_begin(m, idx, targets, B, T, training);
    forward_blocks(m, 0, 0, NULL, NULL);
    m->loss = 0.0;
    m->n_targets = 0;
    if (targets)
        m->loss = crossentropy_forward(m->pool, m->d.dlogits, m->a.logits, m->targets, (size_t)B * T,
                                       (size_t)m->config.vocab_size, &m->n_targets);
    return (float)m->loss;
}

const float *gpt_forward_infer(GPT *m, const int *idx, int B, int T, int last_only,
                               void (*on_qkv)(void *ctx, int l, const float *qkv), void *ctx) {
    CHECK(!last_only || B == 1);
    forward_begin(m, idx, NULL, B, T, 0);
    forward_blocks(m, last_only, 1, on_qkv, ctx);
    m->loss = 0.0;
    m->n_targets = 0;
    return m->a.logits;
}

static void zero_range(void *ctx, size_t lo, size_t hi) { memset((float *)ctx + lo, 0, (hi - lo) * sizeof(float)); }

/* x (n) = 0 on every thread of the pool, each its share (a single memset was 1.6% of the adder's
 * step, with the other thread waiting). */
static void zero_floats(Pool *pool, float *x, size_t n) { pool_for(pool, n, zero_range, x); }

void gpt_zero_grad(GPT *m) {
    CHECK(!m->inference); /* it has no gradients */
    zero_floats(m->pool, m->grad_mem, m->params.numel);
}

void gpt_backward(GPT *m) {
    CHECK(!m->inference); /* it has no gradients, and one layer's activations */
    CHECK(m->has_targets);
    const GPTConfig *c = &m->config;
    size_t B = (size_t)m->B, T = (size_t)m->T, BT = B * T;
    size_t C = (size_t)c->n_embd, V = (size_t)c->vocab_size, NH = (size_t)c->n_head;
    float pe = m->dropout_on ? c->embd_pdrop : 0.0f;
    float pa = m->dropout_on ? c->attn_pdrop : 0.0f;
    float pr = m->dropout_on ? c->resid_pdrop : 0.0f;
    GPTWeights *w = &m->w, *g = &m->g;
    GPTActs *a = &m->a;
    GPTScratch *d = &m->d;
    size_t BTC = BT * C;

    /* loss = cross_entropy(lm_head(ln_f(x)), targets) */
    crossentropy_backward(m->pool, d->dlogits, d->dlogits, m->targets, BT, V, m->n_targets);
    linear_backward(m->pool, d->dln, 0, g->lm_head_w, NULL, d->dlogits, a->ln_f, w->lm_head_w, BT, C,
                    V);
    const float *x_last = c->n_layer ? a->h[c->n_layer - 1].res_2 : a->x0;
    zero_floats(m->pool, d->dres, BTC);
    layernorm_backward(m->pool, d->dres, g->ln_f_w, g->ln_f_b, d->dln, x_last, w->ln_f_w, a->ln_f_mean,
                       a->ln_f_rstd, BT, C);

    for (int l = c->n_layer - 1; l >= 0; l--) {
        BlockWeights *bw = &w->h[l], *bg = &g->h[l];
        BlockActs *h = &a->h[l];
        const float *x_in = l ? a->h[l - 1].res_2 : a->x0;
        /* res_2 = res_1 + dropout(mlp_proj(gelu(c_fc(ln_2(res_1))))); dres already carries the
         * identity path, the MLP path is added to it below. */
        dropout_backward(m->pool, d->proj, d->dres, BTC, pr, site_key(m, 3 + 3 * l));
        linear_backward(m->pool, d->dfc, 0, bg->mlp_proj_w, bg->mlp_proj_b, d->proj, h->fc_gelu,
                        bw->mlp_proj_w, BT, 4 * C, C);
        gelu_backward(m->pool, d->dfc, d->dfc, h->fc, h->fc_gelu, BT * 4 * C);
        linear_backward(m->pool, d->dln, 0, bg->c_fc_w, bg->c_fc_b, d->dfc, h->ln_2, bw->c_fc_w, BT,
                        C, 4 * C);
        layernorm_backward(m->pool, d->dres, bg->ln_2_w, bg->ln_2_b, d->dln, h->res_1, bw->ln_2_w,
                           h->ln_2_mean, h->ln_2_rstd, BT, C);
        /* res_1 = x_in + dropout(attn_proj(attention(c_attn(ln_1(x_in))))) */
        dropout_backward(m->pool, d->proj, d->dres, BTC, pr, site_key(m, 2 + 3 * l));
        linear_backward(m->pool, d->datty, 0, bg->attn_proj_w, bg->attn_proj_b, d->proj, h->atty,
                        bw->attn_proj_w, BT, C, C);
        attention_backward(m->pool, d->dqkv, d->datty, h->qkv, h->att, B, T, C, NH, pa,
                           site_key(m, 1 + 3 * l));
        linear_backward(m->pool, d->dln, 0, bg->c_attn_w, bg->c_attn_b, d->dqkv, h->ln_1,
                        bw->c_attn_w, BT, C, 3 * C);
        layernorm_backward(m->pool, d->dres, bg->ln_1_w, bg->ln_1_b, d->dln, x_in, bw->ln_1_w,
                           h->ln_1_mean, h->ln_1_rstd, BT, C);
    }
    /* x0 = dropout(wte[idx] + wpe[t]) */
    dropout_backward(m->pool, d->dres, d->dres, BTC, pe, site_key(m, 0));
    encoder_backward(m->pool, g->wte, g->wpe, d->dres, m->idx, B, T, C);
}

typedef struct {
    GPT *m;
    const int *idx, *targets;
    int B, T, n_shards;
    size_t divide_by;           /* what every shard's gradient is divided by: the whole batch's targets */
    double loss_sum[GPT_SHARDS]; /* each shard's loss times its targets */
    size_t own_targets[GPT_SHARDS];
} ShardJob;

static void shard_worker(void *ctx, int ith, int nth) {
    ShardJob *job = ctx;
    for (int s = ith; s < job->n_shards; s += nth) { /* which thread runs a shard changes no bit */
        GPT *sh = job->m->shards[s];
        size_t lo, hi;
        split_range((size_t)job->B, s, job->n_shards, &lo, &hi);
        size_t off = lo * (size_t)job->T;
        sh->dropout_seed = job->m->dropout_seed;
        sh->pass = job->m->pass; /* the forward advances it, as the whole model's would */
        float loss = gpt_forward(sh, job->idx + off, job->targets + off, (int)(hi - lo), job->T, 1);
        job->loss_sum[s] = (double)loss * (double)sh->n_targets;
        job->own_targets[s] = sh->n_targets;
        sh->n_targets = job->divide_by;
        gpt_zero_grad(sh); /* shard 0's: the model's own */
        gpt_backward(sh);
    }
}

static void add_shard_grads(void *ctx, size_t lo, size_t hi) {
    const ShardJob *job = ctx;
    float *sum = job->m->grad_mem; /* shard 0's: it borrows these */
    for (int s = 1; s < job->n_shards; s++) {
        const float *g = job->m->shards[s]->grad_mem;
        for (size_t i = lo; i < hi; i++) sum[i] += g[i];
    }
}

float gpt_forward_backward(GPT *m, const int *idx, const int *targets, int B, int T, size_t divide_by) {
    CHECK(!m->inference && targets != NULL);
    int n_shards = m->num_params <= SHARD_MAX_PARAMS ? MG_MIN(B, GPT_SHARDS) : 1;
    if (n_shards == 1) {
        float loss = gpt_forward(m, idx, targets, B, T, 1);
        size_t own = m->n_targets;
        m->n_targets = divide_by; /* the count crossentropy_backward divides by */
        gpt_zero_grad(m);
        gpt_backward(m);
        m->n_targets = own;
        return loss;
    }
    for (; m->n_shards < n_shards; m->n_shards++) {
        GPT *sh = create(&m->config, pool_create(1), 0, 0, m, m->n_shards == 0);
        sh->shard = (uint32_t)m->n_shards;
        m->shards[m->n_shards] = sh;
    }
    ShardJob job = {m, idx, targets, B, T, n_shards, divide_by, {0}, {0}};
    pool_run(m->pool, shard_worker, &job);
    pool_for(m->pool, m->params.numel, add_shard_grads, &job);
    m->pass++;
    double total = 0.0;
    m->n_targets = 0;
    for (int s = 0; s < n_shards; s++) {
        total += job.loss_sum[s];
        m->n_targets += job.own_targets[s];
    }
    m->B = B;
    m->T = T;
    m->has_targets = 0; /* its own buffers hold no pass to run backward on */
    m->loss = m->n_targets ? total / (double)m->n_targets : 0.0;
    return (float)m->loss;
}

GPT *gpt_clone(const GPT *src, const GPTConfig *config) {
    const GPTConfig *c = &src->config;
    CHECK(config->n_layer == c->n_layer && config->n_head == c->n_head && config->n_embd == c->n_embd &&
          config->vocab_size == c->vocab_size && config->block_size <= c->block_size);
    GPT *m = gpt_create(config, src->pool);
    /* both tables list minGPT's parameters in one order; only wpe may have fewer rows, its first */
    for (int i = 0; i < m->params.n; i++) {
        const Tensor *to = &m->params.t[i], *from = &src->params.t[i];
        CHECK(strcmp(to->name, from->name) == 0 && to->numel <= from->numel);
        if (src->tied && i == 0) from = &src->params.t[src->params.n - 1]; /* wte is lm_head's (V,C) */
        if (src->inference && from->decay) { /* a Linear weight (OC,C), kept packed: row by row */
            size_t OC = from->shape[0], C = from->shape[1];
            for (size_t o = 0; o < OC; o++) linear_packed_row(to->data + o * C, from->data, o, C, OC);
        } else {
            memcpy(to->data, from->data, to->numel * sizeof(float));
        }
    }
    m->dropout_seed = src->dropout_seed;
    return m;
}
