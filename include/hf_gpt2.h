/* hf_gpt2.h — a Hugging Face GPT-2 folder (config.json + model.safetensors) read into a GPT for
 * inference, as minGPT's GPT.from_pretrained does with the transformers checkpoint.
 *
 * config.json gives the shape (n_layer, n_head, n_embd, n_positions as block_size, vocab_size);
 * anything that is not GPT-2's architecture (model_type, architectures, activation_function,
 * layer_norm_epsilon, attention scaling) is refused. model.safetensors may name its tensors with or
 * without the "transformer." prefix; its Conv1D weights, stored (in, out), are transposed into
 * nn.Linear's (out, in); the attn.bias / attn.masked_bias buffers are ignored; lm_head.weight is
 * read when present and otherwise copied from wte. F32 only. The tokenizer files of the folder are
 * tok_bpe_load's business, not this file's. Nothing here downloads anything.
 */
#ifndef MINGPT_HF_GPT2_H
#define MINGPT_HF_GPT2_H

#include <stddef.h>

#include "model.h"
#include "threads.h"

#define HF_GPT2_EOT 50256 /* <|endoftext|>, where an empty prompt starts (minGPT's generate.ipynb) */

/* 1 if path is a directory: a model given as a folder is a GPT-2 folder, and hf_gpt2_read_config
 * says so when it has no config.json. */
int hf_gpt2_is_folder(const char *path);

/* Reads and checks DIR/config.json into *config (dropout 0). Returns 0, or -1 with one line in err
 * that names the file and the offending key. */
int hf_gpt2_read_config(const char *dir, GPTConfig *config, char *err, size_t err_size);

/* The same checks on the text of a config.json already read (text[0..n), which need not be
 * NUL-terminated); path names it in messages. For the fuzzer (tests/fuzz/fuzz_hf_config.c). */
int hf_gpt2_parse_config(const char *path, const char *text, size_t n, GPTConfig *config, char *err,
                         size_t err_size);

/* What hf_gpt2_load found in the file, for `mingpt info` and messages. */
typedef struct {
    int n_tensors;   /* tensors in model.safetensors, buffers included */
    int n_buffers;   /* attn.bias / attn.masked_bias tensors ignored */
    int prefixed;    /* tensor names carry "transformer." */
    int has_lm_head; /* lm_head.weight was in the file (else it was copied from wte) */
} HfGpt2Contents;

/* Loads DIR into a new inference GPT (gpt_create_inference) on pool (dropout off), reading the
 * mapped file a piece at a time, so loading holds the weights and about one piece of the file.
 * The header is checked in full (names, dtypes, shapes) before the model is allocated.
 * contents may be NULL. Returns NULL with one line
 * in err naming DIR/config.json or DIR/model.safetensors and the tensor at fault (missing, unknown,
 * wrong shape or dtype, NaN or infinite). The caller frees the model with gpt_free. */
GPT *hf_gpt2_load(const char *dir, Pool *pool, HfGpt2Contents *contents, char *err, size_t err_size);

/* The same checks on the header alone (no weights read): every tensor of DIR/model.safetensors
 * known, every parameter of config there with its dtype and shape; fills contents. Returns 0, or
 * -1 with one line in err. */
int hf_gpt2_peek(const char *dir, const GPTConfig *config, HfGpt2Contents *contents, char *err,
                 size_t err_size);

#endif
