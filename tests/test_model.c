/* test_model.c — the whole GPT: finite differences for every parameter tensor, thread invariance,
 * minGPT's init and parameter table, activation reuse, and the trainer. */
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "common.h"
#include "decode.h"
#include "model.h"
#include "rng.h"
#include "trainer.h"

static Pool *pool1, *pool2;

/* A tiny config with all sizes distinct: V 13, block 9, C 12, 3 heads of 4, 2 layers. */
static GPTConfig tiny_config(float pdrop) {
    GPTConfig c = {2, 3, 12, 13, 9, pdrop, pdrop, pdrop};
    return c;
}

static void make_batch(int *idx, int *targets, int B, int T, int V, unsigned seed) {
    Rng rng;
    rng_seed(&rng, seed);
    for (int i = 0; i < B * T; i++) {
        idx[i] = (int)rng_below(&rng, (uint64_t)V);
        targets[i] = (int)rng_below(&rng, (uint64_t)V);
    }
    targets[1] = -1; /* ignored positions must get no gradient */
    targets[B * T - 2] = -1;
}

/* Bigger than minGPT's init so that every path carries gradient. */
static void randomize(GPT *m, unsigned seed) {
    Rng rng;
    rng_seed(&rng, seed);
    for (int i = 0; i < m->params.n; i++) {
        Tensor *t = &m->params.t[i];
        for (size_t j = 0; j < t->numel; j++)
            t->data[j] = (t->init_value == 1.0f ? 1.0f : 0.0f) + 0.3f * rng_normal(&rng);
    }
}

typedef struct {
    GPT *m;
    int *idx, *targets, B, T;
    uint64_t pass;
} LossCtx;

static double model_loss(LossCtx *c) {
    c->m->pass = c->pass - 1; /* the same dropout masks every time */
    return gpt_forward(c->m, c->idx, c->targets, c->B, c->T, 1);
}

static void test_every_parameter_against_finite_differences(void) {
    GPTConfig config = tiny_config(0.1f);
    GPT *m = gpt_create(&config, pool2);
    gpt_init(m, 7);
    randomize(m, 8);
    int B = 2, T = 7, idx[14], targets[14];
    make_batch(idx, targets, B, T, config.vocab_size, 9);
    LossCtx c = {m, idx, targets, B, T, 5};
    model_loss(&c);
    gpt_zero_grad(m);
    gpt_backward(m);
    float h = 1e-2f;
    for (int i = 0; i < m->params.n; i++) {
        Tensor *t = &m->params.t[i];
        /* up to 24 entries per tensor, spread over it */
        size_t n = MG_MIN(t->numel, (size_t)24), stride = t->numel / n;
        float analytic[24], numeric[24];
        for (size_t k = 0; k < n; k++) {
            size_t j = k * stride + (k * 7) % stride;
            float saved = t->data[j];
            t->data[j] = saved + h;
            double plus = model_loss(&c);
            t->data[j] = saved - h;
            double minus = model_loss(&c);
            t->data[j] = saved;
            numeric[k] = (float)((plus - minus) / (2.0 * h));
            analytic[k] = m->grad_mem[t->offset + j];
        }
        expect_close(t->name, analytic, numeric, n, 2e-4, 3e-2);
    }
    gpt_free(m);
}

static void test_one_and_two_threads_give_identical_bits(void) {
    GPTConfig config = tiny_config(0.1f);
    config.n_embd = 48, config.n_head = 4, config.block_size = 32, config.vocab_size = 37;
    GPT *m1 = gpt_create(&config, pool1), *m2 = gpt_create(&config, pool2);
    gpt_init(m1, 3);
    gpt_init(m2, 3);
    int B = 5, T = 31, *idx = xmalloc(B * T * 4), *targets = xmalloc(B * T * 4);
    make_batch(idx, targets, B, T, config.vocab_size, 4);
    float l1 = gpt_forward(m1, idx, targets, B, T, 1), l2 = gpt_forward(m2, idx, targets, B, T, 1);
    expect_same_bits("loss", &l2, &l1, 1);
    expect_same_bits("logits", m2->a.logits, m1->a.logits, (size_t)B * T * config.vocab_size);
    gpt_zero_grad(m1);
    gpt_zero_grad(m2);
    gpt_backward(m1);
    gpt_backward(m2);
    expect_same_bits("gradients", m2->grad_mem, m1->grad_mem, m1->params.numel);
    TrainConfig tc = train_config_default();
    Trainer t1, t2;
    trainer_init(&t1, m1, &tc);
    trainer_init(&t2, m2, &tc);
    for (int s = 0; s < 3; s++) {
        trainer_step(&t1, m1, idx, targets, B, T);
        trainer_step(&t2, m2, idx, targets, B, T);
    }
    expect_same_bits("weights after 3 steps", m2->param_mem, m1->param_mem, m1->params.numel);
    trainer_free(&t1);
    trainer_free(&t2);
    gpt_free(m1);
    gpt_free(m2);
    free(idx);
    free(targets);
}

/* The largest |a - b| over n floats, relative to the largest |b|. */
static double max_rel_diff(const float *a, const float *b, size_t n) {
    double diff = 0.0, scale = 1e-30;
    for (size_t i = 0; i < n; i++) {
        diff = fmax(diff, fabs((double)a[i] - b[i]));
        scale = fmax(scale, fabs((double)b[i]));
    }
    return diff / scale;
}

static size_t count_targets(const int *targets, int n) {
    size_t count = 0;
    for (int i = 0; i < n; i++) count += targets[i] != -1;
    return count;
}

static void test_sharded_training_pass(void) {
    /* a small model's pass runs as shards of rows, one thread each (gpt_forward_backward): the
     * loss and gradients are the whole batch's (each shard divides by the whole batch's targets,
     * not its own: the first shard here has far fewer), the bits are the same on any number of
     * threads, and each shard draws its own dropout masks */
    GPTConfig config = tiny_config(0.0f);
    int B = 5, T = 7, *idx = xmalloc(B * T * 4), *targets = xmalloc(B * T * 4);
    make_batch(idx, targets, B, T, config.vocab_size, 21);
    for (int i = 0; i < 2 * T - 1; i++) targets[i] = -1; /* rows 0 and 1 (shard 0) keep one target */
    GPT *whole = gpt_create(&config, pool2), *sharded = gpt_create(&config, pool2);
    randomize(whole, 22);
    memcpy(sharded->param_mem, whole->param_mem, whole->params.numel * sizeof(float));
    float want = gpt_forward(whole, idx, targets, B, T, 1);
    gpt_zero_grad(whole);
    gpt_backward(whole);
    float got = gpt_forward_backward(sharded, idx, targets, B, T, count_targets(targets, B * T));
    EXPECT(sharded->n_shards == GPT_SHARDS && sharded->n_targets == whole->n_targets);
    EXPECT(fabs(got - want) <= 1e-6 * fabs(want));
    double rel = max_rel_diff(sharded->grad_mem, whole->grad_mem, whole->params.numel);
    if (rel > 1e-5) fprintf(stderr, "  sharded gradients differ by %.3g of the largest\n", rel);
    EXPECT(rel <= 1e-5);
    gpt_free(whole);
    gpt_free(sharded);

    config = tiny_config(0.2f);
    Pool *pool3 = pool_create(3);
    Pool *pools[3] = {pool1, pool2, pool3};
    GPT *m[3];
    for (int p = 0; p < 3; p++) {
        m[p] = gpt_create(&config, pools[p]);
        gpt_init(m[p], 23);
        gpt_forward_backward(m[p], idx, targets, B, T, count_targets(targets, B * T));
        gpt_forward_backward(m[p], idx, targets, B, T, count_targets(targets, B * T)); /* masks move on */
        if (p) expect_same_bits("sharded gradients", m[p]->grad_mem, m[0]->grad_mem, m[0]->params.numel);
        if (p) EXPECT(m[p]->pass == 2 && m[p]->loss == m[0]->loss);
    }
    /* both shards the same rows: only their dropout masks can tell their losses apart */
    for (int i = 0; i < 2 * T; i++) idx[2 * T + i] = idx[i], targets[2 * T + i] = targets[i] = i % 5;
    gpt_forward_backward(m[0], idx, targets, 4, T, count_targets(targets, 4 * T));
    EXPECT(m[0]->shards[0]->loss != m[0]->shards[1]->loss);
    for (int p = 0; p < 3; p++) gpt_free(m[p]);
    pool_free(pool3);

    GPTConfig big = {8, 4, 128, 64, 8, 0.0f, 0.0f, 0.0f}; /* 1.6M parameters: one pass, every thread */
    GPT *large = gpt_create(&big, pool2);
    gpt_init(large, 24);
    gpt_forward_backward(large, idx, targets, 2, 4, count_targets(targets, 2 * 4));
    EXPECT(large->n_shards == 0 && large->has_targets);
    gpt_free(large);
    free(idx);
    free(targets);
}

static void test_accumulated_micro_batches_equal_one_large_batch(void) {
    /* trainer_step_accum with 3 micro-batches of 2 rows: the loss and gradients of one batch of 6
     * rows, for a sharded small model and for one past the shard limit. The ignored targets are
     * nearly all in the first micro-batch, so dividing each by its own count would be far off. */
    GPTConfig small = tiny_config(0.0f), big = {8, 4, 128, 64, 8, 0.0f, 0.0f, 0.0f};
    const GPTConfig *configs[2] = {&small, &big};
    int K = 3, B = 2, T = 7, *idx = xmalloc(K * B * T * 4), *targets = xmalloc(K * B * T * 4);
    for (int c = 0; c < 2; c++) {
        make_batch(idx, targets, K * B, T, configs[c]->vocab_size, 31);
        for (int i = 0; i < B * T - 2; i++) targets[i] = -1;
        GPT *one = gpt_create(configs[c], pool2), *acc = gpt_create(configs[c], pool2);
        gpt_init(one, 32);
        memcpy(acc->param_mem, one->param_mem, one->params.numel * sizeof(float));
        TrainConfig tc = train_config_default();
        tc.learning_rate = 0.0f; /* the gradients stay for the comparison; the weights do not move */
        Trainer t_one, t_acc;
        trainer_init(&t_one, one, &tc);
        trainer_init(&t_acc, acc, &tc);
        float want = trainer_step(&t_one, one, idx, targets, K * B, T);
        float got = trainer_step_accum(&t_acc, acc, idx, targets, K, B, T);
        EXPECT(fabsf(got - want) <= 1e-6f * fabsf(want));
        double rel = max_rel_diff(acc->grad_mem, one->grad_mem, one->params.numel);
        if (rel > 1e-5) fprintf(stderr, "  config %d: accumulated gradients differ by %.3g of the largest\n", c, rel);
        EXPECT(rel <= 1e-5 && t_acc.step == 1);
        EXPECT(fabsf(t_acc.grad_norm - t_one.grad_norm) <= 1e-5f * t_one.grad_norm);
        trainer_free(&t_one);
        trainer_free(&t_acc);
        gpt_free(one);
        gpt_free(acc);
    }
    free(idx);
    free(targets);
}

static double tensor_std(const Tensor *t, double *mean_out) {
    double s = 0.0, s2 = 0.0;
    for (size_t i = 0; i < t->numel; i++) {
        s += t->data[i];
        s2 += (double)t->data[i] * t->data[i];
    }
    double mean = s / t->numel;
    *mean_out = mean;
    return sqrt(s2 / t->numel - mean * mean);
}

static void test_mingpt_init_and_decay_groups(void) {
    GPTConfig config = {4, 4, 64, 50, 32, 0.1f, 0.1f, 0.1f};
    GPT *m = gpt_create(&config, pool1);
    gpt_init(m, 1);
    double proj_std = 0.02 / sqrt(2.0 * config.n_layer);
    for (int i = 0; i < m->params.n; i++) {
        const Tensor *t = &m->params.t[i];
        const char *name = t->name;
        size_t len = strlen(name);
        int is_bias = len > 5 && strcmp(name + len - 5, ".bias") == 0;
        int is_ln = strstr(name, "ln_") != NULL;
        int is_proj = strstr(name, "c_proj.weight") != NULL;
        int is_linear_w = !is_ln && !is_bias && strstr(name, "wte") == NULL && strstr(name, "wpe") == NULL;
        double mean, std = tensor_std(t, &mean);
        if (is_ln && !is_bias) EXPECT(mean == 1.0 && std == 0.0);
        else if (is_bias) EXPECT(mean == 0.0 && std == 0.0);
        else {
            double want = is_proj ? proj_std : 0.02;
            if (fabs(std - want) > 0.05 * want || fabs(mean) > 0.1 * want)
                printf("    %s: std %.5f (want %.5f), mean %.5f\n", name, std, want, mean);
            EXPECT(fabs(std - want) < 0.05 * want && fabs(mean) < 0.1 * want);
        }
        /* AdamW decays exactly the Linear weights */
        if (t->decay != is_linear_w) printf("    %s: decay %d\n", name, t->decay);
        EXPECT(t->decay == is_linear_w);
    }
    EXPECT(strcmp(m->params.t[0].name, "transformer.wte.weight") == 0);
    EXPECT(strcmp(m->params.t[m->params.n - 1].name, "lm_head.weight") == 0);
    EXPECT(m->params.n == 2 + 12 * config.n_layer + 3);
    gpt_free(m);
}

static void test_parameter_counts_match_mingpt(void) {
    /* minGPT prints 124.44M for gpt2 (lm_head excluded), the known GPT-2 small size */
    GPTConfig config = {0};
    EXPECT(gpt_preset("gpt2", &config));
    config.vocab_size = 50257;
    config.block_size = 1024;
    size_t total = gpt_count_params(&config), lm_head = 50257u * 768u;
    EXPECT(total - lm_head == 124439808u);
    EXPECT(gpt_preset("gpt-mini", &config) && config.n_layer == 6 && config.n_head == 6 &&
           config.n_embd == 192);
    EXPECT(gpt_preset("gpt-nano", &config) && config.n_layer == 3 && config.n_embd == 48);
    EXPECT(!gpt_preset("gpt-huge", &config));
    GPTConfig bad = tiny_config(0.1f);
    bad.n_head = 5; /* 12 not divisible by 5 */
    EXPECT(gpt_config_error(&bad) != NULL);
    EXPECT(gpt_config_error(&(GPTConfig){2, 3, 12, 13, 9, 1.0f, 0, 0}) != NULL);
}

static void test_smaller_batches_reuse_activations_correctly(void) {
    GPTConfig config = tiny_config(0.0f);
    GPT *a = gpt_create(&config, pool2), *b = gpt_create(&config, pool2);
    gpt_init(a, 5);
    gpt_init(b, 5);
    int idx[18], targets[18];
    make_batch(idx, targets, 2, 9, config.vocab_size, 6);
    gpt_forward(a, idx, targets, 2, 9, 0);     /* sizes the buffers for (2,9) */
    float la = gpt_forward(a, idx, targets, 1, 5, 0);
    float lb = gpt_forward(b, idx, targets, 1, 5, 0); /* a fresh model sized (1,5) */
    expect_same_bits("loss", &la, &lb, 1);
    expect_same_bits("logits", a->a.logits, b->a.logits, 5 * (size_t)config.vocab_size);
    gpt_free(a);
    gpt_free(b);
}

static void test_dropout_only_in_training(void) {
    GPTConfig config = tiny_config(0.2f);
    GPT *m = gpt_create(&config, pool2);
    gpt_init(m, 5);
    int idx[14], targets[14];
    make_batch(idx, targets, 2, 7, config.vocab_size, 6);
    float e1 = gpt_forward(m, idx, targets, 2, 7, 0), e2 = gpt_forward(m, idx, targets, 2, 7, 0);
    float t1 = gpt_forward(m, idx, targets, 2, 7, 1), t2 = gpt_forward(m, idx, targets, 2, 7, 1);
    EXPECT(e1 == e2); /* evaluation is deterministic */
    EXPECT(t1 != e1 && t1 != t2); /* each training pass draws new masks */
    gpt_free(m);
}

static void test_cache_gives_the_bits_of_a_full_forward(void) {
    /* hs 16 and odd sizes: V 37, block 23 (not a multiple of the 16-wide kernels), 2 layers */
    GPTConfig config = {2, 3, 48, 37, 23, 0.1f, 0.1f, 0.1f};
    GPT *m = gpt_create(&config, pool2), *ref = gpt_create(&config, pool2);
    gpt_init(m, 21);
    randomize(m, 22);
    memcpy(ref->param_mem, m->param_mem, m->params.numel * sizeof(float));
    int B = 3, T = 23, idx[69], targets[69];
    make_batch(idx, targets, B, T, config.vocab_size, 23);
    size_t V = (size_t)config.vocab_size;
    for (int rows = 1; rows <= B; rows += 2) { /* one row (the vector path) and three (the GEMM) */
        for (int start = 1; start <= 9; start += 8) {
            int *prompt = xmalloc((size_t)rows * start * sizeof(int)), next[3];
            for (int b = 0; b < rows; b++) memcpy(prompt + b * start, idx + b * T, (size_t)start * sizeof(int));
            const float *logits = gpt_cache_start(m, prompt, rows, start);
            for (int t = start; t <= T; t++) {
                /* the reference: a full forward over positions 0..t-1 */
                int *window = xmalloc((size_t)rows * t * sizeof(int));
                for (int b = 0; b < rows; b++) memcpy(window + b * t, idx + b * T, (size_t)t * sizeof(int));
                gpt_forward(ref, window, NULL, rows, t, 0);
                for (int b = 0; b < rows; b++) {
                    char what[64];
                    snprintf(what, sizeof what, "rows %d, prompt %d, position %d, row %d", rows, start, t - 1, b);
                    if (!expect_same_bits(what, logits + b * V, ref->a.logits + ((size_t)b * t + t - 1) * V, V)) {
                        t = T + 1;
                        break;
                    }
                }
                free(window);
                if (t < T) {
                    for (int b = 0; b < rows; b++) next[b] = idx[b * T + t];
                    logits = gpt_cache_step(m, next);
                }
            }
            free(prompt);
        }
    }
    EXPECT(m->cache_len == T);
    gpt_free(m);
    gpt_free(ref);
}

static void test_last_position_forward_gives_the_bits_of_a_full_forward(void) {
    /* what `sample --exact` runs: the last block's tail on the last position only */
    GPTConfig config = {3, 3, 48, 37, 23, 0.1f, 0.1f, 0.1f};
    Pool *pools[2] = {pool1, pool2};
    for (int p = 0; p < 2; p++) {
        GPT *m = gpt_create(&config, pools[p]), *ref = gpt_create(&config, pools[p]);
        gpt_init(m, 31);
        randomize(m, 32);
        memcpy(ref->param_mem, m->param_mem, m->params.numel * sizeof(float));
        int idx[23], targets[23];
        make_batch(idx, targets, 1, 23, config.vocab_size, 33);
        size_t V = (size_t)config.vocab_size;
        for (int T = 1; T <= 23; T += 11) {
            gpt_forward(ref, idx, NULL, 1, T, 0);
            char what[64];
            snprintf(what, sizeof what, "%d thread(s), T %d", p + 1, T);
            EXPECT(expect_same_bits(what, gpt_forward_last(m, idx, T), ref->a.logits + (size_t)(T - 1) * V, V));
        }
        gpt_free(m);
        gpt_free(ref);
    }
}

/* m's parameters into a new inference model, a few rows at a time as the loaders write them:
 * each matrix as its own rows, or with `transposed` as the rows of its transpose (a Conv1D's
 * layout in a Hugging Face file). */
static GPT *inference_copy(const GPT *m, int transposed, int tied) {
    GPT *inf = gpt_create_inference(&m->config, m->pool, tied);
    for (int i = 0; i < m->params.n; i++) {
        const Tensor *t = &m->params.t[i];
        int tr = transposed && t->ndim == 2;
        float *src = xmalloc(t->numel * sizeof(float));
        if (tr)
            for (size_t o = 0; o < t->shape[0]; o++)
                for (size_t k = 0; k < t->shape[1]; k++) src[k * t->shape[0] + o] = t->data[o * t->shape[1] + k];
        else
            memcpy(src, t->data, t->numel * sizeof(float));
        size_t rows = (size_t)gpt_param_rows(inf, i, tr), row = t->numel / rows;
        for (size_t r0 = 0; r0 < rows; r0 += 5)
            gpt_load_rows(inf, i, (const unsigned char *)(src + r0 * row), r0, MG_MIN(rows, r0 + 5), tr);
        free(src);
    }
    gpt_weights_changed(inf);
    return inf;
}

/* 1 if fn(m) ends the process with a failure (a CHECK), run in a child so this one goes on. */
static int fails_in_child(void (*fn)(GPT *), GPT *m) {
    fflush(stdout);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        CHECK(freopen("/dev/null", "w", stderr) != NULL);
        fn(m);
        _exit(0);
    }
    int status;
    CHECK(waitpid(pid, &status, 0) == pid);
    return !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* What `sample` and `eval` load: no gradients, one layer's activations, each Linear weight once
 * and packed (and GPT-2's tied wte and lm_head as one matrix); its loss, logits, cache and
 * last-position forward have the training model's bits. C 272 spans two of the GEMM's K blocks
 * (KC 256), V 37 ends in a partial 16-wide panel. */
static void test_inference_model_gives_the_bits_of_a_training_model(void) {
    GPTConfig config = {3, 4, 272, 37, 11, 0.1f, 0.1f, 0.1f};
    int B = 2, T = 11, idx[22], targets[22];
    make_batch(idx, targets, B, T, config.vocab_size, 43);
    size_t V = (size_t)config.vocab_size, C = (size_t)config.n_embd;
    float *want = xmalloc((size_t)B * T * V * sizeof(float));
    /* own rows, a Conv1D's transposed rows, and tied */
    for (int variant = 0; variant < 3; variant++) {
        int transposed = variant == 1, tied = variant == 2;
        GPT *m = gpt_create(&config, pool2);
        gpt_init(m, 41);
        randomize(m, 42);
        if (tied) memcpy(m->w.lm_head_w, m->w.wte, V * C * sizeof(float));
        gpt_weights_changed(m);
        float loss = gpt_forward(m, idx, targets, B, T, 0);
        size_t n_targets = m->n_targets;
        memcpy(want, m->a.logits, (size_t)B * T * V * sizeof(float));
        GPT *inf = inference_copy(m, transposed, tied);
        EXPECT(inf->inference && inf->grad_mem == NULL && inf->num_params == m->num_params);
        EXPECT(inf->tied == tied && (inf->w.wte == NULL) == tied);
        /* one copy of each weight (two of wte untied), with panels rounded up to 16 columns */
        size_t stored = m->num_params - (tied ? V * C : 0);
        EXPECT(inf->params.numel >= stored && inf->params.numel < stored + stored / 20);
        float got = gpt_forward(inf, idx, targets, B, T, 0);
        EXPECT(memcmp(&got, &loss, sizeof got) == 0 && inf->n_targets == n_targets);
        EXPECT(expect_same_bits("logits", inf->a.logits, want, (size_t)B * T * V));
        /* one layer's activations instead of n_layer, and no backward scratch */
        EXPECT(inf->act_table.numel < m->act_table.numel / 2 && inf->scratch_table.numel < m->scratch_table.numel);
        EXPECT(expect_same_bits("last position", gpt_forward_last(inf, idx, T), want + (size_t)(T - 1) * V, V));
        for (int rows = 1; rows <= B; rows++) { /* the vector step and the GEMM step */
            int prompt[8], next[2];
            for (int b = 0; b < rows; b++) memcpy(prompt + b * 4, idx + b * T, 4 * sizeof(int));
            const float *logits = gpt_cache_start(inf, prompt, rows, 4);
            for (int t = 4; t <= T; t++) {
                int window[22];
                for (int b = 0; b < rows; b++) memcpy(window + b * t, idx + b * T, (size_t)t * sizeof(int));
                gpt_forward(m, window, NULL, rows, t, 0);
                for (int b = 0; b < rows; b++) {
                    char what[80];
                    snprintf(what, sizeof what, "cache: variant %d, rows %d, position %d, row %d", variant, rows,
                             t - 1, b);
                    EXPECT(expect_same_bits(what, logits + b * V, m->a.logits + ((size_t)b * t + t - 1) * V, V));
                }
                if (t == T) break;
                for (int b = 0; b < rows; b++) next[b] = idx[b * T + t];
                logits = gpt_cache_step(inf, next);
            }
        }
        /* nothing to learn with: these are internal errors, not silent garbage */
        EXPECT(fails_in_child(gpt_backward, inf));
        EXPECT(fails_in_child(gpt_zero_grad, inf));
        gpt_free(inf);
        gpt_free(m);
    }
    free(want);
}

static void test_lr_schedule(void) {
    TrainConfig c = train_config_default();
    EXPECT(trainer_lr(&c, 0) == 5e-4f && trainer_lr(&c, 100000) == 5e-4f); /* minGPT: constant */
    c.warmup_iters = 9;
    c.lr_decay = LR_COSINE;
    c.lr_decay_iters = 109;
    c.learning_rate = 1e-3f;
    c.min_lr = 1e-4f;
    EXPECT(fabsf(trainer_lr(&c, 0) - 1e-4f) < 1e-9f);  /* (0+1)/(9+1) of the peak */
    EXPECT(fabsf(trainer_lr(&c, 8) - 9e-4f) < 1e-9f);
    EXPECT(fabsf(trainer_lr(&c, 9) - 1e-3f) < 1e-9f);  /* peak right after warmup */
    EXPECT(fabsf(trainer_lr(&c, 59) - 5.5e-4f) < 1e-8f); /* halfway down the cosine */
    EXPECT(trainer_lr(&c, 109) == 1e-4f && trainer_lr(&c, 500) == 1e-4f);
}

typedef struct {
    int *idx, *targets;
    int calls;
} FixedBatch;

static void fixed_batch(void *ctx, int *idx, int *targets, int B, int T) {
    FixedBatch *f = ctx;
    memcpy(idx, f->idx, (size_t)B * T * sizeof(int));
    memcpy(targets, f->targets, (size_t)B * T * sizeof(int));
    f->calls++;
}

static void test_trainer_overfits_a_batch(void) {
    GPTConfig config = tiny_config(0.0f);
    GPT *m = gpt_create(&config, pool2);
    gpt_init(m, 11);
    int idx[18], targets[18];
    make_batch(idx, targets, 2, 9, config.vocab_size, 12);
    FixedBatch f = {idx, targets, 0};
    TrainConfig tc = train_config_default();
    tc.learning_rate = 1e-2f;
    Trainer tr;
    trainer_init(&tr, m, &tc);
    float first = gpt_forward(m, idx, targets, 2, 9, 0);
    long taken = trainer_run(&tr, m, 1, 2, 9, 150, fixed_batch, NULL, &f);
    float last = gpt_forward(m, idx, targets, 2, 9, 0);
    EXPECT(taken == 150 && f.calls == 150 && tr.step == 150);
    EXPECT(fabsf(first - logf(13.0f)) < 0.05f); /* minGPT's init predicts nearly uniformly */
    if (!(last < 0.2f)) printf("    loss %.4f -> %.4f\n", first, last);
    EXPECT(last < 0.2f);
    trainer_free(&tr);
    gpt_free(m);
}

int main(void) {
    pool1 = pool_create(1);
    pool2 = pool_create(2);
    RUN(test_every_parameter_against_finite_differences);
    RUN(test_one_and_two_threads_give_identical_bits);
    RUN(test_sharded_training_pass);
    RUN(test_accumulated_micro_batches_equal_one_large_batch);
    RUN(test_mingpt_init_and_decay_groups);
    RUN(test_parameter_counts_match_mingpt);
    RUN(test_smaller_batches_reuse_activations_correctly);
    RUN(test_dropout_only_in_training);
    RUN(test_cache_gives_the_bits_of_a_full_forward);
    RUN(test_last_position_forward_gives_the_bits_of_a_full_forward);
    RUN(test_inference_model_gives_the_bits_of_a_training_model);
    RUN(test_lr_schedule);
    RUN(test_trainer_overfits_a_batch);
    pool_free(pool1);
    pool_free(pool2);
    return harness_finish();
}
