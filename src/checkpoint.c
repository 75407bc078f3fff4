/* checkpoint.c — ckpt_save and ckpt_load (see checkpoint.h for the format and for which tensors a
 * file may hold). Both refuse non-finite numbers: a diverged run is not saved, and a file holding
 * one is not loaded, so a NaN never travels from one run into the next. No task is named here:
 * the task's own __metadata__ entries pass through as they are, for the task to read. */
#include "checkpoint.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"
#include "files.h"
#include "json.h"
#include "safetensors.h"

/* The __metadata__ keys this file writes and reads; every other entry is the task's. The training
 * state (CORE_STATE) comes after the entries written at CKPT_BESIDE_TASK and before the others. */
enum { NOT_CORE, CORE_HEAD, CORE_STATE };
static const struct {
    const char *key;
    int part;
} CORE_KEYS[] = {
    {"format", CORE_HEAD}, {"format_version", CORE_HEAD}, {"n_layer", CORE_HEAD}, {"n_head", CORE_HEAD},
    {"n_embd", CORE_HEAD}, {"vocab_size", CORE_HEAD}, {"block_size", CORE_HEAD}, {"embd_pdrop", CORE_HEAD},
    {"resid_pdrop", CORE_HEAD}, {"attn_pdrop", CORE_HEAD}, {"task", CORE_HEAD}, {"step", CORE_HEAD},
    {"val_loss", CORE_STATE}, {"val_frac", CORE_STATE}, {"dropout_seed", CORE_STATE},
    {"dropout_pass", CORE_STATE}, {"data_rng", CORE_STATE},
};

static int core_part(const char *key) {
    for (size_t i = 0; i < sizeof CORE_KEYS / sizeof CORE_KEYS[0]; i++)
        if (strcmp(CORE_KEYS[i].key, key) == 0) return CORE_KEYS[i].part;
    return NOT_CORE;
}

void ckpt_meta_free(CkptMeta *meta) {
    for (int i = 0; i < meta->n_entries; i++) {
        free(meta->entries[i].key);
        free(meta->entries[i].value);
    }
    free(meta->entries);
    meta->entries = NULL;
    meta->n_entries = meta->n_beside_task = 0;
}

void ckpt_meta_set(CkptMeta *meta, const char *key, const char *value, size_t len, CkptPlace place) {
    CHECK(core_part(key) == NOT_CORE);
    char *copy = xmalloc(len + 1);
    memcpy(copy, value, len);
    copy[len] = '\0';
    for (int i = 0; i < meta->n_entries; i++)
        if (strcmp(meta->entries[i].key, key) == 0) {
            free(meta->entries[i].value);
            meta->entries[i].value = copy;
            meta->entries[i].len = len;
            return;
        }
    int n = meta->n_entries, at = place == CKPT_BESIDE_TASK ? meta->n_beside_task : n;
    StMeta *grown = xmalloc((size_t)(n + 1) * sizeof *grown);
    if (n) memcpy(grown, meta->entries, (size_t)at * sizeof *grown);
    if (n) memcpy(grown + at + 1, meta->entries + at, (size_t)(n - at) * sizeof *grown);
    size_t key_len = strlen(key);
    grown[at] = (StMeta){xmalloc(key_len + 1), copy, len};
    memcpy(grown[at].key, key, key_len + 1);
    free(meta->entries);
    meta->entries = grown;
    meta->n_entries++;
    meta->n_beside_task += place == CKPT_BESIDE_TASK;
}

void ckpt_meta_unset(CkptMeta *meta, const char *key) {
    for (int i = 0; i < meta->n_entries; i++)
        if (strcmp(meta->entries[i].key, key) == 0) {
            free(meta->entries[i].key);
            free(meta->entries[i].value);
            memmove(meta->entries + i, meta->entries + i + 1, (size_t)(meta->n_entries - i - 1) * sizeof *meta->entries);
            meta->n_entries--;
            if (i < meta->n_beside_task) meta->n_beside_task--;
            return;
        }
}

const char *ckpt_meta_get(const CkptMeta *meta, const char *key, size_t *len) {
    for (int i = 0; i < meta->n_entries; i++)
        if (strcmp(meta->entries[i].key, key) == 0) {
            if (len) *len = meta->entries[i].len;
            return meta->entries[i].value;
        }
    return NULL;
}

/* mkdir -p for the folder that will hold `path`. */
static int make_parent_dirs(const char *path, char *err, size_t err_size) {
    size_t n = strlen(path);
    char *dir = xmalloc(n + 1);
    memcpy(dir, path, n + 1);
    char *slash = strrchr(dir, '/');
    int rc = 0;
    if (slash && slash != dir) {
        *slash = '\0';
        for (char *p = dir + 1; rc == 0; p++) {
            if (*p != '/' && *p != '\0') continue;
            char saved = *p;
            *p = '\0';
            if (mkdir(dir, 0777) != 0 && errno != EEXIST)
                rc = error_text(err, err_size, "%s: cannot create folder %s: %s", path, dir,
                             strerror(errno));
            *p = saved;
            if (saved == '\0') break;
        }
    }
    free(dir);
    return rc;
}

int ckpt_check_writable(const char *path, char *err, size_t err_size) {
    if (make_parent_dirs(path, err, err_size) != 0) return -1;
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return error_text(err, err_size, "%s: is a directory; --out needs a file name", path);
    /* the file and the temporary file st_write will use, so what works here works there */
    char *target = output_target(path, err, err_size);
    if (!target) return -1;
    char *probe = temp_path(target);
    int fd = open(probe, O_WRONLY | O_CREAT | O_TRUNC, 0666), rc = 0;
    if (fd < 0) {
        rc = error_text(err, err_size, "%s: cannot write a checkpoint there: %s", path, strerror(errno));
    } else {
        close(fd);
        unlink(probe);
    }
    free(probe);
    free(target);
    return rc;
}

#define MAX_CORE_META 24 /* more than the entries of CORE_KEYS */

/* What ckpt_save hands to st_write: core's entries, their values formatted into `values`, and the
 * task's, pointing at meta's. */
typedef struct {
    StMeta *items; /* (n) */
    int n;
    char values[MAX_CORE_META][96];
    int n_values;
} MetaList;

static void meta_add(MetaList *l, const char *key, const char *fmt, ...) {
    CHECK(l->n_values < MAX_CORE_META);
    char *value = l->values[l->n_values++];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(value, sizeof l->values[0], fmt, ap);
    va_end(ap);
    l->items[l->n++] = (StMeta){(char *)key, value, 0};
}

/* The task's entries [from, to) of meta, as they are. */
static void meta_add_entries(MetaList *l, const CkptMeta *meta, int from, int to) {
    for (int i = from; i < to; i++) l->items[l->n++] = meta->entries[i];
}

/* The index of the first float in bytes[0..4n) that is NaN or ±Inf (with nonneg, or below 0), or n.
 * This runs over every weight on every save and load, so the common case is one pass that GCC
 * vectorises: the largest bit pattern (sign cleared unless nonneg) of each block of 4096 floats;
 * only a block where it reaches Inf's exponent (or a sign bit, with nonneg) is looked at one float
 * at a time. memcpy reads the floats because a tensor in a file need not be 4-byte aligned. */
static size_t first_bad_float(const unsigned char *bytes, size_t n, int nonneg) {
    const uint32_t mask = nonneg ? 0xFFFFFFFFu : 0x7FFFFFFFu;
    for (size_t lo = 0; lo < n; lo += 4096) {
        size_t hi = n - lo > 4096 ? lo + 4096 : n;
        uint32_t worst = 0;
        for (size_t i = lo; i < hi; i++) {
            uint32_t u;
            memcpy(&u, bytes + 4 * i, 4);
            u &= mask;
            worst = u > worst ? u : worst;
        }
        if (worst < 0x7F800000u) continue;
        for (size_t i = lo; i < hi; i++) { /* (-0.0 set the sign bit but is not below 0) */
            float x;
            memcpy(&x, bytes + 4 * i, 4);
            if (!isfinite(x) || (nonneg && x < 0.0f)) return i;
        }
    }
    return n;
}

static const char *bad_float_kind(const unsigned char *bytes, size_t i) {
    float x;
    memcpy(&x, bytes + 4 * i, 4);
    return isnan(x) ? "NaN" : isinf(x) ? (x > 0 ? "+Inf" : "-Inf") : "a negative value";
}

/* Refuses to save a diverged run: the weights, the moments (v >= 0 too) and the validation loss
 * must be finite, or what is saved could never be loaded. Returns 0 or -1 with err set. */
static int check_saveable(const char *path, const GPT *m, const Trainer *tr, const CkptMeta *meta,
                          char *err, size_t err_size) {
    const TensorTable *params = &m->params;
    for (int k = 0; k < (tr ? 3 : 1); k++) {
        const float *block = k == 0 ? m->param_mem : k == 1 ? tr->m : tr->v;
        for (int i = 0; i < params->n; i++) {
            const Tensor *t = &params->t[i];
            const unsigned char *bytes = (const unsigned char *)(block + t->offset);
            size_t bad = first_bad_float(bytes, t->numel, k == 2);
            if (bad == t->numel) continue;
            return error_text(err, err_size, "%s: %s (training diverged); not saved (\"%s%s\" holds %s at index %zu)",
                              path, k == 0 ? "the model holds NaN/Inf" : "AdamW's moments hold NaN/Inf",
                              k == 0 ? "" : k == 1 ? "optimizer.m." : "optimizer.v.", t->name,
                              bad_float_kind(bytes, bad), bad);
        }
    }
    if (meta->has_val_loss && !isfinite(meta->val_loss))
        return error_text(err, err_size, "%s: the validation loss is %s (training diverged); not saved", path,
                          isnan(meta->val_loss) ? "NaN" : "infinite");
    return 0;
}

int ckpt_save(const char *path, const GPT *m, const Trainer *tr, const CkptMeta *meta, char *err,
              size_t err_size) {
    if (check_saveable(path, m, tr, meta, err, err_size) != 0) return -1;
    if (make_parent_dirs(path, err, err_size) != 0) return -1;
    const GPTConfig *c = &m->config;
    CHECK(meta->n_beside_task >= 0 && meta->n_beside_task <= meta->n_entries);
    MetaList l = {.items = xmalloc((size_t)(MAX_CORE_META + meta->n_entries) * sizeof(StMeta))};
    meta_add(&l, "format", "mingpt");
    meta_add(&l, "format_version", "%d", CKPT_FORMAT_VERSION);
    meta_add(&l, "n_layer", "%d", c->n_layer);
    meta_add(&l, "n_head", "%d", c->n_head);
    meta_add(&l, "n_embd", "%d", c->n_embd);
    meta_add(&l, "vocab_size", "%d", c->vocab_size);
    meta_add(&l, "block_size", "%d", c->block_size);
    meta_add(&l, "embd_pdrop", "%.9g", c->embd_pdrop);
    meta_add(&l, "resid_pdrop", "%.9g", c->resid_pdrop);
    meta_add(&l, "attn_pdrop", "%.9g", c->attn_pdrop);
    meta_add(&l, "task", "%s", meta->task);
    meta_add(&l, "step", "%ld", tr ? tr->step : meta->step);
    meta_add_entries(&l, meta, 0, meta->n_beside_task);
    if (meta->has_val_loss) meta_add(&l, "val_loss", "%.9g", meta->val_loss);
    if (meta->has_val_frac) meta_add(&l, "val_frac", "%.9g", meta->val_frac);
    meta_add(&l, "dropout_seed", "%016" PRIx64, m->dropout_seed);
    meta_add(&l, "dropout_pass", "%" PRIu64, m->pass);
    if (meta->has_data_rng)
        meta_add(&l, "data_rng", "%016" PRIx64 "%016" PRIx64 "%016" PRIx64 "%016" PRIx64,
                 meta->data_rng.s[0], meta->data_rng.s[1], meta->data_rng.s[2], meta->data_rng.s[3]);
    meta_add_entries(&l, meta, meta->n_beside_task, meta->n_entries);

    const TensorTable *params = &m->params;
    int n = params->n * (tr ? 3 : 1);
    StWriteTensor *tensors = xcalloc((size_t)n, sizeof *tensors);
    char (*names)[TENSOR_NAME_MAX + 16] = xcalloc((size_t)n, sizeof *names);
    for (int i = 0; i < params->n; i++) {
        const Tensor *t = &params->t[i];
        tensors[i] = (StWriteTensor){t->name, t->ndim, t->shape, m->param_mem + t->offset};
        if (!tr) continue;
        snprintf(names[params->n + i], sizeof names[0], "optimizer.m.%s", t->name);
        snprintf(names[2 * params->n + i], sizeof names[0], "optimizer.v.%s", t->name);
        tensors[params->n + i] = (StWriteTensor){names[params->n + i], t->ndim, t->shape, tr->m + t->offset};
        tensors[2 * params->n + i] =
            (StWriteTensor){names[2 * params->n + i], t->ndim, t->shape, tr->v + t->offset};
    }
    int rc = st_write(path, tensors, n, l.items, l.n, err, err_size);
    free(l.items);
    free(tensors);
    free(names);
    return rc;
}

/* ---------------------------------------------------------------- loading */

/* A metadata value fit for a one-line message (see json_printable). */
#define SHOW(value, buf) json_printable((value), strlen(value), (buf), sizeof(buf))

/* value (the metadata entry key of the checkpoint at path, NULL if absent) as an integer in [lo, hi]. */
static int parse_long(const char *path, const char *key, const char *value, long lo, long hi, long *out, char *err,
                      size_t err_size) {
    if (!value) return error_text(err, err_size, "%s: metadata has no \"%s\"", path, key);
    char *end, shown[64];
    errno = 0;
    long x = strtol(value, &end, 10);
    if (errno || end == value || *end || x < lo || x > hi)
        return error_text(err, err_size, "%s: metadata \"%s\" = \"%s\" is not an integer in [%ld, %ld]",
                       path, key, SHOW(value, shown), lo, hi);
    *out = x;
    return 0;
}

static int meta_long(const StFile *f, const char *key, long lo, long hi, long *out, char *err,
                     size_t err_size) {
    return parse_long(f->path, key, st_meta(f, key), lo, hi, out, err, err_size);
}

int ckpt_meta_get_long(const char *path, const CkptMeta *meta, const char *key, long lo, long hi, long *out,
                       char *err, size_t err_size) {
    return parse_long(path, key, ckpt_meta_get(meta, key, NULL), lo, hi, out, err, err_size);
}

static int meta_prob(const StFile *f, const char *key, float *out, char *err, size_t err_size) {
    const char *v = st_meta(f, key);
    if (!v) { /* dropout rates only matter for training; minGPT's default */
        *out = 0.1f;
        return 0;
    }
    char *end, shown[64];
    float x = strtof(v, &end);
    if (end == v || *end || !(x >= 0.0f && x < 1.0f))
        return error_text(err, err_size, "%s: metadata \"%s\" = \"%s\" is not a probability in [0, 1)",
                       f->path, key, SHOW(v, shown));
    *out = x;
    return 0;
}

static int parse_hex64(const char *s, uint64_t *out) {
    uint64_t x = 0;
    for (int i = 0; i < 16; i++) {
        char c = s[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (d < 0) return 0;
        x = (x << 4) | (uint64_t)d;
    }
    *out = x;
    return 1;
}

/* A name a task could have: 1 to CKPT_TASK_MAX letters, digits, '_', '-' or '.' (no NUL among the
 * len bytes), so that it fits CkptMeta.task and prints as it is. */
static int is_task_name(const char *s, size_t len) {
    if (len < 1 || len > CKPT_TASK_MAX) return 0;
    for (size_t i = 0; i < len; i++) {
        char ch = s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_' ||
              ch == '-' || ch == '.'))
            return 0;
    }
    return 1;
}

/* 1 if the folder holding path also holds a config.json: path is then the weights of a Hugging
 * Face model folder, which the folder itself names as a model. */
static int beside_config_json(const char *path) {
    const char *slash = strrchr(path, '/');
    size_t dir_len = slash ? (size_t)(slash - path) + 1 : 0;
    char *config = xmalloc(dir_len + sizeof "config.json");
    memcpy(config, path, dir_len);
    memcpy(config + dir_len, "config.json", sizeof "config.json");
    struct stat st;
    int found = stat(config, &st) == 0;
    free(config);
    return found;
}

static int read_meta(const StFile *f, GPTConfig *c, CkptMeta *meta, char *err, size_t err_size) {
    long v;
    char shown[64];
    memset(meta, 0, sizeof *meta);
    const char *format = st_meta(f, "format");
    if ((!format || strcmp(format, "pt") == 0) && beside_config_json(f->path)) /* save_pretrained writes "pt" */
        return error_text(err, err_size, "%s: a Hugging Face model file, not a mingpt checkpoint; give its folder, "
                          "which holds config.json beside it", f->path);
    if (format && strcmp(format, "mingpt") != 0)
        return error_text(err, err_size, "%s: metadata format is \"%s\", expected \"mingpt\"", f->path,
                       SHOW(format, shown));
    if (meta_long(f, "n_layer", 1, 256, &v, err, err_size)) return -1;
    c->n_layer = (int)v;
    if (meta_long(f, "n_head", 1, 256, &v, err, err_size)) return -1;
    c->n_head = (int)v;
    if (meta_long(f, "n_embd", 1, 16384, &v, err, err_size)) return -1;
    c->n_embd = (int)v;
    if (meta_long(f, "vocab_size", 1, 1 << 22, &v, err, err_size)) return -1;
    c->vocab_size = (int)v;
    if (meta_long(f, "block_size", 1, 16384, &v, err, err_size)) return -1;
    c->block_size = (int)v;
    if (meta_prob(f, "embd_pdrop", &c->embd_pdrop, err, err_size) ||
        meta_prob(f, "resid_pdrop", &c->resid_pdrop, err, err_size) ||
        meta_prob(f, "attn_pdrop", &c->attn_pdrop, err, err_size))
        return -1;
    const char *bad = gpt_config_error(c);
    if (bad) return error_text(err, err_size, "%s: bad config: %s", f->path, bad);

    size_t task_len;
    const char *task = st_meta_n(f, "task", &task_len);
    if (!task) return error_text(err, err_size, "%s: metadata has no \"task\"", f->path);
    if (!is_task_name(task, task_len))
        return error_text(err, err_size, "%s: unknown task \"%s\" (not a task name: 1 to %d letters, digits, '_', "
                          "'-' or '.')", f->path, SHOW(task, shown), CKPT_TASK_MAX);
    memcpy(meta->task, task, task_len + 1);
    meta->step = 0;
    if (st_meta(f, "step") && meta_long(f, "step", 0, 1L << 40, &meta->step, err, err_size)) return -1;
    if (st_meta(f, "val_frac")) {
        if (meta_prob(f, "val_frac", &meta->val_frac, err, err_size)) return -1;
        meta->has_val_frac = 1;
    }
    const char *val = st_meta(f, "val_loss");
    if (val) { /* a NaN here would make the next save of a resumed run fail */
        char *end;
        meta->val_loss = strtod(val, &end);
        if (end == val || *end || !isfinite(meta->val_loss))
            return error_text(err, err_size, "%s: metadata \"val_loss\" = \"%s\" is not a finite number",
                              f->path, SHOW(val, shown));
        meta->has_val_loss = 1;
    }
    /* any moment at all means the file claims AdamW's state; ckpt_load then wants all of it */
    for (int i = 0; i < f->n_tensors && !meta->has_optimizer; i++)
        meta->has_optimizer = strncmp(f->tensors[i].name, "optimizer.m.", 12) == 0 ||
                              strncmp(f->tensors[i].name, "optimizer.v.", 12) == 0;
    const char *rng = st_meta(f, "data_rng");
    if (rng) {
        if (strlen(rng) != 64 || !parse_hex64(rng, &meta->data_rng.s[0]) ||
            !parse_hex64(rng + 16, &meta->data_rng.s[1]) || !parse_hex64(rng + 32, &meta->data_rng.s[2]) ||
            !parse_hex64(rng + 48, &meta->data_rng.s[3]))
            return error_text(err, err_size, "%s: metadata \"data_rng\" is malformed", f->path);
        meta->has_data_rng = 1;
    }
    /* the rest is the task's, for it to read and check; an entry before the training state is
     * written back there (CkptPlace) */
    int after_state = 0;
    for (int i = 0; i < f->n_meta; i++) {
        const StMeta *e = &f->meta[i];
        int part = core_part(e->key);
        after_state |= part == CORE_STATE;
        if (part == NOT_CORE) ckpt_meta_set(meta, e->key, e->value, e->len, after_state ? CKPT_LAST : CKPT_BESIDE_TASK);
    }
    return 0;
}

int ckpt_peek(const char *path, GPTConfig *config, CkptMeta *meta, char *err, size_t err_size) {
    StFile f;
    if (st_open_header(&f, path, err, err_size) != 0) return -1;
    memset(config, 0, sizeof *config);
    int rc = read_meta(&f, config, meta, err, err_size);
    if (rc != 0) ckpt_meta_free(meta);
    st_close(&f);
    return rc;
}

/* Names that belong to the model's namespace but are not parameters: minGPT's causal-mask buffer
 * (transformer.h.N.attn.bias, in a PyTorch state_dict) and Hugging Face GPT-2's masked_bias. */
static int is_ignored_buffer(const char *name) {
    size_t n = strlen(name);
    return strncmp(name, "transformer.h.", 14) == 0 &&
           ((n > 10 && strcmp(name + n - 10, ".attn.bias") == 0) ||
            (n > 17 && strcmp(name + n - 17, ".attn.masked_bias") == 0));
}

static int cmp_names(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Every tensor of the file under the model's names (transformer.*, lm_head.*, optimizer.m.*,
 * optimizer.v.*) must be a parameter or a moment of m: a weight with no place in the model (a
 * layer more than n_layer says, a misspelt name) is refused rather than silently dropped. Other
 * names, and the buffers above, are ignored, as PyTorch's load_state_dict(strict=False) would. */
static int check_no_stray_tensors(const StFile *f, const GPT *m, char *err, size_t err_size) {
    const TensorTable *params = &m->params;
    const char **sorted = xmalloc((size_t)params->n * sizeof *sorted);
    for (int i = 0; i < params->n; i++) sorted[i] = params->t[i].name;
    qsort(sorted, (size_t)params->n, sizeof *sorted, cmp_names);
    int rc = 0;
    for (int i = 0; i < f->n_tensors && rc == 0; i++) {
        const char *name = f->tensors[i].name, *param = name;
        if (strncmp(name, "optimizer.m.", 12) == 0 || strncmp(name, "optimizer.v.", 12) == 0) param = name + 12;
        else if ((strncmp(name, "transformer.", 12) != 0 && strncmp(name, "lm_head.", 8) != 0) ||
                 is_ignored_buffer(name))
            continue;
        if (bsearch(&param, sorted, (size_t)params->n, sizeof *sorted, cmp_names)) continue;
        const GPTConfig *c = &m->config;
        char shown[128];
        rc = error_text(err, err_size,
                        "%s: tensor \"%s\" has no place in the model the metadata describes (n_layer %d, "
                        "n_head %d, n_embd %d, vocab_size %d, block_size %d)",
                        f->path, SHOW(name, shown), c->n_layer, c->n_head, c->n_embd, c->vocab_size, c->block_size);
    }
    free(sorted);
    return rc;
}

/* -1 with err set if bytes[0..4n), elements [base, base+n) of the tensor `name`, hold a NaN or
 * an infinity (with nonneg, or a negative value); else 0. */
static int refuse_bad_floats(const StFile *f, const char *name, const unsigned char *bytes, size_t n, size_t base,
                             int nonneg, char *err, size_t err_size) {
    size_t bad = first_bad_float(bytes, n, nonneg);
    if (bad == n) return 0;
    const char *kind = bad_float_kind(bytes, bad);
    if (kind[0] == 'a')
        return error_text(err, err_size, "%s: tensor \"%s\" holds a negative value at index %zu, which AdamW's "
                          "second moment never has; this checkpoint cannot be used", f->path, name, base + bad);
    return error_text(err, err_size, "%s: tensor \"%s\" holds %s at index %zu (a diverged run?); this "
                      "checkpoint cannot be used", f->path, name, kind, base + bad);
}

/* The F32 moment `name` with t's shape, checked to be all finite (and >= 0 with nonneg) and, if
 * dst is not NULL, copied into it (t->numel floats); its pages are released after, so each is read
 * once. Returns 0, or -1 with err set. */
static int read_moment(const StFile *f, const char *name, const Tensor *t, int nonneg, float *dst, char *err,
                       size_t err_size) {
    const unsigned char *bytes = st_f32_bytes(f, name, t->ndim, t->shape, err, err_size);
    if (!bytes) return -1;
    int bad = refuse_bad_floats(f, name, bytes, t->numel, 0, nonneg, err, err_size);
    if (!bad && dst) memcpy(dst, bytes, t->numel * sizeof(float)); /* little-endian, as st_read_f32 reads */
    st_release(f, bytes, t->numel * sizeof(float));
    return bad;
}

#define PIECE_BYTES ((size_t)4 << 20) /* what loading holds of the file at a time, about */

/* Parameter i of m from the file, checked (shape, dtype, finiteness) and written where m keeps it
 * (plainly, or packed for an inference model) a piece of rows at a time, each piece released
 * after use: loading holds the model and one piece of the file, never the file. Returns 0, or -1
 * with err set. */
static int load_param(const StFile *f, GPT *m, int i, char *err, size_t err_size) {
    const Tensor *t = &m->params.t[i];
    const unsigned char *bytes = st_f32_bytes(f, t->name, t->ndim, t->shape, err, err_size);
    if (!bytes) return -1;
    size_t rows = (size_t)gpt_param_rows(m, i, 0), row_floats = t->numel / rows;
    size_t step = MG_MAX((size_t)1, PIECE_BYTES / (row_floats * sizeof(float)));
    for (size_t r0 = 0; r0 < rows; r0 += step) {
        size_t r1 = MG_MIN(rows, r0 + step);
        const unsigned char *piece = bytes + r0 * row_floats * sizeof(float);
        if (refuse_bad_floats(f, t->name, piece, (r1 - r0) * row_floats, r0 * row_floats, 0, err, err_size))
            return -1;
        gpt_load_rows(m, i, piece, r0, r1, 0);
        st_release(f, piece, (r1 - r0) * row_floats * sizeof(float));
    }
    return 0;
}

/* What ckpt_load hands to st_guarded: everything the reading of the tensors needs and leaves. */
typedef struct {
    StFile *f;
    GPT *m;
    CkptMeta *meta;
    Trainer *tr;
    const TrainConfig *train_config;
    long dropout_pass;
    char *err;
    size_t err_size;
    int trainer_ready; /* tr was initialised: free it if the reading is abandoned */
} LoadJob;

/* The weights into job->m, the moments checked and (with a trainer) read: the part of ckpt_load
 * that reads the mapped file. Returns 0, or -1 with the error in job->err. */
static int load_tensors(void *ctx) {
    LoadJob *job = ctx;
    StFile *f = job->f;
    GPT *m = job->m;
    CkptMeta *meta = job->meta;
    Trainer *tr = job->tr;
    const TrainConfig *train_config = job->train_config;
    char *err = job->err;
    size_t err_size = job->err_size;
    for (int i = 0; i < m->params.n; i++)
        if (load_param(f, m, i, err, err_size) != 0) return -1;
    gpt_weights_changed(m);
    if (tr) {
        trainer_init(tr, m, train_config);
        job->trainer_ready = 1;
    }
    /* AdamW's state is all there or not at all: with any moment in the file, a missing one is an
     * error (it used to drop the whole state and restart at step 0 without a word). The moments
     * are checked even without a trainer, so that a file loads for sampling only if it would also
     * load for training; a trainer gets each as it is checked, so the file is read once. */
    if (meta->has_optimizer) {
        char name[TENSOR_NAME_MAX + 16];
        for (int k = 0; k < 2; k++)
            for (int i = 0; i < m->params.n; i++) {
                const Tensor *t = &m->params.t[i];
                snprintf(name, sizeof name, "optimizer.%c.%s", k == 0 ? 'm' : 'v', t->name);
                if (!st_find(f, name)) {
                    error_text(err, err_size, "%s: missing tensor \"%s\": the file holds some of AdamW's "
                               "moments but not all (they are saved for every parameter or for none)", f->path, name);
                    return -1;
                }
                float *dst = tr ? (k == 0 ? tr->m : tr->v) + t->offset : NULL;
                if (read_moment(f, name, t, k == 1, dst, err, err_size) != 0) return -1;
            }
        if (tr) {
            tr->step = meta->step;
            m->pass = (uint64_t)job->dropout_pass;
        }
    } else if (tr) {
        meta->has_data_rng = 0; /* a fresh optimizer starts a fresh run */
    }
    return 0;
}

GPT *ckpt_load(const char *path, Pool *pool, CkptMeta *meta, Trainer *tr,
               const TrainConfig *train_config, char *err, size_t err_size) {
    StFile f;
    if (st_open(&f, path, err, err_size) != 0) return NULL;
    GPTConfig config = {0};
    GPT *m = NULL;
    if (read_meta(&f, &config, meta, err, err_size) != 0) goto fail;
    /* Every weight must be present with the config's shape before anything large is allocated;
     * the file's size bounds the model's, since each weight is stored in it. */
    if (xmul_size(gpt_count_params(&config), sizeof(float)) > f.data_size) {
        error_text(err, err_size, "%s: the config needs %zu parameters but the file holds only %zu bytes of data",
                path, gpt_count_params(&config), f.data_size);
        goto fail;
    }
    /* the dropout state matters only to a trainer, but a file is checked the same way for every
     * use: one that loads for sampling loads for training too */
    uint64_t dropout_seed = 0x6D696E677074ull; /* a file without it (PyTorch's) gets a fixed one */
    long dropout_pass = 0;
    const char *seed = st_meta(&f, "dropout_seed");
    if (seed && (strlen(seed) != 16 || !parse_hex64(seed, &dropout_seed))) {
        error_text(err, err_size, "%s: metadata \"dropout_seed\" is malformed (16 hex digits expected)", path);
        goto fail;
    }
    if (st_meta(&f, "dropout_pass") && meta_long(&f, "dropout_pass", 0, LONG_MAX, &dropout_pass, err, err_size) != 0)
        goto fail;
    /* every weight is read below: no init needed; without a trainer, the model only runs */
    m = tr ? gpt_create(&config, pool) : gpt_create_inference(&config, pool, 0);
    if (check_no_stray_tensors(&f, m, err, err_size) != 0) goto fail;
    m->dropout_seed = dropout_seed;
    LoadJob job = {&f, m, meta, tr, train_config, dropout_pass, err, err_size, 0};
    if (st_guarded(&f, load_tensors, &job, err, err_size) != 0) {
        if (job.trainer_ready) trainer_free(tr);
        goto fail;
    }
    st_close(&f);
    return m;
fail:
    gpt_free(m);
    ckpt_meta_free(meta);
    st_close(&f);
    return NULL;
}
