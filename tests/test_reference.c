/* test_reference.c — mingpt against PyTorch: logits, loss, every gradient, and three AdamW steps.
 *
 * The fixture is written by tests/reference/make_fixture.py (minGPT's GPT in PyTorch, autograd,
 * torch.optim.AdamW with minGPT's groups, clip_grad_norm_ active in every step). Agreement must be
 * within 1e-5, relative for values above 1.
 */
#include <stdlib.h>

#include "harness.h"
#include "common.h"
#include "model.h"
#include "safetensors.h"
#include "torch_match.h"
#include "trainer.h"

#define FIXTURE "tests/fixtures/reference.safetensors"

static StFile fixture;
static GPT *model;
static Pool *pool;
static int B, T;
static int *idx, *targets;

static float meta_float(const char *key) {
    const char *v = st_meta(&fixture, key);
    CHECK(v != NULL);
    return strtof(v, NULL);
}

/* Loads fixture tensor `prefix + name` shaped like parameter i into a fresh buffer. */
static float *load_like(const char *prefix, const Tensor *t) {
    char name[160], err[256];
    snprintf(name, sizeof name, "%s%s", prefix, t->name);
    float *buf = xmalloc(t->numel * sizeof(float));
    if (st_read_f32(&fixture, name, t->ndim, t->shape, buf, err, sizeof err) != 0) {
        printf("    %s\n", err);
        harness_case_failed = 1;
        memset(buf, 0, t->numel * sizeof(float));
    }
    return buf;
}

static void load_weights(void) {
    for (int i = 0; i < model->params.n; i++) {
        const Tensor *t = &model->params.t[i];
        float *w = load_like("", t);
        memcpy(t->data, w, t->numel * sizeof(float));
        free(w);
    }
}

static void test_forward_matches_pytorch(void) {
    load_weights();
    float loss = gpt_forward(model, idx, targets, B, T, 1);
    size_t V = (size_t)model->config.vocab_size;
    size_t shape[3] = {(size_t)B, (size_t)T, V};
    float *want = xmalloc((size_t)B * T * V * sizeof(float)), want_loss;
    char err[256];
    EXPECT(st_read_f32(&fixture, "fixture.logits", 3, shape, want, err, sizeof err) == 0);
    size_t one = 1;
    EXPECT(st_read_f32(&fixture, "fixture.loss", 1, &one, &want_loss, err, sizeof err) == 0);
    expect_close("logits", model->a.logits, want, (size_t)B * T * V, 1e-5, 1e-5);
    expect_close("loss", &loss, &want_loss, 1, 1e-5, 1e-5);
    free(want);
}

static void test_every_gradient_matches_pytorch(void) {
    load_weights();
    gpt_forward(model, idx, targets, B, T, 1);
    gpt_zero_grad(model);
    gpt_backward(model);
    for (int i = 0; i < model->params.n; i++) {
        const Tensor *t = &model->params.t[i];
        float *want = load_like("grad.", t);
        char what[160];
        snprintf(what, sizeof what, "grad %s", t->name);
        expect_close(what, model->grad_mem + t->offset, want, t->numel, 1e-5, 1e-5);
        free(want);
    }
    /* the key bias gets no gradient (see the AdamW test) */
    size_t C = (size_t)model->config.n_embd;
    for (int l = 0; l < model->config.n_layer; l++) {
        const float *dbias_k = model->g.h[l].c_attn_b + C;
        for (size_t i = 0; i < C; i++) EXPECT(fabsf(dbias_k[i]) < 1e-6f);
    }
}

static void test_three_adamw_steps_match_pytorch(void) {
    load_weights();
    TrainConfig config = train_config_default();
    config.learning_rate = meta_float("lr");
    config.weight_decay = meta_float("weight_decay");
    config.beta1 = meta_float("beta1");
    config.beta2 = meta_float("beta2");
    config.grad_clip = meta_float("grad_clip");
    Trainer tr;
    trainer_init(&tr, model, &config);
    float norms[3];
    for (int s = 0; s < 3; s++) {
        trainer_step(&tr, model, idx, targets, B, T);
        norms[s] = tr.grad_norm;
    }
    /* the norms before clipping, as clip_grad_norm_ returned them */
    float want_norms[3];
    const char *text = st_meta(&fixture, "grad_norms");
    CHECK(text && sscanf(text, "%g %g %g", &want_norms[0], &want_norms[1], &want_norms[2]) == 3);
    expect_close("grad norms", norms, want_norms, 3, 1e-5, 1e-5);
    expect_params_match_fixture(&fixture, "step3.", model, "after 3 steps");
    trainer_free(&tr);
}

int main(void) {
    char err[256];
    if (st_open(&fixture, FIXTURE, err, sizeof err) != 0) {
        printf("FAIL cannot load the fixture: %s\n", err);
        return 1;
    }
    GPTConfig config = {0};
    config.n_layer = (int)meta_float("n_layer");
    config.n_head = (int)meta_float("n_head");
    config.n_embd = (int)meta_float("n_embd");
    config.vocab_size = (int)meta_float("vocab_size");
    config.block_size = (int)meta_float("block_size");
    B = (int)meta_float("batch");
    T = (int)meta_float("seq_len");
    pool = pool_create(2);
    model = gpt_create(&config, pool);
    gpt_init(model, 1);
    idx = xmalloc((size_t)B * T * sizeof(int));
    targets = xmalloc((size_t)B * T * sizeof(int));
    float *buf = xmalloc((size_t)B * T * sizeof(float));
    size_t shape[2] = {(size_t)B, (size_t)T};
    CHECK(st_read_f32(&fixture, "fixture.idx", 2, shape, buf, err, sizeof err) == 0);
    for (int i = 0; i < B * T; i++) idx[i] = (int)buf[i];
    CHECK(st_read_f32(&fixture, "fixture.targets", 2, shape, buf, err, sizeof err) == 0);
    for (int i = 0; i < B * T; i++) targets[i] = (int)buf[i];
    free(buf);

    RUN(test_forward_matches_pytorch);
    RUN(test_every_gradient_matches_pytorch);
    RUN(test_three_adamw_steps_match_pytorch);

    free(idx);
    free(targets);
    gpt_free(model);
    pool_free(pool);
    st_close(&fixture);
    return harness_finish();
}
