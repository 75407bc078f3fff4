/* mingpt.h — the public interface of libmingpt: minGPT's GPT and Trainer for a C program.
 *
 * A program brings its own task, as minGPT's demo.ipynb does: it picks a model config, hands the
 * trainer batches of token ids through a callback, watches each step through another, saves and
 * loads checkpoints, and generates from a prompt. This is the only header such a program includes;
 * every type is opaque except MgError and MgStep, so the library can change inside without
 * breaking it. Build: cc prog.c $(pkg-config --cflags --libs --static mingpt).
 *
 * Errors: every function that can fail takes an MgError *err (may be NULL) and returns a code
 * (0 = MG_OK) or NULL; err then holds the code and one line saying what was wrong, naming the
 * value, path or key at fault; a call that succeeds sets err to MG_OK. A function handed NULL for
 * a config, model or trainer (most often because the call meant to make it failed and its result
 * was passed on unchecked) keeps err as it is when err already holds an error, and returns that
 * error's code: in mg_model_new(mg_config_new("gpt-nanoo", ...), ..., &err), err still says
 * "unknown model preset". A call that succeeds in between (mg_train_config_new, say) clears err,
 * though: check each result and report err when the first call fails (the README's example).
 * The mg_*_free functions accept NULL, so one cleanup path can free whatever was made, and the
 * getters, which take no err, return a value no real object has (0, NULL or -1) for NULL. Each
 * function's comment says what it does with each pointer that may be NULL ("NULL object: the
 * kept error" is the rule above: err's earlier error, or MG_ERR_ARG naming the argument).
 * The library never exits for a user's error (a bad config value, path or file, a token out of
 * range); it checks the memory a model or a batch needs against what the machine has before
 * allocating. It does exit, with a message, on a broken internal invariant or when an allocation
 * that fitted that check still fails.
 *
 * Threads: each model owns a pool of worker threads; one model is used by one thread at a time.
 * Results do not depend on the thread count. Nothing reads the clock: same seed, same numbers.
 */
#ifndef MINGPT_PUBLIC_H
#define MINGPT_PUBLIC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum {
    MG_OK = 0,
    MG_ERR_ARG = 1,      /* a bad argument or config value */
    MG_ERR_FILE = 2,     /* a path that cannot be read or written, or a file that is not a model */
    MG_ERR_MEMORY = 3,   /* more memory than the machine has */
    MG_ERR_CALLBACK = 4, /* the program's batch callback reported a failure */
    MG_ERR_NUMERIC = 5,  /* the model's numbers are not finite: a loss or logits of NaN or infinity
                            (training diverged, or weights that overflow); the message names the
                            tensor with the largest weight */
};

typedef struct {
    int code;          /* MG_OK or one of the above */
    char message[512]; /* one line, no trailing newline; "" when code is MG_OK */
} MgError;

/* ---------------------------------------------------------------- model config */

typedef struct MgConfig MgConfig;

/* A config from a minGPT preset ("gpt-nano", "gpt-micro", "gpt-mini", "gopher-44m", "gpt2",
 * "gpt2-medium", ...; NULL for none: then set n_layer, n_head and n_embd yourself) for
 * vocab_size tokens and contexts of block_size tokens. Dropout 0.1, as minGPT's. Free with
 * mg_config_free. NULL with MG_ERR_ARG for an unknown preset. */
MgConfig *mg_config_new(const char *preset, int vocab_size, int block_size, MgError *err);
/* Sets one value by minGPT's name: "n_layer", "n_head", "n_embd", "vocab_size", "block_size"
 * (value a whole number), "embd_pdrop", "resid_pdrop", "attn_pdrop", or "dropout" (all three; in
 * [0, 1)). The config as a whole is checked when a model is made from it. Returns 0, or
 * MG_ERR_ARG for an unknown name or a value that is not whole or out of range. NULL config: the
 * kept error; NULL name: MG_ERR_ARG. */
int mg_config_set(MgConfig *config, const char *name, double value, MgError *err);
void mg_config_free(MgConfig *config); /* NULL: nothing */

/* ---------------------------------------------------------------- models */

typedef struct MgModel MgModel;

/* A trainable model with minGPT's initialisation (seeded by seed) on n_threads threads (<= 0: one
 * per CPU). NULL with MG_ERR_ARG when the config is inconsistent (the message names the value),
 * MG_ERR_MEMORY when it does not fit. Free with mg_model_free. NULL config: NULL and the kept
 * error. */
MgModel *mg_model_new(const MgConfig *config, uint64_t seed, int n_threads, MgError *err);

enum { MG_LOAD_INFERENCE = 0, MG_LOAD_TRAINING = 1 };
/* A model from a checkpoint written by mg_save (or by the mingpt command). MG_LOAD_INFERENCE
 * keeps the weights only, packed for generation; MG_LOAD_TRAINING keeps a trainable model and,
 * when the file has it, AdamW's state, which mg_trainer_new then continues from. NULL with
 * MG_ERR_FILE (the message names the path and what is wrong) when the file is missing or is not
 * a sound checkpoint. NULL path, or a mode that is neither: NULL with MG_ERR_ARG. */
MgModel *mg_model_load(const char *path, int mode, int n_threads, MgError *err);
void mg_model_free(MgModel *model); /* NULL: nothing */

/* What a model is: its vocab_size and block_size; 0 for a NULL model. */
int mg_model_vocab_size(const MgModel *model);
int mg_model_block_size(const MgModel *model);
/* Parameters as minGPT counts them ("number of parameters: 0.09M"), lm_head left out; 0 for a
 * NULL model. */
size_t mg_model_num_params(const MgModel *model);
/* The task name a loaded checkpoint carries ("" for a new model; mg_save's for one it wrote;
 * "chars", "bpe" or "add" for one the mingpt command wrote; any other program's task name), and the
 * value of one of its program's metadata keys (NULL if absent). Valid until the model is freed.
 * NULL for a NULL model (or a NULL key). */
const char *mg_model_task(const MgModel *model);
const char *mg_model_meta(const MgModel *model, const char *key);

/* ---------------------------------------------------------------- training */

typedef struct MgTrainConfig MgTrainConfig;

/* minGPT's Trainer defaults: learning_rate 5e-4, batch_size 64, max_iters 0 (no limit: the step
 * callback stops training), betas (0.9, 0.95), weight_decay 0.1 (Linear weights only),
 * grad_norm_clip 1.0. Free with mg_train_config_free. (Dropout's randomness is seeded by
 * mg_model_new's seed; the batches, and so their randomness, are the program's.) NULL only with
 * MG_ERR_MEMORY. */
MgTrainConfig *mg_train_config_new(MgError *err);
/* Sets one value by minGPT's name: "learning_rate", "batch_size", "max_iters", "beta1", "beta2",
 * "weight_decay", "grad_norm_clip" (0: off), "warmup_iters" (linear warmup, nanoGPT's); value is
 * a double, a whole number for batch_size, max_iters and warmup_iters. Returns 0, or MG_ERR_ARG
 * with the name and the accepted range. NULL config: the kept error; NULL name: MG_ERR_ARG. */
int mg_train_config_set(MgTrainConfig *config, const char *name, double value, MgError *err);
void mg_train_config_free(MgTrainConfig *config); /* NULL: nothing */

typedef struct MgTrainer MgTrainer;

/* AdamW over model's parameters (a model made by mg_model_new or loaded with MG_LOAD_TRAINING).
 * The model must outlive the trainer. NULL with MG_ERR_ARG for an inference model. NULL model or
 * config: NULL and the kept error. */
MgTrainer *mg_trainer_new(MgModel *model, const MgTrainConfig *config, MgError *err);
void mg_trainer_free(MgTrainer *trainer); /* NULL: nothing; the model stays */
/* Optimizer steps taken (counting those of a resumed checkpoint); -1 for a NULL trainer (0 is a
 * count). */
long mg_trainer_step(const MgTrainer *trainer);

/* The data source: fills idx and targets, both (B,T) row-major, with the next training batch
 * (B = batch_size, T = the model's block_size). idx holds token ids in [0, vocab_size); targets
 * the id each position should predict, or -1 where no loss is taken (minGPT's ignore_index).
 * Returns 0, or non-zero to stop training with MG_ERR_CALLBACK. */
typedef int (*MgBatchFn)(void *user, int *idx, int *targets, int B, int T);

/* What a step callback sees after each optimizer step. */
typedef struct {
    long step;       /* steps taken, this one included */
    float loss;      /* the batch's mean cross-entropy over targets that are not -1 */
    float lr;        /* the learning rate this step used */
    float grad_norm; /* the gradient's L2 norm before clipping */
} MgStep;
/* Called after every step (minGPT's on_batch_end), e.g. to print progress or to evaluate the
 * model with mg_generate*; returning non-zero stops training (mg_train then returns 0). */
typedef int (*MgStepFn)(void *user, MgModel *model, const MgStep *step);

/* Trains until max_iters steps have been taken (counting earlier ones) or on_step asks to stop
 * (on_step may be NULL only with max_iters set). Returns 0, or MG_ERR_ARG when a batch holds a
 * token out of range or no target at all (the message names the position), MG_ERR_CALLBACK,
 * MG_ERR_MEMORY, or MG_ERR_NUMERIC when a step's loss or gradient norm is not finite (that step's
 * update is made: the model is then spoiled, and a checkpoint saved before is what to go back to);
 * the steps taken before stay taken. NULL trainer: the kept error; NULL next_batch,
 * or NULL on_step without max_iters: MG_ERR_ARG; user is only handed to the callbacks. */
int mg_train(MgTrainer *trainer, MgBatchFn next_batch, MgStepFn on_step, void *user, MgError *err);

/* ---------------------------------------------------------------- checkpoints */

/* Saves model, and trainer's AdamW state if trainer is not NULL (so that training can resume),
 * to path in mingpt's safetensors format (tensors under minGPT's state_dict names; folders are
 * created; a crash never leaves half a file). task (at most 63 bytes, may be NULL) names the
 * program's task; meta (may be NULL) is a NULL-terminated list of key, value, key, value, ...
 * strings for the program's own use (keys: letters, digits, '_', '-', '.', at most 63 bytes;
 * values UTF-8), read back with mg_model_task / mg_model_meta. The file is written beside path
 * and renamed over it, so path must name a regular file or nothing yet: a FIFO, a device or a
 * folder there is refused with MG_ERR_FILE and left as it is; a symbolic link is written through
 * (the link stays, the file it leads to is replaced, or created when the link dangles and its
 * folder exists), as the mingpt command does. Returns 0, MG_ERR_ARG for a bad key or value, or
 * MG_ERR_FILE naming the path (nothing is written when the weights hold NaN or Inf). NULL model:
 * the kept error; NULL or empty path, or a key whose value is NULL: MG_ERR_ARG. */
int mg_save(const MgModel *model, const MgTrainer *trainer, const char *path, const char *task,
            const char *const *meta, MgError *err);

/* ---------------------------------------------------------------- generation */

/* minGPT's generate on one sequence: tokens holds n_prompt >= 1 prompt tokens and room for n_new
 * more, which are appended. temperature <= 0 is greedy (argmax, do_sample=False); otherwise the
 * logits are divided by temperature and, with top_k > 0, only the top_k most likely tokens are
 * drawn from, with an RNG seeded by seed. Past block_size the context slides. Returns 0,
 * MG_ERR_ARG (a token out of range, a bad count) or MG_ERR_NUMERIC (the logits were not finite:
 * the tokens appended before stay, the rest of tokens is left as it was). NULL model: the kept error; NULL tokens:
 * MG_ERR_ARG. */
int mg_generate(MgModel *model, int *tokens, int n_prompt, int n_new, float temperature, int top_k,
                uint64_t seed, MgError *err);
/* Greedy continuation of B prompts at once: prompts (B,T0) -> out (B,n_new), as minGPT's
 * generate(do_sample=False) on a batch; T0 + n_new - 1 <= block_size. Returns 0, MG_ERR_ARG or
 * MG_ERR_NUMERIC (the logits were not finite; out is then incomplete).
 * NULL model: the kept error; NULL prompts or out: MG_ERR_ARG. */
int mg_generate_greedy(MgModel *model, const int *prompts, int B, int T0, int n_new, int *out, MgError *err);

#ifdef __cplusplus
}
#endif

#endif
