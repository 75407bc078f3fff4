/* tasks.h — minGPT's two projects as commands: the character-level language model (chargpt) and
 * the adder, plus sampling and evaluation. main.c parses argv into these option structs and calls
 * one entry point; each returns the process exit code (0 ok, 1 runtime error, 2 usage error) and
 * reports problems itself as one line on stderr.
 */
#ifndef MINGPT_TASKS_H
#define MINGPT_TASKS_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"
#include "threads.h"
#include "tokenizer.h"

typedef struct {
    Pool *pool;
    /* model (ignored when resuming: the checkpoint's shape is kept) */
    const char *model_type;      /* minGPT preset */
    int model_given, dropout_given; /* --model / --dropout were on the command line */
    int n_layer, n_head, n_embd; /* 0: from the preset */
    int block_size;              /* chars only; the adder's is 3·ndigit */
    int block_size_given;        /* --block-size was on the command line */
    float dropout;               /* embd, resid and attn pdrop alike */
    /* optimisation */
    int batch_size;
    int accum;                   /* micro-batches of batch_size per optimizer step (1) */
    float lr, weight_decay, grad_clip;
    long max_iters, warmup_iters;
    int lr_cosine;
    long lr_decay_iters;         /* the cosine's length (nanoGPT's lr_decay_iters); 0: --max-iters */
    /* run */
    float val_frac;              /* chars: fraction of the text held out */
    long eval_every, log_every;
    uint64_t seed;
    const char *out, *resume;    /* out defaults to resume when resuming */
    int out_given;               /* --out was on the command line */
    int bytes;                   /* chars: raw bytes instead of UTF-8 code points */
    int crlf_fold, crlf_given;   /* --crlf fold: read \r\n as \n (else as the resumed or --init
                                    checkpoint records, else keep) */
    const char *sample_prompt;   /* chars: the prompt of the samples at evaluations (NULL: chargpt's) */
    long sample_len;             /* chars: tokens in each of those samples (0: no samples) */
    const char *init;            /* train: start from this model's weights and tokenizer (a GPT-2
                                    folder or a mingpt checkpoint) */
    const char *tokenizer;       /* train: a folder with GPT-2's BPE files, for a BPE model from scratch */
    int ndigit;                  /* add */
    int eval_only;               /* add: evaluate --ckpt and exit */
    const char *ckpt;            /* add --eval, add --ask */
    const char *ask;             /* add: a problem "A+B" to answer with --ckpt's model, then exit */
    /* output */
    int quiet;                   /* errors and the final summary only */
    const char *log_csv;         /* --log: CSV rows (NULL: none) */
    const char *plot_svg;        /* --plot: SVG redrawn at every evaluation (NULL: none) */
    int log_scale;               /* --log-scale: the plot's loss axis */
    uint64_t given;              /* OPT_BIT(id) (task_table.h) of every option on the command line */
    char resume_note[1024];      /* what --resume took from the checkpoint or changed in it, lines
                                    said once the checkpoint has loaded (train_settle_options) */
} TrainOptions;

typedef struct {
    Pool *pool;
    const char *ckpt, *prompt;   /* prompt NULL: a newline if in the vocabulary, else token 0 */
    long len;
    float temperature, top_p;
    int top_k, greedy;
    int exact;                   /* minGPT's full recompute per token instead of the cache */
    long num_samples;
    uint64_t seed;
} SampleOptions;

typedef enum { EVAL_SPLIT_VAL, EVAL_SPLIT_TRAIN, EVAL_SPLIT_ALL } EvalSplit;

typedef struct {
    Pool *pool;
    const char *ckpt, *file;
    int batch_size;
    EvalSplit split;             /* which part of file: training splits it at (1 - val_frac) */
    int split_given;             /* --split was on the command line (a GPT-2 folder defaults to all) */
    float val_frac;              /* when given; else the checkpoint's, else 0.1 */
    int val_frac_given;
    int crlf_fold, crlf_given;   /* --crlf fold: read \r\n as \n (else as the checkpoint records) */
} EvalOptions;

/* Before a training command runs (task_common.c): with --resume, every run setting the command line
 * leaves out (learning rate and its schedule, batch size, accumulation, weight decay, clipping,
 * dropout, evaluation and log interval, sample length, seed, validation fraction) takes the
 * checkpoint's value, and each one given that differs is noted as old -> new (in opt->resume_note,
 * for the task to say once the checkpoint has loaded, so that an error about it stays one line);
 * then --lr-decay-iters defaults to --max-iters. A checkpoint that cannot be read is left for the
 * command to report. Returns 0, or 1 after saying which of the checkpoint's settings is damaged. */
int train_settle_options(TrainOptions *opt);

/* A language model on text (task_text.c): a character model, or one on GPT-2's BPE tokens. sample
 * and eval also take a Hugging Face GPT-2 folder as --ckpt. */
int task_text_train(const char *file, const TrainOptions *opt);
int task_text_sample(const SampleOptions *opt);
int task_text_eval(const EvalOptions *opt);
int task_add(const TrainOptions *opt);
/* mingpt info DIR on a Hugging Face GPT-2 folder, a directory holding config.json (task_gpt2.c). */
int task_gpt2_info(const char *dir);
/* mingpt info CKPT: describes a checkpoint without loading its weights. */
int task_info(const char *ckpt);
/* mingpt plot: the loss curves of a --log CSV file as an SVG. title NULL: the CSV's file name. */
int task_plot(const char *csv, const char *svg, const char *title, int log_scale);
/* mingpt encode / decode: FILE (NULL: standard input) as GPT-2 token ids on one line, and such ids
 * back to bytes, with the BPE vocabulary in the folder tokenizer_dir (task_bpe.c). */
int task_encode(const char *tokenizer_dir, const char *file);
int task_decode(const char *tokenizer_dir, const char *file);

/* ---- pieces of the text task, exposed for tests ---- */

/* Called after each batch with the windows done so far and in all. */
typedef void (*EvalProgress)(void *ctx, size_t done, size_t total);

/* Mean cross-entropy (nats per token) of tokens (n) under the model: windows of block_size+1
 * starting at 0, block_size, 2·block_size, ..., so each token after the first is predicted once.
 * At most max_windows windows are used (0 = all). Runs batches of batch_size windows; progress
 * (may be NULL) hears after each. */
double text_eval_loss(GPT *model, const int *tokens, size_t n, int batch_size, size_t max_windows,
                       size_t *n_predicted, EvalProgress progress, void *progress_ctx);

#endif
