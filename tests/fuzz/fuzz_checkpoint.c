/* fuzz_checkpoint.c — libFuzzer target for everything that reads a checkpoint: the safetensors
 * container, the strict JSON header, the metadata and config checks (the core's and those of the
 * command's tasks), and loading the weights. An input that loads must also run a forward pass, so
 * a file that passes validation but breaks the model (a shape or size the checks missed) is caught
 * too, and hold only finite weights and moments; loaded without a trainer, as sample and eval load
 * it, it must give the same loss from the inference model. Every refusal must be one line naming
 * the file, with no control character from the input in it. Run by `make fuzz`;
 * tests/fuzz/mutate.c (make mutate) damages valid checkpoints in more structured ways.
 *
 * The readers take a path, as mingpt does, so each input goes through a file of its own.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "checkpoint.h"
#include "safetensors.h"
#include "task_table.h"
#include "threads.h"

static char path[64];

static void remove_input_file(void) { unlink(path); }

/* A refusal: one line that names the file, nothing a terminal would act on. */
static void check_message(const char *err) {
    if (!strstr(err, path)) abort();
    for (const unsigned char *c = (const unsigned char *)err; *c; c++)
        if (*c < 0x20 || *c == 0x7F) abort();
}

static int finite_block(const float *x, size_t n, int nonneg) {
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i]) || (nonneg && x[i] < 0)) return 0;
    return 1;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
    if (!path[0]) {
        snprintf(path, sizeof path, "/tmp/mingpt-fuzz-%ld.safetensors", (long)getpid());
        atexit(remove_input_file);
    }
    FILE *fp = fopen(path, "wb");
    if (!fp) abort();
    if (fwrite(data, 1, size, fp) != size || fclose(fp) != 0) abort();

    char err[512];
    StFile f;
    if (st_open(&f, path, err, sizeof err) == 0) {
        for (int i = 0; i < f.n_tensors; i++) {
            const StTensor *t = &f.tensors[i];
            if (t->end > f.data_size || t->begin > t->end) abort(); /* what st_open promises */
        }
        st_close(&f);
    } else {
        check_message(err);
    }

    GPTConfig config;
    CkptMeta meta = {0};
    if (ckpt_peek(path, &config, &meta, err, sizeof err) == 0) ckpt_meta_free(&meta);
    else check_message(err);
    /* and the command's check of the task's entries (task_table.h), as mingpt info runs it */
    if (task_peek_checkpoint(path, &config, &meta, err, sizeof err) == 0) ckpt_meta_free(&meta);
    else check_message(err);

    Trainer tr;
    TrainConfig tc = train_config_default();
    static Pool *pool;
    if (!pool) pool = pool_create(1);
    GPT *m = ckpt_load(path, pool, &meta, &tr, &tc, err, sizeof err);
    if (!m) check_message(err);
    if (m) {
        if (!finite_block(m->param_mem, m->params.numel, 0) || !finite_block(tr.m, m->params.numel, 0) ||
            !finite_block(tr.v, m->params.numel, 1))
            abort(); /* ckpt_load refuses NaN, Inf and a negative second moment */
        int T = m->config.block_size < 4 ? m->config.block_size : 4, idx[4] = {0}, targets[4];
        for (int t = 0; t < T; t++) targets[t] = (t + 1) % m->config.vocab_size;
        float loss = gpt_forward(m, idx, targets, 1, T, 0);
        ckpt_meta_free(&meta);
        trainer_free(&tr);
        /* without a trainer (sample, eval): the inference model, from the same file, the same loss */
        GPT *inf = ckpt_load(path, pool, &meta, NULL, NULL, err, sizeof err);
        float inf_loss = inf ? gpt_forward(inf, idx, targets, 1, T, 0) : 0.0f;
        if (!inf || !inf->inference || memcmp(&inf_loss, &loss, sizeof loss) != 0) abort(); /* NaN too */
        ckpt_meta_free(&meta);
        gpt_free(inf);
        gpt_free(m);
    }
    return 0;
}
