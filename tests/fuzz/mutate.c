/* mutate.c — a mutation test of everything that reads a checkpoint or a Hugging Face GPT-2
 * folder. Two small valid chars checkpoints (one with AdamW's moments, one with weights only) are
 * damaged in thousands of deterministic ways: byte flips in the header and in the data,
 * truncations, a wrong header length, duplicated and renamed keys, shape edits, metadata edits,
 * dropped and stray tensors, NaN/Inf in weights and moments. Each mutant goes through ckpt_peek
 * and ckpt_load (with and without a Trainer) in this process, and every STRIDE-th also through the
 * binary (info, sample, eval).
 *
 * Then 400 Hugging Face GPT-2 folders, damaged in config.json, the tokenizer's files and
 * model.safetensors, go through the readers and info, sample, eval and train --init (also told to
 * write into the folder) (see
 * folder_mutants below for what is damaged and what must hold).
 *
 * The checkpoints' properties: no crash, no sanitizer report, no hang (an alarm, a timeout for the
 * binary); every refusal is one line naming the file, with no control character in it; loading
 * with and without a Trainer agree; info succeeds exactly when ckpt_peek and the task's check of its metadata
 * (task_peek_checkpoint) do; a load that succeeds has passed ckpt_peek, holds only finite weights (and
 * finite moments, v >= 0) and the config its metadata states. Prints how many mutants loaded and
 * why the others were refused; exits 1 on the first broken property. Run by `make mutate` on the
 * ASan+UBSan build.
 *
 * usage: mutate MINGPT_BINARY [mutants (3600)] [binary runs (240)] [folders (400)]
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "checkpoint.h"
#include "common.h"
#include "hf_gpt2.h"
#include "rng.h"
#include "safetensors.h"
#include "task_common.h"
#include "task_table.h"
#include "tokenizer.h"
#include "utf8.h"

extern char **environ;

static char dir[] = "/tmp/mingpt-mutate-XXXXXX";
static const char *binary;
static Pool *pool;
static long mutant_id; /* for failure messages */
static const char *mutant_what;

static int keep_dir; /* a property broke: leave the mutant for a look */

static void cleanup(void) {
    if (keep_dir) return;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
}

#define PROPERTY(cond, ...)                                                                          \
    do {                                                                                             \
        if (!(cond)) {                                                                               \
            printf("mutant %ld (%s): property broken: %s\n    ", mutant_id, mutant_what, #cond);     \
            printf(__VA_ARGS__);                                                                     \
            printf("\n    (the mutant is kept in %s)\n", dir);                                       \
            keep_dir = 1;                                                                            \
            exit(1);                                                                                 \
        }                                                                                            \
    } while (0)

/* ---------------------------------------------------------------- a checkpoint as parts */

typedef struct {
    char name[160];
    char dtype[8];
    int ndim;
    size_t shape[ST_MAX_DIMS];
    unsigned char *data;
    size_t bytes;
} Part;

typedef struct {
    char key[64];
    char value[256];
    size_t len;
} MetaPart;

typedef struct {
    Part t[96];
    int n;
    MetaPart meta[32];
    int n_meta;
} Parts;

typedef struct {
    unsigned char *p;
    size_t len, cap;
} Buf;

static void put(Buf *b, const void *s, size_t n) {
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n) cap *= 2;
        unsigned char *grown = realloc(b->p, cap);
        CHECK(grown != NULL);
        b->p = grown;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

static void puts_(Buf *b, const char *s) { put(b, s, strlen(s)); }

static void put_json_string(Buf *b, const char *s, size_t n) {
    puts_(b, "\"");
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[8];
        if (c == '"' || c == '\\') snprintf(esc, sizeof esc, "\\%c", c);
        else if (c < 0x20) snprintf(esc, sizeof esc, "\\u%04x", c);
        else snprintf(esc, sizeof esc, "%c", c);
        puts_(b, esc);
    }
    puts_(b, "\"");
}

/* The file: header length, JSON header (offsets follow the parts' sizes), data. */
static void serialize(const Parts *ps, Buf *out) {
    Buf h = {0};
    char num[64];
    puts_(&h, "{\"__metadata__\":{");
    for (int i = 0; i < ps->n_meta; i++) {
        if (i) puts_(&h, ",");
        put_json_string(&h, ps->meta[i].key, strlen(ps->meta[i].key));
        puts_(&h, ":");
        put_json_string(&h, ps->meta[i].value, ps->meta[i].len);
    }
    puts_(&h, "}");
    size_t offset = 0;
    for (int i = 0; i < ps->n; i++) {
        const Part *t = &ps->t[i];
        puts_(&h, ",");
        put_json_string(&h, t->name, strlen(t->name));
        puts_(&h, ":{\"dtype\":");
        put_json_string(&h, t->dtype, strlen(t->dtype));
        puts_(&h, ",\"shape\":[");
        for (int d = 0; d < t->ndim; d++) {
            snprintf(num, sizeof num, d ? ",%zu" : "%zu", t->shape[d]);
            puts_(&h, num);
        }
        snprintf(num, sizeof num, "],\"data_offsets\":[%zu,%zu]}", offset, offset + t->bytes);
        puts_(&h, num);
        offset += t->bytes;
    }
    puts_(&h, "}");
    while (h.len % 8) puts_(&h, " ");
    out->len = 0;
    unsigned char le[8];
    for (int i = 0; i < 8; i++) le[i] = (unsigned char)((uint64_t)h.len >> (8 * i));
    put(out, le, 8);
    put(out, h.p, h.len);
    for (int i = 0; i < ps->n; i++) put(out, ps->t[i].data, ps->t[i].bytes);
    free(h.p);
}

static void parts_read(Parts *ps, const char *path) {
    char err[256];
    StFile f;
    CHECK(st_open(&f, path, err, sizeof err) == 0);
    CHECK(f.n_tensors <= 96 - 4 && f.n_meta <= 32 - 4);
    memset(ps, 0, sizeof *ps);
    for (int i = 0; i < f.n_tensors; i++) {
        const StTensor *s = &f.tensors[i];
        Part *t = &ps->t[ps->n++];
        snprintf(t->name, sizeof t->name, "%s", s->name);
        snprintf(t->dtype, sizeof t->dtype, "%s", s->dtype);
        t->ndim = s->ndim;
        memcpy(t->shape, s->shape, sizeof t->shape);
        t->bytes = s->end - s->begin;
        t->data = xmalloc(t->bytes + 1);
        memcpy(t->data, f.data + s->begin, t->bytes);
    }
    for (int i = 0; i < f.n_meta; i++) {
        MetaPart *m = &ps->meta[ps->n_meta++];
        CHECK(f.meta[i].len < sizeof m->value);
        snprintf(m->key, sizeof m->key, "%s", f.meta[i].key);
        memcpy(m->value, f.meta[i].value, f.meta[i].len);
        m->len = f.meta[i].len;
    }
    st_close(&f);
}

static void parts_copy(Parts *dst, const Parts *src) {
    *dst = *src;
    for (int i = 0; i < dst->n; i++) {
        dst->t[i].data = xmalloc(src->t[i].bytes + 1);
        memcpy(dst->t[i].data, src->t[i].data, src->t[i].bytes);
    }
}

static void parts_free(Parts *ps) {
    for (int i = 0; i < ps->n; i++) free(ps->t[i].data);
}

static void set_meta(Parts *ps, const char *key, const char *value, size_t len) {
    MetaPart *m = NULL;
    for (int i = 0; i < ps->n_meta && !m; i++)
        if (strcmp(ps->meta[i].key, key) == 0) m = &ps->meta[i];
    if (!m) {
        CHECK(ps->n_meta < 32);
        m = &ps->meta[ps->n_meta++];
        snprintf(m->key, sizeof m->key, "%s", key);
    }
    CHECK(len < sizeof m->value);
    memcpy(m->value, value, len);
    m->len = len;
}

/* ---------------------------------------------------------------- mutations */

static Rng rng;

static size_t below(size_t n) { return n ? (size_t)rng_below(&rng, n) : 0; }

/* A tensor index; moments_only picks an optimizer.* one, weights_only a parameter (-1: none). */
static int pick_tensor(const Parts *ps, int kind) {
    int idx[96], n = 0;
    for (int i = 0; i < ps->n; i++) {
        int moment = strncmp(ps->t[i].name, "optimizer.", 10) == 0;
        if (kind == 0 || (kind == 1 && !moment) || (kind == 2 && moment)) idx[n++] = i;
    }
    return n ? idx[below((size_t)n)] : -1;
}

static void edit_name(Parts *ps, char *what, size_t what_size) {
    Part *t = &ps->t[pick_tensor(ps, 0)];
    char *name = t->name;
    size_t n = strlen(name);
    switch (below(7)) {
    case 0: name[below(n)] = (char)(' ' + below(95)); break;              /* a character changed */
    case 1: if (n + 2 < sizeof t->name) strcat(name, "x"); break;          /* one appended */
    case 2: name[n - 1 - below(n > 1 ? n - 1 : 1)] = '\0'; break;          /* cut */
    case 3: {                                                              /* another layer */
        char *h = strstr(name, ".h.");
        if (h) h[3] = (char)('0' + below(4));
        break;
    }
    case 4: {                                                              /* m <-> v, or a moment */
        if (strncmp(name, "optimizer.m.", 12) == 0) name[10] = 'v';
        else if (strncmp(name, "optimizer.v.", 12) == 0) name[10] = 'm';
        else if (n + 13 < sizeof t->name) {
            memmove(name + 12, name, n + 1);
            memcpy(name, below(2) ? "optimizer.m." : "optimizer.v.", 12);
        }
        break;
    }
    case 5: { /* another tensor's name: a duplicate key */
        char other[sizeof t->name];
        memcpy(other, ps->t[pick_tensor(ps, 0)].name, sizeof other);
        memcpy(name, other, sizeof other);
        break;
    }
    default: name[below(n)] = (char)(1 + below(31)); break;               /* a control character */
    }
    snprintf(what, what_size, "renamed a tensor to \"%.40s\"", name);
}

static void edit_shape(Parts *ps, char *what, size_t what_size) {
    Part *t = &ps->t[pick_tensor(ps, 0)];
    size_t numel = t->bytes / 4;
    int consistent = 1;
    switch (below(6)) {
    case 0: /* transposed, or reversed */
        for (int d = 0; d < t->ndim / 2; d++) {
            size_t s = t->shape[d];
            t->shape[d] = t->shape[t->ndim - 1 - d];
            t->shape[t->ndim - 1 - d] = s;
        }
        break;
    case 1: t->ndim = 1, t->shape[0] = numel; break; /* flattened */
    case 2: /* a leading 1 */
        if (t->ndim < ST_MAX_DIMS) {
            memmove(t->shape + 1, t->shape, (size_t)t->ndim * sizeof(size_t));
            t->shape[0] = 1;
            t->ndim++;
        }
        break;
    case 3: /* one dimension one larger, the data grown to match */
        t->shape[below((size_t)t->ndim)]++;
        numel = 1;
        for (int d = 0; d < t->ndim; d++) numel *= t->shape[d];
        t->data = realloc(t->data, 4 * numel);
        CHECK(t->data != NULL);
        memset(t->data + t->bytes, 0, 4 * numel - t->bytes);
        t->bytes = 4 * numel;
        break;
    case 4: /* the shape alone changes: offsets no longer match it */
        t->shape[below((size_t)t->ndim)] += 1 + below(3);
        consistent = 0;
        break;
    default: /* another dtype of the same size, or a half-size one */
        snprintf(t->dtype, sizeof t->dtype, "%s", below(2) ? "I32" : "F16");
        if (t->dtype[0] == 'F') t->shape[t->ndim - 1] *= 2;
        break;
    }
    snprintf(what, what_size, "shape of %.40s edited%s", t->name, consistent ? "" : " (offsets not)");
}

static void edit_meta(Parts *ps, char *what, size_t what_size) {
    static const struct {
        const char *key;
        const char *values[9];
    } EDITS[] = {
        {"n_layer", {"0", "1", "3", "-1", "x", "99999999999999999999", "1.0", " 2", ""}},
        {"n_head", {"0", "1", "3", "4", "8", "-2", "2x", "257", ""}},
        {"n_embd", {"0", "4", "12", "7", "16", "-8", "1e1", "16385", ""}},
        {"vocab_size", {"0", "5", "7", "1", "10", "-6", "6.0", "4194305", ""}},
        {"block_size", {"0", "4", "9", "1", "16", "-8", "0x8", "16385", ""}},
        {"step", {"-1", "0", "5", "1e3", "99999999999999999999", "1099511627777", "", "x", "3 "}},
        {"val_loss", {"nan", "inf", "-inf", "1.5", "x", "", "1e999", "-0", "0x1p3"}},
        {"task", {"add", "chars", "x", "", "CHARS", "chars\n", "\x1b[31m", "add ", "bytes"}},
        {"encoding", {"bytes", "utf-8", "latin1", "", "UTF-8", "\x1b[2J", "bytes\r", "x", "utf8"}},
        {"vocab", {"\n abc", "\n abcde", "\n abcdd", "edcba \n", "", "\xff\xfe", "\n a\xc3\xa9 bc", "\n abc\x80", "\n ab"}},
        {"format", {"other", "", "mingpt ", "MINGPT", "\x1b]0;x\x07", "mingpt", "x", "safetensors", "pt"}},
        {"data_rng", {"zz", "", "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                      "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde", "0000000000000000000000000000000000000000000000000000000000000000",
                      "G123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "x", "1", "-1"}},
        {"dropout_pass", {"-1", "x", "18446744073709551615", "0", "5", "", "1e3", "9223372036854775807", " 1"}},
        {"dropout_seed", {"", "x", "0123456789abcdef", "0123456789ABCDEF", "0", "-1", "zzzzzzzzzzzzzzzz", "1", "00000000000000000"}},
        {"resid_pdrop", {"1", "-0.1", "nan", "0.5", "x", "", "0.999999", "inf", "1e-50"}},
        {"ndigit", {"1", "0", "10", "x", "", "-1", "2", "9", "3"}},
    };
    size_t k = below(sizeof EDITS / sizeof EDITS[0]);
    if (below(12) == 0) { /* delete the key instead */
        for (int i = 0; i < ps->n_meta; i++)
            if (strcmp(ps->meta[i].key, EDITS[k].key) == 0) ps->meta[i] = ps->meta[--ps->n_meta];
        snprintf(what, what_size, "metadata %s deleted", EDITS[k].key);
        return;
    }
    const char *v = EDITS[k].values[below(9)];
    set_meta(ps, EDITS[k].key, v, strlen(v));
    snprintf(what, what_size, "metadata %s = \"%.20s\"", EDITS[k].key, v);
}

static void inject_value(Parts *ps, int moments, char *what, size_t what_size) {
    int i = pick_tensor(ps, moments ? 2 : 1);
    if (i < 0) i = pick_tensor(ps, 1);
    Part *t = &ps->t[i];
    static const float VALUES[] = {NAN, -NAN, INFINITY, -INFINITY, 3.0e38f, -1e-3f, 1e-45f, -0.0f};
    size_t v = below(sizeof VALUES / sizeof VALUES[0]), at = below(t->bytes / 4);
    memcpy(t->data + 4 * at, &VALUES[v], 4);
    snprintf(what, what_size, "%s[%zu] = %g", t->name, at, (double)VALUES[v]);
}

static void drop_or_add(Parts *ps, char *what, size_t what_size) {
    size_t kind = below(4);
    if (kind < 2 && ps->n > 1) { /* drop a weight or a moment */
        int i = pick_tensor(ps, kind == 0 ? 1 : 2);
        if (i < 0) i = pick_tensor(ps, 1);
        snprintf(what, what_size, "dropped %.40s", ps->t[i].name);
        free(ps->t[i].data);
        ps->t[i] = ps->t[--ps->n];
        return;
    }
    static const char *NAMES[] = {"transformer.h.0.attn.bias", "transformer.h.1.ln_1.weight", "lm_head.bias",
                                  "optimizer.m.lm_head.bias", "extra.tensor", "transformer.h.0.attn.masked_bias"};
    Part *t = &ps->t[ps->n++];
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", NAMES[below(6)]);
    snprintf(t->dtype, sizeof t->dtype, "F32");
    t->ndim = 1;
    t->shape[0] = 1 + below(8);
    t->bytes = 4 * t->shape[0];
    t->data = xcalloc(1, t->bytes);
    snprintf(what, what_size, "added %s", t->name);
}

/* Byte-level damage to a serialized file. */
static void damage_bytes(Buf *b, int kind, char *what, size_t what_size) {
    size_t header = 0;
    for (int i = 7; i >= 0; i--) header = (header << 8) | b->p[i];
    switch (kind) {
    case 0: { /* flip bytes in the header */
        size_t n = 1 + below(4);
        for (size_t i = 0; i < n; i++) b->p[8 + below(header)] ^= (unsigned char)(1 + below(255));
        snprintf(what, what_size, "%zu byte(s) flipped in the header", n);
        break;
    }
    case 1: { /* flip bytes in the data */
        size_t n = 1 + below(8);
        for (size_t i = 0; i < n; i++) b->p[8 + header + below(b->len - 8 - header)] ^= (unsigned char)(1 + below(255));
        snprintf(what, what_size, "%zu byte(s) flipped in the data", n);
        break;
    }
    case 2: { /* truncated */
        b->len = below(b->len);
        snprintf(what, what_size, "cut at %zu bytes", b->len);
        break;
    }
    default: { /* the header length field */
        uint64_t v;
        switch (below(5)) {
        case 0: v = header + below(33) - 16; break;
        case 1: v = 0; break;
        case 2: v = rng_u64(&rng); break;
        case 3: v = b->len; break;
        default: v = header ^ ((uint64_t)1 << below(64)); break;
        }
        for (int i = 0; i < 8; i++) b->p[i] = (unsigned char)(v >> (8 * i));
        snprintf(what, what_size, "header length %llu (was %zu)", (unsigned long long)v, header);
        break;
    }
    }
}

/* ---------------------------------------------------------------- checking one mutant */

enum { N_CLASSES = 11 }; /* [0] loaded, [N_CLASSES - 1] anything the others do not match */
static const struct {
    const char *label;
    const char *needles[6];
} CLASSES[N_CLASSES] = {
    {"loaded", {NULL}},
    {"stray tensor", {"has no place"}},
    {"NaN / Inf / negative moment", {"holds NaN", "Inf at", "negative value"}},
    {"incomplete optimizer state", {"some of AdamW's moments"}},
    {"file too short / header length", {"too short", "header size", "cut short"}},
    {"malformed JSON", {"malformed JSON"}},
    {"bad tensor entry (dtype, shape, offsets)", {"dtype", "shape entry", "data_offsets", "bad shape", "exactly dtype", "JSON object"}},
    {"data layout (hole, overlap, size)", {"leaves a hole", "overlaps", "cover", "not an object"}},
    {"metadata or config", {"metadata", "unknown task", "bad config"}},
    {"missing or misshapen weight", {"missing tensor", "has shape", "the config needs"}},
    {"other", {NULL}},
};
static long counts[N_CLASSES];

static int classify(const char *err) {
    for (int c = 1; c < N_CLASSES - 1; c++)
        for (int k = 0; k < 6 && CLASSES[c].needles[k]; k++)
            if (strstr(err, CLASSES[c].needles[k])) return c;
    return N_CLASSES - 1;
}

static void check_message(const char *err, const char *path, const char *who) {
    PROPERTY(err[0] != '\0', "%s refused with an empty message", who);
    PROPERTY(strstr(err, path) != NULL, "%s: the message does not name the file: %s", who, err);
    for (const unsigned char *c = (const unsigned char *)err; *c; c++)
        PROPERTY(*c >= 0x20 && *c != 0x7F, "%s: byte 0x%02X in the message: %s", who, *c, err);
}

static int all_finite(const float *x, size_t n, int nonneg) {
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i]) || (nonneg && x[i] < 0)) return 0;
    return 1;
}

/* The config the metadata states, read without read_meta: 0 if a value does not parse. */
static int stated_config(const char *path, GPTConfig *c) {
    char err[512];
    StFile f;
    if (st_open_header(&f, path, err, sizeof err) != 0) return 0;
    const char *keys[5] = {"n_layer", "n_head", "n_embd", "vocab_size", "block_size"};
    int *dst[5] = {&c->n_layer, &c->n_head, &c->n_embd, &c->vocab_size, &c->block_size};
    int ok = 1;
    for (int i = 0; i < 5 && ok; i++) {
        const char *v = st_meta(&f, keys[i]);
        ok = v != NULL;
        if (ok) *dst[i] = atoi(v);
    }
    const char *pkeys[3] = {"embd_pdrop", "resid_pdrop", "attn_pdrop"};
    float *pdst[3] = {&c->embd_pdrop, &c->resid_pdrop, &c->attn_pdrop};
    for (int i = 0; i < 3; i++) {
        const char *v = st_meta(&f, pkeys[i]);
        *pdst[i] = v ? strtof(v, NULL) : 0.1f;
    }
    st_close(&f);
    return ok;
}

/* Returns whether the mutant loads; *peek_ok says whether ckpt_peek accepted it, *task_ok whether
 * its task's check (task_peek_checkpoint, what `mingpt info` runs) did too. */
static int check_in_process(const char *path, int *peek_ok_out, int *task_ok_out) {
    char err[512], err_tr[512];
    GPTConfig peeked;
    CkptMeta pmeta;
    int peek_ok = ckpt_peek(path, &peeked, &pmeta, err, sizeof err) == 0;
    if (peek_ok) ckpt_meta_free(&pmeta);
    else check_message(err, path, "ckpt_peek");
    *peek_ok_out = peek_ok;
    int task_ok = task_peek_checkpoint(path, &peeked, &pmeta, err, sizeof err) == 0;
    if (task_ok) ckpt_meta_free(&pmeta);
    else check_message(err, path, "task_peek_checkpoint");
    PROPERTY(peek_ok || !task_ok, "task_peek_checkpoint accepted what ckpt_peek refused");
    *task_ok_out = task_ok;

    CkptMeta meta, meta_tr;
    GPT *plain = ckpt_load(path, pool, &meta, NULL, NULL, err, sizeof err);
    if (!plain) check_message(err, path, "ckpt_load");
    Trainer tr;
    TrainConfig tc = train_config_default();
    GPT *m = ckpt_load(path, pool, &meta_tr, &tr, &tc, err_tr, sizeof err_tr);
    if (!m) check_message(err_tr, path, "ckpt_load with a trainer");
    PROPERTY(!plain == !m, "loads with and without a trainer disagree: %s / %s", plain ? "loaded" : err,
             m ? "loaded" : err_tr);
    PROPERTY(m || strcmp(err, err_tr) == 0, "different messages: %s / %s", err, err_tr);
    int cls = m ? 0 : classify(err_tr);
    if (cls == N_CLASSES - 1 && counts[cls] < 5) printf("  unclassified refusal: %s\n", err_tr);
    counts[cls]++;
    if (!m) return 0;

    GPTConfig stated = {0};
    PROPERTY(peek_ok, "ckpt_load accepted what ckpt_peek refused: %s", err);
    PROPERTY(memcmp(&peeked, &m->config, sizeof peeked) == 0, "ckpt_peek and ckpt_load read different configs");
    PROPERTY(memcmp(&plain->config, &m->config, sizeof peeked) == 0, "the two loads read different configs");
    PROPERTY(stated_config(path, &stated) && memcmp(&stated, &m->config, sizeof stated) == 0,
             "the loaded config (n_layer %d, n_head %d, n_embd %d, vocab %d, block %d) is not the one stated",
             m->config.n_layer, m->config.n_head, m->config.n_embd, m->config.vocab_size, m->config.block_size);
    PROPERTY(all_finite(m->param_mem, m->params.numel, 0), "a loaded weight is NaN or Inf");
    PROPERTY(all_finite(tr.m, m->params.numel, 0) && all_finite(tr.v, m->params.numel, 1),
             "a loaded moment is NaN or Inf, or v < 0");
    PROPERTY(meta_tr.has_optimizer || tr.step == 0, "no optimizer state but step %ld", tr.step);
    ckpt_meta_free(&meta);
    ckpt_meta_free(&meta_tr);
    trainer_free(&tr);
    gpt_free(plain);
    gpt_free(m);
    return 1;
}

/* What became of one run of the binary. */
typedef struct {
    int status; /* as waitpid gives it */
    int hung;   /* killed after the time allowed */
} Run;

/* Runs the binary with args, stderr kept in err and stdout in out (NULL: discarded); kills it
 * after limit_ms. */
static Run spawn_binary(const char *const *args, long limit_ms, char *err, size_t err_size, char *out,
                        size_t out_size) {
    char err_path[128], out_path[128];
    snprintf(err_path, sizeof err_path, "%s/stderr", dir);
    snprintf(out_path, sizeof out_path, "%s/stdout", dir);
    const char *argv[24] = {binary};
    int argc = 1;
    for (; args[argc - 1]; argc++) argv[argc] = args[argc - 1];
    argv[argc] = NULL;
    /* posix_spawn, not fork: copying the page tables of a process with ASan's shadow memory costs
     * more than the run itself */
    posix_spawn_file_actions_t files;
    CHECK(posix_spawn_file_actions_init(&files) == 0);
    CHECK(posix_spawn_file_actions_addopen(&files, 1, out ? out_path : "/dev/null",
                                           out ? O_WRONLY | O_CREAT | O_TRUNC : O_WRONLY, 0600) == 0);
    CHECK(posix_spawn_file_actions_addopen(&files, 2, err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600) == 0);
    /* LeakSanitizer's exit scan doubles each run's time; leaks in the reader's error paths are
     * caught in this process, and valgrind (make memcheck) checks the commands */
    static char options[512], *env[256];
    if (!env[0]) {
        const char *asan = getenv("ASAN_OPTIONS");
        snprintf(options, sizeof options, "ASAN_OPTIONS=%s%sdetect_leaks=0", asan ? asan : "", asan && *asan ? ":" : "");
        int n = 0;
        env[n++] = options;
        for (char **e = environ; *e && n < 255; e++)
            if (strncmp(*e, "ASAN_OPTIONS=", 13) != 0) env[n++] = *e;
        env[n] = NULL;
    }
    pid_t pid;
    CHECK(posix_spawn(&pid, binary, &files, NULL, (char *const *)argv, env) == 0);
    posix_spawn_file_actions_destroy(&files);
    Run r = {0};
    struct timespec tick = {0, 2000000}; /* 2 ms */
    for (long waited = 0;; waited += 2) {
        pid_t done = waitpid(pid, &r.status, WNOHANG);
        CHECK(done >= 0);
        if (done == pid) break;
        if (waited > limit_ms) {
            kill(pid, SIGKILL);
            waitpid(pid, &r.status, 0);
            r.hung = 1;
            break;
        }
        nanosleep(&tick, NULL);
    }
    for (int k = 0; k < 2; k++) {
        char *buf = k ? out : err;
        if (!buf) continue;
        FILE *fp = fopen(k ? out_path : err_path, "rb");
        size_t n = fp ? fread(buf, 1, (k ? out_size : err_size) - 1, fp) : 0;
        if (fp) fclose(fp);
        buf[n] = '\0';
    }
    return r;
}

/* Runs the binary with args (spawn_binary, 30 s); returns the exit status. A signal or a timeout
 * breaks a property, and so does a refusal that is not one line. */
static int run_binary(const char *const *args, char *err, size_t err_size) {
    Run r = spawn_binary(args, 30000, err, err_size, NULL, 0);
    PROPERTY(!r.hung, "%s %s hung (killed after 30 s)", args[0], args[1]);
    int status = r.status;
    PROPERTY(WIFEXITED(status), "%s died of signal %d: %s", args[0], WIFSIGNALED(status) ? WTERMSIG(status) : 0, err);
    int rc = WEXITSTATUS(status);
    PROPERTY(!strstr(err, "Sanitizer") && !strstr(err, "runtime error") && !strstr(err, "internal error"),
             "%s: %s", args[0], err);
    PROPERTY(rc == 0 || rc == 1, "%s exited with %d: %s", args[0], rc, err);
    if (rc == 1) {
        /* one line: "mingpt: ...\n", nothing else, no control character */
        PROPERTY(strncmp(err, "mingpt: ", 8) == 0 && strlen(err) > 9 && err[strlen(err) - 1] == '\n' &&
                     strchr(err, '\n') == err + strlen(err) - 1,
                 "%s: not one line: [%s]", args[0], err);
        for (const unsigned char *c = (const unsigned char *)err; c[1]; c++)
            PROPERTY(*c >= 0x20 && *c != 0x7F, "%s: byte 0x%02X on stderr: %s", args[0], *c, err);
    }
    return rc;
}

static void check_binary(const char *path, const char *text, int task_ok, int load_ok) {
    char err[4096];
    const char *info[] = {"info", path, NULL};
    const char *sample[] = {"sample", "--ckpt", path, "--len", "5", "--threads", "1", NULL};
    const char *eval[] = {"eval", "--ckpt", path, text, "--threads", "1", NULL};
    int rc = run_binary(info, err, sizeof err);
    PROPERTY((rc == 0) == task_ok, "info exited %d but task_peek_checkpoint %s: %s", rc,
             task_ok ? "accepted" : "refused", err);
    rc = run_binary(sample, err, sizeof err);
    PROPERTY(load_ok || rc == 1, "sample exited %d for a file ckpt_load refuses", rc);
    rc = run_binary(eval, err, sizeof err);
    PROPERTY(load_ok || rc == 1, "eval exited %d for a file ckpt_load refuses", rc);
}

static void write_file(const char *path, const void *data, size_t n) {
    FILE *fp = fopen(path, "wb");
    CHECK(fp && fwrite(data, 1, n, fp) == n && fclose(fp) == 0);
}

/* ---------------------------------------------------------------- Hugging Face GPT-2 folders */

/* The base folder: GPT-2's layout at toy size (2 layers, 2 heads, n_embd 8, 16 positions) with a
 * tokenizer of the 256 byte tokens and six merges (vocab_size 262). Every mutant is written afresh
 * into FOLDER, damaged one way, and given to info, sample, eval and train --init, and to the readers
 * in this process (hf_gpt2_read_config, hf_gpt2_peek, tok_bpe_load, hf_gpt2_load). Properties: no
 * crash, no sanitizer report, no hang (20 s); exit 0, 1 or 2, and a refusal one line naming the
 * folder or one of its files, with no control character; a folder that info refuses is refused by
 * the others too, and one that info accepts fails in sample or eval only for weights whose forward
 * overflows (exit 1, never a loss of NaN printed with exit 0); no
 * file of the folder changes, appears or goes, not even when train is told to write its model, log
 * or plot over one of them (or as a new file in the folder). Unlike the checkpoints', a broken property is
 * counted and the run goes on, so that one run lists every failure, each with how to repeat it
 * (mutate BINARY 0 0 N repeats the first N; MUTATE_VERBOSE=1 prints every run's exit and message). */

static const GPTConfig HF_SHAPE = {2, 2, 8, 262, 16, 0.0f, 0.0f, 0.0f};
static const char *const HF_MERGES[][2] = {{"t", "h"}, {"th", "e"}, {" ", "the"}, {"e", "r"}, {"i", "n"}, {"o", "u"}};

typedef struct {
    const char *key;
    const char *value; /* JSON text; NULL: left out */
} ConfigEntry;

enum { N_CONFIG = 13 };
static const ConfigEntry HF_CONFIG[N_CONFIG] = {
    {"activation_function", "\"gelu_new\""}, {"architectures", "[\"GPT2LMHeadModel\"]"},
    {"layer_norm_epsilon", "1e-05"},         {"model_type", "\"gpt2\""},
    {"n_ctx", "16"},                         {"n_embd", "8"},
    {"n_head", "2"},                         {"n_inner", "null"},
    {"n_layer", "2"},                        {"n_positions", "16"},
    {"vocab_size", "262"},                   {"scale_attn_weights", "true"},
    {"bos_token_id", "50256"},
};

static char folder[160], folder_text[160], folder_out[160];
static long folder_failures;
static int folder_failure_kept, mutant_failed;

/* OpenAI's bytes_to_unicode: the character that spells byte b in the files. */
static uint32_t spell_byte(int b) {
    int printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    if (printable) return (uint32_t)b;
    uint32_t next = 256;
    for (int c = 0; c < b; c++)
        next += !((c >= '!' && c <= '~') || (c >= 0xA1 && c <= 0xAC) || (c >= 0xAE && c <= 0xFF));
    return next;
}

static void put_spelled(Buf *b, const char *token, int json) {
    for (const unsigned char *p = (const unsigned char *)token; *p; p++) {
        uint32_t cp = spell_byte(*p);
        char enc[4];
        if (json && (cp == '"' || cp == '\\')) puts_(b, "\\");
        put(b, enc, (size_t)utf8_encode(cp, enc));
    }
}

/* vocab.json (raw UTF-8, as Hugging Face writes it) and merges.txt of the base tokenizer. */
static void tokenizer_text(Buf *vocab, Buf *merges) {
    vocab->len = merges->len = 0;
    puts_(vocab, "{");
    char num[32], one[2] = {0, 0};
    for (int b = 0; b < 256; b++) {
        puts_(vocab, b ? ", \"" : "\"");
        if (b == 0) { /* the 0 byte cannot go through a C string: it is spelled U+0100 */
            put(vocab, "\xc4\x80", 2);
        } else {
            one[0] = (char)b;
            put_spelled(vocab, one, 1);
        }
        snprintf(num, sizeof num, "\": %d", b);
        puts_(vocab, num);
    }
    puts_(merges, "#version: 0.2\n");
    for (int m = 0; m < 6; m++) {
        char both[16];
        snprintf(both, sizeof both, "%s%s", HF_MERGES[m][0], HF_MERGES[m][1]);
        puts_(vocab, ", \"");
        put_spelled(vocab, both, 1);
        snprintf(num, sizeof num, "\": %d", 256 + m);
        puts_(vocab, num);
        put_spelled(merges, HF_MERGES[m][0], 0);
        puts_(merges, " ");
        put_spelled(merges, HF_MERGES[m][1], 0);
        puts_(merges, "\n");
    }
    puts_(vocab, "}");
}

static void config_text(Buf *b, const ConfigEntry *entries) {
    b->len = 0;
    puts_(b, "{\n");
    int first = 1;
    for (int i = 0; i < N_CONFIG; i++) {
        if (!entries[i].value) continue;
        if (!first) puts_(b, ",\n");
        first = 0;
        puts_(b, "  \"");
        puts_(b, entries[i].key);
        puts_(b, "\": ");
        puts_(b, entries[i].value);
    }
    puts_(b, "\n}\n");
}

/* The model's weights as Hugging Face stores them: Conv1D weights (in, out), the attn.bias
 * buffers; prefixed names with lm_head.weight, or bare names tied to wte. */
static void hf_parts(Parts *ps, int prefixed) {
    GPT *m = gpt_create(&HF_SHAPE, pool);
    gpt_init(m, 11);
    memset(ps, 0, sizeof *ps);
    for (int i = 0; i < m->params.n; i++) {
        const Tensor *p = &m->params.t[i];
        const char *bare = strncmp(p->name, "transformer.", 12) == 0 ? p->name + 12 : p->name;
        if (strcmp(p->name, "lm_head.weight") == 0 && !prefixed) continue;
        Part *t = &ps->t[ps->n++];
        snprintf(t->name, sizeof t->name, "%s", prefixed ? p->name : bare);
        snprintf(t->dtype, sizeof t->dtype, "F32");
        t->ndim = p->ndim;
        memcpy(t->shape, p->shape, sizeof t->shape);
        t->bytes = p->numel * sizeof(float);
        t->data = xmalloc(t->bytes + 1);
        int conv = p->ndim == 2 && strncmp(p->name + strlen(p->name) - 7, ".weight", 7) == 0 &&
                   (strstr(p->name, "c_attn") || strstr(p->name, "c_proj") || strstr(p->name, "c_fc"));
        if (conv) { /* (out, in) -> (in, out) */
            size_t out = p->shape[0], in = p->shape[1];
            float *d = (float *)t->data;
            for (size_t o = 0; o < out; o++)
                for (size_t j = 0; j < in; j++) d[j * out + o] = p->data[o * in + j];
            t->shape[0] = in;
            t->shape[1] = out;
        } else {
            memcpy(t->data, p->data, t->bytes);
        }
    }
    for (int l = 0; l < HF_SHAPE.n_layer; l++) { /* the causal mask Hugging Face keeps */
        Part *t = &ps->t[ps->n++];
        snprintf(t->name, sizeof t->name, "%sh.%d.attn.bias", prefixed ? "transformer." : "", l);
        snprintf(t->dtype, sizeof t->dtype, "F32");
        t->ndim = 4;
        size_t T = (size_t)HF_SHAPE.block_size, shape[4] = {1, 1, T, T};
        memcpy(t->shape, shape, sizeof shape);
        t->bytes = T * T * sizeof(float);
        t->data = xmalloc(t->bytes);
        for (size_t i = 0; i < T * T; i++) ((float *)t->data)[i] = i % T <= i / T;
    }
    gpt_free(m);
}

static void remove_tree(const char *path) {
    struct stat st;
    if (lstat(path, &st) != 0) return;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        CHECK(d != NULL);
        for (struct dirent *e; (e = readdir(d));) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
            char sub[512];
            snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
            remove_tree(sub);
        }
        closedir(d);
        CHECK(rmdir(path) == 0);
    } else {
        CHECK(unlink(path) == 0);
    }
}

/* What a folder holds, to see that no command changed it. */
typedef struct {
    char name[256];
    mode_t type;
    off_t size;
    uint64_t hash; /* of a regular file's bytes (up to 16 MiB; a bigger file: its size and time) */
    char link[256];
} Entry;

typedef struct {
    Entry e[16];
    int n;
} Snapshot;

static int entry_order(const void *a, const void *b) { return strcmp(((const Entry *)a)->name, ((const Entry *)b)->name); }

static void snapshot(Snapshot *s) {
    memset(s, 0, sizeof *s);
    DIR *d = opendir(folder);
    if (!d) return;
    for (struct dirent *de; (de = readdir(d)) && s->n < 16;) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
        Entry *e = &s->e[s->n++];
        char path[512];
        snprintf(e->name, sizeof e->name, "%s", de->d_name);
        snprintf(path, sizeof path, "%s/%s", folder, de->d_name);
        struct stat st;
        if (lstat(path, &st) != 0) continue;
        e->type = st.st_mode & S_IFMT;
        e->size = st.st_size;
        if (S_ISLNK(st.st_mode)) {
            ssize_t k = readlink(path, e->link, sizeof e->link - 1);
            if (k > 0) e->link[k] = '\0';
        } else if (S_ISREG(st.st_mode) && st.st_size <= (16 << 20)) {
            FILE *fp = fopen(path, "rb");
            uint64_t h = 0xcbf29ce484222325ull;
            int c;
            while (fp && (c = getc(fp)) != EOF) h = (h ^ (uint64_t)c) * 0x100000001b3ull;
            if (fp) fclose(fp);
            e->hash = h;
        } else if (S_ISREG(st.st_mode)) {
            e->hash = (uint64_t)st.st_mtim.tv_sec * 1000000000u + (uint64_t)st.st_mtim.tv_nsec;
        }
    }
    closedir(d);
    qsort(s->e, (size_t)s->n, sizeof *s->e, entry_order);
}

/* A broken property of a folder mutant: said with how to repeat it; the first one's folder is kept. */
static void folder_failed(const char *fmt, ...) MG_PRINTF(1, 2);
static void folder_failed(const char *fmt, ...) {
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    folder_failures++;
    mutant_failed = 1;
    printf("folder mutant %ld (%s): %s\n", mutant_id, mutant_what, msg);
}

/* After a mutant's runs: the first that broke a property is kept for a look. */
static void keep_failed_folder(void) {
    if (!mutant_failed || folder_failure_kept) return;
    char kept[200];
    snprintf(kept, sizeof kept, "%s-kept", folder);
    remove_tree(kept);
    if (rename(folder, kept) == 0) {
        printf("    (folder mutant %ld is kept as %s; the run goes on)\n", mutant_id, kept);
        folder_failure_kept = keep_dir = 1;
    }
}

/* A refusal: one line naming the folder (or a file in it), no control character. train may have
 * said what it started from first: then its refusal is the last line, and the one "mingpt: " line
 * (a loss that is not finite names the output it did not write, not the folder). */
static int refusal_ok(const char *err, int train) {
    size_t n = strlen(err);
    const char *last = err;
    for (const char *nl = strchr(err, '\n'); nl && nl + 1 < err + n; nl = strchr(nl + 1, '\n')) last = nl + 1;
    if (last != err && !(train && strstr(err, "starting from the weights of ") == err) && strncmp(err, "eval: ", 6) != 0)
        return 0; /* (before the error: train's first line, or eval's progress lines on a pipe) */
    for (const char *line = err; line < last; line = strchr(line, '\n') + 1)
        if (strncmp(line, "mingpt", 6) == 0) return 0; /* one error, at the end */
    /* "mingpt: " for an error, "mingpt train: " for a usage error */
    size_t word = strncmp(last, "mingpt ", 7) == 0 ? strspn(last + 7, "abcdefghijklmnopqrstuvwxyz") : 0;
    size_t head = word ? 7 + word : 6;
    if (strncmp(last, "mingpt", 6) != 0 || strncmp(last + head, ": ", 2) != 0 ||
        n < 10 || err[n - 1] != '\n' || (last == err && !strstr(err, folder)))
        return 0;
    for (size_t i = 0; i + 1 < n; i++)
        if (((unsigned char)err[i] < 0x20 && err[i] != '\n') || err[i] == 0x7F) return 0;
    return 1;
}

/* Which file of the folder a refusal names, for the summary. */
static const char *const NAMED[] = {"config.json", "model.safetensors", "vocab.json", "merges.txt", "encoder.json",
                                    "vocab.bpe", "the folder itself"};
static long named_counts[7];

static void count_named(const char *err) {
    for (int i = 0; i < 6; i++)
        if (strstr(err, NAMED[i])) {
            named_counts[i]++;
            return;
        }
    named_counts[6]++;
}

enum { FOLDER_INFO, FOLDER_SAMPLE, FOLDER_EVAL, FOLDER_TRAIN, FOLDER_INSIDE, N_CMDS };
static const char *const CMD_NAMES[N_CMDS] = {"info", "sample", "eval", "train --init",
                                              "train --init with an output in the folder"};
static long cmd_refused[N_CMDS], cmd_ran, eval_nan;
static int overflow_refused[N_CMDS]; /* this mutant's command refused a model whose forward overflows */

/* Runs one command on the folder; returns its exit status (-1: a property broke). */
static int folder_command(int cmd, const Snapshot *before) {
    const char *argv[N_CMDS][20] = {
        {"info", folder, NULL},
        {"sample", "--ckpt", folder, "--len", "3", "--threads", "1", NULL},
        {"eval", folder_text, "--ckpt", folder, "--threads", "1", NULL},
        {"train", folder_text, "--init", folder, "--out", folder_out, "--max-iters", "1", "--batch-size", "2",
         "--block-size", "8", "--eval-every", "1", "--sample-len", "0", "--threads", "1", NULL},
    };
    /* an output that names a file of the folder, or a new one in it, any way round: refused */
    static const char *const FLAGS[] = {"--out", "--log", "--plot"};
    static const char *const INSIDE[] = {"model.safetensors", "config.json",    "vocab.json",
                                         "merges.txt",        "new.safetensors", "./config.json",
                                         "../hf/model.safetensors"};
    char inside[300];
    snprintf(inside, sizeof inside, "%s/%s", folder, INSIDE[mutant_id < 0 ? 0 : mutant_id % 7]);
    if (cmd == FOLDER_INSIDE) {
        argv[cmd][0] = "train";
        argv[cmd][1] = folder_text;
        argv[cmd][2] = "--init";
        argv[cmd][3] = folder;
        argv[cmd][4] = FLAGS[mutant_id < 0 ? 0 : (mutant_id / 7) % 3];
        argv[cmd][5] = inside;
        argv[cmd][6] = "--max-iters";
        argv[cmd][7] = "1";
        argv[cmd][8] = NULL;
        if (argv[cmd][4][2] != 'o') { /* a binary that let --log or --plot through writes its model here */
            argv[cmd][8] = "--out";
            argv[cmd][9] = folder_out;
            argv[cmd][10] = NULL;
        }
    }
    static char err[8192], out[8192];
    Run r = spawn_binary(argv[cmd], 20000, err, sizeof err, out, sizeof out);
    cmd_ran++;
    unlink(folder_out);
    char repro[600];
    snprintf(repro, sizeof repro, "mingpt %s", CMD_NAMES[cmd]);
    if (cmd == FOLDER_INSIDE) snprintf(repro, sizeof repro, "mingpt train --init %s %s %s", folder, argv[cmd][4], inside);
    Snapshot after; /* first: whatever else went wrong, a changed folder is a loss of its own */
    snapshot(&after);
    if (after.n != before->n || memcmp(after.e, before->e, sizeof after.e) != 0) folder_failed("%s changed the folder", repro);
    if (r.hung) return folder_failed("%s hung (killed after 20 s)", repro), -1;
    if (!WIFEXITED(r.status))
        return folder_failed("%s died of signal %d: %.300s", repro, WTERMSIG(r.status), err), -1;
    if (strstr(err, "Sanitizer") || strstr(err, "runtime error") || strstr(err, "internal error"))
        return folder_failed("%s: %.1500s", repro, err), -1;
    int rc = WEXITSTATUS(r.status);
    if (rc != 0 && rc != 1 && rc != 2) return folder_failed("%s exited with %d: %.300s", repro, rc, err), -1;
    if (cmd == FOLDER_INSIDE && rc == 0) return folder_failed("%s exited 0", repro), -1;
    if (rc != 0 && !refusal_ok(err, cmd == FOLDER_TRAIN))
        return folder_failed("%s: not one line naming the folder: [%.600s]", repro, err), -1;
    if (rc != 0) cmd_refused[cmd]++;
    overflow_refused[cmd] = rc == 1 && strstr(err, "not finite: the model's numbers overflow") != NULL;
    if (rc != 0 && cmd == FOLDER_INFO) count_named(err);
    if (getenv("MUTATE_VERBOSE")) printf("  %ld (%s) %s: %d %s", mutant_id, mutant_what, CMD_NAMES[cmd], rc, rc ? err : "\n");
    /* a loss that is not a number is refused (exit 1, naming the tensor), never printed */
    if (cmd == FOLDER_EVAL && rc == 0 && (strstr(out, "nan") || strstr(out, "inf"))) {
        eval_nan++;
        return folder_failed("%s exited 0 printing %.*s", repro, (int)strcspn(out, "\n"), out), -1;
    }
    return rc;
}

/* The readers in this process: each refusal one line naming the folder or its file. Returns
 * whether info's checks pass (*loads: and the weights load). */
static int folder_in_process(int *loads) {
    char err[1024];
    GPTConfig c;
    HfGpt2Contents contents;
    int ok = hf_gpt2_read_config(folder, &c, err, sizeof err) == 0;
    if (ok) ok = hf_gpt2_peek(folder, &c, &contents, err, sizeof err) == 0;
    if (!ok && !strstr(err, folder)) folder_failed("config or header refused without naming the folder: %s", err);
    Tokenizer *tok = tok_bpe_load(folder, err, sizeof err);
    if (!tok && !strstr(err, folder)) folder_failed("tok_bpe_load refused without naming the folder: %s", err);
    int info_ok = ok && tok && tokenizer_vocab_size(tok) == c.vocab_size;
    tokenizer_free(tok);
    GPT *m = hf_gpt2_load(folder, pool, NULL, err, sizeof err);
    if (!m && !strstr(err, folder)) folder_failed("hf_gpt2_load refused without naming the folder: %s", err);
    if (m && !ok) folder_failed("hf_gpt2_load accepted a folder whose config or header hf_gpt2_peek refused");
    *loads = info_ok && m != NULL;
    gpt_free(m);
    return info_ok;
}

/* A file of the folder replaced by what is not a regular file. */
static void special_file(const char *name, char *what, size_t what_size) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", folder, name);
    unlink(path);
    switch (below(6)) {
    case 0: CHECK(mkfifo(path, 0600) == 0); snprintf(what, what_size, "%s is a FIFO", name); break;
    case 1: CHECK(mkdir(path, 0700) == 0); snprintf(what, what_size, "%s is a directory", name); break;
    case 2: CHECK(symlink(name, path) == 0); snprintf(what, what_size, "%s is a link to itself", name); break;
    case 3: CHECK(symlink("nowhere", path) == 0); snprintf(what, what_size, "%s is a dangling link", name); break;
    case 4: CHECK(symlink("/dev/zero", path) == 0); snprintf(what, what_size, "%s is a link to /dev/zero", name); break;
    default: snprintf(what, what_size, "%s is missing", name); break;
    }
}

static void write_in_folder(const char *name, const void *data, size_t n) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", folder, name);
    write_file(path, data, n);
}

/* A sparse file of size bytes (no disk used). */
static void sparse_file(const char *name, off_t size) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", folder, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    CHECK(fd >= 0 && ftruncate(fd, size) == 0 && close(fd) == 0);
}

/* Text damage: a cut, flipped bytes, a BOM, CR-only line ends, or a NUL. */
static void damage_text(Buf *b, char *what, size_t what_size) {
    switch (below(6)) {
    case 0: b->len = below(b->len); snprintf(what, what_size, "cut at %zu bytes", b->len); break;
    case 1: {
        size_t n = 1 + below(3);
        for (size_t i = 0; i < n; i++) b->p[below(b->len)] ^= (unsigned char)(1 + below(255));
        snprintf(what, what_size, "%zu byte(s) flipped", n);
        break;
    }
    case 2: {
        put(b, "...", 3);
        memmove(b->p + 3, b->p, b->len - 3);
        memcpy(b->p, "\xef\xbb\xbf", 3);
        snprintf(what, what_size, "a UTF-8 BOM first");
        break;
    }
    case 3:
        for (size_t i = 0; i < b->len; i++)
            if (b->p[i] == '\n') b->p[i] = '\r';
        snprintf(what, what_size, "CR-only line ends");
        break;
    case 4: b->p[below(b->len)] = 0; snprintf(what, what_size, "a 0 byte inside"); break;
    default: { /* CRLF line ends: fine */
        Buf c = {0};
        for (size_t i = 0; i < b->len; i++) {
            if (b->p[i] == '\n') put(&c, "\r", 1);
            put(&c, b->p + i, 1);
        }
        free(b->p);
        *b = c;
        snprintf(what, what_size, "CRLF line ends");
        break;
    }
    }
}

static void folder_mutants(long n_folders) {
    snprintf(folder, sizeof folder, "%s/hf", dir);
    snprintf(folder_text, sizeof folder_text, "%s/hf_text.txt", dir);
    snprintf(folder_out, sizeof folder_out, "%s/hf_out.safetensors", dir);
    char text[2048] = "";
    for (int i = 0; strlen(text) < 1500; i++)
        snprintf(text + strlen(text), sizeof text - strlen(text), "the other thing %d is in there, our%c\n", i % 5,
                 "tsnr"[i % 4]);
    write_file(folder_text, text, strlen(text));
    Parts base[2];
    hf_parts(&base[0], 0);
    hf_parts(&base[1], 1);
    Buf vocab = {0}, merges = {0}, config = {0}, model = {0};
    rng_seed(&rng, 20261207);
    long loaded = 0, info_accepted = 0;
    for (mutant_id = -1; mutant_id < n_folders; mutant_id++) {
        char what[256] = "the original";
        Parts ps;
        parts_copy(&ps, &base[mutant_id & 1]);
        ConfigEntry entries[N_CONFIG];
        memcpy(entries, HF_CONFIG, sizeof entries);
        tokenizer_text(&vocab, &merges);
        int kind = mutant_id < 0 ? -1 : (int)(mutant_id % 12);
        /* the edits that work on the parts, before they are written */
        static const char *const VALUES[] = {"0", "-1", "1.5", "2.0", "1e3", "99999999999999999999", "\"8\"", "null",
                                             "true", "[]", "{}", "16385", "4096", "3", "4194305", "262144", "1",
                                             "\"gpt2\"", "\"gelu\"", "[\"GPT2Model\", \"BertModel\"]", "false", "1e-06"};
        int edited_config = 0;
        if (kind == 0 || kind == 11) {
            int k = (int)below(N_CONFIG);
            if (below(8) == 0) {
                entries[k].value = NULL;
                snprintf(what, sizeof what, "config.json without \"%s\"", entries[k].key);
            } else {
                entries[k].value = VALUES[below(sizeof VALUES / sizeof *VALUES)];
                snprintf(what, sizeof what, "config.json \"%s\": %s", entries[k].key, entries[k].value);
            }
            edited_config = 1;
        }
        if (kind == 1 && below(4) == 0) { /* a config claiming a model of many GiB */
            entries[5].value = "4096";
            entries[8].value = below(2) ? "48" : "4";
            snprintf(what, sizeof what, "config.json claims %s layers of n_embd 4096", entries[8].value);
            edited_config = 1;
        }
        char more[160] = "";
        if (kind == 6) edit_shape(&ps, more, sizeof more);
        if (kind == 7) { /* another dtype */
            static const char *const DTYPES[] = {"F16", "BF16", "F64", "I32", "U8", "F8_E4M3", "f32"};
            Part *t = &ps.t[pick_tensor(&ps, 0)];
            const char *d = DTYPES[below(7)];
            snprintf(t->dtype, sizeof t->dtype, "%s", d);
            snprintf(more, sizeof more, "%s is %s", t->name, d);
        }
        if (kind == 8) below(2) ? drop_or_add(&ps, more, sizeof more) : edit_name(&ps, more, sizeof more);
        if (kind == 9 || kind == 11) {
            Part *t = &ps.t[pick_tensor(&ps, 0)];
            static const float BAD[] = {NAN, INFINITY, -INFINITY, 3.0e38f, -3.0e38f};
            size_t v = below(5), at = below(t->bytes / 4);
            memcpy(t->data + 4 * at, &BAD[v], 4);
            snprintf(more, sizeof more, "%s[%zu] = %g", t->name, at, (double)BAD[v]);
        }
        if (more[0]) snprintf(what + (edited_config ? strlen(what) : 0), sizeof what - (edited_config ? strlen(what) : 0),
                              "%s%s", edited_config ? "; " : "", more);
        serialize(&ps, &model);
        parts_free(&ps);
        config_text(&config, entries);
        if (kind == 10) damage_bytes(&model, (int)below(4), what, sizeof what);
        if (kind == 1 && !edited_config) {
            damage_text(&config, more, sizeof more);
            snprintf(what, sizeof what, "config.json: %s", more);
        }
        if (kind == 3) {
            damage_text(&vocab, more, sizeof more);
            snprintf(what, sizeof what, "vocab.json: %s", more);
        }
        if (kind == 4) {
            damage_text(&merges, more, sizeof more);
            snprintf(what, sizeof what, "merges.txt: %s", more);
        }
        remove_tree(folder);
        CHECK(mkdir(folder, 0700) == 0);
        write_in_folder("config.json", config.p, config.len);
        write_in_folder("model.safetensors", model.p, model.len);
        write_in_folder("vocab.json", vocab.p, vocab.len);
        write_in_folder("merges.txt", merges.p, merges.len);
        if (kind == 2) { /* a file that is not one */
            static const char *const FILES[] = {"config.json", "model.safetensors", "vocab.json", "merges.txt"};
            special_file(FILES[below(4)], what, sizeof what);
        }
        if (kind == 5) { /* the tokenizer's content and layouts */
            switch (below(10)) {
            case 0: sparse_file(below(2) ? "vocab.json" : "merges.txt", (off_t)300 << 20);
                    snprintf(what, sizeof what, "a tokenizer file of 300 MiB (sparse)"); break;
            case 1: sparse_file("vocab.json", (off_t)24 << 20); snprintf(what, sizeof what, "vocab.json 24 MiB of zeros"); break;
            case 2: { /* OpenAI's pair beside, the same */
                write_in_folder("encoder.json", vocab.p, vocab.len);
                write_in_folder("vocab.bpe", merges.p, merges.len);
                snprintf(what, sizeof what, "both layouts, the same");
                break;
            }
            case 3: {
                write_in_folder("encoder.json", vocab.p, vocab.len);
                write_in_folder("vocab.bpe", merges.p, merges.len - 4);
                snprintf(what, sizeof what, "both layouts, different merges");
                break;
            }
            case 4: write_in_folder("encoder.json", vocab.p, vocab.len); snprintf(what, sizeof what, "encoder.json alone beside"); break;
            case 5: { /* a merge twice */
                puts_(&merges, "t h\n");
                write_in_folder("merges.txt", merges.p, merges.len);
                snprintf(what, sizeof what, "merges.txt lists \"t h\" twice");
                break;
            }
            case 6: { /* a merge of unknown tokens, or whose result is not a token */
                puts_(&merges, below(2) ? "q z\n" : "qz x\n");
                write_in_folder("merges.txt", merges.p, merges.len);
                snprintf(what, sizeof what, "merges.txt has a merge outside the vocabulary");
                break;
            }
            case 7: { /* an id out of range, twice, negative or not a number */
                static const char *const IDS[] = {"262", "0", "-1", "1.5", "\"3\"", "99999999999", "null"};
                const char *id = IDS[below(7)];
                char *at = strstr((char *)vocab.p, "\"\xc4\xa0the\": ");
                CHECK(at != NULL);
                Buf v2 = {0};
                put(&v2, vocab.p, (size_t)(at - (char *)vocab.p));
                puts_(&v2, "\"\xc4\xa0the\": ");
                puts_(&v2, id);
                const char *rest = strchr(at + 9, ',');
                put(&v2, rest, vocab.len - (size_t)(rest - (char *)vocab.p));
                write_in_folder("vocab.json", v2.p, v2.len);
                free(v2.p);
                snprintf(what, sizeof what, "vocab.json gives \" the\" the id %s", id);
                break;
            }
            case 8: { /* a token not in the byte alphabet, or a byte token missing */
                Buf v2 = {0};
                put(&v2, vocab.p, vocab.len - 1);
                puts_(&v2, below(2) ? ", \"\xe4\xb8\xad\": 262}" : ", \"\": 262}");
                write_in_folder("vocab.json", v2.p, v2.len);
                free(v2.p);
                snprintf(what, sizeof what, "vocab.json has a token outside the byte alphabet, or an empty one");
                break;
            }
            default: { /* an empty or non-object vocabulary, empty merges */
                static const char *const V[] = {"{}", "[]", "", "null", "{\"a\": 0}"};
                const char *v = V[below(5)];
                if (below(3) == 0) write_in_folder("merges.txt", "", 0), snprintf(what, sizeof what, "merges.txt empty");
                else write_in_folder("vocab.json", v, strlen(v)), snprintf(what, sizeof what, "vocab.json is \"%s\"", v);
                break;
            }
            }
        }
        mutant_what = what;
        mutant_failed = 0;

        Snapshot before;
        snapshot(&before);
        alarm(30); /* a hang in this process ends the run */
        int loads, info_ok = folder_in_process(&loads);
        alarm(0);
        int rc[N_CMDS];
        for (int c = 0; c < N_CMDS; c++) rc[c] = folder_command(c, &before);
        if (mutant_id < 0) {
            if (!(info_ok && loads && rc[0] == 0 && rc[1] == 0 && rc[2] == 0 && rc[3] == 0 && rc[4] > 0))
                folder_failed("the original folder is refused (info %d, sample %d, eval %d, train %d), or train "
                              "wrote into it (%d)", rc[0], rc[1], rc[2], rc[3], rc[4]);
            keep_failed_folder();
            continue;
        }
        info_accepted += rc[FOLDER_INFO] == 0;
        loaded += loads;
        if (rc[FOLDER_INFO] >= 0 && (rc[FOLDER_INFO] == 0) != info_ok)
            folder_failed("info exited %d, but the readers %s the folder", rc[FOLDER_INFO], info_ok ? "accept" : "refuse");
        for (int c = 1; c < FOLDER_INSIDE; c++)
            if (rc[FOLDER_INFO] > 0 && rc[c] == 0) folder_failed("info refused it, %s exited 0", CMD_NAMES[c]);
        for (int c = FOLDER_SAMPLE; c <= FOLDER_EVAL; c++)
            if (loads && rc[c] > 0 && !overflow_refused[c])
                folder_failed("the folder loads, but %s exited %d", CMD_NAMES[c], rc[c]);
        keep_failed_folder();
    }
    printf("%ld Hugging Face folder mutants (seed 20261207), each through the readers in this process and "
           "mingpt info, sample, eval and train --init, and train --init told to write into the folder (%ld runs)\n",
           n_folders, cmd_ran);
    printf("  accepted by info %ld, loaded %ld; refused by info %ld, sample %ld, eval %ld, train --init %ld, "
           "train --init with an output in the folder %ld\n",
           info_accepted, loaded, cmd_refused[0], cmd_refused[1], cmd_refused[2], cmd_refused[3], cmd_refused[4]);
    printf("  info's refusals name:");
    for (int i = 0; i < 7; i++) printf("%s %s %ld", i ? "," : "", NAMED[i], named_counts[i]);
    printf("\n");
    printf("  eval exited 0 with a loss that is not a number: %ld; broken properties: %ld\n", eval_nan,
           folder_failures);
    free(vocab.p);
    free(merges.p);
    free(config.p);
    free(model.p);
    parts_free(&base[0]);
    parts_free(&base[1]);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: mutate MINGPT_BINARY [mutants] [binary runs] [folders]\n");
        return 2;
    }
    binary = argv[1];
    long n_mutants = argc > 2 ? atol(argv[2]) : 3600, n_binary = argc > 3 ? atol(argv[3]) : 240;
    long n_folders = argc > 4 ? atol(argv[4]) : 400;
    CHECK(mkdtemp(dir) != NULL);
    atexit(cleanup);
    pool = pool_create(1);
    setvbuf(stdout, NULL, _IOLBF, 0);

    /* the two originals: 2 layers, 2 heads, n_embd 8, a 6-character vocabulary, block_size 8 */
    char adam_path[128], weights_path[128], text_path[128], path[128];
    snprintf(adam_path, sizeof adam_path, "%s/adam.safetensors", dir);
    snprintf(weights_path, sizeof weights_path, "%s/weights.safetensors", dir);
    snprintf(text_path, sizeof text_path, "%s/text.txt", dir);
    snprintf(path, sizeof path, "%s/mutant.safetensors", dir);
    const char *text = "abc dab\ncab dcba\nbad cab\nabc abc\n";
    write_file(text_path, text, strlen(text));
    {
        char err[512];
        GPTConfig c = {2, 2, 8, 6, 8, 0.1f, 0.1f, 0.1f};
        GPT *m = gpt_create(&c, pool);
        gpt_init(m, 1);
        TrainConfig tc = train_config_default();
        Trainer tr;
        trainer_init(&tr, m, &tc);
        int idx[16], targets[16];
        for (int i = 0; i < 16; i++) idx[i] = i % 6, targets[i] = (i * 5 + 1) % 6;
        for (int s = 0; s < 3; s++) trainer_step(&tr, m, idx, targets, 2, 8);
        CkptMeta meta = {.has_val_loss = 1, .val_loss = 1.75, .has_data_rng = 1};
        strcpy(meta.task, "chars");
        ckpt_meta_set(&meta, "encoding", "utf-8", 5, CKPT_BESIDE_TASK);
        ckpt_meta_set(&meta, "vocab", "\n abcd", 6, CKPT_LAST);
        rng_seed(&meta.data_rng, 7);
        CHECK(ckpt_save(adam_path, m, &tr, &meta, err, sizeof err) == 0);
        CHECK(ckpt_save(weights_path, m, NULL, &meta, err, sizeof err) == 0);
        ckpt_meta_free(&meta);
        trainer_free(&tr);
        gpt_free(m);
    }
    Parts base[2], ps;
    parts_read(&base[0], adam_path);
    parts_read(&base[1], weights_path);
    mutant_what = "an original";
    for (int b = 0; b < 2; b++) {
        int peek_ok, task_ok;
        PROPERTY(check_in_process(b ? weights_path : adam_path, &peek_ok, &task_ok) && task_ok,
                 "an original does not load");
        check_binary(b ? weights_path : adam_path, text_path, 1, 1);
    }
    counts[0] = 0;

    rng_seed(&rng, 20240615);
    Buf buf = {0};
    long stride = n_binary > 0 ? (n_mutants + n_binary - 1) / n_binary : 0, binary_runs = 0;
    clock_t t0 = clock();
    for (mutant_id = 0; mutant_id < n_mutants; mutant_id++) {
        char what[160] = "";
        int b = mutant_id % 3 == 2; /* two in three have moments */
        parts_copy(&ps, &base[b]);
        int kind = (int)(mutant_id % 12);
        switch (kind) {
        case 0: case 1: case 2: case 3: break; /* bytes, below */
        case 4: edit_name(&ps, what, sizeof what); break;
        case 5: edit_shape(&ps, what, sizeof what); break;
        case 6: case 7: edit_meta(&ps, what, sizeof what); break;
        case 8: inject_value(&ps, 0, what, sizeof what); break;
        case 9: inject_value(&ps, 1, what, sizeof what); break;
        case 10: drop_or_add(&ps, what, sizeof what); break;
        default: /* two edits at once */
            edit_meta(&ps, what, sizeof what);
            inject_value(&ps, below(2), what + strlen(what), sizeof what - strlen(what));
            break;
        }
        serialize(&ps, &buf);
        parts_free(&ps);
        if (kind < 4) damage_bytes(&buf, kind, what, sizeof what);
        mutant_what = what;
        write_file(path, buf.p, buf.len);
        alarm(30); /* a hang in this process ends the run */
        int peek_ok, task_ok, load_ok = check_in_process(path, &peek_ok, &task_ok);
        alarm(0);
        if (stride && mutant_id % stride == 0) {
            check_binary(path, text_path, task_ok, load_ok);
            binary_runs++;
        }
    }
    double seconds = (double)(clock() - t0) / CLOCKS_PER_SEC;
    printf("%ld mutants (seed 20240615), each through ckpt_peek and ckpt_load with and without a trainer; "
           "%ld of them also through mingpt info, sample and eval\n", n_mutants, binary_runs);
    for (int c = 0; c < N_CLASSES; c++)
        if (counts[c] || c == 0)
            printf("  %-42s %6ld\n", c == 0 ? "loaded" : CLASSES[c].label, counts[c]);
    printf("every property held (%.1f s of CPU in this process)\n", seconds);
    free(buf.p);
    parts_free(&base[0]);
    parts_free(&base[1]);
    folder_mutants(n_folders);
    pool_free(pool);
    return folder_failures ? 1 : 0;
}
