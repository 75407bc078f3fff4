/* task_common.h — what the chars and add tasks share: building or resuming a model, the training
 * loop with progress lines, periodic evaluation and checkpoints, and small helpers.
 */
#ifndef MINGPT_TASK_COMMON_H
#define MINGPT_TASK_COMMON_H

#include "checkpoint.h"
#include "model.h"
#include "rng.h"
#include "tasks.h"
#include "trainer.h"

typedef struct TrainRun TrainRun;

struct TrainRun {
    const TrainOptions *opt;
    GPT *model;
    Trainer tr;
    CkptMeta meta;      /* what the next checkpoint records (task, vocab, val_loss, data_rng) */
    Rng data_rng;       /* batch sampling; saved in checkpoints for exact resume */
    int B, T;
    /* the task's hooks */
    void *task;
    void (*next_batch)(TrainRun *run, int *idx, int *targets);
    /* Runs at every eval_every-th step and after the last one. Sets *save to write a checkpoint
     * now; returns non-zero to stop training. */
    int (*evaluate)(TrainRun *run, int final, int *save);
    int saved;          /* a checkpoint was written */
    int save_failed;    /* the latest save failed: the file holds an older model */
    /* progress */
    double t_start, t_log;
    long step_log;
    double loss_sum;
    long loss_count;
};

/* Seconds on a monotonic clock. */
double now_seconds(void);

/* A model config from the options: the preset, then any --n-layer/--n-head/--n-embd. Returns 0,
 * or prints the problem and returns 2. */
int config_from_options(const TrainOptions *opt, int vocab_size, int block_size, GPTConfig *out);
TrainConfig train_config_from_options(const TrainOptions *opt);

/* Creates a fresh model (config) or, with opt->resume, loads one with its optimizer state into
 * run->model / run->tr / run->meta. Prints what it built. Returns 0 or an exit code. */
int train_setup(TrainRun *run, const GPTConfig *config, const char *task);
/* Trains until max_iters or until evaluate asks to stop, then frees the model and trainer.
 * Returns 0 or an exit code. */
int train_loop(TrainRun *run);
/* Writes run's model, optimizer and meta to opt->out. On failure prints one line (the step, why,
 * that the old file is intact, then `then`) and returns 1. */
int train_save(TrainRun *run, const char *then);

/* Reads a whole regular file. Returns 0, or prints "mingpt: PATH: what is wrong" and returns 1. */
int read_whole_file(const char *path, unsigned char **data, size_t *size);

#endif
