/* main.c — the mingpt command line: finds the command in the task table (task_table.h) or among
 * the general tools, parses argv, validates options in one place, and hands a filled option struct
 * to the command. It names no task and holds no math.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"
#include "dist.h"
#include "files.h"
#include "help.h"
#include "hf_gpt2.h"
#include "model.h"
#include "task_table.h"
#include "tasks.h"
#include "threads.h"

#define MINGPT_VERSION "0.1.0"

/* ---------------------------------------------------------------- value parsing */

static const char *g_command = "mingpt";

/* With stdout or stderr closed (`>&-`), the next file opened would take its number and receive
 * what was meant for it: samples or progress lines inside a --log CSV. /dev/null takes it first. */
static int g_stdout_closed; /* standard output was closed when mingpt started */

static void keep_standard_fds_open(void) {
    for (int fd = 0; fd <= 2; fd++)
        if (fcntl(fd, F_GETFD) == -1 && errno == EBADF) {
            if (fd == 1) g_stdout_closed = 1;
            int got = open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
            if (got != fd) {
                if (got >= 0) close(got);
                _exit(1); /* no way to say so: stderr itself may be the one missing */
            }
        }
}

/* The exit status of a command: results that never reached their destination (a full disk, a
 * closed pipe) are a failure too. */
static int finish(int rc) {
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "mingpt: cannot write to standard output\n");
        return 1;
    }
    return rc;
}


/* Ends the process after a usage error. Every rank of an MPI job has the same command line (main
 * checks that first) and so the same error: rank 0 alone says it, and all end together. */
static _Noreturn void exit_usage(void) {
    dist_exit_agreed();
    dist_finish(2);
    exit(2);
}

static void print_usage_error(const char *fmt, const char *a, const char *b) {
    fprintf(stderr, "mingpt %s: ", g_command);
    fprintf(stderr, fmt, a, b);
    fprintf(stderr, " (see 'mingpt %s --help')\n", g_command);
}

static void usage_error(const char *fmt, const char *a, const char *b) {
    if (dist_rank() == 0) print_usage_error(fmt, a, b);
    exit_usage();
}

/* A usage error found in this process's own files, which another MPI rank (on another host) need
 * not see: this rank says it, and dist_finish ends the others. */
static _Noreturn void usage_error_here(const char *fmt, const char *a, const char *b) {
    print_usage_error(fmt, a, b);
    dist_finish(2);
    exit(2);
}

/* strtol and strtod skip leading white space and take a '+'; a flag value must be the number
 * itself ("5", "-3", "0.5"), so " 5", "+5" and "" are refused before they reach them. */
static int starts_like_number(const char *arg) {
    return (arg[0] >= '0' && arg[0] <= '9') || ((arg[0] == '-' || arg[0] == '.') && arg[1] != '\0');
}

static long parse_long(const char *name, const char *arg, long lo, long hi) {
    char *end;
    errno = 0;
    long v = starts_like_number(arg) ? strtol(arg, &end, 10) : 0;
    if (!starts_like_number(arg) || errno || end == arg || *end || v < lo || v > hi) {
        char range[64];
        snprintf(range, sizeof range, "an integer from %ld to %ld", lo, hi);
        if (dist_rank() == 0)
            fprintf(stderr, "mingpt %s: %s expects %s, got '%s' (see 'mingpt %s --help')\n", g_command, name, range,
                    arg, g_command);
        exit_usage();
    }
    return v;
}

static unsigned long long parse_seed(const char *arg) {
    char *end;
    errno = 0;
    /* strtoull would wrap "-1" (and " -1") around to 2^64-1 */
    if (arg[0] < '0' || arg[0] > '9') usage_error("--seed expects a non-negative integer, got '%s'%s", arg, "");
    unsigned long long v = strtoull(arg, &end, 10);
    if (errno || end == arg || *end) usage_error("--seed expects a non-negative integer, got '%s'%s", arg, "");
    return v;
}

/* A finite float in the interval from lo to hi; lo_open and hi_open leave out an end. */
static float parse_float(const char *name, const char *arg, double lo, double hi, int lo_open, int hi_open) {
    char *end;
    errno = 0;
    double v = starts_like_number(arg) ? strtod(arg, &end) : NAN;
    if (!starts_like_number(arg) || errno || end == arg || *end || !isfinite(v) || v < lo || v > hi ||
        (lo_open && v <= lo) || (hi_open && v >= hi)) {
        if (dist_rank() == 0)
            fprintf(stderr, "mingpt %s: %s expects a number in %c%g, %g%c, got '%s' (see 'mingpt %s --help')\n",
                g_command, name, lo_open ? '(' : '[', lo, hi, hi_open ? ')' : ']', arg, g_command);
        exit_usage();
    }
    return (float)v;
}

/* A file or folder to read: "" names nothing (the outputs' empty names are check_outputs'). */
static const char *need_name(const char *flag, const char *arg) {
    if (!arg[0]) usage_error("%s expects a path, got an empty one%s", flag, "");
    return arg;
}

/* ---------------------------------------------------------------- options */

static const struct option PLOT_OPTIONS[] = {
    LONG_OPT("out", OPT_PLOT_OUT), FLAG_OPT("log-scale", OPT_LOG_SCALE), LONG_OPT("title", OPT_TITLE),
    FLAG_OPT("help", OPT_HELP), {0, 0, 0, 0},
};

static const struct option BPE_OPTIONS[] = {LONG_OPT("tokenizer", OPT_TOKENIZER), FLAG_OPT("help", OPT_HELP), {0, 0, 0, 0}};

static const struct option INFO_OPTIONS[] = {FLAG_OPT("help", OPT_HELP), {0, 0, 0, 0}};

/* Applies one parsed option to whichever structs use it. */
static void apply(Options *o, int id, const char *arg, const char *usage) {
    TrainOptions *t = &o->train;
    if (id >= OPT_MODEL && id < OPT_END) t->given |= OPT_BIT(id);
    switch (id) {
    case OPT_MODEL: {
        GPTConfig probe;
        if (!gpt_preset(arg, &probe)) usage_error("unknown --model '%s' (one of: %s)", arg, gpt_preset_names());
        t->model_type = arg;
        t->model_given = 1;
        break;
    }
    case OPT_N_LAYER: t->n_layer = (int)parse_long("--n-layer", arg, 1, 256); break;
    case OPT_N_HEAD: t->n_head = (int)parse_long("--n-head", arg, 1, 256); break;
    case OPT_N_EMBD: t->n_embd = (int)parse_long("--n-embd", arg, 1, 16384); break;
    case OPT_BLOCK_SIZE:
        t->block_size = (int)parse_long("--block-size", arg, 1, 16384);
        t->block_size_given = 1;
        break;
    case OPT_DROPOUT:
        t->dropout = parse_float("--dropout", arg, 0.0, 1.0, 0, 1);
        t->dropout_given = 1;
        break;
    case OPT_BATCH_SIZE:
        t->batch_size = o->eval.batch_size = (int)parse_long("--batch-size", arg, 1, 1 << 16);
        break;
    case OPT_ACCUM: t->accum = (int)parse_long("--accum", arg, 1, 1 << 16); break;
    case OPT_LR: t->lr = parse_float("--lr", arg, 0.0, 10.0, 0, 0); break;
    case OPT_MAX_ITERS: t->max_iters = parse_long("--max-iters", arg, 1, 1L << 40); break;
    case OPT_WEIGHT_DECAY: t->weight_decay = parse_float("--weight-decay", arg, 0.0, 10.0, 0, 0); break;
    case OPT_GRAD_CLIP: t->grad_clip = parse_float("--grad-clip", arg, 0.0, 1e6, 0, 0); break;
    case OPT_WARMUP: t->warmup_iters = parse_long("--warmup-iters", arg, 0, 1L << 40); break;
    case OPT_LR_DECAY_ITERS: t->lr_decay_iters = parse_long("--lr-decay-iters", arg, 1, 1L << 40); break;
    case OPT_LR_DECAY:
        if (strcmp(arg, "none") == 0) t->lr_cosine = 0;
        else if (strcmp(arg, "cosine") == 0) t->lr_cosine = 1;
        else usage_error("--lr-decay expects none or cosine, got '%s'%s", arg, "");
        break;
    case OPT_VAL_FRAC:
        t->val_frac = o->eval.val_frac = parse_float("--val-frac", arg, 0.0, 1.0, 0, 1);
        o->eval.val_frac_given = 1;
        break;
    case OPT_SPLIT:
        if (strcmp(arg, "val") == 0) o->eval.split = EVAL_SPLIT_VAL;
        else if (strcmp(arg, "train") == 0) o->eval.split = EVAL_SPLIT_TRAIN;
        else if (strcmp(arg, "all") == 0) o->eval.split = EVAL_SPLIT_ALL;
        else usage_error("--split expects val, train or all, got '%s'%s", arg, "");
        o->eval.split_given = 1;
        break;
    case OPT_SAMPLE_PROMPT: t->sample_prompt = arg; break;
    case OPT_SAMPLE_LEN: t->sample_len = parse_long("--sample-len", arg, 0, 100000000); break;
    case OPT_EVAL_EVERY: t->eval_every = parse_long("--eval-every", arg, 1, 1L << 40); break;
    case OPT_LOG_EVERY: t->log_every = parse_long("--log-every", arg, 1, 1L << 40); break;
    case OPT_SEED: t->seed = o->sample.seed = parse_seed(arg); break;
    case OPT_THREADS: o->threads = (int)parse_long("--threads", arg, 1, 1024); break;
    case OPT_BYTES: t->bytes = 1; break;
    case OPT_CRLF:
        if (strcmp(arg, "keep") == 0) t->crlf_fold = o->eval.crlf_fold = 0;
        else if (strcmp(arg, "fold") == 0) t->crlf_fold = o->eval.crlf_fold = 1;
        else usage_error("--crlf expects keep or fold, got '%s'%s", arg, "");
        t->crlf_given = o->eval.crlf_given = 1;
        break;
    case OPT_OUT:
        t->out = arg;
        t->out_given = 1;
        break;
    case OPT_RESUME: t->resume = need_name("--resume", arg); break;
    case OPT_CKPT: t->ckpt = o->sample.ckpt = o->eval.ckpt = need_name("--ckpt", arg); break;
    case OPT_PROMPT: o->sample.prompt = arg; break;
    case OPT_LEN: o->sample.len = parse_long("--len", arg, 0, 100000000); break;
    case OPT_TEMPERATURE: o->sample.temperature = parse_float("--temperature", arg, 0.0, 1000.0, 1, 0); break;
    case OPT_TOP_K: o->sample.top_k = (int)parse_long("--top-k", arg, 0, 1 << 22); break;
    case OPT_GREEDY: o->sample.greedy = 1; break;
    case OPT_TOP_P: o->sample.top_p = parse_float("--top-p", arg, 0.0, 1.0, 1, 0); break;
    case OPT_NUM_SAMPLES: o->sample.num_samples = parse_long("--num-samples", arg, 1, 1000000); break;
    case OPT_EXACT: o->sample.exact = 1; break;
    case OPT_NDIGIT: t->ndigit = (int)parse_long("--ndigit", arg, 1, 9); break;
    case OPT_EVAL: t->eval_only = 1; break;
    case OPT_ASK: t->ask = arg; break;
    case OPT_QUIET: t->quiet = 1; break;
    case OPT_LOG: t->log_csv = arg; break;
    case OPT_PLOT: t->plot_svg = arg; break;
    case OPT_LOG_SCALE: t->log_scale = 1; break;
    case OPT_TITLE: o->plot_title = arg; break;
    case OPT_PLOT_OUT: o->plot_out = arg; break;
    case OPT_TOKENIZER: o->tokenizer = t->tokenizer = need_name("--tokenizer", arg); break;
    case OPT_INIT: t->init = need_name("--init", arg); break;
    case OPT_HELP:
        fputs(usage, stdout);
        exit(finish(0));
    default: CHECK(0); /* every id in the option tables is handled above */
    }
}

/* Parses argv[1..] of a command; the non-option arguments are returned in *rest. */
static int parse(Options *o, int argc, char **argv, const struct option *table, const char *usage,
                 char ***rest) {
    /* short options: -h everywhere, and plot's -o */
    const char *shortopts = table == PLOT_OPTIONS ? ":ho:" : ":h";
    opterr = 0; /* the messages below are ours, one line each */
    optind = 1;
    int id;
    /* options and FILE may come in any order; "-h" is --help; ':' reports a missing value */
    while ((id = getopt_long(argc, argv, shortopts, table, NULL)) != -1) {
        if (id == '?' || id == ':') {
            char short_opt[3] = {'-', (char)optopt, '\0'};
            const char *opt = optopt > 0 && optopt < 256 ? short_opt : argv[optind - 1];
            if (id == ':') usage_error("option '%s' needs a value%s", opt, "");
            usage_error("unknown option '%s'%s", opt, "");
        }
        apply(o, id == 'h' ? OPT_HELP : id == 'o' ? OPT_PLOT_OUT : id, optarg, usage);
    }
    *rest = argv + optind;
    return argc - optind;
}

/* Exits with check_outputs' message when an output would destroy an input or another output. */
static void check_files(const FileRole *inputs, int n_inputs, const FileRole *outputs, int n_outputs) {
    char err[1024];
    int rc = check_outputs(inputs, n_inputs, outputs, n_outputs, err, sizeof err);
    if (rc == 2) usage_error_here("%s%s", err, "");
    if (rc != 0) { /* (this rank's files, as usage_error_here) */
        fprintf(stderr, "mingpt: %s\n", err);
        dist_finish(rc);
        exit(rc);
    }
}

/* The model shape options must describe a valid model; the data fills in the rest later. */
static void check_model_options(const TrainOptions *t) {
    GPTConfig c = {0};
    CHECK(gpt_preset(t->model_type, &c));
    if (t->n_layer) c.n_layer = t->n_layer;
    if (t->n_head) c.n_head = t->n_head;
    if (t->n_embd) c.n_embd = t->n_embd;
    c.vocab_size = 2;
    c.block_size = t->block_size;
    const char *bad = gpt_config_error(&c);
    if (bad) {
        char shape[96];
        snprintf(shape, sizeof shape, "n_layer %d, n_head %d, n_embd %d", c.n_layer, c.n_head, c.n_embd);
        usage_error("bad model shape (%s): %s", shape, bad);
    }
}

/* A model comes from one place: the options (with the text's characters or --tokenizer's BPE), a
 * checkpoint to resume, or a model to fine-tune (--init, which brings its shape and tokenizer). */
static void check_model_sources(const TrainOptions *t) {
    if (t->init && t->resume) usage_error("--init starts a new run from a model's weights; --resume continues one: "
                                          "give one of them%s%s", "", "");
    const char *from = t->init ? "--init" : t->resume ? "--resume" : NULL;
    if (from && t->tokenizer) usage_error("%s brings its model's tokenizer: drop --tokenizer%s", from, "");
    if (t->tokenizer && t->bytes) usage_error("--bytes makes a character model; --tokenizer a BPE one: give one "
                                              "of them%s%s", "", "");
    if (t->init && t->bytes) usage_error("--init brings its model's tokenizer: drop --bytes%s%s", "", "");
    if (t->init && (t->model_given || t->n_layer || t->n_head || t->n_embd))
        usage_error("--init takes the model's shape from %s: drop --model/--n-layer/--n-head/--n-embd%s", t->init, "");
}

static void defaults(Options *o) {
    memset(o, 0, sizeof *o);
    TrainOptions *t = &o->train;
    t->model_type = "gpt-mini";
    t->block_size = 128;
    t->dropout = 0.1f;
    t->batch_size = 64;
    t->accum = 1;
    t->lr = 5e-4f;
    t->max_iters = 1000;
    t->weight_decay = 0.1f;
    t->grad_clip = 1.0f;
    t->val_frac = 0.1f;
    t->eval_every = 250;
    t->log_every = 10;
    t->sample_len = 200;
    t->seed = 3407;
    t->out = "out/chargpt/model.safetensors";
    o->sample.ckpt = "out/chargpt/model.safetensors";
    o->sample.len = 500;
    o->sample.temperature = 1.0f;
    o->sample.top_k = 10;
    o->sample.top_p = 1.0f;
    o->sample.num_samples = 1;
    o->sample.seed = 3407;
    o->eval.ckpt = "out/chargpt/model.safetensors";
    o->eval.batch_size = 64;
    o->eval.split = EVAL_SPLIT_VAL;
    o->eval.val_frac = 0.1f;
}

/* ---------------------------------------------------------------- the general tools */

static int run_info(const Options *o, char **args) {
    (void)o;
    return hf_gpt2_is_folder(args[0]) ? task_gpt2_info(args[0]) : task_info(args[0]);
}

static int run_plot(const Options *o, char **args) {
    if (!o->plot_out) usage_error("needs -o FILE.svg, the picture to write%s%s", "", "");
    const FileRole input = {args[0], "the CSV log being plotted", NULL}, output = {o->plot_out, "-o", NULL};
    check_files(&input, 1, &output, 1);
    return task_plot(args[0], o->plot_out, o->plot_title, o->train.log_scale);
}

static void need_tokenizer(const Options *o) {
    if (!o->tokenizer) usage_error("needs --tokenizer DIR, the folder holding GPT-2's vocabulary%s%s", "", "");
}

static int run_encode(const Options *o, char **args) {
    need_tokenizer(o);
    return task_encode(o->tokenizer, args[0]);
}

static int run_decode(const Options *o, char **args) {
    need_tokenizer(o);
    return task_decode(o->tokenizer, args[0]);
}

/* listed in --help and the man page after the tasks' commands */
static const Command TOOLS[] = {
    {.name = "info", .usage = USAGE_INFO, .options = INFO_OPTIONS, .args = ARGS_ONE,
     .args_error = "expects exactly one checkpoint file", .kind = CMD_TOOL, .run = run_info,
     .summary = "  info CKPT    what a checkpoint holds: task, config, parameters, vocabulary, step, loss\n"},
    {.name = "plot", .usage = USAGE_PLOT, .options = PLOT_OPTIONS, .args = ARGS_ONE,
     .args_error = "expects exactly one CSV log file", .kind = CMD_TOOL, .run = run_plot,
     .summary = "  plot CSV     draw the loss curves of a --log file as an SVG picture\n"},
    {.name = "encode", .usage = USAGE_ENCODE, .options = BPE_OPTIONS, .args = ARGS_OPTIONAL, .kind = CMD_TOOL,
     .run = run_encode, .summary = "  encode       text to GPT-2 token ids (minGPT's bpe.py)\n"},
    {.name = "decode", .usage = USAGE_DECODE, .options = BPE_OPTIONS, .args = ARGS_OPTIONAL, .kind = CMD_TOOL,
     .run = run_decode, .summary = "  decode       GPT-2 token ids back to text\n"},
};

#define MAX_COMMANDS 64

/* Every command, the tasks' (in the table's order) then the tools; returns how many. */
static int list_commands(const Command **out) {
    int n = 0;
    for (int t = 0; TASKS[t]; t++)
        for (int i = 0; i < TASKS[t]->n_commands; i++) {
            CHECK(n < MAX_COMMANDS);
            out[n++] = &TASKS[t]->commands[i];
        }
    for (size_t i = 0; i < sizeof TOOLS / sizeof *TOOLS; i++) {
        CHECK(n < MAX_COMMANDS);
        out[n++] = &TOOLS[i];
    }
    return n;
}

static const Command *find_command(const Command *const *commands, int n, const char *name) {
    for (int i = 0; i < n; i++)
        if (strcmp(commands[i]->name, name) == 0) return commands[i];
    return NULL;
}

/* The checks of a training command before anything runs: the model it asks for, where the model
 * comes from, and that no output destroys an input. */
static void check_training(TrainOptions *t, int n_args, char **args) {
    check_model_options(t);
    check_model_sources(t);
    /* a resumed run goes on in its own file, never in another run's default one */
    struct stat st;
    if (t->resume && stat(t->resume, &st) == 0 && S_ISDIR(st.st_mode))
        usage_error_here("--resume %s is a folder; it continues a run from its checkpoint file (a GPT-2 folder is for "
                         "--init)%s", t->resume, "");
    if (t->resume && !t->out_given) t->out = t->resume;
    const FileRole inputs[] = {
        {n_args ? args[0] : NULL, "the training text", NULL},
        {t->resume, "the checkpoint given to --resume", "--out"},
        {t->init, "the model given to --init", NULL},
        {t->tokenizer, "the folder given to --tokenizer", NULL},
    };
    const FileRole outputs[] = {{t->out, "--out", NULL}, {t->log_csv, "--log", NULL}, {t->plot_svg, "--plot", NULL}};
    check_files(inputs, 4, outputs, 3);
}

static int run_command(int argc, char **argv) {
    keep_standard_fds_open();
    /* the ranks of an MPI job (mpirun's colon syntax can start them with different arguments) run
     * one command, or none: a rank in another command would wait forever in a collective */
    uint64_t args_hash = 0;
    for (int i = 1; i < argc; i++) args_hash = fingerprint(args_hash, argv[i], strlen(argv[i]) + 1);
    if (!dist_same_u64(args_hash)) {
        if (dist_rank() == 0)
            fprintf(stderr, "mingpt: the %d ranks of this MPI job were given different command lines; every rank "
                            "must run the same command with the same options\n", dist_size());
        dist_exit_agreed();
        return 2;
    }
    if (argc < 2) {
        if (dist_rank() == 0) fputs("usage: mingpt <command> [options] (see 'mingpt --help')\n", stderr);
        dist_exit_agreed();
        return 2;
    }
    /* a write past `ulimit -f` fails with EFBIG, which every writer reports, instead of killing
     * the process half-way through a save */
    signal(SIGXFSZ, SIG_IGN);
    const Command *commands[MAX_COMMANDS];
    int n_commands = list_commands(commands);
    const char *name = argv[1];
    if (strcmp(name, "--version") == 0) {
        printf("mingpt %s; %s\n", MINGPT_VERSION, dist_describe());
        return finish(0);
    }
    if (strcmp(name, "--man") == 0) {
        print_man(stdout, MINGPT_VERSION, commands, n_commands);
        return finish(0);
    }
    if (strcmp(name, "help") == 0 && argc >= 3) {
        /* mingpt help CMD is mingpt CMD --help */
        const Command *cmd = find_command(commands, n_commands, argv[2]);
        if (!cmd) {
            if (dist_rank() == 0) fprintf(stderr, "mingpt: unknown command '%s' (see 'mingpt --help')\n", argv[2]);
            dist_exit_agreed();
            return 2;
        }
        fputs(cmd->usage, stdout);
        return finish(0);
    }
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0 || strcmp(name, "help") == 0) {
        print_usage_main(stdout, commands, n_commands);
        return finish(0);
    }
    const Command *cmd = find_command(commands, n_commands, name);
    if (!cmd) {
        if (dist_rank() == 0) fprintf(stderr, "mingpt: unknown command '%s' (see 'mingpt --help')\n", name);
        dist_exit_agreed();
        return 2;
    }
    g_command = name;
    Options o;
    defaults(&o);
    if (cmd->defaults) cmd->defaults(&o);
    char **args;
    argv[1] = argv[0]; /* getopt sees the command as the program name */
    int n_args = parse(&o, argc - 1, argv + 1, cmd->options, cmd->usage, &args);
    if (cmd->args == ARGS_ONE && n_args != 1) usage_error("%s%s", cmd->args_error, "");
    if (cmd->args != ARGS_ONE && n_args > (cmd->args == ARGS_OPTIONAL))
        usage_error("unexpected argument '%s'%s", args[cmd->args == ARGS_OPTIONAL], "");
    char *no_args[1] = {NULL};
    if (n_args == 0) args = no_args; /* args[0] is NULL when an optional FILE is not given */
    /* what a command makes goes to stdout, except training's (the checkpoint) and plot's (the SVG) */
    int result_on_stdout = cmd->kind != CMD_TRAIN ? strcmp(name, "plot") != 0 : o.train.ask || o.train.eval_only;
    if (g_stdout_closed && result_on_stdout) {
        /* its result goes there (training's product is the checkpoint, and it goes on without) */
        fprintf(stderr, "mingpt %s: standard output is closed; the result would be lost\n", name);
        return 1;
    }
    if (cmd->kind == CMD_TOOL) return finish(cmd->run(&o, args));
    if (cmd->kind == CMD_TRAIN) check_training(&o.train, n_args, args);
    if (dist_rank() != 0) { /* rank 0 reports, logs and plots for all (see dist.h) */
        o.train.quiet = 1;
        o.train.log_csv = o.train.plot_svg = NULL;
    }
    /* a resumed run takes the settings it was saved with, where the command line does not change them */
    if (cmd->kind == CMD_TRAIN && train_settle_options(&o.train) != 0) return 1;

    /* more threads than CPUs only adds threads waiting for each other's turn on a core */
    if (o.threads > cpu_count()) {
        fprintf(stderr, "mingpt: --threads %d: this process may use %d CPU%s; using %d\n", o.threads, cpu_count(),
                cpu_count() == 1 ? "" : "s", cpu_count());
        o.threads = cpu_count();
    }
    Pool *pool = pool_create(o.threads);
    o.train.pool = o.sample.pool = o.eval.pool = pool;
    int rc;
    if (cmd->kind == CMD_TRAIN) {
        /* the product of training is the checkpoint: a reader of stdout or stderr that goes away
         * (`train ... | head`) costs the printing, never the run or its exit status */
        signal(SIGPIPE, SIG_IGN);
        rc = cmd->run(&o, args);
        if (result_on_stdout) { /* add --ask, add --eval: their answer is the product */
            rc = finish(rc);
        } else {
            fflush(stdout);
            clearerr(stdout);
        }
    } else {
        rc = finish(cmd->run(&o, args));
    }
    pool_free(pool);
    return rc;
}

int main(int argc, char **argv) {
    dist_init(&argc, &argv); /* MPI first: it may take its own arguments out of argv */
    int rc = run_command(argc, argv);
    dist_finish(rc);
    return rc;
}
