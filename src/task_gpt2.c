/* task_gpt2.c — `mingpt info DIR` on a Hugging Face GPT-2 folder: what the folder holds, from its
 * config.json and the header of its model.safetensors, without reading the weights. (sample and
 * eval on a folder are task_text.c's, which loads it through hf_gpt2.c and tok_bpe.c.) Nothing here
 * fetches anything: the folder is the user's.
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

static int has_file(const char *dir, const char *name) {
    char path[4096];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int task_gpt2_info(const char *dir) {
    GPTConfig c;
    HfGpt2Contents f;
    /* info passes what sample and eval take */
    Tokenizer *tok = check_gpt2_folder(dir, &c, &f);
    if (!tok) return 1;
    int n_tokens = (int)tokenizer_vocab_size(tok);
    tokenizer_free(tok);
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
                                                                                : "encoder.json + vocab.bpe";
    printf("tokenizer:   %s, %d tokens\n", layout, n_tokens);
    return 0;
}
