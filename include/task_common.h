/* task_common.h — what the chars and add tasks share: building or resuming a model, the training
 * loop with progress lines, periodic evaluation and checkpoints, and small helpers.
 */
#ifndef MINGPT_TASK_COMMON_H
#define MINGPT_TASK_COMMON_H

#include <stdio.h>

#include "checkpoint.h"
#include "hf_gpt2.h"
#include "model.h"
#include "progress.h"
#include "rng.h"
#include "runlog.h"
#include "tasks.h"
#include "tokenizer.h"
#include "trainer.h"

typedef struct TrainRun TrainRun;

struct TrainRun {
    const TrainOptions *opt;
    GPT *model;
    Trainer tr;
    CkptMeta meta;      /* what the next checkpoint records (task, its entries, val_loss, data_rng) */
    Rng data_rng;       /* batch sampling; saved in checkpoints for exact resume */
    const char *init_from; /* train_setup starts from this model's weights (--init), not from
                              minGPT's init; NULL: a fresh or resumed model */
    int B, T;
    size_t data_bytes;  /* the task's data held through training (a text's tokens), for the memory
                           estimate */
    /* the task's hooks */
    void *task;
    void (*next_batch)(TrainRun *run, int *idx, int *targets);
    /* Runs at every eval_every-th step and after the last one. Sets *save to write a checkpoint
     * now; returns non-zero to stop training. It may set eval_loss (a validation loss, NaN if it
     * has none), eval_text (a few words for the status line) and best_text (for the summary). */
    int (*evaluate)(TrainRun *run, int final, int *save);
    /* T for a run resumed from a checkpoint of the task with this metadata (checked by the task's
     * check_meta), known before the model is loaded; NULL: T stays as the task set it */
    int (*resumed_T)(const CkptMeta *meta);
    uint64_t data_hash; /* what next_batch draws from (the tokens), which the ranks of an MPI run
                           compare before the first step; 0 for data the run's settings determine */
    int keeps_best;     /* the checkpoint is the best model so far (add), not the latest (chars) */
    double eval_loss;
    char eval_text[48], best_text[96];
    char title[160];    /* the plot's title */
    int saved;          /* a checkpoint was written */
    int save_failed;    /* the latest save failed: the file holds an older model */
    /* progress */
    Term term;
    RunLog history;     /* every logged step, for --plot */
    FILE *log_fp;       /* --log */
    double flops_per_token;
    double t_start, t_prev, t_draw, time_offset; /* time_offset: time_s of a resumed --log */
    double train_time;  /* seconds inside steps (evaluations left out) in this process */
    long step_start;    /* the step this process started from */
    double loss_sum, time_sum; /* over the steps since the last logged one */
    double comm_prev;   /* dist_comm_seconds() at the last logged step */
    long loss_count;
    double ema_loss, ema_dt;   /* smoothed for the status line */
    long ema_count;
};

/* A model config from the options: the preset, then any --n-layer/--n-head/--n-embd. Returns 0,
 * or prints the problem and returns 2. */
int config_from_options(const TrainOptions *opt, int vocab_size, int block_size, GPTConfig *out);
TrainConfig train_config_from_options(const TrainOptions *opt);

/* Creates a fresh model (config), or with run->init_from one of config holding that model's
 * weights, or with opt->resume loads one with its optimizer state into run->model / run->tr /
 * run->meta. Prints what it built. Returns 0 or an exit code. */
int train_setup(TrainRun *run, const GPTConfig *config, const char *task);
/* Trains until max_iters or until evaluate asks to stop, then frees the model and trainer.
 * Returns 0 or an exit code. */
int train_loop(TrainRun *run);
/* Writes run's model, optimizer and meta to opt->out. On failure prints one line (the step, why,
 * that the old file is intact, then `then`) and returns 1. */
int train_save(TrainRun *run, const char *then);

/* Loading or saving a model file (a checkpoint, or a GPT-2 folder's model.safetensors) with its
 * progress on term, in bytes (see Status in progress.h): begin before the load or save, end after
 * it, on success or failure. verb is "loading" or "saving"; path as the user named it. */
typedef struct {
    Status status;
    double done, total; /* bytes read or written so far; the file's tensor data */
} FileStatus;
void file_status_begin(FileStatus *fs, Term *term, const char *verb, const char *path);
void file_status_end(FileStatus *fs);

/* The run's settings a checkpoint keeps (what --resume takes), as the flags that set them: " --lr
 * 0.002 --batch-size 32 ..." into out. Returns how many (0: a file from before they were kept). */
int describe_settings(const CkptMeta *meta, char *out, size_t size);

/* What every command checks of a Hugging Face GPT-2 folder before loading its weights: config.json
 * (into *config), the header of model.safetensors against it (into *contents, which may be NULL)
 * and the tokenizer's size against vocab_size. Returns the folder's tokenizer, or NULL after
 * printing why not. */
Tokenizer *check_gpt2_folder(const char *dir, GPTConfig *config, HfGpt2Contents *contents);

/* Says on one line that the model loaded from path gives non-finite results (what: "its loss is
 * NaN"), naming the tensor with the largest weight, where an overflow most likely starts. */
void report_nonfinite(const char *path, const GPT *m, const char *what);

/* Returns 0 if path exists; else prints that there is no checkpoint and how to make one
 * (make_one, e.g. "mingpt train FILE") and returns 1. */
int check_checkpoint_exists(const char *path, const char *make_one);

/* Reads a whole regular file. Returns 0, or prints "mingpt: PATH: what is wrong" and returns 1. */
int read_whole_file(const char *path, unsigned char **data, size_t *size);

#endif
