/* task_table.h — the command's built-in tasks as one table (src/task_table.c). Each task is one
 * TaskDef: the "task" names of its checkpoints, its commands (name, --help lines, usage screen,
 * options, defaults, entry point), how it checks its checkpoints' metadata and how `mingpt info`
 * describes them. main, --help, the man page, info and every command that reads a checkpoint
 * iterate the table instead of naming tasks, so a new task is one file defining its TaskDef plus
 * one line in the table. The general tools (info, plot, encode, decode) are Commands too, listed
 * in main.c. checkpoint.c (core) reads what every checkpoint has and keeps the task's entries as
 * they are; the task's own file reads and checks them (check_meta), which is why the library
 * loads every kind of checkpoint without the command's tasks.
 */
#ifndef MINGPT_TASK_TABLE_H
#define MINGPT_TASK_TABLE_H

#include <getopt.h>
#include <stdint.h>

#include "checkpoint.h"
#include "tasks.h"

/* The ids of every option of the command line; main.c's apply() gives each its meaning. */
enum {
    OPT_MODEL = 256, OPT_N_LAYER, OPT_N_HEAD, OPT_N_EMBD, OPT_BLOCK_SIZE, OPT_DROPOUT,
    OPT_BATCH_SIZE, OPT_LR, OPT_MAX_ITERS, OPT_WEIGHT_DECAY, OPT_GRAD_CLIP, OPT_WARMUP,
    OPT_LR_DECAY, OPT_VAL_FRAC, OPT_EVAL_EVERY, OPT_LOG_EVERY, OPT_SEED, OPT_THREADS, OPT_BYTES,
    OPT_OUT, OPT_RESUME, OPT_CKPT, OPT_PROMPT, OPT_LEN, OPT_TEMPERATURE, OPT_TOP_K, OPT_GREEDY,
    OPT_NDIGIT, OPT_EVAL, OPT_HELP, OPT_TOP_P, OPT_NUM_SAMPLES, OPT_EXACT, OPT_QUIET, OPT_LOG,
    OPT_PLOT, OPT_LOG_SCALE, OPT_TITLE, OPT_PLOT_OUT, OPT_SAMPLE_PROMPT, OPT_SPLIT, OPT_TOKENIZER, OPT_INIT, OPT_ACCUM,
    OPT_LR_DECAY_ITERS, OPT_CRLF, OPT_ASK, OPT_SAMPLE_LEN,
    OPT_END /* not an option: one past the last id */
};

/* TrainOptions.given's bit of option id */
#define OPT_BIT(id) (UINT64_C(1) << ((id) - OPT_MODEL))
_Static_assert(OPT_END - OPT_MODEL <= 64, "TrainOptions.given has a bit for each option id");

#define LONG_OPT(name, id) {name, required_argument, NULL, id}
#define FLAG_OPT(name, id) {name, no_argument, NULL, id}

/* Everything the command line can set; a command reads the part it needs. */
typedef struct {
    TrainOptions train;
    SampleOptions sample;
    EvalOptions eval;
    int threads;
    const char *plot_out, *plot_title; /* plot */
    const char *tokenizer;             /* encode, decode, train: the vocabulary's folder */
} Options;

typedef enum {
    ARGS_NONE,     /* no argument: "unexpected argument 'X'" */
    ARGS_ONE,      /* exactly one: args_error says which */
    ARGS_OPTIONAL, /* at most one */
} ArgCount;

typedef enum {
    CMD_TRAIN, /* trains: model, source and file checks first; its exit code ignores stdout */
    CMD_RUN,   /* runs a model on the thread pool */
    CMD_TOOL,  /* no model, no pool */
} CmdKind;

typedef struct {
    const char *name;              /* "train" */
    const char *summary;           /* its lines in `mingpt --help`'s list of commands */
    const char *usage;             /* its screen: CMD --help, mingpt help CMD, the man page */
    const struct option *options;  /* getopt_long's table, ending in {0}; has "help" */
    ArgCount args;
    const char *args_error;        /* ARGS_ONE: "expects exactly one FILE to train on" */
    CmdKind kind;
    void (*defaults)(Options *o);  /* the command's own defaults over main's (NULL: none) */
    int (*run)(const Options *o, char **args); /* args: its arguments; returns the exit code */
} Command;

/* The parts of `mingpt info` that depend on the task. */
typedef enum { INFO_TASK, INFO_VOCAB, INFO_NO_VAL_LOSS } InfoPart;

typedef struct {
    const char *const *ckpt_tasks; /* the "task" values of its checkpoints, NULL-terminated */
    const Command *commands;
    int n_commands;
    /* checks the task's entries of a checkpoint of the task (meta->entries) against its config c:
     * returns 0, or -1 with a one-line message naming path in err */
    int (*check_meta)(const char *path, const CkptMeta *meta, const GPTConfig *c, char *err, size_t err_size);
    /* prints its line of `part` for a checkpoint of the task and returns 1, or returns 0 for
     * info's default line (INFO_NO_VAL_LOSS: "not recorded") */
    int (*describe)(const CkptMeta *meta, const GPTConfig *c, InfoPart part);
} TaskDef;

/* The built-in tasks, NULL-terminated, in the order --help lists their commands. */
extern const TaskDef *const TASKS[];

/* The task whose checkpoints have this "task" value, or NULL (a library user's "lib", or a task
 * this command does not have). */
const TaskDef *task_of_checkpoint(const char *ckpt_task);

/* ckpt_peek and ckpt_load (checkpoint.h) for the command: the same, and then the checkpoint's task
 * checks its entries (check_meta), so that a command can read them without checking again. A
 * checkpoint of a task no built-in has passes as the core reads it: the command that needs one of
 * its own tasks says so. On failure meta is freed and err holds one line naming path. */
int task_peek_checkpoint(const char *path, GPTConfig *config, CkptMeta *meta, char *err, size_t err_size);
GPT *task_load_checkpoint(const char *path, Pool *pool, CkptMeta *meta, Trainer *tr,
                          const TrainConfig *train_config, char *err, size_t err_size);

#endif
