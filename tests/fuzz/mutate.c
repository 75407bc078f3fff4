/* mutate.c — a mutation test of everything that reads a checkpoint. Two small valid chars
 * checkpoints (one with AdamW's moments, one with weights only) are damaged in thousands of
 * deterministic ways: byte flips in the header and in the data, truncations, a wrong header length,
 * duplicated and renamed keys, shape edits, metadata edits, dropped and stray tensors, NaN/Inf in
 * weights and moments. Each mutant goes through ckpt_peek and ckpt_load (with and without a
 * Trainer) in this process, and every STRIDE-th also through the binary (info, sample, eval).
 *
 * Properties: no crash, no sanitizer report, no hang (an alarm, a timeout for the binary); every
 * refusal is one line naming the file, with no control character in it; loading with and without
 * a Trainer agree; info succeeds exactly when ckpt_peek and the task's check of its metadata
 * (task_peek_checkpoint) do; a load that succeeds has passed ckpt_peek, holds only finite weights (and
 * finite moments, v >= 0) and the config its metadata states. Prints how many mutants loaded and
 * why the others were refused; exits 1 on the first broken property. Run by `make mutate` on the
 * ASan+UBSan build.
 *
 * usage: mutate MINGPT_BINARY [mutants (3600)] [binary runs (240)]
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
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
#include "rng.h"
#include "safetensors.h"
#include "task_common.h"
#include "task_table.h"

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

/* Runs the binary with args, stdout discarded and stderr kept in err; kills it after 30 s. Returns
 * the exit status; a signal or a timeout breaks a property. */
static int run_binary(const char *const *args, char *err, size_t err_size) {
    char err_path[128];
    snprintf(err_path, sizeof err_path, "%s/stderr", dir);
    const char *argv[12] = {binary};
    int argc = 1;
    for (; args[argc - 1]; argc++) argv[argc] = args[argc - 1];
    argv[argc] = NULL;
    /* posix_spawn, not fork: copying the page tables of a process with ASan's shadow memory costs
     * more than the run itself */
    posix_spawn_file_actions_t files;
    CHECK(posix_spawn_file_actions_init(&files) == 0);
    CHECK(posix_spawn_file_actions_addopen(&files, 1, "/dev/null", O_WRONLY, 0) == 0);
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
    int status = 0;
    struct timespec tick = {0, 2000000}; /* 2 ms */
    for (long waited = 0;; waited += 2) {
        pid_t done = waitpid(pid, &status, WNOHANG);
        CHECK(done >= 0);
        if (done == pid) break;
        if (waited > 30000) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            PROPERTY(0, "%s %s hung (killed after 30 s)", args[0], args[1]);
        }
        nanosleep(&tick, NULL);
    }
    FILE *fp = fopen(err_path, "rb");
    size_t n = fp ? fread(err, 1, err_size - 1, fp) : 0;
    if (fp) fclose(fp);
    err[n] = '\0';
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

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: mutate MINGPT_BINARY [mutants] [binary runs]\n");
        return 2;
    }
    binary = argv[1];
    long n_mutants = argc > 2 ? atol(argv[2]) : 3600, n_binary = argc > 3 ? atol(argv[3]) : 240;
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
    pool_free(pool);
    return 0;
}
