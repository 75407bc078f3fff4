/* trainer.h — a task-agnostic AdamW training loop over a GPT (minGPT's trainer.py).
 *
 * The trainer knows nothing about text or addition: a task hands it batches through a callback and
 * watches progress through another. The optimizer is torch.optim.AdamW's math with minGPT's
 * parameter groups (decay on Linear weights only) and torch.nn.utils.clip_grad_norm_ over all
 * parameters. The moments live in two blocks with the parameters' layout (same table, same
 * offsets). Nothing is allocated inside a step.
 */
#ifndef MINGPT_TRAINER_H
#define MINGPT_TRAINER_H

#include <stddef.h>

#include "model.h"

typedef enum { LR_CONSTANT = 0, LR_COSINE = 1 } LrDecay;

typedef struct {
    float learning_rate;  /* peak; minGPT 5e-4 */
    float beta1, beta2;   /* 0.9, 0.95 */
    float eps;            /* 1e-8 */
    float weight_decay;   /* 0.1, on Linear weights only */
    float grad_clip;      /* max total L2 norm, 1.0; 0 turns clipping off */
    long warmup_iters;    /* linear warmup from 0 over this many steps (nanoGPT), 0 = none */
    LrDecay lr_decay;     /* constant (minGPT) or cosine down to min_lr at lr_decay_iters */
    long lr_decay_iters;
    float min_lr;
} TrainConfig;

/* minGPT's defaults, as above. */
TrainConfig train_config_default(void);

typedef struct {
    TrainConfig config;
    TensorTable *params; /* the model's table (not owned) */
    float *m, *v;        /* AdamW moments, layout of params */
    long step;           /* optimizer steps taken */
    double *norm_parts;  /* (n_norm_parts) partial sums of squares, fixed chunking */
    size_t n_norm_parts;
    float *grad_sum;     /* (params numel) the micro-batches' gradients summed so far, when a rank
                            runs more than one a step (NULL until then) */
    /* the last step */
    float loss, grad_norm, lr;
} Trainer;

void trainer_init(Trainer *tr, GPT *model, const TrainConfig *config);
void trainer_free(Trainer *tr);
/* Bytes the trainer of a model of config holds beside the model's own (gpt_train_bytes) when run
 * with trainer_run on accum micro-batches of (B,T) per rank: the AdamW moments, the gradient sum
 * of accum > 1, the norm's partial sums and the step's batch. */
size_t trainer_bytes(const GPTConfig *config, int accum, size_t B, size_t T);
/* Learning rate at optimizer step `step` (0-based) under the schedule. */
float trainer_lr(const TrainConfig *config, long step);

/* One training step on a batch: forward (dropout on), backward, clip, AdamW. Returns the loss.
 * idx, targets (B,T) as gpt_forward. */
float trainer_step(Trainer *tr, GPT *model, const int *idx, const int *targets, int B, int T);
/* One step on accum micro-batches of (B,T), idx and targets (accum*B, T) (nanoGPT's gradient
 * accumulation): each one's gradient, divided by the count of targets of all of them, computed
 * alone and summed in order, so the loss and gradients are those of one batch of accum*B rows (up
 * to rounding) with the activations of B rows. With MPI (dist.h) every rank passes all accum
 * micro-batches, runs its share of them in order (rank r the r-th of dist_size() even parts) and
 * the shares are summed across ranks: 2 ranks of 1 give the bits of 1 process of 2. Returns that
 * mean loss. */
float trainer_step_accum(Trainer *tr, GPT *model, const int *idx, const int *targets, int accum, int B, int T);
/* The optimizer part of a step, on the gradients already in model->grad_mem: the gradient norm,
 * clipping and one AdamW update (sets tr->grad_norm and tr->lr, advances tr->step). */
void trainer_update(Trainer *tr, GPT *model);

/* Fills idx and targets (B,T) with the next training batch. */
typedef void (*trainer_batch_fn)(void *ctx, int *idx, int *targets, int B, int T);
/* Called after every step; returning non-zero stops the loop. */
typedef int (*trainer_iter_fn)(void *ctx, Trainer *tr, GPT *model);

/* Runs steps of accum micro-batches per rank (next_batch is called accum x dist_size() times a
 * step on every rank, each for B rows)
 * until tr->step reaches max_iters (<= 0: no limit) or on_iter asks to stop. Returns the number
 * of steps taken. */
long trainer_run(Trainer *tr, GPT *model, int accum, int B, int T, long max_iters, trainer_batch_fn next_batch,
                 trainer_iter_fn on_iter, void *ctx);

#endif
