/* checkpoint.h — a GPT (and optionally its optimizer) to and from one .safetensors file.
 *
 * Tensors carry minGPT's state_dict names and shapes, so PyTorch minGPT can load the weights with
 * load_state_dict(strict=False). AdamW's moments are optimizer.m.<name> and optimizer.v.<name>.
 * __metadata__ holds the config, the task and its tokenizer (a character model's characters, or a
 * BPE model's encoder.json and vocab.bpe as text, so the file needs nothing beside it), the step, and the training state
 * (batch-sampling RNG, dropout seed and pass) that an exact resume needs. Loading checks every
 * config value and every shape before allocating the model.
 *
 * What a file may hold, and what loading makes of it:
 *   - every parameter of the GPT its metadata describes, F32, with the config's shape;
 *   - AdamW's moments for every parameter, or for none: one optimizer.m.* or optimizer.v.* tensor
 *     makes all of them required (the first missing one is named in the error);
 *   - nothing else under the model's names (transformer.*, lm_head.*, optimizer.m.*, optimizer.v.*)
 *     except the attention-mask buffers transformer.h.N.attn.bias and .attn.masked_bias that
 *     PyTorch and Hugging Face state_dicts carry; those, and tensors under any other name (a test
 *     fixture's extra data), are ignored, as load_state_dict(strict=False) ignores them.
 * No weight or moment may be NaN or infinite, and no second moment negative: such a file is the
 * product of a diverged run, and ckpt_save refuses to write one.
 */
#ifndef MINGPT_CHECKPOINT_H
#define MINGPT_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"
#include "rng.h"
#include "safetensors.h"
#include "trainer.h"

#define CKPT_FORMAT_VERSION 1

typedef struct {
    char task[16];      /* "chars", "bpe" (a language model on GPT-2's BPE tokens), "add", or "lib"
                           (a library user's model: its task and metadata are in `extra`) */
    char encoding[8];   /* chars: "utf-8", or "bytes" (vocab chars U+0000..U+00FF stand for bytes) */
    char *vocab;        /* chars: the vocabulary's characters in token order, UTF-8;
                           bpe: encoder.json's text, the JSON object token -> id (owned) */
    size_t vocab_len;   /* bytes in vocab: U+0000 is a character too */
    char *merges;       /* bpe: vocab.bpe's text, the merges by rank (owned) */
    size_t merges_len;
    int ndigit;         /* add: digits per operand */
    long step;          /* optimizer steps taken */
    int has_val_frac;
    float val_frac;     /* chars: the fraction of the text held out, so eval finds the same split */
    int has_val_loss;
    double val_loss;    /* validation loss when saved; finite (a file with another is refused) */
    int has_data_rng;
    Rng data_rng;       /* the task's batch sampler */
    int has_optimizer;  /* read only: the file holds AdamW's moments (any optimizer.m.* or
                           optimizer.v.* tensor; ckpt_load then requires all of them) */
    const StMeta *extra; /* write only: (n_extra) more __metadata__ entries, written as given (not
                            owned; their keys must not be the ones above); loading leaves it NULL */
    int n_extra;
} CkptMeta;

void ckpt_meta_free(CkptMeta *meta);

/* Saves model weights, tr's moments if tr is not NULL, and meta (atomically, see st_write). The
 * folder is created if missing. Returns 0, or -1 with a message naming the path in err; in
 * particular, when a weight or a moment is NaN or infinite, or meta has a val_loss that is not
 * finite ("...the model holds NaN/Inf (training diverged); not saved..."), nothing is written and
 * any file at path is left as it was. */
int ckpt_save(const char *path, const GPT *model, const Trainer *tr, const CkptMeta *meta,
              char *err, size_t err_size);

/* Creates path's folder if missing and checks that a checkpoint can be created there, so a run
 * fails at its start rather than at its first save. Returns 0, or -1 with a message in err. */
int ckpt_check_writable(const char *path, char *err, size_t err_size);

/* Reads and checks a checkpoint's config and metadata without loading its weights (so neither
 * their shapes nor their values are checked). Returns 0, or -1 with a message naming the path in
 * err. */
int ckpt_peek(const char *path, GPTConfig *config, CkptMeta *meta, char *err, size_t err_size);

/* Loads a checkpoint into a new GPT on `pool`. If tr is not NULL it is initialised with
 * train_config and, when the file has optimizer state, its moments and step are restored (the
 * model's dropout seed and pass too); otherwise it starts fresh at step 0. Returns NULL with a
 * one-line message naming the path in err if anything is missing, malformed, inconsistent or not
 * finite (see the top of this file); the moments are checked even when tr is NULL. */
GPT *ckpt_load(const char *path, Pool *pool, CkptMeta *meta, Trainer *tr,
               const TrainConfig *train_config, char *err, size_t err_size);

#endif
