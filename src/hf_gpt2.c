/* hf_gpt2.c — a Hugging Face GPT-2 folder into the parameter table by name (see hf_gpt2.h), the
 * C side of minGPT's GPT.from_pretrained: the config from config.json instead of a model_type
 * table, the same names, the same four transposed Conv1D weights, the same ignored buffers. What
 * from_pretrained leaves to an assert (a shape, a name) is a one-line error here, and a tensor the
 * model has no place for is refused rather than dropped.
 */
#include "hf_gpt2.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"
#include "files.h"
#include "json.h"
#include "safetensors.h"

#define CONFIG_MAX_BYTES (1u << 20)
#define PREFIX "transformer."
#define PREFIX_LEN 12

/* A value from a file, fit for a one-line message. */
#define SHOW(s, n, buf) json_printable((s), (n), (buf), sizeof(buf))

static char *join(const char *dir, const char *file) {
    size_t n = strlen(dir) + strlen(file) + 2;
    char *p = xmalloc(n);
    snprintf(p, n, "%s%s%s", dir, dir[0] && dir[strlen(dir) - 1] == '/' ? "" : "/", file);
    return p;
}

int hf_gpt2_is_folder(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* ---------------------------------------------------------------- config.json */

/* The whole of a small regular file, NUL-terminated; NULL with err set. A FIFO or a folder in its
 * place is refused rather than read (a FIFO with no writer would block forever). */
static char *read_small(const char *path, size_t *n, char *err, size_t err_size) {
    int fd = open_input(path, 0, err, err_size);
    if (fd < 0) return NULL;
    char *buf = xmalloc(CONFIG_MAX_BYTES + 1);
    size_t got = 0;
    int bad = 0;
    while (got <= CONFIG_MAX_BYTES) {
        ssize_t k = read(fd, buf + got, CONFIG_MAX_BYTES + 1 - got);
        if (k < 0 && errno == EINTR) continue;
        if (k < 0) bad = errno;
        if (k <= 0) break;
        got += (size_t)k;
    }
    close(fd);
    if (bad || got > CONFIG_MAX_BYTES) {
        if (bad) error_text(err, err_size, "%s: read error: %s", path, strerror(bad));
        else error_text(err, err_size, "%s: larger than 1 MiB; not a GPT-2 config", path);
        free(buf);
        return NULL;
    }
    buf[got] = '\0';
    *n = got;
    return buf;
}

/* config[key], a plain integer in [lo, hi]. */
static int config_int(const char *path, const JsonValue *root, const char *key, long lo, long hi, int *out,
                      char *err, size_t err_size) {
    const JsonValue *v = json_get(root, key);
    uint64_t x;
    if (!v) return error_text(err, err_size, "%s: has no \"%s\"", path, key);
    if (!json_uint(v, &x) || x < (uint64_t)lo || x > (uint64_t)hi)
        return error_text(err, err_size, "%s: \"%s\" is not an integer in [%ld, %ld]", path, key, lo, hi);
    *out = (int)x;
    return 0;
}

/* config[key], when present, must be the string want. */
static int config_string_is(const char *path, const JsonValue *root, const char *key, const char *want,
                            const char *why, char *err, size_t err_size) {
    const JsonValue *v = json_get(root, key);
    if (!v || (v->type == JSON_STRING && strcmp(v->str, want) == 0)) return 0;
    char shown[64];
    if (v->type != JSON_STRING)
        return error_text(err, err_size, "%s: \"%s\" is not a string (expected \"%s\")", path, key, want);
    return error_text(err, err_size, "%s: \"%s\" is \"%s\"; %s", path, key, SHOW(v->str, v->len, shown), why);
}

/* config[key], when present, must be the boolean want. */
static int config_bool_is(const char *path, const JsonValue *root, const char *key, int want, char *err,
                          size_t err_size) {
    const JsonValue *v = json_get(root, key);
    if (!v || v->type == (want ? JSON_TRUE : JSON_FALSE)) return 0;
    return error_text(err, err_size, "%s: \"%s\" must be %s for GPT-2 as minGPT computes it", path, key,
                      want ? "true" : "false");
}

static int check_config(const char *path, const JsonValue *root, GPTConfig *c, char *err, size_t err_size) {
    if (root->type != JSON_OBJECT) return error_text(err, err_size, "%s: not a JSON object", path);
    const JsonValue *type = json_get(root, "model_type");
    if (!type) return error_text(err, err_size, "%s: has no \"model_type\" (a GPT-2 config says \"gpt2\")", path);
    if (config_string_is(path, root, "model_type", "gpt2", "only GPT-2 (\"gpt2\") is supported", err, err_size))
        return -1;
    const JsonValue *arch = json_get(root, "architectures");
    if (arch && arch->type != JSON_NULL) {
        if (arch->type != JSON_ARRAY) return error_text(err, err_size, "%s: \"architectures\" is not an array", path);
        for (uint32_t i = 0; i < arch->n; i++) {
            const JsonValue *a = &arch->items[i];
            char shown[64];
            if (a->type == JSON_STRING && (strcmp(a->str, "GPT2LMHeadModel") == 0 || strcmp(a->str, "GPT2Model") == 0))
                continue;
            return error_text(err, err_size, "%s: architecture \"%s\" is not supported (GPT2LMHeadModel or GPT2Model)",
                              path, a->type == JSON_STRING ? SHOW(a->str, a->len, shown) : "(not a string)");
        }
    }
    if (config_string_is(path, root, "activation_function", "gelu_new",
                         "minGPT's GPT-2 uses gelu_new (NewGELU, the tanh approximation) only", err, err_size) ||
        config_bool_is(path, root, "scale_attn_weights", 1, err, err_size) ||
        config_bool_is(path, root, "scale_attn_by_inverse_layer_idx", 0, err, err_size) ||
        config_bool_is(path, root, "add_cross_attention", 0, err, err_size))
        return -1;
    const JsonValue *eps = json_get(root, "layer_norm_epsilon");
    if (eps && !(eps->type == JSON_NUMBER && strtod(eps->str, NULL) == 1e-5))
        return error_text(err, err_size, "%s: \"layer_norm_epsilon\" must be 1e-05 (mingpt's LayerNorm)", path);
    memset(c, 0, sizeof *c);
    if (config_int(path, root, "n_layer", 1, 256, &c->n_layer, err, err_size) ||
        config_int(path, root, "n_head", 1, 256, &c->n_head, err, err_size) ||
        config_int(path, root, "n_embd", 1, 16384, &c->n_embd, err, err_size) ||
        config_int(path, root, "n_positions", 1, 16384, &c->block_size, err, err_size) ||
        config_int(path, root, "vocab_size", 1, 1 << 22, &c->vocab_size, err, err_size))
        return -1;
    const JsonValue *inner = json_get(root, "n_inner");
    uint64_t n_inner;
    if (inner && inner->type != JSON_NULL && !(json_uint(inner, &n_inner) && n_inner == 4 * (uint64_t)c->n_embd))
        return error_text(err, err_size, "%s: \"n_inner\" must be null or 4*n_embd = %d", path, 4 * c->n_embd);
    const char *bad = gpt_config_error(c);
    if (bad) return error_text(err, err_size, "%s: bad config: %s", path, bad);
    return 0; /* dropout stays 0: this model only runs inference */
}

int hf_gpt2_parse_config(const char *path, const char *text, size_t n, GPTConfig *config, char *err,
                         size_t err_size) {
    char jerr[128];
    JsonValue *root = json_parse(text, n, jerr, sizeof jerr);
    int rc = root ? check_config(path, root, config, err, err_size)
                  : error_text(err, err_size, "%s: malformed JSON (%s)", path, jerr);
    json_free(root);
    return rc;
}

int hf_gpt2_read_config(const char *dir, GPTConfig *config, char *err, size_t err_size) {
    char *path = join(dir, "config.json");
    size_t n;
    struct stat st;
    if (lstat(path, &st) != 0 && errno == ENOENT) {
        error_text(err, err_size, "%s: a folder without config.json; a GPT-2 model folder holds config.json and "
                   "model.safetensors (a mingpt checkpoint is one .safetensors file)", dir);
        free(path);
        return -1;
    }
    char *text = read_small(path, &n, err, err_size);
    int rc = text ? hf_gpt2_parse_config(path, text, n, config, err, err_size) : -1;
    free(text);
    free(path);
    return rc;
}

/* ---------------------------------------------------------------- tensor names */

/* The per-layer parameters, by their name after "h.N." (Hugging Face's and minGPT's alike). */
static const char *const BLOCK_PARAMS[] = {
    "ln_1.weight", "ln_1.bias", "attn.c_attn.weight", "attn.c_attn.bias", "attn.c_proj.weight", "attn.c_proj.bias",
    "ln_2.weight", "ln_2.bias", "mlp.c_fc.weight",    "mlp.c_fc.bias",    "mlp.c_proj.weight",  "mlp.c_proj.bias",
};

/* "h.N." with N a layer index below n_layer: the rest of the name, or NULL. */
static const char *after_layer(const char *name, int n_layer) {
    if (strncmp(name, "h.", 2) != 0 || name[2] < '0' || name[2] > '9') return NULL;
    char *end;
    errno = 0;
    long l = strtol(name + 2, &end, 10);
    if (errno || *end != '.' || l >= n_layer || (name[2] == '0' && end != name + 3)) return NULL;
    return end + 1;
}

/* Conv1D weights, stored (in, out): the four that from_pretrained transposes. */
static int is_conv1d(const char *rest) {
    return strcmp(rest, "attn.c_attn.weight") == 0 || strcmp(rest, "attn.c_proj.weight") == 0 ||
           strcmp(rest, "mlp.c_fc.weight") == 0 || strcmp(rest, "mlp.c_proj.weight") == 0;
}

enum { NAME_UNKNOWN, NAME_PARAM, NAME_BUFFER, NAME_LM_HEAD };

/* What a tensor of the file is (name without the prefix in unprefixed). */
static int classify(const char *name, int n_layer, int *prefixed) {
    *prefixed = strncmp(name, PREFIX, PREFIX_LEN) == 0;
    const char *s = *prefixed ? name + PREFIX_LEN : name;
    if (!*prefixed && strcmp(s, "lm_head.weight") == 0) return NAME_LM_HEAD;
    if (strcmp(s, "wte.weight") == 0 || strcmp(s, "wpe.weight") == 0 || strcmp(s, "ln_f.weight") == 0 ||
        strcmp(s, "ln_f.bias") == 0)
        return NAME_PARAM;
    const char *rest = after_layer(s, n_layer);
    if (!rest) return NAME_UNKNOWN;
    if (strcmp(rest, "attn.bias") == 0 || strcmp(rest, "attn.masked_bias") == 0) return NAME_BUFFER;
    for (size_t i = 0; i < sizeof BLOCK_PARAMS / sizeof *BLOCK_PARAMS; i++)
        if (strcmp(rest, BLOCK_PARAMS[i]) == 0) return NAME_PARAM;
    return NAME_UNKNOWN;
}

/* Every tensor of f must be a parameter, a buffer or lm_head.weight of this config. */
static int check_names(const StFile *f, const GPTConfig *c, HfGpt2Contents *out, char *err, size_t err_size) {
    memset(out, 0, sizeof *out);
    out->n_tensors = f->n_tensors;
    for (int i = 0; i < f->n_tensors; i++) {
        const char *name = f->tensors[i].name;
        int prefixed, kind = classify(name, c->n_layer, &prefixed);
        char shown[128];
        if (kind == NAME_UNKNOWN)
            return error_text(err, err_size,
                              "%s: tensor \"%s\" has no place in GPT-2 as config.json describes it (n_layer %d)",
                              f->path, SHOW(name, strlen(name), shown), c->n_layer);
        out->prefixed |= prefixed;
        out->n_buffers += kind == NAME_BUFFER;
        out->has_lm_head |= kind == NAME_LM_HEAD;
    }
    return 0;
}

/* Conv1D weights, stored (in, out), by the minGPT name of the parameter. */
static int is_conv1d_param(const char *name) {
    const char *bare = strncmp(name, PREFIX, PREFIX_LEN) == 0 ? name + PREFIX_LEN : name;
    const char *rest = after_layer(bare, 1 << 30);
    return rest && is_conv1d(rest);
}

/* Where parameter t is in f: under its name with or without the prefix (*name; NULL if under
 * neither), and the shape the file must give it (shape: a Conv1D weight's is transposed, *conv).
 * Returns 0, or -1 with err when the file has it under both names. */
static int locate_param(const StFile *f, const Tensor *t, const char **name, size_t shape[TENSOR_MAX_DIMS], int *conv,
                        char *err, size_t err_size) {
    const char *bare = strncmp(t->name, PREFIX, PREFIX_LEN) == 0 ? t->name + PREFIX_LEN : t->name;
    const StTensor *with = st_find(f, t->name), *without = bare != t->name ? st_find(f, bare) : NULL;
    if (with && without)
        return error_text(err, err_size, "%s: holds both \"%s\" and \"%s\"; which one is meant?", f->path, t->name,
                          bare);
    *name = with ? t->name : without ? bare : NULL;
    *conv = is_conv1d_param(t->name);
    memcpy(shape, t->shape, TENSOR_MAX_DIMS * sizeof *shape);
    if (*conv) { /* Conv1D stores (in, out) */
        shape[0] = t->shape[1];
        shape[1] = t->shape[0];
    }
    return 0;
}

/* The whole header of f against config, before anything the size of the model is allocated: no
 * unknown tensor (check_names), and every parameter present once (with or without the prefix;
 * lm_head.weight may be absent: tied to wte), F32, of config's shape. */
static int check_tensors(const StFile *f, const GPTConfig *c, HfGpt2Contents *out, char *err, size_t err_size) {
    if (check_names(f, c, out, err, err_size) != 0) return -1;
    TensorTable table;
    gpt_param_table(c, &table);
    int rc = 0;
    for (int i = 0; rc == 0 && i < table.n; i++) {
        const Tensor *t = &table.t[i];
        const char *name;
        size_t shape[TENSOR_MAX_DIMS];
        int conv;
        if ((rc = locate_param(f, t, &name, shape, &conv, err, err_size)) != 0) break;
        if (name) rc = st_check_f32(f, name, t->ndim, shape, err, err_size);
        else if (strcmp(t->name, "lm_head.weight") != 0)
            rc = error_text(err, err_size, "%s: missing tensor \"%s\" (or \"%s\")", f->path,
                            strncmp(t->name, PREFIX, PREFIX_LEN) == 0 ? t->name + PREFIX_LEN : t->name, t->name);
    }
    table_free(&table);
    return rc;
}

int hf_gpt2_peek(const char *dir, const GPTConfig *config, HfGpt2Contents *contents, char *err, size_t err_size) {
    char *path = join(dir, "model.safetensors");
    StFile f;
    int rc = st_open_header(&f, path, err, err_size);
    free(path);
    if (rc != 0) return -1;
    rc = check_tensors(&f, config, contents, err, err_size);
    st_close(&f);
    return rc;
}

/* ---------------------------------------------------------------- weights */

/* The index of the first NaN or infinite float in bytes[0..4n), or n (read with memcpy: a tensor
 * in a file need not be 4-byte aligned). */
static size_t first_nonfinite(const unsigned char *bytes, size_t n) {
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, bytes + 4 * i, 4);
        if ((u & 0x7F800000u) == 0x7F800000u) return i;
    }
    return n;
}

#define PIECE_BYTES ((size_t)4 << 20) /* what loading holds of the file at a time, about */

/* Parameter i of m from f: found under its name with or without the prefix, checked (dtype, shape
 * — transposed for Conv1D — and finiteness) and written where m keeps it, a piece of the file's
 * rows at a time, each piece released after use (st_release), so that loading holds the model and
 * one piece of the file. *absent is set, and 0 returned, when it is not in the file at all. */
static int load_param(const StFile *f, GPT *m, int i, int *absent, char *err, size_t err_size) {
    const Tensor *t = &m->params.t[i];
    const char *name;
    size_t shape[TENSOR_MAX_DIMS];
    int conv;
    if (locate_param(f, t, &name, shape, &conv, err, err_size) != 0) return -1;
    *absent = name == NULL;
    if (!name) return 0;
    const unsigned char *bytes = st_f32_bytes(f, name, t->ndim, shape, err, err_size);
    if (!bytes) return -1;
    size_t rows = (size_t)gpt_param_rows(m, i, conv), row_bytes = t->numel / rows * sizeof(float);
    size_t step = MG_MAX((size_t)1, PIECE_BYTES / row_bytes);
    for (size_t r0 = 0; r0 < rows; r0 += step) {
        size_t r1 = MG_MIN(rows, r0 + step), n = (r1 - r0) * row_bytes / sizeof(float);
        const unsigned char *piece = bytes + r0 * row_bytes;
        size_t bad = first_nonfinite(piece, n);
        if (bad < n) {
            float x;
            memcpy(&x, piece + 4 * bad, 4);
            return error_text(err, err_size, "%s: tensor \"%s\" holds %s at index %zu; this model cannot be used",
                              f->path, name, isnan(x) ? "NaN" : x > 0 ? "+Inf" : "-Inf",
                              r0 * row_bytes / sizeof(float) + bad);
        }
        gpt_load_rows(m, i, piece, r0, r1, conv); /* a Conv1D's rows are those of the Linear's transpose */
        st_release(f, piece, n * sizeof(float));
    }
    return 0;
}

typedef struct {
    const StFile *f;
    GPT *m;
    char *err;
    size_t err_size;
} LoadJob;

/* Every weight from the mapped file into job->m (st_guarded runs it). Returns 0, or -1 with the
 * error in job->err. */
static int load_weights(void *ctx) {
    LoadJob *job = ctx;
    GPT *m = job->m;
    for (int i = 0; i < m->params.n; i++) {
        const Tensor *t = &m->params.t[i];
        int absent;
        if (load_param(job->f, m, i, &absent, job->err, job->err_size) != 0) return -1;
        /* check_tensors let only lm_head.weight be absent, and then the model ties it to wte */
        CHECK(!absent || (m->tied && t->data == m->w.lm_head_w));
    }
    gpt_weights_changed(m);
    return 0;
}

GPT *hf_gpt2_load(const char *dir, Pool *pool, HfGpt2Contents *contents, char *err, size_t err_size) {
    GPTConfig config;
    if (hf_gpt2_read_config(dir, &config, err, err_size) != 0) return NULL;
    char *path = join(dir, "model.safetensors");
    struct stat st;
    if (stat(path, &st) != 0) {
        char *bin = join(dir, "pytorch_model.bin");
        int has_bin = stat(bin, &st) == 0;
        free(bin);
        if (has_bin) {
            error_text(err, err_size, "%s: missing; the folder has only pytorch_model.bin (PyTorch's pickle "
                       "format), which mingpt does not read: download model.safetensors", path);
            free(path);
            return NULL;
        }
    }
    StFile f;
    int rc = st_open(&f, path, err, err_size);
    free(path);
    if (rc != 0) return NULL;
    HfGpt2Contents found;
    GPT *m = NULL;
    if (check_tensors(&f, &config, &found, err, err_size) != 0) goto fail;
    /* every weight is read below: no init needed. Without lm_head.weight, GPT-2 ties it to wte
     * (from_pretrained copies it): one matrix, stored once. */
    m = gpt_create_inference(&config, pool, !found.has_lm_head);
    LoadJob job = {&f, m, err, err_size};
    if (st_guarded(&f, load_weights, &job, err, err_size) != 0) goto fail;
    if (contents) *contents = found;
    st_close(&f);
    return m;
fail:
    gpt_free(m);
    st_close(&f);
    return NULL;
}
