/* mingpt_lib.c — libmingpt's public interface (mingpt.h) over the core: model.c, trainer.c,
 * decode.c and checkpoint.c, which stay as they are.
 *
 * The core treats a bad value as a broken invariant (CHECK, die); a library user's mistake must
 * come back as a code instead. So every public function checks its arguments here, in full,
 * before the core sees them: config values, token ranges, counts, keys, and the memory a model or
 * a batch needs against what the machine has (the core would die on a failed allocation). What
 * this file does not do: training math, file formats, sampling — those are the core's.
 */
#include "mingpt.h"

#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"
#include "common.h"
#include "decode.h"
#include "model.h"
#include "rng.h"
#include "safetensors.h"
#include "sample.h"
#include "threads.h"
#include "trainer.h"
#include "utf8.h"

#define KEY_MAX 63   /* a metadata key or task name, in bytes */
#define USER_PREFIX "user." /* the program's keys in the file, apart from the command's own */

/* ---------------------------------------------------------------- errors */

static void ok(MgError *err) {
    if (!err) return;
    err->code = MG_OK;
    err->message[0] = '\0';
}

/* Sets err to code and the formatted message; returns code. */
MG_PRINTF(3, 4) static int fail(MgError *err, int code, const char *fmt, ...) {
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
        err->code = code;
    }
    return code;
}

/* err holds an error a call set: a known code and a one-line message (an MgError the caller never
 * cleared holds anything, so the message must at least end inside the buffer). */
static int holds_error(const MgError *err) {
    return err->code >= MG_ERR_ARG && err->code <= MG_ERR_NUMERIC && err->message[0] != '\0' &&
           memchr(err->message, '\0', sizeof err->message) != NULL;
}

/* A NULL object (config, model, trainer) where one was needed: most often the result of a call
 * that failed to make it, handed on unchecked, as in mg_model_new(mg_config_new(...), ...). Then
 * err already says why that call failed, which is the message worth showing, so it is kept and
 * its code returned; otherwise err says which argument was NULL. */
static int fail_null(MgError *err, const char *what) {
    if (err && holds_error(err)) return err->code;
    return fail(err, MG_ERR_ARG, "%s must not be NULL", what);
}

/* MG_ERR_MEMORY unless `bytes` more fit in what this process may still allocate. */
static int check_memory(size_t bytes, const char *what, MgError *err) {
    const char *limit = NULL;
    size_t have = memory_available(&limit);
    if (have == 0 || bytes <= have) return MG_OK;
    char need_s[32], have_s[32];
    format_bytes((double)bytes, need_s, sizeof need_s);
    format_bytes((double)have, have_s, sizeof have_s);
    return fail(err, MG_ERR_MEMORY, "%s needs %s, more than the %s %s", what, need_s, have_s, limit ? limit : "available");
}

/* value as an int if it is a whole number in [lo, hi]; else MG_ERR_ARG naming `name`. */
static int whole(const char *name, double value, long lo, long hi, long *out, MgError *err) {
    if (!(value >= (double)lo && value <= (double)hi && value == floor(value)))
        return fail(err, MG_ERR_ARG, "%s = %g: must be a whole number in [%ld, %ld]", name, value, lo, hi);
    *out = (long)value;
    return MG_OK;
}

/* ---------------------------------------------------------------- model config */

struct MgConfig {
    GPTConfig c;
};

MgConfig *mg_config_new(const char *preset, int vocab_size, int block_size, MgError *err) {
    ok(err);
    GPTConfig c = {.vocab_size = vocab_size, .block_size = block_size,
                   .embd_pdrop = 0.1f, .resid_pdrop = 0.1f, .attn_pdrop = 0.1f}; /* minGPT's */
    if (preset && !gpt_preset(preset, &c)) {
        fail(err, MG_ERR_ARG, "unknown model preset \"%.64s\" (known: %s)", preset, gpt_preset_names());
        return NULL;
    }
    MgConfig *config = malloc(sizeof *config);
    if (!config) {
        fail(err, MG_ERR_MEMORY, "out of memory");
        return NULL;
    }
    config->c = c;
    return config;
}

int mg_config_set(MgConfig *config, const char *name, double value, MgError *err) {
    if (!config) return fail_null(err, "mg_config_set: config");
    ok(err);
    if (!name) return fail(err, MG_ERR_ARG, "mg_config_set: name must not be NULL");
    GPTConfig *c = &config->c;
    int *field = !strcmp(name, "n_layer") ? &c->n_layer : !strcmp(name, "n_head") ? &c->n_head
               : !strcmp(name, "n_embd") ? &c->n_embd : !strcmp(name, "vocab_size") ? &c->vocab_size
               : !strcmp(name, "block_size") ? &c->block_size : NULL;
    if (field) { /* the ranges themselves are gpt_config_error's, checked when a model is made */
        long v = 0;
        if (whole(name, value, 0, INT_MAX, &v, err)) return MG_ERR_ARG;
        *field = (int)v;
        return MG_OK;
    }
    int all = !strcmp(name, "dropout");
    float *p = !strcmp(name, "embd_pdrop") || all ? &c->embd_pdrop : !strcmp(name, "resid_pdrop") ? &c->resid_pdrop
             : !strcmp(name, "attn_pdrop") ? &c->attn_pdrop : NULL;
    if (!p)
        return fail(err, MG_ERR_ARG, "unknown config name \"%.64s\" (known: n_layer, n_head, n_embd, vocab_size, "
                    "block_size, embd_pdrop, resid_pdrop, attn_pdrop, dropout)", name);
    if (!(value >= 0.0 && value < 1.0)) return fail(err, MG_ERR_ARG, "%s = %g: must be in [0, 1)", name, value);
    *p = (float)value;
    if (all) c->resid_pdrop = c->attn_pdrop = (float)value;
    return MG_OK;
}

void mg_config_free(MgConfig *config) { free(config); }

/* ---------------------------------------------------------------- models */

struct MgModel {
    GPT *gpt;
    Pool *pool;           /* owned */
    long step;            /* optimizer steps behind these weights (for mg_save without a trainer) */
    int has_trainer;      /* loaded with AdamW's state in `loaded`, for mg_trainer_new to adopt */
    Trainer loaded;
    char task[KEY_MAX + 1];
    StMeta *meta;         /* (n_meta) the program's entries of a loaded checkpoint, prefix stripped */
    int n_meta;
};

/* An MgModel with a pool of n_threads (<= 0: one per CPU) and no GPT yet, or NULL with err set. */
static MgModel *new_model_shell(int n_threads, MgError *err) {
    if (n_threads > 4096) {
        fail(err, MG_ERR_ARG, "n_threads = %d: at most 4096", n_threads);
        return NULL;
    }
    MgModel *m = calloc(1, sizeof *m);
    if (!m) {
        fail(err, MG_ERR_MEMORY, "out of memory");
        return NULL;
    }
    m->pool = pool_create(n_threads);
    return m;
}

MgModel *mg_model_new(const MgConfig *config, uint64_t seed, int n_threads, MgError *err) {
    if (!config) {
        fail_null(err, "mg_model_new: config");
        return NULL;
    }
    ok(err);
    const char *bad = gpt_config_error(&config->c);
    if (bad) {
        fail(err, MG_ERR_ARG, "bad model config: %s", bad);
        return NULL;
    }
    /* parameters and gradients; the trainer checks for its two moments itself */
    if (check_memory(2 * sizeof(float) * gpt_count_params(&config->c), "the model", err)) return NULL;
    MgModel *m = new_model_shell(n_threads, err);
    if (!m) return NULL;
    m->gpt = gpt_create(&config->c, m->pool);
    gpt_init(m->gpt, seed);
    return m;
}

/* The program's task and metadata from a loaded checkpoint's task entries (checkpoint.h): "lib_task"
 * and the "user." ones, which mg_save wrote. */
static int read_user_meta(MgModel *m, const CkptMeta *meta, MgError *err) {
    const char *lib_task = ckpt_meta_get(meta, "lib_task", NULL);
    snprintf(m->task, sizeof m->task, "%s", strcmp(meta->task, "lib") == 0 && lib_task ? lib_task : meta->task);
    size_t plen = strlen(USER_PREFIX);
    m->meta = calloc((size_t)meta->n_entries + 1, sizeof *m->meta);
    int rc = m->meta ? MG_OK : fail(err, MG_ERR_MEMORY, "out of memory");
    for (int i = 0; i < meta->n_entries && rc == MG_OK; i++) {
        const StMeta *from = &meta->entries[i];
        if (strncmp(from->key, USER_PREFIX, plen) != 0) continue;
        StMeta *e = &m->meta[m->n_meta];
        e->key = strdup(from->key + plen);
        e->value = malloc(from->len + 1);
        if (e->key && e->value) {
            memcpy(e->value, from->value, from->len + 1);
            m->n_meta++;
        } else {
            free(e->key);
            free(e->value);
            rc = fail(err, MG_ERR_MEMORY, "out of memory");
        }
    }
    return rc;
}

MgModel *mg_model_load(const char *path, int mode, int n_threads, MgError *err) {
    ok(err);
    if (!path || (mode != MG_LOAD_INFERENCE && mode != MG_LOAD_TRAINING)) {
        fail(err, MG_ERR_ARG, "mg_model_load: path must not be NULL and mode must be MG_LOAD_INFERENCE or MG_LOAD_TRAINING");
        return NULL;
    }
    char msg[512];
    GPTConfig c;
    CkptMeta meta;
    if (ckpt_peek(path, &c, &meta, msg, sizeof msg) != 0) {
        fail(err, MG_ERR_FILE, "%s", msg);
        return NULL;
    }
    ckpt_meta_free(&meta);
    size_t copies = mode == MG_LOAD_TRAINING ? 4 : 1; /* weights (+ gradients, AdamW's m and v) */
    if (check_memory(copies * sizeof(float) * gpt_count_params(&c), path, err)) return NULL;
    MgModel *m = new_model_shell(n_threads, err);
    if (!m) return NULL;
    TrainConfig tc = train_config_default();
    m->gpt = ckpt_load(path, m->pool, &meta, mode == MG_LOAD_TRAINING ? &m->loaded : NULL, &tc, msg, sizeof msg);
    if (!m->gpt) {
        fail(err, MG_ERR_FILE, "%s", msg);
        mg_model_free(m);
        return NULL;
    }
    m->has_trainer = mode == MG_LOAD_TRAINING;
    m->step = meta.step;
    int rc = read_user_meta(m, &meta, err);
    ckpt_meta_free(&meta);
    if (rc != MG_OK) {
        mg_model_free(m);
        return NULL;
    }
    return m;
}

void mg_model_free(MgModel *m) {
    if (!m) return;
    if (m->has_trainer) trainer_free(&m->loaded);
    gpt_free(m->gpt);
    if (m->pool) pool_free(m->pool);
    for (int i = 0; i < m->n_meta; i++) {
        free(m->meta[i].key);
        free(m->meta[i].value);
    }
    free(m->meta);
    free(m);
}

/* The getters take no err, so NULL (a model that failed to load, passed on) gets a value no model
 * has instead of a crash. */
int mg_model_vocab_size(const MgModel *m) { return m ? m->gpt->config.vocab_size : 0; }
int mg_model_block_size(const MgModel *m) { return m ? m->gpt->config.block_size : 0; }
size_t mg_model_num_params(const MgModel *m) { return m ? gpt_num_params_mingpt(m->gpt) : 0; }
const char *mg_model_task(const MgModel *m) { return m ? m->task : NULL; }

const char *mg_model_meta(const MgModel *m, const char *key) {
    for (int i = 0; m && key && i < m->n_meta; i++)
        if (strcmp(m->meta[i].key, key) == 0) return m->meta[i].value;
    return NULL;
}

/* ---------------------------------------------------------------- training */

struct MgTrainConfig {
    TrainConfig c;
    int batch_size;
    long max_iters; /* 0: until the step callback stops */
};

MgTrainConfig *mg_train_config_new(MgError *err) {
    ok(err);
    MgTrainConfig *tc = malloc(sizeof *tc);
    if (!tc) {
        fail(err, MG_ERR_MEMORY, "out of memory");
        return NULL;
    }
    tc->c = train_config_default(); /* minGPT's: 5e-4, (0.9, 0.95), 0.1, clip 1.0 */
    tc->batch_size = 64;
    tc->max_iters = 0;
    return tc;
}

int mg_train_config_set(MgTrainConfig *tc, const char *name, double value, MgError *err) {
    if (!tc) return fail_null(err, "mg_train_config_set: config");
    ok(err);
    if (!name) return fail(err, MG_ERR_ARG, "mg_train_config_set: name must not be NULL");
    long v = 0;
    if (!strcmp(name, "batch_size")) {
        if (whole(name, value, 1, 1 << 20, &v, err)) return MG_ERR_ARG;
        tc->batch_size = (int)v;
    } else if (!strcmp(name, "max_iters")) {
        if (whole(name, value, 0, 1L << 40, &v, err)) return MG_ERR_ARG;
        tc->max_iters = v;
    } else if (!strcmp(name, "warmup_iters")) {
        if (whole(name, value, 0, 1L << 40, &v, err)) return MG_ERR_ARG;
        tc->c.warmup_iters = v;
    } else if (!strcmp(name, "learning_rate")) {
        if (!(value > 0.0 && value <= 10.0)) return fail(err, MG_ERR_ARG, "learning_rate = %g: must be in (0, 10]", value);
        tc->c.learning_rate = (float)value;
    } else if (!strcmp(name, "beta1") || !strcmp(name, "beta2")) {
        if (!(value >= 0.0 && value < 1.0)) return fail(err, MG_ERR_ARG, "%s = %g: must be in [0, 1)", name, value);
        *(name[4] == '1' ? &tc->c.beta1 : &tc->c.beta2) = (float)value;
    } else if (!strcmp(name, "weight_decay")) {
        if (!(value >= 0.0 && value <= 1.0)) return fail(err, MG_ERR_ARG, "weight_decay = %g: must be in [0, 1]", value);
        tc->c.weight_decay = (float)value;
    } else if (!strcmp(name, "grad_norm_clip")) {
        if (!(value >= 0.0 && value <= 1e30)) return fail(err, MG_ERR_ARG, "grad_norm_clip = %g: must be >= 0 (0: off)", value);
        tc->c.grad_clip = (float)value;
    } else {
        return fail(err, MG_ERR_ARG, "unknown training config name \"%.64s\" (known: learning_rate, batch_size, "
                    "max_iters, beta1, beta2, weight_decay, grad_norm_clip, warmup_iters)", name);
    }
    return MG_OK;
}

void mg_train_config_free(MgTrainConfig *tc) { free(tc); }

struct MgTrainer {
    MgModel *model; /* not owned */
    Trainer tr;
    int batch_size;
    long max_iters;
};

MgTrainer *mg_trainer_new(MgModel *model, const MgTrainConfig *config, MgError *err) {
    if (!model || !config) {
        fail_null(err, !model ? "mg_trainer_new: model" : "mg_trainer_new: config");
        return NULL;
    }
    ok(err);
    if (model->gpt->inference) {
        fail(err, MG_ERR_ARG, "mg_trainer_new: the model was loaded for inference (load it with MG_LOAD_TRAINING)");
        return NULL;
    }
    if (!model->has_trainer && check_memory(2 * sizeof(float) * model->gpt->num_params, "AdamW's state", err))
        return NULL;
    MgTrainer *t = calloc(1, sizeof *t);
    if (!t) {
        fail(err, MG_ERR_MEMORY, "out of memory");
        return NULL;
    }
    t->model = model;
    t->batch_size = config->batch_size;
    t->max_iters = config->max_iters;
    if (model->has_trainer) { /* a resumed checkpoint's moments and step, with this config */
        t->tr = model->loaded;
        t->tr.config = config->c;
        model->has_trainer = 0;
    } else {
        trainer_init(&t->tr, model->gpt, &config->c);
        t->tr.step = model->step;
    }
    return t;
}

void mg_trainer_free(MgTrainer *t) {
    if (!t) return;
    trainer_free(&t->tr);
    free(t);
}

long mg_trainer_step(const MgTrainer *t) { return t ? t->tr.step : -1; /* 0 is a real count */ }

/* MG_ERR_ARG unless idx (B,T) holds tokens in [0,V) and targets (B,T) ids in [0,V) or -1, at
 * least one of them not -1 (a batch with no loss has no gradient to step with). */
static int check_batch(const int *idx, const int *targets, int B, int T, int V, MgError *err) {
    size_t n = (size_t)B * (size_t)T, with_loss = 0;
    for (size_t i = 0; i < n; i++) {
        if (idx[i] < 0 || idx[i] >= V)
            return fail(err, MG_ERR_ARG, "batch: idx[%zu][%zu] = %d is not a token id in [0, %d)", i / (size_t)T,
                        i % (size_t)T, idx[i], V);
        if (targets[i] < -1 || targets[i] >= V)
            return fail(err, MG_ERR_ARG, "batch: targets[%zu][%zu] = %d is neither -1 nor a token id in [0, %d)",
                        i / (size_t)T, i % (size_t)T, targets[i], V);
        with_loss += targets[i] != -1;
    }
    if (with_loss == 0) return fail(err, MG_ERR_ARG, "batch: every target is -1, so there is no loss to train on");
    return MG_OK;
}

int mg_train(MgTrainer *t, MgBatchFn next_batch, MgStepFn on_step, void *user, MgError *err) {
    if (!t) return fail_null(err, "mg_train: trainer");
    ok(err);
    if (!next_batch) return fail(err, MG_ERR_ARG, "mg_train: next_batch must not be NULL");
    if (!on_step && t->max_iters <= 0)
        return fail(err, MG_ERR_ARG, "mg_train: with no step callback, max_iters must be set (training would never stop)");
    GPT *g = t->model->gpt;
    int B = t->batch_size, T = g->config.block_size, V = g->config.vocab_size;
    if (check_memory(gpt_activation_bytes(&g->config, (size_t)B, (size_t)T), "a batch's activations", err))
        return MG_ERR_MEMORY;
    size_t n = (size_t)B * (size_t)T;
    int *idx = malloc(n * sizeof *idx), *targets = malloc(n * sizeof *targets);
    int rc = idx && targets ? MG_OK : fail(err, MG_ERR_MEMORY, "out of memory for a batch of %d x %d", B, T);
    while (rc == MG_OK && (t->max_iters <= 0 || t->tr.step < t->max_iters)) {
        /* -1 everywhere first, so a callback that fills idx only gives a clear error, not garbage */
        memset(idx, 0, n * sizeof *idx);
        memset(targets, 0xFF, n * sizeof *targets);
        if (next_batch(user, idx, targets, B, T) != 0) {
            rc = fail(err, MG_ERR_CALLBACK, "the batch callback stopped training at step %ld", t->tr.step);
            break;
        }
        if ((rc = check_batch(idx, targets, B, T, V, err)) != MG_OK) break;
        trainer_step(&t->tr, g, idx, targets, B, T);
        t->model->step = t->tr.step;
        if (!isfinite(t->tr.loss) || !isfinite(t->tr.grad_norm)) {
            rc = fail(err, MG_ERR_NUMERIC, "mg_train: step %ld: the loss is %g and the gradient norm %g; training "
                      "diverged (a lower learning rate may help)", t->tr.step, (double)t->tr.loss,
                      (double)t->tr.grad_norm);
            break;
        }
        MgStep s = {.step = t->tr.step, .loss = t->tr.loss, .lr = t->tr.lr, .grad_norm = t->tr.grad_norm};
        if (on_step && on_step(user, t->model, &s) != 0) break;
    }
    free(idx);
    free(targets);
    return rc;
}

/* ---------------------------------------------------------------- checkpoints */

/* MG_OK if s is a non-empty key of letters, digits, '_', '-', '.', at most KEY_MAX bytes. */
static int check_key(const char *what, const char *s, MgError *err) {
    size_t n = strlen(s);
    int good = n >= 1 && n <= KEY_MAX;
    for (size_t i = 0; good && i < n; i++) {
        char ch = s[i];
        good = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_' ||
               ch == '-' || ch == '.';
    }
    return good ? MG_OK : fail(err, MG_ERR_ARG, "%s \"%.80s\": 1 to %d letters, digits, '_', '-' or '.'", what, s, KEY_MAX);
}

/* MG_OK if s is valid UTF-8 (what a safetensors header, JSON, must hold). */
static int check_utf8(const char *what, const char *s, MgError *err) {
    size_t n = strlen(s);
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        int len = utf8_decode((const unsigned char *)s + i, n - i, &cp);
        if (len == 0) return fail(err, MG_ERR_ARG, "%s: not valid UTF-8 at byte %zu", what, i);
        i += (size_t)len;
    }
    return MG_OK;
}

int mg_save(const MgModel *model, const MgTrainer *trainer, const char *path, const char *task,
            const char *const *meta, MgError *err) {
    if (!model) return fail_null(err, "mg_save: model");
    ok(err);
    if (!path || !*path) return fail(err, MG_ERR_ARG, "mg_save: path must not be NULL or empty");
    if (trainer && trainer->model != model) return fail(err, MG_ERR_ARG, "mg_save: the trainer is another model's");
    if (task && *task && check_key("task", task, err)) return MG_ERR_ARG;
    int n = 0;
    while (meta && meta[n]) {
        if (!meta[n + 1]) return fail(err, MG_ERR_ARG, "mg_save: metadata key \"%.80s\" has no value (NULL)", meta[n]);
        if (check_key("metadata key", meta[n], err) || check_utf8(meta[n], meta[n + 1], err)) return MG_ERR_ARG;
        for (int j = 0; j < n; j += 2)
            if (strcmp(meta[j], meta[n]) == 0) return fail(err, MG_ERR_ARG, "metadata key \"%s\" given twice", meta[n]);
        n += 2;
    }
    /* one entry for the task, then the program's under "user." (never a name the format uses) */
    CkptMeta cm = {.step = model->step};
    snprintf(cm.task, sizeof cm.task, "lib");
    ckpt_meta_set(&cm, "lib_task", task ? task : "", task ? strlen(task) : 0, CKPT_LAST);
    char key[sizeof USER_PREFIX + KEY_MAX];
    for (int i = 0; i < n; i += 2) {
        snprintf(key, sizeof key, USER_PREFIX "%s", meta[i]);
        ckpt_meta_set(&cm, key, meta[i + 1], strlen(meta[i + 1]), CKPT_LAST);
    }
    char msg[512];
    int rc = ckpt_save(path, model->gpt, trainer ? &trainer->tr : NULL, &cm, msg, sizeof msg);
    ckpt_meta_free(&cm);
    return rc == 0 ? MG_OK : fail(err, MG_ERR_FILE, "%s", msg);
}

/* ---------------------------------------------------------------- generation */

/* MG_ERR_ARG unless tokens[0..n) are ids in [0, V). */
static int check_tokens(const char *what, const int *tokens, size_t n, int V, MgError *err) {
    for (size_t i = 0; i < n; i++)
        if (tokens[i] < 0 || tokens[i] >= V)
            return fail(err, MG_ERR_ARG, "%s[%zu] = %d is not a token id in [0, %d)", what, i, tokens[i], V);
    return MG_OK;
}

/* MG_ERR_NUMERIC for what (its logits, its loss) of model g being NaN or infinite. */
static int fail_numeric(MgError *err, const GPT *g, const char *what) {
    float largest;
    const char *name = gpt_largest_weight(g, &largest);
    return fail(err, MG_ERR_NUMERIC, "%s are not finite: the model's numbers overflow (its largest weight, %g, is in "
                "%s)", what, (double)largest, name ? name : "none");
}

int mg_generate(MgModel *model, int *tokens, int n_prompt, int n_new, float temperature, int top_k,
                uint64_t seed, MgError *err) {
    if (!model) return fail_null(err, "mg_generate: model");
    ok(err);
    if (!tokens) return fail(err, MG_ERR_ARG, "mg_generate: tokens must not be NULL");
    GPT *g = model->gpt;
    int V = g->config.vocab_size;
    if (n_prompt < 1) return fail(err, MG_ERR_ARG, "mg_generate: n_prompt = %d, the prompt needs a token at least", n_prompt);
    if (n_new < 0) return fail(err, MG_ERR_ARG, "mg_generate: n_new = %d is negative", n_new);
    if (!isfinite(temperature)) return fail(err, MG_ERR_ARG, "mg_generate: temperature is not a finite number");
    if (top_k < 0 || top_k > V) return fail(err, MG_ERR_ARG, "mg_generate: top_k = %d: must be in [0, %d] (0: off)", top_k, V);
    if (check_tokens("prompt", tokens, (size_t)n_prompt, V, err)) return MG_ERR_ARG;
    if (check_memory(gpt_activation_bytes(&g->config, 1, (size_t)g->config.block_size), "generation", err))
        return MG_ERR_MEMORY;
    SampleConfig sc = {.temperature = temperature > 0 ? temperature : 1.0f, .top_k = top_k, .top_p = 1.0f,
                       .greedy = temperature <= 0};
    Rng rng;
    rng_seed(&rng, seed);
    size_t made = generate(g, tokens, (size_t)n_prompt, (size_t)n_new, &sc, GEN_SLIDING, &rng, NULL, NULL);
    if (made < (size_t)n_new) return fail_numeric(err, g, "mg_generate: the logits");
    return MG_OK;
}

int mg_generate_greedy(MgModel *model, const int *prompts, int B, int T0, int n_new, int *out, MgError *err) {
    if (!model) return fail_null(err, "mg_generate_greedy: model");
    ok(err);
    if (!prompts || !out) return fail(err, MG_ERR_ARG, "mg_generate_greedy: prompts and out must not be NULL");
    GPT *g = model->gpt;
    if (B < 1 || T0 < 1 || n_new < 0 || (long)T0 + n_new - 1 > g->config.block_size)
        return fail(err, MG_ERR_ARG, "mg_generate_greedy: B = %d, T0 = %d, n_new = %d: need B >= 1, T0 >= 1, n_new >= 0 "
                    "and T0 + n_new - 1 <= block_size (%d)", B, T0, n_new, g->config.block_size);
    if (check_tokens("prompts", prompts, (size_t)B * (size_t)T0, g->config.vocab_size, err)) return MG_ERR_ARG;
    if (check_memory(gpt_activation_bytes(&g->config, (size_t)B, (size_t)T0), "generation", err)) return MG_ERR_MEMORY;
    if (generate_greedy_batch(g, prompts, B, T0, n_new, out) != 0) return fail_numeric(err, g, "mg_generate_greedy: the logits");
    return MG_OK;
}
