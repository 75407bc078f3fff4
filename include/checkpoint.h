/* checkpoint.h — a GPT (and optionally its optimizer) to and from one .safetensors file.
 *
 * Tensors carry minGPT's state_dict names and shapes, so PyTorch minGPT can load the weights with
 * load_state_dict(strict=False). AdamW's moments are optimizer.m.<name> and optimizer.v.<name>.
 * __metadata__ holds the config, the task's name, the step, the training state (batch-sampling
 * RNG, dropout seed and pass) that an exact resume needs, and the task's own entries. This file
 * reads and checks everything but the task's entries, and knows no task: those entries (a
 * character model's vocabulary, a BPE model's encoder.json and vocab.bpe as text, an adder's
 * ndigit, a library user's "lib_task" and "user.*") are kept as they are, and each task reads and
 * checks its own (the command: the check_meta of its task table, task_table.h; the library:
 * mingpt_lib.c). So the library loads every kind of checkpoint without the command's tasks.
 * Loading checks every config value and every shape before allocating the model.
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

#define CKPT_TASK_MAX 31 /* bytes in a task's name */

/* Where ckpt_save writes a task's entry among the __metadata__ entries: a short one (an adder's
 * "ndigit", a character model's "encoding") right after "task", where a reader of the JSON header
 * sees it beside the task's name; a bulky one (a tokenizer) last. These are the places the
 * command's entries had when this file wrote them itself, so its files stay byte for byte the same. */
typedef enum {
    CKPT_BESIDE_TASK, /* after "task" and "step", before the training state */
    CKPT_LAST,        /* after everything else */
} CkptPlace;

typedef struct {
    char task[CKPT_TASK_MAX + 1]; /* 1 to CKPT_TASK_MAX letters, digits, '_', '-' or '.': "chars",
                           "bpe", "add" (the command's tasks), "lib" (a library user's), or any */
    long step;          /* optimizer steps taken */
    int has_val_frac;
    float val_frac;     /* a language model's fraction of the text held out, so eval finds the same split */
    int has_val_loss;
    double val_loss;    /* validation loss when saved; finite (a file with another is refused) */
    int has_data_rng;
    Rng data_rng;       /* the task's batch sampler */
    int has_optimizer;  /* read only: the file holds AdamW's moments (any optimizer.m.* or
                           optimizer.v.* tensor; ckpt_load then requires all of them) */
    StMeta *entries;    /* (n_entries) the task's own __metadata__ entries: every key this file does
                           not read. Owned copies (key, value NUL-terminated, len: a value may hold
                           NUL), added by ckpt_meta_set or by loading (in the file's order), freed
                           by ckpt_meta_free. */
    int n_entries;
    int n_beside_task;  /* entries[0, n_beside_task) are written at CKPT_BESIDE_TASK, the rest at
                           CKPT_LAST (loading: the entries before the file's training state) */
} CkptMeta;

/* Frees meta's entries; meta is then an empty list of entries again. */
void ckpt_meta_free(CkptMeta *meta);

/* Sets the task's entry key to value[0..len) (a copy; value may hold NUL), replacing the value of
 * an entry of that key where it stands, or adding it at `place`. key must not be one this file
 * writes itself ("task", "step", "n_layer", ...): that is a broken invariant (CHECK). */
void ckpt_meta_set(CkptMeta *meta, const char *key, const char *value, size_t len, CkptPlace place);

/* Removes the task's entry key, if meta has one. */
void ckpt_meta_unset(CkptMeta *meta, const char *key);

/* The task's entry key (NUL-terminated; its length in *len if len is not NULL), or NULL. */
const char *ckpt_meta_get(const CkptMeta *meta, const char *key, size_t *len);

/* The task's entry key of the checkpoint at path as an integer in [lo, hi], for a task's
 * check_meta. Returns 0, or -1 with "PATH: metadata has no \"KEY\"" or "PATH: metadata \"KEY\" =
 * \"VALUE\" is not an integer in [LO, HI]" in err. */
int ckpt_meta_get_long(const char *path, const CkptMeta *meta, const char *key, long lo, long hi, long *out,
                       char *err, size_t err_size);

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
 * their shapes nor their values are checked); the task's entries are kept, not checked. Returns 0,
 * or -1 with a message naming the path in err. */
int ckpt_peek(const char *path, GPTConfig *config, CkptMeta *meta, char *err, size_t err_size);

/* Loads a checkpoint into a new GPT on `pool`. If tr is not NULL it is initialised with
 * train_config and, when the file has optimizer state, its moments and step are restored (the
 * model's dropout seed and pass too); otherwise it starts fresh at step 0. Returns NULL with a
 * one-line message naming the path in err if anything is missing, malformed, inconsistent or not
 * finite (see the top of this file; the task's entries are its own to check); the moments are
 * checked even when tr is NULL. */
GPT *ckpt_load(const char *path, Pool *pool, CkptMeta *meta, Trainer *tr,
               const TrainConfig *train_config, char *err, size_t err_size);

#endif
