/* task_common.c — the training driver shared by the chars and add tasks (see task_common.h). */
#include "task_common.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"
#include "dist.h"
#include "files.h"
#include "hf_gpt2.h"
#include "json.h"
#include "plot.h"
#include "task_table.h"

int config_from_options(const TrainOptions *opt, int vocab_size, int block_size, GPTConfig *c) {
    memset(c, 0, sizeof *c);
    if (!gpt_preset(opt->model_type, c)) {
        fprintf(stderr, "mingpt: unknown --model '%s' (one of: %s)\n", opt->model_type, gpt_preset_names());
        return 2;
    }
    if (opt->n_layer > 0) c->n_layer = opt->n_layer;
    if (opt->n_head > 0) c->n_head = opt->n_head;
    if (opt->n_embd > 0) c->n_embd = opt->n_embd;
    c->vocab_size = vocab_size;
    c->block_size = block_size;
    c->embd_pdrop = c->resid_pdrop = c->attn_pdrop = opt->dropout;
    const char *bad = gpt_config_error(c);
    if (bad) {
        fprintf(stderr, "mingpt: bad model config (n_layer %d, n_head %d, n_embd %d, block_size %d): %s\n",
                c->n_layer, c->n_head, c->n_embd, c->block_size, bad);
        return 2;
    }
    return 0;
}

TrainConfig train_config_from_options(const TrainOptions *opt) {
    TrainConfig c = train_config_default();
    c.learning_rate = opt->lr;
    c.weight_decay = opt->weight_decay;
    c.grad_clip = opt->grad_clip;
    c.warmup_iters = opt->warmup_iters;
    c.lr_decay = opt->lr_cosine ? LR_COSINE : LR_CONSTANT;
    c.lr_decay_iters = opt->lr_decay_iters > 0 ? opt->lr_decay_iters : opt->max_iters;
    c.min_lr = opt->lr / 10.0f; /* nanoGPT's ratio */
    return c;
}

int read_whole_file(const char *path, unsigned char **data, size_t *size) {
    char err[512], *buf;
    if (read_all(path, 1, &buf, size, err, sizeof err) != 0) {
        fprintf(stderr, "mingpt: %s\n", err);
        return 1;
    }
    if (*size == 0) {
        struct stat st;
        int fifo = stat(path, &st) == 0 && S_ISFIFO(st.st_mode);
        fprintf(stderr, "mingpt: %s: the file is empty%s\n", path, fifo ? " (a FIFO with no writer?)" : "");
        free(buf);
        return 1;
    }
    *data = (unsigned char *)buf;
    return 0;
}

Tokenizer *check_gpt2_folder(const char *dir, GPTConfig *config, HfGpt2Contents *contents) {
    char err[1024];
    HfGpt2Contents found;
    if (hf_gpt2_read_config(dir, config, err, sizeof err) != 0 ||
        hf_gpt2_peek(dir, config, contents ? contents : &found, err, sizeof err) != 0) {
        fprintf(stderr, "mingpt: %s\n", err);
        return NULL;
    }
    /* the tokenizer next: it is quick to check, the weights are not */
    Tokenizer *tok = tok_bpe_load(dir, err, sizeof err);
    if (!tok) {
        fprintf(stderr, "mingpt: %s\n", err);
    } else if (tokenizer_vocab_size(tok) != config->vocab_size) {
        fprintf(stderr, "mingpt: %s: config.json has vocab_size %d but the tokenizer has %d tokens\n", dir,
                config->vocab_size, (int)tokenizer_vocab_size(tok));
        tokenizer_free(tok);
        tok = NULL;
    }
    return tok;
}

void report_nonfinite(const char *path, const GPT *m, const char *what) {
    float largest;
    const char *name = gpt_largest_weight(m, &largest);
    char where[160] = "";
    if (name && isnan(largest)) snprintf(where, sizeof where, " (%s holds NaN)", name);
    else if (name) snprintf(where, sizeof where, " (its largest weight, %.3g, is in %s)", (double)largest, name);
    fprintf(stderr, "mingpt: %s: %s, not finite: the model's numbers overflow%s; it cannot be used\n", path, what,
            where);
}

int check_checkpoint_exists(const char *path, const char *make_one) {
    struct stat st;
    if (stat(path, &st) == 0 || errno != ENOENT) return 0; /* other problems: the loader says */
    fprintf(stderr, "mingpt: %s: no checkpoint there; train one first (%s) or name one with --ckpt\n", path,
            make_one);
    return 1;
}

/* ---------------------------------------------------------------- the run's settings */

/* How a run trains, kept in its checkpoints so that --resume goes on the same way without every
 * flag said again (nanoGPT's resume reads its config file again; here the checkpoint is the
 * config). Most are task entries "train.KEY" (KEY is the flag's name with '_' for '-'); dropout and
 * the validation fraction are in every checkpoint already (embd_pdrop, val_frac). The model's shape,
 * vocabulary and block_size belong to the model and cannot change on resume at all. */
typedef enum { SET_FLOAT, SET_INT, SET_LONG, SET_SEED, SET_LR_DECAY, SET_ACCUM } SettingKind;
typedef enum { IN_ENTRY, IN_DROPOUT, IN_VAL_FRAC } SettingPlace;

typedef struct {
    const char *key;
    int id;             /* the option (task_table.h) */
    SettingKind kind;
    SettingPlace place;
    size_t offset;      /* of the value in TrainOptions */
    double lo, hi;      /* what the command line takes (main.c); hi_open: dropout and val_frac */
} Setting;

#define SETTING(key, id, kind, field, lo, hi) {key, id, kind, IN_ENTRY, offsetof(TrainOptions, field), lo, hi}
#define BIG (double)(1L << 40)

static const Setting SETTINGS[] = {
    SETTING("lr", OPT_LR, SET_FLOAT, lr, 0.0, 10.0),
    SETTING("lr_decay", OPT_LR_DECAY, SET_LR_DECAY, lr_cosine, 0, 1),
    SETTING("lr_decay_iters", OPT_LR_DECAY_ITERS, SET_LONG, lr_decay_iters, 1, BIG),
    SETTING("warmup_iters", OPT_WARMUP, SET_LONG, warmup_iters, 0, BIG),
    SETTING("batch_size", OPT_BATCH_SIZE, SET_INT, batch_size, 1, 1 << 16),
    /* kept as the micro-batches of a step in all (--accum times the MPI ranks), so that a run goes on
     * with the same batch on another rank count: R ranks of K give the bits of one process of R·K */
    SETTING("accum", OPT_ACCUM, SET_ACCUM, accum, 1, 1 << 30),
    SETTING("weight_decay", OPT_WEIGHT_DECAY, SET_FLOAT, weight_decay, 0.0, 10.0),
    SETTING("grad_clip", OPT_GRAD_CLIP, SET_FLOAT, grad_clip, 0.0, 1e6),
    SETTING("eval_every", OPT_EVAL_EVERY, SET_LONG, eval_every, 1, BIG),
    SETTING("log_every", OPT_LOG_EVERY, SET_LONG, log_every, 1, BIG),
    SETTING("sample_len", OPT_SAMPLE_LEN, SET_LONG, sample_len, 0, 1e8),
    SETTING("seed", OPT_SEED, SET_SEED, seed, 0, 0),
    {"dropout", OPT_DROPOUT, SET_FLOAT, IN_DROPOUT, offsetof(TrainOptions, dropout), 0.0, 1.0},
    {"val_frac", OPT_VAL_FRAC, SET_FLOAT, IN_VAL_FRAC, offsetof(TrainOptions, val_frac), 0.0, 1.0},
};
#define N_SETTINGS (sizeof SETTINGS / sizeof *SETTINGS)

/* "--lr-decay-iters" for lr_decay_iters */
static const char *setting_flag(const Setting *s, char *out, size_t size) {
    snprintf(out, size, "--%s", s->key);
    for (char *c = out; *c; c++)
        if (*c == '_') *c = '-';
    return out;
}

static void *setting_field(const Setting *s, TrainOptions *opt) { return (char *)opt + s->offset; }

static size_t setting_size(const Setting *s) {
    return s->kind == SET_FLOAT ? sizeof(float) : s->kind == SET_LONG ? sizeof(long)
         : s->kind == SET_SEED ? sizeof(uint64_t) : sizeof(int);
}

/* The value as text: exact (%.9g round-trips a float) for the checkpoint, short for people. */
static const char *setting_text(const Setting *s, const TrainOptions *opt, int exact, char *out, size_t size) {
    const void *v = (const char *)opt + s->offset;
    switch (s->kind) {
    case SET_FLOAT: snprintf(out, size, exact ? "%.9g" : "%g", (double)*(const float *)v); break;
    case SET_INT: snprintf(out, size, "%d", *(const int *)v); break;
    case SET_LONG: snprintf(out, size, "%ld", *(const long *)v); break;
    case SET_SEED: snprintf(out, size, "%" PRIu64, *(const uint64_t *)v); break;
    case SET_LR_DECAY: snprintf(out, size, "%s", *(const int *)v ? "cosine" : "none"); break;
    case SET_ACCUM: snprintf(out, size, "%d", *(const int *)v * (exact ? dist_size() : 1)); break;
    }
    return out;
}

/* Reads text into s's field of opt, checked as the command line checks the flag. Returns 0 or -1. */
static int setting_parse(const Setting *s, const char *text, TrainOptions *opt) {
    void *v = setting_field(s, opt);
    char *end;
    errno = 0;
    if (s->kind == SET_LR_DECAY) {
        if (strcmp(text, "none") != 0 && strcmp(text, "cosine") != 0) return -1;
        *(int *)v = strcmp(text, "cosine") == 0;
        return 0;
    }
    if (!(text[0] >= '0' && text[0] <= '9')) return -1; /* no sign, no space: a flag's own form */
    if (s->kind == SET_SEED) {
        unsigned long long x = strtoull(text, &end, 10);
        if (errno || *end) return -1;
        *(uint64_t *)v = (uint64_t)x;
        return 0;
    }
    double x = strtod(text, &end);
    int open_hi = s->place != IN_ENTRY; /* probabilities: [0, 1) */
    if (errno || *end || !isfinite(x) || x < s->lo || x > s->hi || (open_hi && x >= s->hi)) return -1;
    if (s->kind != SET_FLOAT && x != floor(x)) return -1;
    if (s->kind == SET_ACCUM) /* the step's micro-batches in all, dealt out to the ranks (each runs one at least) */
        x = ceil(x / dist_size());
    if (s->kind == SET_FLOAT) *(float *)v = (float)x;
    else if (s->kind == SET_INT || s->kind == SET_ACCUM) *(int *)v = (int)x;
    else *(long *)v = (long)x;
    return 0;
}

/* The checkpoint's value of s as text, or NULL if it has none. */
static const char *setting_saved(const Setting *s, const CkptMeta *meta, const GPTConfig *c, char *buf, size_t size) {
    if (s->place == IN_DROPOUT) return snprintf(buf, size, "%.9g", (double)c->embd_pdrop), buf;
    if (s->place == IN_VAL_FRAC) return meta->has_val_frac ? (snprintf(buf, size, "%.9g", (double)meta->val_frac), buf) : NULL;
    char key[64];
    snprintf(key, sizeof key, "train.%s", s->key);
    return ckpt_meta_get(meta, key, NULL);
}

/* Appends printf's text to what out (size bytes) holds. */
MG_PRINTF(3, 4) static void append_text(char *out, size_t size, const char *fmt, ...) {
    size_t used = strlen(out);
    va_list ap;
    va_start(ap, fmt);
    if (used < size) vsnprintf(out + used, size - used, fmt, ap);
    va_end(ap);
}

/* --resume: the checkpoint's settings for every flag the command line left out, and notes on them
 * in opt->resume_note. Returns 0, or 1 after saying which setting of the file is damaged. */
static int resume_settings(TrainOptions *opt) {
    GPTConfig c;
    CkptMeta meta;
    char err[512], flag[32], old_s[48], new_s[48], kept[512] = "", *note = opt->resume_note;
    size_t note_size = sizeof opt->resume_note;
    note[0] = '\0';
    if (task_peek_checkpoint(opt->resume, &c, &meta, err, sizeof err) != 0) return 0; /* the command says why */
    int recorded = 0;
    for (size_t i = 0; i < N_SETTINGS; i++) {
        const Setting *s = &SETTINGS[i];
        char buf[48];
        const char *saved = setting_saved(s, &meta, &c, buf, sizeof buf);
        if (!saved) continue;
        recorded |= s->place == IN_ENTRY;
        TrainOptions was = *opt;
        setting_flag(s, flag, sizeof flag);
        if (setting_parse(s, saved, &was) != 0) {
            if (opt->given & OPT_BIT(s->id)) continue; /* replaced anyway */
            char shown[64];
            fprintf(stderr, "mingpt: %s: metadata \"train.%s\" = \"%s\" is not a value %s takes (give %s to set it)\n",
                    opt->resume, s->key, json_printable(saved, strlen(saved), shown, sizeof shown), flag, flag);
            ckpt_meta_free(&meta);
            return 1;
        }
        int same = memcmp(setting_field(s, &was), setting_field(s, opt), setting_size(s)) == 0;
        if (opt->given & OPT_BIT(s->id)) {
            if (!same)
                append_text(note, note_size, "%s: %s -> %s (the command line changes the resumed run's setting)\n",
                            flag, setting_text(s, &was, 0, old_s, sizeof old_s),
                            setting_text(s, opt, 0, new_s, sizeof new_s));
            continue;
        }
        memcpy(setting_field(s, opt), setting_field(s, &was), setting_size(s));
        if (!same) append_text(kept, sizeof kept, " %s %s", flag, setting_text(s, opt, 0, new_s, sizeof new_s));
        long total = s->kind == SET_ACCUM ? strtol(saved, NULL, 10) : 0;
        if (total % dist_size() != 0) /* more ranks than it had micro-batches, or not a multiple */
            append_text(note, note_size, "--accum: the resumed run summed %ld micro-batch%s a step; its %d ranks run "
                        "%d each, %d in all\n", total, total == 1 ? "" : "es", dist_size(), opt->accum,
                        opt->accum * dist_size());
    }
    if (!recorded)
        append_text(note, note_size, "%s holds no training settings (saved by an older mingpt or another "
                    "program): the flags left out take their defaults\n", opt->resume);
    else if (kept[0])
        append_text(note, note_size, "the resumed run's settings (flags left out take these, not the defaults):%s\n",
                    kept);
    /* extending a cosine run does not stretch its schedule (nanoGPT's lr_decay_iters): say so */
    if (opt->lr_cosine && opt->lr_decay_iters > 0 && opt->max_iters > opt->lr_decay_iters && meta.step < opt->max_iters)
        append_text(note, note_size, "the cosine schedule ends at step %ld (--lr-decay-iters): steps after it train "
                    "at lr %g; give --lr-decay-iters %ld to stretch it to --max-iters\n",
                    opt->lr_decay_iters, (double)opt->lr / 10.0, opt->max_iters);
    ckpt_meta_free(&meta);
    return 0;
}

int describe_settings(const CkptMeta *meta, char *out, size_t size) {
    out[0] = '\0';
    int n = 0;
    for (size_t i = 0; i < N_SETTINGS; i++) {
        const Setting *s = &SETTINGS[i];
        if (s->place != IN_ENTRY) continue;
        char key[64], flag[32], value[64];
        size_t len;
        snprintf(key, sizeof key, "train.%s", s->key);
        const char *saved = ckpt_meta_get(meta, key, &len);
        if (!saved) continue;
        TrainOptions parsed = {0};
        if (setting_parse(s, saved, &parsed) == 0) setting_text(s, &parsed, 0, value, sizeof value);
        else json_printable(saved, len, value, sizeof value); /* (a damaged one: --resume says so) */
        append_text(out, size, " %s %s", setting_flag(s, flag, sizeof flag), value);
        n++;
    }
    return n;
}

int train_settle_options(TrainOptions *opt) {
    if (opt->resume && resume_settings(opt) != 0) return 1;
    if (opt->lr_decay_iters == 0) opt->lr_decay_iters = opt->max_iters;
    return 0;
}

/* Records opt's settings in meta as "train.KEY" entries, beside the task's name where a reader of
 * the header sees them; a constant learning rate has no decay length. */
static void store_settings(CkptMeta *meta, const TrainOptions *opt) {
    for (size_t i = 0; i < N_SETTINGS; i++) {
        const Setting *s = &SETTINGS[i];
        if (s->place != IN_ENTRY) continue;
        char key[64], value[48];
        snprintf(key, sizeof key, "train.%s", s->key);
        if (s->id == OPT_LR_DECAY_ITERS && !opt->lr_cosine) {
            ckpt_meta_unset(meta, key);
            continue;
        }
        setting_text(s, opt, 1, value, sizeof value);
        ckpt_meta_set(meta, key, value, strlen(value), CKPT_BESIDE_TASK);
    }
}

static void on_file_progress(void *ctx, size_t bytes, size_t total) {
    FileStatus *fs = ctx;
    fs->done += (double)bytes;
    fs->total = (double)total;
    if (!status_due(&fs->status)) return;
    char detail[64];
    format_bytes_of(fs->done, fs->total, detail, sizeof detail);
    status_update(&fs->status, detail);
}

void file_status_begin(FileStatus *fs, Term *term, const char *verb, const char *path) {
    char what[sizeof fs->status.what];
    snprintf(what, sizeof what, "%s %s", verb, path);
    status_begin(&fs->status, term, what);
    fs->done = fs->total = 0;
    st_set_progress(on_file_progress, fs);
}

void file_status_end(FileStatus *fs) {
    st_set_progress(NULL, NULL);
    char done[32];
    format_bytes(fs->done, done, sizeof done);
    status_end(&fs->status, done);
}

/* The program itself besides the buffers counted below: its code, libc, the threads' stacks in use,
 * the tokenizer, a save's header and small tables (a gpt-nano run on 20 kB of characters peaked at
 * 4.5 MB; a GPT-2 fine-tune held 13 MiB more than the buffers counted, with GPT-2's tokenizer and
 * the vocabulary its checkpoint carries). */
#define PROGRAM_BYTES ((size_t)16 << 20)

/* What a run of a model of config holds at its peak at batch B: the model's buffers, the
 * optimizer's, the task's data and the program. */
static size_t run_bytes(const TrainRun *run, const GPTConfig *c, int B) {
    const TrainOptions *opt = run->opt;
    size_t bytes = gpt_train_bytes(c, (size_t)B, (size_t)run->T, pool_size(opt->pool));
    bytes += trainer_bytes(c, opt->accum, (size_t)B, (size_t)run->T);
    return bytes + run->data_bytes + PROGRAM_BYTES;
}

static void describe(const TrainRun *run) {
    const GPT *m = run->model;
    const GPTConfig *c = &m->config;
    char total[32], fixed[32], passes[48] = "";
    format_bytes((double)run_bytes(run, c, run->B), total, sizeof total);
    format_bytes(4.0 * (double)m->num_params * sizeof(float), fixed, sizeof fixed); /* params, grads, m, v */
    if (run->opt->accum > 1) snprintf(passes, sizeof passes, " (%d passes a step)", run->opt->accum);
    fprintf(stderr,
            "model: %d layers, %d heads, n_embd %d, block_size %d, vocab %d; number of parameters: "
            "%.2fM; memory: %s at batch %d%s (%s weights+optimizer, the rest activations and buffers); "
            "%d thread%s\n",
            c->n_layer, c->n_head, c->n_embd, c->block_size, c->vocab_size,
            (double)gpt_num_params_mingpt(m) / 1e6, total, run->B, passes, fixed, pool_size(m->pool),
            pool_size(m->pool) == 1 ? "" : "s");
}

/* --model, --n-layer, --n-head and --n-embd describe a new model; on resume they may only repeat
 * the checkpoint's shape. Returns 0, or prints what disagrees and returns 2. */
static int check_resumed_shape(const TrainOptions *opt, const GPTConfig *have) {
    GPTConfig want = *have;
    if (opt->model_given) CHECK(gpt_preset(opt->model_type, &want));
    if (opt->n_layer > 0) want.n_layer = opt->n_layer;
    if (opt->n_head > 0) want.n_head = opt->n_head;
    if (opt->n_embd > 0) want.n_embd = opt->n_embd;
    if (want.n_layer == have->n_layer && want.n_head == have->n_head && want.n_embd == have->n_embd) return 0;
    fprintf(stderr,
            "mingpt: %s: holds a model of %d layers, %d heads, n_embd %d; the command line asks for %d, %d, %d "
            "(a resumed model keeps its shape: drop --model/--n-layer/--n-head/--n-embd)\n",
            opt->resume, have->n_layer, have->n_head, have->n_embd, want.n_layer, want.n_head, want.n_embd);
    return 2;
}

/* Refuses a run that would not fit in the memory this process can still get (run_bytes), before
 * allocating any of it. loading: what loading holds besides the new model's weights and gradients
 * (--init: the source model), before the optimizer's buffers exist. Returns 0, or prints why and
 * returns 1. */
static int check_memory(const TrainRun *run, const GPTConfig *c, size_t loading, const char *name) {
    const char *limit;
    size_t have = memory_available(&limit);
    size_t need = run_bytes(run, c, run->B);
    if (loading)
        need = MG_MAX(need, xmul_size(gpt_count_params(c), 2 * sizeof(float)) + loading + run->data_bytes + PROGRAM_BYTES);
    if (!have || need <= have) return 0;
    char need_s[32], have_s[32], hint[96];
    format_bytes((double)need, need_s, sizeof need_s);
    format_bytes((double)have, have_s, sizeof have_s);
    int lo = 0, hi = run->B - 1; /* the largest batch that fits: the need grows with the batch */
    while (lo < hi) {
        int mid = lo + (hi - lo + 1) / 2;
        if (run_bytes(run, c, mid) <= have) lo = mid;
        else hi = mid - 1;
    }
    if (lo >= 1) snprintf(hint, sizeof hint, "try --batch-size %d", lo);
    else snprintf(hint, sizeof hint, "try a smaller model");
    fprintf(stderr,
            "mingpt: %s at batch %d x %d needs %s (weights, gradients, AdamW moments, activations); %s %s; %s\n",
            name, run->B, run->T, need_s, have_s, limit, hint);
    return 1;
}

/* --init SRC: SRC's weights (a GPT-2 folder or a mingpt checkpoint) in a new trainable model of
 * config, which is SRC's with dropout from the options and perhaps fewer positions (block_size):
 * the first block_size rows of wpe are kept, as nanoGPT's crop_block_size does. Returns NULL after
 * printing why. */
static GPT *load_init(const char *src, const GPTConfig *config, const TrainOptions *opt, Term *term) {
    char err[1024];
    CkptMeta meta = {0};
    FileStatus fs;
    file_status_begin(&fs, term, "loading", src);
    GPT *from = hf_gpt2_is_folder(src) ? hf_gpt2_load(src, opt->pool, NULL, err, sizeof err)
                                       : task_load_checkpoint(src, opt->pool, &meta, NULL, NULL, err, sizeof err);
    file_status_end(&fs);
    ckpt_meta_free(&meta);
    if (!from) {
        fprintf(stderr, "mingpt: %s\n", err);
        return NULL;
    }
    GPT *m = gpt_clone(from, config);
    gpt_free(from);
    Rng rng; /* a fresh run's dropout stream, as gpt_init would seed it */
    rng_seed(&rng, opt->seed);
    m->dropout_seed = rng_u64(&rng);
    m->pass = 0;
    return m;
}

/* 0 if meta, read from path, is a checkpoint of task; else prints why not, frees meta and returns 1. */
static int refuse_other_task(const char *path, CkptMeta *meta, const char *task) {
    if (strcmp(meta->task, task) == 0) return 0;
    fprintf(stderr, "mingpt: %s: a checkpoint of task '%s', not '%s'\n", path, meta->task, task);
    ckpt_meta_free(meta);
    return 1;
}

/* A run without --out or --resume saves at the command's default path, where the model of an
 * earlier run may be. Re-running the same run replaces it; a model of another task, shape or
 * vocabulary (any of the task's entries in run->meta, set before train_setup) is not replaced
 * without a word. Returns 0, or prints what is there and returns 1. */
static int check_default_out(const TrainRun *run, const GPTConfig *config, const char *task) {
    const TrainOptions *opt = run->opt;
    struct stat st;
    if (opt->out_given || opt->resume || stat(opt->out, &st) != 0) return 0;
    GPTConfig have;
    CkptMeta meta;
    char err[512], what[256] = "";
    if (ckpt_peek(opt->out, &have, &meta, err, sizeof err) != 0) {
        snprintf(what, sizeof what, "a file that is not a mingpt checkpoint");
    } else {
        if (strcmp(meta.task, task) != 0)
            snprintf(what, sizeof what, "a model of task '%s' (this run: '%s')", meta.task, task);
        else if (have.n_layer != config->n_layer || have.n_head != config->n_head || have.n_embd != config->n_embd ||
                 have.block_size != config->block_size)
            snprintf(what, sizeof what, "a model of %d layers, %d heads, n_embd %d, block_size %d (this run: %d, %d, "
                     "%d, %d)", have.n_layer, have.n_head, have.n_embd, have.block_size, config->n_layer,
                     config->n_head, config->n_embd, config->block_size);
        for (int i = 0; !what[0] && i < run->meta.n_entries; i++) {
            const StMeta *e = &run->meta.entries[i];
            size_t len;
            const char *theirs = ckpt_meta_get(&meta, e->key, &len);
            if (strncmp(e->key, "train.", 6) != 0 && (!theirs || len != e->len || memcmp(theirs, e->value, len) != 0))
                snprintf(what, sizeof what, "a model with another %s", strcmp(e->key, "vocab") == 0 ||
                         strcmp(e->key, "merges") == 0 ? "vocabulary" : e->key);
        }
        if (!what[0] && have.vocab_size != config->vocab_size)
            snprintf(what, sizeof what, "a model with a vocabulary of %d (this run: %d)", have.vocab_size,
                     config->vocab_size);
        ckpt_meta_free(&meta);
    }
    if (!what[0]) return 0;
    fprintf(stderr, "mingpt: %s holds %s, from another run; to keep it, give this run --out PATH; to replace it, "
                    "give --out %s\n", opt->out, what, opt->out);
    return 1;
}

int train_setup(TrainRun *run, const GPTConfig *config, const char *task) {
    const TrainOptions *opt = run->opt;
    char werr[512], name[96];
    term_init(&run->term, opt->quiet); /* for the status of a long load */
    if (ckpt_check_writable(opt->out, werr, sizeof werr) != 0) {
        fprintf(stderr, "mingpt: %s\n", werr);
        return 1;
    }
    if (check_default_out(run, config, task) != 0) return 1;
    TrainConfig tc = train_config_from_options(opt);
    rng_seed(&run->data_rng, opt->seed ^ 0x5EEDDA7Aull);
    if (opt->resume) {
        char err[512];
        CkptMeta loaded;
        GPTConfig have;
        if (task_peek_checkpoint(opt->resume, &have, &loaded, err, sizeof err) != 0) {
            fprintf(stderr, "mingpt: %s\n", err);
            return 1;
        }
        if (refuse_other_task(opt->resume, &loaded, task)) return 1;
        if (run->resumed_T) run->T = run->resumed_T(&loaded);
        ckpt_meta_free(&loaded);
        int rc = check_resumed_shape(opt, &have);
        snprintf(name, sizeof name, "the model in %s", opt->resume);
        /* (the loader releases the file's pages as it copies them) */
        if (rc == 0) rc = check_memory(run, &have, 0, name);
        if (rc != 0) return rc;
        FileStatus fs;
        file_status_begin(&fs, &run->term, "loading", opt->resume);
        run->model = task_load_checkpoint(opt->resume, opt->pool, &loaded, &run->tr, &tc, err, sizeof err);
        file_status_end(&fs);
        if (!run->model) {
            fprintf(stderr, "mingpt: %s\n", err);
            return 1;
        }
        if (refuse_other_task(opt->resume, &loaded, task)) { /* (the file changed since it was peeked) */
            trainer_free(&run->tr);
            gpt_free(run->model);
            run->model = NULL;
            return 1;
        }
        if (opt->dropout_given) { /* dropout has no weights: it may change between runs */
            GPTConfig *c = &run->model->config;
            c->embd_pdrop = c->resid_pdrop = c->attn_pdrop = opt->dropout;
        }
        if (loaded.has_data_rng) run->data_rng = loaded.data_rng;
        if (!opt->quiet)
            fprintf(stderr, "resuming from %s at step %ld%s\n%s", opt->resume, run->tr.step,
                    run->tr.step == 0 ? " (no optimizer state: the optimizer starts fresh)" : "", opt->resume_note);
        ckpt_meta_free(&run->meta);
        run->meta = loaded;
    } else if (run->init_from) {
        snprintf(name, sizeof name, "the model in %s", run->init_from);
        /* the source, loaded as an inference model, is held while it is copied */
        if (check_memory(run, config, xmul_size(gpt_count_params(config), sizeof(float)), name) != 0) return 1;
        if (!(run->model = load_init(run->init_from, config, opt, &run->term))) return 1;
        trainer_init(&run->tr, run->model, &tc);
        if (!opt->quiet) fprintf(stderr, "starting from the weights of %s (the optimizer starts fresh)\n", run->init_from);
    } else {
        if (opt->n_layer || opt->n_head || opt->n_embd)
            snprintf(name, sizeof name, "a model of %d layers, %d heads, n_embd %d", config->n_layer, config->n_head,
                     config->n_embd);
        else
            snprintf(name, sizeof name, "%s", opt->model_type);
        if (check_memory(run, config, 0, name) != 0) return 1;
        run->model = gpt_create(config, opt->pool);
        gpt_init(run->model, opt->seed);
        trainer_init(&run->tr, run->model, &tc);
    }
    store_settings(&run->meta, opt);
    if (!opt->quiet) describe(run);
    return 0;
}

int train_save(TrainRun *run, const char *then) {
    char err[512];
    run->meta.has_data_rng = 1;
    run->meta.data_rng = run->data_rng;
    run->meta.step = run->tr.step;
    FileStatus fs;
    file_status_begin(&fs, &run->term, "saving", run->opt->out);
    int rc = ckpt_save(run->opt->out, run->model, &run->tr, &run->meta, err, sizeof err);
    file_status_end(&fs);
    if (rc != 0) {
        /* st_write never touches the old file, so it still holds the last good model */
        fprintf(stderr, "mingpt: step %ld: could not save: %s; %s is left as it was%s\n", run->tr.step, err,
                run->opt->out, then);
        run->save_failed = 1;
        return 1;
    }
    run->saved = 1;
    run->save_failed = 0;
    return 0;
}

typedef struct {
    TrainRun *run;
    int rc;
} LoopState;

static void trampoline_batch(void *ctx, int *idx, int *targets, int B, int T) {
    TrainRun *run = ((LoopState *)ctx)->run;
    CHECK(B == run->B && T == run->T);
    run->next_batch(run, idx, targets);
}

/* SIGINT/SIGTERM/SIGHUP during training: the first lets the current step finish, saves (or, for a
 * task that keeps only its best model, evaluates and saves if better) and exits 130; a second exits
 * at once, never touching the checkpoint (saves are atomic anyway). */
static volatile sig_atomic_t g_interrupts;

static void on_interrupt(int sig) {
    (void)sig;
    if (++g_interrupts >= 2) {
        static const char msg[] = "\nmingpt: interrupted again, exiting without saving\n";
        ssize_t ignored = write(STDERR_FILENO, msg, sizeof msg - 1);
        (void)ignored;
        _exit(130);
    }
}

/* Tokens in one optimizer step: --accum passes of (B,T) on each rank. */
static double step_tokens(const TrainRun *run) { return (double)run->opt->accum * dist_size() * run->B * run->T; }

/* The last line of a run: how far, how fast, the best result, and where the model is. */
static void print_summary(TrainRun *run, int interrupted) {
    const TrainOptions *opt = run->opt;
    long steps = run->tr.step - run->step_start;
    double per_iter = steps > 0 ? run->train_time / (double)steps : 0.0;
    char took[32], head[96], speed[128] = "", saved[600];
    format_duration(now_seconds() - run->t_start, took, sizeof took);
    if (interrupted) snprintf(head, sizeof head, "interrupted at step %ld after %s", run->tr.step, took);
    else snprintf(head, sizeof head, "done: step %ld in %s", run->tr.step, took);
    if (steps > 0)
        snprintf(speed, sizeof speed, " (%.1f ms/iter, %.0f tok/s, %.1f GFLOP/s)", per_iter * 1e3,
                 step_tokens(run) / per_iter, run->flops_per_token * step_tokens(run) / per_iter / 1e9);
    if (run->saved && interrupted)
        snprintf(saved, sizeof saved, "saved %s (continue with --resume %s)", opt->out, opt->out);
    else if (run->saved) snprintf(saved, sizeof saved, "saved %s", opt->out);
    else snprintf(saved, sizeof saved, "no checkpoint written");
    char painted[160];
    term_clear(&run->term);
    fprintf(stderr, "%s%s; %s%s%s\n", term_paint(&run->term, "1", head, painted, sizeof painted), speed,
            run->best_text[0] ? run->best_text : "", run->best_text[0] ? "; " : "", saved);
}

/* The time left, from the average wall time per step so far (evaluations included); "" when
 * there is nothing to go on or nothing left. */
static void eta_text(const TrainRun *run, double now, char *out, size_t size) {
    long done = run->tr.step - run->step_start, left = run->opt->max_iters - run->tr.step;
    out[0] = '\0';
    if (done > 0 && left > 0) format_duration((now - run->t_start) / (double)done * (double)left, out, size);
}

/* The status line on a terminal: step and a bar, smoothed loss, the last evaluation, the time
 * left, speed, learning rate, time so far; what matters most first, as a narrow terminal drops
 * the last fields. */
static void draw_status(TrainRun *run, double now) {
    const TrainOptions *opt = run->opt;
    long step = run->tr.step;
    double frac = opt->max_iters > 0 ? (double)step / (double)opt->max_iters : 0.0;
    char f[9][80], left[32], elapsed[32];
    const char *fields[9];
    int n = 0;
    char bar[11];
    int fill = (int)(frac * 10.0); /* a full bar only at the end */
    for (int i = 0; i < 10; i++) bar[i] = i < fill ? '#' : '.';
    bar[10] = '\0';
    snprintf(f[n++], sizeof f[0], "step %ld/%ld [%s] %.0f%%", step, opt->max_iters, bar, floor(100.0 * frac));
    snprintf(f[n++], sizeof f[0], "loss %.4f", run->ema_loss);
    if (run->eval_text[0]) term_paint(&run->term, "33", run->eval_text, f[n++], sizeof f[0]);
    eta_text(run, now, left, sizeof left);
    if (left[0]) snprintf(f[n++], sizeof f[0], "ETA %s", left);
    snprintf(f[n++], sizeof f[0], "%.1f ms/it", run->ema_dt * 1e3);
    snprintf(f[n++], sizeof f[0], "%.0f tok/s", step_tokens(run) / run->ema_dt);
    snprintf(f[n++], sizeof f[0], "%.1f GFLOP/s", run->flops_per_token * step_tokens(run) / run->ema_dt / 1e9);
    snprintf(f[n++], sizeof f[0], "lr %.1e", run->tr.lr);
    format_duration(now - run->t_start, elapsed, sizeof elapsed);
    snprintf(f[n++], sizeof f[0], "%s elapsed", elapsed);
    for (int i = 0; i < n; i++) fields[i] = f[i];
    term_status(&run->term, fields, n);
    run->t_draw = now;
}

/* A bias-corrected moving average (0.9), like Adam's moments: avg is the corrected average of the
 * first count - 1 values, x the count-th. */
static double ema_update(double avg, double x, long count) {
    if (count == 1) return x;
    double keep = pow(0.9, (double)count); /* 0.9^count; the raw average was avg·(1 - keep/0.9) */
    return (0.9 * avg * (1 - keep / 0.9) + 0.1 * x) / (1 - keep);
}

static int after_step_main(void *ctx, Trainer *tr, GPT *model) {
    LoopState *st = ctx;
    TrainRun *run = st->run;
    const TrainOptions *opt = run->opt;
    (void)model;
    double now = now_seconds(), dt = now - run->t_prev;
    if (!isfinite(tr->loss) || !isfinite(tr->grad_norm)) {
        /* the weights in memory are spoiled; the last checkpoint on disk is not */
        char loss[32], norm[32];
        snprintf(loss, sizeof loss, isnan(tr->loss) ? "NaN" : "%g", tr->loss);
        snprintf(norm, sizeof norm, isnan(tr->grad_norm) ? "NaN" : "%g", tr->grad_norm);
        term_clear(&run->term);
        fprintf(stderr, "mingpt: step %ld: the loss is %s and the gradient norm %s; training stopped, %s left as it was\n",
                tr->step, loss, norm, opt->out);
        st->rc = 1;
        return 1;
    }
    run->train_time += dt;
    run->loss_sum += tr->loss;
    run->time_sum += dt;
    run->loss_count++;
    run->ema_count++;
    run->ema_loss = ema_update(run->ema_loss, tr->loss, run->ema_count);
    run->ema_dt = ema_update(run->ema_dt, dt, run->ema_count);
    if (g_interrupts) {
        int save = 1;
        if (run->keeps_best) { /* the file holds the best model so far: only a better one replaces it */
            term_clear(&run->term);
            run->evaluate(run, 1, &save);
        }
        if (save && train_save(run, "") != 0) {
            st->rc = 1;
            return 1;
        }
        print_summary(run, 1);
        st->rc = 130;
        return 1;
    }
    long step = tr->step;
    int final = opt->max_iters > 0 && step >= opt->max_iters;
    int eval_now = final || (opt->eval_every > 0 && step % opt->eval_every == 0);
    /* a plain progress line at these steps; a log row at them and at every evaluation */
    int line_now = step == 1 || final || (opt->log_every > 0 && step % opt->log_every == 0);
    int log_now = line_now || eval_now;
    LogRow row = {0};
    if (log_now) {
        double per_iter = run->time_sum / (double)run->loss_count;
        row = (LogRow){step, run->time_offset + (now - run->t_start), run->loss_sum / (double)run->loss_count, NAN,
                       tr->lr, step_tokens(run) / per_iter};
        /* plain lines where \r would not work: a pipe, a file, CI */
        if (line_now && !run->term.tty && !opt->quiet) {
            char elapsed[32], left[32], eta[48] = "";
            format_duration(now - run->t_start, elapsed, sizeof elapsed);
            eta_text(run, now, left, sizeof left);
            if (left[0]) snprintf(eta, sizeof eta, ", ETA %s", left);
            char comm[64] = "";
            if (dist_size() > 1) /* the gradients' sum across the ranks, per step */
                snprintf(comm, sizeof comm, " (%.1f in the all-reduce of %d ranks)",
                         (dist_comm_seconds() - run->comm_prev) / (double)run->loss_count * 1e3, dist_size());
            run->comm_prev = dist_comm_seconds();
            fprintf(stderr, "iter %ld/%ld: loss %.4f, lr %.2e, %.1f ms/iter%s, %.0f tok/s, %.1f GFLOP/s, %s%s\n", step,
                    opt->max_iters, row.train_loss, tr->lr, per_iter * 1e3, comm, row.tokens_per_s,
                    run->flops_per_token * row.tokens_per_s / 1e9, elapsed, eta);
        }
        run->loss_sum = run->time_sum = 0.0;
        run->loss_count = 0;
    }
    int stop = 0;
    if (eval_now) {
        int save = 0;
        term_clear(&run->term);
        run->eval_loss = NAN;
        stop = run->evaluate(run, final, &save);
        row.val_loss = run->eval_loss;
        if (run->meta.has_val_loss && !isfinite(run->meta.val_loss)) {
            /* finite training loss, non-finite validation loss: the weights have blown up somewhere */
            fprintf(stderr, "mingpt: step %ld: the validation loss is %s; training stopped, %s left as it was\n",
                    tr->step, isnan(run->meta.val_loss) ? "NaN" : "infinite", opt->out);
            st->rc = 1;
            return 1;
        }
        /* a failed save mid-run (a full disk, say) is not the end: the model is still in memory */
        if (save && train_save(run, final || stop ? "" : "; training goes on and saves again at the next "
                                                           "evaluation") != 0 && (final || stop)) {
            st->rc = 1;
            return 1;
        }
    }
    if (log_now) {
        runlog_add(&run->history, &row);
        if (run->log_fp && runlog_write_row(run->log_fp, &row) != 0) {
            term_clear(&run->term);
            fprintf(stderr, "mingpt: %s: cannot write the log: %s; training goes on without it\n", opt->log_csv,
                    strerror(errno));
            fclose(run->log_fp);
            run->log_fp = NULL;
        }
    }
    if (eval_now && opt->plot_svg) {
        char err[512];
        if (plot_svg(opt->plot_svg, &run->history, run->title, opt->log_scale, err, sizeof err) != 0)
            fprintf(stderr, "mingpt: %s; training goes on\n", err);
    }
    if (run->term.tty && (log_now || now - run->t_draw >= 0.1)) draw_status(run, now);
    /* evaluation, saving and drawing are not training time */
    run->t_prev = now_seconds();
    return stop;
}

/* After every step: rank 0 (the only rank of a run without MPI) reports, evaluates and saves, and
 * every rank stops when it says so. A signal to any rank reaches rank 0 first, so that it stops the
 * job as Ctrl-C stops one process: saved, exit 130 on every rank. */
static int after_step(void *ctx, Trainer *tr, GPT *model) {
    int interrupted = g_interrupts > 0;
    dist_max_int(&interrupted);
    if (interrupted && !g_interrupts) g_interrupts = 1;
    int stop = dist_rank() == 0 ? after_step_main(ctx, tr, model) : 0;
    dist_broadcast_int(&stop);
    return stop;
}

/* --log: a resumed run keeps the log's rows up to the checkpoint's step (later rows belong to
 * training the checkpoint does not hold: the adder saves only its best model, a crash loses the
 * steps since the last save), appends after them and continues their clock; they go into the
 * plot too. A fresh run starts the file afresh. */
static int open_log(TrainRun *run) {
    const TrainOptions *opt = run->opt;
    char err[512];
    int append = 0;
    if (opt->log_csv && opt->resume && access(opt->log_csv, F_OK) == 0) {
        RunLog old = {0};
        if (runlog_read_csv(opt->log_csv, &old, err, sizeof err) != 0) {
            fprintf(stderr, "mingpt: %s (a resumed run appends to its --log)\n", err);
            runlog_free(&old);
            return 1;
        }
        for (size_t i = 0; i < old.n; i++)
            if (old.rows[i].iter <= run->tr.step) {
                runlog_add(&run->history, &old.rows[i]);
                if (isfinite(old.rows[i].time_s)) run->time_offset = old.rows[i].time_s;
            }
        runlog_free(&old);
        /* rewritten, so that a row cut short at the end does not run into the next */
        if (runlog_rewrite_csv(opt->log_csv, &run->history, err, sizeof err) != 0) {
            fprintf(stderr, "mingpt: %s\n", err);
            return 1;
        }
        append = 1;
    }
    if (opt->log_csv && !(run->log_fp = runlog_open_csv(opt->log_csv, append, err, sizeof err))) {
        fprintf(stderr, "mingpt: %s\n", err);
        return 1;
    }
    return 0;
}

/* What every rank of an MPI run must agree on before the first step: the settings, the batch
 * shape, the step and the data sampler's state, the model's shape and weights (a resumed or
 * initialised model, a vocabulary from the data) and the data itself. */
static uint64_t run_hash(const TrainRun *run) {
    const GPT *m = run->model;
    TrainOptions settings = *run->opt;
    uint64_t h = 0;
    for (size_t i = 0; i < N_SETTINGS; i++)
        h = fingerprint(h, setting_field(&SETTINGS[i], &settings), setting_size(&SETTINGS[i]));
    long shape[5] = {run->opt->max_iters, run->B, run->T, run->tr.step, (long)m->params.numel};
    h = fingerprint(h, shape, sizeof shape);
    h = fingerprint(h, &m->config, sizeof m->config);
    h = fingerprint(h, &run->data_rng, sizeof run->data_rng);
    h = fingerprint(h, &run->data_hash, sizeof run->data_hash);
    for (int i = 0; i < run->meta.n_entries; i++)
        h = fingerprint(h, run->meta.entries[i].value, run->meta.entries[i].len);
    return fingerprint(h, m->param_mem, m->params.numel * sizeof(float));
}

int train_loop(TrainRun *run) {
    const TrainOptions *opt = run->opt;
    LoopState st = {run, 0};
    term_init(&run->term, opt->quiet);
    run->flops_per_token = gpt_train_flops_per_token(&run->model->config, run->T);
    run->step_start = run->tr.step;
    /* ranks that differ would sum gradients of different shapes or data: stop them all first */
    if (dist_size() > 1 && !dist_same_u64(run_hash(run))) {
        if (dist_rank() == 0)
            fprintf(stderr, "mingpt: the %d ranks of this MPI job do not have the same training data, checkpoint or "
                            "settings (each rank reads its own copy of the files: are they the same on every host?)\n",
                    dist_size());
        dist_exit_agreed();
        st.rc = 1;
        goto done;
    }
    if (open_log(run) != 0) {
        st.rc = 1;
        goto done;
    }
    /* SIGHUP (the terminal closed) saves like Ctrl-C, unless it was ignored when mingpt started:
     * `nohup mingpt train ...` must outlive the terminal. SIGINT is caught even when ignored, as a
     * shell script's background jobs have it, so that `kill -INT` still stops and saves. (SIGPIPE
     * is ignored for the whole command by main: a closed stdout is a failed write, not the end.) */
    static const int SIGNALS[3] = {SIGINT, SIGTERM, SIGHUP};
    struct sigaction sa, old_action[3];
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_interrupt;
    sigemptyset(&sa.sa_mask);
    g_interrupts = 0;
    int caught[3] = {0, 0, 0};
    for (int i = 0; i < 3; i++)
        if (sigaction(SIGNALS[i], NULL, &old_action[i]) == 0 &&
            (SIGNALS[i] != SIGHUP || old_action[i].sa_handler != SIG_IGN))
            caught[i] = sigaction(SIGNALS[i], &sa, NULL) == 0;
    run->t_start = run->t_prev = now_seconds();
    if (opt->max_iters > 0 && run->tr.step >= opt->max_iters)
        fprintf(stderr, "already at step %ld of --max-iters %ld: nothing to train\n", run->tr.step, opt->max_iters);
    else
        trainer_run(&run->tr, run->model, opt->accum, run->B, run->T, opt->max_iters, trampoline_batch, after_step, &st);
    for (int i = 0; i < 3; i++)
        if (caught[i]) sigaction(SIGNALS[i], &old_action[i], NULL);
    if (st.rc == 0 && run->save_failed) {
        fprintf(stderr, "mingpt: training ended at step %ld, but the last save failed (see above); %s holds an older model\n",
                run->tr.step, opt->out);
        st.rc = 1;
    }
    if (dist_size() > 1) { /* every rank ends as rank 0 does: 130 after a signal to any of them */
        dist_broadcast_int(&st.rc);
        dist_exit_agreed();
    }
    if (st.rc == 0 && dist_rank() == 0) print_summary(run, 0);
done:
    term_clear(&run->term);
    if (run->log_fp) fclose(run->log_fp);
    run->log_fp = NULL;
    runlog_free(&run->history);
    trainer_free(&run->tr);
    gpt_free(run->model);
    ckpt_meta_free(&run->meta);
    run->model = NULL;
    return st.rc;
}
