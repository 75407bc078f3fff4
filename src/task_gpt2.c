/* task_gpt2.c — `sample`, `eval` and `info` on a Hugging Face GPT-2 folder (--ckpt DIR, or DIR
 * for info): minGPT's generate.ipynb from the command line. The weights come from hf_gpt2.c, the
 * text goes through GPT-2's BPE (tok_bpe.c) from the same folder, and sampling and evaluation are
 * the ones character models use (sample.c, chars_eval_loss), so every sampling option means the
 * same here. This file does not train, and it does not fetch anything: the folder is the user's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common.h"
#include "decode.h"
#include "hf_gpt2.h"
#include "sample.h"
#include "task_common.h"
#include "tasks.h"
#include "tokenizer.h"

#define EVAL_ACT_BUDGET ((size_t)1 << 30) /* activations eval may use: GPT-2's logits are large */

/* The model and tokenizer of a folder, or 1 after printing why not. The config's vocabulary must be
 * the tokenizer's, so that every sampled id can be decoded. */
static int load_folder(const char *dir, Pool *pool, GPT **model, Tokenizer **tok) {
    char err[1024];
    *model = NULL;
    *tok = tok_bpe_load(dir, err, sizeof err);
    if (!*tok) {
        fprintf(stderr, "mingpt: %s\n", err);
        return 1;
    }
    *model = hf_gpt2_load(dir, pool, NULL, err, sizeof err);
    if (!*model) {
        fprintf(stderr, "mingpt: %s\n", err);
    } else if ((*model)->config.vocab_size != tokenizer_vocab_size(*tok)) {
        fprintf(stderr, "mingpt: %s: config.json has vocab_size %d but the tokenizer has %d tokens\n", dir,
                (*model)->config.vocab_size, (int)tokenizer_vocab_size(*tok));
    } else {
        return 0;
    }
    gpt_free(*model);
    tokenizer_free(*tok);
    *model = NULL;
    *tok = NULL;
    return 1;
}

typedef struct {
    const Tokenizer *tok;
} PrintCtx;

/* A token's bytes as they come: byte-level BPE may split a character across tokens, and the bytes
 * concatenated are the text. */
static void print_token(void *ctx, int token) {
    const PrintCtx *p = ctx;
    size_t len;
    const char *bytes = tokenizer_token(p->tok, token, &len);
    fwrite(bytes, 1, len, stdout);
    fflush(stdout);
}

int task_gpt2_sample(const SampleOptions *opt) {
    GPT *m;
    Tokenizer *tok;
    if (load_folder(opt->ckpt, opt->pool, &m, &tok) != 0) return 1;
    TokenIds prompt = {0};
    char err[256];
    int rc = 0, has_prompt = opt->prompt && opt->prompt[0];
    /* <|endoftext|> written in a prompt is ordinary text to bpe.py; only an empty prompt starts from
     * the token itself, as generate.ipynb does */
    if (has_prompt && tokenizer_encode(tok, opt->prompt, strlen(opt->prompt), &prompt, err, sizeof err) != 0) {
        fprintf(stderr, "mingpt: --prompt: %s\n", err);
        rc = 2;
        goto done;
    }
    if (!has_prompt) token_ids_push(&prompt, HF_GPT2_EOT);
    int *tokens = xmalloc(xmul_size(prompt.n + (size_t)opt->len, sizeof(int)));
    Rng rng;
    rng_seed(&rng, opt->seed);
    SampleConfig sc = {opt->temperature, opt->top_k, opt->top_p, opt->greedy};
    PrintCtx pc = {tok};
    for (long s = 0; s < opt->num_samples; s++) { /* one RNG stream through all samples */
        if (s > 0) fputs("---------------\n", stdout);
        for (size_t i = 0; i < prompt.n; i++) tokens[i] = prompt.ids[i];
        if (has_prompt) fputs(opt->prompt, stdout);
        fflush(stdout);
        generate(m, tokens, prompt.n, (size_t)opt->len, &sc, opt->exact ? GEN_EXACT : GEN_SLIDING, &rng, print_token,
                 &pc);
        putchar('\n');
    }
    free(tokens);
done:
    free(prompt.ids);
    tokenizer_free(tok);
    gpt_free(m);
    return rc;
}

int task_gpt2_eval(const EvalOptions *opt) {
    GPT *m;
    Tokenizer *tok;
    if (load_folder(opt->ckpt, opt->pool, &m, &tok) != 0) return 1;
    unsigned char *bytes = NULL;
    size_t n_bytes;
    TokenIds ids = {0};
    int rc = 1;
    char err[256];
    if (read_whole_file(opt->file, &bytes, &n_bytes) != 0) goto done;
    if (tokenizer_encode(tok, (const char *)bytes, n_bytes, &ids, err, sizeof err) != 0) {
        fprintf(stderr, "mingpt: %s: %s\n", opt->file, err);
        goto done;
    }
    if (ids.n < 2) {
        fprintf(stderr, "mingpt: %s: %zu token%s; predicting one needs 2\n", opt->file, ids.n, ids.n == 1 ? "" : "s");
        goto done;
    }
    int *tokens = xmalloc(xmul_size(ids.n, sizeof(int)));
    size_t predicted_bytes = 0, len;
    for (size_t i = 0; i < ids.n; i++) {
        tokens[i] = ids.ids[i];
        if (i == 0) continue;
        tokenizer_token(tok, ids.ids[i], &len);
        predicted_bytes += len;
    }
    /* a window of GPT-2's holds (T, 50257) logits twice: fewer windows per pass than for characters */
    const GPTConfig *c = &m->config;
    size_t T = MG_MIN((size_t)c->block_size, ids.n - 1);
    size_t per_window = gpt_activation_bytes(c, 1, T);
    int B = (int)MG_MAX((size_t)1, MG_MIN((size_t)opt->batch_size, EVAL_ACT_BUDGET / per_window));
    fprintf(stderr, "eval: %zu tokens, windows of %zu, %d per pass\n", ids.n, T, B);
    size_t count;
    double loss = chars_eval_loss(m, tokens, ids.n, B, 0, &count, NULL, NULL);
    printf("%s (the whole file, %zu tokens, %zu bytes): %.4f nats/token, %.4f bits/byte over %zu predicted tokens "
           "(%zu bytes)\n",
           opt->file, ids.n, n_bytes, loss, loss * (double)count / 0.6931471805599453 / (double)predicted_bytes, count,
           predicted_bytes);
    free(tokens);
    rc = 0;
done:
    free(bytes);
    free(ids.ids);
    tokenizer_free(tok);
    gpt_free(m);
    return rc;
}

static int has_file(const char *dir, const char *name) {
    char path[4096];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int task_gpt2_info(const char *dir) {
    char err[1024];
    GPTConfig c;
    HfGpt2Contents f;
    if (hf_gpt2_read_config(dir, &c, err, sizeof err) != 0 || hf_gpt2_peek(dir, &c, &f, err, sizeof err) != 0) {
        fprintf(stderr, "mingpt: %s\n", err);
        return 1;
    }
    char path[4096];
    struct stat st;
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    double mib = stat(path, &st) == 0 ? (double)st.st_size / (1 << 20) : 0.0;
    size_t total = gpt_count_params(&c), lm_head = (size_t)c.vocab_size * (size_t)c.n_embd;
    printf("%s: Hugging Face GPT-2 folder; model.safetensors %.2f MiB, %d tensors (%d attention buffers, "
           "ignored), names %s \"transformer.\"\n",
           dir, mib, f.n_tensors, f.n_buffers, f.prefixed ? "with" : "without");
    printf("model:       %d layers, %d heads, n_embd %d, block_size %d, vocab %d, gelu_new\n", c.n_layer, c.n_head,
           c.n_embd, c.block_size, c.vocab_size);
    printf("parameters:  %zu (%.2fM, minGPT's count, without lm_head); %zu in all\n", total - lm_head,
           (double)(total - lm_head) / 1e6, total);
    printf("lm_head:     %s\n", f.has_lm_head ? "lm_head.weight from the file" : "tied: a copy of wte (no lm_head.weight)");
    const char *layout = has_file(dir, "vocab.json") && has_file(dir, "merges.txt") ? "vocab.json + merges.txt"
                         : has_file(dir, "encoder.json") && has_file(dir, "vocab.bpe")
                             ? "encoder.json + vocab.bpe"
                             : "none found (sample and eval need vocab.json + merges.txt)";
    printf("tokenizer:   %s\n", layout);
    return 0;
}
